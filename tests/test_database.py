"""The database under a multi-process server: SQLite settings, write locks, concurrent writers, backups."""
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from zaloan import audit
from zaloan.extensions import db
from zaloan.models import AuditEvent, User, UserSession, utcnow

from .conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent
sqlite_only = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite settings; this run is on PostgreSQL")


def sqlite_path(app) -> str:
    with app.app_context():
        return db.engine.url.database


@sqlite_only
def test_sqlite_settings_on_a_fresh_connection(app):
    with app.app_context():
        db.engine.dispose()  # no pooled connection: the next one is brand new
        with db.engine.connect() as conn:
            read = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
    assert read == {"journal_mode": "wal", "busy_timeout": 10000, "foreign_keys": 1, "synchronous": 2}  # 2 = FULL
    # WAL is a property of the file: any other program opening it sees it too.
    raw = sqlite3.connect(sqlite_path(app))
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_foreign_keys_are_enforced(app):
    with app.app_context():
        db.session.add(UserSession(user_id=987654, token_hash="x" * 64, expires_at=utcnow()))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def _other_writer_is_locked_out(path: str) -> bool:
    """Try to start a write transaction from another connection, without waiting."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    else:
        other.execute("ROLLBACK")
        return False
    finally:
        other.close()


@sqlite_only
def test_writes_take_the_write_lock_at_begin_and_reads_do_not(app):
    path = sqlite_path(app)
    # A command (no request) or a POST may write: its transaction holds the
    # write lock from its very first statement, a plain SELECT.
    for ctx in (app.app_context(), app.test_request_context("/x", method="POST")):
        with ctx:
            db.session.execute(select(User.id)).first()
            assert _other_writer_is_locked_out(path)
            db.session.rollback()
            assert not _other_writer_is_locked_out(path)
            db.session.remove()
    # A GET only reads: it leaves other workers free to write.
    with app.test_request_context("/x", method="GET"):
        db.session.execute(select(User.id)).first()
        assert not _other_writer_is_locked_out(path)
        db.session.remove()


WRITER = textwrap.dedent("""
    import sys, time
    from sqlalchemy import func, select
    from zaloan import audit, create_app
    from zaloan.extensions import db
    from zaloan.models import AuditEvent
    from tests.conftest import AUDIT_KEY

    url, uploads, start, rounds = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t", "UPLOAD_FOLDER": uploads,
                      "AUDIT_KEY": AUDIT_KEY, "AUDIT_KEY_FILE": uploads + "/audit.key",
                      "AUDIT_CHECKPOINT_FILE": uploads + "/audit-checkpoints.txt"})
    with app.app_context():
        time.sleep(max(0, start - time.time()))
        for i in range(rounds):
            # Read, pause, then write in one transaction: the pattern that fails
            # with "database is locked" when the lock is only taken at the write.
            db.session.scalar(select(func.count(AuditEvent.id)))
            time.sleep(0.003)
            audit.record("test.concurrent", n=i)
            db.session.commit()
    print("done")
""")


def test_concurrent_writers_in_several_processes(app, database_url, tmp_path):
    with app.app_context():
        before = db.session.scalar(select(func.count(AuditEvent.id)))
        db.engine.dispose()
    workers, rounds = 3, 15
    start = time.time() + 2.5  # every process starts writing at the same moment
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, database_url, str(tmp_path / "up"), str(start), str(rounds)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0 and "locked" not in err, err[-2000:]
        assert out.strip() == "done"
    with app.app_context():
        after = db.session.scalar(select(func.count(AuditEvent.id)))
        assert after - before == workers * rounds
        # Every writer chained onto the row before it: the log never forked.
        assert audit.verify_chain().ok


@sqlite_only
def test_backup_command_copies_the_live_database(app, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "backups" / "zaloan-1.sqlite"
    target.parent.mkdir()
    # Another worker is in the middle of a read; the backup does not wait for it.
    reader = sqlite3.connect(sqlite_path(app), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM users").fetchone()
    result = runner.invoke(args=["backup", str(target)])
    reader.execute("ROLLBACK")
    reader.close()
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with app.app_context():
        users = db.session.scalar(select(func.count(User.id)))
        audits = db.session.scalar(select(func.count(AuditEvent.id)))
    assert copy.execute("SELECT count(*) FROM users").fetchone()[0] == users
    assert copy.execute("SELECT count(*) FROM audit_events").fetchone()[0] == audits
    copy.close()
    # No partial file left; beside the copy, the audit checkpoint it holds.
    assert sorted(p.name for p in target.parent.iterdir()) == ["zaloan-1.sqlite", "zaloan-1.sqlite.checkpoint"]
    verified = runner.invoke(args=["audit-verify", "--checkpoint", str(target) + ".checkpoint"])
    # the daily one; the backup's two (the commune's chain and the deployment's), stored and in its file
    assert verified.exit_code == 0 and "5 checkpoints hold" in verified.output, verified.output
    # An existing backup is never overwritten.
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "already exists" in again.output


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only")
def test_backup_command_points_postgresql_to_pg_dump(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.sqlite")])
    assert result.exit_code != 0 and "pg_dump" in result.output
    assert not (tmp_path / "x.sqlite").exists()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only")
def test_the_audit_log_refuses_changes_on_postgresql(app):
    with app.app_context():
        for sql in ("UPDATE audit_events SET action='x'", "DELETE FROM audit_events"):
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text(sql))
            db.session.rollback()
