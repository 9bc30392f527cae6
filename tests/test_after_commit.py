"""A send that was saved answers as saved, even when another worker holds the write lock right after.

After the commit, the view still reads (the tip's id for the redirect, the page it
renders): those reads must not wait for the write lock and fail with "database is
locked", or the sender sees "not saved" for a saved tip and sends it again.
"""
import io
import sqlite3

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from zaloan import db_setup
from zaloan.extensions import db
from zaloan.models import Attachment, Message, Tip, TipEvent

from .test_flow import jpeg_bytes, send_tip
from .test_tips_public import send as send_anonymous


@pytest.fixture
def locked_after_commit(app, monkeypatch):
    """Once armed, another connection takes SQLite's write lock as soon as a request commits."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock; PostgreSQL reads never wait for a writer")
        path = engine.url.database
        # A busy timeout short enough that a read queuing for the lock fails at once.
        monkeypatch.setattr(db_setup, "SQLITE_PRAGMAS", tuple(
            "PRAGMA busy_timeout=50" if p.startswith("PRAGMA busy_timeout") else p for p in db_setup.SQLITE_PRAGMAS))
        engine.dispose()
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    state = {"armed": False, "held": False}

    def take_lock(_session):
        if state["armed"] and not state["held"]:
            try:
                holder.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return  # a savepoint's release: the request still holds the lock
            state["held"] = True

    event.listen(Session, "after_commit", take_lock)

    def arm():
        state["armed"], state["held"] = True, False

    def release():
        if state["held"]:
            holder.execute("ROLLBACK")
        state["armed"], held, state["held"] = False, state["held"], False
        return held

    arm.release = release
    yield arm
    event.remove(Session, "after_commit", take_lock)
    release()
    holder.close()


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)).where(*where))


def test_informant_tip_answers_saved_while_another_worker_writes(app, login_as, locked_after_commit):
    c = login_as("informant")
    locked_after_commit()
    r = send_tip(c, app, key="locked-tip-0001", photo=False)
    assert locked_after_commit.release()  # the lock was really held while the view answered
    assert r.status_code == 303
    assert count(app, Tip, Tip.client_key == "locked-tip-0001") == 1


def test_anonymous_tip_answers_saved_while_another_worker_writes(app, client, locked_after_commit):
    locked_after_commit()
    r = send_anonymous(client, app, key="locked-anon-001")
    assert locked_after_commit.release()
    assert r.status_code in (200, 303)
    assert count(app, Tip, Tip.client_key == "locked-anon-001") == 1


def test_photo_upload_answers_its_id_while_another_worker_writes(app, login_as, locked_after_commit):
    c = login_as("informant")
    locked_after_commit()
    r = c.post("/informant/photos", data={"photo": (io.BytesIO(jpeg_bytes()), "a.jpg"), "client_key": "locked-photo-01"},
               content_type="multipart/form-data")
    assert locked_after_commit.release()
    assert r.status_code == 200 and isinstance(r.get_json()["id"], int)
    assert count(app, Attachment, Attachment.client_key == "locked-photo-01") == 1


def a_tip(app, informant, key):
    assert send_tip(informant, app, key=key, photo=False).status_code == 303
    with app.app_context():
        return db.session.scalar(select(Tip.id).where(Tip.client_key == key))


def test_officer_question_answers_saved_while_another_worker_writes(app, login_as, locked_after_commit):
    tip_id, officer = a_tip(app, login_as("informant"), "locked-tip-0002"), login_as("officer")
    locked_after_commit()
    r = officer.post(f"/officer/tips/{tip_id}/ask", data={"body": "Lúc mấy giờ?", "client_key": "locked-ask-0001"})
    assert locked_after_commit.release()
    assert r.status_code == 303
    assert count(app, Message, Message.client_key == "locked-ask-0001") == 1


def test_informant_answer_answers_saved_while_another_worker_writes(app, login_as, locked_after_commit):
    informant = login_as("informant")
    tip_id = a_tip(app, informant, "locked-tip-0003")
    locked_after_commit()
    r = informant.post(f"/informant/tips/{tip_id}/messages", data={"body": "8 giờ.", "client_key": "locked-ans-0001"})
    assert locked_after_commit.release()
    assert r.status_code == 303
    assert count(app, Message, Message.client_key == "locked-ans-0001") == 1


def test_officer_outcome_answers_saved_while_another_worker_writes(app, login_as, locked_after_commit):
    tip_id, officer = a_tip(app, login_as("informant"), "locked-tip-0004"), login_as("officer")
    locked_after_commit()
    r = officer.post(f"/officer/tips/{tip_id}/outcome", data={"outcome": "no_violation", "note": "Đã kiểm tra."})
    assert locked_after_commit.release()
    assert r.status_code == 303
    assert count(app, TipEvent, TipEvent.tip_id == tip_id, TipEvent.kind == "outcome") == 1
