"""Every transition of a tip and every refused one; what each role's lists show and hide."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import (
    Category,
    Finding,
    Message,
    Outcome,
    TaskAssignment,
    TaskStatus,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    Urgency,
    User,
    VerificationTask,
    utcnow,
)

from .helpers import U
from .test_flow import send_tip


OFFICER, OFFICER2, VERIFIER, VERIFIER2 = "+84900000002", "+84900000003", "+84900000020", "+84900000021"
AN, BINH = "+84900000010", "+84900000011"


@pytest.fixture
def fresh_tip(app):
    """A new tip of informant 1 in village 1 (officer 0900000002's area)."""
    with app.app_context():
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        tip, _ = cases.submit_tip(commune=village.commune(), informant=U(AN).informant, category=cat,
                                  body="Mất trộm xe đạp trước cửa nhà văn hóa thôn hôm qua.", village=village,
                                  uploader=U(AN))
        db.session.commit()
        return tip.id


def events(tip_id):
    return [e.kind for e in db.session.scalars(select(TipEvent).where(TipEvent.tip_id == tip_id).order_by(TipEvent.id))]


def future(hours=24):
    return utcnow() + timedelta(hours=hours)


# --- Transitions in the domain module -----------------------------------------------------------


def test_triage_then_task_then_report_then_outcome_then_reopen(app, fresh_tip):
    with app.app_context():
        tip, officer = db.session.get(Tip, fresh_tip), U(OFFICER)
        cat = db.session.scalar(select(Category).where(Category.code == "drugs"))
        cases.triage(tip, by=officer, category=cat, urgency=Urgency.EMERGENCY)
        assert tip.status == TipStatus.TRIAGED and tip.category_id == cat.id and tip.urgency == Urgency.EMERGENCY
        task = cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief="Kiểm tra nhà văn hóa thôn.",
                                 due_at=future())
        assert tip.status == TipStatus.VERIFYING
        a = task.assignments[0]
        cases.accept_task(a, by=U(VERIFIER))
        cases.report_finding(a, by=U(VERIFIER), finding=Finding.NOT_FOUND, notes="Không thấy gì.")
        assert task.status == TaskStatus.DONE
        cases.record_outcome(tip, by=officer, outcome=Outcome.NO_VIOLATION, note="Không có vi phạm.")
        assert tip.status == TipStatus.CLOSED and tip.closed_at is not None
        cases.reopen(tip, by=officer, reason="Có thêm thông tin mới.")
        assert tip.status == TipStatus.TRIAGED and tip.outcome is None
        db.session.commit()
        assert events(fresh_tip) == ["submitted", "triaged", "task_created", "task_accepted", "task_reported",
                                     "outcome", "reopened"]


def test_every_change_is_audited(app, fresh_tip):
    from zaloan.models import AuditEvent

    with app.app_context():
        tip = db.session.get(Tip, fresh_tip)
        before = db.session.scalar(select(func.count(AuditEvent.id)))
        cases.record_outcome(tip, by=U(OFFICER), outcome=Outcome.FALSE_REPORT)
        db.session.commit()
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before + 1
        assert last.action == "tip.outcome" and last.target_id == tip.id
        assert "Mất trộm" not in str(last.data)


@pytest.mark.parametrize("action", ["outcome", "triage", "ask", "task", "duplicate"])
def test_closed_tip_refuses_changes(app, fresh_tip, action):
    with app.app_context():
        tip, officer = db.session.get(Tip, fresh_tip), U(OFFICER)
        cases.record_outcome(tip, by=officer, outcome=Outcome.MEDIATED)
        db.session.commit()
        other = db.session.scalar(select(Tip).where(Tip.id != tip.id, Tip.status != TipStatus.CLOSED))
        calls = {
            "outcome": lambda: cases.record_outcome(tip, by=officer, outcome=Outcome.SANCTION),
            "triage": lambda: cases.triage(tip, by=officer, category=tip.category, urgency=Urgency.LOW),
            "ask": lambda: cases.ask(tip, by=officer, body="Còn gì nữa không?"),
            "task": lambda: cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief="Kiểm tra lại lần nữa.",
                                              due_at=future()),
            "duplicate": lambda: cases.mark_duplicate(tip, of=other, by=officer),
        }
        with pytest.raises(cases.CaseError) as err:
            calls[action]()
        assert "kết thúc" in err.value.message or "đã kết thúc" in err.value.message
        db.session.rollback()
        assert db.session.get(Tip, fresh_tip).outcome == Outcome.MEDIATED


