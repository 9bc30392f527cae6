"""The outbox worker: each message delivered once, retries with back-off on a frozen clock, dead letters,
leases that survive a killed worker, quiet hours; SMS against a local gateway, email against a local SMTP server."""
from __future__ import annotations

import json
import socket
import time as clock
import urllib.parse
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from zaloan import cases, outbox
from zaloan.extensions import db
from zaloan.models import Notification, NotifyPrefs, OutboxMessage, OutboxStatus, Urgency

from .conftest import TEST_DATABASE_URL
from .helpers import U
from .notify_fakes import FakeHTTP
from .test_notify import send_tip

T0 = datetime(2026, 11, 30, 3, 0)  # 10:00 in Hà Nội


@pytest.fixture
def gateway():
    fake = FakeHTTP()
    yield fake
    fake.close()


@pytest.fixture
def app_config(gateway):
    return {"NOTIFY_SMS_URL": gateway.url + "/send", "NOTIFY_SMS_TOKEN": "tok-123", "BASE_URL": "https://zaloan.example.vn",
            "OUTBOX_MAX_ATTEMPTS": 4, "OUTBOX_BACKOFF_SECONDS": 30, "OUTBOX_LEASE_SECONDS": 120}


def outbox_rows(**where) -> list[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id)
    for k, v in where.items():
        q = q.where(getattr(OutboxMessage, k) == v)
    return list(db.session.scalars(q.execution_options(populate_existing=True)))


def tip_at(now: datetime, **kw):
    """Send a tip whose outbox rows fall due at `now` (the frozen clock)."""
    before = {r.id for r in outbox_rows()}
    tip = send_tip(**kw)
    for row in outbox_rows():
        if row.id not in before:
            row.next_attempt_at = now
    db.session.commit()
    return tip


def test_an_sms_goes_to_the_gateway_once_with_the_neutral_text(app, gateway):
    with app.app_context():
        tip_at(T0, body="Ông Lý Văn Thắng bán hàng cấm ở chợ.")
        (row,) = outbox_rows()
        assert outbox.run_once(now=T0) == {"sent": 1}
        assert outbox.run_once(now=T0 + timedelta(hours=1)) == {}
        (req,) = gateway.requests
        body = json.loads(req["body"])
        assert body == {"to": U("officer").phone, "id": f"zaloan-{row.notification_id}-sms",
                        "text": "Zalo an ninh: bạn có 1 việc mới https://zaloan.example.vn/notifications/"}
        assert req["headers"]["authorization"] == "Bearer tok-123" and req["path"] == "/send"
        assert "Thắng" not in req["body"].decode()
        row = outbox_rows()[0]
        assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 1, T0)


@pytest.mark.parametrize("app_config", [None])
def test_a_form_post_gateway_with_its_own_template(app_config, tmp_path, databases, gateway):
    from .conftest import make_app

    url = databases.fresh(tmp_path)
    app = make_app(tmp_path, url, NOTIFY_SMS_URL=gateway.url, NOTIFY_SMS_FORMAT="form",
                   NOTIFY_SMS_TEMPLATE='{"msisdn": "{to}", "message": "{text}", "ref": "{id}", "brand": "CAX"}')
    try:
        with app.app_context():
            tip_at(T0)
            assert outbox.run_once(now=T0) == {"sent": 1}
            form = urllib.parse.parse_qs(gateway.requests[0]["body"].decode())
            assert form["msisdn"] == [U("officer").phone] and form["brand"] == ["CAX"]
            assert form["message"][0].startswith("Zalo an ninh: bạn có 1 việc mới")
            assert gateway.requests[0]["headers"]["content-type"] == "application/x-www-form-urlencoded"
            db.session.remove()
            db.engine.dispose()
    finally:
        databases.drop(url)


def test_failures_back_off_doubling_then_the_row_is_dead_and_the_commander_retries(app, gateway):
    gateway.statuses = [500, 502, 503, 500]
    with app.app_context():
        tip_at(T0)
        waits = []
        now = T0
        for expected in ("retry", "retry", "retry"):
            assert outbox.run_once(now=now) == {expected: 1}
            row = outbox_rows()[0]
            waits.append(row.next_attempt_at - now)
            assert outbox.run_once(now=row.next_attempt_at - timedelta(seconds=1)) == {}  # not before its time
            now = row.next_attempt_at
        assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
        assert outbox.run_once(now=now) == {"dead": 1}  # the fourth and last try
        row = outbox_rows()[0]
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.DEAD, 4, "SMS gateway answered HTTP 500")
        assert outbox.run_once(now=now + timedelta(days=3)) == {}  # dead stays dead
        assert len(gateway.requests) == 4
        outbox.retry([row])
        db.session.commit()
        assert outbox.run_once(now=datetime.utcnow() + timedelta(seconds=1)) == {"sent": 1}
        assert len(gateway.requests) == 5 and outbox_rows()[0].status == OutboxStatus.SENT


