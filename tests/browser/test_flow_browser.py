"""The whole flow on phones, one browser context per person.

The informant sends a tip with a photo; the officer triages it and writes a
verification task; the verifier reports; the officer records the outcome; the
informant sees the status. Every page on the way is checked (axe-core, touch
targets, labels, CSP) and kept as a screenshot in test-artifacts/.

The selectors follow the planned pages; each step is one small function so a
changed form needs one change here. The module skips while the app has no
/informant/tips/new.
"""
from __future__ import annotations

import io
import random
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.models import Outcome, TaskAssignment, Tip, TipStatus, VerificationTask

from .checks import check_page
from .phone import sent

BODY = "Có nhóm người lạ tụ tập ở cổng chợ lúc sáng, nghi mua bán hàng cấm."
BRIEF = "Kiểm tra khu vực cổng chợ Tân Thành buổi sáng, có nhóm người lạ tụ tập hay không."
NOTES = "Đã đến cổng chợ lúc 7 giờ, có 3 người lạ, đã ghi biển số xe."
IDENTITY = ("Nguyễn Văn An", "0900 000 010", "0900000010", "+84900000010")


@pytest.fixture
def photo(tmp_path):
    """A small JPEG that looks like a photo (noise, so it is not trivially compressible)."""
    from PIL import Image

    rng = random.Random(7)
    img = Image.new("RGB", (64, 48))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 48)])
    img = img.resize((800, 600))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    path = tmp_path / "cong-cho.jpg"
    path.write_bytes(buf.getvalue())
    return path


def path_of(page) -> str:
    return urlsplit(page.url).path


def submit(page, form):
    """Submit `form` with its main button and wait until the answer is on screen (htmx or not)."""
    action = urlsplit(form.get_attribute("action") or page.url).path
    sent(page, form.locator("button.btn.main, button[type=submit]").first.click, action)


def latest_tip(app) -> Tip | None:
    with app.app_context():
        tip = db.session.scalar(select(Tip).order_by(Tip.id.desc()))
        if tip is not None:
            db.session.expunge(tip)
        return tip


def tip_state(app, tip_id: int) -> dict:
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        assignments = db.session.scalars(
            select(TaskAssignment).join(VerificationTask).where(VerificationTask.tip_id == tip_id)
        ).all()
        return {
            "status": tip.status,
            "outcome": tip.outcome,
            "photos": len(tip.attachments),
            "tasks": [(t.brief, t.status) for t in tip.tasks],
            "reports": [(a.finding, a.notes) for a in assignments if a.reported_at],
        }


# --- The steps, one person each --------------------------------------------------------


def informant_sends_a_tip(page, photo):
    page.goto("/informant/tips/new")
    check_page(page, "informant-tip-form")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill(BODY)
    # The village and place start as the informant's own watch point.
    urgency = form.locator("input[name=urgency]")
    if urgency.count():
        urgency.nth(min(2, urgency.count() - 1)).check()
    form.locator("input[name=photos]").set_input_files(str(photo))
    page.wait_for_load_state("networkidle")  # the photo goes up on its own, with a progress bar
    submit(page, form)
    check_page(page, "informant-tip-sent")


