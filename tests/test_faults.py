"""Faults: photos decoded outside the write transaction, a full disk, files and rows that lost each other."""
from __future__ import annotations

import io
import sqlite3

import pytest
from sqlalchemy import func, select

from zaloan import db_setup, images
from zaloan.extensions import db
from zaloan.models import Attachment, Message, Tip

from .test_flow import jpeg_bytes, send_tip
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
