"""Emergencies: an honest sent page with numbers to call, the first read told to the sender, unread
emergencies first in the queue and counted in the police's navigation, the commune's settings."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import AuditEvent, Category, CommuneSettings, Tip, TipEvent, Unit, Urgency, User, utcnow

from .test_tips_public import form_data, send

AN, OFFICER, OFFICER2, COMMANDER = "+84900000010", "+84900000002", "+84900000003", "+84900000001"
DEMO_DUTY = "0900 000 113"
NAV_COUNT = re.compile(r'<a class="alarm" href="([^"]+)">🚨 (\d+) tin khẩn cấp chưa có ai đọc</a>')


def U(phone):
    return db.session.scalar(select(User).where(User.phone == phone))


def village(name):
    return db.session.scalar(select(Unit).where(Unit.name == name))


def new_tip(app, village_name="Thôn Đồng Bé", urgency=Urgency.EMERGENCY, sender=AN):
    with app.app_context():
        cat = db.session.scalar(select(Category).where(Category.code == "disorder"))
        tip, _ = cases.submit_tip(commune=village("Thôn Đồng Bé").commune(), informant=U(sender).informant,
                                  category=cat, body="Có đánh nhau ở cổng chợ, nhiều người cầm gậy.",
                                  village=village(village_name), urgency=urgency, uploader=U(sender))
        db.session.commit()
        return tip.id


def read_state(app, tip_id):
    with app.app_context():
        t = db.session.get(Tip, tip_id)
        events = db.session.scalar(select(func.count()).where(TipEvent.tip_id == tip_id, TipEvent.kind == "read"))
        audits = db.session.scalar(select(func.count()).where(AuditEvent.action == "tip.read",
                                                               AuditEvent.target_id == tip_id))
        return t.first_read_at, t.first_read_by_id, events, audits


def informant_form(app, urgency):
    data = form_data(app, key=f"tip-key-{urgency}-0000001", urgency=str(urgency))
    data.pop("place_text")
    return data


# --- The first read ------------------------------------------------------------------------------


def test_the_first_officer_to_open_a_tip_is_noted_once_and_the_sender_sees_when_not_who(app, login_as):
    tip_id = new_tip(app, urgency=Urgency.NORMAL)
    sender = login_as("informant")
    assert "Chưa có cán bộ đọc" in sender.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert read_state(app, tip_id) == (None, None, 0, 0)

    assert login_as("officer").get(f"/officer/tips/{tip_id}").status_code == 200
    read_at, read_by, events, audits = read_state(app, tip_id)
    with app.app_context():
        assert read_by == U(OFFICER).id
    assert read_at is not None and (events, audits) == (1, 1)

    # The commander opens it later, the officer again: the first read stays as it was.
    assert login_as("commander").get(f"/officer/tips/{tip_id}").status_code == 200
    assert login_as("officer").get(f"/officer/tips/{tip_id}").status_code == 200
    assert read_state(app, tip_id) == (read_at, read_by, 1, 1)

    local = read_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    told = f"Đã có cán bộ đọc lúc {local:%H:%M %d/%m}"
    page = sender.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    listing = sender.get("/informant/tips").get_data(as_text=True)
    assert told in page and told in listing
    assert "Chưa có cán bộ đọc" not in page
    assert "Phạm Minh Đức" not in page  # never who read it


def test_a_stale_reader_does_not_overwrite_the_first_read(app):
    tip_id = new_tip(app)
    with app.app_context():
        officer_id = U(OFFICER).id
        db.session.commit()
        earlier = utcnow() - timedelta(minutes=3)
        with db.engine.begin() as other:  # another officer's request wins the read meanwhile
            other.execute(update(Tip).where(Tip.id == tip_id).values(first_read_at=earlier,
                                                                     first_read_by_id=officer_id))
        tip = db.session.get(Tip, tip_id)
        set_committed_value(tip, "first_read_at", None)  # as this request loaded it, before that read
        assert cases.mark_read(tip, by=U(COMMANDER)) is False
        db.session.commit()
    read_at, read_by, events, audits = read_state(app, tip_id)
    with app.app_context():
        assert read_by == U(OFFICER).id
    assert read_at == earlier and (events, audits) == (0, 0)


def test_only_the_police_mark_a_tip_read(app):
    tip_id = new_tip(app)
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        assert cases.mark_read(tip, by=U(AN)) is False
        assert cases.mark_read(tip, by=None) is False
        db.session.commit()
    assert read_state(app, tip_id) == (None, None, 0, 0)


def test_the_anonymous_sender_sees_the_first_read(app, client, login_as):
    r = send(client, app)
    code = re.findall(r'<span class="code">([A-Z0-9]+)</span>', r.get_data(as_text=True))[0]
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == code))
    assert "Chưa có cán bộ đọc" in client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    login_as("officer").get(f"/officer/tips/{tip_id}")
    page = client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert "Đã có cán bộ đọc lúc" in page and "Chưa có cán bộ đọc" not in page


# --- What the sender is told after sending ---------------------------------------------------------


def test_an_emergency_sent_page_says_nobody_read_it_yet_and_gives_both_numbers(app, login_as):
    c = login_as("informant")
    r = c.post("/informant/tips/new", data=informant_form(app, Urgency.EMERGENCY))
    assert r.status_code == 303
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    sent = html.split('data-clear-draft="tip"')[1].split("</section>")[0]
    assert "chưa có cán bộ nào đọc" in sent
    assert 'href="tel:113"' in sent and 'href="tel:0900000113"' in sent and DEMO_DUTY in sent
    assert "đã tiếp nhận" not in html.lower()  # no promise that someone has it in hand


def test_a_normal_sent_page_is_honest_without_the_call_box(app, login_as):
    c = login_as("informant")
    r = c.post("/informant/tips/new", data=informant_form(app, Urgency.NORMAL))
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Cán bộ phụ trách sẽ đọc tin này" in html
    assert "tel:113" not in html and "đã tiếp nhận" not in html.lower()


def test_the_anonymous_emergency_sent_page_gives_113_and_only_a_number_that_is_set(app, client):
    r = send(client, app, urgency="4")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "chưa có cán bộ nào đọc" in html
    assert 'href="tel:113"' in html and 'href="tel:0900000113"' in html
    with app.app_context():
        db.session.get(CommuneSettings, village("Thôn Đồng Bé").commune().id).duty_phone = ""
        db.session.commit()
    html = send(client, app, urgency="4", key="anon-key-000002", body="Cháy nhà ở đầu thôn.").get_data(as_text=True)
    assert 'href="tel:113"' in html and "Trực ban" not in html and "tel:0" not in html


def test_the_tip_forms_carry_the_call_box_and_the_anonymous_page_the_numbers(app, client, login_as):
    for html in (login_as("informant").get("/informant/tips/new").get_data(as_text=True),
                 client.get("/report/").get_data(as_text=True)):
        box = html.split('<div class="urgent-help">')[1].split("</div>")[0]
        assert 'href="tel:113"' in box and 'href="tel:0900000113"' in box
        assert html.index('name="urgency"') < html.index('class="urgent-help"')  # shown after the choice, by CSS
    line = client.get("/report/").get_data(as_text=True).split('class="danger-line"')[1].split("</p>")[0]
    assert 'href="tel:113"' in line and DEMO_DUTY in line
    css = client.get("/static/app.css").get_data(as_text=True)
    assert '.urgent-help{display:none}' in css
    assert 'form:has(input[name=urgency][value="4"]:checked) .urgent-help{display:block}' in css


# --- The queue and the navigation ----------------------------------------------------------------


def nav_count(html):
    m = NAV_COUNT.search(html)
    return (int(m.group(2)), m.group(1).replace("&amp;", "&")) if m else (0, None)


def test_unread_emergencies_are_counted_in_the_police_navigation_of_their_own_scope(app, login_as):
    mine = new_tip(app)
    theirs = new_tip(app, village_name="Thôn Trung Tâm")
    new_tip(app, urgency=Urgency.HIGH)  # urgent, not an emergency: not counted
    closed = new_tip(app)
    with app.app_context():
        cases.record_outcome(db.session.get(Tip, closed), by=U(OFFICER), outcome="mediated")
        db.session.commit()
    officer, officer2, commander = login_as("officer"), login_as("officer2"), login_as("commander")
    # On every page they see, not only the queue.
    for url in ("/officer/", "/people/", "/places/"):
        assert nav_count(officer.get(url).get_data(as_text=True))[0] == 1, url
    assert nav_count(officer2.get("/people/").get_data(as_text=True))[0] == 1
    count, link = nav_count(commander.get("/commander/").get_data(as_text=True))
    assert count == 2
    for who in ("informant", "verifier", "observer"):
        html = login_as(who).get("/").get_data(as_text=True)
        html = html if "<nav" in html else login_as(who).get("/", follow_redirects=True).get_data(as_text=True)
        assert 'class="alarm"' not in html, who

    # The count links to the queue of exactly those tips.
    with app.app_context():
        codes = {i: db.session.get(Tip, i).code for i in (mine, theirs, closed)}
    queue = commander.get(link).get_data(as_text=True)
    assert codes[mine] in queue and codes[theirs] in queue and codes[closed] not in queue
    assert queue.count('href="/officer/tips/') == 2

    # Opened by its officer: gone from their count and from the commander's.
    officer.get(f"/officer/tips/{mine}")
    assert 'class="alarm"' not in officer.get("/officer/").get_data(as_text=True)
    assert nav_count(commander.get("/commander/").get_data(as_text=True))[0] == 1
    assert nav_count(officer2.get("/officer/").get_data(as_text=True))[0] == 1


def test_the_count_is_one_cheap_query(app, login_as):
    new_tip(app)
    c = login_as("officer")
    from sqlalchemy import event

    statements = []
    with app.app_context():
        def note(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            c.get("/people/")
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
    counting = [s for s in statements if "first_read_at IS NULL" in s]
    assert len(counting) == 1


def test_the_queue_puts_emergencies_first_marked_in_words_with_the_time_since_sent(app, login_as):
    tip_id = new_tip(app)
    with app.app_context():
        t = db.session.get(Tip, tip_id)
        t.created_at = utcnow() - timedelta(minutes=12)
        code = t.code
        db.session.commit()
    c = login_as("officer")
    html = c.get("/officer/").get_data(as_text=True)
    first = html.split('<ul class="queue">')[1].split("</li>")[0]
    assert code in first
    assert "🚨 Khẩn cấp, đang xảy ra" in first and "Chưa đọc" in first and "12 phút trước" in first
    c.get(f"/officer/tips/{tip_id}")
    first = c.get("/officer/").get_data(as_text=True).split('<ul class="queue">')[1].split("</li>")[0]
    assert code in first and "Chưa đọc" not in first


def test_queue_filters_ignore_nonsense(login_as):
    c = login_as("officer")
    for query in ("urgency=9", "urgency=abc", "urgency=99999999999999999999", "unread=yes"):
        assert c.get(f"/officer/?{query}").status_code == 200, query


# --- The commune's settings ------------------------------------------------------------------------


def settings_form(**over):
    data = {"duty_phone": "0912.345.678", "due_hours_emergency": "1", "due_hours_high": "6",
            "due_hours_normal": "24", "due_hours_low": "72"}
    data.update(over)
    return data


def audit_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).where(AuditEvent.action == "commune.settings"))


def test_the_commander_sets_the_duty_number_and_due_hours(app, login_as):
    c = login_as("commander")
    assert 'href="/commander/settings"' in c.get("/commander/").get_data(as_text=True)
    page = c.get("/commander/settings").get_data(as_text=True)
    assert 'value="0900 000 113"' in page and 'href="tel:0900000113"' in page
    r = c.post("/commander/settings", data=settings_form())
    assert r.status_code == 303 and r.headers["Location"].endswith("/commander/settings")
    with app.app_context():
        s = CommuneSettings.of(village("Thôn Đồng Bé").commune().id)
        assert (s.duty_phone, s.due_hours(Urgency.EMERGENCY), s.due_hours(Urgency.HIGH)) == ("0912 345 678", 1, 6)
        assert s.updated_by_id == U(COMMANDER).id
    assert audit_rows(app) == 1
    # The same again: nothing changed, nothing recorded.
    assert c.post("/commander/settings", data=settings_form()).status_code == 303
    assert audit_rows(app) == 1
    # The number reaches the sender's call box.
    html = login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert 'href="tel:0912345678"' in html and "0912 345 678" in html


@pytest.mark.parametrize("field, value, words", [
    ("duty_phone", "12345", "Đây không phải số điện thoại Việt Nam"),
    ("duty_phone", "0912 345 678 999 999", "Đây không phải số điện thoại Việt Nam"),
    ("due_hours_emergency", "0", "từ 1 đến 720"),
    ("due_hours_high", "721", "từ 1 đến 720"),
    ("due_hours_normal", "2.5", "từ 1 đến 720"),
    ("due_hours_low", "", "từ 1 đến 720"),
    ("due_hours_low", "mười", "từ 1 đến 720"),
    ("due_hours_low", "99999999999999999999999", "từ 1 đến 720"),
])
def test_bad_settings_are_refused_on_their_field_and_change_nothing(app, login_as, field, value, words):
    c = login_as("commander")
    r = c.post("/commander/settings", data=settings_form(**{field: value}))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    block = html.split(f'name="{field}"')[1].split("</div>")[0]
    assert words in block  # the message sits under its own field
    with app.app_context():
        s = CommuneSettings.of(village("Thôn Đồng Bé").commune().id)
        assert (s.duty_phone, s.due_hours_emergency, s.due_hours_low) == (DEMO_DUTY, 2, 72)
    assert audit_rows(app) == 0


def test_an_empty_duty_number_is_allowed_and_hides_the_second_button(app, login_as):
    c = login_as("commander")
    assert c.post("/commander/settings", data=settings_form(duty_phone="")).status_code == 303
    html = login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    box = html.split('<div class="urgent-help">')[1].split("</div>")[0]
    assert 'href="tel:113"' in box and "Trực ban" not in box


def test_the_tips_scope_agrees_with_can_work_tip(app):
    from zaloan.models import Role
    from zaloan.permissions import can_work_tip, tips_for

    new_tip(app, village_name=None)  # no village: the sender's handler works on it
    with app.app_context():
        tips = db.session.scalars(select(Tip)).all()
        people = db.session.scalars(select(User)).all()
        assert any(t.village_id is None for t in tips)
        for user in people:
            listed = set(db.session.scalars(select(Tip.id).where(tips_for(user))))
            assert listed == {t.id for t in tips if can_work_tip(user, t)}, user.role
            if user.role not in (Role.OFFICER, Role.COMMANDER):
                assert not listed


def test_a_failing_count_leaves_the_page_without_it(app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(user):
        raise OperationalError("SELECT", {}, Exception("the database went away"))

    monkeypatch.setattr(cases, "tips_for", broken)
    with app.test_request_context():
        assert app.jinja_env.globals["unread_emergencies"](U(OFFICER)) == 0


def test_the_queue_refresh_brings_the_count_of_a_new_emergency_along(app, login_as):
    """An officer who keeps the queue open sees a new emergency counted without opening another page."""
    officer = login_as("officer")
    page = officer.get("/officer/").get_data(as_text=True)
    assert page.count('id="alarm"') == 1 and nav_count(page)[0] == 0
    version = re.search(r'/officer/queue/poll\?v=([0-9a-f]+)', page).group(1)
    htmx = {"HX-Request": "true", "HX-Target": "queue"}
    assert officer.get(f"/officer/queue/poll?v={version}", headers=htmx).status_code == 204  # nothing new yet
    new_tip(app)
    fragment = officer.get(f"/officer/queue/poll?v={version}", headers=htmx).get_data(as_text=True)
    assert '<div id="alarm" hx-swap-oob="true">' in fragment and nav_count(fragment)[0] == 1
    # The filters' own swaps carry it too; a whole page never has two.
    assert 'hx-swap-oob' in officer.get("/officer/?status=all", headers=htmx).get_data(as_text=True)
    whole = officer.get("/officer/").get_data(as_text=True)
    assert whole.count('id="alarm"') == 1 and "hx-swap-oob" not in whole and nav_count(whole)[0] == 1
