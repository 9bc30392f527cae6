"""Device cookies (OWASP): a stranger's wrong passwords never keep the owner out; one's own logins page."""
from __future__ import annotations

import base64
import hmac
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from zaloan import accounts
from zaloan.extensions import db
from zaloan.models import AuditEvent, LoginAttempt, UserSession, utcnow

from .conftest import PASSWORD, PHONES, make_app
from .helpers import U

HOME, STRANGER = "198.51.100.7", "203.0.113.66"  # the commander's connection, the attacker's
ANDROID = ("Mozilla/5.0 (Linux; Android 12; SM-A125F Build/SP1A.210812.016) AppleWebKit/537.36 "
           "(KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36")
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
COOKIE = accounts.DEVICE_COOKIE


def login(client, who="commander", password=PASSWORD, addr=HOME, agent=ANDROID, **kw):
    return client.post("/login", data={"phone": PHONES.get(who, who), "password": password},
                       environ_base={"REMOTE_ADDR": addr}, headers={"User-Agent": agent}, **kw)


def device_cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def trusted_browser(app, who="commander", addr=HOME, agent=ANDROID):
    """A browser that logged in once (so it holds the device cookie) and logged out again."""
    c = app.test_client()
    assert login(c, who, addr=addr, agent=agent).status_code == 302
    assert device_cookie(c)
    c.post("/logout")
    return c


def attack(app, who="commander", times=20, addr=STRANGER):
    """Wrong passwords on `who`'s phone from a browser without a device cookie; return the last answer."""
    c = app.test_client()
    for i in range(times):
        r = login(c, who, password=f"doan-mo-{i}", addr=addr)
        assert r.status_code in (401, 429)
    return r


# --- Lock-out by strangers ------------------------------------------------------------------------


def test_a_strangers_wrong_passwords_do_not_keep_the_owner_out(app):
    owner = trusted_browser(app)
    assert attack(app).status_code == 429  # the attacker is slowed...
    # ...the commander, on their own browser, is not: their device counts only its own failures.
    r = login(owner)
    assert r.status_code == 302 and r.headers["Location"] == "/commander/"
    owner.post("/logout")
    # The commander's success forgives nothing of the attacker's guesses.
    assert login(app.test_client(), password="doan-mo-x", addr=STRANGER).status_code == 429
    assert login(app.test_client(), addr=STRANGER).status_code == 429
    # Any untrusted browser is slowed on that phone, from any connection: the commander on a borrowed phone too.
    assert login(app.test_client(), addr="192.0.2.44").status_code == 429
    # A typo by the commander on their own browser during the attack is forgiven by their next success.
    assert login(owner, password="sai-mot-chut").status_code == 401
    assert login(owner).status_code == 302


def test_the_owner_gets_in_even_from_the_attackers_connection(app):
    """One carrier's address serves a whole village: the attacker and the commander may share it."""
    owner = trusted_browser(app, addr=STRANGER)
    assert attack(app, addr=STRANGER).status_code == 429
    assert login(owner, addr=STRANGER).status_code == 302
    owner.post("/logout")
    assert attack(app, times=1, addr=STRANGER).status_code == 429


def test_a_connection_trying_many_phones_is_slowed_but_not_a_trusted_browser_on_it(app, monkeypatch):
    monkeypatch.setattr(accounts, "CLIENT_FREE_FAILURES", 6)  # the same rule as 30, in fewer tries
    owner = trusted_browser(app, addr=STRANGER)
    sprayer = app.test_client()
    for i in range(8):
        login(sprayer, f"09123450{i:02d}", password="doan-mo", addr=STRANGER)
    assert login(sprayer, "0912345099", password="doan-mo", addr=STRANGER).status_code == 429
    # The commander's phone was never tried: an untrusted browser on that connection waits all the same...
    assert login(app.test_client(), addr=STRANGER).status_code == 429
    # ...their own browser, on that connection, does not.
    assert login(owner, addr=STRANGER).status_code == 302


