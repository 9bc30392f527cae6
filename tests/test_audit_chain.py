"""The audit chain against someone who holds the database but not the audit key.

Each attack drops the append-only triggers first (as anyone with the database
file or a superuser login can), rewrites rows with plain SQL that runs on
SQLite and PostgreSQL alike, and re-hashes the chain the best way it can.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import stat
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from zaloan import audit, secrecy
from zaloan.audit_keys import LEGACY, AuditKeyError, key_id
from zaloan.extensions import db
from zaloan.models import AuditCheckpoint, AuditEvent, utcnow

from .conftest import AUDIT_KEY, make_app
from .helpers import U

OTHER_KEY = "another-audit-key-fedcba9876543210fedcba98"
WRONG_KEY = "a-key-the-attacker-made-up-0000000000000000"


def drop_triggers() -> None:
    """Do what an attacker with the database in hand does first (trigger names: migration 0001)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))
    else:
        db.session.execute(text("DROP TRIGGER audit_events_no_update"))
        db.session.execute(text("DROP TRIGGER audit_events_no_delete"))
    db.session.commit()


def rehash(seal, relabel: str | None = None) -> None:
    """Recompute every row's prev_hash and hash in order with `seal(prev, row)`, chain by chain as the app
    writes them, optionally relabelling its key id (relabelled as old rows, they are put back in one chain)."""
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    single, heads = audit.GENESIS, {}
    for row in rows:
        chain = None if relabel == LEGACY else row.chain
        fake = SimpleNamespace(created_at=row.created_at, actor_id=row.actor_id, commune_id=row.commune_id,
                               action=row.action, target_type=row.target_type, target_id=row.target_id,
                               data=row.data, key_id=relabel or row.key_id, chain=chain)
        prev = single if chain is None else heads.get(chain, single)
        new = seal(prev, fake)
        db.session.execute(text("UPDATE audit_events SET prev_hash=:p, hash=:h, key_id=:k, chain=:c WHERE id=:i"),
                           {"p": prev, "h": new, "k": fake.key_id, "c": chain, "i": row.id})
        if chain is None:
            single = new
        else:
            heads[chain] = new
    db.session.commit()
    db.session.expire_all()


def plain_sha256(prev, row) -> str:
    return audit._digest(prev, row)


def hmac_under(key: str):
    return lambda prev, row: hmac.new(key.encode(), audit._payload(prev, row, with_key=True), hashlib.sha256).hexdigest()


def reveal_by_officer(user) -> int:
    """Record an identity reveal by the officer, then a few ordinary rows after it; return the reveal's id."""
    officer, informant = user("officer"), user("informant").informant
    secrecy.reveal_identity(officer, informant, "Cần gặp để hỏi thêm chi tiết.")
    reveal = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "identity.reveal")
                               .order_by(AuditEvent.id.desc()))
    for n in range(3):
        audit.record("login.success", actor=user("commander"), n=n)
    db.session.commit()
    return reveal


def move_reveal_to_commander(reveal_id: int, user) -> None:
    db.session.execute(text("UPDATE audit_events SET actor_id=:a WHERE id=:i"),
                       {"a": user("commander").id, "i": reveal_id})
    db.session.commit()


def checkpoint_file(app, tmp_path) -> str:
    path = str(tmp_path / "kept-apart" / "checkpoints.txt")
    result = app.test_cli_runner().invoke(args=["audit-checkpoint", "--out", path])
    assert result.exit_code == 0, result.output
    return path


def verify_cli(app, *files):
    args = ["audit-verify"]
    for f in files:
        args += ["--checkpoint", f]
    return app.test_cli_runner().invoke(args=args)


# --- An untouched log ------------------------------------------------------------------------------


def test_an_untouched_log_verifies_with_its_key_and_checkpoints(app, ctx, user, tmp_path):
    reveal_by_officer(user)
    report = audit.verify_chain()
    assert report.ok and report.count > 10 and report.legacy == 0
    assert report.key_ids == [key_id(AUDIT_KEY.encode())]
    # Every row is an HMAC under the audit key, not a plain SHA-256 anyone can recompute.
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last.key_id == key_id(AUDIT_KEY.encode())
    assert last.hash == hmac_under(AUDIT_KEY)(last.prev_hash, last) != plain_sha256(last.prev_hash, last)
    path = checkpoint_file(app, tmp_path)
    result = verify_cli(app, path)
    assert result.exit_code == 0 and "Audit log intact" in result.output, result.output
    assert report.checkpoints >= 1  # the day's first row took one by itself


