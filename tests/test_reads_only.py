"""Pages that only read run without a transaction on PostgreSQL; one that writes is stopped."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from zaloan.db_setup import ReadsOnlyBroken, reads_only
from zaloan.extensions import db
from zaloan.models import Tip, User, UserSession, utcnow
from zaloan.permissions import ANY_USER, allow

from .conftest import TEST_DATABASE_URL
from .test_query_counts import new_tip


def autocommit_by_statement(app, client, path: str) -> list[bool]:
    """Whether each statement of one request ran outside a transaction (the driver's autocommit)."""
    seen: list[bool] = []

    def note(_conn, cursor, _statement, _params, _context, _many):
        seen.append(bool(cursor.connection.autocommit))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code in (200, 204)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: SQLite's BEGIN costs no round trip")
def test_the_queue_and_its_poll_read_without_a_transaction_on_postgresql(app, login_as):
    officer = login_as("officer")
    queue = autocommit_by_statement(app, officer, "/officer/")
    poll = autocommit_by_statement(app, officer, "/officer/queue/poll?v=old")
    assert queue and all(queue)
    assert poll and all(poll)
    # A tip read before: all of it is read without a transaction. Its first reading writes, in one.
    tip_id = new_tip(app)
    first = autocommit_by_statement(app, officer, f"/officer/tips/{tip_id}")
    again = autocommit_by_statement(app, officer, f"/officer/tips/{tip_id}")
    assert first[0] and not first[-1]
    assert again and all(again)
    with app.app_context():
        assert db.session.get(Tip, tip_id).first_read_at is not None


def test_a_page_declared_as_only_reading_cannot_write(app, login_as, user):
    with app.app_context():
        officer_id = user("officer").id

    @app.get("/test/reads-but-writes")
    @allow(ANY_USER)
    @reads_only
    def reads_but_writes():
        db.session.execute(update(User).where(User.id == officer_id).values(full_name="Đã đổi"))
        db.session.commit()
        return "ok"

    officer = login_as("officer")
    with pytest.raises(ReadsOnlyBroken):
        officer.get("/test/reads-but-writes")
    with app.app_context():
        assert db.session.scalar(select(User.full_name).where(User.id == officer_id)) != "Đã đổi"
    # The same view answers a POST (not declared) as any other.
    assert officer.post("/test/reads-but-writes").status_code in (404, 405)


def test_the_last_seen_time_is_still_written_after_a_page_that_only_reads(app, login_as, user):
    officer = login_as("officer")
    with app.app_context():
        sid = db.session.scalar(select(UserSession.id).where(UserSession.user_id == user("officer").id)
                                .order_by(UserSession.id.desc()))
        db.session.execute(update(UserSession).where(UserSession.id == sid)
                           .values(last_seen_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
    assert officer.get("/officer/").status_code == 200
    with app.app_context():
        assert utcnow() - db.session.get(UserSession, sid).last_seen_at < timedelta(minutes=1)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: SQLite's BEGIN costs no round trip")
@pytest.mark.parametrize("who, path", [
    ("informant", "/informant/"), ("verifier", "/verifier/"), ("commander", "/commander/"),
    ("observer", "/observer/"), ("officer", "/notifications/"), ("officer", "/notifications/count?n=0"),
    ("officer", "/people/"),
])
def test_each_role_home_and_the_bell_read_without_a_transaction(app, login_as, who, path):
    client = login_as(who)
    assert client.get(path).status_code in (200, 204)  # the first visit may write (the last-seen time)
    statements = autocommit_by_statement(app, client, path)
    assert statements and all(statements)
