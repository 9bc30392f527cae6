"""Deadlines of tips and escalation of late work, on a frozen clock (`now` passed in, or utcnow patched)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from zaloan import audit_words, cases, deadlines
from zaloan.extensions import db
from zaloan.models import (
    AuditEvent,
    Category,
    DeadlineExtension,
    Escalation,
    Outcome,
    Tip,
    TipEvent,
    Unit,
    Urgency,
    VerificationTask,
)

from .helpers import U

# 03:00 UTC is 10:00 in Asia/Ho_Chi_Minh.
T0 = datetime(2026, 12, 1, 3, 0)


@pytest.fixture
def clock(monkeypatch):
    """A clock that stands still at T0 until moved: `clock.now`, `clock.move(**timedelta)`."""

    class Clock:
        now = T0

        def move(self, **delta):
            self.now = self.now + timedelta(**delta)
            return self.now

    c = Clock()
    for module in (cases, deadlines):
        monkeypatch.setattr(module, "utcnow", lambda: c.now)
    return c


def category(code: str) -> Category:
    village = village_of("Thôn Đồng Bé")
    return db.session.scalar(select(Category).where(Category.commune_id == village.parent_id, Category.code == code))


def village_of(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def new_tip(code: str = "theft", urgency: int = Urgency.NORMAL, village: str = "Thôn Đồng Bé",
            body: str = "Có người lạ bẻ khóa xe máy ở bãi gửi xe chợ.", occurred_at: datetime | None = None) -> Tip:
    v = village_of(village)
    tip, _ = cases.submit_tip(commune=v.commune(), informant=U("informant").informant, category=category(code),
                              body=body, village=v, urgency=urgency, uploader=U("informant"), occurred_at=occurred_at)
    db.session.commit()
    return tip


def extend(tip, days=30, reason="Vụ việc phức tạp, cần giám định tài sản.", authority="Viện KSND huyện Hữu Lũng",
           **kw):
    return deadlines.extend(tip, by=U("officer"), days=days, reason=reason, authority=authority, **kw)


def escalations(prefix: str = "") -> list[Escalation]:
    return list(db.session.scalars(select(Escalation).where(Escalation.key.startswith(prefix)).order_by(Escalation.id)))


# --- Deadlines from categories ----------------------------------------------------------------------


def test_a_crime_report_has_20_days_and_other_categories_the_communes_own(app, ctx, clock):
    theft = new_tip("theft")
    assert theft.created_at == T0 and theft.deadline_at == T0 + timedelta(days=20)  # CPC 2015, art. 147
    dispute = new_tip("dispute", body="Hai nhà cãi nhau về ranh giới đất vườn.")
    assert dispute.deadline_at == T0 + timedelta(days=30)
    # The commander sets the commune's own limit: tips received afterwards follow it; earlier ones keep theirs.
    assert deadlines.set_limit(category("dispute"), crime=False, days=12, by=U("commander"))
    db.session.commit()
    clock.move(hours=2)
    later = new_tip("dispute", body="Tranh chấp lối đi chung giữa hai hộ.")
    assert later.deadline_at == clock.now + timedelta(days=12)
    assert db.session.get(Tip, dispute.id).deadline_at == T0 + timedelta(days=30)
    # Set again with the same values: nothing recorded.
    assert not deadlines.set_limit(category("dispute"), crime=False, days=12, by=U("commander"))
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "category.limit")).all()
    assert len(rows) == 1
    assert audit_words.sentence(rows[0]).endswith("12 ngày để xử lý.")


def test_a_new_category_counts_again_from_receipt(app, ctx, clock):
    tip = new_tip("theft")
    clock.move(days=3)
    cases.triage(tip, by=U("officer"), category=category("disorder"), urgency=Urgency.NORMAL)
    db.session.commit()
    assert tip.deadline_at == T0 + timedelta(days=7)  # counted from receipt, not from the change
    # The same category again changes nothing.
    cases.triage(tip, by=U("officer"), category=category("disorder"), urgency=Urgency.HIGH)
    assert tip.deadline_at == T0 + timedelta(days=7)
    # A category made a crime report: 20 days whatever days it had.
    deadlines.set_limit(category("gambling"), crime=True, days=15, by=U("commander"))
    cases.triage(tip, by=U("officer"), category=category("gambling"), urgency=Urgency.HIGH)
    assert tip.deadline_at == T0 + timedelta(days=20)


def test_limits_out_of_range_are_refused(app, ctx):
    for days in (0, 91, -3):
        with pytest.raises(deadlines.DeadlineError) as exc:
            deadlines.set_limit(category("dispute"), crime=False, days=days, by=U("commander"))
        assert "từ 1 đến 90" in exc.value.message
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "category.limit")).all() == []


# --- Extensions ---------------------------------------------------------------------------------------


def test_two_extensions_are_recorded_and_a_third_refused(app, ctx, clock):
    tip = new_tip("theft")
    clock.move(days=18)
    first = extend(tip, days=30)
    db.session.commit()
    assert (first.number, first.days, first.old_deadline, first.new_deadline) == (
        1, 30, T0 + timedelta(days=20), T0 + timedelta(days=50))
    assert first.by_id == U("officer").id and first.authority == "Viện KSND huyện Hữu Lũng"
    assert "giám định" in first.reason
    assert tip.deadline_at == T0 + timedelta(days=50)
    # The second: up to two calendar months more (20 Jan + 2 months = 20 Mar: 59 days in 2027).
    second = extend(tip, days=59, reason="Chờ kết quả giám định lần hai.", authority="Viện KSND tỉnh Lạng Sơn")
    db.session.commit()
    assert second.number == 2 and tip.deadline_at == T0 + timedelta(days=109)
    with pytest.raises(deadlines.DeadlineError) as exc:
        extend(tip, days=5, reason="Cần thêm thời gian điều tra.")
    assert exc.value.message == "Tin này đã được gia hạn hai lần: pháp luật không cho gia hạn lần thứ ba."
    db.session.rollback()
    assert len(deadlines.extensions_of(tip)) == 2 and db.session.get(Tip, tip.id).deadline_at == T0 + timedelta(days=109)
    # Each one audited, in Vietnamese, and on the tip's timeline.
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "tip.extend").order_by(AuditEvent.id)).all()
    assert [r.data["number"] for r in rows] == [1, 2]
    assert audit_words.sentence(rows[0]) == (
        f"Cán bộ Phạm Minh Đức (0900…002) đã gia hạn thời hạn giải quyết tin {tip.code} (lần 1) thêm 30 ngày, "
        "người phê duyệt: Viện KSND huyện Hữu Lũng. Lý do: Vụ việc phức tạp, cần giám định tài sản.")
    kinds = [e.kind for e in db.session.scalars(select(TipEvent).where(TipEvent.tip_id == tip.id))]
    assert kinds.count("deadline_extended") == 2


def test_an_extension_beyond_two_months_is_refused(app, ctx, clock):
    tip = new_tip("theft")  # due 21/12/2026 10:00 (local); two months later: 21/02/2027, 62 days
    with pytest.raises(deadlines.DeadlineError) as exc:
        extend(tip, days=63)
    assert exc.value.message == "Mỗi lần gia hạn không được quá 2 tháng (ở đây tối đa 62 ngày)."
    assert exc.value.field == "days"
    db.session.rollback()
    assert db.session.scalars(select(DeadlineExtension)).all() == []
    assert extend(tip, days=62).new_deadline == T0 + timedelta(days=82)


def test_an_extension_needs_a_crime_report_a_reason_an_authority_and_an_open_tip(app, ctx, clock):
    dispute = new_tip("dispute", body="Hai nhà cãi nhau về ranh giới đất vườn.")
    with pytest.raises(deadlines.DeadlineError, match="Chỉ tin báo về tội phạm"):
        extend(dispute)
    tip = new_tip("theft")
    with pytest.raises(deadlines.DeadlineError) as exc:
        extend(tip, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(deadlines.DeadlineError) as exc:
        extend(tip, authority="")
    assert exc.value.field == "authority"
    with pytest.raises(deadlines.DeadlineError) as exc:
        extend(tip, days=0)
    assert exc.value.field == "days"
    cases.record_outcome(tip, by=U("officer"), outcome=Outcome.COMMUNE_POLICE)
    with pytest.raises(deadlines.DeadlineError, match="đã kết thúc"):
        extend(tip)
    db.session.rollback()
    assert db.session.scalars(select(DeadlineExtension)).all() == []


def test_a_retried_extension_is_the_same_one(app, ctx, clock):
    tip = new_tip("theft")
    first = extend(tip, client_key="k-ext-1")
    again = extend(tip, client_key="k-ext-1")
    db.session.commit()
    assert again.id == first.id and len(deadlines.extensions_of(tip)) == 1
    assert tip.deadline_at == T0 + timedelta(days=50)


# --- Time left in plain words -------------------------------------------------------------------------


@pytest.mark.parametrize("left,expected", [
    (timedelta(days=3), "còn 3 ngày"),
    (timedelta(hours=5), "còn 5 giờ"),
    (timedelta(hours=5, minutes=59), "còn 5 giờ"),
    (timedelta(hours=23, minutes=59), "còn 23 giờ"),
    (timedelta(minutes=59), "còn 59 phút"),
    (timedelta(seconds=20), "còn 1 phút"),
    (timedelta(0), "vừa hết hạn"),
    (-timedelta(seconds=59), "vừa hết hạn"),
    (-timedelta(minutes=1), "quá hạn 1 phút"),
    (-timedelta(hours=1), "quá hạn 1 giờ"),
    (-timedelta(hours=23, minutes=59), "quá hạn 23 giờ"),
    (-timedelta(days=2), "quá hạn 2 ngày"),
])
def test_time_left_in_plain_words(app, left, expected):
    with app.test_request_context():
        assert deadlines.words(T0 + left, T0) == expected


def test_days_are_counted_on_the_calendar_in_vietnam(app):
    with app.test_request_context():
        # 23:30 in Vietnam (16:30 UTC); due at 08:00 the day after tomorrow (01:00 UTC), 32.5 hours away:
        # two days left on the calendar of Vietnam, though the UTC dates are one day apart... and hours short of 2.
        now = datetime(2026, 12, 1, 16, 30)
        assert deadlines.words(datetime(2026, 12, 3, 1, 0), now) == "còn 2 ngày"
        # 06:00 in Vietnam (23:00 UTC the day before); due 25 hours later: tomorrow in Vietnam, one day.
        now = datetime(2026, 11, 30, 23, 0)
        assert deadlines.words(now + timedelta(hours=25), now) == "còn 1 ngày"
        # Overdue since 23:00 yesterday (Vietnam) by 25 hours: two days overdue on the calendar.
        due = datetime(2026, 12, 1, 16, 0)  # 23:00 in Vietnam
        assert deadlines.words(due, due + timedelta(hours=25)) == "quá hạn 2 ngày"


def test_tips_within_five_days_are_flagged_and_closed_tips_have_no_time_left(app, ctx, clock):
    tip = new_tip("theft")
    with app.test_request_context():
        left = deadlines.time_left(tip, T0 + timedelta(days=15) - timedelta(minutes=1))
        assert left.state == "ok" and left.mark == ""
        left = deadlines.time_left(tip, T0 + timedelta(days=15))
        assert left.soon and left.words == "còn 5 ngày" and left.mark == "⏰ Sắp hết hạn"
        left = deadlines.time_left(tip, T0 + timedelta(days=22))
        assert left.late and left.words == "quá hạn 2 ngày" and left.mark == "⛔ Quá hạn"
        cases.record_outcome(tip, by=U("officer"), outcome=Outcome.COMMUNE_POLICE)
        assert deadlines.time_left(tip, T0 + timedelta(days=22)) is None


# --- The sweep --------------------------------------------------------------------------------------


def test_an_unread_emergency_is_escalated_after_ten_minutes_not_before(app, ctx, clock):
    tip = new_tip("theft", urgency=Urgency.EMERGENCY)
    deadlines.sweep(T0 + timedelta(minutes=9, seconds=59))
    assert escalations(f"emergency_unread:tip:{tip.id}") == []
    fired = deadlines.sweep(T0 + timedelta(minutes=10))
    assert f"emergency_unread:tip:{tip.id}" in fired
    [to_commander] = escalations(f"emergency_unread:tip:{tip.id}")
    assert to_commander.recipients == [U("commander").id] and to_commander.urgent
    assert to_commander.url == f"/officer/tips/{tip.id}"
    # The other officers too; not the one in charge of the village (the tip is in their queue already).
    [to_others] = escalations(f"emergency_unread_others:tip:{tip.id}")
    assert to_others.recipients == [U("officer2").id] and to_others.url == "/officer/"
    assert to_commander.commune_id == tip.commune_id


def test_an_emergency_an_officer_opened_is_not_escalated(app, ctx, clock):
    tip = new_tip("theft", urgency=Urgency.EMERGENCY)
    clock.move(minutes=4)
    assert cases.mark_read(tip, by=U("officer"))
    db.session.commit()
    deadlines.sweep(T0 + timedelta(hours=1))
    assert escalations(f"emergency_unread:tip:{tip.id}") == []
    assert escalations(f"emergency_unread_others:tip:{tip.id}") == []


def test_the_communes_own_minutes_for_an_unread_emergency(app, ctx, clock):
    deadlines.save_settings(village_of("Thôn Đồng Bé").parent_id, by=U("commander"), minutes=3, hours=24)
    tip = new_tip("theft", urgency=Urgency.EMERGENCY)
    deadlines.sweep(T0 + timedelta(minutes=2, seconds=59))
    assert escalations(f"emergency_unread:tip:{tip.id}") == []
    deadlines.sweep(T0 + timedelta(minutes=3))
    assert len(escalations(f"emergency_unread:tip:{tip.id}")) == 1
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commune.deadlines"))
    assert audit_words.sentence(row).endswith("tin khẩn cấp chưa ai đọc sau 3 phút, việc xác minh chưa nhận sau "
                                              "24 giờ.")


def task_for(tip: Tip, hours: int = 48) -> VerificationTask:
    task = cases.create_task(tip, by=U("officer"), verifiers=[U("verifier")], brief="Kiểm tra bãi gửi xe chợ.",
                             due_at=cases.utcnow() + timedelta(hours=hours))
    db.session.commit()
    return task


def test_a_verifier_who_has_not_accepted_is_reminded_once(app, ctx, clock):
    task = task_for(new_tip("theft"))
    key = f"task_accept:assignment:{task.assignments[0].id}"
    assert key not in deadlines.sweep(T0 + timedelta(hours=23, minutes=59))
    assert key in deadlines.sweep(T0 + timedelta(hours=24))
    assert key not in deadlines.sweep(T0 + timedelta(hours=30))
    [row] = escalations(key)
    assert row.recipients == [U("verifier").id] and row.url == f"/verifier/tasks/{task.assignments[0].id}"


def test_a_verifier_who_accepted_is_not_reminded(app, ctx, clock):
    task = task_for(new_tip("theft"))
    clock.move(hours=2)
    cases.accept_task(task.assignments[0], by=U("verifier"))
    db.session.commit()
    deadlines.sweep(T0 + timedelta(hours=30))
    assert escalations(f"task_accept:assignment:{task.assignments[0].id}") == []


def test_the_officer_is_told_when_a_task_passes_its_due_time(app, ctx, clock):
    tip = new_tip("theft")
    task = task_for(tip, hours=6)
    assert not escalations(f"task_overdue:task:{task.id}")
    deadlines.sweep(T0 + timedelta(hours=5, minutes=59))
    assert not escalations(f"task_overdue:task:{task.id}")
    deadlines.sweep(T0 + timedelta(hours=6))
    [row] = escalations(f"task_overdue:task:{task.id}")
    assert row.recipients == [U("officer").id] and row.url == f"/officer/tips/{tip.id}"


def test_an_overdue_tip_is_told_to_the_commander_once_per_deadline(app, ctx, clock):
    tip = new_tip("theft")
    deadlines.sweep(T0 + timedelta(days=20) - timedelta(minutes=1))
    assert escalations(f"tip_overdue:tip:{tip.id}:") == []
    deadlines.sweep(T0 + timedelta(days=20))
    deadlines.sweep(T0 + timedelta(days=21))
    [row] = escalations(f"tip_overdue:tip:{tip.id}:")
    assert row.recipients == [U("commander").id] and row.kind == "tip_overdue"
    # Extended: a new deadline, told once more when that one passes.
    clock.move(days=21)
    extend(tip, days=10)
    db.session.commit()
    deadlines.sweep(T0 + timedelta(days=29))
    assert len(escalations(f"tip_overdue:tip:{tip.id}:")) == 1
    deadlines.sweep(T0 + timedelta(days=30))
    assert len(escalations(f"tip_overdue:tip:{tip.id}:")) == 2
    # A closed tip has no time left: nothing more, however late.
    cases.record_outcome(tip, by=U("officer"), outcome=Outcome.COMMUNE_POLICE)
    db.session.commit()
    deadlines.sweep(T0 + timedelta(days=90))
    assert len(escalations(f"tip_overdue:tip:{tip.id}:")) == 2


def test_the_sweep_run_twice_tells_nobody_twice(app, ctx, clock):
    tip = new_tip("theft", urgency=Urgency.EMERGENCY)
    task_for(tip, hours=6)
    later = T0 + timedelta(days=25)
    first = deadlines.sweep(later)
    db.session.commit()
    assert len(first) >= 4 and len(set(first)) == len(first)
    assert deadlines.sweep(later) == []
    db.session.commit()
    keys = [e.key for e in escalations()]
    assert len(keys) == len(set(keys)) == len(first)


def test_two_sweeps_at_once_tell_once(app, ctx, clock, monkeypatch):
    """The other sweep wrote the key between this one's look and its insert: the unique key holds, no error."""
    tip = new_tip("theft")
    later = T0 + timedelta(days=21)
    key = f"tip_overdue:tip:{tip.id}:{(T0 + timedelta(days=20)):%Y%m%d%H%M}"
    monkeypatch.setattr(deadlines, "_not_told", lambda keyed: keyed)  # both looked before either wrote
    monkeypatch.setattr(deadlines, "_told", lambda key: False)
    db.session.add(Escalation(key=key, kind="tip_overdue", url="/x", recipients=[], urgent=False,
                              created_at=later))
    db.session.commit()
    fired = deadlines.sweep(later)
    db.session.commit()
    assert key not in fired
    assert len(escalations(key)) == 1
    assert deadlines.tell([U("commander")], "tip_overdue", "/x", key=key) is False
    db.session.commit()  # the session is still usable after the refused insert


