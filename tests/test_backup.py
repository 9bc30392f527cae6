"""Backups you can trust: one archive under load, restored into an empty instance, checked; keys and tampering.

Runs on SQLite, and on PostgreSQL (pg_dump/pg_restore) when ZALOAN_TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import io
import json
import tarfile
import threading
import time

import pytest
from PIL import Image
from sqlalchemy import func, select

from zaloan import audit
from zaloan.backup import MAGIC, BackupError, archive_manifest, make_backup, restore_backup
from zaloan.extensions import db
from zaloan.models import Attachment, AuditEvent, Category, Tip, Unit, User, WatchPoint
from zaloan.storage import files

from .conftest import make_app
from .test_storage import bucket, s3_server  # noqa: F401  (fixtures)

KEY = "backup-key-for-tests-0123456789abcdefghij"
OTHER_KEY = "another-backup-key-9876543210zyxwvutsrqp"


def jpeg(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


def tip_form(app, n: int) -> dict:
    with app.app_context():
        cat = db.session.scalar(select(Category).where(Category.code == "drugs"))
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
    return {"category_id": str(cat.id), "body": f"Tin thử số {n}: có người lạ ở chợ.", "village_id": str(village.id),
            "watch_point_id": str(point.id), "place_text": "", "urgency": "2", "client_key": f"load-{n:06d}-key",
            "photos": (io.BytesIO(jpeg((n * 37 % 256, 90, 160))), "a.jpg")}


@pytest.fixture
def fresh(tmp_path, empty_database_url):
    """A second, empty instance (its own database and upload folder), with the same audit key."""
    folder = tmp_path / "restored"
    folder.mkdir()
    app = make_app(folder, empty_database_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_backup_taken_under_load_restores_every_acknowledged_tip_with_its_photos(app, login_as, fresh, tmp_path):
    informant = login_as("informant")
    forms = [tip_form(app, n) for n in range(40)]
    acknowledged: list[tuple[float, str]] = []  # (when the answer came, client key)
    started = threading.Event()
    stop = threading.Event()
    errors = []

    def load():
        for form in forms:
            if stop.is_set():
                break
            r = informant.post("/informant/tips/new", data=form, content_type="multipart/form-data")
            if r.status_code != 303:
                errors.append(r.status_code)
                continue
            acknowledged.append((time.monotonic(), form["client_key"]))
            if len(acknowledged) >= 5:
                started.set()

    writer = threading.Thread(target=load)
    writer.start()
    assert started.wait(60), errors
    begun = time.monotonic()  # every tip acknowledged before this moment must come back
    archive = tmp_path / "zaloan-under-load.zbk"
    result = app.test_cli_runner().invoke(args=["backup", str(archive)])
    stop.set()
    writer.join(120)
    assert result.exit_code == 0, result.output
    assert not errors
    before = {key for at, key in acknowledged if at < begun}
    assert len(before) >= 5
    assert (tmp_path / "zaloan-under-load.zbk.checkpoint").exists()

    restored = fresh.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "Audit log intact" in restored.output and "Every photo row has its file" in restored.output
    with fresh.app_context():
        tips = {t.client_key: t for t in db.session.scalars(select(Tip))}
        assert before <= set(tips)
        store = files()
        for key in before:
            photos = tips[key].attachments
            assert len(photos) == 1
            data = store.get(photos[0].storage_name)
            assert data is not None and len(data) == photos[0].size
        assert audit.verify_chain().ok
        # The restored instance works: its informant logs in and sees a restored tip with its photo.
    c = fresh.test_client()
    assert c.post("/login", data={"phone": "0900000010", "password": "demo-1234"}).status_code == 302
    with fresh.app_context():
        tip = tips_by_key(sorted(before)[0])
    page = c.get(f"/informant/tips/{tip}").get_data(as_text=True)
    assert "Tin thử số" in page


def tips_by_key(key: str) -> int:
    return db.session.scalar(select(Tip.id).where(Tip.client_key == key))


def test_the_archive_holds_the_snapshot_photos_checkpoint_and_a_manifest(app, login_as, tmp_path):
    informant = login_as("informant")
    assert informant.post("/informant/tips/new", data=tip_form(app, 1),
                          content_type="multipart/form-data").status_code == 303
    with app.app_context():
        names = set(db.session.scalars(select(Attachment.storage_name)))
        tips = db.session.scalar(select(func.count(Tip.id)))
        summary = make_backup(tmp_path / "a.zbk")
    assert not summary.encrypted and summary.files == len(names) and not summary.missing
    with tarfile.open(tmp_path / "a.zbk") as tar:
        members = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert members[0] == "manifest.json"
    database = "database.sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "database.pgdump"
    assert {database, "audit.checkpoint"} <= set(members)
    assert {f"uploads/{n}" for n in names} <= set(members)
    assert set(manifest["members"]) == set(members) - {"manifest.json"}
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())
    assert manifest["counts"]["tips"] == tips and manifest["checkpoints"]
    assert manifest["versions"]["format"] == 1 and manifest["schema_revision"]
    assert set(manifest["versions"]) & {"sqlite", "postgresql"}
    assert archive_manifest(tmp_path / "a.zbk")["counts"] == manifest["counts"]


def test_restore_refuses_a_database_that_holds_data_and_changes_nothing(app, tmp_path):
    with app.app_context():
        make_backup(tmp_path / "a.zbk")
        users = db.session.scalar(select(func.count(User.id)))
        audits = db.session.scalar(select(func.count(AuditEvent.id)))
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "a.zbk")])
    assert result.exit_code != 0
    assert "not empty" in result.output and "Nothing was changed" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users
        assert db.session.scalar(select(func.count(AuditEvent.id))) == audits


def test_an_encrypted_archive_needs_its_own_key_and_refuses_any_change(app, tmp_path, empty_database_url):
    app.config["BACKUP_KEY"] = KEY
    archive = tmp_path / "secret.zbk"
    result = app.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 0 and "encrypted" in result.output, result.output
    raw = archive.read_bytes()
    assert raw.startswith(MAGIC)
    assert b"manifest.json" not in raw and b"audit_events" not in raw  # nothing readable inside

    def restore_with(key, path=archive):
        other = make_app(tmp_path / f"r{time.monotonic_ns()}", empty_database_url, BACKUP_KEY=key)
        (tmp_path / "uploads").mkdir(exist_ok=True)
        with other.app_context():
            try:
                return other.test_cli_runner().invoke(args=["restore", str(path)]), other
            finally:
                db.session.remove()
                db.engine.dispose()

    wrong, other = restore_with(OTHER_KEY)
    assert wrong.exit_code != 0 and "another backup key" in wrong.output and "Traceback" not in wrong.output
    none, _ = restore_with(None)
    assert none.exit_code != 0 and "no backup key is configured" in none.output
    with other.app_context():
        assert not db.inspect(db.engine).get_table_names()  # nothing was restored

    # One byte changed in the middle, the end cut off, a chunk appended: each is refused, nothing restored.
    for name, data in (("flipped", raw[:len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 1]) + raw[len(raw) // 2 + 1:]),
                       ("cut", raw[:-100]), ("longer", raw + raw[-200:])):
        bad = tmp_path / f"{name}.zbk"
        bad.write_bytes(data)
        refused, other = restore_with(KEY, bad)
        assert refused.exit_code != 0 and "damaged or was changed" in refused.output, (name, refused.output)
        with other.app_context():
            assert not db.inspect(db.engine).get_table_names()

    good, other = restore_with(KEY)
    assert good.exit_code == 0 and "Audit log intact" in good.output, good.output


def test_a_changed_member_of_a_plain_archive_is_refused(app, tmp_path, fresh):
    with app.app_context():
        make_backup(tmp_path / "a.zbk")
    # Rewrite the checkpoint member inside the tar (same size, one digit changed).
    with tarfile.open(tmp_path / "a.zbk") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(tmp_path / "b.zbk", "w") as out:
        for m, data in members:
            if m.name == "audit.checkpoint":
                data = data.replace(b"rows=", b"rows=9", 1)
                m.size = len(data)
            out.addfile(m, io.BytesIO(data))
    result = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "b.zbk")])
    assert result.exit_code != 0 and "does not match its checksum" in result.output
    # Not an archive at all, or no file: a clear sentence, no traceback.
    (tmp_path / "junk.zbk").write_bytes(b"not a backup" * 100)
    for path in (tmp_path / "junk.zbk", tmp_path / "missing.zbk"):
        result = fresh.test_cli_runner().invoke(args=["restore", str(path)])
        assert result.exit_code == 1
        assert "Nothing was restored" in result.output or "is not a file" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    with fresh.app_context():
        with pytest.raises(BackupError):
            restore_backup(tmp_path / "b.zbk")
        assert not db.inspect(db.engine).get_table_names()


def test_a_name_ending_in_sqlite_still_gets_the_plain_copy(app, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "old.sqlite")])
    assert result.exit_code == 0 and "database only" in result.output
    assert (tmp_path / "old.sqlite").read_bytes().startswith(b"SQLite format 3")


def test_photos_in_object_storage_go_into_the_archive_and_come_back_to_a_folder(tmp_path, database_url, fresh,
                                                                              s3_server, bucket):
    """The archive reads the photos from whichever store the instance uses (here an S3 bucket)."""
    from zaloan import images

    from .test_storage import BUCKET

    s3_app = make_app(tmp_path, database_url, STORAGE_URL=f"s3://{BUCKET}/commune-1", S3_ENDPOINT_URL=s3_server)
    with s3_app.app_context():
        stored = images.store(jpeg((1, 2, 3)))
        tip = db.session.scalar(select(Tip).order_by(Tip.id))
        db.session.add(Attachment(tip_id=tip.id, storage_name=stored.storage_name, content_type="image/jpeg",
                                  width=stored.width, height=stored.height, size=stored.size, sha256=stored.sha256))
        db.session.commit()
        assert not (tmp_path / "uploads" / stored.storage_name).exists()  # in the bucket, not on this disk
        summary = make_backup(tmp_path / "s3.zbk")
        assert summary.files >= 1 and not summary.missing
        db.session.remove()
        db.engine.dispose()
    result = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "s3.zbk")])
    assert result.exit_code == 0 and "Every photo row has its file" in result.output, result.output
    with fresh.app_context():
        assert files().kind == "local" and files().get(stored.storage_name) is not None
