"""The queue's list is drawn once per version and minute; a change is never served from what was kept."""
from __future__ import annotations

from datetime import timedelta

from flask import template_rendered
from zaloan import cases
from zaloan.extensions import db
from zaloan.models import Tip, utcnow

from .helpers import U
from .test_query_counts import counted, new_tip

LIST = "officer/_queue_list.html"


class Drawn:
    """Count how many times the queue's list is rendered."""

    def __init__(self, app):
        self.app, self.n = app, 0

    def _note(self, _sender, template, context, **_extra):
        if template.name == LIST:
            self.n += 1

    def __enter__(self):
        template_rendered.connect(self._note, self.app)
        return self

    def __exit__(self, *exc):
        template_rendered.disconnect(self._note, self.app)


def code_of(app, tip_id: int) -> str:
    with app.app_context():
        return db.session.get(Tip, tip_id).code


def test_an_unchanged_queue_is_drawn_once_and_costs_fewer_queries(app, login_as):
    officer = login_as("officer")
    with Drawn(app) as drawn:
        with counted(app) as first:
            page1 = officer.get("/officer/").get_data(as_text=True)
        with counted(app) as second:
            page2 = officer.get("/officer/").get_data(as_text=True)
        poll = officer.get("/officer/", headers={"HX-Request": "true", "HX-Target": "queue"}).get_data(as_text=True)
    assert drawn.n == 1
    assert len(second) < len(first)
    start = page1.index('<section id="queue"')
    listed = page1[start:page1.index("</section>", start)]
    assert listed in page2 and listed in poll


def test_a_new_or_changed_tip_shows_at_once(app, login_as):
    officer = login_as("officer")
    officer.get("/officer/")
    tip_id = new_tip(app)
    with Drawn(app) as drawn:
        page = officer.get("/officer/").get_data(as_text=True)
    assert drawn.n == 1 and code_of(app, tip_id) in page
    assert "Chưa đọc" in page[page.index(code_of(app, tip_id)) - 200:page.index(code_of(app, tip_id))]
    with app.app_context():  # the commander opens it: it is no longer unread for anyone
        cases.mark_read(db.session.get(Tip, tip_id), by=U("commander"))
        db.session.commit()
    page = officer.get("/officer/").get_data(as_text=True)
    code = code_of(app, tip_id)
    assert "Chưa đọc" not in page[page.index(code) - 200:page.index(code)]


def test_each_officer_gets_their_own_list(app, login_as):
    tip_id = new_tip(app)
    code = code_of(app, tip_id)
    assert code in login_as("officer").get("/officer/").get_data(as_text=True)
    assert code not in login_as("officer2").get("/officer/").get_data(as_text=True)
    assert code in login_as("commander").get("/officer/").get_data(as_text=True)


def test_other_filters_and_pages_are_drawn_apart(app, login_as):
    officer = login_as("officer")
    open_page = officer.get("/officer/").get_data(as_text=True)
    all_page = officer.get("/officer/?status=all").get_data(as_text=True)
    assert 'value="all" selected' in all_page and 'value="all" selected' not in open_page


def test_the_list_is_drawn_again_when_the_minute_changes(app, login_as, monkeypatch):
    from zaloan.officer import views

    officer = login_as("officer")
    with Drawn(app) as drawn:
        officer.get("/officer/")
        later = utcnow() + timedelta(minutes=1)
        monkeypatch.setattr(views, "utcnow", lambda: later)
        officer.get("/officer/")
        officer.get("/officer/")
    assert drawn.n == 2


def test_the_clocks_triggers_come_back_after_a_migration_on_sqlite(app):
    """SQLite drops a table's triggers when a migration copies it (batch mode): the migrations restore them."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        db.session.execute(text("DROP TRIGGER tips_clock_update"))
        db.session.commit()
        upgrade()  # at head already: only the end of the run, which puts the triggers back
        names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        assert {f"{t}_clock_{w}" for t in ("tips", "units", "categories", "informants")
                for w in ("insert", "update", "delete", "moved")} <= names


def test_an_unchanged_poll_reads_the_clock_with_the_session(app, login_as):
    """The commune's clock comes in the session's own query: an unchanged poll sends one statement."""
    import html
    import re

    officer = login_as("officer")
    page = officer.get("/officer/").get_data(as_text=True)
    poll = html.unescape(re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', page).group(1))
    with counted(app) as statements:
        assert officer.get(poll).status_code == 204
    sent = [s for s in statements if s.split()[0] not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(sent) == 1 and "commune_clocks" in sent[0]
    new_tip(app)
    assert officer.get(poll).status_code == 200  # the clock moved: the poll sees it


def test_the_clock_read_with_the_session_is_not_used_after_a_write(app, login_as):
    """A request that wrote has moved the clock since its session was read: the kept value would serve an
    old list under the new state, so the clock is read again."""
    from flask import g

    from zaloan import accounts

    with app.test_request_context("/officer/", method="GET"):
        officer = U("officer")
        g.clocks_with_session = (officer.id, officer.commune_id, 41, 7)
        assert accounts.commune_clock_read_with_session(officer.commune_id) == 41
        assert accounts.commune_clock_read_with_session(officer.commune_id + 1) is None  # another commune
        tip = db.session.scalar(db.select(Tip).limit(1))
        tip.first_read_at = utcnow()
        db.session.flush()
        assert accounts.commune_clock_read_with_session(officer.commune_id) is None
        db.session.rollback()
    with app.test_request_context("/officer/", method="POST"):
        officer = U("officer")
        g.clocks_with_session = (officer.id, officer.commune_id, 41, 7)
        assert accounts.commune_clock_read_with_session(officer.commune_id) is None


def test_the_emergency_count_is_read_once_while_nothing_changes_and_again_at_once_after(app, login_as):
    """The count under the navigation is kept under the commune's clock: a new emergency, or its first
    reading, moves the clock and shows on the next page."""
    officer = login_as("officer")

    def alarm_queries():
        with counted(app) as statements:
            page = officer.get("/people/").get_data(as_text=True)
        return sum("first_read_at IS NULL" in s for s in statements), page

    first, _ = alarm_queries()
    again, page = alarm_queries()
    assert (first, again) == (1, 0) and 'class="alarm"' not in page
    tip_id = new_tip(app)
    with app.app_context():
        db.session.get(Tip, tip_id).urgency = 4
        db.session.commit()
    counted_now, page = alarm_queries()
    assert counted_now == 1 and 'class="alarm"' in page
    assert alarm_queries()[0] == 0
    # Another officer, under the same clock: counted for them, not served the first one's count.
    assert 'class="alarm"' not in login_as("officer2").get("/people/").get_data(as_text=True)
    with app.app_context():
        cases.mark_read(db.session.get(Tip, tip_id), by=U("commander"))
        db.session.commit()
    assert 'class="alarm"' not in alarm_queries()[1]
