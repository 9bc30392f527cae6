"""A form refused for its CSRF token, on a phone: the text stays on screen, and nothing sends it again."""
from __future__ import annotations

from .checks import check_page
from .phone import login, sent

BODY = "Có nhóm người lạ tụ tập ở cổng chợ lúc sáng, nghi mua bán hàng cấm."


def stale_tip_form(phone, **options):
    """An informant's new-tip form whose token went stale: the session ended, and they logged in again elsewhere."""
    page = phone("informant", **options)
    page.goto("/informant/tips/new")
    page.fill("textarea[name=body]", BODY)
    page.context.clear_cookies()
    other = page.context.new_page()
    login(other, "0900000010")
    other.close()
    return page


def test_a_stale_form_keeps_the_text_and_the_page_opens_again_with_it(phone):
    page = stale_tip_form(phone)
    sent(page, page.locator("#tip-form button.btn.main").click, "/informant/tips/new")
    shown = page.locator("#error textarea[readonly]")
    assert shown.input_value() == BODY
    assert page.locator("#error form").count() == 0
    check_page(page, "csrf-refused-htmx")
    with page.expect_navigation():
        page.click("#error a.btn.main")
    # The page opened afresh: a new token, and the draft brings the text back.
    assert page.url.endswith("/informant/tips/new")
    assert page.locator("textarea[name=body]").input_value() == BODY
