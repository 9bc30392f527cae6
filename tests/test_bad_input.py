"""Huge numbers, impossible dates and junk in URLs and forms: ignored or refused in Vietnamese, never a 500.

One test for each kind of breakage the hostile-input property test (test_hostile.py) found.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.inputs import MAX_ID, to_day, to_int
from zaloan.officer.views import QUEUE_ORDER
from zaloan.paging import read_cursor
from zaloan.models import AuditEvent, TimeWindow, Tip, User, VerificationTask, WatchPoint

from .conftest import PHONES

HUGE = "99999999999999999999"
IMPOSSIBLE = "Ngày này không đúng. Vui lòng xem lại năm."


@pytest.fixture
def quiet(app):
    """Let a crash answer 500 (as in production) instead of raising inside the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def U(who: str) -> User:
    return db.session.scalar(select(User).where(User.phone == "+84" + PHONES[who][1:]))


# --- Numbers in the query string: a bad one is ignored, like an unknown filter ---------------------


@pytest.mark.parametrize("query", [f"after={HUGE}", f"village={HUGE}", f"category={HUGE}", "before=²", "village=²",
                                   "category=٣", f"after=4.{HUGE}.1", "after=4.20261301250000000000.1",
                                   f"before=1.20261130101112000123.{2**31}", "after=-1.-1.-1", "village=0"])
def test_queue_ignores_numbers_out_of_range(quiet, login_as, query):
    c = login_as("officer")
    plain = c.get("/officer/").get_data(as_text=True).count('class="tip')
    r = c.get(f"/officer/?{query}")
    assert r.status_code == 200
    assert r.get_data(as_text=True).count('class="tip') == plain  # the bad filter changed nothing
    assert c.get(f"/officer/queue/poll?{query}").status_code in (200, 204)


@pytest.mark.parametrize("query", [f"actor={HUGE}", f"after={HUGE}", f"before={2**31}", "actor=²", "since=0001-01-01",
                                   "until=9999-12-31", "since=2026-02-30", f"until={HUGE}"])
def test_audit_log_ignores_bad_numbers_and_impossible_days(quiet, login_as, query):
    c = login_as("commander")
    r = c.get(f"/audit/?{query}")
    assert r.status_code == 200
    assert c.post(f"/audit/export.csv?{query}", data=dict([query.split("=")])).status_code == 200


@pytest.mark.parametrize("url", [f"/people/?village={HUGE}", "/people/?village=²", f"/report/?commune={HUGE}",
                                 "/report/?commune=²"])
def test_lists_and_public_form_ignore_bad_numbers(quiet, login_as, url):
    c = login_as("commander") if url.startswith("/people") else quiet.test_client()
    assert c.get(url).status_code == 200


def test_reading_numbers_and_days():
    assert to_int("42") == 42 and to_int(42) == 42
    for junk in (HUGE, str(MAX_ID + 1), "²", "٣", "1e9", " 1", "-1", "0", "", None, "1.5", True):
        assert to_int(junk) is None, junk
    assert to_int(str(MAX_ID)) == MAX_ID and to_int("0", lo=0) == 0
    assert to_day("2026-11-30").day == 30
    for junk in ("0001-01-01", "9999-12-31", "2026-02-30", "30/11/2026", ""):
        assert to_day(junk) is None, junk


def test_a_cursor_not_of_the_list_is_no_cursor():
    """A page's link says where the page before it ended; anything else starts the list at its beginning."""
    assert read_cursor(QUEUE_ORDER, "4.20261130101112000123.273") == (4, datetime(2026, 11, 30, 10, 11, 12, 123), 273)
    for junk in (None, "", HUGE, "4.20261130101112000123", "4.20261130101112000123.273.1", "4.2026113010111200012.273",
                 "4.20261330101112000123.273", f"4.20261130101112000123.{2**31}", "².20261130101112000123.1",
                 "4.20261130101112000123.-1", "4." + "9" * 300 + ".1"):
        assert read_cursor(QUEUE_ORDER, junk) is None, junk


# --- Numbers in the path: above what an id column holds, 404 from routing ---------------------------


