"""Account management by the commander and by officers; places; identity reveal; handover."""
import re

import pytest
from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.models import AuditEvent, Informant, Role, Tip, TipStatus, TimeWindow, Unit, User, WatchPoint

from .conftest import PASSWORD, PHONES

SECRETS = ("Nguyễn Văn An", "Trần Thị Bình", "0900 000 010", "+84900000010", "0900 000 011", "+84900000011")


def U(phone):
    return db.session.scalar(select(User).where(User.phone == phone))


def village(name):
    return db.session.scalar(select(Unit).where(Unit.name == name))


def code_from(html):
    return re.search(r'<p class="code">([A-Z0-9]+)</p>', html).group(1)


def create(c, **data):
    base = {"role": "verifier", "full_name": "Lê Văn Mới", "phone": "0912 345 678", "village_id": "0",
            "title": "", "watch_point": "", "handler_id": "0", "position": ""}
    base.update(data)
    return c.post("/people/new", data=base)


def test_officer_creates_a_verifier_who_activates_and_logs_in(app, login_as):
    with app.app_context():
        v1 = village("Thôn Đồng Bé").id
    r = create(login_as("officer"), village_id=str(v1), title="village_head")
    assert r.status_code == 200
    code = code_from(r.get_data(as_text=True))
    assert f"/activate/{code}" in r.get_data(as_text=True)
    fresh = app.test_client()
    r = fresh.post(f"/activate/{code}", data={"password": "mat-khau-9", "confirm": "mat-khau-9"})
    assert r.status_code == 302 and r.headers["Location"] == "/verifier/"
    with app.app_context():
        p = U("+84912345678")
        assert p.role == Role.VERIFIER and p.village_id == v1 and p.title == "village_head"


def test_officer_creates_an_informant_posted_to_a_watch_point(app, login_as):
    with app.app_context():
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        value = f"{point.id}:{point.windows[0].id}"
    r = create(login_as("officer"), role="informant", full_name="Đỗ Thị Mai", phone="0987000111", watch_point=value)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Đỗ Thị Mai" not in html  # the informant's page shows the alias
    with app.app_context():
        inf = U("+84987000111").informant
        assert inf.handler_id == U(PHONES_E164["officer"]).id
        assert inf.posts[0].watch_point_id == point.id and inf.alias.startswith("NT-")


PHONES_E164 = {k: "+84" + v[1:] for k, v in PHONES.items()}


@pytest.mark.parametrize("data,field_msg", [
    ({"role": "commander"}, None),  # an officer may not create a commander
    ({"role": "officer"}, None),
    ({"village_id": "__other__", "title": "village_head"}, None),  # a village of another officer
    ({"village_id": "__mine__", "title": "village_head", "phone": "0900000020"}, "đã có tài khoản"),
    ({"village_id": "__mine__", "title": "village_head", "phone": "12345"}, "không phải số điện thoại"),
    ({"village_id": "__mine__", "title": ""}, "chức danh"),
])
def test_officer_tampered_or_bad_creation_changes_nothing(app, login_as, data, field_msg):
    with app.app_context():
        mine, other = village("Thôn Đồng Bé").id, village("Thôn Trung Tâm").id
        before = db.session.scalar(select(func.count(User.id)))
    data = {k: (str(mine) if v == "__mine__" else str(other) if v == "__other__" else v) for k, v in data.items()}
    r = create(login_as("officer"), **data)
    assert r.status_code == 422
    if field_msg:
        assert field_msg in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == before


def test_commander_creates_every_role(app, login_as):
    c = login_as("commander")
    with app.app_context():
        officer_id = U(PHONES_E164["officer"]).id
    for i, role in enumerate(["officer", "commander", "observer", "informant"]):
        r = create(c, role=role, full_name=f"Người {i}", phone=f"098700020{i}", handler_id=str(officer_id))
        assert r.status_code == 200, (role, r.status_code)
    with app.app_context():
        assert U("+84987000203").informant.handler_id == officer_id


