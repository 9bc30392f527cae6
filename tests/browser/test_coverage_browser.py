"""Building the model on a 360x640 phone, with JavaScript and without: the three steps of a village, the
coverage grid, and filling the village's security survey (a refused count first, then a saved version).
Screens go to docs/screenshots/ with ZALOAN_DOCS_SCREENSHOTS=1, or when the file is missing.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from .checks import check_page
from .phone import sent

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep(page, name: str, at: str | None = None) -> None:
    """Keep the screen (scrolled to `at`) for the README, as a small palette PNG."""
    target = DOCS / f"{name}.png"
    if os.environ.get("ZALOAN_DOCS_SCREENSHOTS") != "1" and target.exists():
        return
    from PIL import Image

    if at:
        page.eval_on_selector(at, "(el) => el.scrollIntoView({block: 'start'})")
    image = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG",
                                                                                              optimize=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    target.write_bytes(out.getvalue())


def no_sideways_scroll(page) -> None:
    """The page itself never scrolls sideways; only the grid's wrapper may."""
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_checklist_grid_and_survey(app, phone, js):
    officer = phone("officer", java_script_enabled=js)
    officer.goto("/places/")
    sent(officer, officer.get_by_role("link", name="Ba bước và độ phủ").click)
    officer.wait_for_url("**/build/")
    main = officer.locator("main").inner_text()
    assert "Xây dựng mô hình" in main and "Thôn Đồng Bé" in main and "Thôn Trung Tâm" not in main
    no_sideways_scroll(officer)
    if js:
        check_page(officer, "build-commune")
        keep(officer, "build-commune")

    sent(officer, officer.locator("main table").first.get_by_role("link", name="Thôn Đồng Bé").click)
    officer.wait_for_url("**/build/villages/*")
    main = officer.locator("main").inner_text()
    assert "Bước 1" in main and "Bước 2" in main and "Bước 3" in main and "Hoàng Văn Cường" in main
    assert "Chưa có bản khảo sát." in main
    no_sideways_scroll(officer)
    # The grid: the first column stays in view while the wrapper scrolls.
    grid = officer.locator(".grid-wrap").last
    assert officer.evaluate("(el) => getComputedStyle(el.querySelector('tbody th')).position",
                            grid.element_handle()) == "sticky"
    if js:
        check_page(officer, "build-village")
        keep(officer, "build-village")
        keep(officer, "build-grid", "#main .grid-wrap:last-of-type")

    # Choose another period in the GET form.
    officer.select_option("select[name=days]", "30")
    sent(officer, officer.locator("form.period button").click)
    assert "days=30" in officer.url

    sent(officer, officer.get_by_role("link", name="Làm bản khảo sát").click)
    officer.wait_for_url("**/survey")
    officer.fill("input[name=theft]", "-2")
    officer.fill("input[name=disputes]", "4")
    officer.fill("textarea[name=strengths]", "Các tổ tự quản họp đều đặn.")
    sent(officer, officer.get_by_role("button", name="Lưu bản khảo sát").click)
    main = officer.locator("main").inner_text()
    assert "Hãy nhập một số nguyên từ 0 đến 9999." in main and "Chưa lưu gì" in main
    assert officer.input_value("textarea[name=strengths]") == "Các tổ tự quản họp đều đặn."
    if js:
        check_page(officer, "build-survey-refused")
    officer.fill("input[name=theft]", "2")
    if js:
        keep(officer, "build-survey")
    sent(officer, officer.get_by_role("button", name="Lưu bản khảo sát").click)
    officer.wait_for_url("**/build/villages/*")
    officer.locator("main").get_by_text("Đã lưu bản khảo sát.").wait_for()
    survey = officer.locator("#survey").inner_text()
    assert "phiên bản 1" in survey and "Các tổ tự quản họp đều đặn." in survey
    if js:
        check_page(officer, "build-village-surveyed")


def test_the_observers_figures_on_a_phone(app, phone):
    observer = phone("observer")
    observer.goto("/observer/")
    sent(observer, observer.locator("nav").get_by_role("link", name="Xây dựng mô hình").click)
    observer.wait_for_url("**/build/figures")
    main = observer.locator("main").inner_text()
    assert "Thôn Đồng Bé" in main and "Nguyễn Văn An" not in main
    no_sideways_scroll(observer)
    check_page(observer, "build-figures")
