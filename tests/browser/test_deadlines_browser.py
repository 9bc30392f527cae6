"""Deadlines on a 360x640 phone: the officer's queue says the time left in words and marks tips near or past
their deadline; the commander's home lists what is late; a crime report's deadline is extended without
JavaScript, a refused extension saying why beside its field."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Category, Tip, TipStatus, Unit, User, utcnow

from .checks import check_page, screenshot

OFFICER = "+84900000002"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def officers_open_tips(app) -> list[int]:
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.phone == OFFICER))
        return list(db.session.scalars(
            select(Tip.id).join(Unit, Tip.village_id == Unit.id)
            .where(Unit.officer_id == officer.id, Tip.status.in_(TipStatus.OPEN)).order_by(Tip.id)))


def set_deadlines(app, lefts: dict[int, timedelta]) -> None:
    with app.app_context():
        now = utcnow()
        for tip_id, left in lefts.items():
            db.session.get(Tip, tip_id).deadline_at = now + left
        db.session.commit()


def test_the_queue_and_the_commanders_late_list_on_a_phone(app, phone):
    tips = officers_open_tips(app)
    assert len(tips) >= 3
    late, near, far = tips[:3]
    set_deadlines(app, {late: -timedelta(days=2, hours=3), near: timedelta(days=3, hours=3),
                        far: timedelta(days=15, hours=3)})

    page = phone("officer")
    page.goto("/officer/")
    queue = page.locator("#queue")
    assert queue.locator("li.late .tag.late", has_text="Quá hạn").first.is_visible()
    assert queue.locator(".tag.soon", has_text="Sắp hết hạn").first.is_visible()
    text = queue.inner_text()
    assert "quá hạn 2 ngày" in text or "quá hạn 3 ngày" in text
    assert "còn 3 ngày" in text or "còn 4 ngày" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing scrolls sideways
    check_page(page, "deadlines-queue")
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "deadlines-queue.png"))

    page = phone("commander")
    page.goto("/commander/")
    late_list = page.locator("#late")
    assert late_list.locator("h3", has_text="Tin quá hạn xử lý").is_visible()
    assert late_list.locator("h3", has_text="Việc xác minh quá hạn").is_visible()  # the demo's overdue task
    assert late_list.locator("h3", has_text="Tin còn 5 ngày trở xuống").is_visible()
    assert late_list.locator(".tag.late", has_text="Quá hạn").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    check_page(page, "deadlines-commander-home")
    late_list.scroll_into_view_if_needed()
    late_list.screenshot(path=str(DOCS / "deadlines-commander.png"))
    # A row opens the tip.
    late_list.locator("li.late a").first.click()
    page.wait_for_url("**/officer/tips/*")
    page.wait_for_selector("#tip-deadline-fact")


def test_extending_a_crime_report_without_javascript(app, phone):
    with app.app_context():
        theft = db.session.scalar(select(Category.id).where(Category.code == "theft"))
    tip_id = next(t for t in officers_open_tips(app) if _category(app, t) == theft or _make_theft(app, t, theft))
    page = phone("officer", java_script_enabled=False)
    page.goto(f"/officer/tips/{tip_id}")
    section = page.locator("#tip-deadline")
    section.locator("summary", has_text="Gia hạn").click()
    form = section.locator("form")
    form.locator("input[name=days]").fill("70")
    form.locator("textarea[name=reason]").fill("Cần giám định tài sản, chờ kết quả.")
    form.locator("input[name=authority]").fill("Viện KSND huyện")
    with page.expect_navigation():
        form.locator("button.btn.main").click()
    err = page.locator("#tip-deadline .err")
    assert "không được quá 2 tháng" in err.first.inner_text()
    assert page.locator("#tip-deadline textarea[name=reason]").input_value() == "Cần giám định tài sản, chờ kết quả."
    page.locator("#tip-deadline input[name=days]").fill("30")
    with page.expect_navigation():
        page.locator("#tip-deadline button.btn.main").click()
    assert page.url.endswith("#tip-deadline")
    assert "Gia hạn lần 1: thêm 30 ngày" in page.locator("#tip-deadline").inner_text()
    screenshot(page, "deadlines-tip-extended-no-js")


def test_the_tip_page_with_its_deadline_passes_the_checks(app, phone):
    """axe-core, touch targets, labels and CSP on a crime report's page with the extension form open."""
    with app.app_context():
        theft = db.session.scalar(select(Category.id).where(Category.code == "theft"))
    tip_id = officers_open_tips(app)[0]
    _make_theft(app, tip_id, theft)
    page = phone("officer")
    page.goto(f"/officer/tips/{tip_id}")
    # 20 days from receipt, counted in Vietnam's calendar days: 19 once the local day has turned since.
    assert re.search(r"còn (19|20) ngày", page.locator("#tip-deadline-fact").inner_text())
    page.locator("#tip-deadline summary").click()
    check_page(page, "deadlines-tip-page")


def _category(app, tip_id):
    with app.app_context():
        return db.session.get(Tip, tip_id).category_id


def _make_theft(app, tip_id, theft) -> bool:
    """Make the tip a theft (a crime report) with its deadline counted again, as triage would."""
    from zaloan import deadlines

    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        tip.category_id = theft
        db.session.flush()
        db.session.refresh(tip)
        deadlines.set_deadline(tip)
        db.session.commit()
    return True