def test_lists_show_informants_by_alias_only(app, login_as):
    for who in ("officer", "commander"):
        html = login_as(who).get("/people/").get_data(as_text=True)
        assert "NT-0001" in html
        for s in SECRETS:
            assert s not in html, (who, s)
    with app.app_context():
        person_id = U(PHONES_E164["informant"]).id
    page = login_as("officer").get(f"/people/{person_id}").get_data(as_text=True)
    for s in SECRETS:
        assert s not in page


def test_officer_sees_and_manages_only_their_people(app, login_as):
    with app.app_context():
        mine = U(PHONES_E164["verifier"]).id
        theirs = U(PHONES_E164["verifier2"]).id
        informant = U(PHONES_E164["informant"]).id
    other = login_as("officer2")
    html = other.get("/people/").get_data(as_text=True)
    assert f"/people/{mine}\"" not in html and f"/people/{informant}\"" not in html
    assert f"/people/{theirs}\"" in html
    for url in (f"/people/{mine}", f"/people/{informant}"):
        assert other.get(url).status_code == 404
    for action in ("disable", "enable", "lost-phone", "code", "reveal", "place", "post"):
        assert other.post(f"/people/{mine}/{action}", data={"reason": "kiểm tra thử"}).status_code == 404
        assert other.post(f"/people/{informant}/{action}", data={"reason": "kiểm tra thử"}).status_code == 404
    with app.app_context():
        assert U(PHONES_E164["verifier"]).active


def test_disable_and_lost_phone_end_sessions(app, login_as):
    with app.app_context():
        vid = U(PHONES_E164["verifier"]).id
    verifier = login_as("verifier")
    officer = login_as("officer")
    assert officer.post(f"/people/{vid}/disable").status_code == 303
    assert verifier.get("/verifier/").status_code == 302
    assert officer.post(f"/people/{vid}/enable").status_code == 303
    verifier = login_as("verifier")
    r = officer.post(f"/people/{vid}/lost-phone")
    code = code_from(r.get_data(as_text=True))
    assert verifier.get("/verifier/").status_code == 302
    assert app.test_client().post("/login", data={"phone": PHONES["verifier"], "password": PASSWORD}).status_code == 401
    r = app.test_client().post(f"/activate/{code}", data={"password": "moi-moi-12", "confirm": "moi-moi-12"})
    assert r.status_code == 302


def test_identity_reveal_needs_a_reason_is_audited_and_only_for_handler_and_commander(app, login_as):
    with app.app_context():
        pid = U(PHONES_E164["informant"]).id
    officer = login_as("officer")
    r = officer.post(f"/people/{pid}/reveal", data={"reason": ""})
    assert r.status_code == 422 and "Nguyễn Văn An" not in r.get_data(as_text=True)
    r = officer.post(f"/people/{pid}/reveal", data={"reason": "Mời lên làm việc về tin báo ma túy"})
    html = r.get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "0900 000 010" in html
    assert "Nguyễn Văn An" not in officer.get(f"/people/{pid}").get_data(as_text=True)
    assert "Nguyễn Văn An" in login_as("commander").post(f"/people/{pid}/reveal", data={"reason": "Xét khen thưởng"}).get_data(as_text=True)
    for who in ("officer2", "verifier", "observer", "informant2"):
        assert login_as(who).post(f"/people/{pid}/reveal", data={"reason": "tò mò thôi mà"}).status_code == 404
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.reveal")).all()
        assert len(rows) == 2
        assert all("Nguyễn" not in str(r.data) and "0900" not in str(r.data) for r in rows)
        assert rows[0].data["reason"].startswith("Mời lên")


