"""A dropped connection never makes a second record: forms carry a key the server keeps."""
import io
import threading

from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.models import Attachment, Message, TaskAssignment, Tip

from .test_flow import jpeg_bytes, send_tip


def count_tips(app, key):
    with app.app_context():
        return db.session.scalar(select(func.count(Tip.id)).where(Tip.client_key == key))


def test_same_tip_posted_three_times_is_one_tip(app, login_as):
    c = login_as("informant")
    locations = {send_tip(c, app, key="retry-key-0001", photo=False).headers["Location"] for _ in range(3)}
    assert len(locations) == 1  # every retry lands on the same tip
    assert count_tips(app, "retry-key-0001") == 1


def test_five_concurrent_posts_with_one_key_make_one_tip(app, login_as):
    clients = [login_as("informant") for _ in range(5)]
    statuses, start = [], threading.Barrier(5)

    def post(c):
        start.wait()
        statuses.append(send_tip(c, app, key="race-key-00001", photo=False).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * 5
    assert count_tips(app, "race-key-00001") == 1


def test_same_key_with_other_content_is_refused(app, login_as):
    c = login_as("informant")
    assert send_tip(c, app, key="reuse-key-0001", photo=False).status_code == 303
    r = send_tip(c, app, key="reuse-key-0001", photo=False, body="Một nội dung hoàn toàn khác.")
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "đã đến nơi, với nội dung khác" in html and "Một nội dung hoàn toàn khác." in html
    # The form comes back with a new key, so pressing Send again makes the new tip.
    assert 'value="reuse-key-0001"' not in html and 'name="client_key"' in html
    assert count_tips(app, "reuse-key-0001") == 1
    with app.app_context():
        assert db.session.scalar(select(Tip.body).where(Tip.client_key == "reuse-key-0001")).startswith("Thấy người lạ")


def test_a_retried_message_and_report_are_kept_once(app, login_as):
    c = login_as("informant")
    send_tip(c, app, key="thread-key-001", photo=False)
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.client_key == "thread-key-001"))
    for _ in range(3):
        assert c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Tôi bổ sung.", "client_key": "msg-key-0001"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(Message.client_key == "msg-key-0001")) == 1
    v = login_as("verifier")
    with app.app_context():
        from zaloan.models import User

        me = db.session.scalar(select(User.id).where(User.phone == "+84900000020"))
        a_id = db.session.scalar(select(TaskAssignment.id).where(TaskAssignment.reported_at.is_(None),
                                                                 TaskAssignment.verifier_id == me))
    assert a_id is not None
    for _ in range(2):
        r = v.post(f"/verifier/tasks/{a_id}/report", data={"finding": "partly", "client_key": "rep-key-00001"})
        assert r.status_code == 303
    r = v.post(f"/verifier/tasks/{a_id}/report", data={"finding": "confirmed", "client_key": "rep-key-00001"})
    assert r.status_code == 409

def test_photos_go_one_by_one_with_their_own_key(app, login_as):
    c = login_as("informant")
    ids = set()
    for _ in range(2):  # the same photo sent twice after a dropped connection
        r = c.post("/informant/photos", data={"photo": (io.BytesIO(jpeg_bytes()), "a.jpg"), "client_key": "photo-key-001"},
                   content_type="multipart/form-data")
        assert r.status_code == 200
        ids.add(r.get_json()["id"])
    assert len(ids) == 1
    photo_id = ids.pop()
    # Another informant cannot attach it to their tip.
    other = login_as("informant2")
    r = send_tip(other, app, key="steal-key-0001", photo=False, photo_ids=str(photo_id))
    assert r.status_code == 422
    assert count_tips(app, "steal-key-0001") == 0
    # Its uploader can.
    assert send_tip(c, app, key="own-key-000001", photo=False, photo_ids=str(photo_id)).status_code == 303
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "own-key-000001"))
        assert [a.id for a in tip.attachments] == [photo_id]
        assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.client_key == "photo-key-001")) == 1


def test_a_bad_photo_keeps_the_text_and_says_why(app, login_as):
    c = login_as("informant")
    r = send_tip(c, app, key="badphoto-key01", photo=False,
                 photos=(io.BytesIO(b"<html><script>alert(1)</script></html>"), "anh.jpg"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Chỉ gửi được ảnh" in html and "Thấy người lạ bán hàng cấm" in html
    assert count_tips(app, "badphoto-key01") == 0


def test_concurrent_identical_reports_and_outcomes_count_once(app, login_as):
    """Double taps on a slow network: the same report and the same outcome, five times at once."""
    from zaloan.models import TipEvent, User

    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.phone == "+84900000020"))
        a = db.session.scalar(select(TaskAssignment).where(TaskAssignment.reported_at.is_(None),
                                                           TaskAssignment.verifier_id == me))
        a_id, tip_id = a.id, a.task.tip_id

    def at_once(who, url, data):
        clients = [login_as(who) for _ in range(5)]
        statuses, start = [], threading.Barrier(5)

        def post(c):
            start.wait()
            statuses.append(c.post(url, data=data).status_code)

        threads = [threading.Thread(target=post, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sorted(statuses)

    assert at_once("verifier", f"/verifier/tasks/{a_id}/report",
                   {"finding": "partly", "client_key": "race-report-01"}) == [303] * 5
    statuses = at_once("officer", f"/officer/tips/{tip_id}/outcome", {"outcome": "mediated"})
    assert statuses.count(303) == 1 and statuses.count(409) == 4
    with app.app_context():
        kinds = list(db.session.scalars(select(TipEvent.kind).where(TipEvent.tip_id == tip_id)))
    assert kinds.count("task_reported") == 1 and kinds.count("outcome") == 1


def later(monkeypatch, minutes):
    """Move the server's clock `minutes` on (the time a send without "When" gets)."""
    from datetime import timedelta

    from zaloan import cases, formkit, models

    real = models.utcnow
    for module in (models, cases, formkit):
        monkeypatch.setattr(module, "utcnow", lambda: real() + timedelta(minutes=minutes))


def test_a_tip_without_a_time_resent_a_minute_later_is_one_tip(app, login_as, monkeypatch):
    c = login_as("informant")
    first = send_tip(c, app, key="notime-key-0001", photo=False, occurred_at="")
    assert first.status_code == 303
    later(monkeypatch, 2)  # the connection dropped; the phone sends again two minutes on
    again = send_tip(c, app, key="notime-key-0001", photo=False, occurred_at="")
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert count_tips(app, "notime-key-0001") == 1


def test_an_anonymous_tip_without_a_time_resent_later_is_one_tip(app, client, monkeypatch):
    from .test_tips_public import send as send_anonymous

    assert send_anonymous(client, app, key="notime-anon-001", occurred_at="").status_code in (200, 303)
    later(monkeypatch, 3)
    assert send_anonymous(client, app, key="notime-anon-001", occurred_at="").status_code in (200, 303)
    assert count_tips(app, "notime-anon-001") == 1