def test_open_tips_without_a_deadline_get_one_from_the_sweep(app, ctx, clock):
    tip = new_tip("dispute", body="Hai nhà cãi nhau về ranh giới đất vườn.")
    tip.deadline_at = None
    db.session.commit()
    deadlines.sweep(T0 + timedelta(minutes=1))
    assert tip.deadline_at == T0 + timedelta(days=30)


# --- The pages (the real clock: deadlines set relative to it) ----------------------------------------


def web_tip(app, code="theft", urgency=Urgency.NORMAL, left: timedelta | None = None) -> int:
    """Make a tip of officer 0900000002's village; with `left`, put its deadline that far from now."""
    from zaloan.models import utcnow

    with app.app_context():
        tip = new_tip(code, urgency=urgency)
        if left is not None:
            tip.deadline_at = utcnow() + left
            db.session.commit()
        return tip.id


def code_of(app, tip_id):
    with app.app_context():
        return db.session.get(Tip, tip_id).code


def queue_row(html: str, code: str) -> str:
    row = next((li for li in html.split("<li") if f"<b>{code}</b>" in li), None)
    assert row is not None, f"{code} not in the queue"
    return row


def test_the_queue_shows_time_left_and_flags_tips_near_or_past_the_deadline(app, login_as):
    near = web_tip(app, left=timedelta(days=3, hours=2))
    far = web_tip(app, left=timedelta(days=12, hours=2))
    late = web_tip(app, left=-timedelta(days=2, hours=2))
    html = login_as("officer").get("/officer/").get_data(as_text=True)
    row = queue_row(html, code_of(app, near))
    assert "còn 3 ngày" in row or "còn 4 ngày" in row
    assert "⏰ Sắp hết hạn" in row  # a mark in words, not colour alone
    row = queue_row(html, code_of(app, far))
    assert ("còn 12 ngày" in row or "còn 13 ngày" in row) and "Sắp hết hạn" not in row and "Quá hạn" not in row
    row = queue_row(html, code_of(app, late))
    assert "quá hạn 2 ngày" in row or "quá hạn 3 ngày" in row
    assert "⛔ Quá hạn" in row and 'class="u2 late"' in row


