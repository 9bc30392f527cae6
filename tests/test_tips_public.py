"""Anonymous tips: any villager sends one without an account and follows it with a code and a key."""
import io
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from zaloan.extensions import db
from zaloan.models import Attachment, Category, Message, PublicAttempt, Tip, TipStatus, Unit, WatchPoint

from .test_flow import jpeg_bytes

ADDRESS, AGENT = "203.0.113.77", "ZaloTestAgent/9.9 (village phone)"


def form_data(app, body="Có người lạ đi xe không biển số quanh trường học.", key="anon-key-000001", **extra):
    with app.app_context():
        cat = db.session.scalar(select(Category.id).where(Category.code == "suspicious"))
        village = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))
    data = {"category_id": str(cat), "body": body, "village_id": str(village), "watch_point_id": "0",
            "place_text": "Cổng trường tiểu học", "urgency": "2", "client_key": key}
    data.update(extra)
    return data


def send(client, app, **kw):
    return client.post("/report/", data=form_data(app, **kw), content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT})


def receipt(html):
    codes = re.findall(r'<span class="code">([A-Z0-9]+)</span>', html)
    assert len(codes) == 2, html
    return codes  # the tip code, the follow-up key


def test_the_public_form_needs_no_login_and_carries_a_key(client):
    r = client.get("/report/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert re.search(r'name="client_key" type="hidden" value="[A-Za-z0-9_-]{16,}"', html)
    assert 'enctype="multipart/form-data"' in html and 'name="photos"' in html
    assert "data-upload-url" not in html  # no account: photos go with the form itself


def test_an_anonymous_tip_gets_a_code_and_a_key_and_reaches_the_officer(app, client, login_as):
    r = send(client, app, photos=(io.BytesIO(jpeg_bytes()), "anh.jpg"))
    assert r.status_code == 200
    code, key = receipt(r.get_data(as_text=True))
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.code == code))
        assert tip.informant_id is None and tip.status == TipStatus.NEW and len(tip.attachments) == 1
        assert tip.anon_secret_hash and key not in tip.anon_secret_hash  # only a hash is kept
        assert tip.attachments[0].uploader_id is None
        tip_id = tip.id
    page = login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Cổng trường tiểu học" in page and "Người báo tin ẩn danh" in page
    assert code in login_as("officer").get("/officer/").get_data(as_text=True)


def test_no_client_address_or_user_agent_is_stored(app, client):
    r = send(client, app)
    code, _ = receipt(r.get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    client.post(f"/report/status/{tip_id}/messages", data={"body": "Tôi bổ sung.", "client_key": "anon-msg-00001"},
                environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT})
    with app.app_context():
        for table in ("tips", "messages", "tip_events", "attachments", "audit_events", "public_attempts"):
            rows = db.session.execute(text(f"SELECT * FROM {table}")).all()
            dump = repr(rows)
            assert ADDRESS not in dump and "ZaloTestAgent" not in dump, table


def test_a_retried_anonymous_send_shows_the_same_code_and_key(app, client):
    first = receipt(send(client, app).get_data(as_text=True))
    again = receipt(send(client, app).get_data(as_text=True))  # the first answer never reached the phone
    assert first == again
    with app.app_context():
        assert db.session.scalar(select(func.count(Tip.id)).where(Tip.client_key == "anon-key-000001")) == 1
    other = send(client, app, body="Một chuyện khác hẳn.")
    assert other.status_code == 409 and "đã đến nơi" in other.get_data(as_text=True)


