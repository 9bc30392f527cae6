"""The verifier's side: their tasks, accept, report once; nothing else of the tip, in any answer."""
import io
import re
from datetime import timedelta

from sqlalchemy import select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import Category, Message, TaskAssignment, Tip, Unit, User, utcnow

from .helpers import U
from .test_flow import jpeg_bytes

AN, OFFICER, VERIFIER, VERIFIER2 = "+84900000010", "+84900000002", "+84900000020", "+84900000021"
BODY = "Nhà bà Tư cuối xóm có người lạ ra vào ban đêm, tôi ở ngay đối diện."
BRIEF = "Kiểm tra khu cuối xóm Đồng Bé về người lạ ra vào ban đêm."
HTMX = {"HX-Request": "true", "HX-Target": "task"}


def make_task(app, hours=6, photo=False, share=False):
    """A tip of informant 1 in village 1 with a question and an answer, and a task for verifier 1."""
    with app.app_context():
        v1 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        cat = db.session.scalar(select(Category).where(Category.code == "suspicious"))
        from zaloan import images

        photos = [images.store(jpeg_bytes())] if photo else []
        tip, _ = cases.submit_tip(commune=v1.commune(), informant=U(AN).informant, category=cat, body=BODY,
                                  village=v1, photos=photos, uploader=U(AN))
        cases.ask(tip, by=U(OFFICER), body="Chị thấy mấy người?")
        cases.answer(tip, author=U(AN), body="Ba người, đi xe Honda.")
        db.session.flush()
        shared = [tip.attachments[0].id] if share else []
        task = cases.create_task(tip, by=U(OFFICER), verifiers=[U(VERIFIER)], brief=BRIEF,
                                 due_at=utcnow() + timedelta(hours=hours), shared_photo_ids=shared)
        db.session.commit()
        return {"tip": tip.id, "a": task.assignments[0].id, "code": tip.code, "alias": U(AN).informant.alias,
                "photo": tip.attachments[0].id if photo else None}


SECRETS = [BODY, "Chị thấy mấy người?", "Ba người, đi xe Honda.", "Nguyễn Văn An", "0900000010", "0900 000 010",
           "+84900000010", "NT-"]


def assert_nothing_of_the_tip(html, t):
    for secret in SECRETS + [t["code"], t["alias"]]:
        assert secret not in html, secret
    assert f"/officer/tips/{t['tip']}" not in html and f"/informant/tips/{t['tip']}" not in html


def test_open_tasks_soonest_due_first(app, login_as):
    later, sooner = make_task(app, hours=30), make_task(app, hours=2)
    html = login_as("verifier").get("/verifier/").get_data(as_text=True)
    assert html.index(f"/verifier/tasks/{sooner['a']}") < html.index(f"/verifier/tasks/{later['a']}")
    assert BRIEF in html
    assert_nothing_of_the_tip(html, later)
    assert f"/verifier/tasks/{later['a']}" not in login_as("verifier2").get("/verifier/").get_data(as_text=True)


def test_accept_then_report_with_htmx_updates_the_task_in_place(app, login_as):
    t = make_task(app)
    v = login_as("verifier")
    r = v.post(f"/verifier/tasks/{t['a']}/accept", headers=HTMX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="task">') and "<html" not in html
    assert "/accept" not in html  # accepted: the button is gone
    assert_nothing_of_the_tip(html, t)
    r = v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "partly", "notes": "Có 2 người lạ.",
                                                       "client_key": "rep-htmx-0001"}, headers=HTMX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Có 2 người lạ." in html and f'data-clear-draft="report-{t["a"]}"' in html
    assert 'name="finding"' not in html  # reported once: no form any more
    assert_nothing_of_the_tip(html, t)


def test_accept_twice_and_report_twice_are_refused_and_change_nothing(app, login_as):
    t = make_task(app)
    v = login_as("verifier")
    assert v.post(f"/verifier/tasks/{t['a']}/accept").status_code == 303
    r = v.post(f"/verifier/tasks/{t['a']}/accept")
    assert r.status_code == 409 and "Bạn đã nhận việc này rồi." in r.get_data(as_text=True)
    assert_nothing_of_the_tip(r.get_data(as_text=True), t)
    assert v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "confirmed", "client_key": "rep-once-0001"}
                  ).status_code == 303
    r = v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "not_found", "client_key": "rep-once-0002"})
    assert r.status_code == 409 and "đã báo cáo" in r.get_data(as_text=True)
    assert_nothing_of_the_tip(r.get_data(as_text=True), t)
    with app.app_context():
        assert db.session.get(TaskAssignment, t["a"]).finding == "confirmed"


