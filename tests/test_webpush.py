"""Web Push end to end: a browser's subscription kept by the app, a push sent by the worker with the VAPID key,
received by a local push service that decrypts it (http_ece, as a browser does) and checks the VAPID signature."""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from zaloan import outbox
from zaloan.extensions import db
from zaloan.models import OutboxMessage, OutboxStatus, PushSubscription

from .notify_fakes import FakeHTTP
from .test_notify import send_tip

T0 = datetime(2026, 11, 30, 3, 0)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """What a browser keeps for one push subscription: its own key pair and the auth secret."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = b64(self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                             serialization.PublicFormat.UncompressedPoint))

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture
def push_service():
    fake = FakeHTTP()
    fake.ok = 201
    yield fake
    fake.close()


@pytest.fixture
def app_config(tmp_path):
    return {"VAPID_PRIVATE_KEY_FILE": str(tmp_path / "vapid.pem"), "VAPID_SUBJECT": "mailto:ca@example.vn",
            "NOTIFY_PUSH_ALLOW_HTTP": True}


def subscribe(app, login_as, push_service) -> Browser:
    with app.app_context():
        outbox.make_vapid_key(app.config["VAPID_PRIVATE_KEY_FILE"])
    browser = Browser()
    officer = login_as("officer")
    page = officer.get("/notifications/settings").get_data(as_text=True)
    with app.app_context():
        assert f'data-vapid-key="{outbox.vapid_public_key()}"' in page
    r = officer.post("/notifications/push/subscribe", data={
        "endpoint": push_service.url + "/push/abc", "p256dh": browser.p256dh, "auth": b64(browser.auth)})
    assert r.status_code == 201
    return browser


def check_vapid(headers: dict, endpoint_origin: str, public_key: str) -> dict:
    """Verify the VAPID header as a push service does: the JWT's ES256 signature by the app's key, its audience."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert fields["k"] == public_key
    head, payload, sig = fields["t"].split(".")
    raw = unb64(sig)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(public_key))
    key.verify(signature, f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims = json.loads(unb64(payload))
    assert claims["aud"] == endpoint_origin
    return claims


def test_a_push_arrives_encrypted_signed_and_neutral(app, login_as, push_service):
    browser = subscribe(app, login_as, push_service)
    with app.app_context():
        tip = send_tip(body="Ông Lý Văn Thắng bán hàng cấm ở chợ.")
        for row in db.session.scalars(select(OutboxMessage)):
            row.next_attempt_at = T0
        db.session.commit()
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert [r.channel for r in rows] == ["push"]
        assert outbox.run_once(now=T0) == {"sent": 1}
        (req,) = push_service.requests
        assert req["path"] == "/push/abc" and req["headers"]["content-encoding"] == "aes128gcm"
        claims = check_vapid(req["headers"], push_service.url, outbox.vapid_public_key())
        assert claims["sub"] == "mailto:ca@example.vn"
        message = browser.decrypt(req["body"])
        assert message == {"title": "Zalo an ninh", "body": "Zalo an ninh: bạn có 1 việc mới", "url": "/notifications/"}
        assert tip.body not in json.dumps(message, ensure_ascii=False)
        assert outbox.run_once(now=T0) == {}  # once


def test_a_subscription_the_browser_dropped_is_forgotten(app, login_as, push_service):
    subscribe(app, login_as, push_service)
    push_service.statuses = [410]
    with app.app_context():
        send_tip()
        for row in db.session.scalars(select(OutboxMessage)):
            row.next_attempt_at = T0
        db.session.commit()
        assert outbox.run_once(now=T0) == {"dead": 1}
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == OutboxStatus.DEAD and row.last_error == "every subscription has expired"
        assert db.session.query(PushSubscription).count() == 0


def test_a_push_service_error_is_retried(app, login_as, push_service):
    subscribe(app, login_as, push_service)
    push_service.statuses = [500]
    with app.app_context():
        send_tip()
        for row in db.session.scalars(select(OutboxMessage)):
            row.next_attempt_at = T0
        db.session.commit()
        assert outbox.run_once(now=T0) == {"retry": 1}
        row = db.session.scalar(select(OutboxMessage))
        assert outbox.run_once(now=row.next_attempt_at) == {"sent": 1}
        assert db.session.query(PushSubscription).count() == 1