def test_refused_tasks(app, fresh_tip):
    with app.app_context():
        tip, officer = db.session.get(Tip, fresh_tip), U(OFFICER)
        with pytest.raises(cases.CaseError):  # a verifier of another village
            cases.create_task(tip, by=officer, verifiers=[U(VERIFIER2)], brief="Kiểm tra nhà văn hóa.", due_at=future())
        with pytest.raises(cases.CaseError):  # not a verifier at all
            cases.create_task(tip, by=officer, verifiers=[U(AN)], brief="Kiểm tra nhà văn hóa.", due_at=future())
        with pytest.raises(cases.CaseError):  # due in the past
            cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief="Kiểm tra nhà văn hóa.",
                              due_at=utcnow() - timedelta(hours=1))
        with pytest.raises(cases.CaseError):  # the sender's own text pasted as the brief
            cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief=tip.body, due_at=future())
        db.session.rollback()
        assert db.session.scalar(select(func.count(VerificationTask.id)).where(VerificationTask.tip_id == fresh_tip)) == 0


def test_verifier_cannot_report_twice_or_on_someone_elses_task(app, fresh_tip):
    with app.app_context():
        tip, officer = db.session.get(Tip, fresh_tip), U(OFFICER)
        task = cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief="Kiểm tra nhà văn hóa thôn.",
                                 due_at=future())
        a = task.assignments[0]
        with pytest.raises(cases.CaseError):
            cases.accept_task(a, by=U(VERIFIER2))
        cases.report_finding(a, by=U(VERIFIER), finding=Finding.CONFIRMED)
        with pytest.raises(cases.CaseError) as err:
            cases.report_finding(a, by=U(VERIFIER), finding=Finding.NOT_FOUND)
        assert "đã báo cáo" in err.value.message
        assert a.finding == Finding.CONFIRMED
        with pytest.raises(cases.CaseError):
            cases.accept_task(a, by=U(VERIFIER))  # task is done


def test_outcome_cancels_open_tasks_and_duplicate_links_both_ways(app, fresh_tip):
    with app.app_context():
        tip, officer = db.session.get(Tip, fresh_tip), U(OFFICER)
        task = cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief="Kiểm tra nhà văn hóa thôn.",
                                 due_at=future())
        cat = tip.category
        dup, _ = cases.submit_tip(commune=tip.village.commune(), informant=U(BINH).informant, category=cat,
                                  body="Hình như có người lấy xe đạp ở nhà văn hóa.", village=tip.village,
                                  uploader=U(BINH))
        cases.mark_duplicate(dup, of=tip, by=officer)
        assert dup.duplicate_of_id == tip.id and dup in tip.duplicates
        assert dup.status == TipStatus.CLOSED and dup.outcome == Outcome.DUPLICATE
        assert "duplicate_linked" in [e.kind for e in tip.events]
        with pytest.raises(cases.CaseError):
            cases.record_outcome(tip, by=officer, outcome=Outcome.DUPLICATE)
        cases.record_outcome(tip, by=officer, outcome=Outcome.HIGHER_POLICE)
        assert task.status == TaskStatus.CANCELLED
        cases.reopen(dup, by=officer, reason="Không phải trùng.")
        assert dup.duplicate_of_id is None and dup.status == TipStatus.TRIAGED


def test_reopen_needs_a_closed_tip_and_a_reason(app, fresh_tip):
    with app.app_context():
        tip = db.session.get(Tip, fresh_tip)
        with pytest.raises(cases.CaseError):
            cases.reopen(tip, by=U(OFFICER), reason="x")
        cases.record_outcome(tip, by=U(OFFICER), outcome=Outcome.MEDIATED)
        with pytest.raises(cases.CaseError):
            cases.reopen(tip, by=U(OFFICER), reason="   ")


# --- Through the web: refusals change nothing and say why ----------------------------------------


