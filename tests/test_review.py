"""The yearly review document: figures from the report, the commander's judgement in versions, print and .docx."""
from __future__ import annotations

import io
import re

import docx
import pytest
from sqlalchemy import func, select

from zaloan import reports, review
from zaloan.extensions import db
from zaloan.models import AuditEvent, Informant, ReviewDraft, Tip, Unit, VillageSurvey, utcnow

from .conftest import csrf_token

URL = "/reports/review?period=year"


def texts(**kw):
    return {"strengths": kw.get("strengths", ""), "weaknesses": kw.get("weaknesses", ""),
            "causes": kw.get("causes", ""), "directions": kw.get("directions", "")}


def save(client, key="k-1", **kw):
    page = client.get(URL)
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "client_key": key, "period": "year",
            "quarter": "", "start": "", "end": "", **texts(**kw)}
    return client.post("/reports/review", data=data)


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_numbers_are_the_report_figures(app, login_as, user):
    """Section I shows exactly what reports.figures counts for the same period."""
    c = login_as("commander")
    html = plain(c.get(URL).get_data(as_text=True))
    with app.test_request_context():
        commander = user("commander")
        _c, scope, _s = reports.report_scopes(commander)[0]
        period = reports.choose_period({"period": "year"}, today=reports.local_today(), launched_on=None)
        f = reports.figures(scope, period)
    assert f.tips > 0
    assert f"Tin báo đã nhận: {f.tips} (từ cộng tác viên: {f.informant_tips}, không ghi tên: {f.anonymous_tips}); " \
           f"đã xử lý xong: {f.closed}." in html, html[:3000]
    w, wo = f.watch_points
    assert f"có tin báo trong kỳ: {w}; không có tin báo: {wo}" in html
    assert f"đã xác minh đúng toàn bộ hoặc một phần: {f.confirmed}" in html


def test_drafts_are_versioned_and_the_latest_is_shown(app, login_as, user):
    c = login_as("commander")
    r = save(c, "k-a", strengths="Bà con tích cực lần một")
    assert r.status_code == 303
    r = save(c, "k-b", strengths="Bà con tích cực lần hai", directions="Mở rộng sang thôn mới")
    assert r.status_code == 303
    html = c.get(URL).get_data(as_text=True)
    assert "lần hai" in html and "Mở rộng sang thôn mới" in html
    assert "lần một" not in html  # older version kept in history, not shown
    with app.app_context():
        rows = db.session.scalars(select(ReviewDraft).order_by(ReviewDraft.version)).all()
        assert [r.version for r in rows] == [1, 2]
        assert rows[1].updated_by_id == user("commander").id
        words = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.save")).all()
        assert len(words) == 2
    assert "Phiên bản 2" in html and "Phiên bản 1" in html
    with app.app_context():
        assert f"do {user('commander').full_name} lưu lúc" in html


def test_saving_twice_with_one_key_saves_once(app, login_as):
    c = login_as("commander")
    assert save(c, "same", causes="Nguyên nhân").status_code == 303
    assert save(c, "same", causes="Nguyên nhân").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewDraft.id))) == 1


def test_bad_input_is_refused_in_vietnamese_and_changes_nothing(app, login_as):
    c = login_as("commander")
    r = save(c, "empty")
    assert r.status_code == 400
    assert "Vui lòng" in r.get_data(as_text=True) or "ít nhất" in r.get_data(as_text=True)
    r = save(c, "long", strengths="x" * (review.MAX_TEXT + 1))
    assert r.status_code == 400
    page = c.get("/reports/review?period=nonsense")
    assert page.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewDraft.id))) == 0
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "review.save")) == 0


@pytest.mark.parametrize("who", ["officer", "verifier", "observer", "informant"])
def test_only_the_commander_reads_and_writes_the_review(app, login_as, who):
    c = login_as(who)
    for r in (c.get(URL), c.get("/reports/review.docx?period=year"), c.get("/reports/review/print?period=year"),
              c.post("/reports/review", data={"strengths": "x", "period": "year"})):
        assert r.status_code == 404, r.status_code  # the page does not exist for them
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewDraft.id))) == 0