def test_a_forged_or_borrowed_device_cookie_gives_no_allowance(app):
    owner = trusted_browser(app)
    genuine = device_cookie(owner)
    assert len(genuine) == 44 and "." not in genuine
    mine = trusted_browser(app, "informant2", addr=STRANGER)  # the attacker's own account, own device cookie
    assert attack(app).status_code == 429

    def with_cookie(value):
        c = app.test_client()
        c.set_cookie(COOKIE, value)
        return login(c, addr=STRANGER).status_code

    flipped = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")  # the MAC no longer matches
    other_nonce = ("A" if genuine[0] != "A" else "B") + genuine[1:]  # the MAC of another nonce
    assert with_cookie(flipped) == 429
    assert with_cookie(other_nonce) == 429
    assert with_cookie("x" * 44) == 429
    assert with_cookie(genuine + "." + genuine) == 302  # sanity: the genuine token is what opens the door
    # A cookie the attacker earned on his own account buys nothing on the commander's.
    assert login(mine, addr=STRANGER).status_code == 429
    # Nor does a token signed with another key (another server's, or a guess at ours).
    nonce = genuine[:22]
    with app.app_context():
        user_id = U("commander").id
    secret = hmac.new(b"another-key", b"zaloan device cookie", "sha256").digest()
    mac = base64.urlsafe_b64encode(hmac.new(secret, f"{user_id}:{nonce}".encode(), "sha256").digest()[:16])
    assert with_cookie(nonce + mac.decode().rstrip("=")) == 429


def test_a_device_that_fails_too_often_is_itself_slowed(app):
    owner = trusted_browser(app)
    for i in range(accounts.FREE_FAILURES):
        assert login(owner, password=f"sai-{i}").status_code == 401
    r = login(owner)  # even the right password waits now: the device is locked for a while
    assert r.status_code == 429 and "thử lại sau" in r.get_data(as_text=True)
    # The device's failures are its own: another browser of the commander's is not held up by them.
    assert login(app.test_client(), addr="192.0.2.44").status_code == 302
    # Once its wait is over, the device is trusted again.
    with app.app_context():
        db.session.execute(update(LoginAttempt).values(created_at=LoginAttempt.created_at - timedelta(hours=1)))
        db.session.commit()
    assert login(owner).status_code == 302


def test_failures_are_stored_with_the_device_they_came_with(app):
    owner = trusted_browser(app)
    login(owner, password="sai-1")
    attack(app, times=1)
    with app.app_context():
        rows = db.session.scalars(select(LoginAttempt).where(LoginAttempt.success.is_(False))
                                  .order_by(LoginAttempt.id)).all()
        session_row = db.session.scalar(select(UserSession).where(UserSession.device_key.is_not(None)))
        assert [r.device_key for r in rows] == [session_row.device_key, None]
        # Only a keyed hash of the nonce is kept; the cookie's text is nowhere in the database.
        assert device_cookie(owner)[:22] not in session_row.device_key


def test_login_gives_a_hardened_long_lived_device_cookie_naming_no_one(app, tmp_path, database_url):
    c = app.test_client()
    refused = login(c, password="sai-sai")
    assert COOKIE not in refused.headers.get("Set-Cookie", "")  # a failed login earns nothing
    r = login(c)
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert re.search(r"Max-Age=(\d+)", cookie).group(1) == str(365 * 24 * 3600)
    # A random nonce and its MAC, nothing else: no account id, no phone number.
    value = device_cookie(c)
    assert re.fullmatch(r"[A-Za-z0-9_-]{44}", value) and "900000001" not in value
    c.post("/logout")
    login(c)
    assert device_cookie(c)[:22] != value[:22]  # a new nonce at each login
    # Over HTTPS (behind the proxy) it is Secure, as the session cookie is.
    https = make_app(tmp_path, database_url, PROXY_HOPS=1).test_client()
    r = https.post("/login", data={"phone": PHONES["commander"], "password": PASSWORD},
                   headers={"X-Forwarded-Proto": "https"})
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "Secure" in cookie


