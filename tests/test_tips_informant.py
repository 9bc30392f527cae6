"""The informant's side: home, "Tin của tôi", the private thread, photos, and what they never see."""
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import Attachment, AuditEvent, Message, Tip, User

from .helpers import U
from .test_flow import jpeg_bytes, send_tip

AN, BINH, OFFICER = "+84900000010", "+84900000011", "+84900000002"


def an_open_tip(app) -> int:
    """Return the demo's new tip of informant 1 (nobody has written in its thread)."""
    with app.app_context():
        return db.session.scalar(
            select(Tip.id).where(Tip.informant_id == U(AN).informant.id, Tip.status == "new").order_by(Tip.id)
        )


def ask(app, tip_id, body="Anh thấy mấy người?"):
    with app.app_context():
        cases.ask(db.session.get(Tip, tip_id), by=U(OFFICER), body=body)
        db.session.commit()


def test_home_has_two_big_buttons_with_counts(app, login_as):
    html = login_as("informant").get("/informant/").get_data(as_text=True)
    with app.app_context():
        mine = db.session.scalar(select(func.count(Tip.id)).where(Tip.informant_id == U(AN).informant.id))
    assert 'href="/informant/tips/new"' in html and "Gửi tin báo" in html
    assert f"Tin của tôi ({mine})" in html
    assert html.count('class="btn main') >= 2


def test_a_question_waiting_is_shown_on_home_and_in_my_tips_until_answered(app, login_as):
    c = login_as("informant")
    tip_id = an_open_tip(app)
    # The demo already has one question waiting for this informant.
    assert "Cán bộ đang hỏi thêm bạn về 1 tin" in c.get("/informant/").get_data(as_text=True)
    assert c.get("/informant/tips").get_data(as_text=True).count("❓") == 1
    ask(app, tip_id)
    assert "Cán bộ đang hỏi thêm bạn về 2 tin" in c.get("/informant/").get_data(as_text=True)
    mine = c.get("/informant/tips").get_data(as_text=True)
    assert mine.count("❓") == 2
    row = re.search(rf'<a class="row-link stacked" href="/informant/tips/{tip_id}">(.*?)</a>', mine, re.S).group(1)
    assert "Cán bộ hỏi thêm" in row
    assert c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Hai người.", "client_key": "ans-q-000001"}
                  ).status_code == 303
    mine = c.get("/informant/tips").get_data(as_text=True)
    assert mine.count("❓") == 1
    assert "Cán bộ hỏi thêm" not in re.search(rf'<a class="row-link stacked" href="/informant/tips/{tip_id}">(.*?)</a>',
                                              mine, re.S).group(1)
    # Another informant's questions never show on this informant's pages, and theirs are all answered.
    assert "Cán bộ đang hỏi thêm" not in login_as("informant2").get("/informant/").get_data(as_text=True)


def test_answer_without_javascript_redirects_and_confirms(app, login_as):
    c = login_as("informant")
    tip_id = an_open_tip(app)
    ask(app, tip_id)
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Tôi thấy hai người.", "client_key": "ans-nojs-0001"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/informant/tips/{tip_id}?answered=1#thread")
    page = c.get(f"/informant/tips/{tip_id}?answered=1").get_data(as_text=True)
    assert "Đã gửi câu trả lời của bạn." in page and f'data-clear-draft="answer-{tip_id}"' in page
    assert re.search(r'data-spent="[^"]*ans-nojs-0001', page)


def test_answer_with_htmx_swaps_the_thread_with_an_empty_form(app, login_as):
    c = login_as("informant")
    tip_id = an_open_tip(app)
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Bổ sung: xe màu xanh.", "client_key": "ans-htmx-0001"},
               headers={"HX-Request": "true", "HX-Target": "thread"})
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card" id="thread">') and "<html" not in html
    assert "Bổ sung: xe màu xanh." in re.search(r'<ol class="thread">(.*?)</ol>', html, re.S).group(1)
    assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*</textarea>', html)  # the box is empty again
    assert 'value="ans-htmx-0001"' not in html  # with a new key for the next answer
    assert "Đã gửi câu trả lời của bạn." in html