def test_outcome_on_a_closed_tip_is_refused_over_http(app, login_as, fresh_tip):
    officer = login_as("officer")
    assert officer.post(f"/officer/tips/{fresh_tip}/outcome", data={"outcome": "mediated"}).status_code == 303
    r = officer.post(f"/officer/tips/{fresh_tip}/outcome", data={"outcome": "sanction"})
    assert r.status_code == 409
    assert "Tin này đã kết thúc" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Tip, fresh_tip).outcome == "mediated"


def test_bad_form_input_is_a_field_error_not_a_500(app, login_as, fresh_tip):
    officer = login_as("officer")
    for url, data in [
        (f"/officer/tips/{fresh_tip}/outcome", {"outcome": "bogus"}),
        (f"/officer/tips/{fresh_tip}/triage", {"category_id": "abc", "urgency": "99"}),
        (f"/officer/tips/{fresh_tip}/tasks", {"verifier_ids": "x", "brief": "", "due_at": "yesterday"}),
        (f"/officer/tips/{fresh_tip}/duplicate", {"code": "ZZZZZZ"}),
        (f"/officer/tips/{fresh_tip}/ask", {"body": "", "client_key": "k" * 20}),
        (f"/officer/tips/{fresh_tip}/reopen", {"reason": "x"}),
    ]:
        r = officer.post(url, data=data)
        assert r.status_code in (409, 422), (url, r.status_code)
    with app.app_context():
        assert events(fresh_tip) == ["submitted"]


def test_duplicate_by_code_over_http(app, login_as, fresh_tip):
    officer = login_as("officer")
    with app.app_context():
        other = db.session.scalar(select(Tip).where(Tip.id != fresh_tip, Tip.status == TipStatus.NEW,
                                                    Tip.village_id == db.session.get(Tip, fresh_tip).village_id))
        code, other_id = other.code, other.id
    r = officer.post(f"/officer/tips/{fresh_tip}/duplicate", data={"code": code.lower()})
    assert r.status_code == 303
    queue = officer.get("/officer/").get_data(as_text=True)
    assert f"/officer/tips/{fresh_tip}\"" not in queue  # the duplicate left the queue
    assert f"/officer/tips/{other_id}\"" in queue
    # Its sender still sees a status: the one of the tip it joined, not "dealt with" while nothing was done.
    informant = login_as("informant")
    page = informant.get(f"/informant/tips/{fresh_tip}").get_data(as_text=True)
    assert "Đã nhận" in page and "Đã xử lý" not in page
    assert officer.post(f"/officer/tips/{other_id}/outcome", data={"outcome": "commune_police"}).status_code == 303
    assert "Đã xử lý" in informant.get(f"/informant/tips/{fresh_tip}").get_data(as_text=True)
    assert "Đã xử lý" in informant.get("/informant/tips").get_data(as_text=True)


