"""The commune report on a 360x640 phone: the period chooser, the charts and their tables, the print page.

Every page checked (axe-core, touch targets, 16 px text, labels, CSP, nothing
wider than 360 px); the commander's report is kept as docs/screenshots/report.png.
"""
from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Category, Outcome, Tip, TipStatus, Unit, utcnow

from .checks import check_page
from .phone import sent
from .test_people_browser import fits, path_of

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def a_year_of_tips(app, n: int = 120) -> None:
    """Add tips over the last 12 months, some closed with an outcome, to the demo commune."""
    rng = random.Random(3)
    with app.app_context():
        commune = db.session.scalar(select(Unit).where(Unit.name == "Xã Tân Thành"))
        villages = commune.villages()
        categories = list(db.session.scalars(select(Category).where(Category.commune_id == commune.id)))
        now = utcnow()
        for i in range(n):
            created = now - timedelta(days=rng.randint(1, 330), hours=rng.randint(0, 23))
            closed = rng.random() > 0.3
            db.session.add(Tip(code=f"BR{i:04d}", commune_id=commune.id, village_id=rng.choice(villages).id,
                               category_id=rng.choice(categories).id, occurred_at=created, created_at=created,
                               body="x", urgency=rng.randint(1, 4),
                               status=TipStatus.CLOSED if closed else TipStatus.TRIAGED,
                               outcome=rng.choice(Outcome.ALL) if closed else None,
                               closed_at=created + timedelta(hours=rng.randint(2, 200)) if closed else None,
                               first_read_at=created + timedelta(minutes=rng.randint(2, 300))))
        db.session.commit()


def test_the_commander_reads_the_report_with_its_charts_on_a_phone(app, phone):
    a_year_of_tips(app)
    chief = phone("commander")
    chief.goto("/reports/")
    assert path_of(chief) == "/reports/"
    assert chief.locator("svg.bars").count() == 2
    assert chief.locator("svg.bars rect.b-village").count() >= 3
    assert chief.get_by_role("table").count() >= 6
    check_page(chief, "report")
    fits(chief)
    SHOTS.mkdir(parents=True, exist_ok=True)
    chief.locator("figure.chart").first.scroll_into_view_if_needed()
    chief.evaluate("() => window.scrollBy(0, -60)")
    chief.screenshot(path=str(SHOTS / "report.png"), full_page=False)

    chief.get_by_text("In và tải về").click()
    sent(chief, chief.get_by_role("link", name="Trang để in").click)
    assert path_of(chief) == "/reports/print"
    assert "In lúc" in chief.content()
    check_page(chief, "report-print")
    fits(chief)
    chief.emulate_media(media="print")
    assert not chief.locator("nav.nav").is_visible() and not chief.locator(".no-print").is_visible()
    chief.emulate_media(media="screen")

    chief.goto("/reports/?period=custom&start=30/06/2026&end=01/01/2026")
    assert chief.get_by_role("alert").filter(has_text="Ngày đầu đang sau ngày cuối").is_visible()
    check_page(chief, "report-bad-period")
    fits(chief)


def test_the_period_form_works_without_javascript_and_bad_days_are_said_in_words(app, phone):
    chief = phone("commander", java_script_enabled=False)
    chief.goto("/reports/")
    chief.get_by_text("Chọn kỳ khác").click()
    chief.get_by_label("Từ ngày đến ngày").check()
    chief.fill("#start", "2026-06-30")
    chief.fill("#end", "2026-01-01")
    with chief.expect_navigation():
        chief.get_by_role("button", name="Xem").click()
    assert chief.get_by_role("alert").filter(has_text="Ngày đầu đang sau ngày cuối").is_visible()
    fits(chief)
    chief.fill("#start", "2026-01-01")
    chief.fill("#end", "2026-06-30")
    with chief.expect_navigation():
        chief.get_by_role("button", name="Xem").click()
    assert "Từ 01/01/2026 đến 30/06/2026" in chief.content()


def test_the_observer_reads_figures_only(app, phone):
    a_year_of_tips(app, 40)
    watcher = phone("observer")
    watcher.goto("/reports/")
    text = watcher.content()
    assert "BR00" not in text and "Danh sách tin báo" not in text and "NT-" not in text
    check_page(watcher, "report-observer")
    fits(watcher)