def test_follow_up_with_code_and_key_then_answer(app, client, login_as):
    code, key = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    officer = login_as("officer")
    assert officer.post(f"/officer/tips/{tip_id}/ask", data={"body": "Xe màu gì vậy?", "client_key": "ask-anon-0001"}
                        ).status_code == 303
    stranger = app.test_client()
    assert stranger.get(f"/report/status/{tip_id}").status_code == 404  # not unlocked in this browser
    wrong = stranger.post("/report/status", data={"code": code, "key": "AAAAAAAA"})
    assert wrong.status_code == 404 and "Xe màu gì" not in wrong.get_data(as_text=True)
    r = stranger.post("/report/status", data={"code": code.lower(), "key": f" {key[:4]}-{key[4:]} "})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/report/status/{tip_id}")
    page = stranger.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert "Xe màu gì vậy?" in page and "Đã nhận" in page
    r = stranger.post(f"/report/status/{tip_id}/messages", data={"body": "Xe màu đỏ.", "client_key": "anon-ans-0001"})
    assert r.status_code == 303
    assert "Xe màu đỏ." in officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    # The officer's queue marks the answer waiting.
    assert "Người báo đã trả lời" in officer.get("/officer/").get_data(as_text=True)
    officer.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "no_violation", "note": "Đã kiểm tra."})
    page = stranger.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert "Đã xử lý" in page and "Đã kiểm tra." not in page


def test_an_unlocked_anonymous_tip_does_not_open_informants_tips(app, client):
    code, key = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        informant_tip = db.session.scalar(select(Tip.id).where(Tip.informant_id.is_not(None)))
    assert client.get(f"/report/status/{informant_tip}").status_code == 404
    assert client.post(f"/report/status/{informant_tip}/messages",
                       data={"body": "x", "client_key": "anon-x-000001"}).status_code == 404
    # An informant's tip code cannot be looked up on the public page, whatever the key.
    with app.app_context():
        informant_code = db.session.get(Tip, informant_tip).code
    assert client.post("/report/status", data={"code": informant_code, "key": key}).status_code == 404


def test_anonymous_answers_keep_once_and_a_changed_copy_gets_a_new_key(app, client):
    code, _ = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    for _ in range(2):
        assert client.post(f"/report/status/{tip_id}/messages",
                           data={"body": "Thêm thông tin.", "client_key": "anon-same-0001"}).status_code == 303
    r = client.post(f"/report/status/{tip_id}/messages", data={"body": "Khác rồi.", "client_key": "anon-same-0001"})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "Khác rồi." in html and 'value="anon-same-0001"' not in html
    # The page lists the keys already used, so a phone's old draft of that answer is dropped.
    assert re.search(r'data-spent="[^"]*anon-same-0001', html)
    with app.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(Message.tip_id == tip_id)) == 1


def test_anonymous_photos_are_never_served_to_the_public(app, client):
    r = send(client, app, photos=(io.BytesIO(jpeg_bytes()), "anh.jpg"))
    code, _ = receipt(r.get_data(as_text=True))
    with app.app_context():
        photo = db.session.scalar(select(Attachment.id).join(Tip).where(Tip.code == code))
    assert client.get(f"/photos/{photo}").status_code in (302, 401)  # photos need an account
    assert f"/photos/{photo}" not in r.get_data(as_text=True)


def test_a_watch_point_alone_sets_the_village(app, client):
    with app.app_context():
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        point_id, village_id = point.id, point.village_id
    r = send(client, app, village_id="0", watch_point_id=str(point_id), key="anon-point-0001")
    code, _ = receipt(r.get_data(as_text=True))
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.code == code))
        assert tip.village_id == village_id and tip.watch_point_id == point_id


def age_counts(app, hours: float) -> None:
    """Move every counted use of the public forms `hours` back in time."""
    with app.app_context():
        for row in db.session.scalars(select(PublicAttempt)):
            row.created_at -= timedelta(hours=hours)
        db.session.commit()


def tip_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Tip.id)))


def test_a_flood_of_anonymous_tips_from_one_connection_is_slowed_and_loses_nothing(app, client):
    for n in range(10):
        assert send(client, app, key=f"flood-key-{n:06d}").status_code == 200
    before = tip_count(app)
    r = send(client, app, body="Tin thứ mười một trong một giờ.", key="flood-key-000010")
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and "Đã có nhiều tin gửi từ kết nối này trong một giờ qua" in html
    assert "Tin thứ mười một trong một giờ." in html  # the text is still in the form
    assert tip_count(app) == before
    # A send retried after a lost answer is answered with its receipt, limit or not, and counts nothing.
    again = send(client, app, key="flood-key-000003")
    assert again.status_code == 200 and len(receipt(again.get_data(as_text=True))) == 2
    assert tip_count(app) == before
    # Another connection (another phone in the village) is not held back.
    other = client.post("/report/", data=form_data(app, key="flood-key-other1"), content_type="multipart/form-data",
                        environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200 and tip_count(app) == before + 1
    # An hour later the first connection sends again; counts older than the limit are forgotten.
    age_counts(app, 1.01)
    assert send(client, app, key="flood-key-000011").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(PublicAttempt.id))) == 1


