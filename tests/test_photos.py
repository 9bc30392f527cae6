"""Photos on pages: a thumbnail made once at upload, the whole photo on a tap, kept by the viewer's browser."""
import io
import re
import threading
import time
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from zaloan import images
from zaloan.extensions import db
from zaloan.models import Attachment, AuditEvent, Tip

from .test_flow import ids, jpeg_bytes
from .test_tips_verifier import make_task

PHOTO_CACHE = "private, max-age=31536000, immutable"


def stored_name(app, attachment_id: int) -> str:
    with app.app_context():
        return db.session.get(Attachment, attachment_id).storage_name


def test_a_stored_photo_gets_a_small_clean_upright_thumbnail_beside_it(app):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    exif[0xA431] = "SERIAL-123456"
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 2.0), 3: "E", 4: (106.0, 2.0, 3.0)}
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1000), (200, 10, 10)).save(buf, "JPEG", exif=exif)
    with app.app_context():
        stored = images.store(buf.getvalue())
        photo, thumb = images.path_of(stored.storage_name), images.thumb_path_of(stored.storage_name)
    assert thumb.parent == photo.parent and thumb.name == photo.stem + ".thumb.jpg"
    data = thumb.read_bytes()
    out = Image.open(io.BytesIO(data))
    assert out.format == "JPEG" and out.size == (160, 320)  # upright like the photo, 320 on the long edge
    assert len(out.getexif()) == 0 and b"SERIAL-123456" not in data and b"GPS" not in data
    assert len(data) < len(photo.read_bytes()) and not list(photo.parent.glob("*.part"))


def test_a_small_photo_is_never_enlarged(app):
    with app.app_context():
        stored = images.store(jpeg_bytes(size=(200, 100)))
        assert Image.open(images.thumb_path_of(stored.storage_name)).size == (200, 100)


def test_pages_show_thumbnails_that_open_the_whole_photo(app, login_as):
    t = make_task(app, photo=True, share=True)
    photo = t["photo"]
    with app.app_context():
        version = db.session.get(Attachment, photo).sha256[:16]
    pages = {"informant": f"/informant/tips/{t['tip']}", "officer": f"/officer/tips/{t['tip']}",
             "verifier": f"/verifier/tasks/{t['a']}"}
    for who, url in pages.items():
        html = login_as(who).get(url).get_data(as_text=True)
        # The link carries the content's hash: a photo never changes under its URL.
        link = f'<a class="ph" href="/photos/{photo}?v={version}" hx-boost="false"><img class="thumb" src="/photos/{photo}/thumb?v={version}"'
        assert link in html, who
        img = re.search(r'<img class="thumb"[^>]*>', html).group(0)
        assert 'width="96"' in img and 'height="96"' in img, who  # no shift while it loads
        assert not re.search(rf'<img[^>]+src="/photos/{photo}[?"]', html), f"{who} sees the whole photo inline"


def test_a_photo_stored_before_thumbnails_gets_one_on_first_request_and_no_row_changes(app, login_as):
    t = make_task(app, photo=True, share=True)
    name = stored_name(app, t["photo"])
    with app.app_context():
        images.thumb_path_of(name).unlink()  # as a photo stored before thumbnails existed
        thumb = images.thumb_path_of(name)

    def rows():
        with app.app_context():
            return (db.session.scalar(select(func.count()).select_from(Attachment)),
                    db.session.scalar(select(func.count()).select_from(AuditEvent)),
                    tuple(db.session.execute(select(Attachment.__table__)).all()))

    officer, verifier = login_as("officer"), login_as("verifier")  # logging in is audited
    before = rows()
    first = officer.get(f"/photos/{t['photo']}/thumb")
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    assert first.headers["Cache-Control"] == PHOTO_CACHE
    assert max(Image.open(io.BytesIO(first.data)).size) == 320
    assert thumb.is_file() and thumb.read_bytes() == first.data  # kept for the next time
    assert verifier.get(f"/photos/{t['photo']}/thumb").data == first.data
    assert rows() == before


def test_a_photo_whose_file_is_gone_answers_404_not_500(app, login_as):
    t = make_task(app, photo=True)
    name = stored_name(app, t["photo"])
    with app.app_context():
        images.path_of(name).unlink()
        images.thumb_path_of(name).unlink()
    officer = login_as("officer")
    assert officer.get(f"/photos/{t['photo']}").status_code == 404
    assert officer.get(f"/photos/{t['photo']}/thumb").status_code == 404
    with app.app_context():
        images.path_of(name).write_bytes(b"\xff\xd8 damaged")  # a photo file that no longer decodes
    assert officer.get(f"/photos/{t['photo']}/thumb").status_code == 404