def test_handover_moves_villages_informants_and_queue(app, login_as):
    with app.app_context():
        leaving, receiving = U(PHONES_E164["officer"]).id, U(PHONES_E164["officer2"]).id
        open_codes = [t.code for t in db.session.scalars(
            select(Tip).join(Unit, Tip.village_id == Unit.id).where(Unit.officer_id == leaving,
                                                                  Tip.status.in_(TipStatus.OPEN)))]
    assert open_codes
    r = login_as("commander").post(f"/people/{leaving}/handover", data={"to_id": str(receiving), "disable": "y"})
    assert r.status_code == 303
    with app.app_context():
        assert U(PHONES_E164["officer"]).areas() == []
        assert not U(PHONES_E164["officer"]).active
        assert db.session.scalar(select(func.count(Informant.id)).where(Informant.handler_id == leaving)) == 0
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "officer.handover")).data["villages"] == 3
    queue = login_as("officer2").get("/officer/").get_data(as_text=True)
    assert all(code in queue for code in open_codes)
    assert login_as("officer2").get("/officer/").status_code == 200


def test_commander_sets_an_officers_villages(app, login_as):
    with app.app_context():
        oid = U(PHONES_E164["officer2"]).id
        v1 = village("Thôn Đồng Bé").id
    r = login_as("commander").post(f"/people/{oid}/areas", data={"village_ids": [str(v1)]})
    assert r.status_code == 303
    with app.app_context():
        assert [v.id for v in U(PHONES_E164["officer2"]).areas()] == [v1]
    assert login_as("officer").post(f"/people/{oid}/areas", data={"village_ids": [str(v1)]}).status_code == 404


def test_places_tree_watch_points_and_windows(app, login_as):
    officer = login_as("officer")
    html = officer.get("/places/").get_data(as_text=True)
    assert "Xã Tân Thành, Tỉnh Lạng Sơn" in html and "Chợ Tân Thành" in html and "Ngã tư Trung Tâm" not in html
    with app.app_context():
        mine, other = village("Thôn Hạ Lý").id, village("Thôn Trung Tâm").id
        cross = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Ngã tư Trung Tâm")).id
    assert officer.post(f"/places/villages/{mine}/points", data={"name": "Quán nhậu Hạ Lý", "kind": "eatery"}).status_code == 303
    assert officer.post(f"/places/villages/{other}/points", data={"name": "X", "kind": "eatery"}).status_code == 404
    assert officer.get(f"/places/points/{cross}").status_code == 404
    with app.app_context():
        pid = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Quán nhậu Hạ Lý")).id
    assert officer.post(f"/places/points/{pid}/windows", data={"starts": "20:00", "ends": "02:00", "label": "Đêm"}).status_code == 303
    bad = officer.post(f"/places/points/{pid}/windows", data={"starts": "25:99", "ends": "xx"})
    assert bad.status_code == 422 and "ví dụ 20:00" in bad.get_data(as_text=True)
    assert officer.post(f"/places/points/{pid}/windows", data={"starts": "20:00", "ends": "20:00"}).status_code == 422
    with app.app_context():
        windows = db.session.scalars(select(TimeWindow).where(TimeWindow.watch_point_id == pid)).all()
        assert [str(w) for w in windows] == ["20:00–02:00"]
    assert officer.post("/places/villages", data={"name": "Thôn Mới"}).status_code == 404
    c = login_as("commander")
    assert c.post("/places/villages", data={"name": "Thôn Mới"}).status_code == 303
    assert c.post(f"/places/villages/{other}/officer", data={"officer_id": "0"}).status_code == 303
    with app.app_context():
        assert village("Thôn Mới") is not None and village("Thôn Trung Tâm").officer_id is None


def test_commander_edits_categories(app, login_as):
    c = login_as("commander")
    assert c.post("/places/categories", data={"name": "Cháy nổ", "emoji": "🔥", "position": "20"}).status_code == 303
    from zaloan.models import Category

    with app.app_context():
        cat = db.session.scalar(select(Category).where(Category.name == "Cháy nổ"))
        cid = cat.id
    assert c.post(f"/places/categories/{cid}", data={"name": "Cháy, nổ", "emoji": "🔥", "position": "1"}).status_code == 303
    with app.app_context():
        cat = db.session.get(Category, cid)
        assert cat.name == "Cháy, nổ" and not cat.active
    assert "Cháy, nổ" not in login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert login_as("officer").get("/places/categories").status_code == 404