def test_a_withdrawn_task_takes_no_report(app, login_as):
    t = make_task(app)
    with app.app_context():
        a = db.session.get(TaskAssignment, t["a"])
        cases.cancel_task(a.task, by=U(OFFICER))
        db.session.commit()
    v = login_as("verifier")
    assert "Việc này không còn cần nữa." in v.get(f"/verifier/tasks/{t['a']}").get_data(as_text=True)
    assert v.post(f"/verifier/tasks/{t['a']}/accept").status_code == 409
    assert v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "confirmed", "client_key": "rep-gone-0001"}
                  ).status_code == 409
    assert f"/verifier/tasks/{t['a']}\"><b>" not in v.get("/verifier/").get_data(as_text=True)  # not among open tasks


def test_someone_elses_task_is_404_everywhere(app, login_as):
    t = make_task(app)
    other = login_as("verifier2")
    assert other.get(f"/verifier/tasks/{t['a']}").status_code == 404
    assert other.post(f"/verifier/tasks/{t['a']}/accept").status_code == 404
    assert other.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "confirmed"}).status_code == 404
    with app.app_context():
        a = db.session.get(TaskAssignment, t["a"])
        assert a.accepted_at is None and a.reported_at is None
    v = login_as("verifier")
    for url in (f"/officer/tips/{t['tip']}", f"/informant/tips/{t['tip']}", "/officer/", "/informant/tips"):
        assert v.get(url).status_code == 404, url


def test_photos_shared_or_own_only(app, login_as):
    unshared, shared = make_task(app, photo=True), make_task(app, photo=True, share=True)
    v = login_as("verifier")
    assert v.get(f"/photos/{unshared['photo']}").status_code == 404
    assert f"/photos/{unshared['photo']}" not in v.get(f"/verifier/tasks/{unshared['a']}").get_data(as_text=True)
    assert v.get(f"/photos/{shared['photo']}").status_code == 200
    assert f"/photos/{shared['photo']}" in v.get(f"/verifier/tasks/{shared['a']}").get_data(as_text=True)
    assert login_as("verifier2").get(f"/photos/{shared['photo']}").status_code == 404
    # A report photo, sent on its own first: its verifier and the police see it, the informant does not.
    up = v.post("/verifier/photos", content_type="multipart/form-data",
                data={"photo": (io.BytesIO(jpeg_bytes(color=(0, 90, 0))), "r.jpg"), "client_key": "rep-photo-0001"})
    photo = up.get_json()["id"]
    r = v.post(f"/verifier/tasks/{unshared['a']}/report",
               data={"finding": "confirmed", "client_key": "rep-photo-0002", "photo_ids": str(photo)})
    assert r.status_code == 303
    assert f"/photos/{photo}" in v.get(f"/verifier/tasks/{unshared['a']}").get_data(as_text=True)
    assert v.get(f"/photos/{photo}").status_code == 200
    assert login_as("officer").get(f"/photos/{photo}").status_code == 200
    for who in ("informant", "verifier2", "officer2", "observer"):
        assert login_as(who).get(f"/photos/{photo}").status_code == 404, who
    # Another verifier's unlinked upload cannot be attached to my report.
    other = login_as("verifier2")
    up = other.post("/verifier/photos", content_type="multipart/form-data",
                    data={"photo": (io.BytesIO(jpeg_bytes(color=(9, 9, 9))), "o.jpg"), "client_key": "rep-photo-0003"})
    t = make_task(app)
    r = v.post(f"/verifier/tasks/{t['a']}/report",
               data={"finding": "confirmed", "client_key": "rep-photo-0004", "photo_ids": str(up.get_json()["id"])})
    assert r.status_code == 422