# --- Rewriting a row and re-hashing without the key -----------------------------------------------


def test_a_moved_reveal_rehashed_with_plain_sha256_is_found(app, ctx, user):
    reveal = reveal_by_officer(user)
    drop_triggers()
    move_reveal_to_commander(reveal, user)
    rehash(plain_sha256)  # what passed `audit-verify` before the key
    first = db.session.scalar(select(func.min(AuditEvent.id)))
    report = audit.verify_chain()
    assert not report.ok and report.kind == "row" and report.bad_id == first
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"BROKEN at row id {first}: content does not match its hash" in result.output


def test_a_moved_reveal_relabelled_as_old_rows_is_found_by_the_checkpoints(app, ctx, user, tmp_path):
    reveal = reveal_by_officer(user)
    path = checkpoint_file(app, tmp_path)
    drop_triggers()
    move_reveal_to_commander(reveal, user)
    # The cleverest rewrite: every row claims to be from before the key, hashed the old way.
    rehash(plain_sha256, relabel=LEGACY)
    report = audit.verify_chain()
    assert not report.ok and report.kind == "checkpoint"
    assert "no longer has the hash" in report.reason and "stored in the database" in report.reason
    # The attacker deletes the stored checkpoints too: the file kept apart still tells.
    db.session.execute(text("DELETE FROM audit_checkpoints"))
    db.session.commit()
    assert audit.verify_chain().ok  # the limit: without any checkpoint, old-style rows cannot be told from forged ones
    result = verify_cli(app, path)
    assert result.exit_code == 1
    assert "no longer has the hash recorded in the checkpoint of" in result.output
    assert result.output.count("\n") == 1  # one line, the reason


@pytest.mark.parametrize("label", ["real key id", "own key id"])
def test_a_moved_reveal_rehashed_under_a_wrong_key_is_found(app, ctx, user, label):
    reveal = reveal_by_officer(user)
    drop_triggers()
    move_reveal_to_commander(reveal, user)
    rehash(hmac_under(WRONG_KEY), relabel=key_id(WRONG_KEY.encode()) if label == "own key id" else None)
    report = audit.verify_chain()
    assert not report.ok and report.bad_id == db.session.scalar(select(func.min(AuditEvent.id)))
    if label == "real key id":
        assert report.kind == "row" and report.reason == "content does not match its hash"
    else:
        assert report.kind == "key" and "not configured" in report.reason, report
    assert verify_cli(app).exit_code == 1


def test_an_edit_without_rehashing_names_the_row(app, ctx, user):
    reveal = reveal_by_officer(user)
    drop_triggers()
    move_reveal_to_commander(reveal, user)
    report = audit.verify_chain()
    assert not report.ok and report.bad_id == reveal and report.kind == "row"


# --- Cutting rows off the end ------------------------------------------------------------------------


def test_a_cut_tail_is_found_by_the_file_and_by_the_stored_checkpoints(app, ctx, user, tmp_path):
    reveal_by_officer(user)
    path = checkpoint_file(app, tmp_path)
    last = db.session.scalar(select(func.max(AuditEvent.id)))
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_events WHERE id > :i"), {"i": last - 3})
    db.session.commit()
    # What remains is a chain that fits together: only the checkpoints know it was longer.
    report = audit.verify_chain()
    assert not report.ok and report.kind == "checkpoint" and report.bad_id == last
    assert "is missing: the log was cut" in report.reason
    result = verify_cli(app, path)
    assert result.exit_code == 1 and "is missing: the log was cut" in result.output
    # New rows on top (SQLite hands the freed ids out again) do not hide the cut.
    for n in range(4):
        audit.record("login.success", actor=user("commander"), n=n)
    db.session.commit()
    assert not audit.verify_chain().ok
    # Without the stored checkpoints, the file alone still finds it.
    db.session.execute(text("DELETE FROM audit_checkpoints"))
    db.session.commit()
    assert audit.verify_chain().ok
    assert verify_cli(app).exit_code == 0
    result = verify_cli(app, path)
    assert result.exit_code == 1, result.output


