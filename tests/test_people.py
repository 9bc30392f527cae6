"""Accounts: created by the commander and by officers with one-time codes, locked, lost phones, places,
the audited identity reveal, and the handover of an officer's area."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from zaloan import accounts, secrecy
from zaloan.extensions import db
from zaloan.models import (
    ActivationCode,
    AuditEvent,
    Informant,
    Role,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    User,
    WatchPoint,
)

from .conftest import PASSWORD, PHONES
from .helpers import U

# The demo informants' identity: never in a list, never on a page without the audited reveal.
IDENTITY = ("Nguyễn Văn An", "Trần Thị Bình", "0900 000 010", "+84900000010", "0900000010",
            "0900 000 011", "+84900000011", "0900000011")


def e164(who: str) -> str:
    return "+84" + PHONES[who][1:]


def uid(app, who: str) -> int:
    with app.app_context():
        return U(who).id


def village(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def point(name: str) -> WatchPoint:
    return db.session.scalar(select(WatchPoint).where(WatchPoint.name == name))


def post_of(name: str) -> str:
    """The form value of a watch point's first time window."""
    p = point(name)
    return f"{p.id}:{p.windows[0].id}"


def code_from(html: str) -> str:
    m = re.search(r'<p class="code big">([A-Z0-9]{4})-([A-Z0-9]{4})-([A-Z0-9]{4})</p>', html)
    assert m, "no activation code on the page"
    return "".join(m.groups())


def counts() -> tuple[int, int, int]:
    """Accounts, informant records and audit rows (logins aside): a refused change leaves all three as they were."""
    return (db.session.scalar(select(func.count(User.id))), db.session.scalar(select(func.count(Informant.id))),
            db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action.not_like("login%"))))


def audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def checked(html: str, name: str, value) -> bool:
    """Is the radio button or checkbox `name`=`value` ticked on the page?"""
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return " checked" in tag
    raise AssertionError(f"no input {name}={value}")


def radio_values(html: str, name: str) -> set[str]:
    return {m for tag in re.findall(r"<input[^>]*>", html) if f'name="{name}"' in tag
            for m in re.findall(r'value="([^"]*)"', tag)}


def activate(app, code: str, password: str = "tre-xanh-go-7"):
    c = app.test_client()
    return c, c.post(f"/activate/{code}", data={"password": password, "confirm": password})


HOMES = {"informant": "/informant/", "verifier": "/verifier/", "officer": "/officer/", "commander": "/commander/",
         "observer": "/observer/"}


# --- Creating accounts ---------------------------------------------------------------------------


def test_commander_creates_every_role_and_each_code_activates(app, login_as):
    c = login_as("commander")
    with app.app_context():
        v1, officer2 = village("Thôn Đồng Bé").id, U("officer2").id
        cross = post_of("Ngã tư Trung Tâm")
    forms = {
        "informant": {"handler_id": str(officer2), "posts": [cross]},
        "verifier": {"village_id": str(v1), "title": "front_head"},
        "officer": {"position": "Công an viên chính quy"},
        "commander": {"position": "Phó trưởng Công an xã"},
        "observer": {"position": "Ban Chỉ đạo 138 huyện"},
    }
    for n, (role, extra) in enumerate(forms.items()):
        phone = f"0987 000 10{n}"
        r = c.post("/people/new", data={"role": role, "full_name": f"Người Mới {n}", "phone": phone, **extra})
        html = r.get_data(as_text=True)
        assert r.status_code == 200, (role, html)
        code = code_from(html)
        assert f"http://localhost/activate/{code}" in html
        assert "72 giờ" in html and "điện thoại của chính mình" in html
        with app.app_context():
            person = U(f"+8498700010{n}")
            assert person.role == role and person.password_hash is None
            # The code is stored hashed only.
            row = db.session.scalar(select(ActivationCode).where(ActivationCode.user_id == person.id))
            assert row.code_hash == accounts.sha256(code) and code not in row.code_hash
        phone_client, r = activate(app, code)
        assert r.status_code == 302 and r.headers["Location"] == HOMES[role], role
        assert phone_client.get(HOMES[role]).status_code == 200
    with app.app_context():
        informant = U("+84987000100")
        assert informant.informant.handler_id == officer2
        assert [(p.watch_point.name, str(p.time_window)) for p in informant.informant.posts] == \
            [("Ngã tư Trung Tâm", "06:30–08:00")]
        verifier = U("+84987000101")
        assert (verifier.village_id, verifier.title) == (v1, "front_head")
        assert U("+84987000102").position == "Công an viên chính quy"
        assert len(audits("account.create")) == 8 + 5  # the demo's eight, then these five


def test_an_informants_creation_page_shows_the_alias_never_the_name(app, login_as):
    with app.app_context():
        market = post_of("Chợ Tân Thành")
    r = login_as("officer").post("/people/new", data={"role": "informant", "full_name": "Đỗ Thị Mai",
                                                      "phone": "0987000111", "posts": [market]})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Đỗ Thị Mai" not in html and "0987" not in html
    with app.app_context():
        inf = U("+84987000111").informant
        assert inf.alias in html and inf.handler_id == U("officer").id
        assert [p.watch_point.name for p in inf.posts] == ["Chợ Tân Thành"]


