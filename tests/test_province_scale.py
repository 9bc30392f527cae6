"""The queue at province size: the benchmark's generated province, the scope's SQL and the indexes it needs.

The province generator (bench/province.py) fills a database with many
communes in bulk; these tests check that what it makes is what the app
itself would make, that the officer's scope in SQL lists exactly the tips
`can_work_tip` allows on such data, and that the queue's counts are read
through the index made for them (migration 0009), which upgrades and
downgrades cleanly.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from zaloan.accounts import CODE_ALPHABET
from zaloan.extensions import db
from zaloan.models import (
    Category,
    Informant,
    Message,
    Role,
    TaskAssignment,
    TaskStatus,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    UnitKind,
    User,
    VerificationTask,
)
from zaloan.officer.views import queue_counts, queue_version
from zaloan.permissions import can_work_tip, tips_for

from .conftest import make_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import province  # noqa: E402


@pytest.fixture
def generated(app):
    """The demo commune plus three generated communes of 150 tips each."""
    with app.app_context():
        ids = province.populate(3, 450, seed=11)
        yield ids


def commune_of(unit: Unit) -> int:
    return unit.commune().id


def test_the_generated_communes_keep_the_apps_invariants(app, generated):
    tips = db.session.scalars(select(Tip).where(Tip.commune_id.in_(generated))).all()
    assert len(tips) == 450
    everyone = {u.id: u for u in db.session.scalars(select(User))}
    # Codes: unique in the database, of the app's alphabet and length.
    codes = db.session.scalars(select(Tip.code)).all()
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(f"[{CODE_ALPHABET}]{{6}}", t.code) for t in tips)
    # Aliases unique across the database, the demo commune's included.
    aliases = db.session.scalars(select(Informant.alias)).all()
    assert len(aliases) == len(set(aliases)) and all(re.fullmatch(r"NT-\d{4,}", a) for a in aliases)
    statuses = set()
    for t in tips:
        statuses.add(t.status)
        assert t.category.commune_id == t.commune_id
        if t.village_id is not None:
            assert t.village.kind == UnitKind.VILLAGE and commune_of(t.village) == t.commune_id
            assert t.village.officer_id and everyone[t.village.officer_id].commune_id == t.commune_id
        if t.informant_id is not None:
            assert t.informant.commune_id == t.commune_id and t.anon_secret_hash is None
        else:
            assert t.anon_secret_hash and t.village_id is not None
        assert t.created_at <= t.updated_at
        if t.status == TipStatus.NEW:
            assert t.first_read_at is None and not t.tasks
        else:
            reader = everyone[t.first_read_by_id]
            assert reader.role in (Role.OFFICER, Role.COMMANDER) and reader.commune_id == t.commune_id
            assert can_work_tip(reader, t)
        if t.status == TipStatus.VERIFYING:
            assert [k.status for k in t.tasks] == [TaskStatus.OPEN]
        if t.status == TipStatus.CLOSED:
            assert t.outcome and t.closed_at and all(k.status != TaskStatus.OPEN for k in t.tasks)
        else:
            assert t.outcome is None and t.closed_at is None
        for task in t.tasks:
            assert task.village_id == t.village_id and task.assignments
            for a in task.assignments:
                assert a.verifier.role == Role.VERIFIER and a.verifier.village_id == t.village_id
        for m in t.messages:
            author = everyone.get(m.author_id)
            if m.from_police:
                assert can_work_tip(author, t)
            else:
                assert (author is None) == (t.informant_id is None)
                assert author is None or author.informant.id == t.informant_id
        # The timeline (in id order) runs forward in time and starts with the tip being sent.
        times = [e.created_at for e in t.events]
        assert t.events[0].kind == "submitted" and times == sorted(times) and times[-1] <= t.updated_at
    assert statuses == set(TipStatus.ALL)
    assert db.session.scalar(select(func.count(Message.id))) and db.session.scalar(
        select(func.count(TaskAssignment.id)))
    # Every person belongs to a commune of the province; verifiers to a village of theirs.
    for u in everyone.values():
        if u.role == Role.VERIFIER:
            assert commune_of(u.village) == u.commune_id
    for i in db.session.scalars(select(Informant)):
        assert everyone[i.handler_id].commune_id == i.commune_id == everyone[i.user_id].commune_id
        assert all(commune_of(p.watch_point.village) == i.commune_id for p in i.posts)
    assert db.session.scalar(select(func.count(Category.id)).where(Category.commune_id.in_(generated))) == 30
    assert db.session.scalar(select(func.count(TipEvent.id))) > 450
    assert db.session.scalar(select(func.count(VerificationTask.id)))


def test_the_scope_lists_exactly_the_tips_can_work_tip_allows(app, generated):
    """Every officer and commander of the province (the demo commune too), and others who see none."""
    tips = db.session.scalars(select(Tip)).all()
    assert any(t.village_id is None for t in tips)  # the informant's handler works on these
    people = db.session.scalars(select(User).where(User.role.in_((Role.OFFICER, Role.COMMANDER, Role.VERIFIER,
                                                                   Role.INFORMANT)))).all()
    checked = 0
    for person in people:
        in_sql = set(db.session.scalars(select(Tip.id).where(tips_for(person))))
        allowed = {t.id for t in tips if can_work_tip(person, t)}
        assert in_sql == allowed, person.phone
        checked += bool(allowed)
    assert checked >= 3 * (1 + province.OFFICERS) + 3


def test_an_officer_without_villages_or_informants_has_no_tips(app, generated):
    officer = db.session.scalar(select(User).where(User.phone == province.officer_phone(1)))
    db.session.execute(Unit.__table__.update().where(Unit.officer_id == officer.id).values(officer_id=None))
    db.session.execute(Informant.__table__.update().where(Informant.handler_id == officer.id)
                       .values(handler_id=None))
    assert db.session.scalars(select(Tip.id).where(tips_for(officer))).all() == []


def test_a_generated_officer_sees_a_full_queue_with_the_right_counts(app, generated):
    phone = province.officer_phone(2)
    c = app.test_client()
    assert c.post("/login", data={"phone": phone, "password": province.PASSWORD}).status_code == 302
    page = c.get("/officer/").get_data(as_text=True)
    officer = db.session.scalar(select(User).where(User.phone == phone))
    mine = [t for t in db.session.scalars(select(Tip)) if can_work_tip(officer, t)]
    open_ = [t for t in mine if t.is_open]
    rows = re.findall(r'<li class="u(\d)"><a href="/officer/tips/(\d+)"', page)
    assert len(rows) == min(50, len(open_)) > 0
    wanted = sorted(open_, key=lambda t: (-t.urgency, t.created_at))[:50]
    assert [int(i) for _u, i in rows] == [t.id for t in wanted]
    for status in TipStatus.ALL:
        assert f"{sum(t.status == status for t in mine)}</span>" in page
    poll = re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert c.get(poll).status_code == 204


def test_the_queue_counts_read_the_officers_tips_from_an_index(app, generated):
    """Not a scan of every tip: SQLite once took the status index to avoid a sort and read the whole table."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan; docs/BENCHMARKS.md shows PostgreSQL's")
    db.session.execute(text("ANALYZE"))
    officer = db.session.scalar(select(User).where(User.phone == province.officer_phone(2)))
    query = (select(Tip.status, func.count(Tip.id), func.max(Tip.updated_at))
             .where(tips_for(officer)).group_by(Tip.status))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_tips_scope" in plan and "SCAN" not in plan, plan


