"""Notifications in the app: the list, opening one, the header's count and its poll, a person's settings."""
from __future__ import annotations

import re
from datetime import time

from sqlalchemy import event, select

from zaloan.extensions import db
from zaloan.models import Notification, NotifyPrefs, OutboxMessage, OutboxStatus, utcnow

from .helpers import U
from .test_notify import send_tip

BELL = re.compile(r'<span id="bell"[^>]*>.*?</span></a></span>', re.S)


def bell_count(html: str) -> int:
    m = BELL.search(html)
    assert m, "no bell in the header"
    found = re.search(r"<b>(\d+)</b>", m.group(0))
    return int(found.group(1)) if found else 0


def new_tip_for_officer(app, **kw) -> int:
    with app.app_context():
        tip = send_tip(**kw)
        db.session.commit()
        return tip.id


def test_the_header_counts_unread_notifications_on_every_page(app, login_as):
    officer = login_as("officer")
    before = bell_count(officer.get("/officer/").get_data(as_text=True))
    new_tip_for_officer(app)
    for page in ("/officer/", "/people/", "/sessions", "/notifications/"):
        assert bell_count(officer.get(page).get_data(as_text=True)) == before + 1, page
    # The officer of the other villages is not told.
    other = login_as("officer2")
    assert bell_count(other.get("/officer/").get_data(as_text=True)) == bell_count(
        other.get("/sessions").get_data(as_text=True))