def test_officer_creates_informants_and_verifiers_of_their_own_villages(app, login_as):
    officer = login_as("officer")
    page = officer.get("/people/new").get_data(as_text=True)
    # Only the two roles an officer may create, only their villages and watch points.
    assert 'value="informant"' in page and 'value="verifier"' in page
    for hidden in ('value="officer"', 'value="commander"', 'value="observer"', "Thôn Trung Tâm", "Ngã tư Trung Tâm"):
        assert hidden not in page
    with app.app_context():
        v3 = village("Thôn Hạ Lý").id
        karaoke = post_of("Phố karaoke Tân Lập")
        karaoke_any = f"{point('Phố karaoke Tân Lập').id}:"
    r = officer.post("/people/new", data={"role": "verifier", "full_name": "Lò Văn Tám", "phone": "0912345678",
                                          "village_id": str(v3), "title": "part_time_police"})
    assert r.status_code == 200
    code = code_from(r.get_data(as_text=True))
    r = officer.post("/people/new", data={"role": "informant", "full_name": "Hà Thị Chín", "phone": "0912345679",
                                          "posts": [karaoke]})
    assert r.status_code == 200
    with app.app_context():
        verifier = U("+84912345678")
        assert (verifier.role, verifier.village_id, verifier.title) == ("verifier", v3, "part_time_police")
        assert U("+84912345679").informant.handler_id == U("officer").id
    offered = radio_values(page, "posts")
    assert karaoke in offered and karaoke_any not in offered  # a point with time windows is chosen by window
    _, r = activate(app, code)
    assert r.headers["Location"] == "/verifier/"