def test_a_checkpoint_file_cannot_be_forged_without_the_key(app, ctx, tmp_path):
    path = checkpoint_file(app, tmp_path)
    lines = open(path, encoding="utf-8").read().splitlines()
    line = lines[-1]
    assert line.startswith("zaloan-audit-checkpoint v2 chain=") and " mac=" in line
    rows = int(line.split(" rows=")[1].split()[0])
    forged = tmp_path / "forged.txt"
    forged.write_text(line.replace(f" rows={rows} ", f" rows={rows - 2} ") + "\n", encoding="utf-8")
    result = verify_cli(app, str(forged))
    assert result.exit_code == 1 and "is not genuine" in result.output
    junk = tmp_path / "junk.txt"
    junk.write_text("# a comment\nnot a checkpoint\n", encoding="utf-8")
    result = verify_cli(app, str(junk))
    assert result.exit_code == 1 and "line 2 of" in result.output and "is not a checkpoint" in result.output


def test_audit_checkpoint_refuses_a_broken_log(app, ctx, user, tmp_path):
    reveal = reveal_by_officer(user)
    drop_triggers()
    move_reveal_to_commander(reveal, user)
    before = db.session.scalar(select(func.count(AuditCheckpoint.id)))
    result = app.test_cli_runner().invoke(args=["audit-checkpoint", "--out", str(tmp_path / "c.txt")])
    assert result.exit_code == 1 and "No checkpoint taken" in result.output
    assert not (tmp_path / "c.txt").exists()
    assert db.session.scalar(select(func.count(AuditCheckpoint.id))) == before


# --- The daily checkpoint --------------------------------------------------------------------------


def test_the_first_row_of_a_day_takes_a_checkpoint_in_the_table_and_the_file(app, ctx, user):
    file = app.config["AUDIT_CHECKPOINT_FILE"]
    count = lambda: db.session.scalar(select(func.count(AuditCheckpoint.id)))  # noqa: E731
    before = count()
    audit.record("login.success", actor=user("commander"))
    db.session.commit()
    assert count() == before  # one was taken today already (the demo commune's first row)
    # A day later (the stored one is moved back; this worker forgets what it knew):
    db.session.execute(text("UPDATE audit_checkpoints SET created_at = :t"), {"t": utcnow() - timedelta(days=2)})
    db.session.commit()
    audit._state().next_checkpoint = {}
    # A row rolled back takes no checkpoint, in the table or the file.
    audit.record("login.success", actor=user("commander"))
    db.session.rollback()
    assert count() == before and not os.path.exists(file)
    # Nor one taken in a savepoint that is rolled back (a create retried by two requests at once, cases._once).
    commander = user("commander")
    try:
        with db.session.begin_nested():
            audit.record("login.success", actor=commander)
            raise IntegrityError("INSERT", {}, Exception("the other request won"))
    except IntegrityError:
        pass
    db.session.commit()
    assert count() == before and not os.path.exists(file)
    row = audit.record("login.success", actor=user("commander"))
    audit.record("logout", actor=user("commander"))
    statements = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # The file is written after the commit from what was kept, without reading the database again.
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert count() == before + 1
    cp = audit.latest_checkpoints(1, commune_id=row.commune_id)[0]
    assert (cp.source, cp.last_id, cp.head_hash) == ("daily", row.id, row.hash)
    lines = [ln for ln in open(file, encoding="utf-8").read().splitlines() if not ln.startswith("#")]
    assert lines == [audit.checkpoint_line(cp)]
    assert audit.verify_chain([(c, file) for c in audit.read_checkpoint_file(file)], stored=False).ok
    # (The stored one moved back in time no longer matches its seal: a checkpoint cannot be re-dated.)
    assert "is not genuine" in audit.verify_chain().reason


def test_record_asks_nothing_more_of_the_database_once_the_days_checkpoint_is_known(app, ctx, user):
    commander = user("commander")
    audit.record("login.success", actor=commander)  # learns when the next one is due
    db.session.commit()
    statements = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        audit.record("login.success", actor=commander)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not [s for s in statements if "audit_checkpoints" in s]
    assert len([s for s in statements if "audit_events" in s]) == 2  # the previous hash, the insert


# --- Rows from before the key ----------------------------------------------------------------------

OLD_ROWS = sa.table("audit_events", sa.column("id", sa.Integer), sa.column("created_at", sa.DateTime),
                    sa.column("actor_id", sa.Integer), sa.column("commune_id", sa.Integer),
                    sa.column("action", sa.String), sa.column("target_type", sa.String),
                    sa.column("target_id", sa.Integer), sa.column("data", sa.JSON),
                    sa.column("prev_hash", sa.String), sa.column("hash", sa.String))


