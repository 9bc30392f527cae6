"""The standing channel between each informant and the commune police (zaloan.conversations, /channel/)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from zaloan import accounts, audit_words, conversations, notify
from zaloan.extensions import db
from zaloan.formkit import local_now
from zaloan.models import AuditEvent, ChannelMessage, Notification, OutboxMessage, Tip, WatchPoint

from .helpers import U
from .secrecy import assert_verifier_never_sees
from .test_access_matrix import session_client

SECRET = "Xe Wave đỏ không biển số đỗ sau quán bà Tư"
ANSWER = "Tối qua thấy hai người lạ chở xăng qua cổng chợ"
FMT = "%Y-%m-%dT%H:%M"


def inf_id(app, who="informant") -> int:
    with app.app_context():
        return U(who).informant.id


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def write(client, body, key, informant_id=None, **extra):
    url = "/channel/me/messages" if informant_id is None else f"/channel/{informant_id}/messages"
    return client.post(url, data={"body": body, "client_key": key, **extra})


def tomorrow(hour: int, minute: int = 0) -> datetime:
    return (local_now() + timedelta(days=1)).replace(hour=hour, minute=minute)


def ask(client, informant_id, key="req-key-0001", **fields):
    data = {"body": "Tối mai để ý cổng chợ giúp.", "client_key": key, "watch_point_id": "0", "place_text": "",
            "window_from": "", "window_to": "", "due_at": ""}
    data.update(fields)
    return client.post(f"/channel/{informant_id}/requests", data={f"req-{k}": v for k, v in data.items()})


# --- Who reaches it --------------------------------------------------------------------------------------


def test_only_the_informant_their_handler_and_the_commander_reach_the_conversation(app):
    an = inf_id(app)
    informant = session_client(app, "informant")
    r = write(informant, SECRET, "an-msg-000001")
    assert r.status_code == 303 and r.headers["Location"].startswith("/channel/me")
    assert SECRET in informant.get("/channel/me").get_data(as_text=True)
    for who in ("officer", "commander"):
        page = session_client(app, who).get(f"/channel/{an}")
        assert page.status_code == 200 and SECRET in page.get_data(as_text=True), who
    # Another officer, the other informant, a verifier, an observer: 404 on every address, never the text.
    with app.app_context():
        mid = db.session.scalar(select(ChannelMessage.id).where(ChannelMessage.body == SECRET))
    urls = [f"/channel/{an}", f"/channel/{an}/messages", f"/channel/{an}/requests",
            f"/channel/{an}/messages/{mid}/tip"]
    for who in ("officer2", "informant2", "verifier", "observer"):
        c = session_client(app, who)
        for url in urls:
            for method in ("GET", "POST"):
                resp = c.open(url, method=method, data={"body": "x", "client_key": "other-000001"})
                assert resp.status_code in (404, 405), (who, method, url, resp.status_code)
                assert SECRET not in resp.get_data(as_text=True)
        assert c.get("/channel/me/messages/%d/tip" % mid).status_code == 404, who
    assert SECRET not in session_client(app, "informant2").get("/channel/me").get_data(as_text=True)
    with app.app_context():
        assert count(ChannelMessage) == 1  # nothing the others sent was kept


def test_a_police_account_of_another_commune_gets_404(app):
    from .test_isolation import second_commune

    with app.app_context():
        second_commune()
    an = inf_id(app)
    write(session_client(app, "informant"), SECRET, "an-msg-000002")
    for phone in ("0911000001", "0911000002"):  # the other commune's commander and officer
        c = session_client(app, phone)
        assert c.get(f"/channel/{an}").status_code == 404
        assert write(c, "x", "foreign-00001", an).status_code == 404
        assert SECRET not in c.get("/channel/").get_data(as_text=True)


def test_the_conversation_follows_a_handover(app):
    an = inf_id(app)
    write(session_client(app, "officer"), "Cảm ơn anh đã báo tin hôm trước.", "off-msg-00001", an)
    write(session_client(app, "informant"), SECRET, "an-msg-000003")
    with app.app_context():
        accounts.handover(U("officer"), U("officer2"), by=U("commander"))
        db.session.commit()
    old, new = session_client(app, "officer"), session_client(app, "officer2")
    assert old.get(f"/channel/{an}").status_code == 404
    assert f"/channel/{an}" not in old.get("/channel/").get_data(as_text=True)
    page = new.get(f"/channel/{an}").get_data(as_text=True)
    assert "Cảm ơn anh đã báo tin hôm trước." in page and SECRET in page  # the whole history
    write(session_client(app, "informant"), "Dạ, em vẫn để ý.", "an-msg-000004")
    with app.app_context():
        notes = db.session.scalars(select(Notification).where(Notification.kind == notify.CHANNEL)
                                   .order_by(Notification.id.desc())).first()
        assert notes.user_id == U("officer2").id  # the new handler hears of it, not the old one


# --- Requests ("nhờ để ý") -------------------------------------------------------------------------------


def test_a_request_carries_a_place_a_window_and_a_due_time_in_vietnam_time(app):
    an = inf_id(app)
    with app.app_context():
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        point_id = point.id
    officer = session_client(app, "officer")
    start, end, due = tomorrow(20), tomorrow(23), tomorrow(23, 30)
    r = ask(officer, an, watch_point_id=str(point_id), place_text="cổng sau", window_from=start.strftime(FMT),
            window_to=end.strftime(FMT), due_at=due.strftime(FMT))
    assert r.status_code == 303
    with app.app_context():
        msg = db.session.scalar(select(ChannelMessage).where(ChannelMessage.is_request.is_(True)))
        assert msg.from_police and msg.watch_point_id == point_id and msg.place_text == "cổng sau"
        assert msg.window_from == start - timedelta(hours=7) and msg.window_to == end - timedelta(hours=7)
        assert msg.due_at == due - timedelta(hours=7)  # stored in UTC
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "channel.request"))
        words = audit_words.sentence(row)
        assert "nhờ" in words and "NT-" in words and "Tối mai" not in words
    card = session_client(app, "informant").get("/channel/me").get_data(as_text=True)
    assert "Nhờ để ý" in card and "Chợ Tân Thành" in card and "cổng sau" in card
    assert start.strftime("%H:%M") in card and due.strftime("%H:%M") in card
    # A retry of the same form is the same request.
    ask(officer, an, watch_point_id=str(point_id), place_text="cổng sau", window_from=start.strftime(FMT),
        window_to=end.strftime(FMT), due_at=due.strftime(FMT))
    with app.app_context():
        assert count(ChannelMessage) == 1


@pytest.mark.parametrize("fields,words", [
    ({"due_at": (local_now() - timedelta(hours=1)).strftime(FMT)}, "Hạn"),
    ({"window_to": (local_now() - timedelta(hours=1)).strftime(FMT)}, "quá khứ"),
    ({"window_from": (local_now() - timedelta(days=1)).strftime(FMT)}, "quá khứ"),
    ({"window_from": tomorrow(22).strftime(FMT), "window_to": tomorrow(20).strftime(FMT)}, "sau giờ bắt đầu"),
    ({"due_at": "tối mai"}, "Vui lòng nhập ngày giờ"),
    ({"due_at": "9999-12-31T23:59"}, "năm"),
    ({"body": "  "}, "Vui lòng viết"),
    ({"watch_point_id": "999999"}, "Vui lòng chọn"),
])
def test_a_bad_request_is_refused_in_vietnamese_and_changes_nothing(app, fields, words):
    an = inf_id(app)
    officer = session_client(app, "officer")
    r = ask(officer, an, **fields)
    assert r.status_code == 422
    assert words in r.get_data(as_text=True)
    with app.app_context():
        assert count(ChannelMessage) == 0 and count(AuditEvent, AuditEvent.action.like("channel.%")) == 0
        assert count(Notification, Notification.kind == notify.CHANNEL) == 0


def test_an_informant_sends_no_request_and_a_blank_message_is_refused(app):
    informant = session_client(app, "informant")
    r = write(informant, "   ", "an-msg-000005")
    assert r.status_code == 422 and "Vui lòng viết tin nhắn." in r.get_data(as_text=True)
    assert informant.post(f"/channel/{inf_id(app)}/requests", data={"body": "x"}).status_code == 404
    with app.app_context():
        assert count(ChannelMessage) == 0


def test_a_message_sent_twice_is_kept_once_and_a_reused_key_is_refused(app):
    an = inf_id(app)
    officer = session_client(app, "officer")
    assert write(officer, "Cảm ơn chị.", "off-msg-00002", an).status_code == 303
    assert write(officer, "Cảm ơn chị.", "off-msg-00002", an).status_code == 303
    r = write(officer, "Nội dung khác hẳn.", "off-msg-00002", an)
    assert r.status_code == 409
    with app.app_context():
        assert count(ChannelMessage) == 1
        assert count(AuditEvent, AuditEvent.action == "channel.message") == 1


# --- An answer becomes a tip -----------------------------------------------------------------------------


def answered_request(app):
    """The officer asks about the market; the informant answers the request. Return (informant id, answer id)."""
    an = inf_id(app)
    with app.app_context():
        point_id = db.session.scalar(select(WatchPoint.id).where(WatchPoint.name == "Chợ Tân Thành"))
    ask(session_client(app, "officer"), an, watch_point_id=str(point_id), due_at=tomorrow(21).strftime(FMT))
    with app.app_context():
        req = db.session.scalar(select(ChannelMessage.id).where(ChannelMessage.is_request.is_(True)))
    informant = session_client(app, "informant")
    assert f"?reply={req}" in informant.get("/channel/me").get_data(as_text=True)
    form = informant.get(f"/channel/me?reply={req}").get_data(as_text=True)
    assert f'name="reply_to" type="hidden" value="{req}"' in form or f'value="{req}"' in form
    assert write(informant, ANSWER, "an-ans-000001", reply_to=str(req)).status_code == 303
    with app.app_context():
        ans = db.session.scalar(select(ChannelMessage).where(ChannelMessage.body == ANSWER))
        assert ans.reply_to_id == req and not ans.from_police
        return an, ans.id, point_id


def test_the_officer_makes_the_answer_a_tip_in_one_tap_once(app):
    an, mid, point_id = answered_request(app)
    officer = session_client(app, "officer")
    page = officer.get(f"/channel/{an}").get_data(as_text=True)
    url = f"/channel/{an}/messages/{mid}/tip"
    assert url in page
    form = officer.get(url)
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and ANSWER in html
    assert f'<option selected value="{point_id}">' in html or f'value="{point_id}" selected' in html
    with app.app_context():
        cat = db.session.scalar(select(Tip.category_id).limit(1))
        tips_before = count(Tip)
    data = {"category_id": str(cat), "body": ANSWER, "village_id": "0", "watch_point_id": str(point_id),
            "place_text": "", "occurred_at": "", "urgency": "2", "client_key": "tip-from-msg-01"}
    first = officer.post(url, data=data)
    again = officer.post(url, data=data)  # a double tap
    other = session_client(app, "informant").post(f"/channel/me/messages/{mid}/tip",
                                                  data={**data, "client_key": "tip-from-msg-02"})
    assert first.status_code == 303 and again.status_code == 303 and other.status_code == 303
    with app.app_context():
        assert count(Tip) == tips_before + 1
        msg = db.session.get(ChannelMessage, mid)
        tip = msg.tip
        assert tip is not None and tip.informant_id == an and tip.body == ANSWER and tip.watch_point_id == point_id
        assert first.headers["Location"] == f"/officer/tips/{tip.id}" == again.headers["Location"]
        assert other.headers["Location"] == f"/informant/tips/{tip.id}"
        assert count(AuditEvent, AuditEvent.action == "channel.tip") == 1
        assert count(AuditEvent, AuditEvent.action == "tip.submit", AuditEvent.target_id == tip.id) == 1
        code = tip.code
    # The conversation links to the tip on both sides; the informant sees it among their tips.
    assert code in officer.get(f"/channel/{an}").get_data(as_text=True)
    informant = session_client(app, "informant")
    assert code in informant.get("/channel/me").get_data(as_text=True)
    assert informant.get(f"/informant/tips/{tip.id}").status_code == 200
    assert officer.get(url).headers["Location"] == f"/officer/tips/{tip.id}"


def test_the_informant_makes_their_own_message_a_tip(app):
    informant = session_client(app, "informant")
    write(informant, ANSWER, "an-msg-000006")
    with app.app_context():
        mid = db.session.scalar(select(ChannelMessage.id))
        cat = db.session.scalar(select(Tip.category_id).limit(1))
    form = informant.get(f"/channel/me/messages/{mid}/tip")
    assert form.status_code == 200 and ANSWER in form.get_data(as_text=True)
    bad = informant.post(f"/channel/me/messages/{mid}/tip", data={"body": ANSWER, "client_key": "tip-own-0001"})
    assert bad.status_code == 422  # no category: the normal tip form's own words, nothing made
    with app.app_context():
        assert db.session.get(ChannelMessage, mid).tip_id is None
    r = informant.post(f"/channel/me/messages/{mid}/tip", data={
        "category_id": str(cat), "body": ANSWER, "village_id": "0", "watch_point_id": "0", "place_text": "",
        "occurred_at": "", "urgency": "2", "client_key": "tip-own-0002"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/informant/tips/")
    # A police message never becomes a tip.
    write(session_client(app, "officer"), "Cảm ơn.", "off-msg-00003", inf_id(app))
    with app.app_context():
        police_msg = db.session.scalar(select(ChannelMessage.id).where(ChannelMessage.from_police.is_(True)))
    assert informant.get(f"/channel/me/messages/{police_msg}/tip").status_code == 404


# --- Lists, marks, notifications, secrecy ----------------------------------------------------------------


def test_the_list_and_the_home_page_mark_a_message_waiting(app):
    an = inf_id(app)
    officer, informant = session_client(app, "officer"), session_client(app, "informant")
    assert "Tin nhắn mới" not in officer.get("/channel/").get_data(as_text=True)
    write(informant, SECRET, "an-msg-000007")
    listing = officer.get("/channel/").get_data(as_text=True)
    assert f"/channel/{an}" in listing and "Tin nhắn mới" in listing and SECRET not in listing
    assert "/channel/" in session_client(app, "commander").get("/channel/").get_data(as_text=True)
    assert f"/channel/{an}" not in session_client(app, "officer2").get("/channel/").get_data(as_text=True)
    home = informant.get("/informant/").get_data(as_text=True)
    assert "/channel/me" in home and "Tin nhắn mới" not in home
    write(officer, "Cảm ơn, anh để ý tiếp nhé.", "off-msg-00004", an)
    assert "Tin nhắn mới" not in officer.get("/channel/").get_data(as_text=True)
    assert "Tin nhắn mới" in informant.get("/informant/").get_data(as_text=True)
    # The person page links the conversation for those who may use it.
    with app.app_context():
        uid = U("informant").id
    assert f"/channel/{an}" in officer.get(f"/people/{uid}").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"NOTIFY_SMS_URL": "http://127.0.0.1:9/sms"}])
def test_notifications_are_neutral_and_reach_the_other_side(app):
    an = inf_id(app)
    write(session_client(app, "informant"), SECRET, "an-msg-000008")
    ask(session_client(app, "officer"), an, body="Để ý " + SECRET)
    with app.app_context():
        to_officer = db.session.scalars(select(Notification).where(Notification.user_id == U("officer").id,
                                                                   Notification.kind == notify.CHANNEL)).all()
        to_informant = db.session.scalars(select(Notification).where(Notification.user_id == U("informant").id,
                                                                     Notification.kind == notify.CHANNEL)).all()
        assert [n.url for n in to_officer] == [f"/channel/{an}"]
        assert [n.url for n in to_informant] == ["/channel/me"]
        assert count(Notification, Notification.kind == notify.CHANNEL, Notification.user_id == U("commander").id) == 0
        assert count(OutboxMessage, OutboxMessage.user_id == U("informant").id) >= 1
        with app.test_request_context():
            text = notify.outgoing_message(notify.CHANNEL)
        assert text.startswith("Zalo an ninh: bạn có 1 tin nhắn mới")
        for word in SECRET.split():
            if len(word) > 3:
                assert word not in text
        assert SECRET not in str(notify.text_for_list(notify.CHANNEL))


def test_a_verifier_reaches_nothing_of_any_conversation(app, login_as):
    an = inf_id(app)
    write(session_client(app, "informant"), SECRET, "an-msg-000009")
    ask(session_client(app, "officer"), an, body="Nhờ để ý giúp " + ANSWER)
    with app.app_context():
        mid = db.session.scalar(select(ChannelMessage.id).where(ChannelMessage.body == SECRET))
        alias = U("informant").informant.alias
    assert_verifier_never_sees(
        session_client(app, "verifier"), [SECRET, ANSWER, alias],
        extra_urls=["/channel/", "/channel/me", f"/channel/{an}", f"/channel/{an}/messages/{mid}/tip",
                    f"/channel/me/messages/{mid}/tip"],
        extra_posts=[(f"/channel/{an}/messages", {"body": "x", "client_key": "verif-00001"}),
                     (f"/channel/{an}/requests", {"req-body": "x", "req-client_key": "verif-00002"})])
    observer = session_client(app, "observer")
    for url in ("/channel/", f"/channel/{an}", "/channel/me"):
        assert observer.get(url).status_code == 404