@pytest.mark.parametrize("data,message", [
    ({"role": "commander"}, "vai trò mà đồng chí được phép tạo"),
    ({"role": "officer"}, "vai trò mà đồng chí được phép tạo"),
    ({"role": "observer"}, "vai trò mà đồng chí được phép tạo"),
    ({"role": "nobody"}, "vai trò mà đồng chí được phép tạo"),
    ({"village_id": "@other_village"}, "thôn do đồng chí phụ trách"),
    ({"village_id": "999999"}, "thôn do đồng chí phụ trách"),
    ({"village_id": "abc"}, "thôn do đồng chí phụ trách"),
    ({"village_id": ""}, "thôn do đồng chí phụ trách"),
    ({"title": "chief"}, "chức danh"),
    ({"phone": "12345"}, "Đây không phải số điện thoại Việt Nam hợp lệ."),
    ({"phone": "+1 415 555 0100"}, "Đây không phải số điện thoại Việt Nam hợp lệ."),
    ({"phone": ""}, "Vui lòng nhập số điện thoại."),
    ({"full_name": "  "}, "Vui lòng nhập tên."),
    ({"role": "informant", "posts": ["@other_post"]}, "điểm nắm tình hình thuộc thôn của đồng chí"),
    ({"role": "informant", "posts": ["@mine_post"], "handler_id": "@officer2"}, "do chính đồng chí phụ trách"),
    ({"role": "informant", "posts": []}, "Vui lòng chọn ít nhất một điểm nắm tình hình."),
    ({"role": "informant", "posts": ["1:999999"]}, "điểm nắm tình hình thuộc thôn của đồng chí"),
])
def test_officer_tampered_or_bad_creation_is_refused_on_its_field_and_changes_nothing(app, login_as, data, message):
    with app.app_context():
        subst = {"@other_village": str(village("Thôn Trung Tâm").id), "@other_post": post_of("Ngã tư Trung Tâm"),
                 "@mine_post": post_of("Chợ Tân Thành"), "@officer2": str(U("officer2").id)}
        mine = village("Thôn Đồng Bé").id
        before = counts()
    form = {"role": "verifier", "full_name": "Lê Văn Mới", "phone": "0912 345 678", "village_id": str(mine),
            "title": "village_head"}
    for key, value in data.items():
        form[key] = [subst.get(v, v) for v in value] if isinstance(value, list) else subst.get(value, value)
    r = login_as("officer").post("/people/new", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message in html
    assert 'class="err"' in html and "Not a valid" not in html  # plain Vietnamese on the field
    assert "class=\"code" not in html
    with app.app_context():
        assert counts() == before


def phone_errors(html: str) -> list[str]:
    return re.findall(r'<p class="err" role="alert">([^<]*)</p>', html)


def test_a_phone_that_has_an_account_is_refused_without_saying_whose_and_the_attempt_is_audited(app, login_as):
    """Someone else's number (an informant, a verifier, the commander, another officer): the same neutral words."""
    with app.app_context():
        mine = str(village("Thôn Đồng Bé").id)
        before = db.session.scalar(select(func.count(User.id)))
        existing = {who: (U(who).id, U(who).full_name) for who in ("informant", "verifier", "commander", "officer2")}
        officer_id, commander_id = U("officer").id, U("commander").id
    officer = login_as("officer")
    said = set()
    for who, (_id, name) in existing.items():
        r = officer.post("/people/new", data={"role": "verifier", "full_name": "Lê Văn Mới", "phone": PHONES[who],
                                              "village_id": mine, "title": "village_head"})
        html = r.get_data(as_text=True)
        assert r.status_code == 422
        errors = phone_errors(html)
        assert errors == ["Số điện thoại này không dùng được. Đồng chí hãy kiểm tra lại hoặc hỏi Trưởng Công an xã."]
        said.add(errors[0])
        assert name not in html and "NT-0" not in html
        assert "đã có tài khoản" not in html and "class=\"code" not in html
    assert len(said) == 1  # the same words whoever has the number: nothing tells the role
    commander = login_as("commander")
    r = commander.post("/people/new", data={"role": "observer", "full_name": "Lê Văn Mới", "phone": PHONES["informant"]})
    assert phone_errors(r.get_data(as_text=True)) == [
        "Số điện thoại này không dùng được. Đồng chí hãy kiểm tra lại; Nhật ký hệ thống ghi rõ lý do."]
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == before
        refused = audits("account.create_refused")
        assert [(a.actor_id, a.target_id) for a in refused] == [
            (officer_id, existing["informant"][0]), (officer_id, existing["verifier"][0]),
            (officer_id, existing["commander"][0]), (officer_id, existing["officer2"][0]),
            (commander_id, existing["informant"][0])]
        assert all(PHONES["informant"][1:] not in str(a.data) for a in refused)
    # The commander reads who has the number; an informant by alias only.
    log = commander.get("/audit/", query_string={"topic": "account"}).get_data(as_text=True)
    assert "định tạo tài khoản bằng số điện thoại của NT-0001" in log
    assert "Nguyễn Văn An" not in log


def test_a_phone_with_an_account_in_another_commune_is_refused_alike_and_the_log_does_not_name_them(app, login_as):
    from zaloan import audit_words
    from zaloan.models import UnitKind

    with app.app_context():
        here = U("officer").commune
        there = Unit(kind=UnitKind.COMMUNE, name="Xã Bên Cạnh", parent_id=here.parent_id)
        db.session.add(there)
        db.session.flush()
        accounts.create_user(by=None, phone="0977000111", full_name="Đỗ Thị Xa", role=Role.OFFICER, commune=there)
        db.session.commit()
        mine = str(village("Thôn Đồng Bé").id)
    r = login_as("officer").post("/people/new", data={"role": "verifier", "full_name": "Lê Văn Mới",
                                                      "phone": "0977 000 111", "village_id": mine,
                                                      "title": "village_head"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Đỗ Thị Xa" not in html
    assert phone_errors(html) == [
        "Số điện thoại này không dùng được. Đồng chí hãy kiểm tra lại hoặc hỏi Trưởng Công an xã."]
    with app.test_request_context():
        [row] = audits("account.create_refused")
        assert row.target_id is None and row.commune_id == U("officer").commune_id
        words = audit_words.sentence(row)
        assert "ở xã khác" in words and "Đỗ Thị Xa" not in words


def test_the_new_account_form_keeps_only_the_roles_own_fields(app, login_as):
    """A verifier's village posted with an officer is ignored, not stored."""
    with app.app_context():
        v1 = village("Thôn Đồng Bé").id
    r = login_as("commander").post("/people/new", data={
        "role": "officer", "full_name": "Cán Bộ Mới", "phone": "0987000333", "village_id": str(v1),
        "title": "village_head", "position": "Công an viên"})
    assert r.status_code == 200
    with app.app_context():
        p = U("+84987000333")
        assert (p.role, p.village_id, p.title, p.informant) == ("officer", None, None, None)


def test_the_creation_form_preselects_a_role_and_ignores_a_strange_one(app, login_as):
    c = login_as("commander")
    assert checked(c.get("/people/new?role=observer").get_data(as_text=True), "role", "observer")
    page = c.get("/people/new?role=<script>").get_data(as_text=True)
    assert not any(checked(page, "role", r) for r in Role.COMMUNE) and "<script>" not in page
    # An officer has two roles to choose from; a role they may not create is not offered.
    page = login_as("officer").get("/people/new?role=commander").get_data(as_text=True)
    assert radio_values(page, "role") == {"informant", "verifier"}
    assert not any(checked(page, "role", r) for r in Role.OFFICER_MANAGES)


# --- Lists: informants by alias only -------------------------------------------------------------


def test_informant_lists_never_show_names_or_phones(app, login_as):
    with app.app_context():
        v1 = village("Thôn Đồng Bé").id
    for who in ("officer", "commander"):
        c = login_as(who)
        for url in ("/people/", "/people/?role=informant", f"/people/?village={v1}",
                    f"/people/?role=informant&village={v1}"):
            html = c.get(url).get_data(as_text=True)
            assert "NT-0001" in html and "NT-0002" in html, (who, url)
            for secret in IDENTITY:
                assert secret not in html, (who, url, secret)


def test_officer_lists_only_their_informants_and_their_villages_verifiers(app, login_as):
    ids = {w: uid(app, w) for w in ("informant", "informant2", "verifier", "verifier2", "officer2", "commander",
                                    "observer")}
    mine = login_as("officer").get("/people/").get_data(as_text=True)
    for w in ("informant", "informant2", "verifier"):
        assert f'/people/{ids[w]}"' in mine, w
    for w in ("verifier2", "officer2", "commander", "observer"):
        assert f'/people/{ids[w]}"' not in mine, w
    assert "Đinh Văn Dũng" not in mine and "Vi Thị Hoa" not in mine
    theirs = login_as("officer2").get("/people/").get_data(as_text=True)
    assert f'/people/{ids["verifier2"]}"' in theirs
    for w in ("informant", "informant2", "verifier"):
        assert f'/people/{ids[w]}"' not in theirs, w
    assert "NT-0001" not in theirs and "Hoàng Văn Cường" not in theirs
    everyone = login_as("commander").get("/people/").get_data(as_text=True)
    for w in ("informant", "informant2", "verifier", "verifier2", "officer2", "observer"):
        assert f'/people/{ids[w]}"' in everyone, w
    assert "Lương Văn Hùng" in everyone and f'/people/{ids["commander"]}"' not in everyone  # themselves, no link


def test_list_filters_by_role_and_village(app, login_as):
    with app.app_context():
        v1, v4 = village("Thôn Đồng Bé").id, village("Thôn Trung Tâm").id
    c = login_as("commander")
    html = c.get(f"/people/?role=verifier&village={v1}").get_data(as_text=True)
    assert "Hoàng Văn Cường" in html and "Đinh Văn Dũng" not in html and "NT-0001" not in html
    html = c.get(f"/people/?village={v4}").get_data(as_text=True)
    assert "Đinh Văn Dũng" in html and "Vi Thị Hoa" in html and "Hoàng Văn Cường" not in html
    html = c.get("/people/?role=officer").get_data(as_text=True)
    assert "Phạm Minh Đức" in html and "Hoàng Văn Cường" not in html
    # An officer filtering by another officer's village sees their own people, unfiltered; never the others'.
    html = login_as("officer").get(f"/people/?village={v4}&role=commander").get_data(as_text=True)
    assert "Đinh Văn Dũng" not in html and "Hoàng Văn Cường" in html


def test_the_list_says_who_is_locked_and_who_waits_for_activation(app, login_as):
    c = login_as("commander")
    c.post("/people/new", data={"role": "observer", "full_name": "Chờ Kích Hoạt", "phone": "0987000444"})
    c.post(f"/people/{uid(app, 'verifier2')}/disable")
    html = c.get("/people/").get_data(as_text=True)
    waiting = html.split("Chờ Kích Hoạt")[1].split("</li>")[0]
    locked = html.split("Đinh Văn Dũng")[1].split("</li>")[0]
    assert "Chờ kích hoạt" in waiting and "Đã khóa" in locked


# --- Who may manage whom -------------------------------------------------------------------------


ACTIONS = ("disable", "enable", "lost-phone", "code", "place", "post", "reveal", "areas", "handover")


def test_another_officers_people_answer_404_everywhere_and_nothing_changes(app, login_as):
    with app.app_context():
        v4 = str(village("Thôn Trung Tâm").id)
        targets = [U(w).id for w in ("verifier", "informant", "informant2", "officer", "commander", "observer")]
        before = counts()
    other = login_as("officer2")
    for person_id in targets:
        assert other.get(f"/people/{person_id}").status_code == 404
        assert other.get(f"/people/{person_id}/handover").status_code == 404
        for action in ACTIONS:
            r = other.post(f"/people/{person_id}/{action}", data={
                "reason": "chỉ xem thử thôi", "village_id": v4, "title": "village_head", "posts": [],
                "village_ids": [v4], "to_id": str(person_id)})
            assert r.status_code == 404, (person_id, action)
            assert "Nguyễn Văn An" not in r.get_data(as_text=True)
    with app.app_context():
        assert counts() == before
        assert U("verifier").active and U("verifier").village_id == village("Thôn Đồng Bé").id


def test_verifiers_observers_and_informants_cannot_open_people_pages(app, login_as):
    vid = uid(app, "verifier2")
    for who in ("verifier", "observer", "informant"):
        c = login_as(who)
        assert c.get("/people/").status_code == 404
        assert c.get("/people/new").status_code == 404
        assert c.get(f"/people/{vid}").status_code == 404
        assert c.post(f"/people/{vid}/disable").status_code == 404
    with app.app_context():
        assert U("verifier2").active


def test_nobody_locks_themselves(app, login_as):
    c = login_as("commander")
    assert c.post(f"/people/{uid(app, 'commander')}/disable").status_code == 404
    with app.app_context():
        me = U("commander")
        assert me.active
        with pytest.raises(accounts.AccountError):
            accounts.disable(me, by=me)
    assert c.get("/commander/").status_code == 200


# --- Lock, unlock, lost phone, new code ----------------------------------------------------------


def test_lock_refuses_the_existing_session_and_unlock_lets_the_person_back(app, login_as):
    vid = uid(app, "verifier")
    phone = login_as("verifier")
    assert phone.get("/verifier/").status_code == 200
    officer = login_as("officer")
    r = officer.post(f"/people/{vid}/disable")
    assert r.status_code == 303 and r.headers["Location"] == f"/people/{vid}"
    r = phone.get("/verifier/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    refused = app.test_client().post("/login", data={"phone": PHONES["verifier"], "password": PASSWORD})
    assert refused.status_code == 401
    assert "Đã khóa" in officer.get(f"/people/{vid}").get_data(as_text=True)
    assert officer.post(f"/people/{vid}/enable").status_code == 303
    assert login_as("verifier").get("/verifier/").status_code == 200
    with app.app_context():
        assert [a.target_id for a in audits("account.disable")] == [vid]
        assert [a.target_id for a in audits("account.enable")] == [vid]


def test_lost_phone_ends_sessions_and_password_and_the_new_code_works(app, login_as):
    iid = uid(app, "informant")
    phone = login_as("informant")
    r = login_as("officer").post(f"/people/{iid}/lost-phone",
                                 data={"kind": "lost_phone", "reason": "Gọi điện báo mất máy ở chợ sáng nay"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    code = code_from(html)
    for secret in IDENTITY:
        assert secret not in html
    assert phone.get("/informant/").status_code == 302  # the old phone is logged out
    old = app.test_client().post("/login", data={"phone": PHONES["informant"], "password": PASSWORD})
    assert old.status_code == 401  # and its password is gone
    new_phone, r = activate(app, code, "nuoc-mat-troi-5")
    assert r.status_code == 302 and r.headers["Location"] == "/informant/"
    assert new_phone.get("/informant/").status_code == 200
    assert app.test_client().post("/login", data={"phone": PHONES["informant"],
                                                  "password": "nuoc-mat-troi-5"}).status_code == 302


def test_a_new_code_replaces_the_old_one_for_someone_not_yet_activated(app, login_as):
    c = login_as("commander")
    with app.app_context():
        v1 = village("Thôn Đồng Bé").id
    r = c.post("/people/new", data={"role": "verifier", "full_name": "Chưa Kích Hoạt", "phone": "0987000555",
                                    "village_id": str(v1), "title": "village_head"})
    first = code_from(r.get_data(as_text=True))
    with app.app_context():
        pid = U("+84987000555").id
    assert "Chờ kích hoạt" in c.get(f"/people/{pid}").get_data(as_text=True)
    r = c.post(f"/people/{pid}/code")
    second = code_from(r.get_data(as_text=True))
    assert second != first
    assert app.test_client().get(f"/activate/{first}").status_code == 404
    _, r = activate(app, second)
    assert r.status_code == 302
    # The code is shown on that response only.
    assert first not in c.get(f"/people/{pid}").get_data(as_text=True)
    assert second not in c.get(f"/people/{pid}").get_data(as_text=True)


def test_a_locked_account_gets_no_code(app, login_as):
    vid = uid(app, "verifier")
    c = login_as("officer")
    c.post(f"/people/{vid}/disable")
    for action in ("code", "lost-phone"):
        r = c.post(f"/people/{vid}/{action}")
        assert r.status_code == 409 and 'class="code' not in r.get_data(as_text=True)
        assert "mở khóa" in r.get_data(as_text=True)
    with app.app_context():
        assert audits("account.activation_issued") == []


# --- Changing places -----------------------------------------------------------------------------


def test_officer_moves_their_verifier_within_their_villages_only(app, login_as):
    vid = uid(app, "verifier")
    with app.app_context():
        v3, v4 = village("Thôn Hạ Lý").id, village("Thôn Trung Tâm").id
    c = login_as("officer")
    r = c.post(f"/people/{vid}/place", data={"village_id": str(v4), "title": "village_head"})
    assert r.status_code == 422 and "thôn do đồng chí phụ trách" in r.get_data(as_text=True)
    r = c.post(f"/people/{vid}/place", data={"village_id": str(v3), "title": "mayor"})
    assert r.status_code == 422 and "chức danh" in r.get_data(as_text=True)
    with app.app_context():
        assert U("verifier").village.name == "Thôn Đồng Bé"
    r = c.post(f"/people/{vid}/place", data={"village_id": str(v3), "title": "part_time_police"})
    assert r.status_code == 303
    with app.app_context():
        assert (U("verifier").village_id, U("verifier").title) == (v3, "part_time_police")
        assert audits("verifier.place")[-1].data == {"village": v3, "was": village("Thôn Đồng Bé").id,
                                                     "title": "part_time_police"}


def test_officer_changes_their_informants_watch_points_but_not_the_handler(app, login_as):
    iid = uid(app, "informant")
    with app.app_context():
        market, karaoke, cross = post_of("Chợ Tân Thành"), post_of("Phố karaoke Tân Lập"), post_of("Ngã tư Trung Tâm")
        officer2 = str(U("officer2").id)
    c = login_as("officer")
    page = c.get(f"/people/{iid}").get_data(as_text=True)
    assert checked(page, "posts", market) and 'name="handler_id"' not in page
    for data in ({"posts": [cross]}, {"posts": [market], "handler_id": officer2}, {"posts": []}):
        assert c.post(f"/people/{iid}/post", data=data).status_code == 422
    with app.app_context():
        assert U("informant").informant.handler_id == U("officer").id
    assert c.post(f"/people/{iid}/post", data={"posts": [market, karaoke]}).status_code == 303
    with app.app_context():
        names = sorted(p.watch_point.name for p in U("informant").informant.posts)
        assert names == ["Chợ Tân Thành", "Phố karaoke Tân Lập"]


def test_commander_gives_an_informant_to_another_officer(app, login_as):
    iid = uid(app, "informant")
    with app.app_context():
        market, officer2 = post_of("Chợ Tân Thành"), U("officer2").id
        verifier = str(U("verifier").id)
    c = login_as("commander")
    assert c.post(f"/people/{iid}/post", data={"posts": [market], "handler_id": verifier}).status_code == 422
    assert c.post(f"/people/{iid}/post", data={"posts": [market], "handler_id": str(officer2)}).status_code == 303
    with app.app_context():
        assert U("informant").informant.handler_id == officer2
        assert audits("informant.handler")[-1].data == {"handler": officer2, "was": U("officer").id}
    assert f'/people/{iid}"' in login_as("officer2").get("/people/").get_data(as_text=True)
    assert login_as("officer").get(f"/people/{iid}").status_code == 404


def test_commander_sets_an_officers_villages(app, login_as):
    oid = uid(app, "officer2")
    with app.app_context():
        v1, v4 = village("Thôn Đồng Bé").id, village("Thôn Trung Tâm").id
    c = login_as("commander")
    assert c.post(f"/people/{oid}/areas", data={"village_ids": ["999999"]}).status_code == 422
    assert c.post(f"/people/{oid}/areas", data={"village_ids": [str(v1), str(v4)]}).status_code == 303
    with app.app_context():
        assert sorted(v.id for v in U("officer2").areas()) == sorted([v1, v4])
        assert village("Thôn Đồng Bé").officer_id == oid  # taken from the first officer
        assert audits("officer.villages")[-1].data["added"] == [v1]
    assert login_as("officer").post(f"/people/{oid}/areas", data={"village_ids": [str(v1)]}).status_code == 404


# --- Informant identity --------------------------------------------------------------------------


def test_identity_is_shown_to_the_handler_for_a_reason_once_and_audited(app, login_as):
    iid = uid(app, "informant")
    with app.app_context():
        inf_id = U("informant").informant.id
    officer = login_as("officer")
    page = officer.get(f"/people/{iid}").get_data(as_text=True)
    assert "Xem danh tính" in page
    for secret in IDENTITY:
        assert secret not in page
    for reason in ("", "   ", "abc"):
        r = officer.post(f"/people/{iid}/reveal", data={"reason": reason})
        assert r.status_code == 422 and "Vui lòng nêu lý do" in r.get_data(as_text=True)
        assert "Nguyễn Văn An" not in r.get_data(as_text=True)
    r = officer.post(f"/people/{iid}/reveal", data={"reason": "Mời lên làm việc về tin báo ma túy"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Nguyễn Văn An" in html and "0900 000 010" in html
    assert "Trần Thị Bình" not in html
    assert r.headers["Cache-Control"] == "no-store"
    assert "Nguyễn Văn An" not in officer.get(f"/people/{iid}").get_data(as_text=True)
    with app.app_context():
        [row] = audits("identity.reveal")
        assert (row.actor_id, row.target_type, row.target_id) == (U("officer").id, "informant", inf_id)
        assert row.data["reason"] == "Mời lên làm việc về tin báo ma túy"
        assert not any(s in str(row.data) for s in ("Nguyễn", "0900", "+8490"))


def test_identity_reveal_is_for_the_handler_and_the_commander_only(app, login_as):
    iid, vid = uid(app, "informant"), uid(app, "verifier")
    r = login_as("commander").post(f"/people/{iid}/reveal", data={"reason": "Xét khen thưởng cuối năm"})
    assert "Nguyễn Văn An" in r.get_data(as_text=True)
    for who in ("officer2", "verifier", "observer", "informant2", "informant"):
        r = login_as(who).post(f"/people/{iid}/reveal", data={"reason": "tò mò muốn biết"})
        assert r.status_code == 404, who
        assert "Nguyễn Văn An" not in r.get_data(as_text=True)
    # A verifier has no alias to reveal; the form is not even offered to another officer.
    assert login_as("commander").post(f"/people/{vid}/reveal", data={"reason": "xem thử thôi"}).status_code == 404
    with app.app_context():
        assert [r.actor_id for r in audits("identity.reveal")] == [U("commander").id]
        informant = U("informant").informant
        for who in ("officer2", "verifier", "observer"):
            with pytest.raises(secrecy.NotAllowed):
                secrecy.reveal_identity(U(who), informant, "một lý do đủ dài")
        assert len(audits("identity.reveal")) == 1


# --- Handover ------------------------------------------------------------------------------------


def open_codes_of(officer_id: int) -> list[str]:
    return sorted(db.session.scalars(
        select(Tip.code).join(Unit, Tip.village_id == Unit.id)
        .where(Unit.officer_id == officer_id, Tip.status.in_(TipStatus.OPEN))
    ))


def test_handover_shows_what_will_move_then_moves_it_in_one_step(app, login_as):
    leaving, receiving = uid(app, "officer"), uid(app, "officer2")
    with app.app_context():
        codes = open_codes_of(leaving)
        before = counts()
    assert codes
    old_officer = login_as("officer")
    c = login_as("commander")
    page = c.get(f"/people/{leaving}/handover").get_data(as_text=True)
    for text in ("Thôn Đồng Bé", "Thôn Tân Lập", "Thôn Hạ Lý", "NT-0001", "NT-0002", *codes):
        assert text in page
    assert "Nguyễn Văn An" not in page and "Phạm Minh Đức" in page
    assert radio_values(page, "to_id") == {str(receiving)}
    with app.app_context():
        assert counts() == before  # looking changes nothing
    r = c.post(f"/people/{leaving}/handover", data={"to_id": str(receiving)})
    assert r.status_code == 303 and r.headers["Location"] == f"/people/{receiving}"
    with app.app_context():
        assert U("officer").areas() == [] and U("officer").active
        assert len(U("officer2").areas()) == 6
        assert db.session.scalar(select(func.count(Informant.id)).where(Informant.handler_id == leaving)) == 0
        assert open_codes_of(leaving) == [] and set(codes) <= set(open_codes_of(receiving))
        [row] = audits("officer.handover")
        assert row.target_id == leaving and row.data == {"to": receiving, "villages": 3, "informants": 2,
                                                         "open_tips": len(codes)}
        moved = db.session.scalars(select(TipEvent).where(TipEvent.kind == "handed_over")).all()
        assert sorted(e.tip.code for e in moved) == codes
    old_queue = old_officer.get("/officer/").get_data(as_text=True)
    assert not any(code in old_queue for code in codes)
    new_queue = login_as("officer2").get("/officer/").get_data(as_text=True)
    assert all(code in new_queue for code in codes)
    assert "NT-0001" in login_as("officer2").get("/people/").get_data(as_text=True)
    assert old_officer.get(f"/people/{uid(app, 'informant')}").status_code == 404


def test_handover_can_lock_the_leaving_officer_in_the_same_step(app, login_as):
    leaving, receiving = uid(app, "officer"), uid(app, "officer2")
    old_officer = login_as("officer")
    r = login_as("commander").post(f"/people/{leaving}/handover", data={"to_id": str(receiving), "disable": "y"})
    assert r.status_code == 303
    assert old_officer.get("/officer/").status_code == 302
    with app.app_context():
        assert not U("officer").active
        assert audits("officer.handover")[0].data["disabled"] is True


@pytest.mark.parametrize("to", ["@leaving", "@verifier", "@commander", "999999", "abc", ""])
def test_handover_to_anyone_but_another_active_officer_is_refused(app, login_as, to):
    ids = {"@leaving": uid(app, "officer"), "@verifier": uid(app, "verifier"), "@commander": uid(app, "commander")}
    with app.app_context():
        before = counts()
    r = login_as("commander").post(f"/people/{ids['@leaving']}/handover",
                                   data={"to_id": str(ids.get(to, to)), "disable": "y"})
    assert r.status_code == 422 and "cán bộ khác đang hoạt động" in r.get_data(as_text=True)
    with app.app_context():
        assert counts() == before and U("officer").active and len(U("officer").areas()) == 3


def test_the_handover_function_itself_refuses_the_wrong_people(app):
    with app.app_context():
        officer, officer2, commander, verifier = U("officer"), U("officer2"), U("commander"), U("verifier")
        for args in ((officer, officer2, officer2), (officer, officer, commander), (officer, verifier, commander),
                     (verifier, officer2, commander)):
            with pytest.raises(accounts.AccountError):
                accounts.handover(*args)
        assert len(officer.areas()) == 3 and not audits("officer.handover")
        counts = accounts.handover(officer, officer2, commander)
        assert counts["villages"] == 3 and counts["informants"] == 2


def test_handover_is_for_officers_and_by_the_commander_only(app, login_as):
    c = login_as("commander")
    assert c.get(f"/people/{uid(app, 'verifier')}/handover").status_code == 404
    assert c.get(f"/people/{uid(app, 'commander')}/handover").status_code == 404
    o = login_as("officer2")
    assert o.get(f"/people/{uid(app, 'officer')}/handover").status_code == 404
    r = o.post(f"/people/{uid(app, 'officer')}/handover", data={"to_id": str(uid(app, "officer2"))})
    assert r.status_code == 404
    with app.app_context():
        assert len(U("officer").areas()) == 3


# --- Bad input -----------------------------------------------------------------------------------

JUNK = ["", "0", "-1", "abc", "999999999999999999999", "1:2:3", ":", "x" * 5000, "<script>alert(1)</script>",
        "' OR 1=1 --", "\u0000"]


def test_bad_input_never_gives_a_server_error(app, login_as):
    ids = [uid(app, w) for w in ("informant", "verifier", "officer2", "observer")]
    for who in ("commander", "officer"):
        c = login_as(who)
        for junk in JUNK:
            fields = {k: junk for k in ("role", "full_name", "phone", "village_id", "title", "handler_id",
                                        "position", "reason", "to_id")}
            fields.update(posts=[junk, junk], village_ids=[junk])
            r = c.post("/people/new", data=fields)
            assert r.status_code in (200, 422), (who, junk, r.status_code)
            assert c.get("/people/", query_string={"role": junk, "village": junk}).status_code == 200
            assert c.get("/people/new", query_string={"role": junk}).status_code == 200
        for url in ("/people/99999999999999999999", "/people/0", "/people/99999999999999999999/handover"):
            assert c.get(url).status_code == 404
            for person_id in ids:
                for action in ACTIONS:
                    r = c.post(f"/people/{person_id}/{action}", data=fields)
                    assert r.status_code < 500, (who, junk, person_id, action, r.status_code)


def test_control_characters_are_dropped_from_names(app, login_as):
    r = login_as("commander").post("/people/new", data={"role": "observer", "full_name": "Ban\x00 Chỉ đạo\x07",
                                                        "phone": "0987000666", "position": "\x00"})
    assert r.status_code == 200
    with app.app_context():
        assert (U("+84987000666").full_name, U("+84987000666").position) == ("Ban Chỉ đạo", "")


# --- A retried "create account" ------------------------------------------------------------------


def test_a_retried_create_makes_one_account_and_never_a_second_code_silently(app, login_as):
    c = login_as("officer")
    assert 'name="client_key"' in c.get("/people/new").get_data(as_text=True)
    with app.app_context():
        market = post_of("Chợ Tân Thành")
    data = {"role": "informant", "full_name": "Đỗ Thị Mai", "phone": "0987000222", "posts": [market],
            "client_key": "person-key-0001"}
    first = c.post("/people/new", data=data)
    code = code_from(first.get_data(as_text=True))
    again = c.post("/people/new", data=data)
    html = again.get_data(as_text=True)
    # Not "this phone number already has an account": the same result page, for the same person...
    assert again.status_code == 200 and "Đã tạo tài khoản" in html
    assert "Số điện thoại này đã có tài khoản." not in html
    with app.app_context():
        person = U("+84987000222")
        assert person.informant.alias in html
        assert db.session.scalar(select(func.count(User.id)).where(User.phone == "+84987000222")) == 1
        assert len(person.informant.posts) == 1
        assert len(audits("account.create")) == 8 + 1
        # ... without a new code behind the officer's back: the first one still works.
        assert len(audits("account.activation_issued")) == 1
        pid = person.id
    assert '<p class="code big">' not in html
    assert f'action="/people/{pid}/code"' in html  # a new code is one deliberate tap away
    _phone, r = activate(app, code)
    assert r.status_code == 302
    # Once the person has activated, a retry says so and offers no new code.
    html = c.post("/people/new", data=data).get_data(as_text=True)
    assert f'action="/people/{pid}/code"' not in html and "đã tự đặt mật khẩu" in html


def test_a_reused_create_key_with_another_phone_is_refused(app, login_as):
    c = login_as("commander")
    data = {"role": "observer", "full_name": "Người Quan Sát", "phone": "0987000333", "client_key": "person-key-0002"}
    assert c.post("/people/new", data=data).status_code == 200
    r = c.post("/people/new", data={**data, "phone": "0987000334"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "đã đến nơi, với nội dung khác" in html
    assert 'value="person-key-0002"' not in html
    with app.app_context():
        assert U("+84987000334") is None


def test_concurrent_double_taps_make_one_account(app, login_as):
    import threading

    clients = [login_as("commander") for _ in range(4)]
    statuses, start = [], threading.Barrier(4)

    def post(c):
        start.wait()
        statuses.append(c.post("/people/new", data={"role": "observer", "full_name": "Bấm Hai Lần",
                                                    "phone": "0987000555", "client_key": "race-person-01"}).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.phone == "+84987000555")) == 1
        assert len(audits("account.activation_issued")) == 1


def test_a_reload_after_show_identity_shows_the_person_again_with_identity_hidden(app, login_as):
    iid = uid(app, "informant")
    officer = login_as("officer")
    r = officer.post(f"/people/{iid}/reveal", data={"reason": "Mời lên làm việc về tin báo ma túy"})
    assert r.status_code == 200 and "Nguyễn Văn An" in r.get_data(as_text=True)
    with app.app_context():
        before = counts()
    # The address bar still says /people/N/reveal: a reload or Back asks for it with GET.
    for path in ("reveal", "code", "lost-phone"):
        for headers in ({}, {"HX-Request": "true", "HX-History-Restore-Request": "true"}):
            r = officer.get(f"/people/{iid}/{path}", headers=headers)
            assert r.status_code == 303 and r.headers["Location"] == f"/people/{iid}"
    page = officer.get(f"/people/{iid}/reveal", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Trang này không có" not in html
    assert not any(x in html for x in IDENTITY) and '<p class="code big">' not in html
    with app.app_context():
        assert counts() == before  # nothing revealed, no code issued, nothing recorded
    # Still nobody else's: another officer gets the same 404 as for the page itself.
    assert login_as("officer2").get(f"/people/{iid}/reveal").status_code == 404


BASE = "https://zaloan.example.vn"


@pytest.mark.parametrize("app_config", [{"BASE_URL": BASE + "/"}])
def test_activation_links_come_from_base_url_never_from_the_host_header(app):
    c = app.test_client()
    r = c.post("/login", data={"phone": PHONES["commander"], "password": PASSWORD}, base_url=BASE)
    assert r.status_code == 302
    new = {"role": "observer", "full_name": "Người Quan Sát", "phone": "0987 000 200", "position": "Ban Chỉ đạo 138"}
    # Through a proxy that did not say the request came over HTTPS: the link is still the configured one.
    r = c.post("/people/new", data=new, base_url="http://zaloan.example.vn")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and f"{BASE}/activate/{code_from(html)}" in html
    # A forged Host header is refused before anything is made, and never reaches a link.
    for host in ("evil.example", "evil.example:443", "x.zaloan.example.vn"):
        r = c.post("/people/new", data={**new, "phone": "0987 000 201"}, base_url=BASE, headers={"Host": host})
        assert r.status_code == 400 and "evil" not in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.phone == "+84987000201")) is None
    # A new code for an existing person goes through the same link.
    with app.app_context():
        person_id = U("+84987000200").id
    r = c.post(f"/people/{person_id}/code", base_url="http://zaloan.example.vn")
    assert f"{BASE}/activate/" in r.get_data(as_text=True)


def test_without_base_url_links_use_the_address_the_page_was_opened_at(app):
    """Development: no BASE_URL, any host answers and the link follows it (docs/DEPLOY.md says to set it)."""
    c = app.test_client()
    c.post("/login", data={"phone": PHONES["commander"], "password": PASSWORD}, base_url="http://192.168.1.5:5000")
    new = {"role": "observer", "full_name": "Người Quan Sát", "phone": "0987 000 202", "position": "Ban Chỉ đạo 138"}
    html = c.post("/people/new", data=new, base_url="http://192.168.1.5:5000").get_data(as_text=True)
    assert f"http://192.168.1.5:5000/activate/{code_from(html)}" in html


@pytest.mark.parametrize("app_config", [{"BASE_URL": BASE}])
def test_cli_activation_link_uses_base_url(app):
    result = app.test_cli_runner().invoke(args=["create-commander", "--phone", "0987 654 322", "--name", "Trưởng CA",
                                                "--commune", "Xã Hòa Bình", "--province", "Tỉnh Lạng Sơn"])
    assert result.exit_code == 0, result.output
    assert f"{BASE}/activate/" in result.output and "127.0.0.1" not in result.output
