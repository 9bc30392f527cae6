"""The officer's side: the queue of their areas, the tip page and every action on it, over HTTP."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import (
    Attachment,
    AuditEvent,
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

from .helpers import U

AN, BINH, OFFICER, OFFICER2 = "+84900000010", "+84900000011", "+84900000002", "+84900000003"
VERIFIER, VERIFIER2 = "+84900000020", "+84900000021"
HTMX = {"HX-Request": "true", "HX-Target": "tip"}


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
        r = c.post(f"/officer/tips/{tip_id}/tasks", data={**data, "client_key": "task-refused-01"})
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
                                                         "due_at": "2099-01-01T08:00",
                                                         "client_key": "task-withdraw-01"}).status_code == 303
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


# --- Verification tasks: urgency, due time, one task per send, the officer's own words ---------------


def task_form(page: str) -> str:
    return re.search(r'<form[^>]*action="/officer/tips/\d+/tasks(?:#[^"]*)?".*?</form>', page, re.S).group(0)


def send_task(c, tip_id, **fields):
    with c.application.app_context():
        verifier = U(VERIFIER).id
    data = {"verifier_ids": str(verifier), "brief": "Kiểm tra khu chợ buổi sáng.", "urgency": "2",
            "due_at": "2099-01-01T08:00", "client_key": "task-key-000001"}
    data.update(fields)
    return c.post(f"/officer/tips/{tip_id}/tasks", data={k: v for k, v in data.items() if v is not None})


def task_count(app, tip_id):
    with app.app_context():
        return db.session.scalar(select(func.count(VerificationTask.id)).where(VerificationTask.tip_id == tip_id))


def test_the_task_form_offers_the_tips_urgency_and_the_communes_due_time_for_it(app, login_as):
    from zaloan.formkit import local_now
    from zaloan.models import CommuneSettings

    tip_id = new_tip(app)
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        cases.triage(tip, by=U(OFFICER), category=tip.category, urgency=3)
        settings = CommuneSettings.of(tip.commune_id)  # the demo commune has its settings saved already
        settings.due_hours_high = 5
        db.session.add(settings)
        db.session.commit()
    form = task_form(login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True))
    assert re.search(r'<option selected value="3">', form)  # the tip's urgency, chosen for the task
    due = re.search(r'name="due_at"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="due_at"', form)
    offered = datetime.strptime(due.group(1) or due.group(2), "%Y-%m-%dT%H:%M")
    assert abs(offered - (local_now() + timedelta(hours=5))) <= timedelta(minutes=2)  # not the old +24 h
    assert 'data-due-hours="{&#34;1&#34;: 72, &#34;2&#34;: 24, &#34;3&#34;: 5, &#34;4&#34;: 2}"' in form
    assert 'name="client_key"' in form


def test_the_task_keeps_the_urgency_the_officer_chose_and_the_tips_by_default(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    assert send_task(c, tip_id, urgency="4").status_code == 303
    # A form sent without the choice (an older page) keeps the tip's urgency, and so does a task made in code.
    assert send_task(c, tip_id, urgency=None, brief="Đi xem lại lần nữa nhé.", client_key="task-no-urgency1"
                     ).status_code == 303
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        cases.create_task(tip, by=U(OFFICER), verifiers=[U(VERIFIER)], brief="Xem lại chỗ cũ giúp tôi.",
                          due_at=utcnow() + timedelta(hours=3))
        db.session.commit()
        assert tip.urgency == 2 and [t.urgency for t in tip.tasks] == [4, 2, 2]


def task_audits(app, tip_id):
    from zaloan.models import AuditEvent

    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.create")).all()
        return [r for r in rows if r.data.get("tip") == tip_id]


def test_a_double_tap_creates_one_task_and_another_text_with_the_same_key_is_refused(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    assert send_task(c, tip_id).status_code == 303
    r = send_task(c, tip_id, due_at="2099-01-01T08:00:00")  # the retry, the same minute sent with seconds
    assert r.status_code == 303
    assert send_task(c, tip_id).status_code == 303
    assert task_count(app, tip_id) == 1
    assert kinds(app, tip_id) == ["submitted", "task_created"]
    assert len(task_audits(app, tip_id)) == 1
    r = send_task(c, tip_id, brief="Kiểm tra khu chợ buổi chiều.")
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "nội dung khác" in html and "Kiểm tra khu chợ buổi chiều." in html
    assert 'value="task-key-000001"' not in task_form(html)  # the next send gets a new key
    assert task_count(app, tip_id) == 1 and len(task_audits(app, tip_id)) == 1


def test_a_double_tap_with_htmx_returns_the_page_with_the_one_task(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    with app.app_context():
        verifier = U(VERIFIER).id
    data = {"verifier_ids": str(verifier), "brief": "Kiểm tra khu chợ buổi sáng.", "urgency": "3",
            "due_at": "2099-01-01T08:00", "client_key": "task-htmx-00001"}
    first = c.post(f"/officer/tips/{tip_id}/tasks", data=data, headers=HTMX)
    second = c.post(f"/officer/tips/{tip_id}/tasks", data=data, headers=HTMX)
    assert first.status_code == second.status_code == 200
    assert second.get_data(as_text=True).count("Kiểm tra khu chợ buổi sáng.") == 1
    assert task_count(app, tip_id) == 1 and kinds(app, tip_id) == ["submitted", "task_created"]


@pytest.mark.parametrize("due_at, message", [
    ("", "Vui lòng chọn hạn báo cáo."),
    (None, "Vui lòng chọn hạn báo cáo."),
    ("   ", "Vui lòng chọn hạn báo cáo."),
    ("ngày mai", "Thời gian này không đúng"),
    ("2026-13-45T99:99", "Thời gian này không đúng"),
    ("0001-01-01T00:00", "Vui lòng xem lại năm"),
    ("2000-01-01T08:00", "sau bây giờ"),
])
def test_a_task_without_a_good_due_time_is_refused_with_a_message(app, login_as, due_at, message):
    tip_id = new_tip(app)
    c = login_as("officer")
    fields = {"due_at": due_at} if due_at is not None else {}
    with app.app_context():
        verifier = U(VERIFIER).id
    data = {"verifier_ids": str(verifier), "brief": "Kiểm tra khu chợ buổi sáng.", "urgency": "2",
            "client_key": "task-due-000001", **fields}
    for headers in ({}, HTMX):
        r = c.post(f"/officer/tips/{tip_id}/tasks", data=data, headers=headers)
        html = r.get_data(as_text=True)
        assert r.status_code == 422, due_at
        field = re.search(r'<div class="field bad">\s*<label for="due_at".*?</div>', html, re.S)
        assert field and message in field.group(0), html[:2000]  # on the field itself
        assert "Kiểm tra khu chợ buổi sáng." in html  # the brief is kept
    assert task_count(app, tip_id) == 0 and kinds(app, tip_id) == ["submitted"]


SENDER_BODY = ("Tối thứ bảy tôi thấy ba thanh niên đi xe máy đỏ không biển số chở bao tải vào "
               "kho sau nhà ông Tám rồi khóa cửa lại.")
SENDER_ANSWER = "Một người đội mũ bảo hiểm vàng, có hình xăm con rồng to trên cánh tay trái."


@pytest.mark.parametrize("brief, field", [
    # 8 words of the tip's text in a row, in capitals without accents and another spacing
    ("Đề nghị xác minh: THANH NIEN DI XE MAY  DO KHONG BIEN SO, báo lại.", "brief"),
    # 8 words of what the sender answered in the thread
    ("Tìm người có hình xăm con rồng to trên cánh tay trái ở trong thôn.", "brief"),
    # the tip's free-text place, pasted into the place hint
    ("Kiểm tra khu vực nhà kho trong thôn.", "place_hint"),
])
def test_a_pasted_run_of_the_senders_words_is_refused_on_its_field(app, login_as, brief, field):
    with app.app_context():
        v = village("Thôn Đồng Bé")
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        tip, _ = cases.submit_tip(commune=v.commune(), informant=U(AN).informant, category=cat, body=SENDER_BODY,
                                  village=v, place_text="kho lợp tôn xanh ở cuối con ngõ nhỏ sau nhà ông Tám",
                                  uploader=U(AN))
        cases.ask(tip, by=U(OFFICER), body="Anh có thấy mặt họ không, họ đi mấy người?")
        cases.answer(tip, author=U(AN), body=SENDER_ANSWER)
        db.session.commit()
        tip_id = tip.id
    hint = "Kho lợp tôn xanh ở cuối con ngõ nhỏ sau nhà ông Tám" if field == "place_hint" else "Cuối ngõ"
    c = login_as("officer")
    r = send_task(c, tip_id, brief=brief, place_hint=hint, due_at="2099-01-01T08:00")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    box = re.search(rf'<div class="field bad">\s*<label for="{field}".*?</div>', html, re.S)
    assert box and "bằng lời của đồng chí" in box.group(0)
    assert brief in html and hint in html  # what was typed is kept
    assert task_count(app, tip_id) == 0 and kinds(app, tip_id) == ["submitted", "asked", "answered"]
    # Seven words in a row are the officer's to use, and so is the officer's own question.
    own = "Xem thanh niên đi xe máy đỏ không ạ, hỏi: Anh có thấy mặt họ không, họ đi mấy người?"
    ok = send_task(c, tip_id, brief=own, place_hint="Cuối ngõ", client_key="task-paste-ok01")
    assert ok.status_code == 303 and task_count(app, tip_id) == 1


# --- The tip page's sections: the next action open, a refusal inside the form that was sent ------------------


def section(html, name):
    """Return (attributes, inner HTML) of the tip page's section `tip-<name>` (a <details> or <section>)."""
    m = re.search(rf'<(details|section) id="tip-{name}"([^>]*)>(.*?)</\1>', html, re.S)
    assert m, f"no section tip-{name}"
    return m.group(2), m.group(3)


