"""The queue, a tip and the people list are kept whole while nothing they show changes (`kept.answer_once`).

Asked for again with both clocks unchanged, in the same minute, by the same
session, the queue's answer is served as it was drawn, each compressed form
made once; a change to the commune, to the person, a message to show once, a
new minute, another address, language, session or viewer draws it again.
"""
from __future__ import annotations

import gzip
from datetime import timedelta

import brotli
import pytest
from sqlalchemy import text

from zaloan import notify
from zaloan.extensions import db
from zaloan.models import Tip, utcnow

from .conftest import csrf_token
from .helpers import U
from .test_page_parts_kept import Drawn, signed_in
from .test_query_counts import counted, new_tip

QUEUE = "/officer/"
PAGE = "officer/queue.html"


def get(client, path: str = QUEUE, **headers):
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200
    return resp


def body(resp) -> str:
    """The page's text, whichever way it was compressed."""
    data = resp.get_data()
    encoding = resp.headers.get("Content-Encoding")
    if encoding == "br":
        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    else:
        assert encoding is None
    return data.decode()


def code_of(app, tip_id: int) -> str:
    with app.app_context():
        return db.session.get(Tip, tip_id).code


def test_an_unchanged_queue_is_served_as_drawn_without_drawing_or_reading(app, login_as):
    officer = login_as("officer")
    get(officer)  # the session gets its form secret
    with Drawn(app) as drawn:
        first = get(officer)
        with counted(app) as statements:
            again = get(officer)
    assert drawn.n.get(PAGE) == 1  # the first, drawn; the second served as drawn
    read = [s for s in statements if s != "BEGIN"]  # (SQLite's write lock, taken at the first query)
    assert len(read) == 1 and "user_sessions" in read[0], read  # the session with its clocks, nothing more
    assert body(again) == body(first)
    for name in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control"):
        assert again.headers[name] == first.headers[name]
    assert again.headers["Cache-Control"] == "no-store"
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in again.headers["Vary"].split(",")}


def test_each_compressed_form_is_the_page_drawn(app, login_as):
    officer = login_as("officer")
    get(officer)
    drawn = body(get(officer))
    for accept, encoding in (("br", "br"), ("gzip, deflate, br", "br"), ("gzip", "gzip"), ("", None),
                             ("br", "br"), ("gzip", "gzip"), ("", None)):  # made, then kept
        resp = get(officer, **{"Accept-Encoding": accept})
        assert resp.headers.get("Content-Encoding") == encoding, accept
        assert "Accept-Encoding" in resp.headers["Vary"]
        assert int(resp.headers["Content-Length"]) == len(resp.get_data())
        assert body(resp) == drawn


def test_a_new_tip_or_a_notification_shows_on_the_next_queue(app, login_as):
    officer = login_as("officer")
    get(officer)
    get(officer)
    tip_id = new_tip(app)
    assert code_of(app, tip_id) in body(get(officer))
    page = body(get(officer))
    with app.app_context():
        before = db.session.execute(text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"),
                                    {"u": U("officer").id}).scalar()
        notify.notify([U("officer")], notify.NEW_TIP, "/officer/", key="queue-kept-1")
        db.session.commit()
    after = body(get(officer))
    assert f"/notifications/count?n={before + 1}" in after and after != page


def test_a_message_to_show_once_is_shown_once(app, login_as):
    officer = login_as("officer")
    get(officer)
    get(officer)
    with officer.session_transaction() as s:
        s["_flashes"] = [("message", "Đã lưu xong.")]
    assert "Đã lưu xong." in body(get(officer))
    assert "Đã lưu xong." not in body(get(officer))