def test_an_unreachable_gateway_is_a_retry_not_a_crash(app, gateway):
    app.config["NOTIFY_SMS_URL"] = "http://127.0.0.1:9/closed"
    with app.app_context():
        tip_at(T0)
        assert outbox.run_once(now=T0) == {"retry": 1}
        assert "unreachable" in outbox_rows()[0].last_error


def test_a_worker_killed_mid_delivery_leaves_the_message_to_the_next_after_the_lease(app, gateway):
    with app.app_context():
        tip_at(T0)
        ids, _token = outbox.claim(T0)  # the worker claims, then dies before sending
        assert len(ids) == 1 and outbox_rows()[0].status == OutboxStatus.SENDING
        assert outbox.run_once(now=T0 + timedelta(seconds=60)) == {}  # the lease still holds
        assert gateway.requests == []
        assert outbox.run_once(now=T0 + timedelta(seconds=121)) == {"sent": 1}
        assert len(gateway.requests) == 1


def test_a_worker_whose_lease_was_taken_over_sends_nothing(app, gateway):
    with app.app_context():
        tip_at(T0)
        ids, slow = outbox.claim(T0)
        assert outbox.run_once(now=T0 + timedelta(seconds=200)) == {"sent": 1}  # another took it over
        assert outbox.deliver(ids[0], slow, T0 + timedelta(seconds=201)) == "lost"
        assert len(gateway.requests) == 1


def test_two_passes_at_once_never_send_a_message_twice(app, gateway):
    with app.app_context():
        for i in range(3):
            tip_at(T0, body=f"Chuyện số {i} ở chợ.")
        first, a = outbox.claim(T0)
        second, b = outbox.claim(T0)  # a second worker at the same moment
        assert len(first) == 3 and second == []
        for ident in first:
            assert outbox.deliver(ident, a, T0) == "sent"
        assert outbox.run_once(now=T0 + timedelta(hours=1)) == {}
        assert len(gateway.requests) == 3
        assert len({json.loads(r["body"])["id"] for r in gateway.requests}) == 3


def test_a_stopping_worker_hands_back_what_it_has_not_tried(app, gateway):
    with app.app_context():
        for i in range(3):
            tip_at(T0, body=f"Chuyện số {i} ở chợ.")
        asked = []

        def stop():
            asked.append(1)
            return len(asked) > 1  # systemd's SIGTERM arrives during the first row

        assert outbox.run_once(now=T0, stop=stop) == {"sent": 1, "released": 2}
        rows = outbox_rows()
        assert [r.status for r in rows].count(OutboxStatus.PENDING) == 2
        assert {r.attempts for r in rows if r.status == OutboxStatus.PENDING} == {0}
        assert outbox.run_once(now=T0) == {"sent": 2}  # the next worker, at once: no lease to wait for
        assert len(gateway.requests) == 3


def test_the_last_try_cut_short_by_a_dead_worker_ends_dead_without_a_fifth_try(app, gateway):
    gateway.statuses = [500, 500, 500]
    with app.app_context():
        tip_at(T0)
        now = T0
        for _ in range(3):
            outbox.run_once(now=now)
            now = outbox_rows()[0].next_attempt_at
        outbox.claim(now)  # the fourth try; the worker dies
        assert outbox.run_once(now=now + timedelta(seconds=121)) == {"dead": 1}
        assert len(gateway.requests) == 3 and outbox_rows()[0].attempts == 4