def test_guessing_follow_up_keys_is_stopped(app, client):
    code, key = receipt(send(client, app).get_data(as_text=True))
    guesser = app.test_client()
    for n in range(20):
        wrong = guesser.post("/report/status", data={"code": code, "key": f"WRONG{n:03d}"},
                             environ_base={"REMOTE_ADDR": ADDRESS})
        assert wrong.status_code == 404
    # Even the right pair is refused now from this connection: guessing it would be no different.
    r = guesser.post("/report/status", data={"code": code, "key": key}, environ_base={"REMOTE_ADDR": ADDRESS})
    assert r.status_code == 429 and "Đã thử sai quá nhiều lần từ kết nối này" in r.get_data(as_text=True)
    # The sender, on another connection, follows their tip as before.
    ok = app.test_client().post("/report/status", data={"code": code, "key": key},
                                environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert ok.status_code == 303
    age_counts(app, 1.01)
    r = guesser.post("/report/status", data={"code": code, "key": key}, environ_base={"REMOTE_ADDR": ADDRESS})
    assert r.status_code == 303


def test_an_anonymous_answer_carries_a_photo_shown_only_to_its_sender_and_the_police(app, client, login_as):
    code, _ = receipt(send(client, app, photos=(io.BytesIO(jpeg_bytes()), "anh.jpg")).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
        tip_photo = db.session.scalar(select(Attachment.id).where(Attachment.tip_id == tip_id))
        other_photo = db.session.scalar(select(Attachment.id).where(Attachment.tip_id != tip_id))
    page = client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert 'name="photos"' in page and "data-upload-url" not in page  # plain multipart, no account
    uploads = Path(app.config["UPLOAD_FOLDER"])
    for _ in range(2):  # the second is a retry after a lost answer: one message, no file left over
        r = client.post(f"/report/status/{tip_id}/messages", content_type="multipart/form-data",
                        data={"body": "Ảnh chụp chiếc xe.", "client_key": "anon-photo-0001",
                              "photos": (io.BytesIO(jpeg_bytes(color=(0, 90, 0))), "xe.jpg")})
        assert r.status_code == 303
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.tip_id == tip_id, Message.from_police.is_(False)))
        assert len(msg.attachments) == 1 and msg.attachments[0].uploader_id is None
        photo = msg.attachments[0].id
        names = set(db.session.scalars(select(Attachment.storage_name)))
    thumbs = {n.replace(".jpg", ".thumb.jpg") for n in names}
    assert {p.name for p in uploads.iterdir()} == names | thumbs
    url = f"/report/status/{tip_id}/photos/{photo}"
    page = client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    # The thread shows the thumbnail, through the sender's own route; a tap opens the photo.
    assert re.search(rf'<a class="ph" href="{url}\?v=\w+" hx-boost="false"><img class="thumb" src="{url}/thumb\?v=\w+"', page)
    for u in (url, url + "/thumb"):
        r = client.get(u)
        assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        # Another browser, the tip's own photo, another tip's photo, a photo under another tip: 404.
        assert app.test_client().get(u).status_code == 404
        for other in (tip_photo, other_photo):
            assert client.get(u.replace(f"/photos/{photo}", f"/photos/{other}")).status_code == 404
    assert f"/photos/{tip_photo}" not in client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    # The officer sees it on the tip page, through the checked photo route.
    officer = login_as("officer")
    assert f"/photos/{photo}" in officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert officer.get(f"/photos/{photo}").status_code == 200


def test_a_bad_photo_in_an_anonymous_answer_is_refused_and_keeps_the_text(app, client):
    code, _ = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    r = client.post(f"/report/status/{tip_id}/messages", content_type="multipart/form-data",
                    data={"body": "Kèm ảnh.", "client_key": "anon-bad-00001",
                          "photos": (io.BytesIO(b"<html><script>alert(1)</script>"), "x.jpg")})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Chỉ gửi được ảnh" in html and "Kèm ảnh." in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(Message.tip_id == tip_id)) == 0


