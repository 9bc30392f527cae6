"""A local stand-in for the push service Chromium registers with, so a real `pushManager.subscribe` works offline.

Chromium subscribes through Google's cloud messaging: its push client first checks the device in (a
protobuf POST), then asks the registration server for a token, sending the page's applicationServerKey as
the sender. The addresses of both servers are command-line switches (`--gcm-checkin-url`,
`--gcm-registration-url`), so a test can point them here. Everything else is Chromium's own: the service
worker registration, the permission check, the subscription's P-256 key and auth secret, the endpoint it
builds from the token.

This server answers the check-in with a device id and security token, and each registration with a fresh
token; it records what it was asked.
"""
from __future__ import annotations

import http.server
import struct
import threading
from contextlib import contextmanager
from urllib.parse import parse_qs


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field(number: int, value: int, fixed64: bool = False) -> bytes:
    if fixed64:
        return _varint(number << 3 | 1) + struct.pack("<Q", value)
    return _varint(number << 3) + _varint(value)


# AndroidCheckinResponse (checkin.proto): stats_ok = 1, time_msec = 3, android_id = 7 (fixed64),
# security_token = 8 (fixed64), settings_diff = 9.
CHECKIN_ANSWER = (_field(1, 1) + _field(3, 1_780_000_000_000) + _field(7, 0x5A4C4F414E, fixed64=True)
                  + _field(8, 0x2026113000, fixed64=True) + _field(9, 0))


class PushService:
    def __init__(self) -> None:
        self.checkins = 0
        self.registrations: list[dict[str, str]] = []  # the form of each web-push registration
        self.lock = threading.Lock()

    def switches(self, base_url: str) -> list[str]:
        return [f"--gcm-checkin-url={base_url}/checkin", f"--gcm-registration-url={base_url}/register",
                # Messages would come over this connection; none are sent, so it only has to fail quietly.
                "--gcm-mcs-endpoint=https://127.0.0.1:9"]

    def handler(self):
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/checkin":
                    with service.lock:
                        service.checkins += 1
                    self.answer(CHECKIN_ANSWER, "application/x-protobuf")
                elif self.path == "/register":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    with service.lock:
                        if form.get("X-subtype", "").startswith("wp:"):  # a web page's subscription
                            service.registrations.append(form)
                        number = len(service.registrations)
                    self.answer(f"token=local-push-{number}".encode(), "text/plain")
                else:
                    self.send_error(404)

            def answer(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@contextmanager
def push_service():
    """Serve a PushService on a free loopback port; yield it and the Chromium switches that point to it."""
    service = PushService()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), service.handler())
    thread = threading.Thread(target=server.serve_forever, name="push-service", daemon=True)
    thread.start()
    try:
        yield service, service.switches(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
