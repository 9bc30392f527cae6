"""The audit log reads as Vietnamese sentences; informants appear by alias only; the CSV keeps the keys."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from zaloan import audit, audit_words, cases, secrecy
from zaloan.extensions import db
from zaloan.models import AuditEvent, Category, Finding, Outcome, Tip, Unit, Urgency, User, utcnow

from .conftest import PHONES

ROOT = Path(__file__).resolve().parent.parent / "zaloan"
# The first argument of audit.record(...): one action, or two in a conditional expression.
RECORD = re.compile(r"audit\.record\(\s*([^,()]+)[,)]")


def recorded_actions() -> set[str]:
    found = set()
    for path in ROOT.rglob("*.py"):
        for arg in RECORD.findall(path.read_text(encoding="utf-8")):
            found.update(re.findall(r"[\"']([a-z_.]+)[\"']", arg))
    return found


def U(who):
    from zaloan.phones import normalize_phone

    return db.session.scalar(select(User).where(User.phone == normalize_phone(PHONES.get(who, who))))


def test_every_recorded_action_has_a_sentence():
    actions = recorded_actions()
    # The pattern finds the actions written as conditional expressions too.
    assert {"tip.submit", "task.report", "watch_point.add", "watch_point.edit", "login.failure"} <= actions
    assert len(actions) > 35
    missing = sorted(actions - set(audit_words.SENTENCES))
    assert not missing, f"audit actions without words in zaloan/audit_words.py: {missing}"


def commander_page(app, login_as, **params):
    r = login_as("commander").get("/audit/", query_string=params)
    assert r.status_code == 200
    return r.get_data(as_text=True)


@pytest.fixture
def worked_tip(app):
    """A tip of informant 1 sorted, sent to a verifier, reported on and closed by officer 0900000002."""
    with app.app_context():
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        theft = db.session.scalar(select(Category).where(Category.code == "theft"))
        tip, _ = cases.submit_tip(commune=village.commune(), informant=U("informant").informant, category=theft,
                                  body="Mất trộm xe đạp trước cửa nhà văn hóa thôn.", village=village,
                                  uploader=U("informant"))
        cases.triage(tip, by=U("officer"), category=theft, urgency=Urgency.HIGH)
        task = cases.create_task(tip, by=U("officer"), verifiers=[U("verifier")], brief="Kiểm tra nhà văn hóa.",
                                 due_at=utcnow() + timedelta(hours=5))
        cases.accept_task(task.assignments[0], by=U("verifier"))
        cases.report_finding(task.assignments[0], by=U("verifier"), finding=Finding.CONFIRMED, notes="Đúng vậy.")
        cases.record_outcome(tip, by=U("officer"), outcome=Outcome.COMMUNE_POLICE, note="Đã xử lý.")
        db.session.commit()
        return tip.code


def test_the_log_reads_as_sentences_not_keys(app, login_as, worked_tip):
    html = commander_page(app, login_as)
    officer = "Cán bộ Phạm Minh Đức (0900…002)"  # role, name and a masked phone
    assert f"{officer} đã giao việc xác minh tin {worked_tip} cho Hoàng Văn Cường." in html
    assert f"{officer} đã phân loại tin {worked_tip}: 🕵️ Trộm cắp, Gấp." in html
    assert f"Người xác minh Hoàng Văn Cường (0900…020) đã báo kết quả xác minh tin {worked_tip}: Đúng sự thật." in html
    assert f"{officer} đã kết thúc tin {worked_tip}: Công an xã đã giải quyết." in html
    assert "Chỉ huy Lương Văn Hùng (0900…001) đã đăng nhập." in html
    for key in ("task.create", "verificationtask", "tip.submit", "{&#39;", "finding", "0900 000 002"):
        assert key not in html


def test_informants_appear_by_alias_and_anonymous_senders_as_such(app, login_as):
    informant = login_as("informant")  # login.success by the informant
    with app.app_context():
        you = U("informant")
        alias = you.informant.alias
        name = you.full_name
        secrecy.reveal_identity(U("officer"), you.informant, "Cần gặp để hỏi thêm chi tiết.")
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        theft = db.session.scalar(select(Category).where(Category.code == "theft"))
        tip, _ = cases.submit_tip(commune=village.commune(), informant=None, category=theft, body="Có trộm.",
                                  village=village, anon_secret="bí-mật-dài")
        db.session.commit()
        code = tip.code
    assert informant.get("/informant/").status_code == 200
    html = commander_page(app, login_as)
    assert f"Người cung cấp tin {alias} đã đăng nhập." in html
    assert f"đã xem danh tính của {alias}. Lý do: Cần gặp để hỏi thêm chi tiết." in html
    assert f"Người gửi ẩn danh đã gửi tin {code}." in html
    for secret in (name, "0900 000 010", "+84900000010", "0900000010", "0900…010"):
        assert secret not in html


def test_an_unknown_action_or_odd_facts_still_read_as_a_sentence(app, login_as):
    with app.app_context():
        audit.record("something.new", actor=U("officer"), x=1)
        audit.record("task.create", actor=U("officer"), verifiers="not a list", tip="x")
        audit.record("informant.posts", actor=U("officer"), posts=[["a", None], 5])
        db.session.commit()
    html = commander_page(app, login_as)
    assert "đã thực hiện thao tác “something.new”" in html
    assert "đã giao việc xác minh tin" in html and "đã giao điểm theo dõi cho" in html


def test_the_filter_offers_topics_in_words_and_still_filters(app, login_as, worked_tip):
    html = commander_page(app, login_as, action="task")
    assert '<option value="task" selected>Việc xác minh</option>' in html
    assert "đã giao việc xác minh tin" in html and "đã đăng nhập" not in html


def test_a_page_of_sentences_takes_a_fixed_number_of_queries(app, login_as, worked_tip):
    login_as("officer")
    with app.app_context():
        for n in range(3):  # people, places and categories too
            audit.record("category.move", actor=U("commander"), target=db.session.get(Category, 1), position=n)
        db.session.commit()
        assert db.session.query(AuditEvent).count() > 30

        def count(limit):
            db.session.expunge_all()  # nothing already loaded helps
            rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()
            statements = []
            listener = lambda *a: statements.append(a[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                words = audit_words.sentences(rows)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            assert all(words.values())
            return len(statements)

        # One query for each kind of thing a sentence can name (users with their alias, informants, tips,
        # tasks with their tip, villages, watch points, time windows, categories), however many rows.
        few, many = count(3), count(50)
        assert few <= many <= 10


def test_the_csv_keeps_the_keys_and_adds_the_sentence(app, login_as, worked_tip):
    with app.app_context():
        audit.record("test.payload", actor=U("officer"), note="=HYPERLINK(\"http://evil\",\"x\")")
        db.session.commit()
    c = login_as("commander")
    r = c.post("/audit/export.csv")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    created = [row for row in rows if row["action"] == "task.create"][-1]
    assert created["target_type"] == "verificationtask" and created["target_id"].isdigit()
    assert '"verifiers"' in created["data"] and "đã giao việc xác minh tin " + worked_tip in created["sentence"]
    assert all(not cell[:1] in ("=", "+", "-", "@") for row in rows for cell in row.values())
    assert "Nguyễn Văn An" not in r.get_data(as_text=True)


def test_the_first_read_and_the_commune_settings_have_words(app, login_as, worked_tip):
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.code == worked_tip))
        audit.record("tip.read", actor=U("officer"), target=tip)
        audit.record("commune.settings", actor=U("commander"), duty_phone="0205 3871 113")
        db.session.commit()
    html = commander_page(app, login_as)
    assert f"Cán bộ Phạm Minh Đức (0900…002) là người đầu tiên đọc tin {worked_tip}." in html
    assert "số điện thoại trực ban nay là 0205 3871 113." in html
