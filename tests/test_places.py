"""Places: the unit tree, villages and their officers, watch points and time windows, tip categories."""
from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.models import AuditEvent, Category, InformantPost, TimeWindow, Tip, Unit, User, WatchPoint
from zaloan.places.forms import parse_hour

from .conftest import PHONES
from .helpers import U


def village(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def point(name: str) -> WatchPoint:
    return db.session.scalar(select(WatchPoint).where(WatchPoint.name == name))


def ids(app, **names) -> dict:
    """Look up ids by name: village=..., point=..., window=(point name, index)."""
    out = {}
    with app.app_context():
        for key, (kind, name) in names.items():
            if kind == "village":
                out[key] = village(name).id
            elif kind == "point":
                out[key] = point(name).id
            elif kind == "window":
                out[key] = point(name).windows[0].id
            else:
                out[key] = U(name).id
    return out


def audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def changes() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action.not_like("login%")))


# --- The unit tree and villages ------------------------------------------------------------------


def test_the_commander_sees_the_unit_tree_with_each_villages_officer(app, login_as):
    html = login_as("commander").get("/places/").get_data(as_text=True)
    province, commune = html.index("Tỉnh Lạng Sơn"), html.index("Xã Tân Thành")
    villages = ["Thôn Đồng Bé", "Thôn Tân Lập", "Thôn Hạ Lý", "Thôn Trung Tâm", "Thôn Đồng Tiến", "Thôn Làng Lỏng"]
    assert province < commune < min(html.index(v) for v in villages)
    # The tree nests: province > commune > villages.
    assert re.search(r"Tỉnh Lạng Sơn</b></span>\s*<ul>\s*<li><span class=\"unit\"><small>Xã</small> <b>Xã Tân Thành", html)
    for name in villages:
        row = html.split(name)[1].split("</li>")[0]
        officer = "Phạm Minh Đức" if name in villages[:3] else "Vi Thị Hoa"
        assert officer in row, name
    assert "Thêm thôn" in html and "/places/categories" in html


def test_an_officer_sees_only_their_own_villages(app, login_as):
    html = login_as("officer2").get("/places/").get_data(as_text=True)
    assert "Thôn Trung Tâm" in html and "Thôn Đồng Tiến" in html
    assert "Thôn Đồng Bé" not in html and "Thôn Hạ Lý" not in html
    assert "Thêm thôn" not in html and "/places/categories" not in html
    o = ids(app, mine=("village", "Thôn Trung Tâm"), theirs=("village", "Thôn Đồng Bé"))
    assert login_as("officer2").get(f"/places/villages/{o['mine']}").status_code == 200
    assert login_as("officer2").get(f"/places/villages/{o['theirs']}").status_code == 404


def test_the_commander_adds_renames_and_staffs_villages(app, login_as):
    c = login_as("commander")
    r = c.post("/places/villages", data={"name": "  Bản   Nà Mò "})
    with app.app_context():
        new = village("Bản Nà Mò")
        assert new is not None and new.parent.name == "Xã Tân Thành" and new.officer_id is None
        new_id, officer2 = new.id, U("officer2").id
        assert audits("village.add")[-1].target_id == new_id
    assert r.status_code == 303 and r.headers["Location"] == f"/places/villages/{new_id}"
    for name, message in (("thôn đồng bé", "Đã có thôn mang tên này."), ("", "Vui lòng nhập tên.")):
        r = c.post("/places/villages", data={"name": name})
        assert r.status_code == 422 and message in r.get_data(as_text=True)
    r = c.post(f"/places/villages/{new_id}/rename", data={"name": "Thôn Trung Tâm"})
    assert r.status_code == 422 and "Đã có thôn mang tên này." in r.get_data(as_text=True)
    assert c.post(f"/places/villages/{new_id}/rename", data={"name": "Bản Nà Mò Mới"}).status_code == 303
    assert c.post(f"/places/villages/{new_id}/officer", data={"officer_id": str(officer2)}).status_code == 303
    with app.app_context():
        v = db.session.get(Unit, new_id)
        assert (v.name, v.officer_id) == ("Bản Nà Mò Mới", officer2)
        assert audits("village.officer")[-1].data == {"officer": officer2}
    assert "Bản Nà Mò Mới" in login_as("officer2").get("/places/").get_data(as_text=True)
    assert c.post(f"/places/villages/{new_id}/officer", data={"officer_id": ""}).status_code == 303
    with app.app_context():
        assert db.session.get(Unit, new_id).officer_id is None


