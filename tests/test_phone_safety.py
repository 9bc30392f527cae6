"""A phone that does not betray its owner: neutral name, quick exit, PIN lock after idle time, clearing traces."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from zaloan import accounts
from zaloan.extensions import db
from zaloan.models import CommuneSettings, Message, PhoneLock, SessionLock, Tip, UserSession, utcnow
from zaloan.permissions import ANY_USER, access_rule

from .helpers import U

SECRET = "Xe tải biển 29C chở gỗ lậu qua cầu tối nay"
POLICE_WORDS = ("công an", "an ninh", "zalo", "tin báo", "cộng tác viên", "police", "security")


def own_tip(app) -> Tip:
    """Give the informant's first tip a text a title must never carry; return its id and code."""
    with app.app_context():
        t = db.session.scalar(select(Tip).where(Tip.informant_id == U("informant").informant.id).order_by(Tip.id))
        t.body = SECRET
        db.session.commit()
        return t.id, t.code


def informant_pages(app, tip_id):
    """Every GET page an informant may open (from the URL map, so a new page is checked too)."""
    out = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in ("static", "safety.neutral", "safety.manifest"):
                continue
            who = access_rule(rule.endpoint) or frozenset()
            if "informant" not in who and ANY_USER not in who:
                continue
            if rule.endpoint.startswith(("photos.", "voices.")) or rule.endpoint in (
                    "auth.index", "safety.unlock", "informant.places", "channel.places", "notifications.count"):
                continue  # a photo or a voice is not a page; two only redirect; place fields and the count are fragments
            if set(rule.arguments) - {"tip_id"}:
                continue
            out.append(rule.build({"tip_id": tip_id} if "tip_id" in rule.arguments else {})[1])
    assert "/informant/" in out and f"/informant/tips/{tip_id}" in out and "/informant/safety" in out
    return sorted(set(out))


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def test_every_informant_page_has_the_neutral_title_a_quick_exit_and_no_store(app, login_as):
    tip_id, code = own_tip(app)
    c = login_as("informant")
    for url in informant_pages(app, tip_id):
        r = c.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        title = title_of(html)
        assert title == "Sổ tay", (url, title)
        assert SECRET[:10] not in title and code not in title
        assert re.search(r'<a class="exit" href="/s/" data-quick-exit', html), url
        assert r.headers["Cache-Control"] == "no-store", url
        assert "🛡️" not in html, url
        if url != "/rules/":  # the operating rules are the commune's own text, which names the model
            assert "Zalo an ninh" not in html, url


def test_police_pages_keep_their_own_look(app, login_as):
    html = login_as("officer").get("/officer/").get_data(as_text=True)
    assert "data-quick-exit" not in html and "Sổ tay" not in title_of(html)


def test_the_commune_chooses_the_neutral_name(app, login_as):
    with app.app_context():
        settings = CommuneSettings.of(U("informant").commune_id)
        settings.notebook_name = "Ghi chép vườn"
        db.session.add(settings)
        db.session.commit()
    c = login_as("informant")
    assert title_of(c.get("/informant/").get_data(as_text=True)) == "Ghi chép vườn"
    manifest = c.get("/manifest.webmanifest").get_json()
    assert manifest["name"] == manifest["short_name"] == "Ghi chép vườn"


def test_manifest_and_plain_page_carry_no_word_of_the_app(app, client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json" and manifest.get_json()["name"] == "Sổ tay"
    r = client.get("/s/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and title_of(html) == "Sổ tay" and r.headers["Cache-Control"] == "no-store"
    assert not [w for w in POLICE_WORDS if w in html.lower()]
    assert "<script>" not in html and "style=" not in html


# --- The PIN lock --------------------------------------------------------------------------------


def set_pin(c, pin="2468", idle=5):
    r = c.post("/informant/pin", data={"pin": pin, "again": pin, "idle": str(idle)})
    assert r.status_code == 303, r.get_data(as_text=True)


def go_idle(app, minutes=6):
    """Move every session's last activity back, as if the phone had been left alone."""
    with app.app_context():
        for row in db.session.scalars(select(SessionLock)):
            row.active_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


def is_lock_page(r) -> bool:
    html = r.get_data(as_text=True)
    return 'id="unlock"' in html and 'name="pin"' in html


def assert_shows_nothing(r):
    html = r.get_data(as_text=True)
    assert is_lock_page(r), html[:300]
    assert ">Mở</button>" in html and "plain-look" not in html  # its own plain page, not an app page
    assert SECRET not in html and "Tin của tôi" not in html and 'class="nav"' not in html
    assert title_of(html) == "Sổ tay" and not [w for w in POLICE_WORDS if w in html.lower()]


@pytest.mark.parametrize("pin,again,words", [
    ("12a4", "12a4", "4 đến 6 chữ số"), ("123", "123", "4 đến 6 chữ số"), ("1234567", "1234567", "4 đến 6 chữ số"),
    ("2468", "2469", "không giống nhau"),
])
def test_a_bad_pin_is_refused_in_words_and_nothing_is_kept(app, login_as, pin, again, words):
    c = login_as("informant")
    r = c.post("/informant/pin", data={"pin": pin, "again": again, "idle": "5"})
    assert r.status_code == 422 and words in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PhoneLock, U("informant").id) is None


def test_the_pin_is_kept_as_a_hash(app, login_as):
    set_pin(login_as("informant"), "2468", 15)
    with app.app_context():
        row = db.session.get(PhoneLock, U("informant").id)
        assert "2468" not in row.pin_hash and row.pin_hash.startswith(("scrypt:", "pbkdf2:")) and row.idle_minutes == 15


def test_while_in_use_the_pages_stay_open(app, login_as):
    tip_id, _code = own_tip(app)
    c = login_as("informant")
    set_pin(c)
    go_idle(app, minutes=4)  # less than the five minutes chosen
    assert SECRET in c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)


