"""What every page shows about its person (the bell's count, the rules reminder, a member's announcements) is
read once and kept under the commune's clock and the person's; any change to it shows on the next page."""
from __future__ import annotations

import re

from sqlalchemy import func, select, text

from zaloan import announcements, notify, rules
from zaloan.extensions import db
from zaloan.models import Notification, RulesVersion, UserClock

from .helpers import U
from .test_access_matrix import session_client
from .test_query_counts import counted, forget_drawn

PAGE = "/people/"  # an officer's page with the whole header, and no list kept of its own


def visit(app, client, path: str = PAGE):
    """The page, and the statements it sent about notifications, rules and announcements.

    The page, kept whole (`kept.answer_once`), is drawn again: what is read here is the person's values in it."""
    forget_drawn(app)
    with counted(app) as statements:
        resp = client.get(path)
    assert resp.status_code == 200
    about = {name: sum(f"FROM {name}" in s for s in statements)
             for name in ("notifications", "rules_versions", "announcements")}
    return resp.get_data(as_text=True), about


def own_clock(app, who: str) -> int:
    with app.app_context():
        return db.session.scalar(select(UserClock.version).where(UserClock.user_id == U(who).id)) or 0


def bell(page: str) -> int:
    return int(re.search(r'/notifications/count\?n=(\d+)"', page).group(1))


def test_the_bell_is_counted_once_and_again_at_once_after_a_notification_or_its_reading(app):
    officer = session_client(app, "officer")
    visit(app, officer)
    page, about = visit(app, officer)
    assert about == {"notifications": 0, "rules_versions": 0, "announcements": 0}
    unread = bell(page)
    before = own_clock(app, "officer")
    with app.app_context():
        notify.notify([U("officer")], notify.NEW_TIP, "/officer/", key="t-1")
        db.session.commit()
    assert own_clock(app, "officer") > before
    page, about = visit(app, officer)
    assert about["notifications"] == 1 and bell(page) == unread + 1
    assert visit(app, officer)[1]["notifications"] == 0
    # Another officer of the same commune, both clocks the same as the first one's: their own count.
    with app.app_context():
        for who in ("officer", "officer2"):
            db.session.execute(text("INSERT INTO user_clocks (user_id, version) VALUES (:u, 500) "
                                    "ON CONFLICT (user_id) DO UPDATE SET version = excluded.version"),
                               {"u": U(who).id})
        db.session.commit()
        theirs = db.session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == U("officer2").id, Notification.read_at.is_(None)))
    assert bell(visit(app, officer)[0]) == unread + 1
    assert bell(visit(app, session_client(app, "officer2"))[0]) == theirs != unread + 1
    with app.app_context():
        for note in db.session.scalars(select(Notification).where(Notification.user_id == U("officer").id)):
            notify.mark_read(note)
        db.session.commit()
    page, about = visit(app, officer)
    assert about["notifications"] == 1 and bell(page) == 0


def test_the_rules_reminder_comes_with_a_new_version_and_goes_with_the_agreement(app):
    officer = session_client(app, "officer")
    visit(app, officer)
    assert visit(app, officer)[1]["rules_versions"] == 0
    with app.app_context():
        v, _created = rules.publish(U("commander").commune_id, by=U("commander"), body="# Mới\nĐiều mới.",
                                    note="Bản mới")
        db.session.commit()
        vid = v.id
    page, about = visit(app, officer)
    assert about["rules_versions"] >= 1 and "Quy chế hoạt động có bản mới" in page
    assert "Quy chế hoạt động có bản mới" in visit(app, officer)[0]  # kept, still shown
    with app.app_context():
        rules.acknowledge(db.session.get(RulesVersion, vid), U("officer"))
        db.session.commit()
    page, about = visit(app, officer)
    assert about["rules_versions"] == 1 and "Quy chế hoạt động có bản mới" not in page


def test_a_new_announcement_and_its_reading_show_on_the_next_page(app):
    officer = session_client(app, "officer")
    visit(app, officer, "/officer/")
    assert visit(app, officer, "/officer/")[1]["announcements"] == 0
    with app.app_context():
        a, _created = announcements.post(by=U("commander"), title="Họp giao ban thứ Hai", body="Lúc 8 giờ.",
                                         audience="members")
        db.session.commit()
        aid = a.id
    page, about = visit(app, officer, "/officer/")
    assert about["announcements"] >= 1 and "Họp giao ban thứ Hai" in page
    page, about = visit(app, officer, "/officer/")
    assert "Họp giao ban thứ Hai" in page and about["announcements"] == 1  # kept: the row alone, by its id
    resp = officer.post(f"/news/{aid}/read", data={"next": "/officer/"})
    assert resp.status_code in (204, 303)
    page, about = visit(app, officer, "/officer/")
    assert "Họp giao ban thứ Hai" not in page


def test_the_triggers_move_the_clocks_of_the_person_and_the_commune(app):
    """Every write moves the clock, whichever code makes it: the triggers, on SQLite and PostgreSQL."""
    with app.app_context():
        officer, commune = U("officer"), U("commander").commune_id

        def clocks():
            return (db.session.scalar(text("SELECT version FROM user_clocks WHERE user_id = :u"), {"u": officer.id}),
                    db.session.scalar(text("SELECT version FROM commune_clocks WHERE commune_id = :c"),
                                      {"c": commune}))

        start = clocks()
        db.session.execute(text("INSERT INTO notifications (user_id, commune_id, kind, url, key, urgent, created_at) "
                                "VALUES (:u, :c, 'tip_new', '/', 'k', false, CURRENT_TIMESTAMP)"),
                           {"u": officer.id, "c": commune})
        db.session.commit()
        after_note = clocks()
        assert (after_note[0] or 0) > (start[0] or 0) and after_note[1] == start[1]
        db.session.execute(text("UPDATE notifications SET read_at = CURRENT_TIMESTAMP WHERE user_id = :u"),
                           {"u": officer.id})
        db.session.commit()
        after_read = clocks()
        assert after_read[0] > after_note[0]
        db.session.execute(text("INSERT INTO rules_versions (commune_id, number, body, note, created_at) "
                                "VALUES (:c, 99, 'Điều mới.', '', CURRENT_TIMESTAMP)"), {"c": commune})
        db.session.commit()
        assert clocks()[1] > after_read[1]
