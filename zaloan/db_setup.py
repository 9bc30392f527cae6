"""Database engine settings: SQLite tuned for a multi-process server."""
import logging
import os
import re
import sqlite3
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, event

from .extensions import db

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
)


def _wants_write_lock() -> bool:
    """Return True when this transaction may write: a non-GET request before its commit, any command.

    After a request has committed, what it does next is answer: SQLAlchemy
    expires the committed objects, so reading `tip.id` for the redirect, or
    the page rendered after the send, reloads rows in a new transaction. That
    transaction must not queue for the write lock: under load it would wait
    past the busy timeout and fail with "database is locked", and the sender
    would see "not saved" for what was saved, and send it again. A plain
    BEGIN in WAL mode reads a snapshot and never waits for a writer, so every
    read after the request's commit answers, whatever other workers are
    writing. (Making each view avoid the database after its commit would be
    fragile: any lazy relationship in a template reads again.) A request
    that writes again after its commit still can, taking the lock when it
    first writes.
    """
    if not has_request_context():
        return True
    if g.pop("_db_write_next", False):
        return True  # see write_from_here
    if g.get("_db_committed"):
        return False
    return request.method not in ("GET", "HEAD", "OPTIONS")


def write_from_here() -> None:
    """Let a GET request that must write (the first read of a tip) take the write lock first.

    It also ends a page's reading without a transaction (`reads_only`), on either engine.

    A GET's transaction begins as a plain read (see `_wants_write_lock`). Once
    it has read, a write must upgrade its lock, and in WAL mode SQLite refuses
    that at once, whatever the busy timeout, when another worker has written
    since the read began: "database is locked", a 500 for the officer (seen
    under load, bench/load_run.py). So the read transaction ends here (it
    changed nothing) and the next one begins with BEGIN IMMEDIATE, waiting its
    turn like any write. Objects read so far are reloaded in it.
    """
    if not has_request_context():
        return
    # A page declared as only reading (`reads_only`) read without a transaction: the write gets one.
    was_reading_only = g.pop("reads_only", False)
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.rollback()
        g._db_write_next = True
    elif was_reading_only:
        db.session.rollback()  # the rows read so far are read again in the write's transaction


