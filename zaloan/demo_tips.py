"""Sample tips of the demo commune, in every state of the flow, made through zaloan.cases."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from . import cases
from .extensions import db
from .models import Category, Finding, Outcome, Unit, Urgency, User, WatchPoint, utcnow


def load(commune: Unit) -> None:
    """Add tips: new (not yet opened), triaged with a thread, being verified (a question waiting, one task overdue), closed, a duplicate pair."""
    def user(phone):
        return db.session.scalar(select(User).where(User.phone == phone))

    def cat(code):
        return db.session.scalar(select(Category).where(Category.commune_id == commune.id, Category.code == code))

    villages = commune.villages()
    by_name = {v.name: v for v in villages}
    v1, v4 = by_name["Thôn Đồng Bé"], by_name["Thôn Trung Tâm"]
    market = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
    crossroads = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Ngã tư Trung Tâm"))
    an, binh = user("+84900000010"), user("+84900000011")
    officer_a, officer_b = user("+84900000002"), user("+84900000003")
    cuong, dung = user("+84900000020"), user("+84900000021")
    now = utcnow()

    def tip(sender, category, body, village, point=None, urgency=Urgency.NORMAL, hours_ago=1):
        t, _created = cases.submit_tip(
            commune=commune, informant=sender.informant if sender else None, category=cat(category), body=body,
            village=village, watch_point=point, occurred_at=now - timedelta(hours=hours_ago + 1), urgency=urgency,
            uploader=sender, anon_secret=None if sender else "DEMOKEY2",
        )
        db.session.flush()
        t.created_at = now - timedelta(hours=hours_ago)
        return t

    # New, not yet looked at.
    fresh = tip(an, "suspicious", "Có hai thanh niên lạ đi xe máy không biển số, hỏi mua hàng cấm ở cổng chợ.",
                v1, market, Urgency.HIGH, hours_ago=2)
    # Triaged, with a follow-up question answered in the private thread.
    asked = tip(binh, "drugs", "Tối qua thấy người lạ trao gói nhỏ cho mấy thanh niên sau dãy hàng rau.",
                v1, market, Urgency.NORMAL, hours_ago=20)
    cases.mark_read(asked, by=officer_a)
    cases.triage(asked, by=officer_a, category=cat("drugs"), urgency=Urgency.HIGH)
    cases.ask(asked, by=officer_a, body="Chị có nhớ họ mặc áo màu gì, đi xe gì không?")
    cases.answer(asked, author=binh, body="Một người áo khoác đen, đi xe Wave màu đỏ.")
    # Being verified: one task accepted, one overdue.
    checking = tip(an, "gambling", "Chiều nào cũng có nhóm tụ tập đánh bài ăn tiền trong quán nước cạnh chợ.",
                   v1, market, Urgency.NORMAL, hours_ago=50)
    cases.mark_read(checking, by=officer_a)
    cases.triage(checking, by=officer_a, category=cat("gambling"), urgency=Urgency.NORMAL)
    task = cases.create_task(checking, by=officer_a, verifiers=[cuong], due_at=now + timedelta(hours=20),
                             brief="Kiểm tra quán nước cạnh chợ vào buổi chiều, xem có tụ tập đánh bạc không.")
    db.session.flush()
    cases.accept_task(task.assignments[0], by=cuong)
    # A question still waiting for the sender's answer.
    cases.ask(checking, by=officer_a, body="Anh có biết nhóm đó thường tụ tập từ mấy giờ đến mấy giờ không?")
    late = tip(None, "theft", "Nhà tôi ở gần ngã tư bị mất trộm hai con gà đêm qua.", v4, crossroads,
               Urgency.NORMAL, hours_ago=80)
    cases.mark_read(late, by=officer_b)
    overdue = cases.create_task(late, by=officer_b, verifiers=[dung], due_at=now + timedelta(hours=1),
                                brief="Hỏi các hộ gần ngã tư về việc mất trộm gia cầm đêm hôm trước.")
    overdue.due_at = now - timedelta(hours=6)
    # Closed after verification: mediated.
    done = tip(binh, "dispute", "Hai nhà đầu chợ cãi nhau to vì lấn chỗ bày hàng, suýt xô xát.",
               v1, market, Urgency.HIGH, hours_ago=120)
    cases.mark_read(done, by=officer_a)
    finished = cases.create_task(done, by=officer_a, verifiers=[cuong], due_at=now + timedelta(hours=2),
                                 brief="Xác minh việc tranh chấp chỗ bày hàng giữa hai hộ đầu chợ.")
    db.session.flush()
    cases.report_finding(finished.assignments[0], by=cuong, finding=Finding.CONFIRMED,
                         notes="Đúng có tranh chấp, hai bên đã đồng ý gặp trưởng thôn.")
    cases.record_outcome(done, by=officer_a, outcome=Outcome.MEDIATED, note="Trưởng thôn đã hòa giải thành.")
    # A duplicate pair: the same incident reported twice.
    dup = tip(binh, "suspicious", "Ở cổng chợ có hai người lạ đi xe không biển, hỏi han linh tinh.",
              v1, market, Urgency.NORMAL, hours_ago=1)
    cases.mark_read(dup, by=officer_a)
    cases.mark_duplicate(dup, of=fresh, by=officer_a)
    # Closed without verification: no violation.
    quiet = tip(an, "disorder", "Quán karaoke mở to nhạc sau 23 giờ.", by_name["Thôn Tân Lập"], None,
                Urgency.LOW, hours_ago=200)
    cases.mark_read(quiet, by=officer_a)
    cases.record_outcome(quiet, by=officer_a, outcome=Outcome.NO_VIOLATION,
                         note="Kiểm tra lúc 23:15, quán đã tắt nhạc.")
    # Officer B's area: a new anonymous tip.
    tip(None, "traffic", "Xe tải chở cát chạy nhanh qua ngã tư giờ tan học.", v4, crossroads, Urgency.NORMAL,
        hours_ago=5)