def test_quiet_hours_hold_a_message_back_but_not_an_emergency_for_the_police(app, gateway):
    with app.app_context():
        for who in ("informant", "officer", "commander", "officer2"):
            db.session.add(NotifyPrefs(user_id=U(who).id, email="", sms_on=True, email_on=False, push_on=False,
                                       quiet_from=time(22, 0), quiet_to=time(6, 0)))
        night = datetime(2026, 11, 30, 16, 30)  # 23:30 in Hà Nội
        tip = tip_at(night)
        cases.ask(tip, by=U("officer"), body="Anh thấy mấy người?")
        db.session.commit()
        for row in outbox_rows():
            row.next_attempt_at = night
        db.session.commit()
        assert outbox.run_once(now=night) == {"quiet": 2}
        morning = datetime(2026, 11, 30, 23, 0)  # 06:00 the next day in Hà Nội
        assert {r.next_attempt_at for r in outbox_rows()} == {morning}
        assert {r.attempts for r in outbox_rows()} == {0}  # waiting is not a try
        tip_at(night, urgency=Urgency.EMERGENCY, body="Đánh nhau ở cổng chợ.")
        assert outbox.run_once(now=night) == {"sent": 3}  # every officer and the commander, at night
        assert outbox.run_once(now=morning) == {"sent": 2}
        assert len(gateway.requests) == 5


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Keep()
    with socket.socket() as s:  # a free port: the controller checks it is up by connecting to it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, handler
    controller.stop()


def test_email_goes_over_smtp_with_the_neutral_text(app, smtp, gateway):
    controller, handler = smtp
    app.config.update(NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=controller.port,
                      NOTIFY_SMTP_STARTTLS=False, NOTIFY_SMTP_FROM="canhbao@example.vn")
    with app.app_context():
        db.session.add(NotifyPrefs(user_id=U("officer").id, email="duc@example.vn", sms_on=False, email_on=True,
                                   push_on=False))
        tip_at(T0, body="Ông Lý Văn Thắng bán hàng cấm ở chợ.")
        assert [r.channel for r in outbox_rows()] == ["email"]
        assert outbox.run_once(now=T0) == {"sent": 1}
        (env,) = handler.messages
        assert env.rcpt_tos == ["duc@example.vn"] and env.mail_from == "canhbao@example.vn"
        text = env.content.decode()
        assert "Subject: Zalo an ninh" in text and "Th=E1=BA=AFng" not in text and "Thắng" not in text
        import email

        body = email.message_from_bytes(env.content).get_payload(decode=True).decode()
        assert body.strip() == "Zalo an ninh: bạn có 1 việc mới https://zaloan.example.vn/notifications/"


def test_an_email_with_no_address_left_is_dead_at_once(app, gateway, smtp):
    controller, _handler = smtp
    app.config.update(NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=controller.port,
                      NOTIFY_SMTP_STARTTLS=False)
    with app.app_context():
        prefs = NotifyPrefs(user_id=U("officer").id, email="duc@example.vn", sms_on=False, email_on=True,
                            push_on=False)
        db.session.add(prefs)
        tip_at(T0)
        prefs.email = ""  # removed before the worker ran
        db.session.commit()
        assert outbox.run_once(now=T0) == {"dead": 1}
        assert outbox_rows()[0].last_error == "no email address"


def test_the_command_runs_one_pass(app, gateway):
    with app.app_context():
        tip_at(datetime.utcnow() - timedelta(seconds=5))
    result = app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output and len(gateway.requests) == 1


def test_the_vapid_key_is_made_once_in_instance(app, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid.pem")
    r = app.test_cli_runner().invoke(args=["outbox", "vapid-keys"])
    assert r.exit_code == 0 and "Public key: B" in r.output
    assert (tmp_path / "vapid.pem").stat().st_mode & 0o777 == 0o600
    first = (tmp_path / "vapid.pem").read_bytes()
    r = app.test_cli_runner().invoke(args=["outbox", "vapid-keys"])
    assert "already" in r.output and (tmp_path / "vapid.pem").read_bytes() == first


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (ZALOAN_TEST_DATABASE_URL)")
def test_on_postgresql_a_second_worker_skips_the_rows_the_first_holds(app, gateway):
    """Worker A's claim is still open (its rows locked); worker B's skips them instead of waiting."""
    from sqlalchemy.orm import Session

    with app.app_context():
        for i in range(4):
            tip_at(T0, body=f"Chuyện số {i} ở chợ.")
        engine = db.engine
        with Session(engine) as a, Session(engine) as b:
            held = a.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(2)
                             .with_for_update(skip_locked=True)).all()
            started = clock.monotonic()
            free = b.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)
                             .with_for_update(skip_locked=True)).all()
            assert clock.monotonic() - started < 2  # B did not wait for A
            assert set(held).isdisjoint(free) and len(free) == 2
            a.rollback()
            b.rollback()
        # And the worker's own claim takes them all once A let go.
        ids, _ = outbox.claim(T0)
        assert len(ids) == 4
