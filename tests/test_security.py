"""Hostile tests: CSRF, headers, brute force across workers, uploads, stored XSS, the audit log."""
from __future__ import annotations

import csv
import io
import re
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, inspect, select, text

from zaloan import audit, images
from zaloan.extensions import db
from zaloan.models import AuditEvent, Message, Tip, User, WatchPoint

from .conftest import PASSWORD, PHONES, csrf_token, make_app


# --- CSRF ------------------------------------------------------------------------------------------


CSRF_ON = pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])


def logged_in(app, who="officer"):
    c = app.test_client()
    token = csrf_token(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"phone": PHONES[who], "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    return c


def first_tip_id(app):
    with app.app_context():
        return db.session.scalar(select(Tip.id).where(Tip.village_id.is_not(None)).order_by(Tip.id))


def outcome_of(app, tip_id):
    with app.app_context():
        return db.session.get(Tip, tip_id).outcome


@CSRF_ON
def test_post_without_or_with_wrong_token_is_refused_and_changes_nothing(app):
    c = logged_in(app)
    tip_id = first_tip_id(app)
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated"})
    assert r.status_code == 400 and outcome_of(app, tip_id) is None
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated", "csrf_token": "forged.token"})
    assert r.status_code == 400 and outcome_of(app, tip_id) is None
    # A token from another person's session does not work either.
    other = logged_in(app, "commander")
    stolen = csrf_token(other.get("/commander/").get_data(as_text=True))
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated", "csrf_token": stolen})
    assert r.status_code == 400 and outcome_of(app, tip_id) is None


@CSRF_ON
def test_cross_site_post_is_refused_over_https(app):
    c = logged_in(app)
    tip_id = first_tip_id(app)
    page = c.get(f"/officer/tips/{tip_id}", base_url="https://localhost").get_data(as_text=True)
    token = csrf_token(page)
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated", "csrf_token": token},
               base_url="https://localhost", headers={"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 400 and outcome_of(app, tip_id) is None
    assert "mediated" not in r.get_data(as_text=True)  # no re-offer of what a cross-site page sent


@CSRF_ON
def test_htmx_post_with_the_token_in_the_header_works(app):
    c = logged_in(app)
    tip_id = first_tip_id(app)
    html = c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated"},
               headers={"HX-Request": "true", "HX-Target": "tip", "X-CSRFToken": header_token})
    assert r.status_code == 200 and outcome_of(app, tip_id) == "mediated"


def forms_of(html: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", html, flags=re.S)


@CSRF_ON
def test_a_stale_tip_form_keeps_the_text_as_text_and_offers_nothing_that_sends_it(app):
    c = logged_in(app, "informant")
    payload = "Tối qua <b>có</b> \"người lạ\" tụ tập đánh bạc ở quán nước cuối chợ, khoảng 6 người."
    page = "http://localhost/informant/tips/new?x=1"
    r = c.post("/informant/tips/new", data={"body": payload, "csrf_token": "expired.token", "client_key": "stale-key-001"},
               headers={"Referer": page, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    escaped = re.search(r"<textarea readonly[^>]*>([^<]*)</textarea>", html).group(1)
    assert escaped.startswith("Tối qua &lt;b&gt;có&lt;/b&gt; &#34;người lạ&#34;")
    # Nothing on the page sends it again: no form to that action, no form holding the text,
    # and the text sits in no field that has a name.
    assert 'action="/informant/tips/new"' not in html
    assert not any("người lạ" in form or "stale-key-001" in form for form in forms_of(html))
    assert not re.search(r"<textarea[^>]*\bname=", html) and "stale-key-001" not in html
    # The way back opens the page it came from afresh, with no htmx swap holding an old token.
    assert 'href="/informant/tips/new?x=1" hx-boost="false"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tip).where(Tip.body == payload)) == 0


@CSRF_ON
def test_a_form_from_a_sibling_subdomain_or_an_old_browser_becomes_no_one_click_action(app):
    """The cookie goes with a form from a sibling subdomain (same-site) or any site on an old browser."""
    c = logged_in(app)
    tip_id = first_tip_id(app)
    note = "Đã hòa giải xong, hai bên ký biên bản."
    action = f"/officer/tips/{tip_id}/outcome"
    senders = [
        {"Sec-Fetch-Site": "same-site", "Origin": "http://evil.localhost", "Referer": "http://evil.localhost/x"},
        {"Origin": "http://evil.example"},  # no Sec-Fetch-* (an old browser)
        {"Referer": "http://evil.example/page"},  # neither Sec-Fetch-* nor Origin
    ]
    for headers in senders:
        for token in (None, "forged.token"):
            data = {"outcome": "mediated", "note": note, **({"csrf_token": token} if token else {})}
            for extra in ({}, {"HX-Request": "true", "HX-Target": "tip"}):
                r = c.post(action, data=data, headers={**headers, **extra})
                html = r.get_data(as_text=True)
                assert r.status_code == 400 and outcome_of(app, tip_id) is None
                assert f'action="{action}"' not in html
                assert "mediated" not in html and note not in html and "hòa giải" not in html
                # The way back never leads to the other site.
                assert "evil" not in html and 'href="/" hx-boost="false"' in html


@CSRF_ON
def test_a_stale_htmx_send_keeps_the_text_and_reloads_the_page_it_was_on(app):
    c = logged_in(app)
    tip_id = first_tip_id(app)
    note = "Đã hòa giải xong, hai bên ký biên bản."
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated", "note": note},
               headers={"HX-Request": "true", "HX-Target": "tip", "X-CSRFToken": "old.token",
                        "HX-Current-URL": f"http://localhost/officer/tips/{tip_id}", "Sec-Fetch-Site": "same-origin"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and outcome_of(app, tip_id) is None
    assert "<html" not in html and "<form" not in html and "mediated" not in html
    assert f">{note}</textarea>" in html
    assert f'href="/officer/tips/{tip_id}" hx-boost="false"' in html


@CSRF_ON
def test_a_stale_login_never_shows_the_password_back(app):
    c = app.test_client()
    r = c.post("/login", data={"phone": "0900 000 002", "password": "mật khẩu bí mật 2026", "csrf_token": "old"},
               headers={"Sec-Fetch-Site": "same-origin"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "bí mật" not in html and "0900 000 002" in html


# --- Host and HTTPS ----------------------------------------------------------------------------------


BASE = "https://zaloan.example.vn"


@pytest.mark.parametrize("app_config", [{"BASE_URL": BASE, "WTF_CSRF_ENABLED": True}])
def test_with_base_url_a_request_for_another_host_is_refused(app):
    c = app.test_client()
    assert c.get("/login", base_url=BASE).status_code == 200
    for host in ("evil.example", "zaloan.example.vn.evil.example", "sub.zaloan.example.vn", "bad host"):
        for method in ("GET", "POST"):
            r = c.open("/login", method=method, base_url=BASE, headers={"Host": host},
                       data={"phone": PHONES["officer"], "password": PASSWORD} if method == "POST" else None)
            assert r.status_code == 400, (host, method)
            assert r.mimetype == "text/plain" and "evil" not in r.get_data(as_text=True)
    # The port does not matter; the name does.
    assert c.get("/login", base_url=BASE + ":8443").status_code == 200


def test_without_base_url_any_host_is_served(client):
    assert client.get("/login", headers={"Host": "192.168.1.5:5000"}).status_code == 200


def test_a_base_url_that_is_not_a_bare_address_is_refused_at_start(tmp_path, database_url):
    for bad in ("zaloan.example.vn", "ftp://zaloan.example.vn", "https://zaloan.example.vn/app", "https://u:p@x.vn"):
        with pytest.raises(ValueError):
            make_app(tmp_path, database_url, BASE_URL=bad)


def https_answer(tmp_path, database_url, forwarded: dict, **config):
    app = make_app(tmp_path, database_url, WTF_CSRF_ENABLED=True, **config)
    r = app.test_client().get("/login", base_url="http://zaloan.example.vn",
                              headers={"X-Forwarded-For": "203.0.113.9", **forwarded})
    assert r.status_code == 200
    return app, r


def test_https_through_the_proxy_gets_hsts_and_secure_cookies(tmp_path, database_url):
    https = {"X-Forwarded-Proto": "https"}
    app, r = https_answer(tmp_path, database_url, https, BASE_URL=BASE, PROXY_HOPS=1)
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("zaloan_session=") and "; Secure" in cookie and "HttpOnly" in cookie
    # The form's token lives in that session cookie: over HTTPS the login works with it.
    c = app.test_client()
    token = csrf_token(c.get("/login", base_url=BASE).get_data(as_text=True))
    r = c.post("/login", base_url=BASE, headers={"Referer": BASE + "/login"},
               data={"phone": PHONES["officer"], "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and "; Secure" in r.headers["Set-Cookie"]
    # HSTS is for HTTPS answers only: a plain-HTTP answer (nginx redirects those) carries none,
    # but its cookie is still Secure, so it never travels unencrypted.
    _, r = https_answer(tmp_path, database_url, {}, BASE_URL=BASE, PROXY_HOPS=1)
    assert "Strict-Transport-Security" not in r.headers and "; Secure" in r.headers["Set-Cookie"]
    # Without a proxy to trust, a client's own X-Forwarded-Proto changes nothing.
    _, r = https_answer(tmp_path, database_url, https, BASE_URL=BASE)
    assert "Strict-Transport-Security" not in r.headers
    # An http:// address asks for neither.
    _, r = https_answer(tmp_path, database_url, https, BASE_URL="http://zaloan.example.vn", PROXY_HOPS=1)
    assert "Strict-Transport-Security" not in r.headers


def test_no_get_route_changes_anything(app):
    """GET every parameterless GET route as each role, and every page linked from them: no table changes.

    One change is expected, and only that one: the first time a police officer
    opens a tip, the tip notes when (with its timeline event and audit row),
    because opening a tip is the very event its sender is told about
    ("Đã có cán bộ đọc lúc 21:05"). Sessions' last-seen aside.
    """
    from .test_access_matrix import session_client
    from zaloan.models import TipEvent

    def snapshot():
        with app.app_context():
            counts = {}
            for table in db.metadata.sorted_tables:
                counts[table.name] = db.session.scalar(select(func.count()).select_from(table))
            counts["tip_events"] = db.session.scalar(select(func.count()).where(TipEvent.kind != "read"))
            counts["audit_events"] = db.session.scalar(select(func.count()).where(AuditEvent.action != "tip.read"))
            counts["audit_last"] = db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.action != "tip.read"))
            read_columns = ("updated_at", "first_read_at", "first_read_by_id")
            tips = {
                t.id: (t.updated_at, t.first_read_at, t.first_read_by_id,
                       tuple(getattr(t, c.key) for c in Tip.__table__.columns if c.key not in read_columns))
                for t in db.session.scalars(select(Tip))
            }
            reads = db.session.scalar(select(func.count()).where(TipEvent.kind == "read"))
            return counts, tips, reads

    routes = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    for who in ("informant", "verifier", "officer", "commander", "observer"):
        c = session_client(app, who)
        before, tips_before, reads_before = snapshot()
        linked = set()
        for url in routes:
            r = c.get(url)
            html = r.get_data(as_text=True) if r.mimetype == "text/html" else ""  # /favicon.ico is an image
            linked.update(h.replace("&amp;", "&") for h in re.findall(r'href="(/[^"#]*)"', html)
                          if not h.startswith("/static/"))
        for url in sorted(linked):
            c.get(url)
        after, tips_after, reads_after = snapshot()
        assert before == after, f"a GET as {who} changed the database"
        opened = [i for i, (_, read, _, _) in tips_before.items() if read is None and tips_after[i][1] is not None]
        for tip_id, (updated, read, reader, rest) in tips_after.items():
            assert rest == tips_before[tip_id][3], f"a GET as {who} changed tip {tip_id}"
            if tip_id in opened:
                # Nothing but the first read: the tip was touched at that moment, by police only.
                assert who in ("officer", "commander") and updated == read and reader is not None, tip_id
            else:
                assert tips_after[tip_id] == tips_before[tip_id], f"a GET as {who} changed tip {tip_id}"
        assert reads_after - reads_before == len(opened)
        if who == "officer":
            assert opened, "the officer's pages link to no unread tip: the check above tested nothing"


# --- Headers ------------------------------------------------------------------------------------------


def check_headers(resp, url):
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    assert csp, url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert "frame-ancestors 'none'" in csp or "sandbox" in csp, url
    assert h.get("X-Content-Type-Options") == "nosniff", url
    assert h.get("Referrer-Policy") == "same-origin", url


def test_security_headers_everywhere(app):
    c = logged_in(app)
    tip_id = first_tip_id(app)
    for url in ("/login", "/officer/", f"/officer/tips/{tip_id}", "/nope", "/people/", "/static/app.css"):
        resp = c.get(url)
        check_headers(resp, url)
    for url in ("/officer/", f"/officer/tips/{tip_id}", "/people/"):
        assert c.get(url).headers["Cache-Control"] == "no-store", url
    frag = c.get(f"/officer/tips/{tip_id}", headers={"HX-Request": "true", "HX-Target": "tip"})
    check_headers(frag, "fragment")
    assert frag.headers["Cache-Control"] == "no-store"


def test_secure_cookie_over_https_even_behind_the_proxy(tmp_path, database_url):
    app = make_app(tmp_path, database_url, PROXY_HOPS=1)
    r = app.test_client().post("/login", data={"phone": PHONES["officer"], "password": PASSWORD},
                               base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # nginx speaks HTTPS to the phone and HTTP to the app: X-Forwarded-Proto tells.
    r = app.test_client().post("/login", data={"phone": PHONES["commander"], "password": PASSWORD},
                               headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Secure" in r.headers["Set-Cookie"]
    plain = app.test_client().post("/login", data={"phone": PHONES["observer"], "password": PASSWORD})
    assert "Secure" not in plain.headers["Set-Cookie"]


# --- Brute force across worker processes ----------------------------------------------------------


def test_login_throttling_is_shared_by_workers(tmp_path, database_url):
    # Two app instances on one database: two worker processes as gunicorn runs them.
    worker_a = make_app(tmp_path, database_url).test_client()
    worker_b = make_app(tmp_path, database_url).test_client()
    for i in range(5):
        (worker_a if i % 2 else worker_b).post("/login", data={"phone": PHONES["officer"], "password": f"sai-{i}"})
    # The right password, on the other worker, during the delay: refused, and the counter stays.
    r = worker_b.post("/login", data={"phone": PHONES["officer"], "password": PASSWORD})
    assert r.status_code == 429 and "thử lại sau" in r.get_data(as_text=True)
    r = worker_a.post("/login", data={"phone": PHONES["officer"], "password": PASSWORD})
    assert r.status_code == 429


def test_a_wrong_password_takes_as_long_for_an_unknown_phone_as_for_a_registered_one(app):
    import statistics

    from zaloan.models import LoginAttempt

    c = app.test_client()
    times = {"registered": [], "unknown": []}
    phones = {"registered": PHONES["officer"], "unknown": "0987654321"}
    for _ in range(15):
        for kind in times:  # interleaved, so a busy machine slows both alike
            with app.app_context():  # stay below the throttle: this test is about the hash, not the delay
                db.session.query(LoginAttempt).delete()
                db.session.commit()
            start = time.perf_counter()
            r = c.post("/login", data={"phone": phones[kind], "password": "sai-mat-khau"})
            times[kind].append(time.perf_counter() - start)
            assert r.status_code == 401
    registered, unknown = statistics.median(times["registered"]), statistics.median(times["unknown"])
    assert max(registered, unknown) / min(registered, unknown) < 2, (registered, unknown)


def test_the_delay_grows_with_failures(app):
    from datetime import timedelta

    from zaloan import accounts
    from zaloan.models import LoginAttempt, utcnow

    with app.test_request_context():
        key = accounts.keyed("phone:+84900000002")
        client = accounts.keyed("client:1.2.3.4")
        delays = []
        for n in range(5, 9):
            db.session.query(LoginAttempt).delete()
            for _ in range(n):
                accounts.note_attempt(key, client, False)
            db.session.flush()
            delays.append(accounts.login_delay(key, client))
        assert delays[0] > timedelta(0)
        assert delays == sorted(delays) and delays[-1] > delays[0]
        db.session.rollback()


def test_one_client_trying_many_phones_is_slowed(app):
    c = app.test_client()
    for i in range(31):
        c.post("/login", data={"phone": f"09123450{i:02d}", "password": "doan-mo"})
    r = c.post("/login", data={"phone": PHONES["commander"], "password": PASSWORD})
    assert r.status_code == 429


def test_a_success_on_ones_own_account_does_not_forgive_failures_on_others(app, monkeypatch):
    from zaloan import accounts

    monkeypatch.setattr(accounts, "CLIENT_FREE_FAILURES", 6)  # the same rule as 30, in fewer tries
    c = app.test_client()
    for i in range(5):
        assert c.post("/login", data={"phone": f"09123450{i:02d}", "password": "doan-mo"}).status_code == 401
    # The attacker's own account, on the same connection.
    assert c.post("/login", data={"phone": PHONES["informant2"], "password": PASSWORD}).status_code == 302
    c.post("/logout")
    assert c.post("/login", data={"phone": "0912345099", "password": "doan-mo"}).status_code == 401
    # Six failures on other phones from this connection: slowed, as if the success had not happened.
    r = c.post("/login", data={"phone": "0912345098", "password": "doan-mo"})
    assert r.status_code == 429 and "thử lại sau" in r.get_data(as_text=True)
    # His own account from this browser still opens: its device cookie trusts this browser for that
    # account only (OWASP device cookies), and buys no guess at any other phone.
    assert c.post("/login", data={"phone": PHONES["informant2"], "password": PASSWORD}).status_code == 302
    c.post("/logout")
    assert c.post("/login", data={"phone": "0912345097", "password": "doan-mo"}).status_code == 429
    # The same account from a browser without the cookie, on this connection: slowed like any other.
    assert app.test_client().post("/login", data={"phone": PHONES["informant2"], "password": PASSWORD}).status_code == 429
    # Someone else, elsewhere, is not held up.
    other = app.test_client()
    r = other.post("/login", data={"phone": PHONES["informant"], "password": PASSWORD},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 302


def test_a_success_forgives_only_earlier_typos_on_that_phone_from_that_connection(app):
    from zaloan import accounts

    with app.test_request_context():
        phone = accounts.keyed("phone:+84900000002")
        owner, attacker = accounts.keyed("client:1.1.1.1"), accounts.keyed("client:6.6.6.6")
        for _ in range(5):
            accounts.note_attempt(phone, attacker, False)
        db.session.flush()
        accounts.note_attempt(phone, owner, True)  # the owner logs in from their own phone
        db.session.flush()
        assert accounts.login_delay(phone, attacker).total_seconds() > 0
        db.session.rollback()


def test_typos_before_the_right_password_are_forgiven(client):
    for _round in range(2):
        for _ in range(4):
            assert client.post("/login", data={"phone": PHONES["officer"], "password": "sai-sai"}).status_code == 401
        assert client.post("/login", data={"phone": PHONES["officer"], "password": PASSWORD}).status_code == 302
        client.post("/logout")


# --- Uploads ------------------------------------------------------------------------------------------


def jpeg(size=(64, 48), **save):
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 40, 40)).save(buf, "JPEG", **save)
    return buf.getvalue()


def test_only_real_photos_are_accepted(app):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with app.app_context():
        for bad in (html, svg, gif.getvalue(), jpeg()[:200], b"", b"GIF89a" + b"\0" * 100):
            with pytest.raises(images.ImageRejected):
                images.store(bad)


def test_a_polyglot_loses_its_payload(app):
    poly = jpeg() + b"<html><script>alert(1)</script></html>" + b"PK\x03\x04zipzip"
    with app.app_context():
        stored = images.store(poly)
        data = images.path_of(stored.storage_name).read_bytes()
    assert b"<script" not in data and b"PK\x03\x04" not in data
    assert Image.open(io.BytesIO(data)).format == "JPEG"


def test_a_decompression_bomb_is_refused_fast_without_decoding(app):
    # A 20000x20000 PNG: tiny on disk, 1.2 GB of pixels if decoded.
    raw = b"".join(b"\x00" + b"\x00" * 20000 * 3 for _ in range(20000))
    comp = zlib.compress(raw, 9)
    del raw

    def chunk(kind, data):
        import struct

        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    import struct

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", comp) + chunk(b"IEND", b"")
    with app.app_context():
        start = time.perf_counter()
        with pytest.raises(images.ImageRejected) as err:
            images.store(png)
        assert time.perf_counter() - start < 1.0
    assert err.value.reason in ("too_many_pixels", "too_large")


def test_gps_and_camera_serial_are_removed_and_orientation_applied(app):
    img = Image.new("RGB", (80, 40), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    exif[0xA431] = "SERIAL-123456"  # body serial number
    exif[0x010F] = "CameraMaker"
    gps = {1: "N", 2: (21.0, 1.0, 2.0), 3: "E", 4: (106.0, 2.0, 3.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    original = buf.getvalue()
    assert b"SERIAL-123456" in original
    with app.app_context():
        stored = images.store(original)
        data = images.path_of(stored.storage_name).read_bytes()
    out = Image.open(io.BytesIO(data))
    assert len(out.getexif()) == 0
    assert b"SERIAL-123456" not in data and b"CameraMaker" not in data and b"GPS" not in data
    assert out.size == (40, 80)  # rotated upright


def test_the_served_copy_of_an_uploaded_photo_has_no_gps(app, login_as):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 2.0), 3: "E", 4: (106.0, 2.0, 3.0)}
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (1, 2, 3)).save(buf, "JPEG", exif=exif)
    c = login_as("informant")
    r = c.post("/informant/photos", data={"photo": (io.BytesIO(buf.getvalue()), "gps.jpg"), "client_key": "gps-key-0001"},
               content_type="multipart/form-data")
    photo_id = r.get_json()["id"]
    served = c.get(f"/photos/{photo_id}")
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert len(Image.open(io.BytesIO(served.data)).getexif()) == 0
    with app.app_context():
        from zaloan.models import Attachment

        name = db.session.get(Attachment, photo_id).storage_name
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name)
    assert not app.config["UPLOAD_FOLDER"].startswith(app.static_folder)


@pytest.mark.parametrize("mode", ["I;16", "CMYK", "RGBA", "P"])
def test_unusual_photo_modes_are_cleaned(app, mode):
    img = Image.new(mode if mode != "I;16" else "I;16", (30, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG" if mode != "CMYK" else "JPEG")
    with app.app_context():
        stored = images.store(buf.getvalue())
    assert stored.content_type == "image/jpeg" and stored.width == 30


def test_an_html_file_named_jpg_is_refused_over_http(app, login_as):
    c = login_as("informant")
    r = c.post("/informant/photos", data={"photo": (io.BytesIO(b"<html><script>alert(1)</script>"), "x.jpg"),
                                          "client_key": "html-key-0001"}, content_type="multipart/form-data")
    assert r.status_code == 422 and "Chỉ gửi được ảnh" in r.get_json()["error"]


# --- Stored XSS -----------------------------------------------------------------------------------------

PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '<div hx-get="/logout" hx-trigger="load">x</div>',
            "{{7*7}}", "javascript:alert(1)"]


def test_stored_payloads_render_escaped_everywhere(app, login_as):
    from zaloan import cases
    from zaloan.models import Category, Unit

    with app.app_context():
        an = db.session.scalar(select(User).where(User.phone == "+84900000010"))
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        cat = db.session.scalar(select(Category).where(Category.code == "other"))
        cat.name = PAYLOADS[1]
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        point.note = PAYLOADS[0]
        tip, _ = cases.submit_tip(commune=village.commune(), informant=an.informant, category=cat, village=village,
                                  body=" ".join(PAYLOADS), place_text=PAYLOADS[2], uploader=an)
        officer = db.session.scalar(select(User).where(User.phone == "+84900000002"))
        cases.ask(tip, by=officer, body=PAYLOADS[2])
        officer.full_name = PAYLOADS[1]
        db.session.commit()
        tip_id = tip.id
    pages = [
        login_as("officer").get(f"/officer/tips/{tip_id}"),
        login_as("officer").get("/officer/"),
        login_as("informant").get(f"/informant/tips/{tip_id}"),
        login_as("informant").get("/informant/tips"),
        login_as("informant").get("/informant/tips/new"),
        login_as("commander").get("/people/"),
        login_as("commander").get("/audit/"),
        login_as("officer").get(f"/officer/tips/{tip_id}", headers={"HX-Request": "true", "HX-Target": "tip"}),
    ]
    # Text is never evaluated as a template: the payload stays literal where it is shown.
    assert "{{7*7}}" in pages[0].get_data(as_text=True)
    for resp in pages:
        html = resp.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x onerror" not in html
        assert '<div hx-get="/logout"' not in html


def test_templates_use_no_raw_markup():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "zaloan" / "templates"
    for path in root.rglob("*.html"):
        src = path.read_text(encoding="utf-8")
        assert "|safe" not in src and "Markup(" not in src and "autoescape false" not in src, path


# --- Audit log ----------------------------------------------------------------------------------------


@CSRF_ON
def test_commander_browses_filters_and_checks_the_audit_log(app):
    c = logged_in(app, "commander")
    html = c.get("/audit/?action=login").get_data(as_text=True)
    assert "đã đăng nhập." in html and "đã gửi tin" not in html
    for s in ("Nguyễn Văn An", "Trần Thị Bình", "0900 000 010"):
        assert s not in c.get("/audit/").get_data(as_text=True)
    token = csrf_token(html)
    r = c.post("/audit/verify", data={"csrf_token": token})
    assert "còn nguyên vẹn" in r.get_data(as_text=True)
    assert logged_in(app, "officer").get("/audit/").status_code == 404


@CSRF_ON
def test_audit_export_neutralises_formulas_and_is_audited(app):
    with app.app_context():
        audit.record("test.payload", commune_id=1, note="=HYPERLINK(\"http://evil\",\"x\")")
        db.session.commit()
    c = logged_in(app, "commander")
    token = csrf_token(c.get("/audit/").get_data(as_text=True))
    r = c.post("/audit/export.csv", data={"csrf_token": token})
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)
    assert all(s not in r.get_data(as_text=True) for s in ("Nguyễn Văn An", "+84900000010"))
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.audit")) is not None
    assert c.get("/audit/export.csv").status_code == 404 or c.get("/audit/export.csv").status_code == 405


def test_the_app_never_edits_or_deletes_audit_rows(app):
    with app.app_context():
        row = db.session.scalars(select(AuditEvent)).first()
        row.action = "tampered"
        with pytest.raises(RuntimeError):
            db.session.flush()
        db.session.rollback()
        row = db.session.scalars(select(AuditEvent)).first()
        db.session.delete(row)
        with pytest.raises(RuntimeError):
            db.session.flush()
        db.session.rollback()


def test_logins_reveals_and_tip_changes_are_audited(app, login_as):
    """Each action here writes its own audit row: only the rows made after the demo's count."""
    from datetime import timedelta

    from zaloan import cases
    from zaloan.models import Category, Outcome, Unit, Urgency, utcnow

    from .helpers import U

    with app.app_context():
        start = db.session.scalar(select(func.max(AuditEvent.id)))
        informant_user = U("informant").id
    officer = login_as("officer")
    app.test_client().post("/login", data={"phone": PHONES["officer"], "password": "sai"})
    assert officer.post(f"/people/{informant_user}/reveal", data={"reason": "Mời lên làm việc"}).status_code == 200
    assert login_as("commander").post("/people/new", data={"role": "observer", "full_name": "Người Mới",
                                                           "phone": "0987000999"}).status_code == 200
    with app.app_context():
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        theft = db.session.scalar(select(Category).where(Category.code == "theft"))
        tip, _created = cases.submit_tip(commune=village.commune(), informant=U("informant").informant,
                                         category=theft, body="Mất trộm xe đạp ở nhà văn hóa.", village=village,
                                         uploader=U("informant"))
        cases.triage(tip, by=U("officer"), category=theft, urgency=Urgency.HIGH)
        cases.ask(tip, by=U("officer"), body="Xe màu gì?")
        cases.create_task(tip, by=U("officer"), verifiers=[U("verifier")], brief="Hỏi bảo vệ nhà văn hóa.",
                          due_at=utcnow() + timedelta(hours=24))
        cases.record_outcome(tip, by=U("officer"), outcome=Outcome.COMMUNE_POLICE)
        db.session.commit()
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > start)))
    assert {"login.success", "login.failure", "identity.reveal", "account.create", "account.activation_issued",
            "tip.submit", "tip.triage", "tip.ask", "task.create", "tip.outcome"} <= actions, actions


def test_no_client_address_or_user_agent_is_stored_with_tips_or_messages(app):
    with app.app_context():
        for model in (Tip, Message):
            cols = {c["name"] for c in inspect(db.engine).get_columns(model.__tablename__)}
            assert not {c for c in cols if re.search(r"(^|_)ip($|_)|addr|agent|remote|(^|_)ua$", c)}, cols


def huge_png(side=7000) -> bytes:
    """A single-colour PNG of side×side: a few hundred KB on disk, side² pixels once decoded."""
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (30, 120, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_a_photo_over_40_megapixels_is_refused_from_its_header(app, monkeypatch):
    from PIL import ImageFile

    png = huge_png()  # 49 MP
    assert len(png) < 1024 * 1024
    jpeg_buf = io.BytesIO()
    Image.new("L", (6400, 6400)).save(jpeg_buf, "JPEG", quality=5)  # 41 MP
    assert images.MAX_PIXELS <= 40_000_000

    def decode(self, *a, **kw):
        raise AssertionError("a pixel was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    with app.app_context():
        for data in (png, jpeg_buf.getvalue()):
            start = time.perf_counter()
            with pytest.raises(images.ImageRejected) as err:
                images.store(data)
            assert time.perf_counter() - start < 1.0 and err.value.reason == "too_many_pixels"
        assert not any(Path(app.config["UPLOAD_FOLDER"]).glob("*"))


def test_three_huge_pngs_in_one_anonymous_answer_are_refused_quickly_and_leave_nothing(app, client):
    from .test_tips_public import answer, answer_count, receipt, send

    code, _ = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    png = huge_png()
    # This process's CPU time, not the clock's: other work on the machine must not fail the test. Decoding
    # the three images alone takes more than a second of CPU; refusing them from their headers, a fraction.
    start = time.process_time()
    r = answer(client, tip_id, "huge-png-000001", body="Ba ảnh rất to.",
               photos=[(io.BytesIO(png), f"to-{n}.png") for n in range(3)])
    assert time.process_time() - start < 1.0
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "kích thước quá lớn" in html and "Ba ảnh rất to." in html
    assert answer_count(app, tip_id) == 0
    assert not any(Path(app.config["UPLOAD_FOLDER"]).glob("*"))