def test_a_browser_remembers_a_device_for_each_of_a_few_accounts(app):
    """A computer at the station is shared: each officer's token stays beside the others'."""
    desk = app.test_client()
    for who in ("commander", "officer", "officer2"):
        assert login(desk, who).status_code == 302
        desk.post("/logout")
    assert device_cookie(desk).count(".") == 2
    attack(app, "commander")
    attack(app, "officer")
    assert login(desk, "commander").status_code == 302
    desk.post("/logout")
    assert login(desk, "officer").status_code == 302
    desk.post("/logout")
    # A new login replaces the account's own token (the old one is no longer trusted), never adds a second.
    assert device_cookie(desk).count(".") == 2


def test_the_anonymous_pages_set_no_device_cookie_and_start_no_session(app, client):
    from .test_tips_public import form_data

    answers = [client.get("/report/"), client.get("/login"), client.get("/activate"),
               client.post("/report/", data=form_data(app), content_type="multipart/form-data"),
               client.post("/report/status", data={"code": "ABCDEF", "key": "AAAAAAAA"}),
               login(client, password="sai-sai")]
    for r in answers:
        assert r.status_code < 500
        assert not any(h.startswith(COOKIE + "=") for h in r.headers.getlist("Set-Cookie"))
    assert device_cookie(client) is None
    with app.app_context():
        assert db.session.scalar(select(func.count(UserSession.id))) == 0
    assert device_cookie(client) is None and login(client).status_code == 302 and device_cookie(client)


def test_timing_and_words_stay_the_same_for_known_and_unknown_phones_with_a_device_cookie(app):
    """A browser holding a device cookie learns nothing new about which phones have accounts."""
    owner = trusted_browser(app)
    known = login(owner, "officer", password="sai-sai")
    unknown = login(owner, "0987654321", password="sai-sai")
    assert known.status_code == unknown.status_code == 401
    for r in (known, unknown):
        assert "Sai số điện thoại hoặc mật khẩu." in r.get_data(as_text=True)


# --- One's own logins -------------------------------------------------------------------------------


def two_logins(app, who="commander"):
    phone, desk = app.test_client(), app.test_client()
    assert login(phone, who, agent=ANDROID).status_code == 302
    assert login(desk, who, agent=WINDOWS, addr="192.0.2.44").status_code == 302
    return phone, desk


def session_ids(app, who="commander"):
    with app.app_context():
        return db.session.scalars(select(UserSession.id).where(UserSession.user_id == U(who).id)
                                  .order_by(UserSession.id)).all()


def test_my_logins_lists_my_open_sessions_this_device_first(app, login_as):
    phone, desk = two_logins(app)
    login_as("officer")  # someone else's session is not listed
    ended = app.test_client()
    login(ended, agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
                       "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
    ended.post("/logout")
    r = desk.get("/sessions")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Phiên đăng nhập của tôi" in html
    assert "Firefox trên Windows" in html and "Chrome Mobile trên Android" in html
    assert "Mobile Safari" not in html  # logged out: not listed
    assert html.count("Máy này") == 1 and html.index("Firefox trên Windows") < html.index("Máy này") \
        < html.index("Chrome Mobile trên Android")
    assert html.count('action="/sessions/') == 1  # an end button for the other device only
    assert 'action="/logout-everywhere"' in html and 'action="/logout"' in html
    assert "SM-A125F" not in html and "Chrome/119" not in html


def test_only_the_browser_and_system_names_are_stored(app):
    phone, _desk = two_logins(app)
    with app.app_context():
        rows = db.session.scalars(select(UserSession)).all()
        assert sorted((r.browser, r.os) for r in rows) == [("Chrome Mobile", "Android"), ("Firefox", "Windows")]
        db.session.remove()
        db.engine.dispose()
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        assert b"SM-A125F" not in stored and b"Chrome/119" not in stored and HOME.encode() not in stored


def test_times_are_shown_in_vietnam_time(app, login_as):
    c = login_as("observer")
    with app.app_context():
        db.session.execute(update(UserSession).values(created_at=datetime(2026, 11, 28, 14, 30)))
        db.session.commit()
    html = c.get("/sessions").get_data(as_text=True)
    assert "21:30 28/11/2026" in html


def test_ending_another_device_logs_it_out_and_is_audited(app):
    phone, desk = two_logins(app)
    phone_session = session_ids(app)[0]
    r = desk.post(f"/sessions/{phone_session}/end")
    assert r.status_code == 303 and r.headers["Location"] == "/sessions"
    assert "Đã đăng xuất máy đó" in desk.get("/sessions").get_data(as_text=True)
    assert phone.get("/commander/").status_code == 302  # sent to the login page
    assert desk.get("/commander/").status_code == 200
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "logout.device"))
        assert row.actor_id == U("commander").id and row.data["session"] == phone_session
        from zaloan import audit_words

        assert audit_words.sentence(row).endswith("đã đăng xuất một máy của mình từ máy khác (Chrome Mobile trên "
                                                  "Android).")
    # A second tap changes nothing more.
    assert desk.post(f"/sessions/{phone_session}/end").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "logout.device")) == 1


