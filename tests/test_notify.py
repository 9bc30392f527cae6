"""Notifications: one per person and event, written with the event, and nothing of the tip leaves the app."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from zaloan import cases, notify
from zaloan.extensions import db
from zaloan.models import (
    Category,
    Channel,
    CommuneChannels,
    Finding,
    Notification,
    NotifyPrefs,
    OutboxMessage,
    Role,
    Tip,
    Unit,
    Urgency,
    User,
    utcnow,
)

from .helpers import U

SMS_ON = {"NOTIFY_SMS_URL": "http://127.0.0.1:9/sms", "NOTIFY_SMTP_HOST": "127.0.0.1"}


def village(name="Thôn Đồng Bé") -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def send_tip(who="informant", urgency=Urgency.NORMAL, place="Thôn Đồng Bé", body="Người lạ hỏi mua xe máy cũ.",
             key=None) -> Tip:
    sender = U(who)
    cat = db.session.scalar(select(Category).where(Category.code == "theft"))
    tip, _ = cases.submit_tip(commune=village(place).commune(), informant=sender.informant, category=cat,
                              village=village(place), body=body, urgency=urgency, uploader=sender, client_key=key)
    return tip


def notes_of(who, key=None) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == U(who).id)
    if key:
        q = q.where(Notification.key == key)
    return list(db.session.scalars(q.order_by(Notification.id)))


def test_a_new_tip_notifies_its_officer_once_in_the_same_transaction(app):
    with app.app_context():
        before = len(notes_of("officer"))
        tip = send_tip(key="k-1")
        # Not committed yet: the notification is part of the tip's transaction.
        mine = notes_of("officer", f"tip:{tip.id}")
        assert [n.kind for n in mine] == [notify.NEW_TIP]
        assert mine[0].url == f"/officer/tips/{tip.id}" and mine[0].read_at is None
        db.session.rollback()
        assert len(notes_of("officer")) == before  # a tip rolled back leaves no notification
        tip = send_tip(key="k-2")
        db.session.commit()
        again = send_tip(key="k-2")  # the same form sent twice
        assert again.id == tip.id
        notify.tip_submitted(tip)  # the event replayed
        db.session.commit()
        assert len(notes_of("officer", f"tip:{tip.id}")) == 1
        assert notes_of("officer2", f"tip:{tip.id}") == [] and notes_of("commander", f"tip:{tip.id}") == []


def test_an_emergency_reaches_every_officer_and_the_commander(app):
    with app.app_context():
        tip = send_tip(urgency=Urgency.EMERGENCY)
        db.session.commit()
        police = db.session.scalars(select(User).where(User.commune_id == tip.commune_id,
                                                       User.role.in_((Role.OFFICER, Role.COMMANDER)))).all()
        got = db.session.scalars(select(Notification).where(Notification.key == f"tip:{tip.id}")).all()
        assert sorted(n.user_id for n in got) == sorted(p.id for p in police if p.active)
        assert {n.kind for n in got} == {notify.EMERGENCY} and all(n.urgent for n in got)
        assert len(got) >= 3


def test_messages_tasks_and_reports_reach_the_other_side(app):
    with app.app_context():
        tip = send_tip()
        officer, informant, verifier = U("officer"), U("informant"), U("verifier")
        q = cases.ask(tip, by=officer, body="Xe màu gì?")
        assert [n.url for n in notes_of("informant", f"msg:{q.id}")] == [f"/informant/tips/{tip.id}"]
        assert notes_of("officer", f"msg:{q.id}") == []  # not to the one who wrote it
        a = cases.answer(tip, author=informant, body="Màu đỏ.")
        assert [n.kind for n in notes_of("officer", f"msg:{a.id}")] == [notify.MESSAGE]
        assert notes_of("informant", f"msg:{a.id}") == []
        task = cases.create_task(tip, by=officer, verifiers=[verifier], brief="Kiểm tra quanh khu chợ buổi tối.",
                                 due_at=utcnow() + timedelta(hours=5))
        (mine,) = notes_of("verifier", f"task:{task.id}")
        assert mine.kind == notify.TASK and mine.url == f"/verifier/tasks/{task.assignments[0].id}"
        cases.report_finding(task.assignments[0], by=verifier, finding=Finding.CONFIRMED, notes="Có thật.")
        assert [n.kind for n in notes_of("officer", f"report:{task.assignments[0].id}")] == [notify.REPORT]
        assert notes_of("verifier", f"report:{task.assignments[0].id}") == []
        db.session.commit()


def test_notify_skips_inactive_accounts_and_refuses_unknown_kinds(app):
    with app.app_context():
        officer = U("officer")
        officer.active = False
        assert notify.notify([officer, None], notify.NEW_TIP, "/x", key="k") == []
        with pytest.raises(ValueError):
            notify.notify([U("commander")], "tip text", "/x", key="k")


@pytest.mark.parametrize("app_config", [SMS_ON])
def test_an_outbox_row_per_person_and_channel_they_use(app):
    with app.app_context():
        db.session.add(NotifyPrefs(user_id=U("officer").id, email="duc@example.vn", sms_on=True, email_on=True,
                                   push_on=True))
        db.session.add(NotifyPrefs(user_id=U("informant").id, email="", sms_on=False, email_on=True,
                                   push_on=True))
        tip = send_tip()
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == U("officer").id)).all()
        assert sorted(r.channel for r in rows) == [Channel.EMAIL, Channel.SMS]  # no push: no subscription
        q = cases.ask(tip, by=U("officer"), body="Xe màu gì?")
        note = notes_of("informant", f"msg:{q.id}")[0]
        # SMS turned off, no email address, no push subscription: in the app only.
        assert db.session.scalar(select(func.count()).where(OutboxMessage.notification_id == note.id)) == 0
        # Running the event again writes no second row.
        notify.tip_submitted(tip)
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.user_id == U("officer").id)) == 2
        # The commander turns SMS off for the commune.
        db.session.add(CommuneChannels(commune_id=tip.commune_id, sms_on=False, email_on=True, push_on=True))
        tip2 = send_tip(body="Một chuyện khác ở chợ.")
        rows = db.session.scalars(select(OutboxMessage).join(Notification)
                                  .where(Notification.key == f"tip:{tip2.id}")).all()
        assert [r.channel for r in rows] == [Channel.EMAIL]


def test_no_channel_is_used_when_no_server_is_set_up(app):
    with app.app_context():
        send_tip()
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# --- The neutral-text rule --------------------------------------------------------------------


SECRET_BODY = "Ông Lý Văn Thắng bán ma túy ở quán karaoke Hoa Hồng"


def identifying_words(tip: Tip) -> list[str]:
    """Everything that could tell a family member what happened, where, or who was involved."""
    words = [tip.body, tip.code, tip.village.name, tip.category.name, tip.informant.alias,
             tip.informant.user.full_name, tip.informant.user.phone]
    for who in ("officer", "commander", "verifier"):
        words.append(U(who).full_name)
    words += ["Lý Văn Thắng", "karaoke", "ma túy", "Hoa Hồng", "Đồng Bé", "Trộm", "trộm"]
    return [w for w in words if w]


@pytest.mark.parametrize("app_config", [SMS_ON])
def test_every_outgoing_text_is_neutral(app):
    """Each kind's outgoing sentence, and every outbox row a whole flow makes, carries nothing of the tip."""
    with app.app_context(), app.test_request_context():
        db.session.add(NotifyPrefs(user_id=U("officer").id, email="duc@example.vn", sms_on=True, email_on=True,
                                   push_on=True))
        send_tip(body=SECRET_BODY + " hôm qua")
        tip = send_tip(body=SECRET_BODY, urgency=Urgency.EMERGENCY)
        q = cases.ask(tip, by=U("officer"), body="Ông Thắng ở thôn nào?")
        cases.answer(tip, author=U("informant"), body="Thôn Đồng Bé, gần chợ.")
        task = cases.create_task(tip, by=U("officer"), verifiers=[U("verifier")], due_at=utcnow() + timedelta(hours=3),
                                 brief="Kiểm tra quán hát buổi tối xem có người lạ.")
        cases.report_finding(task.assignments[0], by=U("verifier"), finding=Finding.CONFIRMED, notes="Đúng vậy.")
        # The standing conversation with the informant: a request and an answer, outside any tip.
        from zaloan import conversations

        chat = [conversations.ask(U("informant").informant, by=U("officer"), body="Để ý ông Thắng tối nay."),
                conversations.send(U("informant").informant, by=U("informant"), body="Ông Thắng đi xe đỏ.")]
        cases.create_task(tip, by=U("officer"), verifiers=[U("verifier")], due_at=utcnow() + timedelta(hours=3),
                          brief="Xem lại lần nữa.")  # never accepted: a reminder, then late
        db.session.flush()
        from zaloan import deadlines

        deadlines.sweep(utcnow() + timedelta(days=90))  # every escalation: unread emergency, late task and tip
        db.session.flush()
        bad = identifying_words(tip) + [q.body] + [m.body for m in chat]
        texts = {kind: notify.outgoing_message(kind) for kind in notify.KINDS}
        kinds_sent = set(db.session.scalars(select(Notification.kind).join(
            OutboxMessage, OutboxMessage.notification_id == Notification.id)))
        assert kinds_sent == set(notify.KINDS)  # the flow made every kind
        for kind, text in texts.items():
            assert text.startswith("Zalo an ninh: bạn có 1 "), text
            assert text.endswith("/notifications/")
            for word in bad:
                assert word.lower() not in text.lower(), (kind, word)
        # What a push carries and what an SMS gateway receives, for every kind.
        from zaloan import outbox

        for kind in notify.KINDS:
            payload = outbox.push_payload(kind)
            sms = json.dumps(outbox.fill(json.loads(app.config["NOTIFY_SMS_TEMPLATE"]),
                                         {"to": "+84900000002", "text": notify.outgoing_message(kind), "id": "x"}),
                             ensure_ascii=False)
            for word in bad:
                assert word.lower() not in payload.lower() and word.lower() not in sms.lower(), (kind, word)
        # The sentences take no argument at all: a caller cannot put the tip's text in one.
        for kind, msg in notify.OUTGOING.items():
            assert "%(" not in msg._args[0] and "{" not in msg._args[0], kind
        # The list in the app names the kind of thing, never its content.
        for kind in notify.KINDS:
            label = notify.text_for_list(kind)
            for word in bad:
                assert word.lower() not in label.lower()