@pytest.mark.parametrize("path", ["/officer/tips/{n}", "/people/{n}", "/photos/{n}", "/places/points/{n}",
                                  "/report/status/{n}", "/report/status/1/photos/{n}"])
@pytest.mark.parametrize("n", [str(MAX_ID + 1), HUGE, "٣"])
def test_path_ids_beyond_an_id_column_answer_404(quiet, login_as, path, n):
    c = login_as("officer")
    r = c.get(path.format(n=n))
    assert r.status_code == 404
    assert "Trang này không có" in r.get_data(as_text=True)


def test_the_url_converter_stops_huge_ids_before_any_view(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match(f"/officer/tips/{MAX_ID}")[1] == {"tip_id": MAX_ID}
    for n in (MAX_ID + 1, 10**20):
        with pytest.raises(Exception) as exc:
            adapter.match(f"/officer/tips/{n}")
        assert getattr(exc.value, "code", None) == 404


def test_photo_ids_in_a_form_that_are_junk_are_ignored(quiet, login_as, app):
    c = login_as("informant")
    r = c.post("/informant/tips/new", data={"category_id": "1", "urgency": "2", "body": "Có người lạ.",
                                            "client_key": "junk-photo-ids-1", "photo_ids": ["²", HUGE, "-1"]})
    assert r.status_code == 303
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "junk-photo-ids-1"))
        assert tip is not None and tip.attachments == []


# --- Impossible dates in forms: 422 with the message on the field, the text kept, nothing saved --------


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T23:59"])
def test_an_impossible_year_in_a_tip_is_refused_on_its_field(quiet, login_as, app, when):
    c = login_as("informant")
    with app.app_context():
        before = db.session.scalar(select(func.count(Tip.id)))
    r = c.post("/informant/tips/new", data={"category_id": "1", "urgency": "2", "body": "Có người lạ ở chợ.",
                                            "occurred_at": when, "client_key": "impossible-year-1"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert IMPOSSIBLE in html and f'value="{when}"' in html and "Có người lạ ở chợ." in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Tip.id))) == before


def test_an_impossible_year_in_an_anonymous_tip_is_refused(quiet, app):
    r = app.test_client().post("/report/", data={"category_id": "1", "urgency": "2", "body": "Có người lạ.",
                                                 "occurred_at": "0001-01-01T00:00", "client_key": "anon-year-0001"})
    assert r.status_code == 422 and IMPOSSIBLE in r.get_data(as_text=True)


def test_a_task_due_in_an_impossible_year_is_refused(quiet, login_as, app):
    c = login_as("officer")
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.status == "new").order_by(Tip.id))
        verifier = U("verifier").id
        before = db.session.scalar(select(func.count(VerificationTask.id)))
    for due in ("0001-01-01T00:00", "9999-12-31T23:59"):
        r = c.post(f"/officer/tips/{tip_id}/tasks", data={"verifier_ids": str(verifier), "due_at": due,
                                                         "brief": "Kiểm tra khu chợ buổi sáng."})
        assert r.status_code == 422, due
        assert "Kiểm tra khu chợ buổi sáng." in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(VerificationTask.id))) == before


def test_a_date_that_is_not_one_is_refused_in_vietnamese(quiet, login_as):
    c = login_as("informant")
    r = c.post("/informant/tips/new", data={"category_id": "1", "urgency": "2", "occurred_at": "2026-02-30T10:00",
                                            "client_key": "not-a-date-0001"})
    assert r.status_code == 422
    assert "Vui lòng nhập ngày giờ" in r.get_data(as_text=True)


# --- WTForms' own messages in Vietnamese ------------------------------------------------------------


def test_a_choice_that_is_not_offered_is_refused_in_vietnamese(quiet, login_as, app):
    c = login_as("officer")
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.status == "new").order_by(Tip.id))
    for value in (HUGE, "abc"):
        r = c.post(f"/officer/tips/{tip_id}/triage", data={"category_id": value, "urgency": "2"})
        html = r.get_data(as_text=True)
        assert r.status_code == 422, value
        assert "Lựa chọn không đúng. Vui lòng chọn lại." in html
        assert "Not a valid choice" not in html and "could not coerce" not in html


