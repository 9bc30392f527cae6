"""The province administrator on a 360x640 phone: a second commune and its commander, who activates on
another phone and sees nothing of the demo commune Xã Tân Thành. Every page checked (axe-core, touch
targets, labels, CSP, nothing wider than 360 px). The README's pictures of it come from scripts/screenshots.py."""
from __future__ import annotations

import re

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Informant, Tip

from .checks import check_page
from .phone import sent
from .test_people_browser import fits, path_of

def demo_secrets(app) -> list[str]:
    with app.app_context():
        out = list(db.session.scalars(select(Tip.code))) + list(db.session.scalars(select(Informant.alias)))
    return out + ["Nguyễn Văn An", "Trần Thị Bình", "Phạm Minh Đức", "Vi Thị Hoa", "Thôn Đồng Bé", "Chợ Tân Thành",
                  "Lương Văn Hùng", "Xã Tân Thành"]


def test_the_province_admin_creates_a_commune_whose_commander_sees_nothing_of_the_first(app, phone):
    admin = phone("0900000040")
    assert path_of(admin) == "/province/"
    assert "Xã Tân Thành" in admin.content()
    check_page(admin, "province-home")
    fits(admin)

    sent(admin, admin.get_by_role("link", name="Thêm xã").first.click)
    assert path_of(admin) == "/province/communes/new"
    # An empty name is said on its field, in Vietnamese.
    sent(admin, admin.get_by_role("button", name="Tạo xã").click)
    assert admin.get_by_role("alert").filter(has_text="Vui lòng nhập tên xã.").is_visible()
    admin.get_by_label("Tên xã").fill("Xã Yên Thường")
    check_page(admin, "province-new-commune")
    fits(admin)
    sent(admin, admin.get_by_role("button", name="Tạo xã").click)
    admin.wait_for_url(re.compile(r".*/province/communes/\d+$"))
    admin.get_by_text("Đã tạo xã.").wait_for()
    assert "Đã tạo xã." in admin.content() and "/x/yen-thuong/report/" in admin.content()
    check_page(admin, "province-commune")
    fits(admin)

    admin.get_by_label("Họ và tên").fill("Hà Văn Sơn")
    admin.get_by_label("Số điện thoại").fill("0912 345 701")
    sent(admin, admin.get_by_role("button", name="Tạo tài khoản").click)
    code = admin.locator("p.code").inner_text()
    assert len(code.replace("-", "")) == 12
    check_page(admin, "province-created")
    fits(admin)
    admin.goto("/province/")
    assert "Xã Yên Thường" in admin.content()

    # The commander, on their own phone.
    chief = phone()
    chief.goto(f"/activate/{code.replace('-', '')}")
    chief.fill("input[name=password]", "suoi-trong-xanh-9")
    chief.fill("input[name=confirm]", "suoi-trong-xanh-9")
    with chief.expect_navigation():
        chief.get_by_role("button", name="Lưu và đăng nhập").click()
    assert path_of(chief) == "/commander/"
    assert "Xã Yên Thường" in chief.content()
    secrets = demo_secrets(app)
    for path in ("/commander/", "/officer/", "/people/", "/places/", "/audit/"):
        chief.goto(path)
        check_page(chief, "province-chief" + path.replace("/", "-").rstrip("-"))
        fits(chief)
        leaked = [s for s in secrets if s in chief.content()]
        assert not leaked, f"{path} shows {leaked}"


def test_the_admin_creates_a_commune_without_javascript(app, phone):
    admin = phone("0900000040", java_script_enabled=False)
    admin.goto("/province/communes/new")
    admin.get_by_label("Tên xã").fill("Xã Yên Vượng")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Tạo xã").click()
    assert path_of(admin).startswith("/province/communes/") and "Xã Yên Vượng" in admin.content()


def test_an_observer_of_the_province_reads_every_commune_side_by_side_on_a_phone(app, phone):
    admin = phone("0900000040")
    admin.goto("/province/observers/new")
    check_page(admin, "province-new-observer")
    fits(admin)
    admin.get_by_label("Tỉnh Lạng Sơn").check()
    admin.get_by_label("Họ và tên").fill("Ban Chỉ đạo 138 tỉnh")
    admin.get_by_label("Số điện thoại").fill("0912 345 702")
    sent(admin, admin.get_by_role("button", name="Tạo tài khoản").click)
    code = admin.locator("p.code").inner_text().replace("-", "")
    observer = phone()
    observer.goto(f"/activate/{code}")
    observer.fill("input[name=password]", "suoi-trong-xanh-9")
    observer.fill("input[name=confirm]", "suoi-trong-xanh-9")
    with observer.expect_navigation():
        observer.get_by_role("button", name="Lưu và đăng nhập").click()
    assert path_of(observer) == "/observer/"
    assert "Cộng tất cả các xã (1 xã)" in observer.content() and "Xã Tân Thành" in observer.content()
    check_page(observer, "province-observer")
    fits(observer)
    secrets = [s for s in demo_secrets(app) if s not in ("Xã Tân Thành", "Thôn Đồng Bé")]
    assert not [s for s in secrets if s in observer.content()]