def officer_triages_and_writes_a_task(page, tip_id):
    page.goto("/officer/")
    check_page(page, "officer-queue")
    page.locator(f"a[href$='/tips/{tip_id}']").first.click()
    page.wait_for_url(f"**/officer/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    assert BODY in page.content()  # the officer reads the tip itself
    check_page(page, "officer-tip")
    triage = page.locator("form[action*='triage']")
    if triage.count():
        submit(page, triage.first)
    task = page.locator("form[action*='task']", has=page.locator("textarea[name=brief]")).first
    task.locator("textarea[name=brief]").fill(BRIEF)
    verifiers = task.locator("input[name=verifier_ids]")
    if verifiers.count():
        verifiers.first.check()
    submit(page, task)
    check_page(page, "officer-task-written")


def verifier_reports(page):
    page.goto("/verifier/")
    assert BRIEF in page.content()
    check_page(page, "verifier-tasks")
    page.locator("a[href*='/verifier/tasks/']", has_text=BRIEF[:40]).first.click()
    page.wait_for_url("**/verifier/tasks/*")
    page.wait_for_load_state("networkidle")
    check_page(page, "verifier-task")
    accept = page.locator("form[action*='accept']")
    if accept.count():
        submit(page, accept.first)
    report = page.locator("form[action*='report']").first
    report.locator("input[name=finding][value=confirmed]").check()
    report.locator("textarea[name=notes]").fill(NOTES)
    submit(page, report)
    check_page(page, "verifier-reported")
    html = page.content()
    assert BODY not in html and not [s for s in IDENTITY if s in html]


def officer_records_the_outcome(page, tip_id):
    page.goto(f"/officer/tips/{tip_id}")
    assert NOTES in page.content()  # the verifier's report reached the officer
    form = page.locator("form[action*='outcome']").first
    form.locator(f"input[name=outcome][value={Outcome.COMMUNE_POLICE}]").check()
    note = form.locator("textarea[name=outcome_note], textarea[name=note]")
    if note.count():
        note.first.fill("Đã mời các đối tượng lên làm việc.")
    submit(page, form)
    check_page(page, "officer-tip-closed")


def informant_sees_the_status(page):
    page.goto("/informant/tips")
    check_page(page, "informant-my-tips")
    html = page.content()
    assert "Đã xử lý" in html  # "Dealt with", in the sender's plain words
    assert BRIEF not in html and NOTES not in html  # nothing of the police work


def test_a_tip_goes_from_informant_to_outcome(app, phone, photo):
    informant = phone("informant")
    assert path_of(informant) == "/informant/"
    check_page(informant, "informant-home")
    informant_sends_a_tip(informant, photo)
    tip = latest_tip(app)
    assert tip is not None and tip.body == BODY
    assert tip_state(app, tip.id)["photos"] == 1
    assert tip_state(app, tip.id)["status"] == TipStatus.NEW

    officer = phone("officer")
    officer_triages_and_writes_a_task(officer, tip.id)
    state = tip_state(app, tip.id)
    assert state["status"] == TipStatus.VERIFYING and state["tasks"][0][0] == BRIEF

    verifier = phone("verifier")
    verifier_reports(verifier)
    assert tip_state(app, tip.id)["reports"] == [("confirmed", NOTES)]

    officer_records_the_outcome(officer, tip.id)
    state = tip_state(app, tip.id)
    assert state["status"] == TipStatus.CLOSED and state["outcome"] == Outcome.COMMUNE_POLICE

    informant_sees_the_status(informant)


def test_a_tip_is_sent_with_javascript_off(app, phone, photo):
    """The plain form (no htmx, no photo script) sends a tip with a photo; the server shrinks it."""
    page = phone("informant", java_script_enabled=False)
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill(BODY)
    form.locator("input[name=photos]").set_input_files(str(photo))
    with page.expect_navigation():
        form.locator("button.btn.main").click()
    tip = latest_tip(app)
    assert tip is not None and tip.body == BODY and tip.status == TipStatus.NEW
    assert tip_state(app, tip.id)["photos"] == 1
    assert tip.code in page.content()  # the confirmation with the tip's code
    with app.app_context():
        stored = db.session.get(Tip, tip.id).attachments[0]
        assert max(stored.width, stored.height) <= 1600


def test_a_failed_send_keeps_everything_and_the_retry_makes_one_tip(app, phone):
    """On a dropped connection the text stays, the button says so, and sending again reuses the key."""
    page = phone("informant")
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    text = "Mất sóng giữa chừng nhưng tin vẫn phải đến nơi."
    form.locator("textarea[name=body]").fill(text)
    key = form.locator("input[name=client_key]").input_value()
    page.context.set_offline(True)
    form.locator("button.btn.main").click()
    page.wait_for_selector("text=Chưa gửi được — thử lại")
    assert form.locator("textarea[name=body]").input_value() == text
    # The draft survives a reload while the tip is not confirmed.
    page.context.set_offline(False)
    page.reload()
    page.wait_for_load_state("networkidle")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    assert form.locator("textarea[name=body]").input_value() == text
    assert form.locator("input[name=client_key]").input_value() == key  # the retry reuses the key
    submit(page, form)
    page.wait_for_selector("[data-clear-draft]")
    with app.app_context():
        assert db.session.scalar(select(func.count(Tip.id)).where(Tip.client_key == key)) == 1
    # Confirmed: the draft is gone from the phone.
    page.goto("/informant/tips/new")
    assert page.locator("textarea[name=body]").input_value() == ""