def _old_row(prev: str, n: int) -> dict:
    """An audit row as the code before the key wrote it: plain SHA-256."""
    row = SimpleNamespace(created_at=utcnow().replace(microsecond=1000 * n), actor_id=None, commune_id=None,
                          action="login.failure", target_type="", target_id=None, data={"n": n})
    return {**vars(row), "prev_hash": prev, "hash": audit._digest(prev, row)}


def test_rows_from_before_the_key_still_verify_and_the_first_keyed_row_seals_them(tmp_path, empty_database_url):
    app = make_app(tmp_path, empty_database_url)
    with app.app_context():
        upgrade(revision="0004")
        prev = audit.GENESIS
        for n in range(4):
            values = _old_row(prev, n)
            db.session.execute(sa.insert(OLD_ROWS).values(**values))
            prev = values["hash"]
        db.session.commit()
        upgrade()
        old = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [r.key_id for r in old] == [LEGACY] * 4
        report = audit.verify_chain()
        assert report.ok and report.legacy == 4 and report.count == 4
        new = audit.record("login.failure", n=9)
        db.session.commit()
        assert new.prev_hash == old[-1].hash and new.key_id == key_id(AUDIT_KEY.encode())
        result = verify_cli(app)
        assert result.exit_code == 0 and "4 of them from before the audit key" in result.output, result.output

        # An old row rewritten and the old part re-hashed: the keyed row after it no longer fits.
        drop_triggers()
        db.session.execute(text("UPDATE audit_events SET action='login.success' WHERE id=:i"), {"i": old[1].id})
        db.session.commit()
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        prev = audit.GENESIS
        for row in rows[:4]:
            digest = audit._digest(prev, SimpleNamespace(**{c: getattr(row, c) for c in (
                "created_at", "actor_id", "commune_id", "action", "target_type", "target_id", "data")}))
            db.session.execute(text("UPDATE audit_events SET prev_hash=:p, hash=:h WHERE id=:i"),
                               {"p": prev, "h": digest, "i": row.id})
            prev = digest
        db.session.commit()
        db.session.expire_all()
        report = audit.verify_chain()
        assert not report.ok and report.bad_id == new.id and report.reason == "prev_hash does not match the row before"
        db.session.remove()
        db.engine.dispose()


def test_an_old_style_row_after_keyed_rows_is_refused(app, ctx):
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    # Inserting needs no trigger dropped: a row claiming the old hashing, chained correctly.
    db.session.execute(sa.insert(OLD_ROWS).values(**_old_row(last.hash, 1)))
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.reason == "hashed without the audit key after rows sealed with it"


# --- Keys: where they live, rotation -----------------------------------------------------------------


def test_the_key_file_is_made_once_with_mode_0600_and_never_equals_the_secret_key(tmp_path, database_url):
    key_file = tmp_path / "keys" / "audit.key"
    app = make_app(tmp_path, database_url, AUDIT_KEY=None, AUDIT_KEY_FILE=str(key_file), AUDIT_KEYS_OLD=AUDIT_KEY)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    made = key_file.read_text().strip()
    assert len(made) == 64 and made != app.config["SECRET_KEY"]
    with app.app_context():
        assert audit.keys().current_id == key_id(made.encode()) and audit.keys().from_file == key_file
    again = make_app(tmp_path, database_url, AUDIT_KEY=None, AUDIT_KEY_FILE=str(key_file))
    with again.app_context():
        assert audit.keys().current == made.encode()  # read, not made anew
    with pytest.raises(AuditKeyError, match="must differ from SECRET_KEY"):
        make_app(tmp_path, database_url, AUDIT_KEY=AUDIT_KEY, SECRET_KEY=AUDIT_KEY)
    with pytest.raises(AuditKeyError, match="too short"):
        make_app(tmp_path, database_url, AUDIT_KEY="short")


def test_rows_under_an_older_key_verify_while_it_is_configured(tmp_path, database_url, user):
    rotated = make_app(tmp_path, database_url, AUDIT_KEY=OTHER_KEY, AUDIT_KEYS_OLD=AUDIT_KEY)
    with rotated.app_context():
        audit.record("login.success", actor=user("commander"))
        db.session.commit()
        report = audit.verify_chain()
        assert report.ok and report.key_ids == sorted([key_id(AUDIT_KEY.encode()), key_id(OTHER_KEY.encode())])
        assert verify_cli(rotated).exit_code == 0
        db.session.remove()
        db.engine.dispose()
    forgotten = make_app(tmp_path, database_url, AUDIT_KEY=OTHER_KEY)
    with forgotten.app_context():
        report = audit.verify_chain()
        assert not report.ok and report.kind == "key"
        result = verify_cli(forgotten)
        assert result.exit_code == 1
        assert f"audit key {key_id(AUDIT_KEY.encode())}, which is not configured" in result.output
        db.session.remove()
        db.engine.dispose()


