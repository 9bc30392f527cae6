"""Several communes on one deployment: each its own address for anonymous tips, its own aliases, a poster."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from zaloan import accounts, communes, qr
from zaloan.extensions import db
from zaloan.models import Category, Informant, Role, Tip, Unit, UnitKind

from .conftest import make_app
from .helpers import U


def second_commune(app) -> dict:
    """Add "Xã Hữu Lũng" with one village and an officer; return ids."""
    with app.app_context():
        commune = communes.create_commune("Xã Hữu Lũng", "Tỉnh Lạng Sơn")
        village = communes.get_or_create_unit("Thôn Làng Bên", UnitKind.VILLAGE, commune)
        officer = accounts.create_user(by=None, phone="0911000002", full_name="Trần Văn Bên", role=Role.OFFICER,
                                       commune=commune)
        village.officer_id = officer.id
        db.session.commit()
        return {"commune": commune.id, "slug": commune.slug, "village": village.id, "officer": officer.id}


def test_a_commune_gets_its_address_from_its_name():
    assert communes.slug_for("Xã Yên Thường") == "yen-thuong"
    assert communes.slug_for("Phường Đống Đa") == "dong-da"
    assert communes.slug_for("Thị trấn Trâu Quỳ") == "trau-quy"
    assert communes.slug_for("Xã Ea H'Leo") == "ea-h-leo"


def test_two_communes_with_one_name_get_two_addresses(app):
    with app.app_context():
        a = communes.create_commune("Xã Tân Thành", "Tỉnh Lạng Sơn")
        b = communes.create_commune("Xã Tân Thành", "Tỉnh Bắc Giang")
        db.session.commit()
        assert a.slug == "tan-thanh" and b.slug == "tan-thanh-2"


def test_each_commune_has_its_own_tip_page_and_a_tip_goes_to_that_commune(app, client):
    other = second_commune(app)
    page = client.get(f"/x/{other['slug']}/report/").get_data(as_text=True)
    assert "Thôn Làng Bên" in page and "Thôn Đồng Bé" not in page
    assert f'action="/x/{other["slug"]}/report/"' in page and f'/x/{other["slug"]}/report/places' in page
    with app.app_context():
        cat = db.session.scalar(select(Category.id).where(Category.commune_id == other["commune"],
                                                          Category.code == "theft"))
    r = client.post(f"/x/{other['slug']}/report/", data={
        "category_id": str(cat), "body": "Mất trộm trâu ở bãi chăn.", "village_id": str(other["village"]),
        "watch_point_id": "0", "place_text": "", "urgency": "2", "client_key": "x-commune-key-01"})
    assert r.status_code == 200
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "x-commune-key-01"))
        assert tip.commune_id == other["commune"] and tip.village_id == other["village"]
    # A village of the other commune is refused on this commune's form: nothing is made.
    with app.app_context():
        first_village = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))
    r = client.post(f"/x/{other['slug']}/report/", data={
        "category_id": str(cat), "body": "Thử thôn của xã khác.", "village_id": str(first_village),
        "watch_point_id": "0", "urgency": "2", "client_key": "x-commune-key-02"})
    assert r.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Tip.id).where(Tip.client_key == "x-commune-key-02")) is None


def test_the_plain_address_answers_for_a_single_commune_and_lists_them_when_there_are_several(app, client):
    single = client.get("/report/").get_data(as_text=True)
    assert "Thôn Đồng Bé" in single and "/x/tan-thanh/report/places" in single
    other = second_commune(app)
    listing = client.get("/report/")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and 'href="/x/tan-thanh/report/"' in html
    assert f'href="/x/{other["slug"]}/report/"' in html and "Thôn Đồng Bé" not in html
    assert client.get("/report/places").status_code == 404


def test_an_unknown_commune_address_is_a_404(client):
    for path in ("/x/no-such-commune/report/", "/x/no-such-commune/report/places", "/x/" + "a" * 300 + "/report/"):
        assert client.get(path).status_code == 404


def test_aliases_are_numbered_in_each_commune(app):
    other = second_commune(app)
    with app.app_context():
        commune = db.session.get(Unit, other["commune"])
        person = accounts.create_user(by=U("+84911000002"), phone="0911000100", full_name="Lê Thị Mới",
                                      role=Role.INFORMANT, commune=commune)
        db.session.commit()
        assert person.informant.alias == "NT-0001"
        assert db.session.scalar(select(Informant.alias).where(Informant.commune_id != other["commune"],
                                                              Informant.alias == "NT-0001")) is not None


def test_the_poster_holds_the_communes_own_address_as_a_qr_code(tmp_path, database_url):
    app = make_app(tmp_path, database_url, BASE_URL="https://zaloan.example.vn")
    c = app.test_client()
    headers = {"Host": "zaloan.example.vn"}
    c.post("/login", data={"phone": "0900000001", "password": "demo-1234"}, headers=headers,
           base_url="https://zaloan.example.vn")
    r = c.get("/commander/poster", base_url="https://zaloan.example.vn")
    html = r.get_data(as_text=True)
    address = "https://zaloan.example.vn/x/tan-thanh/report/"
    assert r.status_code == 200 and address in html
    assert f'd="{qr.drawing(address).path}"' in html and f'aria-label="Mã QR của địa chỉ {address}"' in html
    assert "<script" not in html.split('class="card poster"')[1]


def test_only_police_of_the_commune_print_the_poster(app, login_as):
    assert login_as("officer").get("/commander/poster").status_code == 200
    for who in ("verifier", "informant", "observer"):
        assert login_as(who).get("/commander/poster").status_code in (403, 404)


def test_the_migration_gives_existing_communes_an_address_and_keeps_aliases(tmp_path, empty_database_url):
    app = make_app(tmp_path, empty_database_url)
    units = sa.table("units", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("name", sa.String),
                     sa.column("parent_id", sa.Integer), sa.column("created_at", sa.DateTime))
    with app.app_context():
        upgrade(revision="0008")
        now = sa.func.current_timestamp()
        db.session.execute(sa.insert(units).values(id=1, kind="province", name="Tỉnh Lạng Sơn", created_at=now))
        for i, name in ((2, "Xã Tân Thành"), (3, "Xã Tân Thành"), (4, "Phường Đống Đa")):
            db.session.execute(sa.insert(units).values(id=i, kind="commune", name=name, parent_id=1, created_at=now))
        # Informants (the table the migration copies), with users pointing at them and at the communes.
        for uid, commune_id, alias in ((10, 2, "NT-0001"), (11, 3, "NT-0002"), (12, 4, "NT-0003")):
            db.session.execute(sa.text(
                "INSERT INTO users (id, phone, full_name, role, commune_id, active, position, created_at) "
                "VALUES (:id, :phone, 'Người thử', 'informant', :c, :t, '', CURRENT_TIMESTAMP)"),
                {"id": uid, "phone": f"+8491100{uid:04d}", "c": commune_id, "t": True})
            db.session.execute(sa.text(
                "INSERT INTO informants (id, user_id, alias, commune_id, created_at) "
                "VALUES (:id, :id, :alias, :c, CURRENT_TIMESTAMP)"), {"id": uid, "alias": alias, "c": commune_id})
        db.session.commit()
        upgrade()
        aliases = dict(db.session.execute(sa.text("SELECT id, alias FROM informants ORDER BY id")).all())
        assert aliases == {10: "NT-0001", 11: "NT-0002", 12: "NT-0003"}
        slugs = dict(db.session.execute(sa.text("SELECT id, slug FROM units ORDER BY id")).all())
        assert slugs == {1: None, 2: "tan-thanh", 3: "tan-thanh-2", 4: "dong-da"}
        db.session.rollback()  # a read on SQLite holds the write lock here (BEGIN IMMEDIATE)
        downgrade(revision="0008")
        assert "slug" not in {c["name"] for c in sa.inspect(db.engine).get_columns("units")}
        upgrade()
        db.engine.dispose()
