"""A tip's page and the people list are drawn once while nothing of the commune changes, and never served stale.

They are kept by the commune's clock (`kept.drawn_once`): every row they read
moves it (the triggers of migrations 0020, 0026 and 0027), so a change shows on
the next page; a kept tip page is served with new one-time form keys and the
session's own form token; nobody is served another viewer's drawing.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import template_rendered
from sqlalchemy import select, text

from zaloan import cases
from zaloan.db_setup import TIP_AND_PEOPLE_WATCHED
from zaloan.extensions import db
from zaloan.models import Message, Tip, Unit, User, utcnow

from .conftest import PHONES, PASSWORD, csrf_token
from .helpers import U
from .test_query_counts import counted, new_tip

KEY = re.compile(r'name="client_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="client_key"')
TIP_PART, PEOPLE_PART = "officer/_tip.html", "people/_index.html"


class Drawn:
    """Count how many times each template is rendered."""

    def __init__(self, app):
        self.app, self.n = app, {}

    def _note(self, _sender, template, context, **_extra):
        self.n[template.name] = self.n.get(template.name, 0) + 1

    def __enter__(self):
        template_rendered.connect(self._note, self.app)
        return self

    def __exit__(self, *exc):
        template_rendered.disconnect(self._note, self.app)


def keys_of(html: str) -> list[str]:
    return [a or b for a, b in KEY.findall(html)]


def masked(html: str) -> str:
    for key in keys_of(html):
        html = html.replace(key, "KEY")
    return html


def clock(app) -> int:
    with app.app_context():
        commune = U("commander").commune_id
        return db.session.scalar(text("SELECT version FROM commune_clocks WHERE commune_id = :c"), {"c": commune})


def opened(officer, tip_id: int) -> str:
    """Open the tip once (its first reading writes, so is never kept) and return the next page, kept."""
    assert officer.get(f"/officer/tips/{tip_id}").status_code == 200
    resp = officer.get(f"/officer/tips/{tip_id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_an_unchanged_tip_page_is_drawn_once_and_served_with_new_form_keys(app, login_as):
    tip_id = new_tip(app, messages=2, tasks=1)
    officer = login_as("officer")
    with Drawn(app) as drawn:
        first = opened(officer, tip_id)
        assert drawn.n[TIP_PART] == 2  # the first reading, then the page kept
        with counted(app) as statements:
            again = officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
        assert drawn.n[TIP_PART] == 2
    assert len(statements) <= 2, statements  # the session (with the clocks), nothing of the tip
    assert "Có người lạ hỏi mua xe." in again
    assert masked(again) == masked(first)
    old, new = keys_of(first), keys_of(again)
    assert len(new) == len(old) >= 3 and not set(new) & set(old) and len(set(new)) == len(new)
    # htmx asks for the tip's part alone: the same drawing, in no page
    part = officer.get(f"/officer/tips/{tip_id}", headers={"HX-Request": "true", "HX-Target": "tip"})
    html = part.get_data(as_text=True)
    assert "<html" not in html and masked(html) in masked(again) and "HX-Request" in part.headers["Vary"]


def test_two_questions_sent_from_two_servings_of_the_kept_page_are_both_recorded(app, login_as):
    tip_id = new_tip(app)
    officer = login_as("officer")
    pages = [opened(officer, tip_id), officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)]
    ask_keys = []
    for html in pages:
        form = html[html.index(f'action="/officer/tips/{tip_id}/ask'):]
        ask_keys.append(keys_of(form)[0])
    assert ask_keys[0] != ask_keys[1]
    for n, key in enumerate(ask_keys):
        resp = officer.post(f"/officer/tips/{tip_id}/ask", data={"body": f"Câu hỏi thứ {n}?", "client_key": key})
        assert resp.status_code == 303
    with app.app_context():
        asked = db.session.scalars(select(Message.body).where(Message.tip_id == tip_id)).all()
    assert "Câu hỏi thứ 0?" in asked and "Câu hỏi thứ 1?" in asked


def test_a_change_to_the_thread_tasks_or_people_shows_on_the_next_page(app, login_as):
    tip_id = new_tip(app, tasks=1)
    officer = login_as("officer")
    opened(officer, tip_id)
    with app.app_context():  # the sender answers, through the app
        cases.answer(db.session.get(Tip, tip_id), author=U("informant"), body="Xe màu đỏ, biển 29.")
        db.session.commit()
    assert "Xe màu đỏ, biển 29." in officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    officer.get(f"/officer/tips/{tip_id}")
    with app.app_context():  # a verifier's name changed by hand, in SQL: the trigger sees it all the same
        db.session.execute(text("UPDATE users SET full_name = 'Tổ viên Đổi Tên' WHERE id = :u"),
                           {"u": U("verifier").id})
        db.session.commit()
    assert "Tổ viên Đổi Tên" in officer.get(f"/officer/tips/{tip_id}").get_data(as_text=True)


def test_nobody_is_served_another_viewers_tip_page(app, login_as):
    tip_id = new_tip(app)
    officer = login_as("officer")
    opened(officer, tip_id)
    assert login_as("officer2").get(f"/officer/tips/{tip_id}").status_code == 404  # not their village
    assert login_as("verifier").get(f"/officer/tips/{tip_id}").status_code in (403, 404)
    with Drawn(app) as drawn:
        assert login_as("commander").get(f"/officer/tips/{tip_id}").status_code == 200
    assert drawn.n[TIP_PART] == 1  # drawn for the commander


def test_the_tip_page_is_drawn_again_when_the_minute_changes(app, login_as, monkeypatch):
    from zaloan import kept

    tip_id = new_tip(app)
    officer = login_as("officer")
    opened(officer, tip_id)
    later = utcnow() + timedelta(minutes=1)
    monkeypatch.setattr(kept, "utcnow", lambda: later)
    with Drawn(app) as drawn:
        officer.get(f"/officer/tips/{tip_id}")
        officer.get(f"/officer/tips/{tip_id}")
    assert drawn.n[TIP_PART] == 1


def signed_in(app, who: str = "officer"):
    """A new session of `who` signed in through the login form, its form token checked as in production."""
    c = app.test_client()
    token = csrf_token(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"phone": PHONES[who], "password": PASSWORD,
                                  "csrf_token": token}).status_code == 302
    return c


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_kept_page_carries_the_form_token_of_the_session_it_is_served_to(app):
    tip_id = new_tip(app)
    phone, desk = signed_in(app), signed_in(app)  # one officer, two sessions
    opened(phone, tip_id)
    with Drawn(app) as drawn:
        html = desk.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert TIP_PART not in drawn.n  # served as kept
    form = html[html.index(f'action="/officer/tips/{tip_id}/ask'):]
    resp = desk.post(f"/officer/tips/{tip_id}/ask", data={
        "csrf_token": csrf_token(form), "client_key": keys_of(form)[0], "body": "Hỏi từ máy ở trạm?"})
    assert resp.status_code == 303


def test_the_people_list_is_drawn_once_and_again_at_once_after_a_change(app, login_as):
    with app.app_context():
        name = U("officer").full_name
    commander = login_as("commander")
    with Drawn(app) as drawn:
        first = commander.get("/people/").get_data(as_text=True)
        commander.get("/people/")
        assert drawn.n[PEOPLE_PART] == 1
        only = commander.get("/people/?role=verifier").get_data(as_text=True)
        assert drawn.n[PEOPLE_PART] == 2  # another filter, drawn apart
    assert name in first and name not in only
    with app.app_context():  # a watch point renamed in SQL: the informant's line shows the new name
        db.session.execute(text("UPDATE watch_points SET name = 'Chợ Mới Đổi Tên'"))
        db.session.execute(text("UPDATE users SET active = false WHERE id = :u"), {"u": U("verifier").id})
        db.session.commit()
    page = commander.get("/people/").get_data(as_text=True)
    assert "Chợ Mới Đổi Tên" in page and "Đã khóa" in page
    assert login_as("officer").get("/people/").get_data(as_text=True) != page  # each viewer their own


def test_every_row_a_kept_page_reads_moves_the_communes_clock(app):
    """Whichever code writes them: the triggers, on SQLite and PostgreSQL."""
    tip_id = new_tip(app, messages=1, tasks=1)
    with app.app_context():
        now = utcnow()
        commune = U("commander").commune_id
        category = db.session.get(Tip, tip_id).category_id
        message = db.session.scalar(select(Message.id).where(Message.tip_id == tip_id))
        inserts = {
            "attachments": ("INSERT INTO attachments (message_id, storage_name, content_type, width, height, size, "
                            "sha256, created_at) VALUES (:m, 'x.jpg', 'image/jpeg', 1, 1, 1, 'h', :t)"),
            "voice_notes": ("INSERT INTO voice_notes (tip_id, storage_name, duration_ms, size, sha256, created_at, "
                            "summary) VALUES (:tip, 'x.ogg', 1000, 1, 'h', :t, '')"),
            "category_limits": ("INSERT INTO category_limits (category_id, crime, days, updated_at) "
                                "VALUES (:cat, true, 30, :t)"),
        }
        params = {"m": message, "tip": tip_id, "t": now, "cat": category}
        db.session.commit()
    for table in TIP_AND_PEOPLE_WATCHED:
        before = clock(app)
        with app.app_context():
            if table in inserts:
                db.session.execute(text(inserts[table]), params)
            else:
                column = "commune_id" if table in ("users", "commune_settings") else "id"
                key = {"users": "commune_id", "commune_settings": "commune_id"}.get(table)
                where = f"WHERE {key} = :c" if key else ""
                db.session.execute(text(f"UPDATE {table} SET {column} = {column} {where}"), {"c": commune})
            db.session.commit()
        assert clock(app) > before, table
