"""The anonymous tip form on a phone: the receipt replaces the form's page, never nests a page inside it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Tip

from .checks import check_page
from .phone import sent


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_the_anonymous_receipt_is_one_page_with_one_header_main_and_footer(app, phone, js):
    page = phone(java_script_enabled=js)
    page.goto("/report/")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill("Có xe tải đổ trộm rác ra bờ sông.")
    sent(page, form.locator("button.btn.main").click, "/report/")
    for tag in ("header", "main", "footer"):
        assert page.locator(tag).count() == 1, tag
    assert page.locator("textarea[name=body]").count() == 0  # the form is gone, not kept above the receipt
    codes = page.locator("main .code").all_inner_texts()
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.body == "Có xe tải đổ trộm rác ra bờ sông."))
        assert tip is not None and codes[0] == tip.code and len(codes) == 2  # the code and the follow-up key
    if js:  # axe and scripts need JavaScript
        assert page.evaluate("() => window.scrollY") == 0  # the receipt starts at the top of the screen
        check_page(page, "anonymous-sent")


def test_a_closed_tip_on_the_phone_says_what_happened_and_offers_a_new_tip(app, phone):
    from zaloan import cases
    from zaloan.models import Outcome, TipStatus

    from ..helpers import U

    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.informant_id == U("informant").informant.id,
                                                  Tip.status == TipStatus.NEW).order_by(Tip.id))
        cases.record_outcome(tip, by=U("officer"), outcome=Outcome.HIGHER_POLICE, note="Ghi chú nội bộ")
        db.session.commit()
        tip_id = tip.id
    page = phone("informant")
    page.goto(f"/informant/tips/{tip_id}")
    assert page.locator("#thread textarea").count() == 0
    assert "công an cấp trên" in page.locator("main").inner_text()
    check_page(page, "informant-tip-closed")
    sent(page, page.get_by_role("link", name="Gửi tin báo mới").click)
    assert page.url.endswith("/informant/tips/new")