def test_htmx_action_returns_the_tip_fragment(login_as, fresh_tip):
    officer = login_as("officer")
    r = officer.post(f"/officer/tips/{fresh_tip}/ask", data={"body": "Bạn thấy lúc mấy giờ?",
                                                             "client_key": "htmx-key-0001"},
                     headers={"HX-Request": "true", "HX-Target": "tip"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.startswith('\n<div id="tip">') or html.lstrip().startswith('<div id="tip">')
    assert "<html" not in html and "Bạn thấy lúc mấy giờ?" in html
    assert "HX-Request" in r.headers["Vary"]
    # A boosted navigation gets the whole page.
    full = officer.get(f"/officer/tips/{fresh_tip}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in full.get_data(as_text=True)


# --- What each role sees, and must not see ----------------------------------------------------------


def test_queue_shows_only_my_areas_most_urgent_first(app, login_as):
    with app.app_context():
        mine = db.session.scalars(select(Tip).join(Unit, Tip.village_id == Unit.id)
                                  .where(Unit.officer_id == U(OFFICER).id, Tip.status != TipStatus.CLOSED)).all()
        theirs = db.session.scalars(select(Tip).join(Unit, Tip.village_id == Unit.id)
                                    .where(Unit.officer_id == U(OFFICER2).id)).all()
        mine_codes, their_codes = {t.code for t in mine}, {t.code for t in theirs}
        ordered = [t.code for t in sorted(mine, key=lambda t: (-t.urgency, t.created_at))]
    html = login_as("officer").get("/officer/").get_data(as_text=True)
    assert all(c in html for c in mine_codes)
    assert not any(c in html for c in their_codes)
    positions = [html.index(c) for c in ordered]
    assert positions == sorted(positions)


def test_queue_filters_and_counts(app, login_as):
    officer = login_as("officer")
    closed = officer.get("/officer/?status=closed").get_data(as_text=True)
    with app.app_context():
        closed_codes = {t.code for t in db.session.scalars(select(Tip).where(Tip.status == TipStatus.CLOSED))}
        open_codes = {t.code for t in db.session.scalars(select(Tip).where(Tip.status == TipStatus.NEW))}
    assert any(c in closed for c in closed_codes)
    assert not any(f"<b>{c}</b>" in closed for c in open_codes)
    assert officer.get("/officer/?status=bogus&village=x&category=-1").status_code == 200


def test_queue_poll_is_empty_when_nothing_changed(app, login_as, fresh_tip):
    officer = login_as("officer")
    html = officer.get("/officer/").get_data(as_text=True)
    import re

    poll = re.search(r'hx-get="(/officer/queue/poll[^"]+)"', html).group(1).replace("&amp;", "&")
    same = officer.get(poll, headers={"HX-Request": "true"})
    assert same.status_code == 204 and same.get_data() == b""
    officer.post(f"/officer/tips/{fresh_tip}/outcome", data={"outcome": "mediated"})
    changed = officer.get(poll, headers={"HX-Request": "true", "HX-Target": "queue"})
    assert changed.status_code == 200 and 'id="queue"' in changed.get_data(as_text=True)


def test_other_officer_cannot_open_or_act_on_my_tips(app, login_as, fresh_tip):
    other = login_as("officer2")
    assert other.get(f"/officer/tips/{fresh_tip}").status_code == 404
    assert other.post(f"/officer/tips/{fresh_tip}/outcome", data={"outcome": "mediated"}).status_code == 404
    assert other.post(f"/officer/tips/{fresh_tip}/ask", data={"body": "x", "client_key": "k" * 12}).status_code == 404
    with app.app_context():
        assert db.session.get(Tip, fresh_tip).status == TipStatus.NEW


def test_commander_sees_every_tip_of_the_commune(app, login_as, fresh_tip):
    c = login_as("commander")
    assert c.get(f"/officer/tips/{fresh_tip}").status_code == 200
    with app.app_context():
        codes = [t.code for t in db.session.scalars(select(Tip).where(Tip.status != TipStatus.CLOSED))]
    html = c.get("/officer/").get_data(as_text=True)
    assert all(code in html for code in codes)


def test_informants_see_only_their_own_tips(app, login_as, fresh_tip):
    an, binh = login_as("informant"), login_as("informant2")
    assert an.get(f"/informant/tips/{fresh_tip}").status_code == 200
    assert binh.get(f"/informant/tips/{fresh_tip}").status_code == 404
    assert binh.post(f"/informant/tips/{fresh_tip}/messages", data={"body": "x", "client_key": "k" * 12}).status_code == 404
    with app.app_context():
        code = db.session.get(Tip, fresh_tip).code
        binh_codes = {t.code for t in db.session.scalars(select(Tip).where(Tip.informant_id == U(BINH).informant.id))}
    mine = binh.get("/informant/tips").get_data(as_text=True)
    assert code not in mine and all(c in mine for c in binh_codes)


def test_informant_sees_plain_status_and_nothing_of_the_police_work(app, login_as):
    with app.app_context():
        # The demo's verified-and-mediated tip of informant 2.
        tip = db.session.scalar(select(Tip).where(Tip.outcome == Outcome.MEDIATED))
        tip_id, note = tip.id, tip.outcome_note
        brief = tip.tasks[0].brief
    html = login_as("informant2").get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert "Đã xử lý" in html
    for hidden in (note, brief, "Hoàng Văn Cường", "Đã hòa giải", "Phạm Minh Đức"):
        assert hidden not in html


def test_verifier_lists_only_own_tasks_soonest_first_and_no_tip_details(app, login_as):
    with app.app_context():
        mine = db.session.scalars(select(TaskAssignment).where(TaskAssignment.verifier_id == U(VERIFIER).id)).all()
        other = db.session.scalars(select(TaskAssignment).where(TaskAssignment.verifier_id == U(VERIFIER2).id)).all()
        other_ids = [a.id for a in other]
        bodies = [t.body for t in db.session.scalars(select(Tip))]
        codes = [t.code for t in db.session.scalars(select(Tip))]
        messages = [m.body for m in db.session.scalars(select(Message))]
        assert mine and other
    v = login_as("verifier")
    html = v.get("/verifier/").get_data(as_text=True)
    for a_id in other_ids:
        assert f"/verifier/tasks/{a_id}" not in html
        assert v.get(f"/verifier/tasks/{a_id}").status_code == 404
        assert v.post(f"/verifier/tasks/{a_id}/report", data={"finding": "confirmed"}).status_code == 404
    pages = [html] + [v.get(f"/verifier/tasks/{a.id}").get_data(as_text=True) for a in mine]
    for page in pages:
        for secret in bodies + codes + messages + ["NT-0", "Nguyễn Văn An", "Trần Thị Bình"]:
            assert secret not in page


def test_verifier_sees_the_overdue_task_marked(login_as):
    html = login_as("verifier2").get("/verifier/").get_data(as_text=True)
    assert "Quá hạn" in html


def test_observer_sees_counts_only(app, login_as):
    html = login_as("observer").get("/observer/").get_data(as_text=True)
    with app.app_context():
        for t in db.session.scalars(select(Tip)):
            assert t.code not in html and t.body not in html
    assert login_as("observer").get("/officer/").status_code == 404


def test_photos_only_for_those_who_may_see_them(app, login_as):
    r = send_tip(login_as("informant"), app, key="photo-key-0001")
    assert r.status_code == 303
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "photo-key-0001"))
        photo = tip.attachments[0].id
    for url in (f"/photos/{photo}", f"/photos/{photo}/thumb"):  # the thumbnail asks the same
        assert login_as("informant").get(url).status_code == 200
        assert login_as("officer").get(url).status_code == 200
        assert login_as("commander").get(url).status_code == 200
        for who in ("informant2", "officer2", "verifier", "verifier2", "observer"):
            assert login_as(who).get(url).status_code == 404, who
        resp = login_as("officer").get(url)
        assert resp.headers["Content-Type"] == "image/jpeg"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        # Kept by this browser only, never by a shared cache (docs/DEPLOY.md).
        assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"


def test_cancel_task_and_refusals(app, fresh_tip):
    with app.app_context():
        tip, officer = db.session.get(Tip, fresh_tip), U(OFFICER)
        task = cases.create_task(tip, by=officer, verifiers=[U(VERIFIER)], brief="Kiểm tra nhà văn hóa thôn.",
                                 due_at=future())
        cases.cancel_task(task, by=officer)
        assert task.status == TaskStatus.CANCELLED and "task_cancelled" in [e.kind for e in tip.events]
        with pytest.raises(cases.CaseError):
            cases.cancel_task(task, by=officer)
        with pytest.raises(cases.CaseError):  # a cancelled task takes no report
            cases.report_finding(task.assignments[0], by=U(VERIFIER), finding=Finding.CONFIRMED)


def test_sending_refusals(app):
    from zaloan.models import WatchPoint

    with app.app_context():
        v1 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        v4 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Trung Tâm"))
        market = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        an = U(AN)
        with pytest.raises(cases.CaseError):  # a watch point of another village
            cases.submit_tip(commune=v1.commune(), informant=an.informant, category=cat, body="x", village=v4,
                             watch_point=market, uploader=an)
        with pytest.raises(cases.CaseError):  # a bogus urgency
            cases.submit_tip(commune=v1.commune(), informant=an.informant, category=cat, body="x", village=v1,
                             urgency=9, uploader=an)
        cat.active = False
        with pytest.raises(cases.CaseError):  # a retired category
            cases.submit_tip(commune=v1.commune(), informant=an.informant, category=cat, body="x", village=v1,
                             uploader=an)
        tip = db.session.scalar(select(Tip).where(Tip.informant_id == an.informant.id))
        with pytest.raises(cases.CaseError):  # an empty answer
            cases.answer(tip, author=an, body="   ")
        db.session.rollback()


def test_the_thread_answer_over_http_refuses_empty_and_keeps_the_page(app, login_as, fresh_tip):
    r = login_as("informant").post(f"/informant/tips/{fresh_tip}/messages", data={"body": " ", "client_key": "empty-key-001"})
    assert r.status_code == 422 and "Vui lòng viết nội dung" in r.get_data(as_text=True)