def answer(client, tip_id, key, body="Tôi bổ sung thêm.", address=ADDRESS, **extra):
    return client.post(f"/report/status/{tip_id}/messages", data={"body": body, "client_key": key, **extra},
                       content_type="multipart/form-data", environ_base={"REMOTE_ADDR": address})


def answer_count(app, tip_id) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Message.id)).where(Message.tip_id == tip_id))


def test_a_flood_of_anonymous_answers_from_one_connection_is_slowed_and_loses_nothing(app, client, monkeypatch):
    from zaloan import images

    code, _ = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    for n in range(20):
        assert answer(client, tip_id, f"answer-key-{n:06d}", body=f"Lần {n}.").status_code == 303
    before = answer_count(app, tip_id)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    files = set(uploads.iterdir()) if uploads.exists() else set()
    decoded = []

    def decode(data):
        decoded.append(data)
        raise images.ImageRejected("not_an_image")

    monkeypatch.setattr(images, "clean_image", decode)
    # The 21st in an hour is refused before its photo is even decoded; what was typed and the thread stay.
    r = answer(client, tip_id, "answer-key-000020", body="Câu thứ hai mươi mốt.",
               photos=(io.BytesIO(jpeg_bytes()), "anh.jpg"))
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and "Đã có nhiều câu trả lời gửi từ kết nối này trong một giờ qua" in html
    assert re.search(r"Xin gửi lại sau \d+ phút", html)
    assert "Câu thứ hai mươi mốt." in html and "Trao đổi với cán bộ" in html and "Lần 19." in html
    assert "<html" in html  # without JavaScript: the whole page
    r = client.post(f"/report/status/{tip_id}/messages", data={"body": "Câu thứ hai mươi mốt.",
                                                                 "client_key": "answer-key-000020"},
                    environ_base={"REMOTE_ADDR": ADDRESS}, headers={"HX-Request": "true", "HX-Target": "thread"})
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and "<html" not in html and 'id="thread"' in html  # htmx swaps the thread itself
    assert "Câu thứ hai mươi mốt." in html and "Đã có nhiều câu trả lời" in html
    assert answer_count(app, tip_id) == before and decoded == []
    assert (set(uploads.iterdir()) if uploads.exists() else set()) == files
    # A send retried after a lost answer is that answer, limit or not: counted once, its photo not decoded again.
    again = answer(client, tip_id, "answer-key-000003", body="Lần 3.", photos=(io.BytesIO(jpeg_bytes()), "anh.jpg"))
    assert again.status_code == 303 and answer_count(app, tip_id) == before and decoded == []
    with app.app_context():
        assert db.session.scalar(select(func.count(PublicAttempt.id)).where(PublicAttempt.kind == "answer")) == 20
    monkeypatch.undo()
    # Another connection (another phone in the village) is not held back.
    assert answer(client, tip_id, "answer-key-other1", address="198.51.100.9").status_code == 303
    assert answer_count(app, tip_id) == before + 1
    # An hour later the first connection answers again.
    age_counts(app, 1.01)
    assert answer(client, tip_id, "answer-key-000021").status_code == 303


def test_anonymous_tips_refused_after_their_photos_were_decoded_count_too(app, client):
    # The photos are decoded, then the tip is refused (photo ids need an account): such a send costs as
    # much as a tip, so it counts like one, or it could be repeated without end.
    before = tip_count(app)
    for n in range(10):
        r = send(client, app, key=f"decoded-key-{n:05d}", photo_ids="1",
                 photos=(io.BytesIO(jpeg_bytes()), "anh.jpg"))
        assert r.status_code == 422
    r = send(client, app, key="decoded-key-00010", photo_ids="1", photos=(io.BytesIO(jpeg_bytes()), "anh.jpg"))
    assert r.status_code == 429 and "Đã có nhiều tin gửi từ kết nối này" in r.get_data(as_text=True)
    assert tip_count(app) == before
    uploads = Path(app.config["UPLOAD_FOLDER"])
    assert not uploads.exists() or not any(uploads.iterdir())