def test_the_queue_version_is_one_query_and_follows_any_change_of_the_commune(app, generated, login_as):
    """The commune's clock moves on every change the queue shows, made by the app or by hand in SQL."""
    from .test_query_counts import counted

    with app.test_request_context():
        from flask_login import login_user

        officer = db.session.scalar(select(User).where(User.phone == province.officer_phone(3)))
        other = db.session.scalar(select(User).where(User.commune_id == officer.commune_id,
                                                     User.role == Role.OFFICER, User.id != officer.id))
        login_user(officer)
        f = {"status": "open"}
        assert sum(queue_counts().values()) == db.session.scalar(
            select(func.count(Tip.id)).where(tips_for(officer)))
        with counted(app) as statements:
            version = queue_version(f)
        assert len(statements) == 1
        assert queue_version(f) == version  # nothing changed, nothing moves
        assert queue_version({"status": "all"}) != version  # other filters, another version

        def moved() -> bool:
            nonlocal version
            db.session.commit()
            new = queue_version(f)
            changed, version = new != version, new
            return changed

        tip = db.session.scalar(select(Tip).where(tips_for(officer)).order_by(Tip.id).limit(1))
        db.session.execute(text("UPDATE tips SET status = status WHERE id = :id"), {"id": tip.id})
        assert moved(), "a tip written by hand"
        village = db.session.get(Unit, tip.village_id)
        village.officer_id = other.id
        assert moved(), "a village handed to another officer"
        informant = db.session.scalar(select(Informant).where(Informant.commune_id == officer.commune_id))
        informant.handler_id = other.id
        assert moved(), "an informant handed over"
        category = db.session.scalar(select(Category).where(Category.commune_id == officer.commune_id))
        category.name = category.name + " (2)"
        assert moved(), "a category renamed"
        db.session.execute(text("UPDATE users SET full_name = full_name WHERE id = :id"), {"id": other.id})
        assert moved(), "a person renamed (a tip's page shows names: migration 0027)"
        db.session.execute(text("UPDATE user_sessions SET last_seen_at = last_seen_at WHERE user_id = :id"),
                           {"id": other.id})
        assert not moved(), "nothing a kept page shows"
        elsewhere = db.session.scalar(select(Tip).where(Tip.commune_id != officer.commune_id).limit(1))
        elsewhere.status = TipStatus.CLOSED if elsewhere.status != TipStatus.CLOSED else TipStatus.NEW
        assert not moved(), "another commune's tip"


def index_names(engine) -> set[str]:
    return {ix["name"] for ix in inspect(engine).get_indexes("tips")}


def test_migration_0009_upgrades_and_downgrades(tmp_path, empty_database_url):
    app = make_app(tmp_path, empty_database_url)
    with app.app_context():
        upgrade(revision="0012")  # the revision 0009 follows
        before = index_names(db.engine)
        assert {"ix_tips_status", "ix_tips_urgency"} <= before and "ix_tips_scope" not in before
        upgrade(revision="0009")
        after = index_names(db.engine)
        assert after == (before - {"ix_tips_status", "ix_tips_urgency"}) | {"ix_tips_scope"}
        downgrade(revision="0012")
        assert index_names(db.engine) == before
        upgrade()
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() is not None
        assert "ix_tips_scope" in index_names(db.engine)
        db.engine.dispose()