def test_photos_are_kept_by_the_browser_pages_never(app, login_as):
    t = make_task(app, photo=True)
    officer = login_as("officer")
    assert officer.get(f"/officer/tips/{t['tip']}").headers["Cache-Control"] == "no-store"
    page = officer.get(f"/officer/tips/{t['tip']}")
    assert "Cookie" in page.headers["Vary"]
    assert "Set-Cookie" not in page.headers  # the cookie is written when the session changes, not on every page
    for url in (f"/photos/{t['photo']}", f"/photos/{t['photo']}/thumb"):
        resp = officer.get(url)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == PHOTO_CACHE
        assert "public" not in resp.headers["Cache-Control"]  # never a shared cache
        # The session cookie changes with the session (a language, a message to show): a kept copy must not
        # vary with it.
        assert "Cookie" not in resp.headers.get("Vary", "") and "Set-Cookie" not in resp.headers
        # Another account's browser still asks the server, which still checks.
        assert login_as("officer2").get(url).status_code == 404


def test_logging_out_has_the_browser_drop_its_cached_photos(login_as):
    for action in ("/logout", "/logout-everywhere"):
        resp = login_as("officer").post(action)
        assert resp.status_code == 302 and resp.headers["Clear-Site-Data"] == '"cache"', action
    assert "Clear-Site-Data" not in login_as("officer").get("/officer/").headers


def test_a_refused_photo_leaves_no_file_and_no_thumbnail(app, login_as):
    from pathlib import Path

    cat, village, point, _ = ids(app)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    uploads.mkdir(parents=True, exist_ok=True)
    before = set(uploads.iterdir())
    with app.app_context():
        tips = db.session.scalar(select(func.count()).select_from(Tip))
    r = login_as("informant").post("/informant/tips/new", content_type="multipart/form-data", data={
        "category_id": str(cat), "body": "Có ảnh hỏng.", "village_id": str(village), "watch_point_id": str(point),
        "urgency": "3", "client_key": "bad-photo-0001",
        # The good photo is stored (with its thumbnail) before the bad one is read: both must go.
        "photos": [(io.BytesIO(jpeg_bytes()), "good.jpg"), (io.BytesIO(b"not a photo"), "bad.jpg")],
    })
    assert r.status_code == 422
    assert set(uploads.iterdir()) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tip)) == tips


def test_a_worker_decodes_one_photo_at_a_time(app, monkeypatch):
    real, inside, overlaps, lock = images.clean_image, [], [], threading.Lock()

    def slow_clean(data):
        with lock:
            inside.append(1)
            overlaps.append(len(inside))
        time.sleep(0.05)  # a big photo takes a while: the other thread reaches its decode meanwhile
        try:
            return real(data)
        finally:
            with lock:
                inside.pop()

    monkeypatch.setattr(images, "clean_image", slow_clean)
    stored = []

    def store(color):
        with app.app_context():
            for _ in range(3):
                stored.append(images.store(jpeg_bytes(color=color)))

    threads = [threading.Thread(target=store, args=((i * 60, 0, 0),)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stored) == 9 and len(overlaps) == 9
    assert max(overlaps) == 1  # never two photos' pixels in memory at once


def test_a_refused_photo_among_several_stops_before_any_is_decoded(app, client, monkeypatch):
    from .test_security import huge_png
    from .test_tips_public import answer, answer_count, receipt, send

    code, _ = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    decoded = []
    real = images.clean_image
    monkeypatch.setattr(images, "clean_image", lambda data: decoded.append(1) or real(data))
    photos = [(io.BytesIO(jpeg_bytes()), "a.jpg"), (io.BytesIO(jpeg_bytes(color=(0, 0, 200))), "b.jpg"),
              (io.BytesIO(huge_png(8000)), "c.png")]  # over the limit before and after it was lowered
    r = answer(client, tip_id, "mixed-photos-01", photos=photos)
    assert r.status_code == 422 and "kích thước quá lớn" in r.get_data(as_text=True)
    assert decoded == []  # the third photo's header refused the lot before the first was decoded
    assert answer_count(app, tip_id) == 0
    assert not any(Path(app.config["UPLOAD_FOLDER"]).glob("*"))
