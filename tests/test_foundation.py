"""Phone numbers, the unit tree, migrations, the catalogue, the audit chain, the CLI."""
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, select, text

from zaloan import audit
from zaloan.communes import create_commune, get_or_create_unit
from zaloan.extensions import db
from zaloan.models import AuditEvent, Unit, UnitKind
from zaloan.phones import PhoneError, display_phone, normalize_phone

from .conftest import make_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "typed",
    ["0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "+84912345678", "+84 912 345 678",
     "84912345678", "(+84) 912 345 678", " 0912345678 "],
)
def test_phone_forms_normalise_to_one(typed):
    assert normalize_phone(typed) == "+84912345678"
    assert display_phone("+84912345678") == "0912 345 678"


@pytest.mark.parametrize("bad", ["", "   ", "12345", "abc", "09123", "+1 202 555 0100", "0" * 40, "0912345678999"])
def test_not_a_vietnamese_mobile_number(bad):
    with pytest.raises(PhoneError):
        normalize_phone(bad)


def test_unit_tree_with_and_without_a_district(app):
    with app.app_context():
        modern = create_commune("Xã Mới", "Tỉnh Thử")
        old = create_commune("Xã Cũ", "Tỉnh Thử", district="Huyện Hữu Lũng")
        assert modern.parent.kind == UnitKind.PROVINCE
        assert old.parent.kind == UnitKind.DISTRICT and old.parent.parent.kind == UnitKind.PROVINCE
        assert old.parent.parent.id == modern.parent.id  # one province, shared
        v = get_or_create_unit("Thôn A", UnitKind.VILLAGE, old)
        assert v.commune().id == old.id
        assert [u.kind for u in v.ancestors()] == ["commune", "district", "province"]
        assert v.path() == "Thôn A, Xã Cũ, Huyện Hữu Lũng, Tỉnh Thử"
        assert modern.commune().id == modern.id
        assert [u.name for u in old.parent.parent.villages()] == ["Thôn A"]


def test_demo_commune_has_six_villages_split_between_two_officers(app):
    with app.app_context():
        commune = db.session.scalar(select(Unit).where(Unit.kind == UnitKind.COMMUNE, Unit.name == "Xã Tân Thành"))
        villages = commune.villages()
        assert len(villages) == 6
        officers = {v.officer.phone for v in villages}
        assert officers == {"+84900000002", "+84900000003"}


def test_migrations_build_an_empty_database_that_matches_the_models(tmp_path, empty_database_url):
    app = make_app(tmp_path, empty_database_url)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "tips", "audit_events", "verification_tasks", "alembic_version"} <= tables
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        db.engine.dispose()


def test_vietnamese_catalogue_is_complete():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n.py"), "missing"], capture_output=True, text=True
    )
    assert result.returncode == 0, "messages without a Vietnamese translation:\n" + result.stdout


def test_audit_chain_detects_an_edited_row(app):
    with app.app_context():
        assert audit.verify_chain().ok
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        victim = rows[len(rows) // 2]
        # The database refuses edits...
        with pytest.raises(Exception):
            db.session.execute(text("UPDATE audit_events SET action='x' WHERE id=:i"), {"i": victim.id})
            db.session.commit()
        db.session.rollback()
        # ...so an attacker with file access drops the trigger first; the chain still tells.
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))
        else:
            db.session.execute(text("DROP TRIGGER audit_events_no_update"))
        db.session.execute(text("UPDATE audit_events SET data='{}' , action='login.success' WHERE id=:i"), {"i": victim.id})
        db.session.commit()
        report = audit.verify_chain()
        assert not report.ok and report.bad_id == victim.id


def test_cli_create_commander_prints_a_working_activation_link(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-commander", "--phone", "0987 654 321", "--name", "Trưởng CA",
                                 "--commune", "Xã Hòa Bình", "--province", "Tỉnh Lạng Sơn"])
    assert result.exit_code == 0, result.output
    link = [line for line in result.output.splitlines() if "/activate/" in line][0]
    path = link[link.index("/activate/"):]
    c = app.test_client()
    r = c.post(path, data={"password": "chi-huy-01", "confirm": "chi-huy-01"})
    assert r.status_code == 302 and r.headers["Location"] == "/commander/"
    again = runner.invoke(args=["create-commander", "--phone", "0987654321", "--name", "X",
                                "--commune", "Xã Hòa Bình", "--province", "Tỉnh Lạng Sơn"])
    assert again.exit_code != 0


def test_cli_audit_verify(app):
    result = app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 0 and "intact" in result.output
