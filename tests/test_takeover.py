"""An officer's take-over of an account in use: a new activation code only for a stated reason, audited as
such, ending the person's sessions at once, and told to the person (the old phone when it next opens
the app, the next password sign-in with the reason), never to a stranger nor to a verifier."""
from __future__ import annotations

import re
from datetime import timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.models import AccountTakeover, ActivationCode, AuditEvent, CommuneSettings, User, UserSession

from .conftest import PASSWORD, PHONES
from .helpers import U
from .secrecy import assert_verifier_never_sees

REASON = "Anh gọi điện lúc 9 giờ sáng, quên mật khẩu"
TOLD_OLD_PHONE = "Công an xã đã cấp lại mã kích hoạt cho tài khoản này"
TOLD_AT_SIGN_IN = "Tài khoản của bạn đã được cấp lại mã kích hoạt"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def uid(app, who: str) -> int:
    with app.app_context():
        return U(who).id


def code_from(html: str) -> str:
    m = re.search(r'<p class="code big">([A-Z0-9]{4})-([A-Z0-9]{4})-([A-Z0-9]{4})</p>', html)
    assert m, "no activation code on the page"
    return "".join(m.groups())


def take_over(client, person_id: int, action: str = "code", kind: str = "forgot_password", reason: str = REASON):
    return client.post(f"/people/{person_id}/{action}", data={"kind": kind, "reason": reason})


def activate(app, code: str, password: str = "tre-xanh-go-7"):
    c = app.test_client()
    r = c.post(f"/activate/{code}", data={"password": password, "confirm": password})
    assert r.status_code == 302
    return c


def sign_in(app, who: str, password: str):
    c = app.test_client()
    r = c.post("/login", data={"phone": PHONES[who], "password": password})
    assert r.status_code == 302, r.status_code
    return c, c.get(r.headers["Location"]).get_data(as_text=True)


def actions(*names: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(names)).order_by(AuditEvent.id)))


def local(value) -> tuple[str, str]:
    at = value.replace(tzinfo=timezone.utc).astimezone(LOCAL)
    return at.strftime("%H:%M"), at.strftime("%d/%m/%Y")


# --- A reason, or nothing happens ------------------------------------------------------------------


def test_a_new_code_for_an_account_in_use_needs_a_reason_or_nothing_changes(app, login_as):
    iid = uid(app, "informant")
    phone = login_as("informant")
    officer = login_as("officer")
    with app.app_context():
        codes_before = db.session.scalar(select(func.count(ActivationCode.id)))
        password_before = U("informant").password_hash
    refused = [
        ("code", {}, "Hãy ghi lý do"),
        ("lost-phone", {}, "Hãy ghi lý do"),
        ("code", {"kind": "forgot_password", "reason": "quên"}, "từ 10 đến 300 ký tự"),
        ("lost-phone", {"kind": "lost_phone", "reason": "x" * 301}, "từ 10 đến 300 ký tự"),
        ("code", {"kind": "somebody_asked", "reason": REASON}, "Hãy chọn vì sao"),
        ("code", {"reason": REASON}, "Hãy chọn vì sao"),
        ("code", {"kind": "other", "reason": "  \x00  " + " " * 20}, "Hãy ghi lý do"),
    ]
    for action, data, message in refused:
        r = officer.post(f"/people/{iid}/{action}", data=data)
        html = r.get_data(as_text=True)
        assert r.status_code == 422, (action, data, r.status_code)
        assert message in html, (action, data)
        assert 'class="code big"' not in html
    with app.app_context():
        assert db.session.scalar(select(func.count(ActivationCode.id))) == codes_before
        assert U("informant").password_hash == password_before
        assert actions("account.takeover", "account.activation_issued", "account.lost_phone") == []
        assert db.session.scalar(select(func.count(AccountTakeover.id))) == 0
    assert phone.get("/informant/").status_code == 200  # still logged in