def test_no_answer_of_the_verifier_side_carries_the_tip(app, login_as):
    """List, page, fragments and refusals: none holds the tip's text, code, sender or thread."""
    t = make_task(app, photo=True, share=True)
    v = login_as("verifier")
    answers = [
        v.get("/verifier/"),
        v.get(f"/verifier/tasks/{t['a']}"),
        v.get(f"/verifier/tasks/{t['a']}", headers=HTMX),
        v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "bogus", "client_key": "rep-bad-00001"}),
        v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "confirmed", "client_key": "rep-ok-000001"},
               headers=HTMX),
        v.post(f"/verifier/tasks/{t['a']}/accept"),
    ]
    for resp in answers:
        assert_nothing_of_the_tip(resp.get_data(as_text=True), t)
    with app.app_context():
        assert db.session.scalar(select(Message.id).where(Message.tip_id == t["tip"])) is not None
        assert db.session.get(Tip, t["tip"]).body == BODY


def test_overdue_is_marked_and_the_tips_watch_point_is_not_shown(app, login_as):
    html = login_as("verifier2").get("/verifier/").get_data(as_text=True)
    a_id = re.search(r'href="/verifier/tasks/(\d+)"', html).group(1)
    page = login_as("verifier2").get(f"/verifier/tasks/{a_id}").get_data(as_text=True)
    assert "Quá hạn" in page
    # The demo tip was sent from the crossroads in its 06:30–07:30 window: a neighbour would know who.
    assert "Ngã tư Trung Tâm" not in page and not re.search(r"\d\d:\d\d–\d\d:\d\d", page)


# --- Secrecy: the verifier sees only what the officer chose to share ---------------------------------

LEAKY_BODY = "Sáng nào ông Sáu bán cá cũng thấy xe tải biển xanh dừng sau quầy gạo của nhà Lực."
LEAKY_PLACE = "sau gốc đa ba nhánh cạnh lò gạch cũ"
LEAKY_ANSWER = "Tôi đứng bán rau ngay cạnh nên nghe rõ họ nói chuyện bằng giọng miền Trung."
OWN_BRIEF = "Đề nghị đồng chí để ý xe tải lạ dừng đỗ trong thôn vào buổi sáng, hỏi khéo các hộ xung quanh."


def leaky_tip(app, urgency=3):
    """A tip sent from the demo market (window 05:00–09:00) with a free-text place, an early time and a thread."""
    from datetime import datetime

    from zaloan import images
    from zaloan.formkit import to_utc
    from zaloan.models import WatchPoint

    with app.app_context():
        v1 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        market = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        cat = db.session.scalar(select(Category).where(Category.code == "suspicious"))
        when = to_utc(datetime.combine(utcnow().date() - timedelta(days=1), datetime.min.time()).replace(hour=4,
                                                                                                          minute=37))
        tip, _ = cases.submit_tip(commune=v1.commune(), informant=U(AN).informant, category=cat, body=LEAKY_BODY,
                                  village=v1, watch_point=market, place_text=LEAKY_PLACE, occurred_at=when,
                                  urgency=urgency, photos=[images.store(jpeg_bytes())], uploader=U(AN))
        cases.ask(tip, by=U(OFFICER), body="Anh đứng ở đâu khi thấy?")
        cases.answer(tip, author=U(AN), body=LEAKY_ANSWER)
        db.session.commit()
        return tip.id, tip.attachments[0].id, U(VERIFIER).id


def officer_sends_task(login_as, tip_id, verifier_id, photo_id, brief=OWN_BRIEF, **extra):
    from zaloan.formkit import local_now

    data = {"verifier_ids": str(verifier_id), "brief": brief, "place_hint": "Đoạn đường liên thôn phía bắc",
            "urgency": "4", "due_at": (local_now() + timedelta(days=1)).replace(hour=15, minute=0)
            .strftime("%Y-%m-%dT%H:%M"), "photo_ids": str(photo_id), "client_key": "task-secret-0001"}
    data.update(extra)
    r = login_as("officer").post(f"/officer/tips/{tip_id}/tasks", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]


