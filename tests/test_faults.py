"""Faults: photos decoded outside the write transaction, a full disk, files and rows that lost each other."""
from __future__ import annotations

import io
import sqlite3

import pytest
from sqlalchemy import func, select

from zaloan import db_setup, images
from zaloan.extensions import db
from zaloan.models import Attachment, Message, Tip

from .test_flow import ids, jpeg_bytes, send_tip
from .test_tips_public import send as send_anonymous
from .test_tips_verifier import make_task


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)).where(*where))


# --- 1. Photos are decoded with no write transaction open ---------------------------------


@pytest.fixture
def lock_probe(app, monkeypatch):
    """Record, at each photo's decoding, whether another worker could take SQLite's write lock just then."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock; PostgreSQL writers do not lock the whole database")
        path = db.engine.url.database
    seen = []
    clean = images.clean_image

    def probing(data):
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError:
            seen.append("locked")
        finally:
            other.close()
        return clean(data)

    monkeypatch.setattr(images, "clean_image", probing)
    return seen


def photo(n=0):
    return (io.BytesIO(jpeg_bytes(color=(10 * n, 80, 120))), f"anh{n}.jpg")


def test_an_informant_tip_decodes_its_three_photos_with_the_write_lock_free(app, login_as, lock_probe):
    c = login_as("informant")
    r = send_tip(c, app, key="fault-tip-0001", photo=False, photos=[photo(1), photo(2), photo(3)])
    assert r.status_code == 303
    assert lock_probe == ["free", "free", "free"]
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "fault-tip-0001"))
        assert len(tip.attachments) == 3


def test_a_photo_sent_on_its_own_is_decoded_with_the_write_lock_free(app, login_as, lock_probe):
    r = login_as("informant").post("/informant/photos", data={"photo": photo(4), "client_key": "fault-photo-01"},
                                   content_type="multipart/form-data")
    assert r.status_code == 200 and isinstance(r.get_json()["id"], int)
    assert lock_probe == ["free"]


def test_an_anonymous_tip_and_answer_decode_with_the_write_lock_free(app, client, lock_probe):
    r = send_anonymous(client, app, key="fault-anon-0001", photos=[photo(5), photo(6)])
    assert r.status_code == 200
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.client_key == "fault-anon-0001"))
    # The answer counts the connection and commits first, then decodes, then writes again.
    r = client.post(f"/report/status/{tip_id}/messages", data={"body": "Thêm ảnh.", "client_key": "fault-ans-0001",
                                                             "photos": photo(7)}, content_type="multipart/form-data")
    assert r.status_code == 303
    assert lock_probe == ["free", "free", "free"]
    assert count(app, Message, Message.client_key == "fault-ans-0001") == 1
    assert count(app, Attachment, Attachment.tip_id == tip_id) == 2
    assert count(app, Attachment, Attachment.message_id.in_(
        select(Message.id).where(Message.client_key == "fault-ans-0001"))) == 1


def test_a_verifier_report_decodes_its_photo_with_the_write_lock_free(app, login_as, lock_probe):
    t = make_task(app)
    v = login_as("verifier")
    r = v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "confirmed", "client_key": "fault-rep-0001",
                                                       "photos": photo(8)}, content_type="multipart/form-data")
    assert r.status_code in (200, 303)
    assert lock_probe == ["free"]


def test_a_transaction_that_wrote_is_never_ended_half_done(app):
    with app.test_request_context("/", method="POST"):
        db.session.add(Attachment(storage_name="x.jpg", content_type="image/jpeg", width=1, height=1, size=1,
                                  sha256="0" * 64))
        db.session.flush()
        assert db_setup.transaction_wrote()
        assert db_setup.end_read_transaction() is False
        assert db.session().in_transaction()
        assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.storage_name == "x.jpg")) == 1
        db.session.rollback()
    with app.test_request_context("/", method="POST"):
        db.session.scalar(select(func.count(Tip.id)))
        assert not db_setup.transaction_wrote()
        assert db_setup.end_read_transaction() is True
        assert not db.session().in_transaction()


# --- 2. A full disk -------------------------------------------------------------------------

import errno  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import sqlalchemy.exc  # noqa: E402

from zaloan import cases, faults, storage  # noqa: E402
from zaloan.models import AuditEvent  # noqa: E402

from .conftest import make_app  # noqa: E402

OUT_OF_SPACE = "hết chỗ lưu"
HTMX_FORM = {"HX-Request": "true", "HX-Target": "tip-form"}


def send_tip_htmx(c, app, body, key, photos=()):
    cat, village, point, _ = ids(app)
    data = {"category_id": str(cat), "body": body, "village_id": str(village), "watch_point_id": str(point),
            "place_text": "", "urgency": "3", "client_key": key, "photos": list(photos)}
    return c.post("/informant/tips/new", data=data, content_type="multipart/form-data", headers=HTMX_FORM)


def files_in(app) -> list[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def full_disk(monkeypatch):
    """The upload folder's disk fills while a file is written: half of it lands, then ENOSPC."""

    def half_then_full(path, data):
        with open(path, "xb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage, "_write", half_then_full)


def storage_rows(app) -> int:
    return count(app, AuditEvent, AuditEvent.action == "storage.full")


def test_a_full_disk_leaves_no_partial_file_and_says_so_to_the_store(tmp_path, full_disk):
    store = storage.LocalFolder(tmp_path / "up")
    with pytest.raises(storage.StorageFull):
        store.put("a.jpg", b"x" * 1000)
    assert list((tmp_path / "up").iterdir()) == []


def test_a_photo_sent_on_its_own_to_a_full_disk_answers_json_in_vietnamese(app, login_as, full_disk):
    c = login_as("informant")
    for n in (1, 2):
        r = c.post("/informant/photos", data={"photo": photo(n), "client_key": f"full-photo-0{n}"},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
        assert r.status_code == 507 and r.is_json
        assert OUT_OF_SPACE in r.get_json()["error"]
    assert files_in(app) == []  # no photo, no thumbnail, no .part
    assert count(app, Attachment, Attachment.client_key.like("full-photo-%")) == 0
    assert storage_rows(app) == 1  # the commander is told once, not on every failed send
    page = login_as("commander").get("/commander/").get_data(as_text=True)
    assert 'id="storage-alert"' in page and OUT_OF_SPACE in page


def test_the_alert_is_written_once_an_hour_across_workers(app, login_as, full_disk):
    c = login_as("informant")
    c.post("/informant/photos", data={"photo": photo(1), "client_key": "full-photo-11"},
           content_type="multipart/form-data")
    app.extensions.pop("zaloan.storage_full")  # another worker: it has not written the row itself
    c.post("/informant/photos", data={"photo": photo(2), "client_key": "full-photo-12"},
           content_type="multipart/form-data")
    assert storage_rows(app) == 1


def test_a_tip_with_photos_on_a_full_disk_keeps_its_text_and_says_why(app, login_as, full_disk):
    c = login_as("informant")
    body = "Có người lạ mang hàng cấm vào chợ lúc sáng sớm."
    r = send_tip(c, app, body=body, key="full-tip-0001", photo=False, photos=[photo(1), photo(2), photo(3)])
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<html" in html and OUT_OF_SPACE in html and body in html
    r = send_tip_htmx(c, app, body, "full-tip-0001", [photo(1)])
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<html" not in html and OUT_OF_SPACE in html and body in html
    assert count(app, Tip, Tip.client_key == "full-tip-0001") == 0
    assert files_in(app) == []


@pytest.fixture
def database_full(app, monkeypatch):
    """The database's disk is full: the first write of a send fails as SQLite says it."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered by the app's error pages, as in production

    def full(*_args, **_kwargs):
        raise sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(cases, "submit_tip", full)
    monkeypatch.setattr(cases, "upload_photo", full)


def test_a_full_database_answers_each_endpoint_in_its_own_format(app, login_as, database_full):
    c = login_as("informant")
    r = send_tip(c, app, key="full-db-00001", photo=False, photos=[photo(1)])
    assert r.status_code == 507 and "<html" in r.get_data(as_text=True) and OUT_OF_SPACE in r.get_data(as_text=True)
    r = send_tip_htmx(c, app, "Có người lạ.", "full-db-00002")
    html = r.get_data(as_text=True)
    assert r.status_code == 507 and "<html" not in html and 'id="error"' in html and OUT_OF_SPACE in html
    r = c.post("/informant/photos", data={"photo": photo(2), "client_key": "full-db-photo1"},
               content_type="multipart/form-data")
    assert r.status_code == 507 and r.is_json and OUT_OF_SPACE in r.get_json()["error"]
    assert files_in(app) == []  # the photos stored before the database refused are gone with the send
    assert storage_rows(app) == 1


def test_an_error_of_a_json_endpoint_is_json(app, login_as):
    r = login_as("informant").post("/informant/photos", data={"photo": (io.BytesIO(b"x" * (13 * 1024 * 1024)), "a.jpg")},
                                   content_type="multipart/form-data")
    assert r.status_code == 413 and r.is_json and r.get_json()["error"]


def test_the_commander_is_not_alarmed_without_cause(app, login_as):
    page = login_as("commander").get("/commander/").get_data(as_text=True)
    assert 'id="storage-alert"' not in page


def test_disk_full_is_recognised_through_the_layers():
    assert faults.disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert faults.disk_full(storage.StorageFull("x"))
    wrapped = sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    assert faults.disk_full(wrapped)
    assert not faults.disk_full(sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("locked")))
    assert not faults.disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not faults.disk_full(None)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MB tmpfs mounted for this test (root only), filled to the last byte."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the ENOSPC tests above cover the same paths")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip() or done.returncode}")
    try:
        with open(mount / "filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_real_full_disk_answers_json_and_leaves_no_partial_file(tmp_path, database_url, small_tmpfs):
    app = make_app(tmp_path, database_url, UPLOAD_FOLDER=str(small_tmpfs))
    try:
        c = app.test_client()
        assert c.post("/login", data={"phone": "0900000010", "password": "demo-1234"}).status_code == 302
        r = c.post("/informant/photos", data={"photo": photo(1), "client_key": "tmpfs-photo-01"},
                   content_type="multipart/form-data")
        assert r.status_code == 507 and r.is_json and OUT_OF_SPACE in r.get_json()["error"]
        assert sorted(p.name for p in small_tmpfs.iterdir()) == ["filler"]
        assert storage_rows(app) == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- 3. Files without rows, rows without files -----------------------------------------------

from datetime import timedelta  # noqa: E402

from zaloan import models  # noqa: E402
from zaloan.models import User  # noqa: E402

from .test_storage import BUCKET, bucket, s3_app, s3_server  # noqa: E402,F401  (fixtures)


def stored_names(app) -> set[str]:
    with app.app_context():
        return {name for name, _t in images.files().listing()}


def photos_with_rows_and_without(app):
    """Two photos with rows (one of them then loses its file) and one without a row; return their names and ids."""
    with app.app_context():
        informant = db.session.scalar(select(User).where(User.phone == "+84900000010"))
        kept = cases.upload_photo(informant, images.store(jpeg_bytes(color=(1, 2, 3))), None)
        lost = cases.upload_photo(informant, images.store(jpeg_bytes(color=(4, 5, 6))), None)
        db.session.commit()
        orphan = images.store(jpeg_bytes(color=(7, 8, 9))).storage_name  # a worker killed before its commit
        images.files().delete(lost.storage_name)
        return {"kept": kept.storage_name, "lost": lost.storage_name, "lost_id": lost.id, "orphan": orphan}


@pytest.fixture
def a_day_later(monkeypatch):
    """Move the clock the command reads 25 hours on."""
    now = models.utcnow

    def arm():
        monkeypatch.setattr(models, "utcnow", lambda: now() + timedelta(hours=25))

    return arm


def check_reconcile(app, a_day_later, extra_orphans=()):
    p = photos_with_rows_and_without(app)
    thumbs = {k: images.thumb_name(v) for k, v in p.items() if k in ("kept", "orphan")}
    runner = app.test_cli_runner()
    r = runner.invoke(args=["reconcile-files"])
    assert r.exit_code == 0, r.output
    assert "0 removed" in r.output and f"{2 + len(extra_orphans)} younger kept" in r.output
    assert {p["orphan"], thumbs["orphan"], *extra_orphans} <= stored_names(app)  # young: a send may be on its way

    a_day_later()
    r = runner.invoke(args=["reconcile-files", "--dry-run"])
    assert f"{2 + len(extra_orphans)} would be removed" in r.output
    assert p["orphan"] in stored_names(app)
    r = runner.invoke(args=["reconcile-files"])
    assert r.exit_code == 0, r.output
    assert f"{2 + len(extra_orphans)} removed" in r.output
    names = stored_names(app)
    assert p["orphan"] not in names and thumbs["orphan"] not in names and not set(extra_orphans) & names
    assert {p["kept"], thumbs["kept"], images.thumb_name(p["lost"])} <= names  # rows keep their files
    assert "rows without their file: 1" in r.output and f"photo {p['lost_id']} (not yet sent): {p['lost']}" in r.output
    assert count(app, AuditEvent, AuditEvent.action == "files.reconcile") == 1  # a run that found nothing, and a dry run, write none


def test_reconcile_files_in_the_upload_folder(app, a_day_later):
    folder = Path(app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "abc.jpg.1234abcd.part").write_bytes(b"half a photo")  # a write cut off before its rename
    check_reconcile(app, a_day_later, extra_orphans=["abc.jpg.1234abcd.part"])


def test_reconcile_files_in_a_bucket_leaves_other_prefixes_alone(s3_app, bucket, a_day_later):
    bucket.put_object(Bucket=BUCKET, Key="commune-2/someone-elses.jpg", Body=b"x")
    check_reconcile(s3_app, a_day_later)
    assert "commune-2/someone-elses.jpg" in {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}


def test_a_full_disk_under_the_database_alone_shows_in_health_and_on_the_commanders_page(app, login_as,
                                                                                          tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("a database file's own disk is SQLite's; PostgreSQL's server watches its own")
    commander = login_as("commander")
    Usage = namedtuple("Usage", "total used free")
    low = str(tmp_path)  # the SQLite file's folder; the instance and upload folders have room
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 0 if str(path) == low else 10**12))
    assert app.test_client().get("/healthz").get_data(as_text=True) == "disk"
    page = commander.get("/commander/").get_data(as_text=True)
    assert 'id="storage-alert"' in page and "Lần gần nhất" not in page  # no row yet: the disk check alone