def test_a_reused_answer_key_with_other_text_is_refused_and_renewed(app, login_as):
    c = login_as("informant")
    tip_id = an_open_tip(app)
    assert c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Lần một.", "client_key": "ans-reuse-001"}
                  ).status_code == 303
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Lần hai khác.", "client_key": "ans-reuse-001"})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "đã đến nơi, với nội dung khác" in html and "Lần hai khác." in html
    key = re.search(r'name="client_key" type="hidden" value="([^"]+)"', html).group(1)
    assert key != "ans-reuse-001"
    assert c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Lần hai khác.", "client_key": key}
                  ).status_code == 303
    with app.app_context():
        assert list(db.session.scalars(select(Message.body).where(Message.tip_id == tip_id).order_by(Message.id))) == [
            "Lần một.", "Lần hai khác."]


def test_answer_with_a_photo_plain_and_one_by_one(app, login_as):
    c = login_as("informant")
    tip_id = an_open_tip(app)
    r = c.post(f"/informant/tips/{tip_id}/messages", content_type="multipart/form-data",
               data={"body": "", "client_key": "ans-photo-0001", "photos": (io.BytesIO(jpeg_bytes()), "a.jpg")})
    assert r.status_code == 303
    up = c.post("/informant/photos", content_type="multipart/form-data",
                data={"photo": (io.BytesIO(jpeg_bytes(color=(0, 0, 200))), "b.jpg"), "client_key": "one-photo-0001"})
    photo_id = up.get_json()["id"]
    assert c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Ảnh nữa.", "client_key": "ans-photo-0002",
                                                            "photo_ids": str(photo_id)}).status_code == 303
    with app.app_context():
        msgs = db.session.scalars(select(Message).where(Message.tip_id == tip_id).order_by(Message.id)).all()
        assert [len(m.attachments) for m in msgs] == [1, 1] and msgs[1].attachments[0].id == photo_id
        first_photo = msgs[0].attachments[0].id
    thread = c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert f"/photos/{first_photo}" in thread and f"/photos/{photo_id}" in thread
    assert login_as("officer").get(f"/photos/{photo_id}").status_code == 200
    assert login_as("informant2").get(f"/photos/{photo_id}").status_code == 404
    # A photo already used cannot be attached again, even by its uploader.
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Lại ảnh đó.", "client_key": "ans-photo-0003",
                                                         "photo_ids": str(photo_id)})
    assert r.status_code == 422


@pytest.mark.parametrize("reason,payload,words", [
    ("empty", b"", "Một ảnh bị trống"),
    ("not_an_image", b"GIF89a not really", "Chỉ gửi được ảnh"),
    ("too_large", b"\xff\xd8" + b"0" * (10 * 1024 * 1024), "quá nặng"),
    ("too_many_pixels", None, "kích thước quá lớn"),
])
def test_each_refused_photo_says_why_in_vietnamese(app, login_as, reason, payload, words):
    if payload is None:
        buf = io.BytesIO()
        Image.new("1", (13000, 8)).save(buf, "PNG")
        payload = buf.getvalue()
    c = login_as("informant")
    r = send_tip(c, app, key=f"bad-{reason}"[:14].ljust(12, "x"), photo=False, photos=(io.BytesIO(payload), "x.jpg"))
    assert r.status_code == 422 and words in r.get_data(as_text=True)
    one = c.post("/informant/photos", content_type="multipart/form-data",
                 data={"photo": (io.BytesIO(payload), "x.jpg"), "client_key": "bad-one-photo1"})
    assert one.status_code == 422 and words in one.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.uploader_id == U(AN).id)) == 0