def test_a_verifier_sees_nothing_of_the_tip_the_officer_did_not_write(app, login_as):
    from .secrecy import assert_verifier_never_sees, tip_secrets

    tip_id, photo_id, verifier_id = leaky_tip(app)
    officer_sends_task(login_as, tip_id, verifier_id, photo_id)
    secrets = tip_secrets(app, tip_id)
    for piece in ("Chợ Tân Thành", "05:00–09:00", "Chợ sáng", LEAKY_BODY, LEAKY_PLACE, LEAKY_ANSWER,
                  "Người khả nghi", "04:37"):
        assert any(piece in s for s in secrets), piece
    v = login_as("verifier")
    page = v.get("/verifier/").get_data(as_text=True)
    assert "Đề nghị đồng chí để ý xe tải lạ" in page  # what the officer wrote is there
    visited = assert_verifier_never_sees(v, secrets, tip_ids=[tip_id])
    # The ticked photo and its thumbnail were fetched and looked into (their URLs carry a version).
    assert any(u.split("?")[0] == f"/photos/{photo_id}" for u in visited)
    assert any(u.split("?")[0] == f"/photos/{photo_id}/thumb" for u in visited)
    assert any(u.startswith("POST /verifier/tasks/") and u.endswith("/report") for u in visited)


def test_what_the_officer_writes_is_what_the_verifier_sees(app, login_as):
    tip_id, photo_id, verifier_id = leaky_tip(app)
    officer_sends_task(login_as, tip_id, verifier_id, photo_id,
                       brief="Ra Chợ Tân Thành lúc chợ sáng xem có xe tải lạ không.", photo_ids="")
    v = login_as("verifier")
    a_id = re.search(r'href="/verifier/tasks/(\d+)"', v.get("/verifier/").get_data(as_text=True)).group(1)
    page = v.get(f"/verifier/tasks/{a_id}").get_data(as_text=True)
    assert "Ra Chợ Tân Thành lúc chợ sáng" in page and "Đoạn đường liên thôn phía bắc" in page
    assert "05:00–09:00" not in page and f"/photos/{photo_id}" not in page  # not ticked, not shown
    assert v.get(f"/photos/{photo_id}").status_code == 404
    # The rest of the tip stays out everywhere; the place the officer named is theirs to share.
    from .secrecy import assert_verifier_never_sees, tip_secrets

    assert_verifier_never_sees(v, tip_secrets(app, tip_id), tip_ids=[tip_id],
                               written="Ra Chợ Tân Thành lúc chợ sáng xem có xe tải lạ không.")


def test_the_secrecy_walk_fails_on_a_leak(app, login_as):
    """The check can fail: the officer's own words, given as a secret, are found (also folded)."""
    import pytest

    from .secrecy import assert_verifier_never_sees

    tip_id, photo_id, verifier_id = leaky_tip(app)
    officer_sends_task(login_as, tip_id, verifier_id, photo_id)
    for leak in ("để ý xe tải lạ dừng đỗ", "DE Y XE TAI LA - DUNG DO"):
        with pytest.raises(AssertionError, match="shown to the verifier"):
            assert_verifier_never_sees(login_as("verifier"), [leak])


def test_urgent_tasks_are_marked_and_come_first_after_the_overdue(app, login_as):
    from zaloan.models import VerificationTask

    low, emergency, late = make_task(app, hours=2), make_task(app, hours=40), make_task(app, hours=50)
    with app.app_context():
        db.session.get(TaskAssignment, low["a"]).task.urgency = 1
        db.session.get(TaskAssignment, emergency["a"]).task.urgency = 4
        task = db.session.get(TaskAssignment, late["a"]).task
        task.urgency, task.due_at = 1, utcnow() - timedelta(hours=1)
        db.session.commit()
        assert db.session.scalar(select(VerificationTask.urgency).where(VerificationTask.id == task.id)) == 1
    v = login_as("verifier")
    html = v.get("/verifier/").get_data(as_text=True)
    pos = {k: html.index(f'href="/verifier/tasks/{t["a"]}"') for k, t in
           (("low", low), ("emergency", emergency), ("late", late))}
    assert pos["late"] < pos["emergency"] < pos["low"]
    item = re.search(rf'<li class="(\w+)"><a href="/verifier/tasks/{emergency["a"]}">(.*?)</li>', html, re.S)
    assert item.group(1) == "u4" and "Khẩn cấp, đang xảy ra" in item.group(2)
    assert "Không gấp" not in html  # a task that is not urgent is not marked in the list
    page = v.get(f"/verifier/tasks/{low['a']}").get_data(as_text=True)
    assert "Mức độ khẩn" in page and "Không gấp" in page