def test_the_tip_page_shows_the_deadline_and_extends_a_crime_report(app, login_as):
    tip_id = web_tip(app)
    c = login_as("officer")
    html = c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Hạn xử lý" in html and "còn 20 ngày" in html
    assert "Thời hạn giải quyết" in html and f'/officer/tips/{tip_id}/extend' in html
    with app.app_context():
        before = db.session.get(Tip, tip_id).deadline_at
    # Beyond two months: refused beside the field, in Vietnamese, with what was typed kept; nothing changes.
    r = c.post(f"/officer/tips/{tip_id}/extend", data={"days": "70", "reason": "Cần giám định thêm tài sản bị mất.",
                                                        "authority": "Viện KSND huyện"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Mỗi lần gia hạn không được quá 2 tháng" in page and "Cần giám định thêm tài sản bị mất." in page
    r = c.post(f"/officer/tips/{tip_id}/extend", data={"days": "ba mươi", "reason": "x", "authority": ""})
    assert r.status_code == 422 and "Xin nhập số ngày gia hạn thêm." in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Tip, tip_id).deadline_at == before
        assert db.session.scalars(select(DeadlineExtension)).all() == []
    r = c.post(f"/officer/tips/{tip_id}/extend", data={"days": "30", "reason": "Cần giám định thêm tài sản bị mất.",
                                                        "authority": "Viện KSND huyện Hữu Lũng"})
    assert r.status_code == 303 and r.headers["Location"].endswith("#tip-deadline")
    with app.app_context():
        assert db.session.get(Tip, tip_id).deadline_at == before + timedelta(days=30)
    html = c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Gia hạn lần 1: thêm 30 ngày" in html and "Viện KSND huyện Hữu Lũng" in html
    assert "gia hạn thời hạn giải quyết (lần 1) thêm 30 ngày" in html  # the timeline


def test_a_third_extension_is_refused_on_the_page(app, login_as):
    tip_id = web_tip(app)
    c = login_as("officer")
    form = {"reason": "Vụ việc phức tạp, nhiều người liên quan.", "authority": "Viện KSND huyện"}
    for days in ("30", "20"):
        assert c.post(f"/officer/tips/{tip_id}/extend", data={"days": days, **form}).status_code == 303
    html = c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Đã gia hạn hai lần" in html and f'/officer/tips/{tip_id}/extend"' not in html
    r = c.post(f"/officer/tips/{tip_id}/extend", data={"days": "10", **form})
    assert r.status_code == 409
    assert "pháp luật không cho gia hạn lần thứ ba" in r.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(DeadlineExtension)).all()) == 2


