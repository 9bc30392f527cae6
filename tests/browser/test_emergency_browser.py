"""Emergencies on a phone: choosing "Khẩn cấp" shows who to call (CSS only, JavaScript off), and the
sent page gives the numbers as tel: links; the officer's navigation counts the unread emergency."""
from __future__ import annotations

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Tip, Urgency

from .checks import check_page, screenshot
from .phone import sent

BODY = "Đang có đánh nhau ở cổng chợ, có người cầm dao."


def call_box(page):
    return page.locator(".urgent-help")


def test_choosing_an_emergency_shows_who_to_call_without_javascript(app, phone):
    page = phone("informant", java_script_enabled=False)
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    assert not call_box(page).is_visible()  # nothing to call about yet
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill(BODY)
    form.locator(f"input[name=urgency][value='{Urgency.EMERGENCY}']").check()
    assert call_box(page).is_visible()
    assert call_box(page).locator("a[href='tel:113']").is_visible()
    assert call_box(page).locator("a[href='tel:0900000113']").is_visible()
    screenshot(page, "informant-tip-form-emergency-no-js")  # (the checks run a script: see the test with it on)
    form.locator(f"input[name=urgency][value='{Urgency.NORMAL}']").check()
    assert not call_box(page).is_visible()  # another choice: the box goes away again

    form.locator(f"input[name=urgency][value='{Urgency.EMERGENCY}']").check()
    with page.expect_navigation():
        form.locator("button.btn.main").click()
    with app.app_context():
        tip = db.session.scalar(select(Tip).order_by(Tip.id.desc()))
        assert tip.body == BODY and tip.urgency == Urgency.EMERGENCY
    confirmation = page.locator("[data-clear-draft]")
    assert "chưa có cán bộ nào đọc" in confirmation.inner_text()
    for href in ("tel:113", "tel:0900000113"):
        link = confirmation.locator(f"a[href='{href}']")
        assert link.is_visible()
        box = link.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 250  # a big button across the card
    screenshot(page, "informant-emergency-sent-no-js")


def test_an_anonymous_emergency_without_javascript(app, phone):
    page = phone(java_script_enabled=False)
    page.goto("/report/")
    assert page.locator(".danger-line a[href='tel:113']").is_visible()
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill(BODY)
    form.locator(f"input[name=urgency][value='{Urgency.EMERGENCY}']").check()
    assert call_box(page).locator("a[href='tel:113']").is_visible()
    with page.expect_navigation():
        form.locator("button.btn.main").click()
    assert page.locator("a[href='tel:113']").is_visible()
    assert page.locator("a[href='tel:0900000113']").is_visible()
    screenshot(page, "anonymous-emergency-sent-no-js")


def test_the_emergency_pages_pass_the_checks_with_javascript_on(app, phone):
    """axe-core, touch targets, labels and CSP on the form with "Khẩn cấp" chosen and on the sent page."""
    page = phone("informant")
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill(BODY)
    form.locator(f"input[name=urgency][value='{Urgency.EMERGENCY}']").check()
    assert call_box(page).locator("a[href='tel:113']").is_visible()
    check_page(page, "informant-tip-form-emergency")
    sent(page, form.locator("button.btn.main").click, "/informant/tips/new")
    page.wait_for_selector("[data-clear-draft] a[href='tel:113']")
    check_page(page, "informant-emergency-sent")


def test_the_officer_sees_the_unread_emergency_and_opening_it_clears_the_count(app, phone):
    from zaloan import cases
    from zaloan.models import Category, Unit, User

    with app.app_context():
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        an = db.session.scalar(select(User).where(User.phone == "+84900000010"))
        cat = db.session.scalar(select(Category).where(Category.code == "disorder"))
        tip, _ = cases.submit_tip(commune=village.commune(), informant=an.informant, category=cat, body=BODY,
                                  village=village, urgency=Urgency.EMERGENCY, uploader=an)
        db.session.commit()
        tip_id, code = tip.id, tip.code
    page = phone("officer")
    page.goto("/people/")
    alarm = page.locator("a.alarm")
    assert alarm.is_visible() and "1 tin khẩn cấp" in alarm.inner_text()
    alarm.click()
    page.wait_for_url("**/officer/?*")
    page.wait_for_load_state("networkidle")
    first = page.locator(".queue li").first
    assert code in first.inner_text() and "Chưa đọc" in first.inner_text()
    check_page(page, "officer-queue-emergency")
    first.locator("a").click()
    page.wait_for_url(f"**/officer/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    assert page.locator("a.alarm").count() == 0


def test_the_commander_sets_the_duty_number_on_a_phone(app, phone):
    page = phone("commander")
    page.goto("/commander/")
    page.locator("a[href='/commander/settings']").click()
    page.wait_for_url("**/commander/settings")
    check_page(page, "commander-settings")
    form = page.locator("form[method=post][action='/commander/settings']")
    form.locator("input[name=duty_phone]").fill("0912.345.678")
    form.locator("input[name=due_hours_emergency]").fill("0")
    sent(page, form.locator("button.btn.main").click, "/commander/settings")
    assert "từ 1 đến 720" in page.locator(".field.bad").inner_text()
    assert page.locator("input[name=duty_phone]").input_value() == "0912 345 678"  # kept, in its clean form
    check_page(page, "commander-settings-refused")
    form = page.locator("form[method=post][action='/commander/settings']")
    form.locator("input[name=due_hours_emergency]").fill("1")
    sent(page, form.locator("button.btn.main").click, "/commander/settings")
    page.wait_for_selector("a[href='tel:0912345678']")  # the saved number, after the redirect
