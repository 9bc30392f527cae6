"""In a phone's browser: logging in as each role, activating a new account, the verifier's side, no JavaScript."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from zaloan import accounts
from zaloan.extensions import db
from zaloan.models import Role, Unit, UnitKind, User

from ..conftest import PASSWORD, PHONES
from .checks import check_page, screenshot
from .phone import login, sent

HOMES = {
    "commander": "/commander/",
    "officer": "/officer/",
    "informant": "/informant/",
    "verifier": "/verifier/",
    "observer": "/observer/",
}
# What the demo's informants are called and reached by: never on a verifier's screen.
INFORMANT_IDENTITY = ("Nguyễn Văn An", "Trần Thị Bình", "0900 000 010", "0900000010", "0900 000 011", "0900000011",
                      "+84900000010", "+84900000011", "NT-")


def path_of(page) -> str:
    return urlsplit(page.url).path


@pytest.mark.parametrize("who", list(HOMES))
def test_each_role_logs_in_on_a_phone(phone, who):
    page = phone()
    page.goto("/")
    assert path_of(page) == "/login"
    check_page(page, "login")
    page.get_by_label("Số điện thoại").fill(PHONES[who])
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    assert path_of(page) == HOMES[who]
    assert page.locator("h1").first.is_visible()
    check_page(page, f"{who}-home")
    # Nothing scrolls sideways on a 360 px screen.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360


def test_wrong_password_is_said_on_the_page(phone):
    page = phone()
    page.goto("/login")
    page.fill("input[name=phone]", PHONES["officer"])
    page.fill("input[name=password]", "sai-mat-khau")
    sent(page, lambda: page.click("form button.btn.main"))
    assert path_of(page) == "/login"
    assert page.get_by_role("alert").filter(has_text="Sai số điện thoại hoặc mật khẩu.").is_visible()
    check_page(page, "login-wrong-password")


def test_a_new_account_is_activated_from_its_link(app, phone):
    with app.app_context():
        commune = db.session.scalar(select(Unit).where(Unit.kind == UnitKind.COMMUNE))
        officer = db.session.scalar(select(User).where(User.phone == "+84900000002"))
        person = accounts.create_user(by=officer, phone="0912345678", full_name="Lê Văn Mới", role=Role.VERIFIER,
                                      commune=commune, village=commune.villages()[0], title="village_head")
        code = accounts.issue_activation(person, by=officer)
        db.session.commit()
    page = phone()
    page.goto(f"/activate/{code}")
    assert "Lê Văn Mới" not in page.content()  # the link alone shows no name
    check_page(page, "activate")
    # A common password is refused, the reason on its field.
    page.get_by_label("Mật khẩu mới").fill("anhyeuem123")
    page.get_by_label("Nhập lại mật khẩu").fill("anhyeuem123")
    with page.expect_navigation():
        page.click("form button.btn.main")
    assert page.get_by_role("alert").filter(has_text="Mật khẩu này có quá nhiều người dùng").is_visible()
    check_page(page, "activate-weak-password")
    page.get_by_label("Mật khẩu mới").fill("tre-xanh-go-7")
    page.get_by_label("Nhập lại mật khẩu").fill("tre-xanh-go-7")
    with page.expect_navigation():
        page.click("form button.btn.main")
    assert path_of(page) == "/verifier/"
    assert page.get_by_role("status").filter(has_text="Tài khoản đã sẵn sàng").is_visible()
    check_page(page, "activated-home")
    # The link works once: opened again it says so.
    again = phone()
    response = again.goto(f"/activate/{code}")
    assert response.status == 404
    assert again.get_by_role("alert").filter(has_text="Mã không đúng hoặc đã hết hạn.").is_visible()
    # And the new password logs in on another phone.
    other = phone()
    login(other, "0912 345 678", "tre-xanh-go-7")
    assert path_of(other) == "/verifier/"


def test_the_verifier_sees_no_informant_identity_anywhere(phone):
    """Walk every page a verifier can reach by following links; none names an informant."""
    page = phone("verifier")
    assert path_of(page) == "/verifier/"
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    todo, seen = ["/verifier/"], set()
    while todo and len(seen) < 40:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(path)
        assert response.status == 200, path
        html = page.content()
        leaked = [s for s in INFORMANT_IDENTITY if s in html]
        assert not leaked, f"{path} shows {leaked}"
        check_page(page, "verifier" + path.replace("/", "-"))
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            url = urlsplit(urljoin(page.url, href))
            if f"{url.scheme}://{url.netloc}" == origin and url.path not in seen and not url.path.startswith("/static/"):
                todo.append(url.path + (f"?{url.query}" if url.query else ""))
    assert "/verifier/" in seen


def test_login_works_with_javascript_off(phone):
    page = phone(java_script_enabled=False)
    page.goto("/login")
    page.fill("input[name=phone]", PHONES["informant"])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button.btn.main")
    assert path_of(page) == "/informant/"
    assert page.locator("h1").first.is_visible()
    screenshot(page, "informant-home-no-js")  # the checks run scripts: not here
    # Logging out is a plain form too.
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()
    assert path_of(page) == "/login"
    page.goto("/informant/")
    assert path_of(page) == "/login"
