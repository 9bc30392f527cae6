"""A phone that does not betray its owner, on a 360x640 phone: the PIN lock, the quick exit; and the officer's
likely duplicates with the one-tap join. Pictures go to docs/screenshots/."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import SessionLock, Tip, TipStatus, User, utcnow

from .checks import check_page
from .phone import sent

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def go_idle(app, minutes=6):
    with app.app_context():
        for row in db.session.scalars(select(SessionLock)):
            row.active_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


def test_the_pin_lock_hides_the_pages_until_the_pin(app, phone):
    page = phone("informant")
    page.goto("/informant/")
    page.click("a[href='/informant/safety']")
    page.wait_for_url("**/informant/safety")
    check_page(page, "informant-safety-guide")
    shot(page, "informant-safety")
    page.click("#pin a.btn")
    page.wait_for_url("**/informant/pin")
    page.fill("input[name=pin]", "2468")
    page.fill("input[name=again]", "2468")
    page.check("input[name=idle][value='5']")
    check_page(page, "informant-pin")
    page.locator("form button.btn.main").click()
    page.wait_for_url("**/informant/safety")
    page.wait_for_selector("text=Đã đặt mã PIN")

    go_idle(app)
    page.goto("/informant/tips")
    assert page.title() == "Sổ tay"
    assert page.locator("#unlock").is_visible() and "Tin của tôi" not in page.content()
    check_page(page, "informant-pin-lock")
    shot(page, "informant-pin-lock")
    page.fill("#pin", "1111")
    with page.expect_navigation():
        page.click("#unlock button")
    assert "không đúng" in page.inner_text("main")
    page.fill("#pin", "2468")
    with page.expect_navigation():
        page.click("#unlock button")
    page.wait_for_url("**/informant/tips")
    assert "Tin của tôi" in page.content()


def test_quick_exit_leaves_for_a_plain_page_and_back_does_not_return(app, phone):
    page = phone("informant")
    page.goto("/informant/")
    sent(page, page.locator(".nav a[href='/informant/tips']").click)
    page.wait_for_url("**/informant/tips")
    assert page.title() == "Sổ tay"
    shot(page, "informant-neutral-look")
    page.click("a[data-quick-exit]")
    page.wait_for_url("**/s/")
    assert page.title() == "Sổ tay" and "Cần mua" in page.inner_text("main")
    check_page(page, "quick-exit-page")
    shot(page, "quick-exit")
    page.go_back()
    page.wait_for_load_state("load")
    assert not page.url.endswith("/informant/tips")


def test_quick_exit_without_javascript_is_a_plain_link(app, phone):
    page = phone("informant", java_script_enabled=False)
    page.goto("/informant/tips")
    with page.expect_navigation():
        page.click("a[data-quick-exit]")
    assert page.url.endswith("/s/") and page.title() == "Sổ tay"


def test_the_officer_joins_a_likely_duplicate_in_one_tap(app, phone):
    with app.app_context():
        an = db.session.scalar(select(User).where(User.phone == "+84900000010"))
        binh = db.session.scalar(select(User).where(User.phone == "+84900000011"))
        mine = db.session.scalar(select(Tip).where(Tip.informant_id == an.informant.id, Tip.status == "new")
                                 .order_by(Tip.id))
        twin = Tip(code="TWIN00001", commune_id=mine.commune_id, category_id=mine.category_id,
                   village_id=mine.village_id, watch_point_id=mine.watch_point_id,
                   occurred_at=mine.occurred_at + timedelta(hours=2), body=mine.body, status=TipStatus.NEW,
                   informant_id=binh.informant.id)
        db.session.add(twin)
        db.session.commit()
        mine_id, twin_id, code = mine.id, twin.id, mine.code
    page = phone("officer")
    page.goto(f"/officer/tips/{twin_id}")
    likely = page.locator("#tip-likely")
    assert likely.is_visible() and code in likely.inner_text() and "cách 2 giờ" in likely.inner_text()
    check_page(page, "officer-likely-duplicates")
    likely.scroll_into_view_if_needed()
    shot(page, "officer-likely-duplicates")
    sent(page, likely.locator("form button").first.click, f"/officer/tips/{twin_id}/duplicate")
    assert page.locator("#tip-likely").count() == 0
    with app.app_context():
        assert db.session.get(Tip, twin_id).duplicate_of_id == mine_id