@pytest.mark.parametrize("officer", ["@verifier", "@commander", "999999", "abc"])
def test_only_an_active_officer_can_be_put_in_charge_of_a_village(app, login_as, officer):
    o = ids(app, v1=("village", "Thôn Đồng Bé"), verifier=("user", "verifier"), commander=("user", "commander"))
    r = login_as("commander").post(f"/places/villages/{o['v1']}/officer",
                                   data={"officer_id": str(o.get(officer[1:], officer))})
    assert r.status_code == 422 and "cán bộ đang hoạt động" in r.get_data(as_text=True)
    with app.app_context():
        assert village("Thôn Đồng Bé").officer_id == U("officer").id


def test_officers_cannot_add_rename_or_staff_villages(app, login_as):
    o = ids(app, v1=("village", "Thôn Đồng Bé"), me=("user", "officer"))
    with app.app_context():
        commune_id = village("Thôn Đồng Bé").parent_id
        before = changes()
    c = login_as("officer")
    assert c.post("/places/villages", data={"name": "Thôn Mới"}).status_code == 404
    assert c.post(f"/places/villages/{o['v1']}/rename", data={"name": "Đổi Tên"}).status_code == 404
    assert c.post(f"/places/villages/{o['v1']}/officer", data={"officer_id": ""}).status_code == 404
    # The commune itself is not a village: no page of its own.
    assert login_as("commander").get(f"/places/villages/{commune_id}").status_code == 404
    with app.app_context():
        assert changes() == before and village("Thôn Mới") is None


# --- Watch points ------------------------------------------------------------------------------


def test_officer_adds_and_edits_watch_points_of_their_villages(app, login_as):
    o = ids(app, v3=("village", "Thôn Hạ Lý"))
    c = login_as("officer")
    r = c.post(f"/places/villages/{o['v3']}/points",
               data={"new-name": "Quán nhậu Hạ Lý", "new-kind": "eatery", "new-note": "Đông khách tối thứ bảy"})
    with app.app_context():
        p = point("Quán nhậu Hạ Lý")
        assert (p.village_id, p.kind, p.note, p.active) == (o["v3"], "eatery", "Đông khách tối thứ bảy", True)
        pid = p.id
    assert r.status_code == 303 and r.headers["Location"] == f"/places/points/{pid}"
    page = c.get(f"/places/villages/{o['v3']}").get_data(as_text=True)
    assert "🍜" in page and "Quán nhậu Hạ Lý" in page
    r = c.post(f"/places/points/{pid}", data={"name": "Quán nhậu đầu thôn", "kind": "karaoke", "note": ""})
    assert r.status_code == 303
    with app.app_context():
        p = db.session.get(WatchPoint, pid)
        assert (p.name, p.kind, p.active) == ("Quán nhậu đầu thôn", "karaoke", False)  # "in use" unticked
        assert [a.action for a in audits("watch_point.add") + audits("watch_point.edit")] == \
            ["watch_point.add", "watch_point.edit"]
    assert "ngừng dùng" in c.get(f"/places/villages/{o['v3']}").get_data(as_text=True)
    assert c.post(f"/places/points/{pid}", data={"name": "Quán nhậu đầu thôn", "kind": "karaoke",
                                                 "active": "y"}).status_code == 303
    with app.app_context():
        assert db.session.get(WatchPoint, pid).active


@pytest.mark.parametrize("data,message", [
    ({"new-name": "", "new-kind": "market"}, "Vui lòng nhập tên."),
    ({"new-name": "Chợ chiều", "new-kind": "casino"}, "Vui lòng chọn loại địa điểm."),
    ({"new-name": "Chợ chiều"}, "Vui lòng chọn loại địa điểm."),
    ({"new-name": "chợ tân  thành", "new-kind": "market"}, "Thôn này đã có địa điểm mang tên này."),
])
def test_a_bad_watch_point_is_refused_on_its_field(app, login_as, data, message):
    o = ids(app, v1=("village", "Thôn Đồng Bé"))
    with app.app_context():
        before = db.session.scalar(select(func.count(WatchPoint.id)))
    r = login_as("officer").post(f"/places/villages/{o['v1']}/points", data=data)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(WatchPoint.id))) == before


