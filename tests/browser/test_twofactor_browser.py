"""In a phone's browser: setting up two-step login, logging in with a code or a recovery code, the commander's reset."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pyotp
from sqlalchemy import select

from zaloan import twofactor
from zaloan.extensions import db
from zaloan.models import RecoveryCode

from ..conftest import PASSWORD, PHONES
from ..helpers import U
from .checks import check_page
from .phone import sent


def path_of(page) -> str:
    return urlsplit(page.url).path


def turn_on(app, who: str = "officer") -> tuple[str, list[str]]:
    """Turn two-step login on for `who` straight in the database; return (key, recovery codes)."""
    with app.app_context():
        user = U(who)
        twofactor.start_setup(user)
        secret = user.totp_pending
        codes = twofactor.confirm_setup(user, pyotp.TOTP(secret).now())
        db.session.commit()
        return secret, codes


def password_step(page, who: str = "officer") -> None:
    page.goto("/login")
    page.get_by_label("Số điện thoại").fill(PHONES[who])
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()


def test_setting_up_two_step_login_on_a_phone(app, phone):
    page = phone("officer")
    page.get_by_role("link", name="Xác thực hai lớp").click()
    page.wait_for_url("**/two-step/")
    check_page(page, "two-step-off")
    sent(page, lambda: page.get_by_role("button", name="Cài đặt xác thực hai lớp").click())
    page.wait_for_url("**/two-step/setup")
    page.locator(".qr-box svg").wait_for()
    qr = page.locator(".qr-box svg").bounding_box()
    assert qr["width"] >= 200 and qr["height"] >= 200
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    check_page(page, "two-step-setup")
    # The key as shown, in groups of four: what someone types into the app by hand.
    key = page.locator("#key").inner_text().replace(" ", "")
    with app.app_context():
        assert key == U("officer").totp_pending
    page.get_by_role("textbox", name="Mã").fill(pyotp.TOTP(key).now())
    sent(page, lambda: page.get_by_role("button", name="Xác nhận và bật").click())
    assert page.get_by_text("Đã bật xác thực hai lớp.").is_visible()
    shown = page.locator("ol.codes li").all_inner_texts()
    assert len(shown) == 10
    check_page(page, "two-step-recovery-codes")
    with app.app_context():
        assert U("officer").totp_secret == key


def test_logging_in_with_a_code_on_a_phone(app, phone):
    secret, _codes = turn_on(app)
    page = phone()
    password_step(page)
    assert path_of(page) == "/two-step/verify"
    assert page.get_by_role("heading", name="Nhập mã 6 số trong ứng dụng xác thực").is_visible()
    check_page(page, "two-step-verify")
    # No session yet: a police page sends back to the login.
    other = page.context.new_page()
    other.goto("/officer/")
    assert path_of(other) == "/login"
    other.close()
    page.get_by_role("textbox", name="Mã").fill(pyotp.TOTP(secret).at(time.time() + 30))  # the setup spent the current step
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/officer/")


def test_a_recovery_code_logs_in_once_on_a_phone(app, phone):
    _secret, codes = turn_on(app)
    page = phone()
    password_step(page)
    page.get_by_role("textbox", name="Mã").fill(codes[0])
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/officer/")
    assert page.get_by_text("Bạn đã dùng một mã dự phòng; còn 9 mã.").is_visible()
    again = phone()
    password_step(again)
    again.get_by_role("textbox", name="Mã").fill(codes[0])
    sent(again, lambda: again.get_by_role("button", name="Đăng nhập").click())
    assert path_of(again) == "/two-step/verify"
    assert again.get_by_role("alert").filter(has_text="Mã không đúng hoặc đã dùng rồi.").is_visible()
    check_page(again, "two-step-verify-used-code")


def test_the_second_step_works_without_javascript(app, phone):
    _secret, codes = turn_on(app)
    page = phone(java_script_enabled=False)
    password_step(page)
    page.get_by_role("textbox", name="Mã").fill(codes[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    assert path_of(page) == "/officer/"


def test_the_commander_clears_an_officers_two_step_login_on_a_phone(app, phone):
    turn_on(app)
    with app.app_context():
        uid = U("officer").id
    page = phone("commander")
    page.goto(f"/people/{uid}")
    sent(page, lambda: page.get_by_role("button", name="Xoá xác thực hai lớp").click())
    assert path_of(page) == f"/two-step/reset/{uid}"
    check_page(page, "two-step-reset-confirm")
    sent(page, lambda: page.get_by_role("button", name="Đồng ý, xoá").click())
    page.wait_for_url(f"**/people/{uid}")
    page.get_by_text("Đã xoá xác thực hai lớp của tài khoản này.").wait_for()
    assert page.get_by_role("button", name="Xoá xác thực hai lớp").count() == 0
    with app.app_context():
        assert not U("officer").two_step_on
        assert db.session.scalar(select(RecoveryCode.id)) is None


def test_the_commander_requires_it_after_setting_it_up_on_a_phone(app, phone):
    turn_on(app, "commander")
    page = phone()
    with app.app_context():
        secret = U("commander").totp_secret
    password_step(page, "commander")
    page.get_by_role("textbox", name="Mã").fill(pyotp.TOTP(secret).at(time.time() + 30))
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/commander/settings")
    page.get_by_text("Cán bộ và chỉ huy phải dùng xác thực hai lớp").click()
    sent(page, lambda: page.locator("#two-step").get_by_role("button", name="Lưu").click())
    page.get_by_text("Từ nay cán bộ và chỉ huy phải dùng xác thực hai lớp.").wait_for()
    check_page(page, "two-step-commune-settings")
    officer = phone("officer")
    officer.goto("/officer/")
    assert path_of(officer) == "/two-step/"
    check_page(officer, "two-step-required")
