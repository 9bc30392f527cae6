"""The officer's tip page on a 360x640 phone: short, the next action open, the view kept on what changed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Message, Tip, TipStatus, Unit, User

from .checks import check_page, screenshot
from .phone import sent

OFFICER = "+84900000002"
JS = pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])


def demo_tip(app, status: str) -> int:
    """Return the first demo tip with `status` in the villages of officer 0900000002."""
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.phone == OFFICER))
        return db.session.scalar(
            select(Tip.id).join(Unit, Tip.village_id == Unit.id)
            .where(Unit.officer_id == officer.id, Tip.status == status).order_by(Tip.id)
        )


def in_view(page, selector: str) -> dict:
    """Where the element's top and bottom are against the 640 px high window."""
    return page.locator(selector).first.evaluate(
        "(e) => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, height: innerHeight}; }")


def assert_top_in_view(page, selector: str) -> None:
    box = in_view(page, selector)
    assert -1 <= box["top"] < box["height"], (selector, box)  # an anchor lands within a pixel


def opened(page) -> list[str]:
    return page.eval_on_selector_all("#tip details[open]", "(ds) => ds.map((d) => d.id)")


@JS
def test_a_new_tip_fits_a_phone_with_triage_open(app, phone, js):
    """Everything once stood open (about 3,200 px); now the tip, its thread and triage come first.

    The bound leaves room for the empty thread's hint to the officer, a line or two more on the tip card,
    the deadline's line and the likely duplicates of a new tip.
    """
    tip_id = demo_tip(app, TipStatus.NEW)
    page = phone("officer", java_script_enabled=js)
    page.goto(f"/officer/tips/{tip_id}")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 2100, height
    assert opened(page) == ["tip-triage"]
    order = page.eval_on_selector_all("#tip > section, #tip > details", "(xs) => xs.map((x) => x.id)")
    assert order == ["tip-head", "tip-thread", "tip-triage", "tip-task", "tip-outcome", "tip-duplicate",
                     "tip-timeline"]
    # The tip itself, then the ask box, are on the first screens; the timeline is one tap away.
    assert page.locator("#tip-thread textarea[name=body]").is_visible()
    assert not page.locator("#tip-timeline ol").is_visible()
    page.locator("#tip-timeline > summary").click()
    assert page.locator("#tip-timeline ol").is_visible()
    if js:
        check_page(page, "officer-tip-new")


@JS
def test_asking_keeps_the_thread_in_view(app, phone, js):
    tip_id = demo_tip(app, TipStatus.NEW)
    page = phone("officer", java_script_enabled=js)
    page.goto(f"/officer/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    box = page.locator("#tip-thread textarea[name=body]")
    box.fill("Hai người đó đi xe màu gì?")
    sent(page, page.locator("#tip-thread button.btn.main").click, f"/officer/tips/{tip_id}/ask")
    question = page.locator("#tip-thread .thread li", has_text="Hai người đó đi xe màu gì?")
    assert question.count() == 1
    from playwright.sync_api import expect

    expect(question).to_be_in_viewport()
    assert_top_in_view(page, "#tip-thread")
    assert page.locator("#tip-thread textarea[name=body]").input_value() == ""
    screenshot(page, f"officer-tip-asked-{'htmx' if js else 'no-js'}")
    with app.app_context():
        assert db.session.scalar(select(Message.body).where(Message.tip_id == tip_id)) == "Hai người đó đi xe màu gì?"


def test_triage_then_the_task_form_opens_below_it(app, phone):
    """After "Lưu" the view stays on the triage (now showing the new values), the task form open next."""
    tip_id = demo_tip(app, TipStatus.NEW)
    page = phone("officer")
    page.goto(f"/officer/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    form = page.locator("#tip-triage form")
    form.locator("select[name=urgency]").select_option("4")
    form.locator("button.btn.main").scroll_into_view_if_needed()
    sent(page, form.locator("button.btn.main").click, f"/officer/tips/{tip_id}/triage")
    assert_top_in_view(page, "#tip-triage")
    assert opened(page) == ["tip-task"]
    assert "Khẩn cấp" in page.locator("#tip-triage > summary").inner_text()
    screenshot(page, "officer-tip-triaged")


@JS
def test_a_refused_task_shows_why_in_its_own_form(app, phone, js):
    """A brief too short is refused: the reason sits in the task form, on screen, with what was typed."""
    from playwright.sync_api import expect

    tip_id = demo_tip(app, TipStatus.TRIAGED)
    page = phone("officer", java_script_enabled=js)
    page.goto(f"/officer/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    assert opened(page) == ["tip-task"]  # triaged, in a village with a verifier: send it to be checked
    form = page.locator("#tip-task form")
    form.locator("input[name=verifier_ids]").first.check()
    form.locator("textarea[name=brief]").fill("Xem đi")
    form.locator("input[name=place_hint]").fill("Cổng chợ")
    sent(page, form.locator("button.btn.main").click, f"/officer/tips/{tip_id}/tasks")
    error = page.locator("#tip-task form .err[role=alert]")
    expect(error).to_have_count(1)
    assert "ít nhất vài từ" in error.inner_text()
    expect(error).to_be_in_viewport()
    assert page.locator("#tip > .err").count() == 0  # no box far away at the top
    assert "tip-task" in opened(page)
    form = page.locator("#tip-task form")
    assert form.locator("textarea[name=brief]").input_value() == "Xem đi"
    assert form.locator("input[name=place_hint]").input_value() == "Cổng chợ"
    assert form.locator("input[name=verifier_ids]").first.is_checked()
    if js:
        check_page(page, "officer-tip-task-refused")
    else:
        screenshot(page, "officer-tip-task-refused-no-js")


@JS
def test_reopening_without_a_reason_says_so_in_the_reopen_form(app, phone, js):
    from playwright.sync_api import expect

    tip_id = demo_tip(app, TipStatus.CLOSED)
    page = phone("officer", java_script_enabled=js)
    page.goto(f"/officer/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    assert opened(page) == ["tip-reopen"]
    form = page.locator("#tip-reopen form")
    form.locator("input[name=reason]").fill("   ")
    sent(page, form.locator("button.btn.main").click, f"/officer/tips/{tip_id}/reopen")
    error = page.locator("#tip-reopen form .err[role=alert]")
    expect(error).to_be_in_viewport()
    assert error.inner_text().strip()
    assert "tip-reopen" in opened(page)
    with app.app_context():
        assert db.session.get(Tip, tip_id).status == TipStatus.CLOSED
    screenshot(page, f"officer-tip-reopen-refused-{'htmx' if js else 'no-js'}")
