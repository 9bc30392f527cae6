"""The standing conversation on a 360x640 phone, with JavaScript and without.

The officer asks the informant to keep an eye on the market tonight ("nhờ để ý"); the informant
answers the request; the officer turns the answer into a tip in one tap. With
ZALOAN_DOCS_SCREENSHOTS=1 (or when a file is missing) the screens are kept in docs/screenshots/.
"""
from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.formkit import local_now
from zaloan.models import ChannelMessage, Tip, User

from .checks import check_page
from .test_flow_browser import submit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ANSWER = "Tối nay có hai thanh niên lạ đi xe Wave đỏ hỏi mua xăng ở cổng chợ."


def keep(page, name: str, at: str | None = None) -> None:
    """Keep the screen (scrolled to `at`) for the README, when asked to or when it is missing."""
    if os.environ.get("ZALOAN_DOCS_SCREENSHOTS") != "1" and (DOCS / f"{name}.png").exists():
        return
    from PIL import Image

    if at:
        page.eval_on_selector(at, "(el) => el.scrollIntoView({block: 'center'})")
    image = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG",
                                                                                              optimize=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / f"{name}.png").write_bytes(out.getvalue())


def informant_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(User).where(User.phone == "+84900000010")).informant.id


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_a_request_answered_becomes_a_tip(app, phone, js):
    an = informant_id(app)
    with app.app_context():
        tips_before = db.session.scalar(select(func.count(Tip.id)))
    officer = phone("officer", java_script_enabled=js)
    officer.goto("/channel/")
    if js:  # the page checks run axe-core in the page: with JavaScript only
        check_page(officer, "channel-list")
    officer.goto(f"/channel/{an}")
    officer.locator("#ask summary").click()
    form = officer.locator("#ask form")
    form.locator("textarea[name=req-body]").fill("Tối nay để ý giúp cổng chợ, xe máy lạ chở can xăng.")
    form.locator("select[name=req-watch_point_id]").select_option(label="Chợ Tân Thành (Thôn Đồng Bé)")
    day = local_now() + timedelta(days=1)
    form.locator("input[name=req-window_from]").fill(day.replace(hour=19, minute=0).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=req-window_to]").fill(day.replace(hour=22, minute=0).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=req-due_at]").fill(day.replace(hour=22, minute=30).strftime("%Y-%m-%dT%H:%M"))
    submit(officer, form)
    officer.wait_for_selector("#conversation li.request")
    if js:
        check_page(officer, "channel-officer-request")

    informant = phone("informant", java_script_enabled=js)
    informant.goto("/informant/")
    informant.locator("a[href='/channel/me']").click()
    informant.wait_for_selector("#conversation li.request")
    if js:
        check_page(informant, "channel-informant-request")
    if js:
        keep(informant, "channel-request", at="#conversation li.request")
    informant.locator("#conversation li.request a.btn").first.click()
    informant.wait_for_selector("text=Bạn trả lời việc nhờ")
    form = informant.locator("form#send")
    form.locator("textarea[name=body]").fill(ANSWER)
    submit(informant, form)
    informant.wait_for_selector(f"text={ANSWER}")
    with app.app_context():
        mid = db.session.scalar(select(ChannelMessage.id).where(ChannelMessage.body == ANSWER))
        assert db.session.get(ChannelMessage, mid).reply_to_id is not None

    officer.goto(f"/channel/{an}")
    officer.locator(f"a[href='/channel/{an}/messages/{mid}/tip']").click()
    officer.wait_for_selector("#tip-form")
    assert officer.locator("textarea[name=body]").input_value() == ANSWER
    officer.locator("#tip-form input[name=category_id]").first.check()
    if js:
        check_page(officer, "channel-tip-form")
    submit(officer, officer.locator("#tip-form form"))
    officer.wait_for_url("**/officer/tips/*")
    with app.app_context():
        assert db.session.scalar(select(func.count(Tip.id))) == tips_before + 1
        tip = db.session.get(ChannelMessage, mid).tip
        assert tip is not None and tip.body == ANSWER
        code = tip.code
    officer.goto(f"/channel/{an}")
    officer.wait_for_selector(f"text={code}")
    if js:
        keep(officer, "channel-tip", at=f"#m{mid}")