def test_audit_rotate_key_keeps_the_old_key_beside_the_new_one(tmp_path, database_url):
    key_file = tmp_path / "keys" / "audit.key"
    settings = dict(AUDIT_KEY=None, AUDIT_KEY_FILE=str(key_file), AUDIT_KEYS_OLD=AUDIT_KEY)
    app = make_app(tmp_path, database_url, **settings)
    first = key_id(key_file.read_text().strip().encode())
    with app.app_context():
        audit.record("login.failure", n=1)  # a row under the file's first key
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit-rotate-key"])
    assert result.exit_code == 0, result.output
    retired = key_file.with_name(f"audit.key.old-{first}")
    assert retired.exists() and stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = key_id(key_file.read_text().strip().encode())
    assert second != first and f"new rows are sealed with key {second}" in result.output
    restarted = make_app(tmp_path, database_url, **settings)
    with restarted.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (row.action, row.key_id, row.data) == ("audit.key_rotated", second, {"old": first, "new": second})
        assert audit.verify_chain().ok
        db.session.remove()
        db.engine.dispose()
    # The retired key moved away: the rows it sealed can no longer be checked, and it says so.
    retired.rename(tmp_path / "elsewhere")
    lost = make_app(tmp_path, database_url, **settings)
    result = verify_cli(lost)
    assert result.exit_code == 1 and f"audit key {first}, which is not configured" in result.output


def test_audit_rotate_key_explains_the_procedure_when_the_key_comes_from_the_environment(app):
    result = app.test_cli_runner().invoke(args=["audit-rotate-key"])
    assert result.exit_code != 0 and "AUDIT_KEYS_OLD" in result.output


# --- What people see ----------------------------------------------------------------------------------


def test_the_audit_page_and_the_summary_show_the_latest_checkpoint(app, login_as, tmp_path):
    checkpoint_file(app, tmp_path)
    with app.app_context():
        cp = audit.latest_checkpoints(1, commune_id=U("commander").commune_id)[0]
        assert cp.rows > 0
        code = audit.short_hash(cp.head_hash)
    commander = login_as("commander")
    html = commander.get("/audit/").get_data(as_text=True)
    assert "Các mốc kiểm tra nhật ký" in html and f"{cp.rows} dòng, mã {code}" in html
    home = commander.get("/commander/").get_data(as_text=True)
    assert "Mốc kiểm tra nhật ký hệ thống" in home and f"nhật ký hệ thống có {cp.rows} dòng; mã của dòng cuối (dòng số {cp.last_id}) là {code}" in home
    # The printed time is Vietnam's (UTC+7).
    assert (cp.created_at + timedelta(hours=7)).strftime("%H:%M %d/%m/%Y") in home
    # The Steering Committee's observer sees it among the figures too: a copy held outside the police.
    assert f"mã của dòng cuối (dòng số {cp.last_id}) là {code}" in login_as("observer").get("/observer/").get_data(
        as_text=True)


def test_the_chain_check_on_the_audit_page_names_a_cut_log(app, login_as):
    with app.app_context():
        last = db.session.scalar(select(func.max(AuditEvent.id)))
        audit.take_checkpoints()
        db.session.commit()
        drop_triggers()
        db.session.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": last})
        db.session.commit()
    html = login_as("commander").post("/audit/verify").get_data(as_text=True)
    assert "Nhật ký không còn khớp với một mốc kiểm tra đã ghi trước đây" in html


# --- One chain per commune ---------------------------------------------------------------------------


def other_commune() -> int:
    from zaloan import communes

    commune = communes.create_commune("Xã Hữu Lũng", "Tỉnh Lạng Sơn")
    db.session.commit()
    return commune.id


