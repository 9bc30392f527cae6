"""The province administrator (Công an tỉnh) and observers above the commune.

The administrator creates communes, their commanders and observers, and
sees of a commune only its address and how many accounts it has; a new
commune's commander sees nothing of the demo commune Xã Tân Thành; an
observer of the province or a district sees every commune's counts side by
side and their sum, with village × category counts of 1 or 2 shown as "< 3".
"""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from zaloan import accounts, cases, reports
from zaloan.communes import get_or_create_unit
from zaloan.extensions import db
from zaloan.models import (
    Attachment,
    AuditEvent,
    Category,
    Informant,
    Role,
    Tip,
    Unit,
    UnitKind,
    User,
)

from .conftest import PASSWORD
from .helpers import U
from .test_query_counts import queries

KEY = "province-form-key-0001"


def communes_count() -> int:
    return db.session.scalar(select(func.count(Unit.id)).where(Unit.kind == UnitKind.COMMUNE))


def code_on(page: str) -> str:
    found = re.search(r'class="code big">([A-Z0-9-]+)<', page)
    assert found, "no activation code on the page"
    return found.group(1).replace("-", "")


def new_commune(client, name="Xã Yên Thường", key=KEY, **extra):
    return client.post("/province/communes/new", data={"name": name, "client_key": key, **extra})


def commune_named(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name, Unit.kind == UnitKind.COMMUNE))


def demo_secrets() -> list[str]:
    """What of the demo commune must never show elsewhere: tip codes, aliases, names, villages, places."""
    out = list(db.session.scalars(select(Tip.code)))
    out += list(db.session.scalars(select(Informant.alias)))
    out += ["Nguyễn Văn An", "Trần Thị Bình", "Phạm Minh Đức", "Vi Thị Hoa", "Hoàng Văn Cường", "Thôn Đồng Bé",
            "Chợ Tân Thành", "Lương Văn Hùng"]
    return out


def activate(app, code: str):
    c = app.test_client()
    r = c.post(f"/activate/{code}", data={"password": "suoi-trong-xanh-9", "confirm": "suoi-trong-xanh-9"})
    assert r.status_code == 302, r.get_data(as_text=True)
    return c


# --- A second commune, its commander, who sees nothing of the first --------------------------------


def test_the_admin_creates_a_commune_and_its_commander_who_sees_nothing_of_the_first(app, login_as):
    admin = login_as("province_admin")
    r = new_commune(admin)
    assert r.status_code == 303
    with app.app_context():
        commune = commune_named("Xã Yên Thường")
        assert commune.parent.name == "Tỉnh Lạng Sơn" and commune.slug == "yen-thuong"
        assert len(db.session.scalars(select(Category).where(Category.commune_id == commune.id)).all()) == 10
        cid = commune.id
        # The commune's own chain begins with its creation.
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commune.create"))
        assert row.commune_id == cid and row.chain == cid and row.actor_id == U("province_admin").id
    assert r.headers["Location"].endswith(f"/province/communes/{cid}")
    page = admin.get(f"/province/communes/{cid}").get_data(as_text=True)
    assert "/x/yen-thuong/report/" in page and "Xã này chưa có Trưởng Công an xã." in page

    r = admin.post(f"/province/communes/{cid}/commander",
                   data={"full_name": "Hà Văn Sơn", "phone": "0912 345 001", "client_key": "commander-key-0001"})
    assert r.status_code == 200
    code = code_on(r.get_data(as_text=True))
    with app.app_context():
        chief = U("0912345001")
        assert (chief.role, chief.commune_id) == (Role.COMMANDER, cid)
        # Created in the new commune's chain, where its commander reads it.
        created = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.create",
                                                             AuditEvent.target_id == chief.id))
        assert created.chain == cid

    chief = activate(app, code)
    assert chief.get("/").headers["Location"].endswith("/commander/")
    pages = {path: chief.get(path) for path in ("/commander/", "/officer/", "/people/", "/places/", "/audit/",
                                                "/places/categories")}
    with app.app_context():
        secrets = demo_secrets()
        demo_tip = db.session.scalar(select(Tip.id).order_by(Tip.id))
        demo_person = U("informant").id
        village = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))
    for path, resp in pages.items():
        assert resp.status_code == 200, path
        text = resp.get_data(as_text=True)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{path} shows {leaked}"
    assert "Xã Yên Thường" in pages["/commander/"].get_data(as_text=True)
    audit_page = html.unescape(pages["/audit/"].get_data(as_text=True))
    assert "đã tạo Xã Yên Thường" in audit_page
    for path in (f"/officer/tips/{demo_tip}", f"/people/{demo_person}", f"/places/villages/{village}"):
        assert chief.get(path).status_code == 404, path


