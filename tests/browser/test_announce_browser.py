"""Announcements and the operating rules on a 360x640 phone, with JavaScript and without.

The commander posts an announcement to every member; the informant reads it on their home page and
presses "Đã xem"; the commander publishes a new version of the rules; the informant is reminded on
every page but the tip form, reads it and agrees; the commune's public page works for anyone.
With ZALOAN_DOCS_SCREENSHOTS=1 the screens are also kept in docs/screenshots/ for the README.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from .checks import check_page
from .phone import sent

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BANNER = "Quy chế hoạt động có bản mới"


def jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (40, 120, 60)).save(buf, "JPEG")
    return buf.getvalue()


def keep(page, name: str, at: str | None = None) -> None:
    """Keep the screen (scrolled to `at`) for the README, as a small palette PNG, when asked to."""
    if os.environ.get("ZALOAN_DOCS_SCREENSHOTS") != "1":
        return
    from PIL import Image

    if at:
        page.eval_on_selector(at, "(el) => el.scrollIntoView({block: 'end'})")

    image = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG",
                                                                                              optimize=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / f"{name}.png").write_bytes(out.getvalue())


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_posting_and_reading_an_announcement(app, phone, js):
    boss = phone("commander", java_script_enabled=js)
    boss.goto("/news/new")
    boss.fill("input[name=title]", "Họp thành viên tối thứ Bảy")
    boss.fill("textarea[name=body]", "Mời các thành viên đến nhà văn hóa thôn lúc 19:30 thứ Bảy.")
    boss.locator("input[name=audience][value=members]").check()
    boss.locator("input[name=pinned]").check()
    boss.set_input_files("input[name=photo]", files=[{"name": "hop.jpg", "mimeType": "image/jpeg",
                                                      "buffer": jpeg()}])
    if js:
        check_page(boss, "announce-new")
        keep(boss, "announce-new")
    sent(boss, boss.locator("form[enctype] button.btn.main").click, "/news/new")
    boss.wait_for_url("**/news/manage")
    boss.locator("main").get_by_text("Đã đăng thông báo.").wait_for()
    main = boss.locator("main").inner_text()
    assert "Đã đăng thông báo." in main and "Họp thành viên tối thứ Bảy" in main and "Đã xem: 0 / 6 người" in main
    if js:
        check_page(boss, "announce-manage")

    an = phone("informant", java_script_enabled=js)
    an.goto("/informant/")
    news = an.locator("#news")
    assert "📌 Họp thành viên tối thứ Bảy" in news.inner_text()
    thumb = news.locator("img.thumb")
    thumb.scroll_into_view_if_needed()
    an.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    if js:
        check_page(an, "announce-informant-home")
        keep(an, "announce-informant-home", "#news")
    sent(an, news.get_by_role("button", name="Đã xem").click, "/news/1/read")
    an.wait_for_url("**/informant/")
    # Pinned: it stays on the home page, without the button.
    an.locator("#news").get_by_role("button", name="Đã xem").wait_for(state="detached")
    assert "📌 Họp thành viên tối thứ Bảy" in an.locator("#news").inner_text()

    boss.goto("/news/manage")
    assert "Đã xem: 1 / 6 người" in boss.locator("main").inner_text()
    boss.locator("main details summary").click()  # asked twice: a withdrawal cannot be undone
    sent(boss, boss.get_by_role("button", name="Gỡ hẳn").click, "/news/1/withdraw")
    an.goto("/informant/")
    assert an.locator("#news").count() == 0


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_agreeing_to_a_new_version_of_the_rules(app, phone, js):
    boss = phone("commander", java_script_enabled=js)
    boss.goto("/rules/edit")
    body = boss.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n- Họp thành viên mỗi tháng một lần.")
    boss.fill("input[name=note]", "Thêm họp tháng")
    sent(boss, boss.locator("main form button.btn.main").click, "/rules/edit")
    boss.wait_for_url("**/rules/")
    boss.locator("main").get_by_text("Bản 2, có hiệu lực").wait_for()

    an = phone("informant", java_script_enabled=js)
    an.wait_for_url("**/rules/")  # asked at once: the login's home page opened the new version instead
    an.goto("/informant/")  # asked once; from then on, a reminder
    assert BANNER in an.locator("body").inner_text()
    an.goto("/informant/tips/new")  # the tip form: nothing in the way
    assert BANNER not in an.locator("body").inner_text()
    an.goto("/informant/tips")
    if js:
        check_page(an, "rules-reminder")
    sent(an, an.get_by_role("link", name="Đọc quy chế").click)
    an.wait_for_url("**/rules/")
    assert "Họp thành viên mỗi tháng một lần." in an.locator("main").inner_text()
    if js:
        check_page(an, "rules-read")
        keep(an, "rules-read", "#agree")
    sent(an, an.get_by_role("button", name="Tôi đã đọc và đồng ý").click, "/rules/ack")
    an.locator("main").get_by_text("Cảm ơn bạn. Bạn đã đồng ý với Quy chế hoạt động.").wait_for()
    an.goto("/informant/")
    assert BANNER not in an.locator("body").inner_text()

    boss.goto("/rules/acks")
    assert "1 / 2" in boss.locator("main").inner_text() and "Nguyễn Văn An" not in boss.locator("main").inner_text()
    if js:
        check_page(boss, "rules-acks")
        keep(boss, "rules-acks")
        boss.goto("/rules/history")
        sent(boss, boss.get_by_role("link", name="Bản 2").click)
        check_page(boss, "rules-diff")


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_the_communes_public_page_for_anyone(app, phone, js):
    from zaloan import announcements
    from zaloan.extensions import db

    from ..helpers import U

    with app.app_context():
        announcements.post(by=U("commander"), title="Cảnh giác lừa đảo qua điện thoại",
                           body="Không chuyển tiền cho người lạ gọi tự xưng là công an.", audience="public")
        db.session.commit()
    page = phone(java_script_enabled=js)
    page.goto("/x/tan-thanh/")
    text = page.locator("main").inner_text()
    assert "Cảnh giác lừa đảo qua điện thoại" in text and "113" in text
    if js:
        check_page(page, "commune-public")
        keep(page, "commune-public")
    sent(page, page.get_by_role("link", name="Gửi tin báo").first.click)
    assert page.url.endswith("/x/tan-thanh/report/")
    assert "Cảnh giác lừa đảo qua điện thoại" in page.locator("main").inner_text()