def test_a_dispute_shows_its_deadline_but_no_extension(app, login_as):
    tip_id = web_tip(app, code="dispute")
    html = login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "còn 30 ngày" in html and "/extend" not in html
    r = login_as("officer").post(f"/officer/tips/{tip_id}/extend", data={
        "days": "5", "reason": "Cần thêm thời gian hòa giải.", "authority": "Chủ tịch UBND xã"})
    assert r.status_code == 422 and "Chỉ tin báo về tội phạm" in r.get_data(as_text=True)


def test_the_commanders_home_lists_what_is_late(app, login_as):
    late = web_tip(app, left=-timedelta(days=2, hours=2))
    near = web_tip(app, left=timedelta(days=2, hours=2))
    with app.app_context():
        t = db.session.get(Tip, web_tip(app, urgency=Urgency.EMERGENCY))
        t.created_at = t.created_at - timedelta(minutes=30)
        emergency = t.code
        db.session.commit()
    html = login_as("commander").get("/commander/").get_data(as_text=True)
    section = html[html.index('id="late"'):]
    assert "Tin quá hạn xử lý" in section and code_of(app, late) in section and "⛔ Quá hạn" in section
    assert "Tin còn 5 ngày trở xuống" in section and code_of(app, near) in section
    assert "Tin khẩn cấp chưa ai mở" in section and emergency in section
    # The demo commune's task six hours past its due time.
    assert "Việc xác minh quá hạn" in section and ("quá hạn 6 giờ" in section or "quá hạn 5 giờ" in section)
    # Nothing of it on the officer's home (their queue shows theirs).
    assert 'id="late"' not in login_as("officer").get("/officer/").get_data(as_text=True)