def test_the_form_offers_common_reasons_and_keeps_what_was_typed(app, login_as):
    iid = uid(app, "informant")
    officer = login_as("officer")
    html = officer.get(f"/people/{iid}").get_data(as_text=True)
    for label in ("Mất điện thoại", "Quên mật khẩu", "Đổi số điện thoại", "Khác"):
        assert f"<span>{label}</span>" in html
    assert f'formaction="/people/{iid}/lost-phone"' in html and f'action="/people/{iid}/code"' in html
    r = officer.post(f"/people/{iid}/code", data={"kind": "new_number", "reason": "ngắn"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and re.search(r">\s*ngắn</textarea>", html)
    assert re.search(r'<input[^>]*checked[^>]*value="new_number"|<input[^>]*value="new_number"[^>]*checked', html)


def test_only_an_account_in_use_asks_for_a_reason(app, login_as):
    c = login_as("officer")
    r = c.post("/people/new", data={"role": "verifier", "full_name": "Chưa Kích Hoạt", "phone": "0987000556",
                                    "village_id": str(village_id(app)), "title": "village_head"})
    assert r.status_code == 200
    pid = uid(app, "0987000556")
    # Waiting for the first activation: the code again, one tap, no reason (nobody's messages are behind it).
    page = c.get(f"/people/{pid}").get_data(as_text=True)
    assert 'name="reason"' not in page.split('id="account"')[1].split("</section>")[0]
    r = c.post(f"/people/{pid}/code")
    assert r.status_code == 200
    activate(app, code_from(r.get_data(as_text=True)))
    # In use now: a new code needs a reason.
    page = c.get(f"/people/{pid}").get_data(as_text=True)
    assert 'name="reason"' in page.split('id="account"')[1].split("</section>")[0]
    assert c.post(f"/people/{pid}/code").status_code == 422
    with app.app_context():
        assert len(actions("account.activation_issued")) == 2 and actions("account.takeover") == []


def village_id(app) -> int:
    from zaloan.models import Unit

    with app.app_context():
        return db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))


# --- Audited as such -------------------------------------------------------------------------------


def test_the_reason_is_audited_as_a_takeover_by_the_officer_of_the_person(app, login_as):
    iid, officer_id = uid(app, "informant"), uid(app, "officer")
    r = take_over(login_as("officer"), iid, "lost-phone", kind="lost_phone")
    assert r.status_code == 200 and code_from(r.get_data(as_text=True))
    with app.app_context():
        [row] = actions("account.takeover")
        assert (row.actor_id, row.target_type, row.target_id) == (officer_id, "user", iid)
        assert row.data["reason"] == REASON and row.data["kind"] == "lost_phone" and row.data["lost_phone"] is True
        # One row says it all: no plain "new code" or "lost phone" row beside it.
        assert actions("account.activation_issued", "account.lost_phone") == []
        assert U("informant").password_hash is None
        alias = U("informant").informant.alias
    log = login_as("commander").get("/audit/").get_data(as_text=True)
    assert REASON in log and alias in log and "mất điện thoại" in log
    assert "Nguyễn Văn An" not in log and "0900 000 010" not in log
    # The handler's page of the person shows it too: when, by whom, why.
    page = login_as("officer").get(f"/people/{iid}").get_data(as_text=True)
    assert REASON in page and "Phạm Minh Đức" in page and "Mã chưa được dùng" in page


def test_a_commander_taking_over_an_officer_account_gives_a_reason_too(app, login_as):
    oid = uid(app, "officer")
    commander = login_as("commander")
    assert commander.post(f"/people/{oid}/code").status_code == 422
    assert take_over(commander, oid, kind="other").status_code == 200
    with app.app_context():
        [row] = actions("account.takeover")
        assert row.target_id == oid and row.actor_id == U("commander").id


# --- Sessions end at once --------------------------------------------------------------------------


def test_a_takeover_ends_the_persons_other_sessions_at_once(app, login_as):
    iid = uid(app, "informant")
    phone, tablet = login_as("informant"), login_as("informant")
    other = login_as("informant2")
    officer = login_as("officer")
    assert take_over(officer, iid).status_code == 200
    for client in (phone, tablet):
        r = client.get("/informant/")
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert other.get("/informant/").status_code == 200
    assert officer.get("/officer/").status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(UserSession).where(UserSession.user_id == iid)).all()
        assert rows and all(s.revoked_at is not None and s.revoked_reason == "takeover" for s in rows)
        assert actions("account.takeover")[0].data["sessions"] == 2


# --- The old phone is told --------------------------------------------------------------------------


