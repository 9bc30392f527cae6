"""Accounts and places on a phone: the commander and an officer at work, every page checked
(axe-core, touch targets, labels, CSP, nothing wider than 360 px) and kept as a screenshot."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import User, WatchPoint

from .checks import check_page
from .phone import sent

IDENTITY = ("Nguyễn Văn An", "Trần Thị Bình", "0900 000 010", "0900000010", "+84900000010")


def path_of(page) -> str:
    return urlsplit(page.url).path


def fits(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, page.url


def ids(app) -> dict:
    with app.app_context():
        def uid(phone):
            return db.session.scalar(select(User.id).where(User.phone == phone))

        market = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        return {"informant": uid("+84900000010"), "officer": uid("+84900000002"), "verifier": uid("+84900000020"),
                "market": market.id, "village": market.village_id, "window": market.windows[0].id}


def test_the_commander_manages_accounts_on_a_phone(app, phone):
    o = ids(app)
    page = phone("commander")
    for path, name in (("/people/", "people-list"), (f"/people/{o['informant']}", "people-informant"),
                       (f"/people/{o['officer']}", "people-officer"),
                       (f"/people/{o['officer']}/handover", "people-handover")):
        page.goto(path)
        check_page(page, name)
        fits(page)
        html = page.content()
        assert not [s for s in IDENTITY if s in html], path
    # Create a verifier: choose the role, and only that role's fields remain on screen.
    page.goto("/people/new")
    page.get_by_label("Người xác minh").check()
    assert not page.locator("input[name=posts]").first.is_visible()
    assert page.locator("input[name=title]").first.is_visible()
    check_page(page, "people-new-verifier")
    fits(page)
    page.get_by_label("Họ và tên").fill("Lò Thị Mười")
    page.get_by_label("Số điện thoại").fill("0912 345 610")
    page.get_by_label("Thôn Hạ Lý").check()
    page.get_by_label("Trưởng thôn").check()
    sent(page, page.get_by_role("button", name="Tạo tài khoản").click)
    code = page.locator("p.code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert f"/activate/{code.replace('-', '')}" in page.content()
    check_page(page, "people-created")
    fits(page)
    # The identity, for a reason.
    page.goto(f"/people/{o['informant']}")
    page.get_by_label("Vì sao cần xem danh tính người này?").fill("Mời lên làm việc")
    sent(page, page.get_by_role("button", name="Xem tên và số điện thoại").click)
    assert "Nguyễn Văn An" in page.content()
    check_page(page, "people-identity")


def test_the_commander_runs_places_on_a_phone(app, phone):
    o = ids(app)
    page = phone("commander")
    for path, name in (("/places/", "places-tree"), (f"/places/villages/{o['village']}", "places-village"),
                       (f"/places/points/{o['market']}", "places-point"),
                       (f"/places/windows/{o['window']}", "places-window"),
                       ("/places/categories", "places-categories"), ("/commander/", "commander-home")):
        page.goto(path)
        check_page(page, name)
        fits(page)
    # A wrong time is said on its field, in Vietnamese, and nothing is lost.
    page.goto(f"/places/points/{o['market']}")
    page.get_by_label("Tên gọi (không bắt buộc), ví dụ: Chợ sáng").fill("Chợ chiều")
    page.get_by_label("Từ").fill("15:00")
    page.get_by_label("Đến").fill("15:00")
    sent(page, page.get_by_role("button", name="Thêm khung giờ").click)
    assert page.get_by_role("alert").filter(has_text="Giờ kết thúc phải khác giờ bắt đầu.").is_visible()
    assert page.get_by_label("Tên gọi (không bắt buộc), ví dụ: Chợ sáng").input_value() == "Chợ chiều"
    check_page(page, "places-window-error")


def test_an_officer_sees_their_people_and_places_on_a_phone(app, phone):
    page = phone("officer")
    assert path_of(page) == "/officer/"
    sent(page, page.get_by_role("link", name="Người của tôi").click)
    assert path_of(page) == "/people/"
    check_page(page, "officer-people")
    fits(page)
    assert "NT-0001" in page.content() and not [s for s in IDENTITY if s in page.content()]
    for path, name in (("/people/new", "officer-people-new"), ("/places/", "officer-places")):
        page.goto(path)
        check_page(page, name)
        fits(page)


def test_forms_work_without_javascript(app, phone):
    o = ids(app)
    page = phone("officer", java_script_enabled=False)
    page.goto(f"/people/{o['verifier']}")
    with page.expect_navigation():
        page.get_by_role("button", name="Khóa tài khoản").click()
    assert path_of(page) == f"/people/{o['verifier']}"
    assert "Đã khóa" in page.content()
    with app.app_context():
        assert not db.session.get(User, o["verifier"]).active
