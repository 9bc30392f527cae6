"""A take-over on a phone: the officer gives an informant in use a new code for a stated reason, the
informant's old phone is told when it next opens the app, and the next password sign-in is told the
reason; every page checked (axe-core, touch targets, text size, labels, CSP, 360 px) and kept as a
screenshot."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import User

from .checks import check_page
from .phone import login, sent

REASON = "Anh gọi điện lúc 9 giờ sáng nhờ cấp lại, quên mật khẩu"


def fits(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, page.url


def informant_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.phone == "+84900000010"))


def test_an_officer_takes_over_an_informant_account_and_the_old_phone_is_told(app, phone):
    iid = informant_id(app)
    old_phone = phone("informant")
    assert urlsplit(old_phone.url).path == "/informant/"
    officer = phone("officer")
    officer.goto(f"/people/{iid}")
    check_page(officer, "takeover-form")
    fits(officer)
    # No reason: nothing happens, and the form says what is missing.
    sent(officer, officer.get_by_role("button", name="Cấp mã kích hoạt mới").click)
    assert "Hãy ghi lý do" in officer.content() and officer.locator("p.code").count() == 0
    check_page(officer, "takeover-refused")
    officer.get_by_label("Quên mật khẩu").check()
    officer.get_by_label("Ghi rõ ai đề nghị, lúc nào, bằng cách nào").fill(REASON)
    sent(officer, officer.get_by_role("button", name="Cấp mã kích hoạt mới").click)
    code = officer.locator("p.code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert REASON in officer.content()  # in the page's list of new codes given
    check_page(officer, "takeover-code")
    fits(officer)
    # The informant's old phone opens the app again: logged out, and told why.
    old_phone.goto("/informant/")
    assert urlsplit(old_phone.url).path == "/login"
    told = old_phone.locator(".flash.warn")
    assert "Công an xã đã cấp lại mã kích hoạt cho tài khoản này" in told.inner_text()
    assert "0900 000 113" in told.inner_text() and REASON not in old_phone.content()
    check_page(old_phone, "takeover-old-phone")
    fits(old_phone)
    old_phone.reload()
    assert old_phone.locator(".flash.warn").count() == 0
    # Before the code is used the old password still works; that sign-in is told the reason, once.
    login(old_phone, "0900000010")
    assert urlsplit(old_phone.url).path == "/informant/"
    assert REASON in old_phone.locator(".flash.warn").inner_text()
    check_page(old_phone, "takeover-notice")
    fits(old_phone)


def test_the_old_phone_is_told_with_javascript_off(app, phone):
    iid = informant_id(app)
    old_phone = phone("informant", java_script_enabled=False)
    officer = phone("officer", java_script_enabled=False)
    officer.goto(f"/people/{iid}")
    officer.get_by_label("Mất điện thoại").check()
    officer.get_by_label("Ghi rõ ai đề nghị, lúc nào, bằng cách nào").fill(REASON)
    sent(officer, officer.get_by_role("button", name="Mất điện thoại").click)
    assert officer.locator("p.code").count() == 1
    old_phone.goto("/")
    assert "Công an xã đã cấp lại mã kích hoạt" in old_phone.locator(".flash.warn").inner_text()
