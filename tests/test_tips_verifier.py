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


def test_overdue_is_marked_and_the_place_and_its_time_windows_are_shown(app, login_as):
    html = login_as("verifier2").get("/verifier/").get_data(as_text=True)
    a_id = re.search(r'href="/verifier/tasks/(\d+)"', html).group(1)
    page = login_as("verifier2").get(f"/verifier/tasks/{a_id}").get_data(as_text=True)
    assert "Quá hạn" in page and "Ngã tư Trung Tâm" in page
    assert re.search(r"\d\d:\d\d–\d\d:\d\d", page)  # the watch point's time window
