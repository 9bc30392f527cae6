"""The village security survey: versions, validation, idempotency, audit, who may fill it."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from zaloan import surveys
from zaloan.extensions import db
from zaloan.models import AuditEvent, Unit, VillageSurvey, utcnow

from .test_access_matrix import session_client


def village_id(name: str = "Thôn Đồng Bé") -> int:
    return db.session.scalar(select(Unit.id).where(Unit.name == name))


def key_of(html: str) -> str:
    return re.search(r'name="client_key"[^>]*value="([^"]+)"', html).group(1)


def filled(client, vid: int, **over) -> dict:
    html = client.get(f"/build/villages/{vid}/survey").get_data(as_text=True)
    year = utcnow().year
    data = {"client_key": key_of(html), "period": str(year), "theft": "3", "drugs": "1", "disputes": "4",
            "security_team": "5", "released": "2", "weapons": "1",
            "notes": "Hai người mới về, gia đình quan tâm.", "strengths": "Họp tổ đều.",
            "weaknesses": "Chợ đêm chưa có người nắm tin."}
    data.update(over)
    return data


def versions(vid: int) -> list[VillageSurvey]:
    return list(db.session.scalars(select(VillageSurvey).where(VillageSurvey.village_id == vid)
                                   .order_by(VillageSurvey.id)))


def test_each_save_is_a_new_version_and_the_village_page_shows_the_latest(app):
    with app.app_context():
        vid = village_id()
    officer = session_client(app, "officer")
    r = officer.post(f"/build/villages/{vid}/survey", data=filled(officer, vid))
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/build/villages/{vid}")
    r = officer.post(f"/build/villages/{vid}/survey", data=filled(officer, vid, theft="7", strengths="Tốt hơn."))
    assert r.status_code == 303
    with app.app_context():
        rows = versions(vid)
        assert [s.version for s in rows] == [1, 2]
        assert rows[0].counts["theft"] == 3 and rows[1].counts["theft"] == 7 and rows[1].counts["gambling"] == 0
        assert rows[1].updated_by.full_name == "Phạm Minh Đức" and rows[1].commune_id is not None
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "survey.save")))
        assert len(actions) == 2
    page = officer.get(f"/build/villages/{vid}").get_data(as_text=True)
    assert "Tốt hơn." in page and "phiên bản 2" in page.lower()
    history = officer.get(f"/build/villages/{vid}/survey/history").get_data(as_text=True)
    assert "Họp tổ đều." in history and "Tốt hơn." in history and "2 phiên bản" in history
    # The form starts from the newest version.
    assert 'value="7"' in officer.get(f"/build/villages/{vid}/survey").get_data(as_text=True)


def test_a_retried_save_makes_no_second_version(app):
    with app.app_context():
        vid = village_id()
    officer = session_client(app, "officer")
    data = filled(officer, vid)
    assert officer.post(f"/build/villages/{vid}/survey", data=data).status_code == 303
    assert officer.post(f"/build/villages/{vid}/survey", data=data).status_code == 303
    changed = officer.post(f"/build/villages/{vid}/survey", data={**data, "theft": "9"})
    assert changed.status_code == 409 and "đã" in changed.get_data(as_text=True)
    with app.app_context():
        assert len(versions(vid)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "survey.save")) == 1


def test_negative_absurd_or_junk_counts_are_refused_in_vietnamese_and_nothing_is_saved(app):
    with app.app_context():
        vid = village_id()
    officer = session_client(app, "officer")
    for bad in ({"theft": "-1"}, {"drugs": "100000"}, {"disputes": "1e3"}, {"released": "2.5"},
                {"weapons": "ba"}, {"period": "1999"}, {"strengths": "x" * 2001}):
        r = officer.post(f"/build/villages/{vid}/survey", data=filled(officer, vid, **bad))
        assert r.status_code == 422, bad
        html = r.get_data(as_text=True)
        assert "Chưa lưu gì" in html, bad
        if set(bad) & set(surveys.KEYS):
            assert "Hãy nhập một số nguyên từ 0 đến 9999." in html, bad
    with app.app_context():
        assert versions(vid) == []


def test_the_commander_may_fill_any_village_an_officer_only_theirs(app):
    with app.app_context():
        v1, v4 = village_id(), village_id("Thôn Trung Tâm")
    boss = session_client(app, "commander")
    assert boss.post(f"/build/villages/{v4}/survey", data=filled(boss, v4)).status_code == 303
    officer = session_client(app, "officer")
    assert officer.get(f"/build/villages/{v4}/survey").status_code == 404
    assert officer.post(f"/build/villages/{v4}/survey", data={"period": "2026"}).status_code == 404
    assert officer.get(f"/build/villages/{v4}/survey/history").status_code == 404
    for who in ("verifier", "informant", "observer"):
        c = session_client(app, who)
        assert c.get(f"/build/villages/{v1}/survey").status_code == 404
        assert c.post(f"/build/villages/{v1}/survey", data={"period": "2026"}).status_code == 404
    with app.app_context():
        assert len(versions(v4)) == 1 and versions(v1) == []


def test_the_audit_log_reads_the_save_as_a_sentence(app):
    with app.app_context():
        vid = village_id()
    boss = session_client(app, "commander")
    boss.post(f"/build/villages/{vid}/survey", data=filled(boss, vid))
    from zaloan.audit_words import sentence

    with app.test_request_context():
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "survey.save"))
        text = sentence(row)
    assert "phiên bản 1" in text and "Thôn Đồng Bé" in text and "khảo sát" in text
