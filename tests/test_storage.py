"""Photos in an S3-compatible bucket (several app servers): the same pages, nothing on the local disk.

A local S3-compatible server (moto's) is started for these tests; the app talks
to it over HTTP exactly as it would to MinIO or Amazon S3.
"""
from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from PIL import Image

from zaloan import create_app, images
from zaloan.extensions import db
from zaloan.models import Attachment
from zaloan.storage import LocalFolder, ObjectStore, StorageError, from_config

from .camera import add_tip_with_photos
from .conftest import PASSWORD, PHONES, make_app

BUCKET = "zaloan-photos"


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    yield s3
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def s3_app(tmp_path, database_url, s3_server, bucket):
    app = make_app(tmp_path, database_url, STORAGE_URL=f"s3://{BUCKET}/commune-1", S3_ENDPOINT_URL=s3_server)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def login(app, who: str):
    c = app.test_client()
    assert c.post("/login", data={"phone": PHONES[who], "password": PASSWORD}).status_code == 302
    return c


def keys(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_photos_go_to_the_bucket_and_are_served_from_it_to_those_who_may_see_them(s3_app, bucket):
    app = s3_app
    with app.app_context():
        assert isinstance(images.files(), ObjectStore)
        ids = add_tip_with_photos(seeds=(4,))
        photo = db.session.get(Attachment, ids["photos"][0])
        name = photo.storage_name
    assert keys(bucket) == {f"commune-1/{name}", f"commune-1/{images.Path(name).stem}.thumb.jpg"}
    assert not any(Path(app.config["UPLOAD_FOLDER"]).iterdir())  # nothing on this server's disk
    stored = bucket.get_object(Bucket=BUCKET, Key=f"commune-1/{name}")["Body"].read()
    officer = login(s3_app, "officer")
    whole = officer.get(f"/photos/{ids['photos'][0]}")
    assert whole.status_code == 200 and whole.data == stored and whole.mimetype == "image/jpeg"
    assert whole.headers["Cache-Control"] == "private, max-age=31536000, immutable" and whole.headers["ETag"]
    again = officer.get(f"/photos/{ids['photos'][0]}", headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304
    thumb = officer.get(f"/photos/{ids['photos'][0]}/thumb")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).size[0] <= images.THUMB_EDGE
    # Someone who may not see it gets nothing from the bucket either.
    assert login(s3_app, "informant2").get(f"/photos/{ids['photos'][0]}").status_code == 404


def test_a_missing_thumbnail_is_made_again_in_the_bucket_and_a_missing_photo_is_a_404(s3_app, bucket):
    with s3_app.app_context():
        ids = add_tip_with_photos(seeds=(5,))
        name = db.session.get(Attachment, ids["photos"][0]).storage_name
    thumb_key = f"commune-1/{images.Path(name).stem}.thumb.jpg"
    bucket.delete_object(Bucket=BUCKET, Key=thumb_key)
    officer = login(s3_app, "officer")
    assert officer.get(f"/photos/{ids['photos'][0]}/thumb").status_code == 200
    assert thumb_key in keys(bucket)
    bucket.delete_object(Bucket=BUCKET, Key=f"commune-1/{name}")
    bucket.delete_object(Bucket=BUCKET, Key=thumb_key)
    assert officer.get(f"/photos/{ids['photos'][0]}").status_code == 404
    assert officer.get(f"/photos/{ids['photos'][0]}/thumb").status_code == 404


def test_a_refused_send_leaves_nothing_in_the_bucket(s3_app, bucket):
    with s3_app.app_context():
        stored = images.store(images.encode(Image.new("RGB", (50, 40), (9, 9, 9))))
        assert len(keys(bucket)) == 2
        images.remove_stored(stored.storage_name)
    assert keys(bucket) == set()


def test_an_unreachable_store_is_an_error_that_names_it(tmp_path):
    store = ObjectStore(BUCKET, endpoint_url="http://127.0.0.1:9", client=None)
    with pytest.raises(StorageError):
        store.put("a.jpg", b"x")


def test_the_store_is_chosen_by_storage_url(tmp_path, database_url):
    assert isinstance(from_config({"STORAGE_URL": None, "UPLOAD_FOLDER": str(tmp_path)}), LocalFolder)
    s3 = from_config({"STORAGE_URL": "s3://b/p", "UPLOAD_FOLDER": str(tmp_path), "S3_ENDPOINT_URL": "http://x"})
    assert isinstance(s3, ObjectStore) and s3.key("a.jpg") == "p/a.jpg" and s3.key("../../etc/a.jpg") == "p/a.jpg"
    with pytest.raises(ValueError, match="STORAGE_URL"):
        create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url,
                    "UPLOAD_FOLDER": str(tmp_path / "u"), "STORAGE_URL": "ftp://somewhere/photos"})


def test_when_the_store_is_down_the_sender_keeps_their_text_and_nothing_is_half_made(s3_app, bucket, s3_server):
    from sqlalchemy import func, select

    from zaloan.models import Message

    from .test_flow import jpeg_bytes
    from .test_tips_informant import an_open_tip

    tip_id = an_open_tip(s3_app)
    with s3_app.app_context():
        before = db.session.scalar(select(func.count(Message.id)))
    # The bucket is there for the tests' own use, but the app now writes to one that does not exist.
    s3_app.extensions["zaloan.storage"] = ObjectStore("no-such-bucket", endpoint_url=s3_server)
    c = login(s3_app, "informant")
    r = c.post(f"/informant/tips/{tip_id}/messages", content_type="multipart/form-data",
               data={"body": "Xe vẫn ở đó, biển số 29X1.", "client_key": "ans-store-down-01",
                     "photos": (io.BytesIO(jpeg_bytes()), "a.jpg")})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Chưa lưu được ảnh lúc này" in page and "Xe vẫn ở đó, biển số 29X1." in page
    up = c.post("/informant/photos", content_type="multipart/form-data",
                data={"photo": (io.BytesIO(jpeg_bytes()), "b.jpg"), "client_key": "one-photo-down-01"})
    assert up.status_code == 503 and "Chưa lưu được ảnh lúc này" in up.get_json()["error"]
    with s3_app.app_context():
        assert db.session.scalar(select(func.count(Message.id))) == before
        assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.client_key == "one-photo-down-01")) == 0


def test_a_photo_asked_for_while_the_store_is_down_is_a_clear_503(s3_app, bucket):
    with s3_app.app_context():
        ids = add_tip_with_photos(seeds=(6,))
    s3_app.extensions["zaloan.storage"] = ObjectStore(BUCKET, endpoint_url="http://127.0.0.1:9")
    r = login(s3_app, "officer").get(f"/photos/{ids['photos'][0]}")
    assert r.status_code == 503 and "Chưa mở được" in r.get_data(as_text=True)
