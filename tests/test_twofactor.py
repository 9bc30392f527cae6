"""Two-step login for the police: setting it up, the login's second step, recovery codes, the commune's
requirement, the commander's reset, lost phones and the throttle on wrong codes."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from zaloan import twofactor
from zaloan.extensions import db
from zaloan.models import AuditEvent, CommuneSettings, RecoveryCode, UserSession

from .conftest import PASSWORD, PHONES
from .helpers import U


def code_at(secret: str, steps: int = 0) -> str:
    """The code of the step `steps` away from now (the app's next code is steps=1)."""
    return pyotp.TOTP(secret).at(time.time() + steps * 30)


def pending_key(app, who: str) -> str:
    with app.app_context():
        return U(who).totp_pending


def secret_of(app, who: str) -> str:
    with app.app_context():
        return U(who).totp_secret


def enrol(app, client, who: str = "officer") -> list[str]:
    """Turn two-step login on for `who` (logged in on `client`); return the recovery codes shown."""
    assert client.post("/two-step/start").status_code == 303
    secret = pending_key(app, who)
    r = client.post("/two-step/setup", data={"code": code_at(secret)})
    assert r.status_code == 200, r.get_data(as_text=True)
    return re.findall(r'<li class="code">([A-Z0-9-]+)</li>', r.get_data(as_text=True))


def password_step(client, who: str = "officer", next_url: str | None = None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"phone": PHONES[who], "password": PASSWORD})


def actions(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == name)).all()


@pytest.fixture
def enrolled(app, login_as):
    """The officer with two-step login on; returns (secret, recovery codes)."""
    c = login_as("officer")
    codes = enrol(app, c)
    return secret_of(app, "officer"), codes


# --- Setting it up ------------------------------------------------------------------------------


def test_setup_shows_a_server_made_qr_and_the_key_in_groups(app, login_as):
    c = login_as("officer")
    page = c.get("/two-step/")
    assert page.status_code == 200 and "Tắt" not in page.get_data(as_text=True)
    # A GET makes no key: only the button does.
    assert pending_key(app, "officer") is None
    assert c.get("/two-step/setup").status_code == 303
    assert c.post("/two-step/start").status_code == 303
    secret = pending_key(app, "officer")
    html = c.get("/two-step/setup").get_data(as_text=True)
    assert '<svg class="qr" viewBox="0 0 ' in html and '<path stroke="#000"' in html and "data:image" not in html
    assert twofactor.grouped_key(secret) in html
    assert 'name="secret"' not in html  # the key is never a form field to send back
    with app.app_context():
        assert U("officer").totp_secret is None  # not on until a code is confirmed


def test_a_wrong_confirm_code_is_refused_and_changes_nothing(app, login_as):
    c = login_as("officer")
    c.post("/two-step/start")
    secret = pending_key(app, "officer")
    wrong = str((int(code_at(secret)) + 1) % 1_000_000).zfill(6)
    r = c.post("/two-step/setup", data={"code": wrong})
    assert r.status_code == 422 and "Mã không đúng" in r.get_data(as_text=True)
    for bad in ("12345", "abcdef", "x" * 500, ""):
        assert c.post("/two-step/setup", data={"code": bad}).status_code == 422
    with app.app_context():
        assert U("officer").totp_secret is None and U("officer").totp_pending == secret
        assert db.session.scalar(select(RecoveryCode.id)) is None
    assert not actions(app, "twofactor.enable")


def test_the_right_code_turns_it_on_and_shows_ten_recovery_codes_once(app, login_as):
    c = login_as("officer")
    c.post("/two-step/start")
    secret = pending_key(app, "officer")
    r = c.post("/two-step/setup", data={"code": code_at(secret)[:3] + " " + code_at(secret)[3:]})
    assert r.status_code == 200
    codes = re.findall(r'<li class="code">([A-Z0-9-]+)</li>', r.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        u = U("officer")
        assert u.totp_secret == secret and u.totp_pending is None and u.two_step_on
        hashes = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == u.id)).all()
        assert len(hashes) == 10 and not any(code.replace("-", "") in h for h in hashes for code in codes)
    # Shown once: the home page tells how many are left, never the codes.
    home = c.get("/two-step/").get_data(as_text=True)
    assert codes[0] not in home and "10" in home
    # The audit row holds neither the key nor a code.
    [row] = actions(app, "twofactor.enable")
    assert secret not in str(row.data) and not any(code in str(row.data) for code in codes)


# --- Logging in ---------------------------------------------------------------------------------


