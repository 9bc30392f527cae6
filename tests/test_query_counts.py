"""The busiest pages cost a fixed number of queries, whatever the number of rows they show.

Each test counts the SQL statements of one page with few rows, adds many more
rows of the kind the page lists (messages and tasks of a tip, tips in the
queue, people in the list), and asserts the count did not grow: a page that
loads one row at a time in a loop fails here long before it is slow.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from zaloan import accounts, cases
from zaloan.extensions import db
from zaloan.models import Category, Role, Unit, User, utcnow

from .helpers import U

AN, OFFICER, VERIFIER, COMMANDER = "+84900000010", "+84900000002", "+84900000020", "+84900000001"


@contextmanager
def counted(app):
    """Collect the statements the app sends to the database inside the block.

    Every engine is listened to: an unchanged poll's early answer reads through an engine of its own on
    PostgreSQL (`zaloan.unchanged`)."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", note)


DRAWN = ("queue_lists", "queue_pages", "tip_pages", "tip_answers", "people_lists", "people_answers")


def forget_drawn(app) -> None:
    """Drop the pages and parts kept drawn (`kept.drawn_once`, `kept.answer_once`): the next is drawn again."""
    for name in DRAWN:
        app.extensions.pop(f"zaloan.kept.{name}", None)


def queries(app, client, path: str) -> int:
    assert client.get(path).status_code == 200  # warm: the session row, caches
    forget_drawn(app)
    with counted(app) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def new_tip(app, *, messages: int = 0, tasks: int = 0, village: str = "Thôn Đồng Bé") -> int:
    with app.app_context():
        an, officer, verifier = U(AN), U(OFFICER), U(VERIFIER)
        place = db.session.scalar(select(Unit).where(Unit.name == village))
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        tip, _ = cases.submit_tip(commune=place.commune(), informant=an.informant, category=cat, village=place,
                                  body="Có người lạ hỏi mua xe.", uploader=an)
        db.session.flush()
        for i in range(messages):
            if i % 2:
                cases.answer(tip, author=an, body=f"Trả lời số {i}.")
            else:
                cases.ask(tip, by=officer, body=f"Câu hỏi số {i}?")
        for i in range(tasks):
            cases.create_task(tip, by=officer, verifiers=[verifier], brief=f"Nhờ xem giúp chỗ số {i}.",
                              due_at=utcnow() + timedelta(hours=6))
        db.session.commit()
        return tip.id


def test_a_tip_with_50_messages_and_10_tasks_costs_the_queries_of_a_tip_with_one_of_each(app, login_as):
    small, big = new_tip(app, messages=1, tasks=1), new_tip(app, messages=50, tasks=10)
    officer = login_as("officer")
    assert queries(app, officer, f"/officer/tips/{big}") == queries(app, officer, f"/officer/tips/{small}")


@pytest.mark.parametrize("path", ["/officer/", "/officer/queue/poll", "/officer/?status=all"])
def test_the_queue_costs_the_same_queries_with_40_more_tips(app, login_as, path):
    officer = login_as("officer")
    before = queries(app, officer, path)
    for i in range(40):
        new_tip(app, messages=i % 3, tasks=i % 2)
    assert queries(app, officer, path) == before


@pytest.mark.parametrize("who", ["commander", "officer"])
def test_the_people_list_costs_the_same_queries_with_30_more_people(app, login_as, who):
    client = login_as(who)
    before = queries(app, client, "/people/")
    with app.app_context():
        commune = U(COMMANDER).commune
        officer = U(OFFICER)
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        for i in range(30):
            role = (Role.INFORMANT, Role.VERIFIER)[i % 2]
            accounts.create_user(by=officer, phone=f"09123{i:05d}", full_name=f"Người thử {i}", role=role,
                                 commune=commune, village=village, title="village_head" if role == Role.VERIFIER else None)
        db.session.commit()
    assert queries(app, client, "/people/") == before


@pytest.mark.parametrize("who,path", [("commander", "/commander/"), ("observer", "/observer/")])
def test_the_reports_cost_the_same_queries_with_40_more_tips(app, login_as, who, path):
    client = login_as(who)
    before = queries(app, client, path)
    for i in range(40):
        new_tip(app, village=("Thôn Đồng Bé", "Thôn Tân Lập")[i % 2])
    assert queries(app, client, path) == before


def test_the_counter_sees_a_page_that_loads_rows_one_by_one(app, login_as, monkeypatch):
    """The measure itself: without its eager loading, the tip page's count grows with its messages."""
    from zaloan.officer import views

    monkeypatch.setattr(views, "TIP_PAGE", ())
    small, big = new_tip(app, messages=1, tasks=1), new_tip(app, messages=20, tasks=4)
    officer = login_as("officer")
    assert queries(app, officer, f"/officer/tips/{big}") > queries(app, officer, f"/officer/tips/{small}")
