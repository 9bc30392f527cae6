"""The officer's side: the queue of their areas, the tip page and every action on it, over HTTP."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import (
    Attachment,
    Category,
    Outcome,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    User,
    VerificationTask,
    utcnow,
)

AN, BINH, OFFICER, OFFICER2 = "+84900000010", "+84900000011", "+84900000002", "+84900000003"
VERIFIER, VERIFIER2 = "+84900000020", "+84900000021"
HTMX = {"HX-Request": "true", "HX-Target": "tip"}


def U(phone):
    return db.session.scalar(select(User).where(User.phone == phone))


def village(name):
    return db.session.scalar(select(Unit).where(Unit.name == name))


def new_tip(app, sender=AN, village_name="Thôn Đồng Bé", body="Có người lạ hỏi mua đồ cũ giá rẻ bất thường.", code="theft"):
    with app.app_context():
        v = village(village_name) if village_name else None
        commune = village("Thôn Đồng Bé").commune()
        cat = db.session.scalar(select(Category).where(Category.code == code))
        tip, _ = cases.submit_tip(commune=commune, informant=U(sender).informant, category=cat, body=body, village=v,
                                  uploader=U(sender))
        db.session.commit()
        return tip.id


def kinds(app, tip_id):
    with app.app_context():
        return list(db.session.scalars(select(TipEvent.kind).where(TipEvent.tip_id == tip_id).order_by(TipEvent.id)))


def test_a_tip_goes_to_the_officer_of_its_village_whoever_sent_it(app, login_as):
    # Informant 1 is handled by officer 1, but a tip from village 4 is officer 2's work.
    tip_id = new_tip(app, village_name="Thôn Trung Tâm")
    with app.app_context():
        code = db.session.get(Tip, tip_id).code
    assert code in login_as("officer2").get("/officer/").get_data(as_text=True)
    assert code not in login_as("officer").get("/officer/").get_data(as_text=True)
    assert login_as("officer").get(f"/officer/tips/{tip_id}").status_code == 404


def test_a_tip_without_village_goes_to_the_senders_handler(app, login_as):
    tip_id = new_tip(app, village_name=None)
    with app.app_context():
        code = db.session.get(Tip, tip_id).code
    assert code in login_as("officer").get("/officer/").get_data(as_text=True)
    assert code not in login_as("officer2").get("/officer/").get_data(as_text=True)
    assert login_as("officer2").get(f"/officer/tips/{tip_id}").status_code == 404
    page = login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Cần chọn thôn của tin trước khi giao xác minh." in page  # no village: no task form yet


def test_queue_filters_by_village_and_category_and_counts_each_status(app, login_as):
    c = login_as("officer")
    with app.app_context():
        v1, v2 = village("Thôn Đồng Bé"), village("Thôn Tân Lập")
        mine = db.session.scalars(select(Tip).where(Tip.village_id.in_([v1.id, v2.id, village("Thôn Hạ Lý").id]))).all()
        counts = {s: sum(1 for t in mine if t.status == s) for s in TipStatus.ALL}
        gambling = db.session.scalar(select(Category).where(Category.code == "gambling"))
        v1_open = {t.code for t in mine if t.village_id == v1.id and t.is_open}
        v2_all = {t.code for t in mine if t.village_id == v2.id}
        gambling_codes = {t.code for t in mine if t.category_id == gambling.id and t.is_open}
        other_codes = {t.code for t in mine if t.category_id != gambling.id}
        v1_id, v2_id, gambling_id = v1.id, v2.id, gambling.id
    html = c.get("/officer/").get_data(as_text=True)
    for s, label in (("new", "Mới"), ("verifying", "Đang xác minh"), ("closed", "Đã kết thúc")):
        assert f"{label}: {counts[s]}" in html
    by_village = c.get(f"/officer/?village={v2_id}&status=all").get_data(as_text=True)
    assert all(f"<b>{code}</b>" in by_village for code in v2_all)
    assert not any(f"<b>{code}</b>" in by_village for code in v1_open)
    by_category = c.get(f"/officer/?category={gambling_id}").get_data(as_text=True)
    assert gambling_codes and all(f"<b>{code}</b>" in by_category for code in gambling_codes)
    assert not any(f"<b>{code}</b>" in by_category for code in other_codes)


def test_the_queue_marks_an_answer_waiting(app, login_as):
    tip_id = new_tip(app)
    officer = login_as("officer")
    row = lambda: re.search(rf'href="/officer/tips/{tip_id}">(.*?)</a>', officer.get("/officer/").get_data(as_text=True),
                            re.S).group(1)
    assert "Người báo đã trả lời" not in row()
    officer.post(f"/officer/tips/{tip_id}/ask", data={"body": "Lúc mấy giờ?", "client_key": "q-mark-000001"})
    assert "Người báo đã trả lời" not in row()
    login_as("informant").post(f"/informant/tips/{tip_id}/messages", data={"body": "8 giờ.", "client_key": "a-mark-00001"})
    assert "Người báo đã trả lời" in row()


def test_the_tip_page_shows_the_alias_never_the_identity(app, login_as):
    tip_id = new_tip(app)
    page = login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    with app.app_context():
        an = U(AN)
        alias, name = an.informant.alias, an.full_name
    assert alias in page
    for identity in (name, "0900000010", "0900 000 010", "+84900000010"):
        assert identity not in page
    assert "<title>zaloan</title>" in page  # a neutral title, never the tip's text


def test_htmx_actions_return_the_tip_with_blank_forms(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    r = c.post(f"/officer/tips/{tip_id}/ask", data={"body": "Họ đi xe gì?", "client_key": "ask-blank-0001"},
               headers=HTMX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*</textarea>', html)  # the question is not typed again
    assert 'value="ask-blank-0001"' not in html
    # A refused action shows its error beside a form that keeps what was typed.
    r = c.post(f"/officer/tips/{tip_id}/tasks", data={"verifier_ids": "", "brief": "Đi xem lại chỗ đó.",
                                                     "due_at": "2099-01-01T08:00"}, headers=HTMX)
    assert r.status_code == 422 and "Đi xem lại chỗ đó." in r.get_data(as_text=True)


def test_a_reused_question_key_with_other_text_is_refused(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    assert c.post(f"/officer/tips/{tip_id}/ask", data={"body": "Câu một?", "client_key": "ask-reuse-001"}).status_code == 303
    assert c.post(f"/officer/tips/{tip_id}/ask", data={"body": "Câu một?", "client_key": "ask-reuse-001"}).status_code == 303
    r = c.post(f"/officer/tips/{tip_id}/ask", data={"body": "Câu khác?", "client_key": "ask-reuse-001"})
    assert r.status_code == 409 and 'value="ask-reuse-001"' not in r.get_data(as_text=True)
    assert kinds(app, tip_id) == ["submitted", "asked"]


def test_duplicate_refusals(app, login_as):
    first, second = new_tip(app), new_tip(app, sender=BINH)
    c = login_as("officer")
    with app.app_context():
        code1, code2 = db.session.get(Tip, first).code, db.session.get(Tip, second).code
        theirs = db.session.scalar(select(Tip.code).where(Tip.village_id == village("Thôn Trung Tâm").id))
    # Not itself, not a tip of another officer's area.
    assert c.post(f"/officer/tips/{first}/duplicate", data={"code": code1}).status_code == 422
    r = c.post(f"/officer/tips/{first}/duplicate", data={"code": theirs})
    assert r.status_code == 422 and "Không có tin nào mang mã này" in r.get_data(as_text=True)
    assert c.post(f"/officer/tips/{second}/duplicate", data={"code": code1}).status_code == 303
    # The first cannot now be marked a duplicate of its own duplicate.
    with app.app_context():
        with pytest.raises(cases.CaseError):
            cases.mark_duplicate(db.session.get(Tip, first), of=db.session.get(Tip, second), by=U(OFFICER))
        db.session.rollback()
    first_page = c.get(f"/officer/tips/{first}").get_data(as_text=True)
    second_page = c.get(f"/officer/tips/{second}").get_data(as_text=True)
    assert f'href="/officer/tips/{second}">{code2}' in first_page  # linked both ways
    assert f'href="/officer/tips/{first}">{code1}' in second_page
    assert kinds(app, first) == ["submitted", "duplicate_linked", "read"]  # opened after the link


def test_a_duplicate_of_a_duplicate_joins_the_first_tip(app):
    a, b, c_ = new_tip(app), new_tip(app, sender=BINH), new_tip(app)
    with app.app_context():
        officer = U(OFFICER)
        cases.mark_duplicate(db.session.get(Tip, b), of=db.session.get(Tip, a), by=officer)
        cases.mark_duplicate(db.session.get(Tip, c_), of=db.session.get(Tip, b), by=officer)
        db.session.commit()
        assert db.session.get(Tip, c_).duplicate_of_id == a


def test_task_refusals_over_http_change_nothing(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    with app.app_context():
        other_verifier, verifier = U(VERIFIER2).id, U(VERIFIER).id
    for data, words in [
        ({"verifier_ids": str(other_verifier), "brief": "Kiểm tra khu chợ buổi sáng.", "due_at": "2099-01-01T08:00"},
         None),  # a verifier of another village is not even offered
        ({"verifier_ids": str(verifier), "brief": "Có người lạ hỏi mua đồ cũ giá rẻ bất thường.",
          "due_at": "2099-01-01T08:00"}, "bằng lời của đồng chí"),
        ({"verifier_ids": str(verifier), "brief": "Kiểm tra khu chợ buổi sáng.", "due_at": "2000-01-01T08:00"},
         "sau bây giờ"),
    ]:
        r = c.post(f"/officer/tips/{tip_id}/tasks", data=data)
        assert r.status_code == 422, data
        if words:
            assert words in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(VerificationTask.id)).where(VerificationTask.tip_id == tip_id)) == 0
    assert kinds(app, tip_id) == ["submitted"]


def test_only_photos_of_the_tip_can_be_shared_with_verifiers(app):
    tip_id = new_tip(app)
    with app.app_context():
        other = db.session.scalar(select(Tip).where(Tip.id != tip_id))
        photo = Attachment(tip_id=other.id, storage_name="x" * 32, content_type="image/jpeg", width=1, height=1,
                           size=1, sha256="0" * 64)
        db.session.add(photo)
        db.session.flush()
        with pytest.raises(cases.CaseError):
            cases.create_task(db.session.get(Tip, tip_id), by=U(OFFICER), verifiers=[U(VERIFIER)],
                              brief="Kiểm tra khu chợ buổi sáng.", due_at=utcnow() + timedelta(hours=3),
                              shared_photo_ids=[photo.id])


def test_outcome_reopen_and_withdraw_over_http(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    with app.app_context():
        verifier = U(VERIFIER).id
    assert c.post(f"/officer/tips/{tip_id}/tasks", data={"verifier_ids": str(verifier),
                                                         "brief": "Kiểm tra khu chợ buổi sáng.",
                                                         "due_at": "2099-01-01T08:00"}).status_code == 303
    with app.app_context():
        task_id = db.session.get(Tip, tip_id).tasks[0].id
    assert c.post(f"/officer/tips/{tip_id}/tasks/{task_id}/cancel").status_code == 303
    assert c.post(f"/officer/tips/{tip_id}/tasks/{task_id}/cancel").status_code == 409  # already withdrawn
    assert c.post(f"/officer/tips/{tip_id}/tasks/999999/cancel").status_code == 404
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "duplicate"})
    assert r.status_code == 422  # a duplicate is marked with its code, not as an outcome
    assert c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "sanction", "note": "Phạt hành chính."}
                  ).status_code == 303
    assert c.post(f"/officer/tips/{tip_id}/reopen", data={"reason": ""}).status_code == 422
    assert c.post(f"/officer/tips/{tip_id}/reopen", data={"reason": "Có tin mới."}).status_code == 303
    r = c.post(f"/officer/tips/{tip_id}/reopen", data={"reason": "Lại lần nữa."})
    assert r.status_code == 409 and "Tin này đang được xử lý" in r.get_data(as_text=True)
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        assert tip.status == TipStatus.TRIAGED and tip.outcome is None
    assert kinds(app, tip_id) == ["submitted", "task_created", "task_cancelled", "outcome", "reopened"]


def test_the_commander_works_on_any_tip_and_officer2_on_none_of_officer1s(app, login_as):
    tip_id = new_tip(app)
    commander, other = login_as("commander"), login_as("officer2")
    for url, data in [("triage", {"category_id": "1", "urgency": "3"}), ("outcome", {"outcome": "mediated"}),
                      ("reopen", {"reason": "x"}), ("duplicate", {"code": "AAAAAA"}),
                      ("tasks", {"brief": "x"}), ("ask", {"body": "x", "client_key": "k" * 12})]:
        assert other.post(f"/officer/tips/{tip_id}/{url}", data=data).status_code == 404, url
    assert kinds(app, tip_id) == ["submitted"]
    assert commander.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": Outcome.HIGHER_POLICE}).status_code == 303
    assert kinds(app, tip_id) == ["submitted", "outcome"]