def test_the_count_costs_one_query_on_its_index(app, login_as):
    officer = login_as("officer")
    seen = []
    with app.app_context():
        engine = db.engine

    def note(_c, _cur, statement, *_a):
        if "notifications" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        officer.get("/sessions")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(seen) == 1 and "count(" in seen[0].lower()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":  # PostgreSQL plans a table this small by a scan, rightly
            plan = " ".join(str(r) for r in db.session.execute(db.text(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM notifications WHERE user_id = 1 AND read_at IS NULL")))
            assert "ix_notifications_user_read" in plan


def test_the_poll_answers_nothing_while_the_count_is_the_same(app, login_as):
    officer = login_as("officer")
    n = bell_count(officer.get("/officer/").get_data(as_text=True))
    same = officer.get(f"/notifications/count?n={n}", headers={"HX-Request": "true"})
    assert same.status_code == 204 and same.get_data() == b""
    assert len(same.get_data()) + sum(len(k) + len(v) for k, v in same.headers.items()) < 1024
    new_tip_for_officer(app)
    changed = officer.get(f"/notifications/count?n={n}", headers={"HX-Request": "true", "HX-Target": "bell"})
    assert changed.status_code == 200 and bell_count(changed.get_data(as_text=True)) == n + 1
    assert len(changed.get_data()) < 1024
    etag = changed.headers["ETag"]
    again = officer.get("/notifications/count", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


def test_opening_a_notification_reads_it_and_goes_to_its_page(app, login_as):
    tip_id = new_tip_for_officer(app)
    officer = login_as("officer")
    with app.app_context():
        note = db.session.scalar(select(Notification).where(Notification.key == f"tip:{tip_id}"))
        note_id = note.id
    page = officer.get("/notifications/").get_data(as_text=True)
    assert "Có tin báo mới cần xử lý" in page and "Người lạ" not in page  # the kind, never the content
    assert f"/notifications/{note_id}/open" in page
    # Only a POST reads it: a GET changes nothing.
    assert officer.get(f"/notifications/{note_id}/open").status_code == 405
    r = officer.post(f"/notifications/{note_id}/open")
    assert r.status_code == 303 and r.headers["Location"] == f"/officer/tips/{tip_id}"
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is not None
    # Someone else's notification answers 404 and stays unread.
    tip2 = new_tip_for_officer(app, body="Một việc khác nữa ở chợ.")
    with app.app_context():
        other_id = db.session.scalar(select(Notification.id).where(Notification.key == f"tip:{tip2}"))
    assert login_as("officer2").post(f"/notifications/{other_id}/open").status_code == 404
    with app.app_context():
        assert db.session.get(Notification, other_id).read_at is None


def test_mark_all_read_clears_the_count_of_this_person_only(app, login_as):
    new_tip_for_officer(app, body="Chuyện thứ nhất ở chợ.")
    new_tip_for_officer(app, body="Chuyện thứ hai ở chợ.")
    officer = login_as("officer")
    assert bell_count(officer.get("/sessions").get_data(as_text=True)) >= 2
    commander = login_as("commander")
    before = bell_count(commander.get("/sessions").get_data(as_text=True))
    r = officer.post("/notifications/read-all")
    assert r.status_code == 303
    assert bell_count(officer.get("/notifications/").get_data(as_text=True)) == 0
    assert bell_count(commander.get("/sessions").get_data(as_text=True)) == before


def test_settings_are_saved_and_bad_input_changes_nothing(app, login_as):
    informant = login_as("informant")
    page = informant.get("/notifications/settings").get_data(as_text=True)
    assert "bạn có 1 việc mới" in page
    r = informant.post("/notifications/settings", data={"sms_on": "y", "email": "an@example.vn",
                                                       "email_on": "y", "quiet_from": "22:00", "quiet_to": "6:00"})
    assert r.status_code == 303
    with app.app_context():
        p = db.session.get(NotifyPrefs, U("informant").id)
        assert (p.sms_on, p.email_on, p.push_on, p.email) == (True, True, False, "an@example.vn")
        assert (p.quiet_from, p.quiet_to) == (time(22, 0), time(6, 0))
    for bad in ({"email": "not an email"}, {"quiet_from": "25:00", "quiet_to": "06:00"},
                {"quiet_from": "22:00"}, {"email": "x" * 130 + "@example.vn"}):
        r = informant.post("/notifications/settings", data={"sms_on": "y", **bad})
        assert r.status_code == 422, bad
        assert 'class="err"' in r.get_data(as_text=True)
        with app.app_context():
            p = db.session.get(NotifyPrefs, U("informant").id)
            assert p.email == "an@example.vn" and p.quiet_from == time(22, 0) and p.email_on


def test_push_subscriptions_take_only_a_push_service_address(app, login_as):
    officer = login_as("officer")
    key = "B" + "A" * 86  # 65 bytes, base64url
    auth = "A" * 22  # 16 bytes
    ok = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "p256dh": key, "auth": auth}
    for bad in ({**ok, "endpoint": "http://fcm.googleapis.com/x"}, {**ok, "endpoint": "https://10.0.0.5/x"},
                {**ok, "endpoint": "https://localhost/x"}, {**ok, "p256dh": "short"}, {**ok, "auth": "!!"}, {}):
        assert officer.post("/notifications/push/subscribe", data=bad).status_code == 422, bad
    assert officer.post("/notifications/push/subscribe", data=ok).status_code == 201
    assert officer.post("/notifications/push/subscribe", data=ok).status_code == 201  # again: still one
    from zaloan.models import PushSubscription

    with app.app_context():
        assert db.session.query(PushSubscription).count() == 1
    assert officer.post("/notifications/push/unsubscribe", data={"endpoint": ok["endpoint"]}).status_code == 200
    with app.app_context():
        assert db.session.query(PushSubscription).count() == 0


def dead_row(app, who="officer") -> int:
    with app.app_context():
        note = db.session.scalar(select(Notification).where(Notification.user_id == U(who).id))
        row = OutboxMessage(notification_id=note.id, user_id=note.user_id, commune_id=U(who).commune_id,
                            channel="sms", status=OutboxStatus.DEAD, attempts=6, next_attempt_at=utcnow(),
                            last_error="SMS gateway answered HTTP 500")
        db.session.add(row)
        db.session.commit()
        return row.id


def test_the_commander_sees_dead_letters_and_tries_again(app, login_as):
    new_tip_for_officer(app)
    row_id = dead_row(app)
    commander = login_as("commander")
    page = commander.get("/notifications/outbox").get_data(as_text=True)
    assert "HTTP 500" in page and "Phạm Minh Đức" in page
    assert commander.post("/notifications/outbox/retry", data={"id": "x"}).status_code == 422
    assert commander.post("/notifications/outbox/retry", data={"id": str(row_id + 99)}).status_code == 404
    r = commander.post("/notifications/outbox/retry", data={"id": str(row_id)})
    assert r.status_code == 303
    from zaloan.audit_words import sentence
    from zaloan.models import AuditEvent

    with app.app_context():
        last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert last.action == "commune.outbox_retry" and "1 thông báo" in sentence(last)
    with app.app_context():
        row = db.session.get(OutboxMessage, row_id)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 0, "")
    assert login_as("officer").get("/notifications/outbox").status_code == 404


def test_an_informant_in_the_dead_letters_is_shown_by_alias_only(app, login_as):
    with app.app_context():
        from zaloan import cases

        tip = send_tip()
        cases.ask(tip, by=U("officer"), body="Anh thấy mấy người?")
        db.session.commit()
    row_id = dead_row(app, "informant")
    page = login_as("commander").get("/notifications/outbox").get_data(as_text=True)
    with app.app_context():
        alias, name = U("informant").informant.alias, U("informant").full_name
    assert alias in page and name not in page and row_id


def test_the_commune_chooses_its_channels(app, login_as):
    commander = login_as("commander")
    assert commander.post("/notifications/outbox/channels", data={"email_on": "1"}).status_code == 303
    from zaloan.models import CommuneChannels

    with app.app_context():
        row = db.session.get(CommuneChannels, U("commander").commune_id)
        assert (row.sms_on, row.email_on, row.push_on) == (False, True, False)
        from zaloan.audit_words import sentence
        from zaloan.models import AuditEvent

        last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert last.action == "commune.channels" and "email bật" in sentence(last)


def test_another_communes_commander_neither_sees_nor_retries_these_dead_letters(app, login_as):
    from .test_access_matrix import session_client
    from .test_isolation import second_commune

    new_tip_for_officer(app)
    row_id = dead_row(app)
    with app.app_context():
        second_commune()
    theirs = session_client(app, "0911000001")  # the commander of Xã Hữu Lũng
    page = theirs.get("/notifications/outbox").get_data(as_text=True)
    assert "Phạm Minh Đức" not in page and "HTTP 500" not in page
    assert theirs.post("/notifications/outbox/retry", data={"id": str(row_id)}).status_code == 404
    theirs.post("/notifications/outbox/retry", data={"all": "1"})
    with app.app_context():
        assert db.session.get(OutboxMessage, row_id).status == OutboxStatus.DEAD
    # Their officer's notifications are theirs alone.
    with app.app_context():
        mine = db.session.scalar(select(Notification.id).where(Notification.user_id == U("officer").id))
    assert session_client(app, "0911000002").post(f"/notifications/{mine}/open").status_code == 404
