"""The yearly review on a 360x640 phone: read the figures, write the assessment, save, see it; the A4 print.

Every page checked (axe-core, touch targets, 16 px text, labels, CSP, nothing wider than 360 px). The
screen is kept as docs/screenshots/review.png when missing or with ZALOAN_DOCS_SCREENSHOTS=1.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .checks import check_page
from .phone import sent
from .test_people_browser import path_of
from .test_reports_browser import a_year_of_tips

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def fits(page) -> None:
    """Nothing of the page's own content is wider than the phone.

    The commander's navigation (six links) is checked by the navigation's own tests, not here.
    """
    assert page.evaluate("() => document.querySelector('main').scrollWidth") <= 360, page.url


def keep(page, name: str) -> bool:
    target = DOCS / f"{name}.png"
    return not target.exists() or os.environ.get("ZALOAN_DOCS_SCREENSHOTS") == "1"


def test_the_commander_writes_and_saves_the_review_on_a_phone(app, phone):
    a_year_of_tips(app, 40)
    chief = phone("commander")
    chief.goto("/reports/review?period=year")
    assert path_of(chief) == "/reports/review"
    assert chief.get_by_role("heading", name="I. Kết quả triển khai").is_visible()
    assert chief.get_by_role("heading", name="III. Phương hướng, nhiệm vụ kỳ tới").first.is_visible()
    check_page(chief, "review")
    fits(chief)

    chief.get_by_label("Ưu điểm").fill("Bà con các thôn tham gia đều, tin báo kịp thời.")
    chief.get_by_label("III. Phương hướng, nhiệm vụ kỳ tới").fill("Mở rộng mô hình ra các thôn còn lại.")
    sent(chief, chief.get_by_role("button", name="Lưu").click)
    assert path_of(chief) == "/reports/review"
    assert chief.get_by_text("Đã lưu, phiên bản 1.").is_visible()
    assert chief.locator("#document").get_by_text("Bà con các thôn tham gia đều").is_visible()
    assert chief.get_by_text("Phiên bản 1, do").is_visible()
    check_page(chief, "review-saved")
    fits(chief)
    if keep(chief, "review"):
        DOCS.mkdir(parents=True, exist_ok=True)
        chief.evaluate("() => document.querySelector('#document').scrollIntoView()")
        chief.screenshot(path=str(DOCS / "review.png"), full_page=False)

    sent(chief, chief.get_by_role("link", name="Trang để in").click)
    assert path_of(chief) == "/reports/review/print"
    check_page(chief, "review-print")
    fits(chief)
    chief.emulate_media(media="print")
    assert not chief.locator("nav.nav").is_visible() and not chief.locator(".no-print").is_visible()
    chief.emulate_media(media="screen")

    # The printed A4, as Chromium prints it: one or more pages, the commune and section I on the first.
    chief.emulate_media(media="print")  # page.pdf() prints with the media last emulated
    pdf = chief.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1
    if shutil.which("pdftoppm") and keep(chief, "review-a4"):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "review.pdf"
            source.write_bytes(pdf)
            subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source),
                            str(DOCS / "review-a4")], check=True, timeout=60)