def test_an_idle_session_shows_the_pin_page_for_every_page_and_fragment(app, login_as):
    tip_id, _code = own_tip(app)
    c = login_as("informant")
    set_pin(c)
    go_idle(app)
    for url in informant_pages(app, tip_id) + ["/informant/tips/new/places?village_id=1"]:
        assert_shows_nothing(c.get(url))
    # An htmx fragment is answered with the PIN page and sends the whole page there.
    r = c.get("/informant/tips/new/places", headers={"HX-Request": "true", "HX-Target": "place-field",
                                                     "HX-Current-URL": "http://localhost/informant/tips/new"})
    assert_shows_nothing(r)
    assert r.headers["HX-Redirect"].startswith("/informant/unlock?next=/informant/tips/new")
    # A photo of the informant's own tip is not shown either.
    with app.app_context():
        before = db.session.scalar(select(func.count(Message.id)))
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Bổ sung", "client_key": "locked-0001"},
               headers={"HX-Request": "true", "HX-Target": "thread"})
    assert_shows_nothing(r)
    with app.app_context():
        assert db.session.scalar(select(func.count(Message.id))) == before  # nothing was done behind the lock


def test_the_right_pin_opens_where_the_person_was(app, login_as):
    tip_id, _code = own_tip(app)
    c = login_as("informant")
    set_pin(c, "2468")
    go_idle(app)
    assert_shows_nothing(c.get(f"/informant/tips/{tip_id}"))
    r = c.post("/informant/unlock", data={"pin": "2468", "next": f"/informant/tips/{tip_id}"})
    assert r.status_code == 303 and r.headers["Location"] == f"/informant/tips/{tip_id}"
    assert SECRET in c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)


def test_the_lock_refuses_a_next_address_off_the_site(app, login_as):
    c = login_as("informant")
    set_pin(c, "2468")
    go_idle(app)
    r = c.post("/informant/unlock", data={"pin": "2468", "next": "//evil.example/x"})
    assert r.status_code == 303 and "evil" not in r.headers["Location"]


def test_wrong_pins_are_slowed_and_the_fifth_ends_the_session(app, login_as):
    tip_id, _code = own_tip(app)
    c = login_as("informant")
    set_pin(c, "2468")
    go_idle(app)

    def back_in_time():
        with app.app_context():
            for row in db.session.scalars(select(SessionLock)):
                row.failed_at = utcnow() - timedelta(minutes=5)
            db.session.commit()

    r = c.post("/informant/unlock", data={"pin": "1111"})
    assert r.status_code == 422 and "không đúng" in r.get_data(as_text=True) and is_lock_page(r)
    r = c.post("/informant/unlock", data={"pin": "2222"})
    assert r.status_code == 422
    # Too soon after the second wrong PIN: refused without being tried, even the right one.
    r = c.post("/informant/unlock", data={"pin": "2468"})
    assert r.status_code == 429 and "Hãy đợi" in r.get_data(as_text=True)
    assert_shows_nothing(c.get(f"/informant/tips/{tip_id}"))
    for wrong in ("3333", "4444"):
        back_in_time()
        assert c.post("/informant/unlock", data={"pin": wrong}).status_code == 422
    back_in_time()
    r = c.post("/informant/unlock", data={"pin": "5555"})
    assert r.status_code == 303 and r.headers["Location"] == "/s/"
    with app.app_context():
        live = db.session.scalar(select(func.count(UserSession.id)).where(
            UserSession.user_id == U("informant").id, UserSession.revoked_at.is_(None)))
        assert live == 0
    r = c.get(f"/informant/tips/{tip_id}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    # The right PIN no longer helps: the session is gone.
    assert c.post("/informant/unlock", data={"pin": "2468"}).status_code == 302


def test_removing_the_pin_stops_the_lock(app, login_as):
    tip_id, _code = own_tip(app)
    c = login_as("informant")
    set_pin(c)
    assert c.post("/informant/pin/remove").status_code == 303
    go_idle(app)
    assert SECRET in c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)