def test_the_tip_form_lists_only_my_own_spent_keys(app, login_as):
    c = login_as("informant")
    assert send_tip(c, app, key="spent-key-an01", photo=False).status_code == 303
    assert send_tip(login_as("informant2"), app, key="spent-key-bi01", photo=False).status_code == 303
    form = c.get("/informant/tips/new").get_data(as_text=True)
    spent = re.search(r'data-spent="([^"]*)"', form).group(1).split()
    assert "spent-key-an01" in spent and "spent-key-bi01" not in spent
    assert re.search(r'name="client_key" type="hidden" value="([^"]+)"', form).group(1) not in spent


def test_more_than_three_photos_are_refused(app, login_as):
    c = login_as("informant")
    ids = []
    for i in range(4):
        r = c.post("/informant/photos", content_type="multipart/form-data",
                   data={"photo": (io.BytesIO(jpeg_bytes(color=(i * 40, 0, 0))), "p.jpg"), "client_key": f"four-photos-{i}"})
        ids.append(str(r.get_json()["id"]))
    r = send_tip(c, app, key="four-photo-tip1", photo=False, photo_ids=ids)
    assert r.status_code == 422 and "Tối đa 3 ảnh" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Tip.id)).where(Tip.client_key == "four-photo-tip1")) == 0


def test_my_tips_show_plain_words_and_no_police_work(app, login_as):
    html = login_as("informant2").get("/informant/tips").get_data(as_text=True)
    with app.app_context():
        binh = U(BINH).informant
        tips = db.session.scalars(select(Tip).where(Tip.informant_id == binh.id)).all()
        briefs = [k.brief for t in tips for k in t.tasks]
        notes = [t.outcome_note for t in tips if t.outcome_note]
        alias = binh.alias
    assert all(t.code in html for t in tips)
    for hidden in briefs + notes + ["Đã hòa giải", "Trùng tin đã có", "Hoàng Văn Cường", alias, "Đã phân loại"]:
        assert hidden not in html


def test_photos_never_sent_are_purged_after_a_week_and_nothing_else(app, login_as):
    """A photo uploaded on its own and left behind goes after 7 days; sent photos and fresh ones stay."""
    from datetime import timedelta

    from zaloan import images

    c = login_as("informant")

    def upload(n):
        r = c.post("/informant/photos", content_type="multipart/form-data",
                   data={"photo": (io.BytesIO(jpeg_bytes(color=(n, 0, 0))), "p.jpg"), "client_key": f"purge-{n:08d}"})
        return r.get_json()["id"]

    left, fresh, used = upload(1), upload(2), upload(3)
    tip_id = an_open_tip(app)
    assert c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Ảnh đây.", "client_key": "purge-ans-001",
                                                            "photo_ids": str(used)}).status_code == 303
    with app.app_context():
        files = {i: images.path_of(db.session.get(Attachment, i).storage_name) for i in (left, fresh, used)}
        thumbs = {i: images.thumb_path_of(db.session.get(Attachment, i).storage_name) for i in (left, fresh, used)}
        for i in (left, used):
            db.session.get(Attachment, i).created_at -= timedelta(days=8)
        db.session.commit()
    assert all(p.exists() for p in [*files.values(), *thumbs.values()])
    result = app.test_cli_runner().invoke(args=["purge-photos"])
    assert result.exit_code == 0 and "Unused photos deleted: 1" in result.output
    with app.app_context():
        assert db.session.get(Attachment, left) is None
        assert db.session.get(Attachment, fresh) is not None and db.session.get(Attachment, used) is not None
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "photos.purge")) == 1
    assert not files[left].exists() and files[fresh].exists() and files[used].exists()
    assert not thumbs[left].exists() and thumbs[fresh].exists() and thumbs[used].exists()  # thumbnails too
    # The used photo is still shown in the thread; nothing left to purge the next night.
    assert c.get(f"/photos/{used}").status_code == 200
    assert "Unused photos deleted: 0" in app.test_cli_runner().invoke(args=["purge-photos"]).output