def test_a_watch_point_out_of_use_is_no_longer_offered_for_new_informants(app, login_as):
    o = ids(app, market=("point", "Chợ Tân Thành"))
    c = login_as("officer")
    assert f'value="{o["market"]}:' in c.get("/people/new").get_data(as_text=True)
    c.post(f"/places/points/{o['market']}", data={"name": "Chợ Tân Thành", "kind": "market"})
    assert f'value="{o["market"]}:' not in c.get("/people/new").get_data(as_text=True)
    with app.app_context():
        # The informants posted there keep their post.
        assert db.session.scalar(select(func.count(InformantPost.id)).where(
            InformantPost.watch_point_id == o["market"])) == 2


def test_an_officer_cannot_touch_another_officers_places(app, login_as):
    o = ids(app, v4=("village", "Thôn Trung Tâm"), cross=("point", "Ngã tư Trung Tâm"),
            cross_window=("window", "Ngã tư Trung Tâm"))
    with app.app_context():
        before = changes()
    c = login_as("officer")
    assert c.get(f"/places/villages/{o['v4']}").status_code == 404
    assert c.post(f"/places/villages/{o['v4']}/points", data={"new-name": "X", "new-kind": "market"}).status_code == 404
    assert c.get(f"/places/points/{o['cross']}").status_code == 404
    assert c.post(f"/places/points/{o['cross']}", data={"name": "X", "kind": "market"}).status_code == 404
    assert c.post(f"/places/points/{o['cross']}/windows", data={"starts": "01:00", "ends": "02:00"}).status_code == 404
    assert c.get(f"/places/windows/{o['cross_window']}").status_code == 404
    assert c.post(f"/places/windows/{o['cross_window']}", data={"starts": "01:00", "ends": "02:00"}).status_code == 404
    assert c.post(f"/places/windows/{o['cross_window']}/delete").status_code == 404
    for who in ("verifier", "informant", "observer"):
        assert login_as(who).get("/places/").status_code == 404
    with app.app_context():
        assert changes() == before and point("Ngã tư Trung Tâm").name == "Ngã tư Trung Tâm"
        assert len(point("Ngã tư Trung Tâm").windows) == 2


# --- Time windows ------------------------------------------------------------------------------


def test_time_windows_are_added_and_may_cross_midnight(app, login_as):
    o = ids(app, karaoke=("point", "Phố karaoke Tân Lập"))
    c = login_as("officer")
    r = c.post(f"/places/points/{o['karaoke']}/windows", data={"starts": "22:30", "ends": "03:00", "label": "Đêm"})
    assert r.status_code == 303 and r.headers["Location"] == f"/places/points/{o['karaoke']}"
    assert c.post(f"/places/points/{o['karaoke']}/windows", data={"starts": "7h30", "ends": "9h"}).status_code == 303
    with app.app_context():
        got = sorted((w.starts, w.ends, w.label) for w in point("Phố karaoke Tân Lập").windows)
        assert got == [(time(7, 30), time(9, 0), ""), (time(20, 0), time(2, 0), "Buổi tối, đêm khuya"),
                       (time(22, 30), time(3, 0), "Đêm")]
        assert audits("time_window.add")[0].data == {"watch_point": o["karaoke"], "starts": "22:30", "ends": "03:00"}
    page = c.get(f"/places/points/{o['karaoke']}").get_data(as_text=True)
    assert "22:30–03:00" in page and "qua nửa đêm" in page


