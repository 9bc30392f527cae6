"""Announcements: each audience reads its own, never another's; read counts; scheduled, withdrawn, pinned;
the commune's public page shows only public ones and nothing of its members."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from zaloan import accounts, announcements, images
from zaloan.extensions import db
from zaloan.models import Announcement, AnnouncementRead, AuditEvent, Role, Unit, utcnow

from .helpers import U
from .test_access_matrix import session_client


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 90, 200)).save(buf, "JPEG")
    return buf.getvalue()


def village(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def post(by: str, audience: str, title: str, **kw) -> int:
    a, _created = announcements.post(by=U(by), title=title, body=kw.pop("body", "Nội dung thông báo."),
                                     audience=audience, **kw)
    db.session.commit()
    return a.id


@pytest.fixture
def informant_of_b(app):
    """An informant handled by the second officer (the demo's two informants are the first officer's)."""
    with app.app_context():
        person = accounts.create_user(by=None, phone="0900000019", full_name="Lò Thị Mai", role=Role.INFORMANT,
                                      commune=U("commander").commune, handler=U("officer2"))
        db.session.commit()
        return person.phone


@pytest.fixture
def posted(app):
    """One announcement for each kind of audience, by the commander."""
    with app.app_context():
        officer, officer2 = U("officer"), U("officer2")
        ids = {
            "members": post("commander", "members", "Họp toàn thể thành viên tối thứ Bảy"),
            "inf_a": post("commander", f"informants:{officer.id}", "Nhờ các bạn để ý chợ phiên sáng mai"),
            "inf_b": post("commander", f"informants:{officer2.id}", "Nhờ để ý quán ăn đầu cầu tối nay"),
            "ver_1": post("commander", f"verifiers:{village('Thôn Đồng Bé').id}", "Xác minh trong ngày ở Đồng Bé"),
            "ver_4": post("commander", f"verifiers:{village('Thôn Trung Tâm').id}", "Lịch trực ngã tư Trung Tâm"),
            "ver_all": post("commander", "verifiers:all", "Tập huấn xác minh cho trưởng thôn"),
            "public": post("commander", "public", "Cảnh giác lừa đảo qua điện thoại"),
        }
        return ids


TITLES = {
    "members": "Họp toàn thể thành viên tối thứ Bảy",
    "inf_a": "Nhờ các bạn để ý chợ phiên sáng mai",
    "inf_b": "Nhờ để ý quán ăn đầu cầu tối nay",
    "ver_1": "Xác minh trong ngày ở Đồng Bé",
    "ver_4": "Lịch trực ngã tư Trung Tâm",
    "ver_all": "Tập huấn xác minh cho trưởng thôn",
    "public": "Cảnh giác lừa đảo qua điện thoại",
}
HOMES = {"informant": "/informant/", "verifier": "/verifier/", "verifier2": "/verifier/", "officer": "/officer/",
         "officer2": "/officer/"}


@pytest.mark.parametrize("who,sees", [
    ("informant", {"members", "inf_a"}),
    ("0900000019", {"members", "inf_b"}),
    ("verifier", {"members", "ver_1", "ver_all"}),
    ("verifier2", {"members", "ver_4", "ver_all"}),
    ("officer", {"members"}),
])
def test_each_member_reads_their_audiences_and_never_anothers(app, posted, informant_of_b, who, sees):
    client = session_client(app, who)
    home = HOMES.get(who, "/informant/")
    for page in (home, "/news/"):
        html = client.get(page).get_data(as_text=True)
        shown = {k for k, title in TITLES.items() if title in html}
        assert shown == sees, f"{page} as {who}: {shown}"
    # Not addressed to them: its photo and its "seen" button answer 404, like a missing one.
    for key in set(TITLES) - sees:
        assert client.post(f"/news/{posted[key]}/read").status_code == 404
        assert client.get(f"/news/{posted[key]}/photo").status_code == 404


def test_seen_moves_an_announcement_off_the_home_page_and_is_counted_for_its_author(app, posted):
    an = session_client(app, "informant")
    assert TITLES["inf_a"] in an.get("/informant/").get_data(as_text=True)
    resp = an.post(f"/news/{posted['inf_a']}/read", data={"next": "/informant/"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/informant/")
    assert an.post(f"/news/{posted['inf_a']}/read").status_code == 303  # a second tap counts once
    assert TITLES["inf_a"] not in an.get("/informant/").get_data(as_text=True)
    assert TITLES["inf_a"] in an.get("/news/").get_data(as_text=True)  # still in the list of all
    # A link elsewhere is never followed after the tap.
    assert "evil" not in an.post(f"/news/{posted['members']}/read", data={"next": "//evil.example/"}) \
        .headers["Location"]
    with app.app_context():
        a = db.session.get(Announcement, posted["inf_a"])
        assert announcements.read_counts([a])[a.id] == (1, 2)  # one of the officer's two informants
        assert db.session.scalar(select(func.count(AnnouncementRead.id))) == 2
    page = session_client(app, "commander").get("/news/manage").get_data(as_text=True)
    block = page.split(TITLES["inf_a"])[1].split("</li>")[0]
    assert re.search(r"\b1\D+2\b", block), block
    assert "Nguyễn Văn An" not in page and "NT-" not in page  # counts, never who


def test_a_pinned_announcement_stays_on_the_home_page_after_it_is_seen(app, posted):
    boss = session_client(app, "commander")
    assert boss.post(f"/news/{posted['members']}/pin", data={"pinned": "y"}).status_code == 303
    an = session_client(app, "informant")
    an.post(f"/news/{posted['members']}/read")
    html = an.get("/informant/").get_data(as_text=True)
    assert "📌 " + TITLES["members"] in html
    assert boss.post(f"/news/{posted['members']}/pin", data={}).status_code == 303
    assert TITLES["members"] not in an.get("/informant/").get_data(as_text=True)
    with app.app_context():
        assert [r.data["pinned"] for r in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "announcement.pin").order_by(AuditEvent.id))] == [True, False]


def test_a_scheduled_announcement_shows_only_from_its_time(app):
    with app.app_context():
        aid = post("commander", "members", "Thông báo hẹn giờ", shows_from=utcnow() + timedelta(hours=3))
    an = session_client(app, "informant")
    assert "Thông báo hẹn giờ" not in an.get("/informant/").get_data(as_text=True)
    assert an.post(f"/news/{aid}/read").status_code == 404
    assert "Thông báo hẹn giờ" in session_client(app, "commander").get("/news/manage").get_data(as_text=True)
    with app.app_context():
        db.session.get(Announcement, aid).shows_from = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert "Thông báo hẹn giờ" in an.get("/informant/").get_data(as_text=True)


def test_a_scheduled_announcement_shows_when_its_time_comes(app, monkeypatch):
    """The home's query is made once; the time it compares with is the time of each visit, and the list
    kept for the member (zaloan.kept) is kept only until the scheduled time."""
    from zaloan import announcements, kept

    with app.app_context():
        post("commander", "members", "Thông báo hẹn giờ", shows_from=utcnow() + timedelta(hours=3))
    an = session_client(app, "informant")
    assert "Thông báo hẹn giờ" not in an.get("/informant/").get_data(as_text=True)
    later = utcnow() + timedelta(hours=3, minutes=1)
    monkeypatch.setattr(announcements, "utcnow", lambda: later)
    monkeypatch.setattr(kept, "utcnow", lambda: later)  # the home's list was kept until then
    assert "Thông báo hẹn giờ" in an.get("/informant/").get_data(as_text=True)


def test_the_form_takes_vietnam_time_and_stores_utc(app):
    boss = session_client(app, "commander")
    resp = boss.post("/news/new", data={"client_key": "sched-key-0001", "title": "Hẹn giờ", "audience": "members",
                                        "shows_from": "2099-01-02T08:30"})
    assert resp.status_code == 422  # more than a year ahead
    local = (utcnow() + timedelta(hours=7 + 5)).strftime("%Y-%m-%dT%H:%M")
    resp = boss.post("/news/new", data={"client_key": "sched-key-0002", "title": "Hẹn giờ", "audience": "members",
                                        "shows_from": local})
    assert resp.status_code == 303
    with app.app_context():
        a = db.session.scalar(select(Announcement).where(Announcement.client_key == "sched-key-0002"))
        assert a.shows_from.strftime("%Y-%m-%dT%H:%M") == (utcnow() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")


def test_a_withdrawn_announcement_is_shown_to_nobody_but_kept(app, posted):
    boss = session_client(app, "commander")
    assert boss.post(f"/news/{posted['members']}/withdraw").status_code == 303
    assert boss.post(f"/news/{posted['members']}/withdraw").status_code == 303  # twice: nothing more
    for who in ("informant", "verifier", "officer"):
        client = session_client(app, who)
        assert TITLES["members"] not in client.get(HOMES[who]).get_data(as_text=True)
        assert TITLES["members"] not in client.get("/news/").get_data(as_text=True)
    assert client.post(f"/news/{posted['members']}/read").status_code == 404
    manage = boss.get("/news/manage").get_data(as_text=True)
    assert TITLES["members"] in manage
    with app.app_context():
        a = db.session.get(Announcement, posted["members"])
        assert a is not None and a.withdrawn_at is not None and a.withdrawn_by_id == U("commander").id
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "announcement.withdraw")) == 1


def test_officers_address_their_own_informants_and_villages_only(app):
    officer = session_client(app, "officer")
    with app.app_context():
        mine, other = U("officer").id, U("officer2").id
        v1, v4 = village("Thôn Đồng Bé").id, village("Thôn Trung Tâm").id
    page = officer.get("/news/new").get_data(as_text=True)
    assert f'value="informants:{mine}"' in page and f'value="verifiers:{v1}"' in page
    assert f'value="informants:{other}"' not in page and f'value="verifiers:{v4}"' not in page
    assert 'value="members"' not in page
    for n, audience in enumerate((f"informants:{other}", f"verifiers:{v4}", "members", "verifiers:all", "junk")):
        resp = officer.post("/news/new", data={"client_key": f"refused-key-{n:04d}", "title": "Thử",
                                               "audience": audience})
        assert resp.status_code == 422, audience
        assert "Xin chọn thông báo này dành cho ai." in resp.get_data(as_text=True)
    # An officer manages only their own; another officer's answers 404.
    assert officer.post("/news/new", data={"client_key": "own-key-00001", "title": "Của tôi",
                                           "audience": f"verifiers:{v1}"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Announcement.id))) == 1
        own = db.session.scalar(select(Announcement.id))
    assert session_client(app, "officer2").post(f"/news/{own}/withdraw").status_code == 404
    assert "Của tôi" not in session_client(app, "officer2").get("/news/manage").get_data(as_text=True)
    assert "Của tôi" in session_client(app, "commander").get("/news/manage").get_data(as_text=True)


def test_a_retried_post_makes_one_announcement_and_bad_input_changes_nothing(app):
    boss = session_client(app, "commander")
    data = {"client_key": "retry-key-0001", "title": "Một lần thôi", "body": "Gửi lại vẫn là một.",
            "audience": "members"}
    assert boss.post("/news/new", data=data).status_code == 303
    assert boss.post("/news/new", data=data).status_code == 303
    resp = boss.post("/news/new", data={**data, "title": "Nội dung khác"})
    assert resp.status_code == 422
    for bad in ({"title": ""}, {"title": "x" * 121}, {"audience": ""}, {"client_key": "x"},
                {"shows_from": "ngày mai"}, {"body": "y" * 2001}):
        assert boss.post("/news/new", data={**data, "client_key": "retry-key-0002", **bad}).status_code == 422, bad
    with app.app_context():
        assert db.session.scalar(select(func.count(Announcement.id))) == 1
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "announcement.post")) == 1


def test_a_photo_is_cleaned_and_served_only_to_its_audience(app):
    boss = session_client(app, "commander")
    with app.app_context():
        v1 = village("Thôn Đồng Bé").id
    resp = boss.post("/news/new", data={"client_key": "photo-key-0001", "title": "Ảnh đối tượng lừa đảo",
                                        "audience": f"verifiers:{v1}", "photo": (io.BytesIO(jpeg()), "a.jpg")},
                     content_type="multipart/form-data")
    assert resp.status_code == 303
    refused = boss.post("/news/new", data={"client_key": "photo-key-0002", "title": "Ảnh hỏng",
                                           "audience": "members", "photo": (io.BytesIO(b"not a photo"), "x.jpg")},
                        content_type="multipart/form-data")
    assert refused.status_code == 422 and "Chỉ gửi được ảnh" in refused.get_data(as_text=True)
    with app.app_context():
        a = db.session.scalar(select(Announcement))
        assert db.session.scalar(select(func.count(Announcement.id))) == 1
    home = session_client(app, "verifier").get("/verifier/").get_data(as_text=True)
    assert f"/news/{a.id}/photo/thumb" in home
    for path in (f"/news/{a.id}/photo", f"/news/{a.id}/photo/thumb"):
        got = session_client(app, "verifier").get(path)
        assert got.status_code == 200 and got.mimetype == "image/jpeg"
        assert session_client(app, "verifier2").get(path).status_code == 404
        assert session_client(app, "informant").get(path).status_code == 404
        assert session_client(app, "commander").get(path).status_code == 200
        assert session_client(app, "anonymous").get(path).status_code in (302, 401)
        assert session_client(app, "anonymous").get(f"/x/tan-thanh/news/{a.id}/photo").status_code == 404


def test_the_public_page_shows_public_announcements_and_nothing_of_the_members(app, posted):
    with app.app_context():
        private_ids = [v for k, v in posted.items() if k != "public"]
        names = [u.full_name for u in (U("informant"), U("informant2"), U("verifier"), U("officer"))]
    anyone = session_client(app, "anonymous")
    for path in ("/x/tan-thanh/", "/x/tan-thanh/report/"):
        resp = anyone.get(path)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert TITLES["public"] in html
        assert not [t for k, t in TITLES.items() if k != "public" and t in html]
        assert not [n for n in names if n in html] and "NT-" not in html
    page = anyone.get("/x/tan-thanh/").get_data(as_text=True)
    assert 'href="/x/tan-thanh/report/"' in page and 'href="tel:113"' in page and 'href="tel:0900000113"' in page
    assert "<script" not in page.split("</head>")[1]  # nothing on the page needs JavaScript
    assert anyone.get("/x/no-such-commune/").status_code == 404
    for aid in private_ids:
        assert anyone.get(f"/x/tan-thanh/news/{aid}/photo").status_code == 404


def test_a_public_photo_is_served_to_anyone_at_its_communes_address(app):
    with app.app_context():
        photo = images.store(jpeg())
        aid = post("commander", "public", "Ảnh tuyên truyền", photo=photo)
    anyone = session_client(app, "anonymous")
    html = anyone.get("/x/tan-thanh/").get_data(as_text=True)
    assert f"/x/tan-thanh/news/{aid}/photo?thumb=1" in html.replace("&amp;", "&")
    assert anyone.get(f"/x/tan-thanh/news/{aid}/photo").mimetype == "image/jpeg"
    assert anyone.get(f"/x/tan-thanh/news/{aid}/photo?thumb=1").status_code == 200
    with app.app_context():
        from zaloan import communes

        other = communes.create_commune("Xã Minh Tiến", "Tỉnh Lạng Sơn")
        db.session.commit()
        slug = other.slug
    assert anyone.get(f"/x/{slug}/news/{aid}/photo").status_code == 404  # another commune's address
    assert "Ảnh tuyên truyền" not in anyone.get(f"/x/{slug}/").get_data(as_text=True)
    session_client(app, "commander").post(f"/news/{aid}/withdraw")
    assert anyone.get(f"/x/tan-thanh/news/{aid}/photo").status_code == 404
    assert "Ảnh tuyên truyền" not in anyone.get("/x/tan-thanh/").get_data(as_text=True)


def test_verifiers_and_observers_see_no_informant_and_no_tip(app, posted, login_as):
    from zaloan.models import TaskAssignment, VerificationTask

    from .secrecy import assert_verifier_never_sees, tip_secrets

    with app.app_context():
        tasks = db.session.scalars(select(VerificationTask).join(TaskAssignment)
                                   .where(TaskAssignment.verifier_id == U("verifier").id)).all()
        written = " ".join(f"{t.brief} {t.place_hint}" for t in tasks)
        tip_ids = sorted({t.tip_id for t in tasks})
    secrets = [s for t in tip_ids for s in tip_secrets(app, t)] + ["Trần Thị Bình"]
    visited = assert_verifier_never_sees(login_as("verifier"), secrets, tip_ids=tip_ids, written=written,
                                         extra_urls=["/news/"],
                                         extra_posts=[(f"/news/{posted['ver_1']}/read", {"next": "/verifier/"})])
    assert "/news/" in visited
    observer = session_client(app, "observer")
    for path in ("/news/", "/news/manage", f"/news/{posted['members']}/photo"):
        assert observer.get(path).status_code == 404


def test_the_public_page_is_as_light_as_the_tip_form(app, client):
    import brotli

    from .test_budgets import BR, NAV_BUDGET, PAGE_BUDGET, asset_urls, wire_size

    with app.app_context():
        for n in range(10):
            post("commander", "public", f"Thông báo số {n}: cảnh giác kẻ gian", body="Nội dung khá dài. " * 40,
                 photo=images.store(jpeg()))
    resp = client.get("/x/tan-thanh/", headers=BR)
    assert resp.status_code == 200
    assert wire_size(resp) <= NAV_BUDGET, f"the public page is {wire_size(resp)} bytes"
    html = brotli.decompress(resp.get_data()).decode()
    assert html.count('class="news') == 10
    scripts, styles = asset_urls(html)
    total = wire_size(resp) + sum(wire_size(client.get(u, headers=BR)) for u in styles + [s for s in scripts
                                                                                        if "htmx" not in s])
    assert total <= PAGE_BUDGET, f"the public page complete is {total} bytes"
    tip_form = client.get("/x/tan-thanh/report/", headers=BR)
    assert wire_size(tip_form) <= NAV_BUDGET


def test_a_refused_post_leaves_no_photo_file_behind(app):
    import os

    boss = session_client(app, "commander")
    folder = app.config["UPLOAD_FOLDER"]
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    ok = {"client_key": "files-key-0001", "title": "Có ảnh", "audience": "members"}
    assert boss.post("/news/new", data={**ok, "photo": (io.BytesIO(jpeg()), "a.jpg")},
                     content_type="multipart/form-data").status_code == 303
    kept = set(os.listdir(folder)) - before
    assert len(kept) == 2  # the photo and its thumbnail
    for data in ({**ok, "photo": (io.BytesIO(jpeg()), "a.jpg")},  # a retry: the first photo is the one kept
                 {**ok, "title": "Khác", "photo": (io.BytesIO(jpeg()), "a.jpg")},  # the key reused
                 {**ok, "client_key": "files-key-0002", "audience": "junk", "photo": (io.BytesIO(jpeg()), "a.jpg")},
                 {**ok, "client_key": "files-key-0003", "shows_from": "2099-01-01T08:00",
                  "photo": (io.BytesIO(jpeg()), "a.jpg")}):
        boss.post("/news/new", data=data, content_type="multipart/form-data")
        assert set(os.listdir(folder)) - before == kept, data["client_key"]


def test_the_lists_cost_a_fixed_number_of_queries(app):
    from .test_query_counts import queries

    with app.app_context():
        officer = U("officer").id
        for n in range(2):
            post("commander", "members", f"Ít {n}")
            post("commander", f"informants:{officer}", f"Ít cho NT {n}")
    boss, an = session_client(app, "commander"), session_client(app, "informant")
    before = {path: queries(app, c, path) for c, path in ((boss, "/news/manage"), (an, "/news/"),
                                                          (an, "/informant/"))}
    with app.app_context():
        for n in range(20):
            post("commander", "members", f"Nhiều {n}", photo=images.store(jpeg()))
            post("commander", f"informants:{officer}", f"Nhiều cho NT {n}")
    assert {path: queries(app, c, path) for c, path in ((boss, "/news/manage"), (an, "/news/"),
                                                        (an, "/informant/"))} == before


def test_the_announcement_list_is_as_light_as_the_tip_form(app, login_as):
    """Ten announcements with photos to every member: the informant's list and home still fit their budgets."""
    import brotli

    from .test_budgets import BR, NAV_BUDGET, PAGE_BUDGET, asset_urls, wire_size

    with app.app_context():
        for n in range(10):
            post("commander", "members", f"Thông báo số {n}: họp tổ an ninh", body="Nội dung khá dài. " * 40,
                 photo=images.store(jpeg()))
    informant = login_as("informant")
    for path in ("/news/", "/informant/"):
        resp = informant.get(path, headers=BR)
        assert resp.status_code == 200, path
        assert wire_size(resp) <= NAV_BUDGET, f"{path} is {wire_size(resp)} bytes"
        html = brotli.decompress(resp.get_data()).decode()
        scripts, styles = asset_urls(html)
        total = wire_size(resp) + sum(wire_size(informant.get(u, headers=BR))
                                      for u in styles + [s for s in scripts if "htmx" not in s])
        assert total <= PAGE_BUDGET, f"{path} complete is {total} bytes"
    assert "Thông báo số 9" in brotli.decompress(informant.get("/news/", headers=BR).get_data()).decode()
