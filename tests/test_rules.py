"""The model's operating rules: versions kept by the commander, each member asked once per version,
a tip never held back for it; who has agreed (informants by alias only)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from zaloan import accounts, rules
from zaloan.extensions import db
from zaloan.models import AuditEvent, Category, Role, RulesAck, RulesVersion, Tip

from .helpers import U
from .test_access_matrix import session_client

BANNER = "Quy chế hoạt động có bản mới"
NEW_TEXT = "# Giữ bí mật\nKhông kể cho ai biết mình đã báo tin.\n\n# Giờ trực\n- Trực đêm thứ Bảy tại nhà văn hóa."


def new_version(app, body: str = NEW_TEXT, note: str = "Thêm giờ trực") -> int:
    with app.app_context():
        v, _created = rules.publish(U("commander").commune_id, by=U("commander"), body=body, note=note)
        db.session.commit()
        return v.id


def test_the_demo_commune_has_its_first_rules_agreed_by_its_members(app):
    with app.app_context():
        v = rules.current(U("commander").commune_id)
        assert v.number == 1 and "# Giữ bí mật người báo tin" in v.body and "113" in v.body
        assert "Hữu Lũng" not in v.body  # a place name of the seed that belongs to no demo village
        assert rules.due(U("informant")) is None
    html = session_client(app, "informant").get("/rules/").get_data(as_text=True)
    assert "<h2>Giữ bí mật người báo tin</h2>" in html and "Tôi đã đọc và đồng ý" not in html


def test_a_new_version_asks_every_member_again_and_the_banner_goes_once_agreed(app):
    vid = new_version(app)
    for who, home in (("informant", "/informant/"), ("verifier", "/verifier/"), ("officer", "/officer/")):
        client = session_client(app, who)
        first = client.get(home)
        if who != "officer":  # asked on the home page once (see below), then reminded
            assert first.status_code == 303
        assert BANNER in client.get(home).get_data(as_text=True), who
        page = client.get("/rules/").get_data(as_text=True)
        assert "<h2>Giờ trực</h2>" in page and "<li>Trực đêm thứ Bảy tại nhà văn hóa.</li>" in page
        assert "Tôi đã đọc và đồng ý" in page and BANNER not in page
        resp = client.post("/rules/ack", data={"version_id": str(vid)})
        assert resp.status_code == 303
        assert BANNER not in client.get(home).get_data(as_text=True)
        assert "Bạn đã đồng ý bản này lúc" in client.get("/rules/").get_data(as_text=True)
        assert client.post("/rules/ack", data={"version_id": str(vid)}).status_code == 303  # twice: one record
    # The commander and the observer are not asked.
    for who, home in (("commander", "/commander/"), ("observer", "/observer/")):
        assert BANNER not in session_client(app, who).get(home).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(RulesAck.id)).where(RulesAck.version_id == vid)) == 3
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "rules.ack")) == 3
    # Another version: asked again.
    new_version(app, NEW_TEXT + "\n- Họp tháng một lần.", "Thêm họp tháng")
    assert session_client(app, "informant").get("/informant/").status_code == 303


def test_agreeing_to_an_older_version_than_the_one_in_force_is_refused(app):
    old = new_version(app)
    new_version(app, NEW_TEXT + "\n- Điều mới.", "Điều mới")
    client = session_client(app, "informant")
    for bad in (str(old), "", "abc", "99999999999999999999"):
        resp = client.post("/rules/ack", data={"version_id": bad})
        assert resp.status_code == 409, bad
        assert "Quy chế vừa thay đổi" in resp.get_data(as_text=True)
    with app.app_context():
        assert rules.due(U("informant")) is not None


def test_a_tip_is_never_held_back_by_rules_not_yet_agreed(app):
    new_version(app)
    client = session_client(app, "informant")
    form = client.get("/informant/tips/new")
    assert form.status_code == 200 and BANNER not in form.get_data(as_text=True)
    with app.app_context():
        theft = db.session.scalar(select(Category.id).where(Category.code == "theft"))
    resp = client.post("/informant/tips/new", data={"client_key": "rules-tip-0001", "category_id": str(theft),
                                                    "body": "Có người lạ dò hỏi nhà dân.", "urgency": "2"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:400]
    with app.app_context():
        assert db.session.scalar(select(Tip).where(Tip.client_key == "rules-tip-0001")) is not None
        assert rules.due(U("informant")) is not None  # still to agree: the tip went anyway
    # The anonymous form asks nothing of anyone.
    assert session_client(app, "anonymous").get("/x/tan-thanh/report/").status_code == 200


def test_the_commander_writes_a_version_once_and_reads_the_history_and_the_changes(app):
    boss = session_client(app, "commander")
    page = boss.get("/rules/edit").get_data(as_text=True)
    assert "Giữ bí mật người báo tin" in page  # the form starts from the version in force
    with app.app_context():
        body = rules.current(U("commander").commune_id).body
    changed = body.replace("Sơ kết và khen thưởng", "Sơ kết, tổng kết và khen thưởng") + "\n- Họp tháng một lần."
    data = {"client_key": "rules-key-0001", "body": changed, "note": "Sửa mục sơ kết"}
    assert boss.post("/rules/edit", data=data).status_code == 303
    assert boss.post("/rules/edit", data=data).status_code == 303  # a retried send: the same version
    for bad in ({"body": ""}, {"note": ""}, {"body": changed, "client_key": "rules-key-0002"},
                {"client_key": "x"}, {"body": "x" * 20_001, "client_key": "rules-key-0003"}):
        assert boss.post("/rules/edit", data={**data, **bad}).status_code == 422, bad
    with app.app_context():
        versions = db.session.scalars(select(RulesVersion).order_by(RulesVersion.number)).all()
        assert [v.number for v in versions] == [1, 2] and versions[1].note == "Sửa mục sơ kết"
        v2 = versions[1].id
    history = boss.get("/rules/history").get_data(as_text=True)
    assert "Bản 2" in history and "Sửa mục sơ kết" in history and "Lương Văn Hùng" in history
    diff = boss.get(f"/rules/versions/{v2}").get_data(as_text=True)
    assert "<del># Sơ kết và khen thưởng</del>" in diff and "<ins># Sơ kết, tổng kết và khen thưởng</ins>" in diff
    assert "<ins>- Họp tháng một lần.</ins>" in diff
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "rules.publish")) == 2


def test_the_rules_text_is_shown_escaped(app):
    new_version(app, "# <script>alert(1)</script>\n<b>đậm</b> & <a href='x'>liên kết</a>", "Thử")
    html = session_client(app, "informant").get("/rules/").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>đậm</b>" not in html and "&lt;b&gt;đậm&lt;/b&gt;" in html


def test_the_commander_sees_who_agreed_with_informants_by_alias_only(app):
    vid = new_version(app)
    session_client(app, "informant").post("/rules/ack", data={"version_id": str(vid)})
    session_client(app, "verifier").post("/rules/ack", data={"version_id": str(vid)})
    with app.app_context():
        alias = U("informant").informant.alias
        alias2 = U("informant2").informant.alias
    page = session_client(app, "commander").get("/rules/acks").get_data(as_text=True)
    assert alias in page and alias2 in page
    assert "Nguyễn Văn An" not in page and "Trần Thị Bình" not in page and "0900000010" not in page
    assert "Hoàng Văn Cường" in page and "Đinh Văn Dũng" in page and "Phạm Minh Đức" in page
    done = page.split("✅ ")
    assert any(d.startswith(alias) for d in done) and any(d.startswith("Hoàng Văn Cường") for d in done)
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
    assert counts == {"Người cung cấp tin": "1 / 2", "Người xác minh": "1 / 2", "Cán bộ phụ trách địa bàn": "0 / 2"} \
        or sorted(counts.values()) == ["0 / 2", "1 / 2", "1 / 2"]


@pytest.mark.parametrize("who", ["informant", "verifier", "officer", "observer"])
def test_only_the_commander_writes_and_reads_who_agreed(app, who):
    vid = new_version(app)
    client = session_client(app, who)
    for path in ("/rules/edit", "/rules/history", f"/rules/versions/{vid}", "/rules/acks"):
        assert client.get(path).status_code == 404, path
    assert client.post("/rules/edit", data={"body": "x", "note": "y", "client_key": "rules-key-9999"}) \
        .status_code == 404


def test_the_verifier_reaches_the_rules_and_learns_nothing_of_a_tip_or_an_informant(app, login_as):
    from zaloan.models import TaskAssignment, VerificationTask

    from .secrecy import assert_verifier_never_sees, tip_secrets

    vid = new_version(app)
    with app.app_context():
        tasks = db.session.scalars(select(VerificationTask).join(TaskAssignment)
                                   .where(TaskAssignment.verifier_id == U("verifier").id)).all()
        written = " ".join(f"{t.brief} {t.place_hint}" for t in tasks)
        tip_ids = sorted({t.tip_id for t in tasks})
    secrets = [s for t in tip_ids for s in tip_secrets(app, t)] + ["Trần Thị Bình"]
    client = login_as("verifier")
    assert client.get("/verifier/").status_code == 303  # asked once to read the new version
    visited = assert_verifier_never_sees(client, secrets, tip_ids=tip_ids, written=written,
                                         extra_posts=[("/rules/ack", {"version_id": str(vid)}),
                                                      ("/rules/ack", {"version_id": "0"})])
    assert "/rules/" in visited  # linked from the reminder and the footer


def test_a_member_of_a_commune_without_rules_is_not_asked(app):
    with app.app_context():
        from zaloan import communes

        other = communes.create_commune("Xã Minh Tiến", "Tỉnh Lạng Sơn")
        person = accounts.create_user(by=None, phone="0911222333", full_name="Hà Văn Tư", role=Role.VERIFIER,
                                      commune=other, village=communes.get_or_create_unit("Thôn Một", "village",
                                                                                         other))
        db.session.commit()
        assert rules.due(person) is None
    client = session_client(app, "0911222333")
    assert BANNER not in client.get("/verifier/").get_data(as_text=True)
    assert "Xã chưa có Quy chế hoạt động." in client.get("/rules/").get_data(as_text=True)
    assert client.post("/rules/ack", data={"version_id": "1"}).status_code == 409


@pytest.mark.parametrize("who,home", [("informant", "/informant/"), ("verifier", "/verifier/")])
def test_after_a_new_version_the_next_home_page_opens_the_rules_once(app, who, home):
    client = session_client(app, who)
    assert client.get(home).status_code == 200  # the demo's version is agreed: nothing asked
    new_version(app)
    resp = client.get(home)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/rules/")
    boosted = session_client(app, who)
    hx = boosted.get(home, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert hx.status_code == 204 and hx.headers["HX-Location"].endswith("/rules/")
    # Asked once: then the home page with the reminder, until they agree.
    again = client.get(home)
    assert again.status_code == 200 and BANNER in again.get_data(as_text=True)
    # The tip form is never in the way, asked or not.
    fresh = session_client(app, who)
    if who == "informant":
        assert fresh.get("/informant/tips/new").status_code == 200


def test_the_officer_and_a_new_member_are_reminded_not_sent_away(app):
    new_version(app)
    officer = session_client(app, "officer")
    resp = officer.get("/officer/")
    assert resp.status_code == 200 and BANNER in resp.get_data(as_text=True)  # the queue of tips comes first
    with app.app_context():
        accounts.create_user(by=None, phone="0900000018", full_name="Mới Vào", role=Role.INFORMANT,
                             commune=U("commander").commune, handler=U("officer"))
        db.session.commit()
    newcomer = session_client(app, "0900000018")
    resp = newcomer.get("/informant/")
    assert resp.status_code == 200 and BANNER in resp.get_data(as_text=True)


def test_the_line_diff_keeps_the_changes_and_a_line_around_them():
    old = "\n".join(f"Dòng {n}" for n in range(1, 11))
    new = old.replace("Dòng 5", "Dòng năm") + "\nDòng 11"
    assert rules.compact(rules.line_diff(old, new)) == [
        ("…", "3"), (" ", "Dòng 4"), ("-", "Dòng 5"), ("+", "Dòng năm"), (" ", "Dòng 6"), ("…", "3"),
        (" ", "Dòng 10"), ("+", "Dòng 11")]
