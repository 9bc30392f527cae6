"""The whole tip flow across roles, through the Flask test client."""
import io
import re

from PIL import Image
from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Category, TaskAssignment, Tip, TipEvent, TipStatus, Unit, User, WatchPoint


def jpeg_bytes(size=(800, 600), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def ids(app):
    with app.app_context():
        cat = db.session.scalar(select(Category).where(Category.code == "drugs"))
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        verifier = db.session.scalar(select(User).where(User.phone == "+84900000020"))
        return cat.id, village.id, point.id, verifier.id


def send_tip(c, app, body="Thấy người lạ bán hàng cấm ở góc chợ, có ảnh.", key="flow-key-0001", photo=True, **extra):
    cat, village, point, _ = ids(app)
    data = {
        "category_id": str(cat), "body": body, "village_id": str(village), "watch_point_id": str(point),
        "place_text": "", "urgency": "3", "client_key": key,
    }
    data.update(extra)
    if photo:
        data["photos"] = (io.BytesIO(jpeg_bytes()), "anh.jpg")
    return c.post("/informant/tips/new", data=data, content_type="multipart/form-data")


def test_whole_flow_across_roles(app, login_as):
    informant, officer, verifier = login_as("informant"), login_as("officer"), login_as("verifier")
    cat, village, point, verifier_id = ids(app)

    # The informant sends a tip with a photo and gets its code.
    r = send_tip(informant, app)
    assert r.status_code == 303
    page = informant.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "flow-key-0001"))
        tip_id, code = tip.id, tip.code
        assert tip.status == TipStatus.NEW and len(tip.attachments) == 1
        photo_id = tip.attachments[0].id
    assert code in page and "Đã nhận" in page
    assert informant.get(f"/photos/{photo_id}").status_code == 200

    # The officer sees it in the queue and triages it.
    queue = officer.get("/officer/").get_data(as_text=True)
    assert code in queue
    r = officer.post(f"/officer/tips/{tip_id}/triage", data={"category_id": str(cat), "urgency": "4"})
    assert r.status_code == 303
    # ... asks a question in the private thread.
    r = officer.post(f"/officer/tips/{tip_id}/ask", data={"body": "Người đó mặc áo màu gì?", "client_key": "ask-key-0001"})
    assert r.status_code == 303

    # The informant answers.
    thread = informant.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert "Người đó mặc áo màu gì?" in thread
    r = informant.post(f"/informant/tips/{tip_id}/messages", data={"body": "Áo khoác đen.", "client_key": "answer-key-01"})
    assert r.status_code == 303

    # The officer creates a verification task in their own words, sharing the photo.
    assert "Áo khoác đen." in officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    r = officer.post(f"/officer/tips/{tip_id}/tasks", data={
        "verifier_ids": str(verifier_id), "brief": "Kiểm tra góc chợ phía đông vào sáng mai.",
        "place_hint": "Góc chợ phía đông", "due_at": "2099-01-01T08:00", "photo_ids": str(photo_id),
    })
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Tip, tip_id).status == TipStatus.VERIFYING
        assignment = db.session.scalar(select(TaskAssignment).where(TaskAssignment.verifier_id == verifier_id)
                                       .order_by(TaskAssignment.id.desc()))
        assignment_id = assignment.id

    # The verifier sees the task, never the tip's text, code, sender or thread.
    home = verifier.get("/verifier/").get_data(as_text=True)
    assert f"/verifier/tasks/{assignment_id}" in home
    task_page = verifier.get(f"/verifier/tasks/{assignment_id}").get_data(as_text=True)
    assert "Kiểm tra góc chợ phía đông" in task_page
    for secret in ("Thấy người lạ bán hàng cấm", code, "NT-", "Áo khoác đen", "Người đó mặc áo", "Nguyễn Văn An"):
        assert secret not in task_page
    assert verifier.get(f"/photos/{photo_id}").status_code == 200  # shared with this task
    assert verifier.post(f"/verifier/tasks/{assignment_id}/accept").status_code == 303
    r = verifier.post(f"/verifier/tasks/{assignment_id}/report", data={
        "finding": "confirmed", "notes": "Có người bán hàng lạ, đã nhắc nhở.", "client_key": "report-key-01"})
    assert r.status_code == 303

    # The officer records the outcome.
    tip_page = officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Đúng sự thật" in tip_page and "Có người bán hàng lạ" in tip_page
    r = officer.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "commune_police", "note": "Đã xử lý."})
    assert r.status_code == 303

    # The informant sees "đã xử lý", and nothing of the police work.
    mine = informant.get("/informant/tips").get_data(as_text=True)
    assert "Đã xử lý" in mine
    detail = informant.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert "Đã xử lý" in detail
    for police_work in ("Kiểm tra góc chợ", "Hoàng Văn Cường", "Có người bán hàng lạ", "Công an xã đã giải quyết"):
        assert police_work not in detail

    # Every step is on the timeline.
    with app.app_context():
        kinds = [e.kind for e in db.session.scalars(select(TipEvent).where(TipEvent.tip_id == tip_id)
                                                    .order_by(TipEvent.id))]
    # "read": the officer first opened the tip's page after the answer came (everything before was by form posts).
    assert kinds == ["submitted", "triaged", "asked", "answered", "read", "task_created", "task_accepted",
                     "task_reported", "outcome"]


def test_tip_form_without_javascript_fields(login_as):
    page = login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="client_key"' in page
    assert re.search(r'<form method="post" action="/informant/tips/new"', page)
    for name in ("category_id", "body", "village_id", "watch_point_id", "urgency", "photos"):
        assert f'name="{name}"' in page