def is_open(html, name):
    return re.search(r"\sopen(\s|$)", section(html, name)[0]) is not None


def audits(app, tip_id, action):
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action,
                                                                        AuditEvent.target_id == tip_id))


def test_saving_the_triage_unchanged_adds_nothing(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    with app.app_context():
        cat = db.session.scalar(select(Category.id).where(Category.code == "theft"))
    data = {"category_id": str(cat), "urgency": "3"}
    assert c.post(f"/officer/tips/{tip_id}/triage", data=data).status_code == 303
    with app.app_context():
        touched = db.session.get(Tip, tip_id).updated_at
    for headers in ({}, HTMX):  # "Lưu" pressed again, as a plain form and through htmx
        assert c.post(f"/officer/tips/{tip_id}/triage", data=data, headers=headers).status_code in (200, 303)
    assert kinds(app, tip_id) == ["submitted", "triaged"]
    assert audits(app, tip_id, "tip.triage") == 1
    with app.app_context():
        assert db.session.get(Tip, tip_id).updated_at == touched  # the queue sees no change
    # A real change is still recorded.
    assert c.post(f"/officer/tips/{tip_id}/triage", data={**data, "urgency": "4"}).status_code == 303
    assert kinds(app, tip_id) == ["submitted", "triaged", "triaged"]
    assert audits(app, tip_id, "tip.triage") == 2


def test_a_new_tip_saved_as_it_came_is_triaged(app, login_as):
    tip_id = new_tip(app)
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        data = {"category_id": str(tip.category_id), "urgency": str(tip.urgency)}
    assert login_as("officer").post(f"/officer/tips/{tip_id}/triage", data=data).status_code == 303
    with app.app_context():
        assert db.session.get(Tip, tip_id).status == TipStatus.TRIAGED
    assert kinds(app, tip_id) == ["submitted", "triaged"]


def test_reopening_clears_the_old_outcome_note(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated", "note": "Hai bên đã bắt tay."})
    assert "Hai bên đã bắt tay." in c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert c.post(f"/officer/tips/{tip_id}/reopen", data={"reason": "Lại cãi nhau."}).status_code == 303
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        assert tip.outcome is None and tip.outcome_note == "" and tip.closed_at is None
        # Nothing recorded is lost: the reopening step keeps what it cleared.
        assert tip.events[-1].data["previous"] == {"outcome": "mediated", "note": "Hai bên đã bắt tay."}
    assert "Hai bên đã bắt tay." not in c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)


def test_the_next_likely_action_is_open_and_first(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    page = lambda: c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)  # noqa: E731
    actions = lambda html: re.findall(r'<details id="tip-(\w+)"', html)  # noqa: E731
    html = page()
    assert actions(html) == ["triage", "task", "outcome", "duplicate", "timeline"]
    assert [a for a in actions(html) if is_open(html, a)] == ["triage"]
    with app.app_context():
        cat = db.session.get(Tip, tip_id).category_id
        verifier = U(VERIFIER).id
    c.post(f"/officer/tips/{tip_id}/triage", data={"category_id": str(cat), "urgency": "2"})
    html = page()  # triaged, in a village with a verifier: send it to be checked
    assert actions(html)[0] == "task" and [a for a in actions(html) if is_open(html, a)] == ["task"]
    c.post(f"/officer/tips/{tip_id}/tasks", data={"verifier_ids": str(verifier), "brief": "Kiểm tra khu chợ buổi sáng.",
                                                  "due_at": "2099-01-01T08:00"})
    html = page()  # verifiers out checking: nothing to do but wait (or ask)
    assert [a for a in actions(html) if is_open(html, a)] == []
    c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated"})
    html = page()
    assert actions(html) == ["reopen", "timeline"] and is_open(html, "reopen")


def test_after_an_action_the_view_goes_to_what_changed(app, login_as):
    tip_id = new_tip(app)
    c = login_as("officer")
    r = c.post(f"/officer/tips/{tip_id}/ask", data={"body": "Mấy giờ?", "client_key": "ask-view-00001"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/officer/tips/{tip_id}#tip-thread")
    r = c.post(f"/officer/tips/{tip_id}/ask", data={"body": "Ở đâu?", "client_key": "ask-view-00002"}, headers=HTMX)
    assert r.status_code == 200 and r.headers["HX-Reswap"] == "outerHTML show:#tip-thread:bottom"
    r = c.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "mediated"}, headers=HTMX)
    assert r.headers["HX-Reswap"] == "outerHTML show:#tip-head:top"
    # A refusal is not moved by the server: the page's script brings the reason itself into view.
    r = c.post(f"/officer/tips/{tip_id}/reopen", data={"reason": ""}, headers=HTMX)
    assert r.status_code == 422 and "HX-Reswap" not in r.headers


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_a_refusal_shows_inside_the_form_that_was_sent(app, login_as, headers):
    tip_id = new_tip(app)
    c = login_as("officer")
    with app.app_context():
        verifier = U(VERIFIER).id
    # A domain refusal (cases.CaseError): a brief of two words.
    r = c.post(f"/officer/tips/{tip_id}/tasks", data={"verifier_ids": str(verifier), "brief": "Xem đi",
                                                      "place_hint": "Cổng chợ", "due_at": "2099-01-01T08:00"},
               headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    attrs, body = section(html, "task")
    assert is_open(html, "task")
    assert re.search(r'<form[^>]*>.*role="alert">Vui lòng viết nội dung cần xác minh.*</form>', body, re.S)
    assert "Xem đi</textarea>" in body and 'value="Cổng chợ"' in body
    assert 'class="err box"' not in html.split('<section class="card" id="tip-head">')[0]  # nothing at the top
    assert is_open(html, "triage")  # the next action stays as it was
    # A field error: an unknown code in the duplicate form, which opens though it was closed.
    r = c.post(f"/officer/tips/{tip_id}/duplicate", data={"code": "zzzzzz"}, headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and is_open(html, "duplicate")
    assert "Không có tin nào mang mã này" in section(html, "duplicate")[1]
    assert 'value="zzzzzz"' in section(html, "duplicate")[1]
    # A form the page no longer shows (the tip is open: no reopen form): the reason goes on top.
    r = c.post(f"/officer/tips/{tip_id}/reopen", data={"reason": "Lại lần nữa."}, headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 409
    assert re.search(r'<div id="tip">\s*<p class="err box" role="alert">Tin này đang được xử lý', html)