def test_the_commander_sets_the_limits_on_the_categories_page(app, login_as):
    c = login_as("commander")
    html = c.get("/places/categories").get_data(as_text=True)
    assert "Tin báo về tội phạm: 20 ngày" in html and "30 ngày để xử lý" in html
    with app.app_context():
        dispute = category("dispute").id
    r = c.post(f"/places/categories/{dispute}/limit", data={f"l{dispute}-days": "120"})
    assert r.status_code == 422 and "Xin nhập số ngày chẵn, từ 1 đến 90." in r.get_data(as_text=True)
    assert c.post(f"/places/categories/{dispute}/limit", data={}).status_code == 422  # nothing sent: not saved
    r = c.post(f"/places/categories/{dispute}/limit", data={f"l{dispute}-days": "10"})
    assert r.status_code == 303
    with app.app_context():
        assert deadlines.limit_of(category("dispute")) == deadlines.Limit(False, 10)
    assert c.post(f"/places/categories/{dispute}/limit",
                  data={f"l{dispute}-days": "10", f"l{dispute}-crime": "y"}).status_code == 303
    with app.app_context():
        assert deadlines.limit_of(category("dispute")).crime
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "category.limit")).all()) == 2


def test_the_commander_sets_when_late_work_is_told(app, login_as):
    c = login_as("commander")
    html = c.get("/commander/deadlines").get_data(as_text=True)
    assert 'value="10"' in html and 'value="24"' in html
    r = c.post("/commander/deadlines", data={"emergency_unread_minutes": "0", "accept_hours": "24"})
    assert r.status_code == 422 and "Xin nhập số phút chẵn, từ 1 đến 240." in r.get_data(as_text=True)
    assert c.post("/commander/deadlines", data={"emergency_unread_minutes": "5", "accept_hours": "12"}).status_code == 303
    with app.app_context():
        commune = village_of("Thôn Đồng Bé").parent_id
        assert (deadlines.emergency_minutes(commune), deadlines.accept_hours(commune)) == (5, 12)