def test_a_double_send_makes_one_commune_and_other_content_under_the_same_key_is_refused(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        before = communes_count()
    assert new_commune(admin).status_code == 303
    assert new_commune(admin).status_code == 303  # the retry lands on the same commune
    r = new_commune(admin, name="Xã Khác Hẳn")
    assert r.status_code == 422 and "Lần gửi trước của mẫu này đã đến nơi" in r.get_data(as_text=True)
    with app.app_context():
        assert communes_count() == before + 1
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "commune.create")) == 1


@pytest.mark.parametrize("name", ["Xã Tân Thành", "  xã   TÂN thành "])
def test_a_name_the_province_already_has_is_refused(app, login_as, name):
    admin = login_as("province_admin")
    with app.app_context():
        before = communes_count()
    r = new_commune(admin, name=name)
    assert r.status_code == 422
    assert "Tỉnh (hoặc huyện) này đã có xã mang tên này." in r.get_data(as_text=True)
    with app.app_context():
        assert communes_count() == before


def test_the_same_name_in_another_district_is_a_different_commune(app, login_as):
    with app.app_context():
        province = db.session.scalar(select(Unit).where(Unit.kind == UnitKind.PROVINCE))
        district = get_or_create_unit("Huyện Hữu Lũng", UnitKind.DISTRICT, province)
        db.session.commit()
        did = district.id
    admin = login_as("province_admin")
    r = new_commune(admin, name="Xã Tân Thành", district_id=str(did))
    assert r.status_code == 303
    with app.app_context():
        made = db.session.scalars(select(Unit).where(Unit.name == "Xã Tân Thành")).all()
        assert sorted(u.parent.name for u in made) == ["Huyện Hữu Lũng", "Tỉnh Lạng Sơn"]
        assert len({u.slug for u in made}) == 2  # each its own address
    page = admin.get("/province/").get_data(as_text=True)
    assert "Huyện Hữu Lũng" in page


@pytest.mark.parametrize("data,where", [
    ({"name": ""}, "Vui lòng nhập tên xã."),
    ({"name": "   "}, "Vui lòng nhập tên xã."),
    ({"name": "Xã " + "A" * 500}, "Tên quá dài"),
    ({"district_id": "999999"}, "Vui lòng chọn một huyện của tỉnh mình."),
    ({"district_id": "abc"}, "Vui lòng chọn một huyện của tỉnh mình."),
    ({"district_id": "99999999999999999999999"}, "Vui lòng chọn một huyện của tỉnh mình."),
    ({"client_key": "<x>"}, "Biểu mẫu bị lỗi"),
    ({"name": "Xã\x00Nul"}, None),
])
def test_bad_input_for_a_commune_is_refused_in_vietnamese_and_changes_nothing(app, login_as, data, where):
    admin = login_as("province_admin")
    with app.app_context():
        before = communes_count()
        events = db.session.scalar(select(func.count(AuditEvent.id)))
        # A district of another province is not one of this province's.
        other = get_or_create_unit("Huyện Ngoài", UnitKind.DISTRICT, get_or_create_unit("Tỉnh Cao Bằng",
                                                                                          UnitKind.PROVINCE, None)).id
        db.session.commit()
    r = admin.post("/province/communes/new", data={"name": "Xã Mới", "client_key": KEY, **data})
    if where is None:  # a control character is dropped, the rest is a fine name
        assert r.status_code == 303
        return
    assert r.status_code == 422 and where in html.unescape(r.get_data(as_text=True))
    with app.app_context():
        assert communes_count() == before and db.session.scalar(select(func.count(AuditEvent.id))) == events
    r = admin.post("/province/communes/new", data={"name": "Xã Mới", "client_key": KEY, "district_id": str(other)})
    assert r.status_code == 422
    with app.app_context():
        assert communes_count() == before