# Statements that only read (or open a transaction): any other one marks the transaction as written.
_READ_ONLY = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE")
_WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _note_writes(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    head = statement.lstrip()[:9].upper()
    if head.startswith(_READ_ONLY):
        return
    if head.startswith("WITH") and not _WRITE_WORDS.search(statement):
        return  # a query with common table expressions that only reads
    if has_request_context() and g.get("reads_only"):
        raise ReadsOnlyBroken(f"a page declared as only reading writes: {request.endpoint} {statement[:60]!r}")
    conn.info["zaloan.wrote"] = True


class ReadsOnlyBroken(RuntimeError):
    """A view declared with `reads_only` sent a write: its statements would each commit on their own."""


def reads_only(view):
    """Declare a view that only reads: on PostgreSQL its GET runs without a transaction.

    A transaction costs two round trips a page (BEGIN, then ROLLBACK at the
    end), as much as the session's own query. A page that only reads needs
    none: under READ COMMITTED, PostgreSQL's level, each statement sees the
    data committed when it starts whether or not a transaction holds them,
    so the page reads exactly what it read before. A write from such a page
    (one statement committed at a time, an advisory lock let go at once)
    would not be safe, so any write raises `ReadsOnlyBroken`, on SQLite too,
    where the tests run. A page that sometimes writes (the first reading of a
    tip) calls `write_from_here` first, which gives it a transaction. The
    session's last-seen time, written after the page, has a transaction of
    its own (`accounts.touch_session`).
    """
    view.reads_only = True
    return view


def begin_reads_only() -> None:
    """Before anything reads: a GET of a `reads_only` view reads without a transaction (before_request)."""
    if request.method not in ("GET", "HEAD"):
        return
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "reads_only", False):
        return
    g.reads_only = True
    # (A request made inside an app context already reading, as tests do, keeps its transaction.)
    if db.session.get_bind().dialect.name == "postgresql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def transaction_wrote() -> bool:
    """Say whether the session's open transaction has written anything, flushed or not."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    return bool(session.connection().info.get("zaloan.wrote"))


def end_read_transaction() -> bool:
    """End the session's transaction before slow work (decoding photos, writing files); return True when ended.

    A request that writes takes SQLite's write lock at its first query
    (`_wants_write_lock`) and holds it until its commit. Photos decoded in
    that time (a few tenths of a second each) keep every other worker's send
    waiting, and past the busy timeout they fail with "database is locked".
    So the slow work is done with no transaction open: a transaction that
    has only read is rolled back here (nothing of it is lost; the objects it
    loaded are read again when next used), and the next query begins a new
    one, with the write lock again, for the few milliseconds the rows take.
    A transaction that has written is left as it is (its work is not ours to
    drop or to commit half-done): the lock stays held, as before, and a
    warning names the caller's order as the fault.
    """
    session = db.session()
    if not session.in_transaction():
        _write_again()
        return True
    if transaction_wrote():
        logging.getLogger(__name__).warning("slow work inside a write transaction: the write lock is held meanwhile")
        return False
    session.rollback()
    _write_again()
    return True


def _write_again() -> None:
    """After the slow work, a request that committed earlier writes again: its next BEGIN takes the lock up front."""
    if has_request_context():
        g.pop("_db_committed", None)


def configure_engine(app: Flask) -> None:
    """Attach SQLite pragmas and up-front write locks to the app's engine."""
    with app.app_context():
        engine = db.engine
    app.before_request(begin_reads_only)  # before any hook that reads (the session's user, from blueprints)
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "begin", lambda conn: conn.info.pop("zaloan.wrote", None))
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, say when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A write transaction takes the write lock at BEGIN, so it never fails
        # later on a lock upgrade ("database is locked") under several workers.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")

    @event.listens_for(engine, "commit")
    def _on_commit(_conn):
        # The request's work is saved: what follows only reads (see _wants_write_lock).
        if has_request_context():
            g._db_committed = True


class BackupError(Exception):
    """A backup that could not be made; the message says why."""


def backup_sqlite(engine: Engine, target: str) -> int:
    """Copy a live SQLite database to `target` with SQLite's online backup; return its size.

    Workers keep reading and writing meanwhile. The copy is written under a
    temporary name, checked with PRAGMA integrity_check, then renamed, so a
    failed backup never leaves a half-written file behind.
    """
    if engine.dialect.name != "sqlite":
        raise BackupError("This database is not SQLite: back it up with pg_dump (see docs/DEPLOY.md).")
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("This SQLite database is not a file.")
    final = Path(target)
    if final.exists():
        raise BackupError(f"{final} already exists; choose a new file name.")
    partial = final.with_name(final.name + ".partial")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            status = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if status != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"The copy failed its integrity check: {status}")
    os.replace(partial, final)
    return final.stat().st_size


# --- The clocks on SQLite (migrations 0020 and 0026) ----------------------------------------------

# What a tip's page and the people list read besides the tables above (0027): a row's commune is found
# through the row it belongs to. An attachment or a voice note belongs to a tip, a message or a report.
_TIP = "(SELECT commune_id FROM tips WHERE id = {row}.tip_id)"
_MESSAGE = "(SELECT t.commune_id FROM tips t JOIN messages m ON m.tip_id = t.id WHERE m.id = {row}.message_id)"
_REPORT = ("(SELECT t.commune_id FROM tips t JOIN verification_tasks k ON k.tip_id = t.id "
           "JOIN task_assignments a ON a.task_id = k.id WHERE a.id = {row}.assignment_id)")