def test_the_password_alone_starts_no_session(app, client, enrolled):
    before = len(actions(app, "login.success"))
    r = password_step(client)
    assert r.status_code == 302 and r.headers["Location"] == "/two-step/verify"
    # No session: the officer's pages still send to the login page.
    r = client.get("/officer/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    page = client.get("/two-step/verify")
    assert page.status_code == 200 and "Nhập mã 6 số" in page.get_data(as_text=True)
    assert len(actions(app, "login.success")) == before


def test_a_current_code_logs_in_and_cannot_be_used_again(app, client, login_as, enrolled):
    secret, _codes = enrolled
    code = code_at(secret, 1)  # the setup spent the current step
    password_step(client)
    r = client.post("/two-step/verify", data={"code": code})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert client.get("/officer/").status_code == 200
    [row] = [a for a in actions(app, "login.success") if a.data.get("second_step")]
    assert row.data == {"second_step": "totp"}
    # The same code again, even right after a right password, is refused.
    other = app.test_client()
    password_step(other)
    r = other.post("/two-step/verify", data={"code": code})
    assert r.status_code == 401
    assert other.get("/officer/").status_code == 302
    # An older step is refused too, once a later one was used.
    r = other.post("/two-step/verify", data={"code": code_at(secret, 0)})
    assert r.status_code == 401


def test_a_code_from_a_step_already_used_at_setup_is_refused(app, client, enrolled):
    secret, _codes = enrolled
    password_step(client)
    assert client.post("/two-step/verify", data={"code": code_at(secret, 0)}).status_code == 401


def test_the_second_step_needs_a_right_password_first_and_expires(app, client, enrolled, monkeypatch):
    secret, _codes = enrolled
    # Without a password step, no code logs anyone in.
    r = client.post("/two-step/verify", data={"code": code_at(secret, 1)})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    # A wrong password never reaches the second step.
    r = client.post("/login", data={"phone": PHONES["officer"], "password": "wrong-wrong"})
    assert r.status_code == 401
    assert client.get("/two-step/verify").status_code == 303
    password_step(client)
    later = time.time() + twofactor.PENDING_MINUTES * 60 + 1
    monkeypatch.setattr(twofactor.time, "time", lambda: later)
    r = client.post("/two-step/verify", data={"code": pyotp.TOTP(secret).at(later)})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert client.get("/officer/").status_code == 302


def test_next_survives_the_second_step_and_stays_on_this_site(app, enrolled):
    secret, _codes = enrolled
    c = app.test_client()
    password_step(c, next_url="/people/")
    r = c.post("/two-step/verify", data={"code": code_at(secret, 1)})
    assert r.status_code == 303 and r.headers["Location"] == "/people/"
    # Another site as next= is dropped (the step above is spent: a recovery code here).
    evil = app.test_client()
    password_step(evil, next_url="//evil.example/x")
    r = evil.post("/two-step/verify", data={"code": _codes[0]})
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_accounts_without_it_log_in_as_before(client):
    r = password_step(client, "officer2", next_url="/people/")
    assert r.status_code == 302 and r.headers["Location"] == "/people/"


# --- Recovery codes -----------------------------------------------------------------------------


def test_a_recovery_code_works_once(app, enrolled):
    _secret, codes = enrolled
    c = app.test_client()
    password_step(c)
    r = c.post("/two-step/verify", data={"code": codes[3].lower().replace("-", " ")})
    assert r.status_code == 303
    assert c.get("/officer/").status_code == 200
    [used] = actions(app, "twofactor.recovery_used")
    assert used.data == {"left": 9}
    again = app.test_client()
    password_step(again)
    assert again.post("/two-step/verify", data={"code": codes[3]}).status_code == 401
    assert again.get("/officer/").status_code == 302


def test_new_recovery_codes_void_the_old_ones(app, login_as, enrolled):
    _secret, old = enrolled
    c = login_as_two_step(app, "officer", old[0])
    assert c.get("/two-step/recovery").status_code == 303  # a GET shows nothing and makes nothing
    r = c.post("/two-step/recovery")
    new = re.findall(r'<li class="code">([A-Z0-9-]+)</li>', r.get_data(as_text=True))
    assert r.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert actions(app, "twofactor.recovery_new")
    other = app.test_client()
    password_step(other)
    assert other.post("/two-step/verify", data={"code": old[1]}).status_code == 401
    assert other.post("/two-step/verify", data={"code": new[0]}).status_code == 303


def login_as_two_step(app, who: str, recovery: str):
    c = app.test_client()
    password_step(c, who)
    assert c.post("/two-step/verify", data={"code": recovery}).status_code == 303
    return c


# --- Wrong codes --------------------------------------------------------------------------------


def test_wrong_codes_are_throttled_and_audited(app, enrolled):
    secret, codes = enrolled
    c = app.test_client()
    password_step(c)
    for _ in range(5):
        assert c.post("/two-step/verify", data={"code": "000000"}).status_code == 401
    # Past the free tries even a right code waits, and typing the password again forgives nothing.
    r = c.post("/two-step/verify", data={"code": codes[0]})
    assert r.status_code == 429 and "phút" in r.get_data(as_text=True)
    r = password_step(app.test_client())
    assert r.status_code == 429
    wrong = actions(app, "twofactor.wrong_code")
    assert len(wrong) == 5 and wrong[0].data == {"stage": "login"} and wrong[0].actor_id is None
    with app.app_context():
        assert wrong[0].target_id == U("officer").id
        assert not db.session.scalar(select(RecoveryCode.used_at).where(RecoveryCode.used_at.is_not(None)))


# --- Turning it off -----------------------------------------------------------------------------


def test_turning_it_off_needs_a_code(app, enrolled):
    secret, codes = enrolled
    c = login_as_two_step(app, "officer", codes[0])
    r = c.post("/two-step/off", data={"code": "111111"})
    assert r.status_code == 422
    assert secret_of(app, "officer") == secret
    assert actions(app, "twofactor.wrong_code")[-1].data == {"stage": "off"}
    r = c.post("/two-step/off", data={"code": codes[1]})
    assert r.status_code == 303
    with app.app_context():
        assert not U("officer").two_step_on
        assert db.session.scalar(select(RecoveryCode.id)) is None
    assert actions(app, "twofactor.disable")[0].data == {"by_code": "recovery"}
    assert password_step(app.test_client()).headers["Location"] == "/officer/"


# --- The commune's requirement ------------------------------------------------------------------


def require(app, on=True):
    with app.app_context():
        s = CommuneSettings.of(U("commander").commune_id)
        s.require_two_step = on
        db.session.add(s)
        db.session.commit()


def test_the_commander_cannot_require_it_before_setting_it_up(app, login_as):
    c = login_as("commander")
    page = c.get("/commander/settings").get_data(as_text=True)
    assert 'name="require"' not in page and "/two-step/" in page
    r = c.post("/commander/settings/two-step", data={"require": "y"})
    assert r.status_code == 409 and "tài khoản của mình trước" in r.get_data(as_text=True)
    with app.app_context():
        assert not CommuneSettings.of(U("commander").commune_id).require_two_step


def test_requiring_it_sends_officers_without_it_to_setup_only(app, login_as):
    boss = login_as("commander")
    enrol(app, boss, "commander")
    assert 'name="require"' in boss.get("/commander/settings").get_data(as_text=True)
    r = boss.post("/commander/settings/two-step", data={"require": "y"})
    assert r.status_code == 303
    with app.app_context():
        assert CommuneSettings.of(U("commander").commune_id).require_two_step
    [row] = [a for a in actions(app, "commune.settings") if "require_two_step" in a.data]
    assert row.data == {"require_two_step": True}
    # An officer without it: every page leads to the setup, only it, logout and language stay open.
    c = login_as("officer")
    for url in ("/officer/", "/people/", "/audit/"):
        r = c.get(url)
        assert r.status_code in (303, 404) and (r.status_code == 404 or r.headers["Location"] == "/two-step/")
    r = c.get("/officer/", headers={"HX-Request": "true"})
    assert r.headers.get("HX-Redirect") == "/two-step/"
    assert c.post("/officer/tips/1/outcome", data={}).status_code in (303, 404)
    page = c.get("/two-step/")
    assert page.status_code == 200 and "Xã yêu cầu" in page.get_data(as_text=True)
    assert c.post("/language", data={"lang": "vi", "next": "/"}).status_code == 302
    # Once set up, the officer works as before and cannot turn it off.
    codes = enrol(app, c)
    assert c.get("/officer/").status_code == 200
    r = c.post("/two-step/off", data={"code": codes[0]})
    assert r.status_code == 409
    with app.app_context():
        assert U("officer").two_step_on
    # Verifiers and informants are never asked.
    assert login_as("verifier").get("/verifier/").status_code == 200
    assert login_as("informant").get("/informant/").status_code == 200


def test_observers_may_opt_in_but_are_never_required(app, login_as):
    require(app)
    c = login_as("observer")
    assert c.get("/observer/").status_code == 200
    enrol(app, c, "observer")
    r = password_step(app.test_client(), "observer")
    assert r.headers["Location"] == "/two-step/verify"


# --- Reset by the commander, lost phone ---------------------------------------------------------


def test_the_commander_clears_an_officers_two_step_login(app, login_as, enrolled):
    officer = login_as_two_step(app, "officer", enrolled[1][0])
    boss = login_as("commander")
    with app.app_context():
        uid = U("officer").id
    page = boss.get(f"/people/{uid}").get_data(as_text=True)
    assert f"/two-step/reset/{uid}" in page
    # The button leads to a page that asks; nothing changes yet.
    r = boss.post(f"/two-step/reset/{uid}")
    assert r.status_code == 200 and 'name="confirm"' in r.get_data(as_text=True)
    assert secret_of(app, "officer") is not None
    r = boss.post(f"/two-step/reset/{uid}", data={"confirm": "y"})
    assert r.status_code == 303 and r.headers["Location"] == f"/people/{uid}"
    with app.app_context():
        assert not U("officer").two_step_on
        assert db.session.scalar(select(RecoveryCode.id)) is None
        live = db.session.scalars(select(UserSession).where(UserSession.user_id == uid,
                                                            UserSession.revoked_at.is_(None))).all()
        assert live == []
    [row] = actions(app, "twofactor.reset")
    assert row.data == {"reason": "reset"} and row.target_id == uid
    assert officer.get("/officer/").status_code == 302  # the old session is over
    # A second press: nothing to clear.
    assert boss.post(f"/two-step/reset/{uid}", data={"confirm": "y"}).status_code == 409


def test_only_the_commander_clears_and_not_their_own(app, login_as, enrolled):
    with app.app_context():
        uid, boss_id = U("officer").id, U("commander").id
    officer2 = login_as("officer2")
    assert officer2.post(f"/two-step/reset/{uid}", data={"confirm": "y"}).status_code == 404
    boss = login_as("commander")
    assert boss.post(f"/two-step/reset/{boss_id}", data={"confirm": "y"}).status_code == 404
    assert secret_of(app, "officer") is not None


def test_lost_phone_clears_two_step_login(app, login_as, enrolled):
    boss = login_as("commander")
    with app.app_context():
        uid = U("officer").id
    r = boss.post(f"/people/{uid}/lost-phone", data={"kind": "lost_phone", "reason": "Anh ấy báo mất máy hôm qua"})
    assert r.status_code == 200
    with app.app_context():
        assert not U("officer").two_step_on and U("officer").totp_pending is None
        assert db.session.scalar(select(RecoveryCode.id)) is None
    row = actions(app, "account.takeover")[-1]
    assert row.data["two_step"] is True and row.data["lost_phone"] is True


def test_a_new_activation_code_does_not_skip_the_second_step(app, login_as, enrolled):
    from zaloan import accounts

    with app.app_context():
        code = accounts.issue_activation(U("officer"), by=U("commander"))
        db.session.commit()
    c = app.test_client()
    r = c.post(f"/activate/{code}", data={"password": "Mot-mat-khau-rat-dai-7", "confirm": "Mot-mat-khau-rat-dai-7"})
    assert r.status_code == 302 and r.headers["Location"] == "/two-step/verify"
    assert c.get("/officer/").status_code == 302
    assert c.post("/two-step/verify", data={"code": enrolled[1][0]}).status_code == 303
    assert c.get("/officer/").status_code == 200


def test_the_qr_drawing_has_exactly_the_dark_modules_of_the_code(app):
    import segno

    with app.app_context():
        user = U("officer")
        secret = twofactor.new_key()
        drawing = twofactor.qr_drawing(user, secret)
        matrix = segno.make(twofactor.setup_uri(user, secret), error="m").matrix
    assert twofactor.setup_uri(user, secret).startswith("otpauth://totp/")
    dark = set()
    for x, y, length in re.findall(r"M(\d+) (\d+)\.5h(\d+)", drawing.path):
        dark |= {(int(x) - 4 + i, int(y) - 4) for i in range(int(length))}
    assert dark == {(x, y) for y, row in enumerate(matrix) for x, v in enumerate(row) if v}
    assert drawing.size == len(matrix) + 8


def test_a_command_clears_the_commanders_two_step_login(app, login_as):
    boss = login_as("commander")
    enrol(app, boss, "commander")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["two-step-reset", "--phone", "12ab"]).exit_code != 0
    assert runner.invoke(args=["two-step-reset", "--phone", PHONES["officer"]]).exit_code != 0
    result = runner.invoke(args=["two-step-reset", "--phone", PHONES["commander"]])
    assert result.exit_code == 0, result.output
    assert secret_of(app, "commander") is None
    [row] = actions(app, "twofactor.reset")
    assert row.actor_id is None and row.data == {"reason": "command"}
    with app.app_context():
        assert row.commune_id == U("commander").commune_id
    assert boss.get("/commander/").status_code == 302  # its sessions ended