def test_a_locked_session_may_still_sign_out_and_reach_the_plain_page(app, login_as):
    c = login_as("informant")
    set_pin(c)
    go_idle(app)
    assert c.get("/s/").status_code == 200
    r = c.post("/logout")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- Clearing traces -----------------------------------------------------------------------------


def test_clear_traces_signs_out_and_asks_the_browser_to_forget(app, login_as):
    c = login_as("informant")
    guide = c.get("/informant/safety").get_data(as_text=True)
    assert 'action="/informant/clear"' in guide and "Xóa dấu vết trên máy này" in guide
    c.set_cookie(accounts.DEVICE_COOKIE, "x.y")
    r = c.post("/informant/clear")
    assert r.status_code == 200
    assert '"cache"' in r.headers["Clear-Site-Data"] and '"storage"' in r.headers["Clear-Site-Data"]
    html = r.get_data(as_text=True)
    assert 'data-forget-here="1"' in html and not [w for w in POLICE_WORDS if w in html.lower()]
    gone = [h for h in r.headers.getlist("Set-Cookie") if h.startswith(accounts.DEVICE_COOKIE + "=")]
    assert gone and ("Max-Age=0" in gone[0] or "expires=Thu, 01 Jan 1970" in gone[0])
    with app.app_context():
        rows = db.session.scalars(select(UserSession).where(UserSession.user_id == U("informant").id)).all()
        assert rows and all(s.revoked_at is not None for s in rows)
        assert all(s.device_revoked_at is not None for s in rows)
    r = c.get("/informant/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_home_links_the_safety_guide_in_plain_words(app, login_as):
    c = login_as("informant")
    assert 'href="/informant/safety"' in c.get("/informant/").get_data(as_text=True)
    html = c.get("/informant/safety").get_data(as_text=True)
    assert "113" in html and "PIN" in html and "Thoát nhanh" in html


# --- The commune's neutral name ------------------------------------------------------------------


def test_the_commander_sets_the_neutral_name_and_it_is_audited(app, login_as):
    from zaloan.models import AuditEvent

    c = login_as("commander")
    page = c.get("/commander/settings").get_data(as_text=True)
    assert 'action="/commander/settings/notebook-name"' in page
    r = c.post("/commander/settings/notebook-name", data={"name": "  Sổ chợ  "})
    assert r.status_code == 303
    with app.app_context():
        assert CommuneSettings.of(U("commander").commune_id).notebook_name == "Sổ chợ"
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commune.settings")
                                .order_by(AuditEvent.id.desc()))
        assert row is not None
    assert title_of(login_as("informant").get("/informant/").get_data(as_text=True)) == "Sổ chợ"


@pytest.mark.parametrize("name", ["Công an xã", "Zalo an ninh", "cong an", "x" * 41])
def test_a_name_that_gives_the_app_away_is_refused(app, login_as, name):
    c = login_as("commander")
    r = c.post("/commander/settings/notebook-name", data={"name": name})
    assert r.status_code == 422 and 'role="alert"' in r.get_data(as_text=True)
    with app.app_context():
        assert CommuneSettings.of(U("commander").commune_id).notebook_name == ""


def test_only_the_commander_sets_the_name(app, login_as):
    for who in ("officer", "informant"):
        assert login_as(who).post("/commander/settings/notebook-name", data={"name": "Sổ"}).status_code == 404


def test_a_session_left_open_elsewhere_is_locked_when_the_pin_is_set(app, login_as):
    """The PIN set on one phone also locks a session left idle on another, from that session's last use."""
    import secrets

    tip_id, _code = own_tip(app)
    token = secrets.token_urlsafe(32)
    with app.app_context():
        uid = U("informant").id
        then = utcnow() - timedelta(minutes=20)
        db.session.add(UserSession(user_id=uid, token_hash=accounts.sha256(token), created_at=then,
                                   last_seen_at=then, expires_at=utcnow() + timedelta(days=1)))
        db.session.commit()
    left_behind = app.test_client()
    with left_behind.session_transaction() as s:
        s["sid"], s["_user_id"], s["_fresh"] = token, str(uid), True
    set_pin(login_as("informant"))
    after = left_behind.get(f"/informant/tips/{tip_id}")
    assert is_lock_page(after) and SECRET not in after.get_data(as_text=True)
    assert_shows_nothing(after)