TIP_AND_PEOPLE_WATCHED = {
    "messages": _TIP,
    "tip_events": _TIP,
    "verification_tasks": _TIP,
    "task_assignments": "(SELECT t.commune_id FROM tips t JOIN verification_tasks k ON k.tip_id = t.id "
                        "WHERE k.id = {row}.task_id)",
    "attachments": f"COALESCE({_TIP}, {_MESSAGE}, {_REPORT})",
    "voice_notes": f"COALESCE({_TIP}, {_MESSAGE}, {_REPORT})",
    "users": "{row}.commune_id",
    "commune_settings": "{row}.commune_id",
    "category_limits": "(SELECT commune_id FROM categories WHERE id = {row}.category_id)",
    "watch_points": "(SELECT parent_id FROM units WHERE id = {row}.village_id)",
    "informant_posts": "(SELECT commune_id FROM informants WHERE id = {row}.informant_id)",
}

# table -> the expression naming the commune of a row (NEW/OLD substituted): these move `commune_clocks`
CLOCK_WATCHED = {
    "tips": "{row}.commune_id",
    "units": "{row}.parent_id",
    "categories": "{row}.commune_id",
    "informants": "{row}.commune_id",
    "announcements": "{row}.commune_id",  # from 0026
    "rules_versions": "{row}.commune_id",  # from 0026
    **TIP_AND_PEOPLE_WATCHED,  # from 0027
}
# table -> the expression naming the person of a row: these move `user_clocks` (0026)
USER_CLOCK_WATCHED = {
    "notifications": "{row}.user_id",
    "announcement_reads": "{row}.user_id",
    "rules_acks": "{row}.user_id",
}


def postgresql_clock_triggers(watched: dict, tick: str = "zaloan_tick", name: str = "clock") -> list[str]:
    """Return the statements making, on PostgreSQL, a trigger function and trigger per watched table that call
    `tick` (zaloan_tick: the commune's clock; zaloan_tick_user: the person's) with the row's owner, and with
    its old owner too when an update moved it (migrations 0020, 0026, 0027)."""
    out = []
    for table, owner in watched.items():
        new, old = owner.format(row="NEW"), owner.format(row="OLD")
        out.append(f"""
            CREATE FUNCTION {table}_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM {tick}({new}); END IF;
                IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND {old} IS DISTINCT FROM {new}) THEN
                    PERFORM {tick}({old});
                END IF;
                RETURN NULL;
            END $$""")
        out.append(f"CREATE TRIGGER {table}_{name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_{name}()")
    return out


def _sqlite_triggers(watched: dict, clock: str, key: str, name: str, existing) -> list[str]:
    out = []
    for table, owner in watched.items():
        if existing is not None and table not in existing:
            continue
        for when, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            c = owner.format(row=row)
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_{name}_{when.lower()} AFTER {when} ON {table} "
                f"WHEN {c} IS NOT NULL BEGIN "
                f"INSERT INTO {clock} ({key}, version) VALUES ({c}, 1) "
                f"ON CONFLICT ({key}) DO UPDATE SET version = version + 1; END"
            )
        # A row moved to another commune (person) changes the old one's pages too.
        old = owner.format(row="OLD")
        out.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_{name}_moved AFTER UPDATE ON {table} "
            f"WHEN {old} IS NOT NULL AND {old} IS NOT {owner.format(row='NEW')} BEGIN "
            f"UPDATE {clock} SET version = version + 1 WHERE {key} = {old}; END"
        )
    return out


def sqlite_clock_triggers(existing=None) -> list[str]:
    """Return the statements making the triggers that move the clocks on SQLite (each IF NOT EXISTS).

    `existing`: the database's tables (None: all of them); a clock or a watched
    table not there yet is left out. SQLite drops a table's triggers with the
    table, and a migration that changes a table in batch mode copies it: the
    migrations' end runs these again (zaloan/migrations/env.py), so the clocks
    never silently stop.
    """
    out = []
    if existing is None or "commune_clocks" in existing:
        out += _sqlite_triggers(CLOCK_WATCHED, "commune_clocks", "commune_id", "clock", existing)
    if existing is None or "user_clocks" in existing:
        out += _sqlite_triggers(USER_CLOCK_WATCHED, "user_clocks", "user_id", "user_clock", existing)
    return out