def test_each_commune_writes_its_own_chain_and_rows_of_no_commune_the_deployments(app, ctx, user):
    mine = user("commander").commune_id
    theirs = other_commune()
    a1 = audit.record("login.success", actor=user("commander"))
    b1 = audit.record("audit.verify", commune_id=theirs, ok=True)
    a2 = audit.record("logout", actor=user("commander"))
    b2 = audit.record("audit.verify", commune_id=theirs, ok=True)
    none = audit.record("login.failure", reason="credentials")
    db.session.commit()
    assert (a1.chain, a2.chain, b1.chain, b2.chain, none.chain) == (mine, mine, theirs, theirs, 0)
    # Each row follows the one before it in its own commune, not the one before it in the table.
    assert a2.prev_hash == a1.hash and b2.prev_hash == b1.hash and b1.prev_hash != a1.hash
    assert audit.verify_chain().ok


def test_a_row_moved_to_another_communes_chain_is_found(app, ctx, user):
    theirs = other_commune()
    row = audit.record("login.success", actor=user("commander"))
    db.session.commit()
    drop_triggers()
    db.session.execute(text("UPDATE audit_events SET chain = :c WHERE id = :i"), {"c": theirs, "i": row.id})
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.bad_id == row.id and "another commune's chain" in report.reason


def test_each_chain_has_its_checkpoints_and_a_cut_in_one_commune_is_found(app, ctx, user, tmp_path):
    theirs = other_commune()
    for n in range(3):
        audit.record("audit.verify", commune_id=theirs, ok=True, n=n)
    db.session.commit()
    path = checkpoint_file(app, tmp_path)
    lines = [ln for ln in open(path, encoding="utf-8").read().splitlines() if not ln.startswith("#")]
    chains = sorted(int(ln.split(" chain=")[1].split()[0]) for ln in lines)
    assert chains == sorted([0, user("commander").commune_id, theirs])
    # The audit page of a commune shows its own chain's checkpoints.
    assert {cp.chain for cp in audit.latest_checkpoints(10, commune_id=theirs)} == {theirs}
    last_of_theirs = db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.chain == theirs))
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": last_of_theirs})
    db.session.commit()
    result = verify_cli(app, path)
    assert result.exit_code == 1 and f"row {last_of_theirs}" in result.output and "was cut" in result.output


KEYED_ROWS = sa.table("audit_events", *(sa.column(c.name, c.type) for c in OLD_ROWS.columns),
                      sa.column("key_id", sa.String))


def test_chains_start_from_the_single_chain_of_before_and_a_change_there_breaks_them(tmp_path, empty_database_url):
    app = make_app(tmp_path, empty_database_url)
    key = AUDIT_KEY.encode()
    with app.app_context():
        upgrade(revision="0010")
        prev = audit.GENESIS
        for n in range(3):  # keyed rows of one chain for the whole installation, as written before 0011
            row = SimpleNamespace(created_at=utcnow().replace(microsecond=1000 * n), actor_id=None, commune_id=None,
                                  action="login.failure", target_type="", target_id=None, data={"n": n},
                                  key_id=key_id(key))
            digest = audit._seal(key, prev, row)
            db.session.execute(sa.insert(KEYED_ROWS).values(**vars(row), prev_hash=prev, hash=digest))
            prev = digest
        db.session.commit()
        upgrade()
        from zaloan import communes

        a = communes.create_commune("Xã Một", "Tỉnh Thử")
        b = communes.create_commune("Xã Hai", "Tỉnh Thử")
        db.session.flush()
        first_a = audit.record("audit.verify", commune_id=a.id, ok=True)
        first_b = audit.record("audit.verify", commune_id=b.id, ok=True)
        db.session.commit()
        assert first_a.prev_hash == first_b.prev_hash == prev  # both start from the last row of before
        report = audit.verify_chain()
        assert report.ok and report.count == 5
        drop_triggers()
        db.session.execute(text("UPDATE audit_events SET data = :d WHERE id = 2"), {"d": '{"n": 7}'})
        db.session.commit()
        assert not audit.verify_chain().ok
        db.session.remove()
        db.engine.dispose()


def test_writers_of_two_communes_do_not_wait_for_each_other(app, ctx, user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises every writer by its write lock")
    mine = user("commander").commune_id
    theirs = other_commune()
    audit.record("login.success", actor=user("commander"))  # holds this commune's lock until commit
    with db.engine.connect() as other:
        try_lock = "SELECT pg_try_advisory_xact_lock(7201, :c)"
        assert other.execute(text(try_lock), {"c": theirs}).scalar() is True  # another commune goes on
        other.rollback()
        assert other.execute(text(try_lock), {"c": mine}).scalar() is False  # the same commune waits
        other.rollback()
    db.session.commit()
