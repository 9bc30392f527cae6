"""Logging in and out, server-side sessions, activation, disabling and lost phones."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from zaloan import accounts, passwords
from zaloan.extensions import db
from zaloan.models import ActivationCode, AuditEvent, PublicAttempt, Role, User, UserSession, utcnow

from .conftest import PASSWORD, PHONES

HOMES = {
    "commander": "/commander/",
    "officer": "/officer/",
    "informant": "/informant/",
    "verifier": "/verifier/",
    "observer": "/observer/",
}


@pytest.mark.parametrize("who", list(HOMES))
def test_each_role_logs_in_to_its_own_home_and_out(client, who):
    r = client.post("/login", data={"phone": PHONES[who], "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] == HOMES[who]
    page = client.get(HOMES[who])
    assert page.status_code == 200
    assert b'<html lang="vi">' in page.data
    # Every other role's home is closed to this one (the commander also sees the tip queue).
    for other, url in HOMES.items():
        if other != who and not (who == "commander" and other == "officer"):
            assert client.get(url).status_code == 404
    r = client.post("/logout")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    r = client.get(HOMES[who])
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("typed", ["0900000002", "0900 000 002", "+84 900 000 002", "84900000002", "0900.000.002"])
def test_any_common_form_of_the_number_is_the_same_account(client, typed):
    r = client.post("/login", data={"phone": typed, "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/officer/"


def test_unknown_phone_and_wrong_password_get_the_same_message(client, app):
    wrong = client.post("/login", data={"phone": PHONES["officer"], "password": "nope-nope"})
    unknown = client.post("/login", data={"phone": "0987654321", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Sai số điện thoại hoặc mật khẩu." in wrong.get_data(as_text=True)
    assert "Sai số điện thoại hoặc mật khẩu." in unknown.get_data(as_text=True)
    with app.app_context():
        failures = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failure")).all()
        assert len(failures) == 2


def test_invalid_phone_is_a_field_error_not_a_500(client):
    r = client.post("/login", data={"phone": "12ab", "password": "x"})
    assert r.status_code == 422
    assert "Đây không phải số điện thoại Việt Nam hợp lệ." in r.get_data(as_text=True)
    r = client.post("/login", data={"phone": "0" * 5000, "password": "x" * 5000})
    assert r.status_code == 422


# Known ways to make a "local" redirect land on another site, as the server receives them.
REDIRECT_BYPASSES = [
    "//evil.example/x",
    "/\\evil.example/x",
    "\\/\\/evil.example/x",
    "///evil.example/x",
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r\n/evil.example/x",
    "/%09/evil.example/x",
    "/%0A/evil.example/x",
    "/%5Cevil.example/x",
    "/%5C%5Cevil.example/x",
    "/%2F%2Fevil.example/x",
    "/%252F%252Fevil.example/x",
    "%2F%2Fevil.example/x",
    "https://evil.example/x",
    "HTTPS://evil.example/x",
    "http:evil.example/x",
    "http:/\\evil.example/x",
    "javascript:alert(1)",
    " //evil.example/x",
    "\x00//evil.example/x",
    "/\x00/evil.example/x",
    "/\u0085/evil.example/x",
    "evil.example/x",
    "@evil.example/x",
]


def lands_on_this_site(location: str) -> bool:
    """Resolve a Location the way a browser does (WHATWG URL rules) and say whether it stays on this site."""
    from urllib.parse import urljoin, urlsplit

    raw = location.strip("".join(map(chr, range(0x21))))
    for ch in "\t\n\r":
        raw = raw.replace(ch, "")
    raw = raw.replace("\\", "/")
    if raw.startswith("//"):
        raw = "//" + raw.lstrip("/")  # for http(s), any run of slashes before a host counts as two
    resolved = urlsplit(urljoin("https://zaloan.test/login", raw))
    return (resolved.scheme, resolved.netloc) == ("https", "zaloan.test")


@pytest.mark.parametrize("payload", REDIRECT_BYPASSES)
def test_no_known_bypass_makes_login_redirect_to_another_site(app, payload):
    r = app.test_client().post("/login", query_string={"next": payload},
                               data={"phone": PHONES["officer"], "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] == "/officer/"
    assert lands_on_this_site(r.headers["Location"])


@pytest.mark.parametrize("payload", REDIRECT_BYPASSES)
def test_no_known_bypass_makes_the_language_switch_redirect_to_another_site(client, payload):
    r = client.post("/language", data={"lang": "en", "next": payload})
    assert r.status_code == 302
    assert r.headers["Location"] == "/"


def test_the_raw_tab_trick_in_a_login_link_is_refused(client):
    # As typed in a link: the server decodes %09 to a tab, a browser drops the tab and sees //evil.example.
    r = client.post("/login?next=/%09/evil.example/x", data={"phone": PHONES["officer"], "password": PASSWORD})
    assert r.headers["Location"] == "/officer/"


@pytest.mark.parametrize("target", ["/officer/", "/officer/?status=all", "/officer/tips/5?tab=thread&x=%2F",
                                    "/people/?role=informant", "/audit/?q=tr%E1%BB%99m"])
def test_a_local_page_survives_login_and_the_language_switch(app, target):
    r = app.test_client().post("/login", query_string={"next": target},
                               data={"phone": PHONES["officer"], "password": PASSWORD})
    assert r.headers["Location"] == target
    r = app.test_client().post("/language", data={"lang": "vi", "next": target})
    assert r.headers["Location"] == target


def test_every_bypass_is_refused_and_a_local_path_kept_by_safe_next():
    from zaloan.web import safe_next

    for payload in REDIRECT_BYPASSES:
        assert safe_next(payload) is None, payload
    # The browser model above sees through the classic tricks (so the tests using it can fail).
    for trick in ["//evil.example", "/\t/evil.example", "/\\evil.example", "\\/\\/evil.example", "///evil.example",
                  " //evil.example", "https://evil.example"]:
        assert not lands_on_this_site(trick), trick
    assert safe_next("/officer/?status=all#top") == "/officer/?status=all"
    assert safe_next(None) is None and safe_next("") is None


def test_login_gives_a_new_session_id_and_a_hardened_cookie(client, app):
    client.get("/login")
    with client.session_transaction() as s:
        s["sid"] = "attacker-chosen"
    r = client.post("/login", data={"phone": PHONES["officer"], "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as s:
        assert s["sid"] != "attacker-chosen"
    with app.app_context():
        assert db.session.scalar(select(UserSession).where(UserSession.token_hash == accounts.sha256("attacker-chosen"))) is None


def test_old_cookie_is_refused_after_logout(app, login_as):
    c = login_as("officer")
    with c.session_transaction() as s:
        stolen = dict(s)
    assert c.post("/logout").status_code == 302
    thief = app.test_client()
    with thief.session_transaction() as s:
        s.update(stolen)
    r = thief.get("/officer/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_logout_everywhere_ends_other_sessions(login_as):
    phone, desk = login_as("officer"), login_as("officer")
    assert desk.get("/officer/").status_code == 200
    phone.post("/logout-everywhere")
    assert desk.get("/officer/").status_code == 302


def test_a_session_survives_between_requests(login_as):
    c = login_as("verifier")
    for _ in range(3):
        assert c.get("/verifier/").status_code == 200


def test_lost_phone_ends_every_session_and_the_old_password(app, login_as, user):
    c1, c2 = login_as("verifier"), login_as("verifier")
    with app.app_context():
        person = user("verifier")
        code = accounts.lost_phone(person, by=user("officer"))
        db.session.commit()
    assert c1.get("/verifier/").status_code == 302
    assert c2.get("/verifier/").status_code == 302
    again = app.test_client().post("/login", data={"phone": PHONES["verifier"], "password": PASSWORD})
    assert again.status_code == 401
    # The new phone activates with the new code.
    fresh = app.test_client()
    r = fresh.post(f"/activate/{code}", data={"password": "nuoc-mat-troi-5", "confirm": "nuoc-mat-troi-5"})
    assert r.status_code == 302 and r.headers["Location"] == "/verifier/"


def test_disabled_account_is_logged_out_and_cannot_log_in(app, login_as, user):
    c = login_as("informant")
    with app.app_context():
        accounts.disable(user("informant"), by=user("officer"))
        db.session.commit()
    assert c.get("/informant/").status_code == 302
    r = app.test_client().post("/login", data={"phone": PHONES["informant"], "password": PASSWORD})
    assert r.status_code == 401
    assert "Tài khoản này đã bị khóa" in r.get_data(as_text=True)


WRONG_CODE = "Mã không đúng hoặc đã hết hạn."


def new_person(app, role=Role.VERIFIER):
    with app.app_context():
        from zaloan.models import Unit, UnitKind

        commune = db.session.scalar(select(Unit).where(Unit.kind == UnitKind.COMMUNE))
        village = commune.villages()[0]
        officer = db.session.scalar(select(User).where(User.phone == "+84900000002"))
        person = accounts.create_user(
            by=officer, phone="0912345678", full_name="Lê Văn Mới", role=role, commune=commune, village=village,
            title="village_head",
        )
        code = accounts.issue_activation(person, by=officer)
        db.session.commit()
        return person.id, code


def test_activation_sets_the_password_and_logs_in(app):
    person_id, code = new_person(app)
    c = app.test_client()
    page = c.get(f"/activate/{code}")
    assert page.status_code == 200
    assert "Lê Văn Mới" not in page.get_data(as_text=True)  # the code alone shows no name
    r = c.post(f"/activate/{code}", data={"password": "tre-xanh-go-7", "confirm": "tre-xanh-go-7"})
    assert r.status_code == 302 and r.headers["Location"] == "/verifier/"
    assert c.get("/verifier/").status_code == 200
    r = app.test_client().post("/login", data={"phone": "0912 345 678", "password": "tre-xanh-go-7"})
    assert r.status_code == 302


def test_activation_code_works_once(app):
    _, code = new_person(app)
    c = app.test_client()
    c.post(f"/activate/{code}", data={"password": "tre-xanh-go-7", "confirm": "tre-xanh-go-7"})
    r = app.test_client().post(f"/activate/{code}", data={"password": "hijack-123", "confirm": "hijack-123"})
    assert r.status_code == 404
    assert WRONG_CODE in r.get_data(as_text=True)
    bad = app.test_client().post("/login", data={"phone": "0912345678", "password": "hijack-123"})
    assert bad.status_code == 401


def test_activation_code_expires_after_72_hours(app):
    person_id, code = new_person(app)
    with app.app_context():
        row = db.session.scalar(select(ActivationCode).where(ActivationCode.user_id == person_id))
        assert row.expires_at - row.created_at == timedelta(hours=72)
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    r = app.test_client().post(f"/activate/{code}", data={"password": "tre-xanh-go-7", "confirm": "tre-xanh-go-7"})
    assert r.status_code == 404
    assert WRONG_CODE in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, person_id).password_hash is None


def test_a_new_code_replaces_the_old_one(app):
    person_id, first = new_person(app)
    with app.app_context():
        second = accounts.issue_activation(db.session.get(User, person_id), by=None)
        db.session.commit()
    assert app.test_client().get(f"/activate/{first}").status_code == 404
    assert app.test_client().get(f"/activate/{second}").status_code == 200


def test_unknown_activation_code_and_mismatched_passwords(app):
    assert app.test_client().get("/activate/NOTACODE").status_code == 404
    _, code = new_person(app)
    r = app.test_client().post(f"/activate/{code}", data={"password": "tre-xanh-go-7", "confirm": "khac-nhau-2"})
    assert r.status_code == 422
    assert "Hai lần nhập mật khẩu không giống nhau." in r.get_data(as_text=True)
    r = app.test_client().post(f"/activate/{code}", data={"password": "short", "confirm": "short"})
    assert r.status_code == 422


def test_activation_code_can_be_typed_with_spaces_and_dashes(app):
    _, code = new_person(app)
    typed = f" {code[:4].lower()}-{code[4:8]} {code[8:]} "
    r = app.test_client().post("/activate", data={"code": typed})
    assert r.status_code == 302 and r.headers["Location"] == f"/activate/{code}"


def test_repeated_failures_slow_down_that_phone(app, client):
    for _ in range(5):
        client.post("/login", data={"phone": PHONES["officer"], "password": "wrong-wrong"})
    r = client.post("/login", data={"phone": PHONES["officer"], "password": PASSWORD})
    assert r.status_code == 429
    assert "thử lại sau" in r.get_data(as_text=True)
    # Another person is not held up by it.
    other = app.test_client().post("/login", data={"phone": PHONES["commander"], "password": PASSWORD})
    assert other.status_code == 302


def test_english_can_be_chosen(client):
    client.post("/language", data={"lang": "en", "next": "/login"})
    page = client.get("/login")
    assert b'<html lang="en">' in page.data and b"Log in" in page.data
    client.post("/language", data={"lang": "xx"})
    assert b'<html lang="vi">' in client.get("/login").data


def test_every_login_costs_exactly_one_password_hash(app, monkeypatch):
    """An unknown phone, an account not yet activated, a locked one and a wrong password: one hash each."""
    import zaloan.models

    new_person(app)  # 0912345678, not activated
    with app.app_context():
        db.session.scalar(select(User).where(User.phone == "+84900000003")).active = False
        db.session.commit()
    calls = []
    real = zaloan.models.check_password_hash
    monkeypatch.setattr(zaloan.models, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    for phone in ["0987654321", "0912345678", "0900000003", PHONES["officer"]]:
        calls.clear()
        r = app.test_client().post("/login", data={"phone": phone, "password": "sai-mat-khau"})
        assert r.status_code == 401
        assert len(calls) == 1, phone


# --- Activation codes: long, one answer for every wrong code, guesses limited -------------------------


def from_address(app, address: str):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def alert_of(html: str) -> str:
    alerts = re.findall(r'role="alert">([^<]*)<', html)
    assert alerts, html
    return alerts[0].strip()


def test_codes_are_twelve_plain_signs_shown_in_groups_of_four(app):
    _, code = new_person(app)
    assert len(code) == 12 and set(code) <= set(accounts.CODE_ALPHABET)
    assert accounts.grouped_code(code) == f"{code[:4]}-{code[4:8]}-{code[8:]}"
    assert accounts.grouped_code(code.lower().replace("", " ")) == accounts.grouped_code(code)


def test_unknown_used_expired_and_locked_codes_get_one_and_the_same_answer(app, user):
    answers = {}
    answers["unknown"] = from_address(app, "192.0.2.1").get("/activate/ABCDEFGHJKMN")
    person_id, used = new_person(app)
    from_address(app, "192.0.2.2").post(f"/activate/{used}", data={"password": "tre-xanh-go-7",
                                                                   "confirm": "tre-xanh-go-7"})
    answers["used"] = from_address(app, "192.0.2.3").get(f"/activate/{used}")
    with app.app_context():
        person = db.session.get(User, person_id)
        expired = accounts.issue_activation(person, by=None)
        db.session.scalar(select(ActivationCode).where(ActivationCode.used_at.is_(None))).expires_at = utcnow()
        db.session.commit()
    answers["expired"] = from_address(app, "192.0.2.4").get(f"/activate/{expired}")
    with app.app_context():
        person = db.session.get(User, person_id)
        locked = accounts.issue_activation(person, by=None)
        accounts.disable(person, by=user("officer"))
        db.session.commit()
    answers["locked"] = from_address(app, "192.0.2.5").get(f"/activate/{locked}")
    assert {r.status_code for r in answers.values()} == {404}
    assert {alert_of(r.get_data(as_text=True)) for r in answers.values()} == {WRONG_CODE}
    # Typed into the form, a wrong code is said on the field, with what was typed kept.
    r = from_address(app, "192.0.2.6").post("/activate", data={"code": f"{used[:4]}-{used[4:8]}-{used[8:]}"})
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert alert_of(html) == WRONG_CODE and f'value="{used[:4]}-{used[4:8]}-{used[8:]}"' in html


def test_wrong_codes_are_limited_per_connection_and_a_right_code_waits_too(app):
    _, code = new_person(app)
    guesser = from_address(app, "203.0.113.7")
    for i in range(10):
        assert guesser.get(f"/activate/WRONGCODE{i:03d}").status_code == 404
    r = guesser.get("/activate/WRONGCODE999")
    assert r.status_code == 429
    assert "Vui lòng thử lại sau 60 phút" in r.get_data(as_text=True)
    # Past the limit even the right code is refused from this connection, and the form too.
    assert guesser.get(f"/activate/{code}").status_code == 429
    assert guesser.post(f"/activate/{code}", data={"password": "tre-xanh-go-7",
                                                   "confirm": "tre-xanh-go-7"}).status_code == 429
    assert guesser.post("/activate", data={"code": code}).status_code == 429
    with app.app_context():
        assert db.session.scalar(select(ActivationCode)).used_at is None
        keys = set(db.session.scalars(select(PublicAttempt.client_key).where(PublicAttempt.kind == "code")))
        assert keys == {accounts.keyed("client:203.0.113.7")}  # a keyed hash, never the address
    # Another connection is not held up; this one may try again once the hour has passed.
    assert from_address(app, "203.0.113.8").get(f"/activate/{code}").status_code == 200
    with app.app_context():
        for row in db.session.scalars(select(PublicAttempt)):
            row.created_at -= timedelta(hours=1)
        db.session.commit()
    assert guesser.get(f"/activate/{code}").status_code == 200


def test_wrong_codes_are_capped_across_all_connections(app):
    _, code = new_person(app)
    with app.app_context():
        for i in range(accounts.CODE_GUESSES_PER_HOUR - 1):
            accounts.note_public("code", accounts.keyed(f"client:10.{i // 250}.{i % 250}.1"))
        db.session.commit()
    # One more wrong code from yet another connection reaches the cap ...
    assert from_address(app, "198.51.100.1").get("/activate/WRONGWRONG22").status_code == 404
    # ... and from then on nobody may try a code, a right one included, until the hour has passed.
    fresh = from_address(app, "198.51.100.2")
    r = fresh.get(f"/activate/{code}")
    assert r.status_code == 429 and "Đã nhập sai mã quá nhiều lần" in r.get_data(as_text=True)
    with app.app_context():
        for row in db.session.scalars(select(PublicAttempt)):
            row.created_at -= timedelta(minutes=61)
        db.session.commit()
    assert fresh.get(f"/activate/{code}").status_code == 200


def test_a_right_code_is_not_counted_as_a_guess(app):
    _, code = new_person(app)
    c = from_address(app, "203.0.113.9")
    for _ in range(12):
        assert c.get(f"/activate/{code}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(PublicAttempt.id)) is None


def test_a_code_of_eight_signs_issued_before_codes_grew_still_works(app):
    person_id, _ = new_person(app)
    with app.app_context():
        row = db.session.scalar(select(ActivationCode).where(ActivationCode.user_id == person_id))
        row.code_hash = accounts.sha256("ABCD2345")
        db.session.commit()
    c = app.test_client()
    assert c.post("/activate", data={"code": "abcd-2345"}).headers["Location"] == "/activate/ABCD2345"
    r = c.post("/activate/ABCD2345", data={"password": "tre-xanh-go-7", "confirm": "tre-xanh-go-7"})
    assert r.status_code == 302 and r.headers["Location"] == "/verifier/"


# --- Passwords (NIST SP 800-63B): long enough, not common, not the person's phone or name --------------

REASON_SHORT = "Mật khẩu cần ít nhất 8 ký tự."
REASON_LONG = "Mật khẩu dài nhất 128 ký tự."
REASON_PHONE = "Mật khẩu không được chứa số điện thoại của bạn."
REASON_NAME = "Mật khẩu không được là tên của bạn, kể cả khi thêm số."
REASON_COMMON = "Mật khẩu này có quá nhiều người dùng nên dễ bị đoán."
REASON_EASY = "Mật khẩu này quá dễ đoán"


@pytest.mark.parametrize("password, reason", [
    ("short", REASON_SHORT),
    ("x" * 129, REASON_LONG),
    # The person's phone (0912 345 678), however it is written.
    ("0912345678", REASON_PHONE),
    ("84912345678", REASON_PHONE),
    ("+84912345678", REASON_PHONE),
    ("so 0912 345 678", REASON_PHONE),
    # The person's name (Lê Văn Mới), with or without accents, spaces or numbers.
    ("Lê Văn Mới", REASON_NAME),
    ("levanmoi", REASON_NAME),
    ("LeVanMoi1990", REASON_NAME),
    ("moi12345", REASON_NAME),
    # Common passwords, Vietnamese favourites among them, and their obvious variations.
    ("12345678", REASON_COMMON),
    ("123456789", REASON_COMMON),
    ("password1", REASON_COMMON),
    ("iloveyou", REASON_COMMON),
    ("matkhau123", REASON_COMMON),
    ("mật-khẩu-1", REASON_COMMON),
    ("anhyeuem", REASON_COMMON),
    ("anhyeuem2024", REASON_COMMON),
    ("vietnam1", REASON_COMMON),
    ("11111111", REASON_COMMON),
    ("qwertyuiop", REASON_COMMON),
    # Repeats, runs and dates.
    ("66668888", REASON_EASY),
    ("20101990", REASON_EASY),
    ("aaaaaaaaaa", REASON_EASY),
])
def test_weak_passwords_are_refused_with_the_reason_on_the_field(app, password, reason):
    person_id, code = new_person(app)
    r = app.test_client().post(f"/activate/{code}", data={"password": password, "confirm": password})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert alert_of(html).startswith(reason)
    assert password not in html  # a refused password is never sent back
    with app.app_context():
        assert db.session.get(User, person_id).password_hash is None
        assert db.session.scalar(select(ActivationCode).where(ActivationCode.user_id == person_id)).used_at is None


@pytest.mark.parametrize("password", ["tre-xanh-go-7", "hoa ban trang nui rung", "Ca phe sua da 8",
                                      "đồng lúa chín vàng", "q7#Lm!2zR", "tre-xanh " * 14 + "ab"])
def test_good_passwords_of_any_make_up_are_accepted(app, password):
    assert 8 <= len(password) <= 128
    _, code = new_person(app)
    c = app.test_client()
    r = c.post(f"/activate/{code}", data={"password": password, "confirm": password})
    assert r.status_code == 302, alert_of(r.get_data(as_text=True))
    assert app.test_client().post("/login", data={"phone": "0912345678", "password": password}).status_code == 302


def test_the_demo_password_still_logs_in(app, client):
    # The demo accounts are made directly, not through the form (the README gives demo-1234) ...
    assert client.post("/login", data={"phone": PHONES["officer"], "password": PASSWORD}).status_code == 302
    # ... which would refuse it, as the README says.
    with app.test_request_context():
        assert passwords.problem(PASSWORD, phone="+84900000002", name="Phạm Minh Đức")