def test_the_docx_opens_and_holds_the_headings_numbers_and_no_identity(app, login_as, user):
    c = login_as("commander")
    save(c, "d", strengths="Ưu điểm rõ ràng", directions="Phương hướng năm sau")
    r = c.get("/reports/review.docx?period=year")
    assert r.status_code == 200
    d = docx.Document(io.BytesIO(r.data))
    text = "\n".join(p.text for p in d.paragraphs)
    cells = "\n".join(cell.text for t in d.tables for row in t.rows for cell in row.cells)
    for heading in ("I. Kết quả", "II. Đánh giá", "III. Phương hướng"):
        assert heading in text
    assert "Ưu điểm rõ ràng" in text and "Phương hướng năm sau" in text
    with app.test_request_context():
        commander = user("commander")
        _c, scope, _s = reports.report_scopes(commander)[0]
        period = reports.choose_period({"period": "year"}, today=reports.local_today(), launched_on=None)
        f = reports.figures(scope, period)
        assert f"Tin báo đã nhận: {f.tips} " in text
        codes = db.session.scalars(select(Tip.code)).all()
        names = [i.user.full_name for i in db.session.scalars(select(Informant)) if i.user and i.user.full_name]
        assert names
        bodies = [t.body for t in db.session.scalars(select(Tip)) if t.body and len(t.body) > 12]
        assert bodies and codes
    everything = text + "\n" + cells
    assert not [code for code in codes if code in everything]
    assert not [n for n in names if n in everything]
    assert not [b for b in bodies if b[:30] in everything]


def test_the_survey_baseline_is_compared_village_by_village(app, login_as, user):
    with app.app_context():
        commander = user("commander")
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        year = reports.local_today().year
        db.session.add(VillageSurvey(village_id=village.id, commune_id=village.parent_id, year=year,
                                     period=str(year), version=1, counts={"theft": 4, "drugs": 3}, notes="",
                                     updated_by_id=commander.id, updated_at=utcnow()))
        db.session.commit()
    c = login_as("commander")
    html = c.get(URL).get_data(as_text=True)
    m = re.search(r"<td>Thôn Đồng Bé</td><td>(\d+)</td><td>(\d+)</td>", html)
    assert m, "no survey row"
    assert m.group(1) == "7"
    with app.test_request_context():
        _c, scope, _s = reports.report_scopes(user("commander"))[0]
        period = reports.choose_period({"period": "year"}, today=reports.local_today(), launched_on=None)
        assert int(m.group(2)) == dict(reports.figures(scope, period).by_village)["Thôn Đồng Bé"]


def test_the_print_view_shows_the_same_document(login_as):
    c = login_as("commander")
    save(c, "p", weaknesses="Tồn tại cần khắc phục")
    r = c.get("/reports/review/print?period=year")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Tồn tại cần khắc phục" in html and "I. Kết quả" in html


def test_a_new_period_starts_from_the_last_saved_assessment(app, login_as):
    """"The last 12 months" moves daily: yesterday's text fills today's form but is not today's document."""
    c = login_as("commander")
    page = c.get("/reports/review?period=custom&start=01/01/2026&end=30/06/2026")
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "client_key": "old", "period": "custom",
            "start": "01/01/2026", "end": "30/06/2026", "strengths": "Viết cho nửa đầu năm"}
    assert c.post("/reports/review", data=data).status_code == 303
    html = c.get(URL).get_data(as_text=True)
    assert "<textarea" in html and ">Viết cho nửa đầu năm</textarea>" in html
    assert "từ 01/01/2026 đến 30/06/2026" in html
    assert '<p class="review-text">Viết cho nửa đầu năm' not in html


def test_a_reused_key_with_other_text_is_refused_and_changes_nothing(app, login_as):
    c = login_as("commander")
    assert save(c, "dup", causes="Lần đầu").status_code == 303
    r = save(c, "dup", causes="Nội dung khác")
    assert r.status_code == 409
    assert "Nội dung khác" in r.get_data(as_text=True)  # the text is kept in the form
    with app.app_context():
        assert [d.causes for d in db.session.scalars(select(ReviewDraft))] == ["Lần đầu"]


def test_commendations_of_the_period_are_named_by_alias_only(app, login_as, user):
    from zaloan.models import Commendation, CommendationKind, CommendationStatus

    with app.app_context():
        informant = db.session.scalar(select(Informant).where(Informant.user_id == user("informant").id))
        alias, name = informant.alias, user("informant").full_name
        today = reports.local_today()
        db.session.add(Commendation(commune_id=informant.commune_id, kind=CommendationKind.INFORMANT,
                                    informant_id=informant.id, reason="Báo tin kịp thời", reward="Giấy khen",
                                    period_start=today, period_end=today, status=CommendationStatus.APPROVED,
                                    proposed_by_id=user("officer").id, decided_by_id=user("commander").id,
                                    decided_at=utcnow()))
        db.session.commit()
    c = login_as("commander")
    html = c.get(URL).get_data(as_text=True)
    assert f"<td>{alias}</td><td>Giấy khen</td>" in html
    assert name not in html
    d = docx.Document(io.BytesIO(c.get("/reports/review.docx?period=year").data))
    cells = [cell.text for t in d.tables for row in t.rows for cell in row.cells]
    assert alias in cells and name not in cells
