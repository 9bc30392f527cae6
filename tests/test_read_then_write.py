"""A GET that writes (the first read of a tip) while other workers write: found by the load run (bench/load_run.py)."""
import sqlite3

import pytest
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import make_url

from zaloan.extensions import db
from zaloan.models import Urgency

from .test_emergency import new_tip, read_state


def test_an_officer_opening_an_unread_tip_while_another_worker_writes_gets_the_page(app, login_as):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the lock upgrade is SQLite's; PostgreSQL takes row locks")
        path = make_url(str(db.engine.url)).database
    tip_id = new_tip(app, urgency=Urgency.NORMAL)
    officer = login_as("officer")
    written = []

    def another_worker_writes(conn, cursor, statement, parameters, context, executemany):
        # Once the page's transaction has read the tip, another worker saves something (here: the
        # commune's duty phone). The page's own write then comes after a newer commit than its snapshot.
        if (not written and has_request_context() and request.path == f"/officer/tips/{tip_id}"
                and statement.lstrip().upper().startswith("SELECT") and "FROM tips" in statement):
            other = sqlite3.connect(path, timeout=10)
            other.execute("UPDATE commune_settings SET duty_phone = '0900 000 114'")
            other.commit()
            other.close()
            written.append(statement)

    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", another_worker_writes)
    try:
        r = officer.get(f"/officer/tips/{tip_id}")
    finally:
        with app.app_context():
            event.remove(db.engine, "after_cursor_execute", another_worker_writes)
    assert written, "the other worker never wrote"
    # Before: sqlite3.OperationalError "database is locked" at once (a read transaction cannot
    # take the write lock after another commit), a 500 for the officer.
    assert r.status_code == 200
    read_at, read_by, events, audits = read_state(app, tip_id)
    assert read_at is not None and read_by is not None and (events, audits) == (1, 1)
    # Opened again: nothing more to note, and no write lock taken for a plain read.
    assert officer.get(f"/officer/tips/{tip_id}").status_code == 200
    assert read_state(app, tip_id)[2:] == (1, 1)
