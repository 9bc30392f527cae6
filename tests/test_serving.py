"""Production serving: wsgi.py under gunicorn with several worker processes."""
from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from .conftest import AUDIT_KEY, PASSWORD, PHONES

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, access_log: Path):
        self.port = port
        self.access_log = access_log

    def request(self, method: str, path: str, body: dict | None = None, cookie: str = ""):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"Cookie": cookie} if cookie else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8")
        finally:
            conn.close()

    def worker_pids(self, path: str, status: int) -> set[str]:
        """The worker processes that answered `path` with `status`, from the access log."""
        lines = self.access_log.read_text().splitlines()
        return {line.split()[0] for line in lines if line.split()[1:] == ["GET", path, str(status)]}


@pytest.fixture
def gunicorn(database_url, tmp_path):
    """gunicorn with two sync workers serving wsgi:app on a fresh demo database."""
    port = free_port()
    log = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PROXY_HOPS", "SESSION_COOKIE_SECURE", "SESSION_DAYS", "BASE_URL")}
    env.update(DATABASE_URL=database_url, SECRET_KEY="serving-test-key", UPLOAD_FOLDER=str(tmp_path / "uploads"),
               AUDIT_KEY=AUDIT_KEY, AUDIT_CHECKPOINT_FILE=str(tmp_path / "audit-checkpoints.txt"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    server = Server(port, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.request("GET", "/login")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + (proc.stderr.read() if proc.poll() is not None else ""))
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_gunicorn_serves_login_and_the_session_works_in_every_worker(gunicorn):
    status, headers, html = gunicorn.request("GET", "/login")
    assert status == 200 and 'name="phone"' in html
    # CSRF is on, as in production: the token and the cookie go together.
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    first_cookie = headers["Set-Cookie"].split(";")[0]
    status, headers, _ = gunicorn.request(
        "POST", "/login", {"csrf_token": token, "phone": PHONES["officer"], "password": PASSWORD}, cookie=first_cookie
    )
    assert status == 302 and headers["Location"] == "/officer/"
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"]

    # Requests in parallel keep both workers busy; each must know the session.
    seen: set[str] = set()
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(10):
            answers = list(pool.map(lambda _: gunicorn.request("GET", "/officer/", cookie=cookie), range(12)))
            assert [a[0] for a in answers] == [200] * 12
            assert all("/logout" in a[2] for a in answers)
            time.sleep(0.2)  # the access log is written after the response
            seen = gunicorn.worker_pids("/officer/", 200)
            if len(seen) >= 2:
                break
    assert len(seen) == 2, f"logged-in pages came from workers {seen}; expected both"
    # Without the cookie the same page sends people to the login page.
    status, headers, _ = gunicorn.request("GET", "/officer/")
    assert status == 302 and "/login" in headers["Location"]


def test_deploy_guide_names_every_setting_and_fits_the_largest_upload(app):
    guide = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    settings = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "zaloan" / "config.py").read_text()))
    assert {"SECRET_KEY", "DATABASE_URL", "SESSION_COOKIE_SECURE", "PROXY_HOPS"} <= settings
    assert [name for name in settings if f"`{name}`" not in guide] == []
    # nginx must let through the largest request the app accepts.
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", guide).group(1))
    assert body_mb * 1024 * 1024 > app.config["MAX_CONTENT_LENGTH"]
    for command in ("db upgrade", "create-commander", "backup", "audit-verify", "pg_dump"):
        assert command in guide