def test_wtforms_messages_follow_the_chosen_language(quiet, login_as, app):
    c = login_as("officer")
    c.post("/language", data={"lang": "en", "next": "/"})
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.status == "new").order_by(Tip.id))
    html = c.post(f"/officer/tips/{tip_id}/triage", data={"category_id": HUGE, "urgency": "2"}).get_data(as_text=True)
    assert "Not a valid choice." in html


# --- A time of day made of spaces ---------------------------------------------------------------


def test_a_time_made_of_spaces_is_refused_on_its_field(quiet, login_as, app):
    c = login_as("officer")
    with app.app_context():
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        point_id, before = point.id, db.session.scalar(select(func.count(TimeWindow.id)))
    r = c.post(f"/places/points/{point_id}/windows", data={"starts": "   ", "ends": "22:00", "label": "Chợ tối"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Vui lòng nhập giờ" in html and "Chợ tối" in html
    with app.app_context():
        assert db.session.scalar(select(func.count(TimeWindow.id))) == before
        assert not db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "window.add"))


def test_the_audit_export_with_filters_is_sent_and_audited(login_as, app):
    c = login_as("commander")
    with app.app_context():
        actor = U("officer").id
    r = c.post(f"/audit/export.csv?actor={actor}&action=tip&target=tip")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.audit")
                                .order_by(AuditEvent.id.desc()))
        assert row.data["filters"] == {"actor": str(actor), "action": "tip", "target": "tip"}
        assert row.actor_id == U("commander").id


# --- NUL characters: PostgreSQL text cannot hold them, nobody types them -----------------------------


def test_nul_characters_are_taken_out_of_forms_and_query_strings(quiet, login_as, app):
    c = login_as("informant")
    r = c.post("/informant/tips/new", data={"category_id": "1", "urgency": "2", "body": "Có người\x00 lạ.",
                                            "place_text": "\x00Chợ", "client_key": "nul-in-body-0001"})
    assert r.status_code == 303
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "nul-in-body-0001"))
        assert tip.body == "Có người lạ." and tip.place_text == "Chợ"
    assert login_as("commander").get("/audit/?action=tip%00&target=%00tip&since=2026-01-01%00").status_code == 200


@pytest.mark.parametrize("url", ["/static/app%00.css", "/activate/AB%00CD", "/report/?commune=1%00"])
def test_nul_characters_in_paths_answer_without_a_crash(quiet, url):
    assert quiet.test_client().get(url).status_code < 500


# --- A crash still answers the plain Vietnamese error page --------------------------------------------


def test_a_failed_statement_still_gets_the_vietnamese_error_page(quiet, login_as):
    from zaloan.permissions import ANY_USER, allow

    @allow(ANY_USER)
    def broken():
        db.session.expire_all()  # the page below must load the user again
        db.session.add(TimeWindow(watch_point_id=1))  # no start or end: the database refuses it
        db.session.flush()

    quiet.add_url_rule("/broken-for-test", view_func=broken)
    r = login_as("officer").get("/broken-for-test")
    assert r.status_code == 500
    assert "Hệ thống gặp lỗi" in r.get_data(as_text=True)


def test_every_date_field_of_every_form_refuses_impossible_years(app):
    """A plain WTForms date field lets year 1 through, and it overflows later: forms use LocalDateTimeField."""
    from flask_wtf import FlaskForm
    from wtforms import DateField, DateTimeField
    from wtforms.fields.core import UnboundField

    from zaloan.formkit import LocalDateField, LocalDateTimeField

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    forms = [f for f in subclasses(FlaskForm) if f.__module__.startswith("zaloan.")]
    assert len(forms) >= 10
    dated = []
    for form in forms:
        for name, attr in vars(form).items():
            if isinstance(attr, UnboundField) and issubclass(attr.field_class, (DateField, DateTimeField)):
                dated.append(f"{form.__name__}.{name}")
                assert issubclass(attr.field_class, (LocalDateTimeField, LocalDateField)), f"{form.__name__}.{name}"
    assert "TipForm.occurred_at" in dated and "TaskForm.due_at" in dated


def test_the_request_keeps_what_the_extensions_give_it(app):
    with app.test_request_context("/?a=1%00", headers={"HX-Request": "true"}):
        from flask import request

        assert request.args["a"] == "1" and request.htmx
