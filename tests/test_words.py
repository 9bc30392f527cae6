"""Texts from the reader's point of view: "Bạn" for one's own messages, labels that say what they list."""
from __future__ import annotations

import re

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Message, Tip, User

from .test_tips_public import receipt, send


def metas(html: str) -> list[str]:
    """Return who each message of the thread is shown as, in order."""
    thread = re.search(r'<ol class="thread">(.*?)</ol>', html, re.S).group(1)
    return [m.split(" · ")[0] for m in re.findall(r'<p class="meta">([^<]*)</p>', thread)]


def test_the_informant_reads_their_own_messages_as_you(app, login_as):
    with app.app_context():
        binh = db.session.scalar(select(User).where(User.phone == "+84900000011"))
        tip_id = db.session.scalar(select(Tip.id).join(Message).where(
            Tip.informant_id == binh.informant.id, Message.from_police.is_(True)))
    informant = login_as("informant2")
    informant.post(f"/informant/tips/{tip_id}/messages", data={"body": "Tôi thấy hai người.",
                                                               "client_key": "words-answer-01"})
    html = informant.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    who = metas(html)
    assert who[0] == "Cán bộ phụ trách" and who[-1] == "Bạn"
    assert "Người báo tin" not in who
    # The officer reads the same thread with the sender by alias, and their own question as "Bạn".
    html = login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    who = metas(html)
    assert who[0] == "Bạn" and who[-1] == binh.informant.alias == "NT-0002"
    # Another officer (the commander here) sees the question as the officer's.
    assert metas(login_as("commander").get(f"/officer/tips/{tip_id}").get_data(as_text=True))[0] == "Cán bộ phụ trách"


def test_the_anonymous_sender_reads_their_own_messages_as_you(app, client, login_as):
    code, key = receipt(send(client, app, key="words-anon-0001").get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    officer = login_as("officer")
    html = officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    # The officer's empty thread says what the officer can do, and what the sender will see.
    assert "Chưa có tin nhắn. Bạn có thể hỏi thêm người gửi ở ô dưới" in html
    assert "ký là “Cán bộ phụ trách”, không thấy tên bạn" in html
    officer.post(f"/officer/tips/{tip_id}/ask", data={"body": "Xe màu gì?", "client_key": "words-ask-00001"})
    client.post(f"/report/status/{tip_id}/messages", data={"body": "Xe màu đỏ.", "client_key": "words-anon-ans1"})
    assert metas(client.get(f"/report/status/{tip_id}").get_data(as_text=True)) == ["Cán bộ phụ trách", "Bạn"]
    assert metas(officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)) == ["Bạn", "Người báo tin ẩn danh"]


def test_a_closed_tip_without_messages_does_not_offer_to_ask(app, client, login_as):
    code, _key = receipt(send(client, app, key="words-anon-0002").get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    officer = login_as("officer")
    officer.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "no_violation", "note": "Đã kiểm tra."})
    html = officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Không có tin nhắn nào về tin này." in html and "hỏi thêm người gửi ở ô dưới" not in html
    # Nor does the sender's page promise a question that can no longer come.
    page = client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert "Không có tin nhắn nào về tin này." in page and "Cán bộ có thể hỏi" not in page


def test_labels_say_what_they_list(app, login_as):
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.phone == "+84900000002"))
    commander = login_as("commander")
    person = commander.get(f"/people/{officer_id}").get_data(as_text=True)
    listed = re.search(r"<dt>Thôn phụ trách</dt><dd>([^<]*)</dd>", person)
    assert listed and set(listed.group(1).split(", ")) == {"Thôn Đồng Bé", "Thôn Hạ Lý", "Thôn Tân Lập"}
    assert "Số thôn" not in person
    handover = commander.get(f"/people/{officer_id}/handover").get_data(as_text=True)
    assert "<b>Thôn phụ trách:</b> Thôn" in handover and "<dt>Số thôn</dt><dd>3</dd>" in handover
    home = commander.get("/commander/").get_data(as_text=True)
    assert re.search(r"<dt>Số thôn</dt><dd>\d+</dd>", home)