def test_the_old_phone_is_told_on_the_login_page_once(app, login_as):
    iid = uid(app, "informant")
    phone = login_as("informant")
    assert take_over(login_as("officer"), iid).status_code == 200
    with app.app_context():
        revoked_at = db.session.scalar(select(UserSession.revoked_at).where(UserSession.user_id == iid))
    hour, day = local(revoked_at)
    r = phone.get("/", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.request.path == "/login"
    assert TOLD_OLD_PHONE in html and f"lúc {hour} ngày {day}" in html
    assert "báo ngay cho chỉ huy Công an xã (số trực ban 0900 000 113)" in html
    assert 'class="flash warn" role="alert"' in html
    # The reason is for the person at their sign-in, not for whoever holds the old phone.
    assert REASON not in html
    again = phone.get("/login").get_data(as_text=True)
    assert TOLD_OLD_PHONE not in again
    assert phone.get("/informant/").status_code == 302


def test_the_old_phone_is_told_when_the_new_code_is_used_elsewhere(app, login_as):
    iid = uid(app, "informant")
    code = code_from(take_over(login_as("officer"), iid).get_data(as_text=True))
    # Before the code is used, the old password still works: the person signs in again, and is told.
    phone, home = sign_in(app, "informant", PASSWORD)
    assert TOLD_AT_SIGN_IN in home and REASON in home
    activate(app, code)
    html = phone.get("/informant/", follow_redirects=True).get_data(as_text=True)
    assert TOLD_OLD_PHONE in html


def test_a_stranger_on_the_login_page_learns_nothing_of_the_account(app, login_as):
    iid = uid(app, "informant")
    phone = login_as("informant")
    assert take_over(login_as("officer"), iid, "lost-phone", kind="lost_phone").status_code == 200
    stranger = app.test_client()
    html = stranger.get("/login").get_data(as_text=True)
    r = stranger.post("/login", data={"phone": PHONES["informant"], "password": PASSWORD})
    html += r.get_data(as_text=True) + stranger.get("/", follow_redirects=True).get_data(as_text=True)
    assert r.status_code == 401
    for word in ("cấp lại mã", "cấp mã", REASON, "trực ban"):
        assert word not in html
    assert TOLD_OLD_PHONE in phone.get("/", follow_redirects=True).get_data(as_text=True)  # the one that held it is
    # A browser that logged out of the account before the take-over held no live session: told nothing either.
    with app.app_context():
        before = U("informant2").id
    left = login_as("informant2")
    left.post("/logout")
    assert take_over(login_as("officer"), before).status_code == 200
    assert TOLD_OLD_PHONE not in left.get("/", follow_redirects=True).get_data(as_text=True)


# --- The next password sign-in is told, not the activating browser -------------------------------------


def test_the_activating_browser_is_not_told_but_the_next_password_sign_in_is_once(app, login_as):
    iid = uid(app, "informant")
    code = code_from(take_over(login_as("officer"), iid, "lost-phone", kind="lost_phone").get_data(as_text=True))
    with app.app_context():
        made = db.session.scalar(select(AccountTakeover.created_at))
    new_phone = activate(app, code, "nuoc-mat-troi-5")
    html = new_phone.get("/informant/").get_data(as_text=True)
    assert TOLD_AT_SIGN_IN not in html and TOLD_OLD_PHONE not in html
    with app.app_context():
        row = db.session.scalar(select(AccountTakeover))
        assert row.activated_at is not None and row.notice_seen_at is None
    _, home = sign_in(app, "informant", "nuoc-mat-troi-5")
    hour, day = local(made)
    assert TOLD_AT_SIGN_IN in home and f"lúc {hour} ngày {day}" in home
    assert f"lý do: Mất điện thoại ({REASON})" in home and "báo ngay cho chỉ huy" in home
    _, later = sign_in(app, "informant", "nuoc-mat-troi-5")
    assert TOLD_AT_SIGN_IN not in later
    assert new_phone.get("/informant/").status_code == 200  # the activating browser stays logged in
    with app.app_context():
        assert db.session.scalar(select(AccountTakeover)).notice_seen_at is not None
    page = login_as("officer").get(f"/people/{iid}").get_data(as_text=True)
    assert "Mã đã được dùng" in page and "Người này đã được báo" in page


# --- A verifier never sees the reason ------------------------------------------------------------------


def test_a_verifier_never_sees_the_reason(app, login_as):
    iid = uid(app, "informant")
    assert take_over(login_as("officer"), iid).status_code == 200
    with app.app_context():
        assert actions("account.takeover")[0].data["reason"] == REASON
    assert_verifier_never_sees(login_as("verifier"), [REASON], extra_urls=[f"/people/{iid}", "/audit/"])