@pytest.mark.parametrize("path", ["/province/communes/abc", "/province/communes/999999",
                                  "/province/communes/99999999999999999999"])
def test_junk_commune_ids_answer_404(login_as, path):
    admin = login_as("province_admin")
    assert admin.get(path).status_code == 404
    assert admin.post(path + "/commander", data={"full_name": "A", "phone": "0912345009"}).status_code == 404


def test_bad_commander_input_is_refused_and_creates_nothing(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        cid = db.session.scalar(select(Unit.id).where(Unit.slug == "tan-thanh"))
        users = db.session.scalar(select(func.count(User.id)))
    for data, words in (({"full_name": "", "phone": "0912345002"}, "Vui lòng nhập tên."),
                        ({"full_name": "Hà Văn Sơn", "phone": "12"}, "không phải số điện thoại"),
                        ({"full_name": "H" * 300, "phone": "0912345002"}, "Tên quá dài")):
        r = admin.post(f"/province/communes/{cid}/commander", data={**data, "client_key": "commander-key-0002"})
        assert r.status_code == 422 and words in html.unescape(r.get_data(as_text=True)), data
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users


def test_a_phone_in_use_gets_the_neutral_message_and_an_audit_row(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        cid = db.session.scalar(select(Unit.id).where(Unit.slug == "tan-thanh"))
    r = admin.post(f"/province/communes/{cid}/commander",
                   data={"full_name": "Hà Văn Sơn", "phone": "0900000010", "client_key": "commander-key-0003"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Không dùng được số điện thoại này. Vui lòng kiểm tra lại." in page
    assert "Nguyễn Văn An" not in page and "NT-" not in page
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.create_refused"))
        assert row.actor_id == U("province_admin").id and row.target_id is None and row.data["elsewhere"] is True


def test_a_retried_commander_form_makes_one_account(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        cid = db.session.scalar(select(Unit.id).where(Unit.slug == "tan-thanh"))
    data = {"full_name": "Hà Văn Sơn", "phone": "0912345004", "client_key": "commander-key-0004"}
    first = admin.post(f"/province/communes/{cid}/commander", data=data)
    again = admin.post(f"/province/communes/{cid}/commander", data=data)
    assert first.status_code == again.status_code == 200
    assert "Tài khoản này đã được tạo" in again.get_data(as_text=True)
    assert 'class="code big"' not in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.phone == "+84912345004")) == 1


# --- The administrator sees communes as a whole, never a row inside one --------------------------------


def test_the_admin_sees_addresses_and_counts_never_tips_or_people(app, login_as):
    admin = login_as("province_admin")
    page = admin.get("/province/").get_data(as_text=True)
    assert "Xã Tân Thành" in page and "/x/tan-thanh/report/" in page
    with app.app_context():
        cid = db.session.scalar(select(Unit.id).where(Unit.slug == "tan-thanh"))
        secrets = demo_secrets()
        secrets.remove("Lương Văn Hùng")  # the commander's name is shown to the administrator
    commune_page = admin.get(f"/province/communes/{cid}").get_data(as_text=True)
    assert "Lương Văn Hùng" in commune_page
    for text in (page, commune_page):
        assert not [s for s in secrets if s in text]


def test_the_admin_gets_404_on_every_object_of_a_commune(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        an = U("informant")
        tip = db.session.scalar(select(Tip).where(Tip.informant_id == an.informant.id))
        photo = Attachment(tip_id=tip.id, uploader_id=an.id, storage_name="x.jpg", content_type="image/jpeg",
                           width=1, height=1, size=1, sha256="0" * 64)
        db.session.add(photo)
        village = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))
        other = get_or_create_unit("Xã Ở Tỉnh Khác", UnitKind.COMMUNE,
                                   get_or_create_unit("Tỉnh Cao Bằng", UnitKind.PROVINCE, None))
        db.session.commit()
        ids = {"tip": tip.id, "photo": photo.id, "person": an.id, "village": village, "other": other.id,
               "commander": U("commander").id}
    for path in (f"/officer/tips/{ids['tip']}", f"/photos/{ids['photo']}", f"/photos/{ids['photo']}/thumb",
                 f"/people/{ids['person']}", f"/people/{ids['commander']}", f"/places/villages/{ids['village']}",
                 "/people/", "/places/", "/audit/", "/officer/", "/observer/", "/commander/",
                 f"/province/communes/{ids['other']}"):
        assert admin.get(path).status_code == 404, path
    assert admin.post(f"/people/{ids['person']}/reveal", data={"reason": "xem thử"}).status_code == 404


def test_a_commander_cannot_make_a_province_admin(login_as, app):
    chief = login_as("commander")
    r = chief.post("/people/new", data={"role": Role.PROVINCE_ADMIN, "full_name": "Ai Đó", "phone": "0912345005",
                                        "client_key": "people-key-00005"})
    assert r.status_code == 422
    with app.app_context():
        assert U("0912345005") is None


def test_the_command_creates_a_province_admin_with_an_activation_link(app):
    result = app.test_cli_runner().invoke(args=["create-province-admin", "--province", "Tỉnh Cao Bằng",
                                                "--phone", "0912 345 006", "--name", "Bế Văn Tỉnh"])
    assert result.exit_code == 0, result.output
    assert "/activate/" in result.output
    with app.app_context():
        user = U("0912345006")
        assert user.role == Role.PROVINCE_ADMIN and user.commune.kind == UnitKind.PROVINCE
        assert user.commune.name == "Tỉnh Cao Bằng"
    again = app.test_cli_runner().invoke(args=["create-province-admin", "--province", "Tỉnh Cao Bằng",
                                               "--phone", "0912345006", "--name", "Bế Văn Tỉnh"])
    assert again.exit_code != 0 and "already has an account" in again.output
    code = re.search(r"/activate/([A-Z0-9]+)", result.output).group(1)
    c = activate(app, code)
    page = c.get("/province/").get_data(as_text=True)
    assert "Tỉnh Cao Bằng" in page and "Xã Tân Thành" not in page  # another province's communes


# --- Observers above the commune ----------------------------------------------------------------------


def second_commune_with_tips(app, spread=((("Trộm cắp"), 1), ("Ma túy", 2), ("Cờ bạc", 3))) -> int:
    """Make Xã Yên Thường with one village and anonymous tips: 1 theft, 2 drugs, 3 gambling."""
    from zaloan.communes import create_commune

    with app.app_context():
        commune = create_commune("Xã Yên Thường", "Tỉnh Lạng Sơn")
        village = get_or_create_unit("Thôn Nà Pàn", UnitKind.VILLAGE, commune)
        for name, n in spread:
            category = db.session.scalar(select(Category).where(Category.commune_id == commune.id,
                                                                Category.name == name))
            for _ in range(n):
                cases.submit_tip(commune=commune, informant=None, category=category, village=village,
                                 body="Bí mật không được lộ ra.", uploader=None)
        db.session.commit()
        return commune.id


def observer_of(app, unit_name: str, phone: str):
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        user = accounts.create_user(by=None, phone=phone, full_name="Ban Chỉ đạo 138", role=Role.OBSERVER,
                                    commune=unit)
        user.set_password(PASSWORD)
        db.session.commit()
    c = app.test_client()
    assert c.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 302
    return c


def section(page: str, title: str) -> str:
    start = page.index(f"<h2>{title}</h2>")
    return page[start:page.index("</section>", start)]


def test_the_province_observer_sees_each_commune_and_the_sum_with_small_counts_hidden(app, login_as):
    second_commune_with_tips(app)
    observer = observer_of(app, "Tỉnh Lạng Sơn", "0912345007")
    page = observer.get("/observer/").get_data(as_text=True)
    with app.app_context():
        demo_tips = db.session.scalar(select(func.count(Tip.id)).join(Unit, Unit.id == Tip.commune_id)
                                      .where(Unit.slug == "tan-thanh"))
        # Village names are the observer's to read (tips by village); tip codes, aliases and names are not.
        secrets = [s for s in demo_secrets() if not s.startswith("Thôn")] + list(db.session.scalars(select(Tip.code)))
    assert "Cộng tất cả các xã (2 xã)" in page
    yen = section(page, "Xã Yên Thường")
    # Village × category: 1 and 2 are "< 3", 3 is 3; the village's and the commune's totals are exact.
    assert "<dt>Trộm cắp</dt><dd>&lt; 3</dd>" in yen and "<dt>Ma túy</dt><dd>&lt; 3</dd>" in yen
    assert "<dt>Cờ bạc</dt><dd>3</dd>" in yen
    assert "Thôn Nà Pàn · 6 tin" in yen
    assert "<dt>Tin báo</dt><dd>6</dd>" in yen or "<dd>6</dd>" in yen.split("</dl>")[0]
    total = section(page, "Cộng tất cả các xã (2 xã)")
    assert f"<dd>{demo_tips + 6}</dd>" in total.split("</dl>")[0]
    assert "Xã Tân Thành" in page
    leaked = [s for s in secrets if s in page]
    assert not leaked and "Bí mật" not in page


def test_small_cells_never_reach_the_page_as_numbers(app):
    assert [reports.small_cell(n) for n in (0, 1, 2, 3, 40)] == [0, "< 3", "< 3", 3, 40]
    cid = second_commune_with_tips(app)
    with app.app_context():
        observer = accounts.create_user(by=None, phone="0912345008", full_name="Quan sát", role=Role.OBSERVER,
                                        commune=db.session.get(Unit, cid).parent)
        summary = reports.communes_summary(observer)
        cells = [cell for row in summary["communes"] for v in row["villages"] for cell in v["cells"].values()]
        assert cells and not [c for c in cells if c in (1, 2)]
        mine = next(r for r in summary["communes"] if r["commune"].id == cid)
        assert mine["tips"] == 6 and mine["by_category"] == {"Trộm cắp": 1, "Ma túy": 2, "Cờ bạc": 3}


def test_a_district_observer_sees_only_the_communes_of_the_district(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        province = db.session.scalar(select(Unit).where(Unit.kind == UnitKind.PROVINCE))
        did = get_or_create_unit("Huyện Hữu Lũng", UnitKind.DISTRICT, province).id
        db.session.commit()
    assert new_commune(admin, name="Xã Yên Vượng", district_id=str(did)).status_code == 303
    r = admin.post("/province/observers/new", data={"unit_id": str(did), "full_name": "Ban Chỉ đạo huyện",
                                                    "phone": "0912345010", "client_key": "observer-key-0001"})
    assert r.status_code == 200
    observer = activate(app, code_on(r.get_data(as_text=True)))
    page = observer.get("/observer/").get_data(as_text=True)
    assert "Huyện Hữu Lũng" in page and "Xã Yên Vượng" in page and "Xã Tân Thành" not in page
    assert "Cộng tất cả các xã (1 xã)" in page
    # The district observer gets nothing inside a commune either.
    with app.app_context():
        tip = db.session.scalar(select(Tip.id))
    assert observer.get(f"/officer/tips/{tip}").status_code == 404


def test_an_observer_for_a_unit_outside_the_province_is_refused(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        other = get_or_create_unit("Tỉnh Cao Bằng", UnitKind.PROVINCE, None).id
        village = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))
        db.session.commit()
        users = db.session.scalar(select(func.count(User.id)))
    for unit in (str(other), str(village), "abc", ""):
        r = admin.post("/province/observers/new", data={"unit_id": unit, "full_name": "Ai Đó",
                                                        "phone": "0912345011", "client_key": "observer-key-0002"})
        assert r.status_code == 422 and "Vui lòng chọn tỉnh, một huyện hoặc một xã của tỉnh." in r.get_data(
            as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users


def test_the_province_page_of_observers_costs_the_same_queries_with_another_commune(app):
    observer = observer_of(app, "Tỉnh Lạng Sơn", "0912345012")
    before = queries(app, observer, "/observer/")
    second_commune_with_tips(app)
    assert queries(app, observer, "/observer/") == before


def test_the_audit_log_holds_after_the_administrators_work_each_row_in_its_chain(app, login_as):
    """The new commune's creation opens its chain; the administrator's sign-in and a province observer go to
    the province's own chain; the whole log still verifies."""
    admin = login_as("province_admin")
    assert new_commune(admin).status_code == 303
    with app.app_context():
        province = db.session.scalar(select(Unit.id).where(Unit.kind == UnitKind.PROVINCE))
        commune = commune_named("Xã Yên Thường").id
    r = admin.post("/province/observers/new", data={"unit_id": str(province), "full_name": "Ban Chỉ đạo tỉnh",
                                                    "phone": "0912345013", "client_key": "observer-key-0003"})
    assert r.status_code == 200
    with app.app_context():
        chains = dict(db.session.execute(select(AuditEvent.action, AuditEvent.chain).where(
            AuditEvent.actor_id == U("province_admin").id)).all())
    assert chains["commune.create"] == commune
    assert chains["login.success"] == province and chains["account.create"] == province
    result = app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 0 and "Audit log intact" in result.output, result.output


def test_a_lost_first_code_is_replaced_for_a_commander_who_has_not_activated(app, login_as):
    admin = login_as("province_admin")
    with app.app_context():
        cid = db.session.scalar(select(Unit.id).where(Unit.slug == "tan-thanh"))
        other = accounts.create_user(by=None, phone="0912345014", full_name="Chỉ huy tỉnh khác", role=Role.COMMANDER,
                                     commune=get_or_create_unit("Xã Xa", UnitKind.COMMUNE, get_or_create_unit(
                                         "Tỉnh Cao Bằng", UnitKind.PROVINCE, None)))
        db.session.commit()
        ids = {"other": other.id, "officer": U("officer").id, "demo_chief": U("commander").id}
    r = admin.post(f"/province/communes/{cid}/commander",
                   data={"full_name": "Hà Văn Sơn", "phone": "0912345015", "client_key": "commander-key-0015"})
    first = code_on(r.get_data(as_text=True))
    with app.app_context():
        chief = U("0912345015").id
    assert "Cấp mã kích hoạt mới" in admin.get(f"/province/communes/{cid}").get_data(as_text=True)
    r = admin.post(f"/province/commanders/{chief}/code")
    assert r.status_code == 200
    second = code_on(r.get_data(as_text=True))
    assert second != first
    assert app.test_client().get(f"/activate/{first}").status_code == 404  # the lost one stops working
    activate(app, second)
    # Once in use, no new code from here.
    r = admin.post(f"/province/commanders/{chief}/code")
    assert r.status_code == 409 and 'class="code big"' not in r.get_data(as_text=True)
    assert admin.post(f"/province/commanders/{ids['demo_chief']}/code").status_code == 409
    for uid in (ids["other"], ids["officer"], 999999, "abc"):
        assert admin.post(f"/province/commanders/{uid}/code").status_code == 404, uid