def test_other_filters_language_fragment_and_minute_are_drawn_apart(app, login_as, monkeypatch):
    from zaloan import kept

    officer = login_as("officer")
    get(officer)
    page = body(get(officer))
    urgent = body(get(officer, QUEUE + "?urgency=3"))
    assert urgent != page
    fragment = body(get(officer, **{"HX-Request": "true", "HX-Target": "queue"}))
    assert "<html" not in fragment and "<html" in page
    assert "<html" in body(get(officer))  # the whole page again, not the fragment
    officer.post("/language", data={"lang": "en", "next": QUEUE})
    english = body(get(officer))
    assert 'lang="en"' in english and english != page
    officer.post("/language", data={"lang": "vi", "next": QUEUE})
    assert body(get(officer)) == page
    later = utcnow() + timedelta(minutes=1)
    monkeypatch.setattr(kept, "utcnow", lambda: later)
    with Drawn(app) as drawn:
        get(officer)
    assert drawn.n.get(PAGE) == 1


def test_nobody_is_served_another_viewers_queue(app, login_as):
    tip_id = new_tip(app)
    code = code_of(app, tip_id)
    officer = login_as("officer")
    get(officer)
    assert code in body(get(officer))
    assert code not in body(get(login_as("officer2")))  # not their village
    commander = login_as("commander")
    get(commander)
    assert code in body(get(commander)) and body(get(commander)) != body(get(officer))


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_kept_queue_carries_the_form_token_of_the_session_it_is_served_to(app):
    phone, desk = signed_in(app), signed_in(app)  # one officer, two sessions
    get(phone)
    phone_token = csrf_token(body(get(phone)))
    get(desk)
    desk_page = body(get(desk))
    assert csrf_token(desk_page) != phone_token
    # the token of the page served as kept still signs a form
    resp = desk.post("/language", data={"csrf_token": csrf_token(desk_page), "lang": "en", "next": QUEUE})
    assert resp.status_code in (302, 303)
    assert 'lang="en"' in body(get(desk))


def test_a_queue_showing_an_announcement_yet_to_come_is_kept_only_until_it_comes(app, login_as, monkeypatch):
    """Within one minute: the page is kept no longer than a value it shows that ends by itself (`for_person`)."""
    from zaloan import announcements, kept

    start = utcnow().replace(second=5, microsecond=0) + timedelta(minutes=2)
    now = [start]
    for module in (announcements, kept):
        monkeypatch.setattr(module, "utcnow", lambda: now[0])
    with app.app_context():
        announcements.post(by=U("commander"), title="Họp lúc chín giờ", body="Tại hội trường.", audience="members",
                           shows_from=start + timedelta(seconds=30))
        db.session.commit()
    officer = login_as("officer")
    get(officer)
    assert "Họp lúc chín giờ" not in body(get(officer))
    now[0] = start + timedelta(seconds=40)  # the same minute
    assert "Họp lúc chín giờ" in body(get(officer))


def test_a_tip_page_kept_whole_is_served_each_time_with_new_form_keys(app, login_as):
    from .test_page_parts_kept import keys_of, masked, opened

    tip_id = new_tip(app, messages=2, tasks=1)
    officer = login_as("officer")
    first = opened(officer, tip_id)
    with Drawn(app) as drawn:
        pages = [body(get(officer, f"/officer/tips/{tip_id}", **{"Accept-Encoding": "br"})) for _ in range(3)]
    assert "drawn.html" not in drawn.n  # neither the page nor its part drawn again
    keys = [k for page in [first, *pages] for k in keys_of(page)]
    assert len(keys) == 4 * len(keys_of(first)) and len(set(keys)) == len(keys)  # no two servings share a key
    assert all(masked(page) == masked(first) for page in pages)


def test_the_people_list_kept_whole_shows_a_change_at_once(app, login_as):
    commander = login_as("commander")
    get(commander, "/people/")  # the session gets its form secret
    get(commander, "/people/")
    with Drawn(app) as drawn:
        first = body(get(commander, "/people/"))
        assert body(get(commander, "/people/")) == first
    assert "drawn.html" not in drawn.n
    with app.app_context():
        db.session.execute(text("UPDATE users SET full_name = 'Người Đổi Tên' WHERE id = :u"),
                           {"u": U("verifier").id})
        db.session.commit()
    assert "Người Đổi Tên" in body(get(commander, "/people/"))
