"""The officer's task form on a phone: the due time follows the urgency, a double tap makes one task; the
verifier sees the urgency and nothing of the tip's place."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import Category, TipEvent, Unit, User, VerificationTask, WatchPoint

from .checks import check_page
from .phone import sent

BRIEF = "Để ý xe tải lạ dừng trong thôn buổi sáng, hỏi khéo các hộ gần đường liên thôn."


def market_tip(app) -> int:
    with app.app_context():
        v1 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        market = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        an = db.session.scalar(select(User).where(User.phone == "+84900000010"))
        cat = db.session.scalar(select(Category).where(Category.code == "suspicious"))
        tip, _ = cases.submit_tip(commune=v1.commune(), informant=an.informant, category=cat, village=v1,
                                  watch_point=market, body="Sáng nào cũng có xe tải biển lạ dừng sau quầy gạo.",
                                  uploader=an)
        db.session.commit()
        return tip.id


def counts(app, tip_id):
    with app.app_context():
        tasks = db.session.scalar(select(func.count(VerificationTask.id)).where(VerificationTask.tip_id == tip_id))
        steps = db.session.scalar(select(func.count(TipEvent.id)).where(TipEvent.tip_id == tip_id,
                                                                          TipEvent.kind == "task_created"))
        return tasks, steps


def task_form(page):
    """Open the "send to verifiers" section (a new tip opens triage first) and return its form."""
    section = page.locator("#tip-task")
    if section.get_attribute("open") is None:
        section.locator("summary").click()
    return section.locator("form[action*='/tasks']").first


def test_the_due_time_follows_the_urgency_and_a_double_tap_makes_one_task(app, phone):
    tip_id = market_tip(app)
    page = phone("officer")
    page.goto(f"/officer/tips/{tip_id}")
    form = task_form(page)
    due = form.locator("input[name=due_at]")
    offered = datetime.strptime(due.input_value(), "%Y-%m-%dT%H:%M")
    form.locator("select[name=urgency]").select_option("4")  # an emergency: 2 hours by default
    sooner = datetime.strptime(due.input_value(), "%Y-%m-%dT%H:%M")
    assert timedelta(hours=21) <= offered - sooner <= timedelta(hours=23)
    due.fill((sooner + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))  # set by hand: kept from now on
    form.locator("select[name=urgency]").select_option("1")
    assert due.input_value() == (sooner + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form.locator("select[name=urgency]").select_option("4")
    form.locator("input[name=verifier_ids]").first.check()
    form.locator("textarea[name=brief]").fill(BRIEF)
    check_page(page, "officer-task-form")
    button = form.locator("button.btn.main")
    sent(page, lambda: (button.dblclick()), f"/officer/tips/{tip_id}/tasks")
    page.wait_for_load_state("networkidle")
    assert counts(app, tip_id) == (1, 1)
    assert page.content().count(BRIEF) == 1

    verifier = phone("verifier")
    verifier.goto("/verifier/")
    item = verifier.locator("li", has_text=BRIEF[:30])
    assert "Khẩn cấp, đang xảy ra" in item.inner_text()
    check_page(verifier, "verifier-urgent-task-list")
    sent(verifier, item.locator("a").click)
    html = verifier.content()
    assert BRIEF in html and "Chợ Tân Thành" not in html and "05:00" not in html
    check_page(verifier, "verifier-urgent-task")