@pytest.mark.parametrize("starts,ends,message", [
    ("25:99", "02:00", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("20:00", "xx", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("24:00", "01:00", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("20:61", "01:00", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("", "01:00", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("20:00", "", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("-1:00", "01:00", "Vui lòng nhập giờ, ví dụ 20:00."),
    ("20:00", "20:00", "Giờ kết thúc phải khác giờ bắt đầu."),
    ("8h", "08:00", "Giờ kết thúc phải khác giờ bắt đầu."),
])
def test_invalid_times_are_refused_in_plain_vietnamese(app, login_as, starts, ends, message):
    o = ids(app, market=("point", "Chợ Tân Thành"), window=("window", "Chợ Tân Thành"))
    c = login_as("officer")
    r = c.post(f"/places/points/{o['market']}/windows", data={"starts": starts, "ends": ends})
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    r = c.post(f"/places/windows/{o['window']}", data={"starts": starts, "ends": ends, "label": "Sửa"})
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    with app.app_context():
        [w] = point("Chợ Tân Thành").windows
        assert (w.starts, w.ends, w.label) == (time(5, 0), time(9, 0), "Chợ sáng")
        assert not audits("time_window.add") and not audits("time_window.edit")


def test_a_time_window_is_edited_and_removed(app, login_as):
    o = ids(app, market=("point", "Chợ Tân Thành"), window=("window", "Chợ Tân Thành"))
    c = login_as("officer")
    page = c.get(f"/places/windows/{o['window']}").get_data(as_text=True)
    assert 'value="05:00"' in page and 'value="09:00"' in page and "Chợ sáng" in page
    r = c.post(f"/places/windows/{o['window']}", data={"starts": "04:30", "ends": "10:00", "label": "Chợ phiên"})
    assert r.status_code == 303 and r.headers["Location"] == f"/places/points/{o['market']}"
    with app.app_context():
        w = db.session.get(TimeWindow, o["window"])
        assert (w.starts, w.ends, w.label) == (time(4, 30), time(10, 0), "Chợ phiên")
    assert c.post(f"/places/windows/{o['window']}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(TimeWindow, o["window"]) is None
        # The two informants posted to that window stay at the market, at any time.
        posts = db.session.scalars(select(InformantPost).where(InformantPost.watch_point_id == o["market"])).all()
        assert len(posts) == 2 and all(p.time_window_id is None for p in posts)
        assert audits("time_window.remove")[0].target_id == o["window"]


def test_parse_hour_reads_the_ways_people_write_a_time():
    assert parse_hour("20:00") == time(20) and parse_hour("7") == time(7) and parse_hour("7h30") == time(7, 30)
    assert parse_hour(" 21 : 15 ") == time(21, 15) and parse_hour("06:30:00") == time(6, 30)
    for bad in ("", "24:00", "12:60", "1230", "noon", "12:3", "-1", None):
        assert parse_hour(bad) is None, bad


# --- Categories --------------------------------------------------------------------------------


def test_the_commander_adds_a_category_at_the_end_of_the_list(app, login_as):
    c = login_as("commander")
    r = c.post("/places/categories", data={"name": "Cháy, nổ", "emoji": "🔥"})
    assert r.status_code == 303 and r.headers["Location"] == "/places/categories"
    with app.app_context():
        cat = db.session.scalar(select(Category).where(Category.name == "Cháy, nổ"))
        assert cat.active and cat.emoji == "🔥" and cat.code == "chay_no"
        assert cat.position == db.session.scalar(select(func.max(Category.position)))
    form = login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert "Cháy, nổ" in form and form.index("Cháy, nổ") > form.index("Việc khác")
    r = c.post("/places/categories", data={"name": "cháy,  nổ", "emoji": ""})
    assert r.status_code == 422 and "Đã có loại tin mang tên này." in r.get_data(as_text=True)
    r = c.post("/places/categories", data={"name": "", "emoji": "🔥"})
    assert r.status_code == 422 and "Vui lòng nhập tên." in r.get_data(as_text=True)


def test_a_category_is_renamed_and_taken_out_of_use_but_old_tips_keep_it(app, login_as):
    with app.app_context():
        gambling = db.session.scalar(select(Category).where(Category.code == "gambling"))
        tip = db.session.scalar(select(Tip).where(Tip.category_id == gambling.id))
        cid, tip_id, before = gambling.id, tip.id, db.session.scalar(select(func.count(Category.id)))
    c = login_as("commander")
    r = c.post(f"/places/categories/{cid}", data={f"c{cid}-name": "Cờ bạc, cá độ", f"c{cid}-emoji": "🎲"})
    assert r.status_code == 303
    with app.app_context():
        cat = db.session.get(Category, cid)
        assert (cat.name, cat.active) == ("Cờ bạc, cá độ", False)
        assert db.session.get(Tip, tip_id).category_id == cid
        assert db.session.scalar(select(func.count(Category.id))) == before  # never deleted
        assert audits("category.edit")[-1].data == {"renamed": True, "active": False}
    assert "Cờ bạc, cá độ" not in login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert "Cờ bạc, cá độ" in c.get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert "Cờ bạc, cá độ" in c.get("/places/categories").get_data(as_text=True)
    r = c.post(f"/places/categories/{cid}", data={f"c{cid}-name": "Ma túy", f"c{cid}-active": "y"})
    assert r.status_code == 422 and "Đã có loại tin mang tên này." in r.get_data(as_text=True)
    r = c.post(f"/places/categories/{cid}", data={f"c{cid}-name": "Cờ bạc", f"c{cid}-active": "y",
                                                  f"c{cid}-emoji": "🎲" * 9})
    assert r.status_code == 422 and "Chỉ cần một biểu tượng." in r.get_data(as_text=True)
    assert c.post(f"/places/categories/{cid}", data={f"c{cid}-name": "Cờ bạc", f"c{cid}-active": "y",
                                                     f"c{cid}-emoji": "🎲"}).status_code == 303
    assert "Cờ bạc" in login_as("informant").get("/informant/tips/new").get_data(as_text=True)


def test_categories_are_reordered(app, login_as):
    def order():
        with app.app_context():
            return [c.code for c in db.session.scalars(select(Category).order_by(Category.position, Category.id))]

    start = order()
    with app.app_context():
        theft = db.session.scalar(select(Category).where(Category.code == "theft")).id
        drugs = db.session.scalar(select(Category).where(Category.code == "drugs")).id
    c = login_as("commander")
    assert c.post(f"/places/categories/{theft}/move", data={"to": "up"}).status_code == 303
    assert order()[:2] == ["theft", "drugs"] and sorted(order()) == sorted(start)
    assert c.post(f"/places/categories/{theft}/move", data={"to": "up"}).status_code == 303  # already first
    assert order()[:2] == ["theft", "drugs"]
    assert c.post(f"/places/categories/{drugs}/move", data={"to": "down"}).status_code == 303
    assert order()[:3] == ["theft", "gambling", "drugs"]
    assert c.post(f"/places/categories/{drugs}/move", data={"to": "sideways"}).status_code == 422
    form = login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert form.index("Trộm cắp") < form.index("Cờ bạc") < form.index("Ma túy")


def test_only_the_commander_edits_categories(app, login_as):
    with app.app_context():
        cid = db.session.scalar(select(Category.id))
        before = changes()
    for who in ("officer", "verifier", "informant", "observer"):
        c = login_as(who)
        assert c.get("/places/categories").status_code == 404
        assert c.post("/places/categories", data={"name": "Mới"}).status_code == 404
        assert c.post(f"/places/categories/{cid}", data={f"c{cid}-name": "Đổi"}).status_code == 404
        assert c.post(f"/places/categories/{cid}/move", data={"to": "down"}).status_code == 404
    with app.app_context():
        assert changes() == before


# --- Bad input ---------------------------------------------------------------------------------

JUNK = ["", "0", "-1", "abc", "99:99", "999999999999999999999", "x" * 5000, "<script>alert(1)</script>", "\u0000",
        "1:2:3"]


def test_bad_input_never_gives_a_server_error(app, login_as):
    o = ids(app, v1=("village", "Thôn Đồng Bé"), market=("point", "Chợ Tân Thành"),
            window=("window", "Chợ Tân Thành"))
    with app.app_context():
        cid = db.session.scalar(select(Category.id))
    urls = ["/places/villages", f"/places/villages/{o['v1']}/rename", f"/places/villages/{o['v1']}/officer",
            f"/places/villages/{o['v1']}/points", f"/places/points/{o['market']}",
            f"/places/points/{o['market']}/windows", f"/places/windows/{o['window']}", "/places/categories",
            f"/places/categories/{cid}", f"/places/categories/{cid}/move"]
    for who in ("commander", "officer"):
        c = login_as(who)
        for junk in JUNK:
            keys = ("name", "kind", "note", "active", "starts", "ends", "label", "emoji", "officer_id", "to",
                    "new-name", "new-kind", f"c{cid}-name", f"c{cid}-emoji")
            for url in urls:
                r = c.post(url, data={k: junk for k in keys})
                assert r.status_code < 500, (who, junk, url, r.status_code)
        for url in ("/places/villages/abc", "/places/points/-1", "/places/windows/99999999999999999999"):
            assert c.get(url).status_code == 404
    with app.app_context():
        assert "\u0000" not in "".join(db.session.scalars(select(WatchPoint.name)))


# --- A retried create makes one row -----------------------------------------------------------------


def test_a_watch_point_sent_twice_with_one_key_is_added_once(app, login_as):
    o = ids(app, v3=("village", "Thôn Hạ Lý"))
    c = login_as("officer")
    data = {"new-name": "Bến đò Hạ Lý", "new-kind": "other", "new-client_key": "point-key-0001"}
    first, again = (c.post(f"/places/villages/{o['v3']}/points", data=data) for _ in range(2))
    # The retry lands on the same place, not on "this village already has a place with this name".
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(WatchPoint.id)).where(WatchPoint.name == "Bến đò Hạ Lý")) == 1
        assert len(audits("watch_point.add")) == 1
    # The same key with another name was changed and sent again: refused, with a new key for the next send.
    r = c.post(f"/places/villages/{o['v3']}/points", data={**data, "new-name": "Bến xe Hạ Lý"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "đã đến nơi, với nội dung khác" in html and "Bến xe Hạ Lý" in html
    assert 'value="point-key-0001"' not in html
    with app.app_context():
        assert point("Bến xe Hạ Lý") is None


def test_a_time_window_sent_twice_with_one_key_is_added_once(app, login_as):
    o = ids(app, karaoke=("point", "Phố karaoke Tân Lập"))
    c = login_as("officer")
    data = {"starts": "12:00", "ends": "13:30", "label": "Trưa", "client_key": "window-key-001"}
    first, again = (c.post(f"/places/points/{o['karaoke']}/windows", data=data) for _ in range(2))
    assert first.status_code == again.status_code == 303
    with app.app_context():
        assert [w.label for w in point("Phố karaoke Tân Lập").windows].count("Trưa") == 1
        assert len(audits("time_window.add")) == 1
    assert 'name="client_key"' in c.get(f"/places/points/{o['karaoke']}").get_data(as_text=True)


def test_a_category_sent_twice_with_one_key_is_added_once(app, login_as):
    c = login_as("commander")
    assert 'name="client_key"' in c.get("/places/categories").get_data(as_text=True)
    data = {"name": "Cháy, nổ", "emoji": "🔥", "client_key": "category-key-1"}
    for _ in range(2):
        # Not "a category with this name already exists": the first one is the answer.
        r = c.post("/places/categories", data=data)
        assert r.status_code == 303 and r.headers["Location"] == "/places/categories"
    with app.app_context():
        assert db.session.scalar(select(func.count(Category.id)).where(Category.name == "Cháy, nổ")) == 1


def test_a_create_form_with_a_damaged_key_changes_nothing(app, login_as):
    o = ids(app, v3=("village", "Thôn Hạ Lý"))
    c = login_as("commander")
    with app.app_context():
        before = changes()
    r = c.post("/places/categories", data={"name": "Cháy, nổ", "emoji": "🔥", "client_key": "bad key!"})
    assert r.status_code == 422 and "Biểu mẫu bị lỗi" in r.get_data(as_text=True)
    r = c.post(f"/places/villages/{o['v3']}/points", data={"new-name": "Bến đò", "new-kind": "other",
                                                          "new-client_key": "short"})
    assert r.status_code == 422 and "Biểu mẫu bị lỗi" in r.get_data(as_text=True)
    with app.app_context():
        assert changes() == before


def test_concurrent_double_taps_make_one_category(app, login_as):
    import threading

    clients = [login_as("commander") for _ in range(4)]
    statuses, start = [], threading.Barrier(4)

    def post(c):
        start.wait()
        statuses.append(c.post("/places/categories", data={"name": "Lừa đảo", "emoji": "",
                                                           "client_key": "race-category-1"}).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * 4
    with app.app_context():
        assert db.session.scalar(select(func.count(Category.id)).where(Category.name == "Lừa đảo")) == 1