def test_the_sweep_command_runs_one_pass(app):
    with app.app_context():
        tip = new_tip("theft")
        tip.deadline_at = tip.created_at - timedelta(minutes=1)
        db.session.commit()
        tip_id = tip.id
    runner = app.test_cli_runner()
    out = runner.invoke(args=["deadlines", "run"])
    assert out.exit_code == 0 and "told" in out.output
    again = runner.invoke(args=["deadlines", "run"])
    assert again.output.strip() == "Deadlines checked: 0 told."
    with app.app_context():
        assert len(escalations(f"tip_overdue:tip:{tip_id}:")) == 1


def test_a_verifier_never_sees_the_tips_deadline_or_its_extensions(app, login_as):
    from .secrecy import assert_verifier_never_sees, tip_secrets

    with app.app_context():
        # Happened days ago: its time is no other row's on the verifier's pages.
        tip = new_tip("theft", occurred_at=datetime(2026, 11, 20, 14, 17))
        extend(tip, days=30, reason="Chờ kết quả giám định Khuổi Nậm.", authority="Viện KSND Bình Gia")
        task_for(tip, hours=30)
        tip_id, deadline = tip.id, app.jinja_env.filters["dt"](tip.deadline_at)
        written = "Kiểm tra bãi gửi xe chợ."
    secrets = tip_secrets(app, tip_id) + [deadline, "Khuổi Nậm", "Viện KSND Bình Gia", "Gia hạn", "Hạn xử lý",
                                          "Sắp hết hạn"]
    assert_verifier_never_sees(login_as("verifier"), secrets, tip_ids=[tip_id], written=written)


def test_a_verifier_reads_their_own_tasks_time_left(app, login_as):
    with app.app_context():
        task = task_for(new_tip("theft"), hours=5)
        assignment = task.assignments[0].id
    c = login_as("verifier")
    home = c.get("/verifier/").get_data(as_text=True)
    assert "⏱️ còn 4 giờ" in home  # 4 hours and some minutes
    assert "còn 4 giờ" in c.get(f"/verifier/tasks/{assignment}").get_data(as_text=True)