def test_a_device_logged_out_from_elsewhere_is_no_longer_trusted(app):
    """A lost phone keeps its device cookie: once its session is ended, it logs in as a stranger would."""
    lost, desk = two_logins(app)
    desk.post(f"/sessions/{session_ids(app)[0]}/end")
    attack(app)
    assert login(lost).status_code == 429
    assert login(desk, addr="192.0.2.44").status_code == 302  # the browser that did it is still trusted


def test_logging_out_everywhere_keeps_only_this_browser_trusted(app):
    other, here = two_logins(app)
    here.post("/logout-everywhere")
    attack(app)
    assert login(here, addr="192.0.2.44").status_code == 302
    assert login(other).status_code == 429


def test_ending_someone_elses_session_is_refused_and_changes_nothing(app, login_as):
    victim, _desk = two_logins(app)
    victim_session = session_ids(app)[0]
    officer = login_as("officer")
    with app.app_context():
        before = db.session.scalar(select(func.count(AuditEvent.id)))
    for url in (f"/sessions/{victim_session}/end", "/sessions/999999/end", "/sessions/99999999999999999999/end"):
        r = officer.post(url)
        assert r.status_code == 404, url
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before
        row = db.session.get(UserSession, victim_session)
        assert row.revoked_at is None and row.device_revoked_at is None
    assert victim.get("/commander/").status_code == 200
    assert officer.get("/officer/").status_code == 200


def test_ending_this_very_session_logs_out(app):
    phone, _desk = two_logins(app)
    r = phone.post(f"/sessions/{session_ids(app)[0]}/end")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert phone.get("/commander/").status_code == 302


@pytest.mark.parametrize("who", ["informant", "verifier", "officer", "commander", "observer"])
def test_every_role_finds_its_logins_from_every_page(app, login_as, who):
    c = login_as(who)
    home = c.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/sessions"' in home
    assert c.get("/sessions").status_code == 200
    assert 'href="/sessions"' not in app.test_client().get("/report/").get_data(as_text=True)


def test_last_seen_is_written_at_most_every_ten_minutes(app):
    c, _desk = two_logins(app)
    sid = session_ids(app)[0]

    def set_last_seen(minutes_ago):
        with app.app_context():
            at = utcnow() - timedelta(minutes=minutes_ago)
            db.session.execute(update(UserSession).where(UserSession.id == sid).values(last_seen_at=at))
            db.session.commit()
            return at

    def last_seen():
        with app.app_context():
            return db.session.get(UserSession, sid).last_seen_at

    at = set_last_seen(5)
    assert c.get("/commander/").status_code == 200
    assert last_seen() == at  # recent enough: no write
    set_last_seen(11)
    assert c.get("/commander/").status_code == 200
    assert utcnow() - last_seen() < timedelta(minutes=1)
