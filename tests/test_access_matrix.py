"""The route × role matrix, built from app.url_map: a new route fails here until its access rule
is declared and its URL parameters have a sample below."""
from __future__ import annotations

import io
import secrets
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from zaloan import accounts, images
from zaloan.extensions import db
from zaloan.models import (
    Attachment,
    Category,
    Notification,
    Role,
    RulesVersion,
    TaskAssignment,
    TimeWindow,
    Tip,
    Unit,
    User,
    UserSession,
    VerificationTask,
    WatchPoint,
    utcnow,
)
from zaloan.permissions import ANY_USER, PUBLIC, access_rule

from .conftest import PHONES, make_app
from .helpers import U

ROLES = ["anonymous", "informant", "informant2", "verifier", "verifier2", "officer", "officer2", "commander", "observer",
         "province_admin"]
ROLE_OF = {"informant": Role.INFORMANT, "informant2": Role.INFORMANT, "verifier": Role.VERIFIER,
           "verifier2": Role.VERIFIER, "officer": Role.OFFICER, "officer2": Role.OFFICER,
           "commander": Role.COMMANDER, "observer": Role.OBSERVER, "province_admin": Role.PROVINCE_ADMIN}


def e164(who):
    return "+84" + PHONES[who][1:]


def demo_objects() -> dict:
    """Name the demo objects each role owns (and the ones it must not touch)."""
    v1 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
    v4 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Trung Tâm"))
    an_tip = db.session.scalar(select(Tip).where(Tip.informant_id == U("informant").informant.id,
                                                 Tip.village_id == v1.id).order_by(Tip.id))
    binh_tip = db.session.scalar(select(Tip).where(Tip.informant_id == U("informant2").informant.id).order_by(Tip.id))
    v4_tip = db.session.scalar(select(Tip).where(Tip.village_id == v4.id).order_by(Tip.id))
    a1 = db.session.scalar(select(TaskAssignment).where(TaskAssignment.verifier_id == U("verifier").id))
    a2 = db.session.scalar(select(TaskAssignment).where(TaskAssignment.verifier_id == U("verifier2").id))
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(buf, "JPEG")
    stored = images.store(buf.getvalue())
    photo = Attachment(tip_id=an_tip.id, uploader_id=U("informant").id, storage_name=stored.storage_name,
                       content_type="image/jpeg", width=stored.width, height=stored.height, size=stored.size,
                       sha256=stored.sha256)
    db.session.add(photo)
    point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
    cross = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Ngã tư Trung Tâm"))
    code = accounts.issue_activation(U("verifier"), by=None)
    task1 = db.session.get(TaskAssignment, a1.id).task
    task4 = db.session.get(TaskAssignment, a2.id).task
    # A second session of each account (a phone left at home), which its owner may log out.
    spare = {w: UserSession(user_id=U(w).id, token_hash=accounts.sha256(secrets.token_urlsafe(32)),
                            expires_at=utcnow() + timedelta(days=1)) for w in ROLE_OF}
    db.session.add_all(spare.values())
    commendations = commendation_objects(v1.parent_id)
    from zaloan.models import IdentityErasure

    db.session.add(IdentityErasure(commune_id=v1.parent_id, informant_id=U("informant").informant.id,
                                   requested_by_id=U("officer").id, reason="Người này xin thôi, gọi điện hôm qua."))


    # A notification of each account, which only its owner may open.
    notes = {w: Notification(user_id=U(w).id, kind="new_tip", url="/", key="matrix") for w in ROLE_OF}
    db.session.add_all(notes.values())
    news = demo_announcements(v4)
    voice_note = demo_voice_note(an_tip)
    chan = channel_objects()
    db.session.commit()
    return {
        "news": news,
        **{k: row.id for k, row in chan.items()},
        "rules_version": db.session.scalar(select(RulesVersion.id).where(RulesVersion.commune_id == v1.parent_id)),
        **{k: row.id for k, row in commendations.items()},
        "v1": v1.id, "v4": v4.id, "an_tip": an_tip.id, "binh_tip": binh_tip.id, "v4_tip": v4_tip.id,
        "a1": a1.id, "a2": a2.id, "photo": photo.id, "point": point.id, "cross": cross.id,
        "window": point.windows[0].id, "cross_window": cross.windows[0].id,
        "other_window": db.session.scalar(select(TimeWindow.id).join(WatchPoint).where(
            WatchPoint.name == "Phố karaoke Tân Lập")),
        "task_tip": task1.tip_id, "task": task1.id, "task4_tip": task4.tip_id, "task4": task4.id,
        "category": db.session.scalar(select(Category.id)), "code": code, "commune": v1.parent_id,
        "users": {w: U(w).id for w in ROLE_OF},
        "sessions": {w: row.id for w, row in spare.items()},
        "notes": {w: row.id for w, row in notes.items()},
        "voice": voice_note.id,
    }


def demo_voice_note(tip):
    """A voice note An sent with a tip (the bytes need no decoder here)."""
    from zaloan.models import VoiceNote
    from zaloan.storage import files

    name = secrets.token_hex(16) + ".ogg"
    files().put(name, b"OggS-matrix")
    note = VoiceNote(tip_id=tip.id, uploader_id=U("informant").id, storage_name=name, duration_ms=3000, size=11,
                     sha256="0" * 64)
    db.session.add(note)
    db.session.flush()
    return note


def commendation_objects(commune_id: int, informant=None, officer=None, officer2=None, commander=None) -> dict:
    """A proposal of each officer (one for an informant: An by default) and a commendation decision of the commune."""
    from zaloan.models import Commendation, CommendationDecision

    today = utcnow().date()
    decision = CommendationDecision(commune_id=commune_id, number="1/QĐ", signed_on=today, signer="Trưởng Công an xã",
                                    created_by_id=(commander or U("commander")).id)
    common = {"commune_id": commune_id, "reason": "Báo tin kịp thời", "reward": "Giấy khen", "period_start": today,
              "period_end": today}
    mine = Commendation(kind="informant", informant_id=(informant or U("informant")).informant.id,
                        proposed_by_id=(officer or U("officer")).id, **common)
    theirs = Commendation(kind="collective", collective_name="Tổ tự quản", proposed_by_id=(officer2 or U("officer2")).id,
                          **common)
    db.session.add_all([decision, mine, theirs])
    db.session.flush()
    return {"commendation": mine, "commendation2": theirs, "decision": decision}


def demo_announcements(v4) -> dict:
    """Announcements with a photo: to every member (the commander's), each officer's own, and a public one."""
    from zaloan import announcements

    def post(by, audience, title):
        a, _created = announcements.post(by=U(by), title=title, body="", audience=audience,
                                         photo=images.store(buf.getvalue()))
        return a.id

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 10, 10)).save(buf, "JPEG")
    return {"members": post("commander", "members", "Họp thành viên"),
            "officer": post("officer", f"informants:{U('officer').id}", "Nhờ để ý chợ"),
            "officer2": post("officer2", f"verifiers:{v4.id}", "Lịch trực"),
            "public": post("commander", "public", "Cảnh giác lừa đảo")}


def channel_objects() -> dict:
    """A message of each informant in their standing conversation with the commune police."""
    from zaloan import conversations

    an, binh = U("informant").informant, U("informant2").informant
    return {"chan_informant": an,
            "chan_msg": conversations.send(an, by=U("informant"), body="Dạ em đã để ý.", client_key="matrix-chan-1"),
            "chan_msg2": conversations.send(binh, by=U("informant2"), body="Chợ vẫn yên.", client_key="matrix-chan-2")}


SKIP = object()  # this role owns no such object in the demo commune
# Erasure of an informant's identity: the officer's request waits for the commander (made in demo_objects).
ERASURE = ("people.request_erasure", "people.confirm_erasure", "people.refuse_erasure")


def own_value(endpoint: str, param: str, who: str, o: dict):
    """Return a value of URL parameter `param` that belongs to `who` (the row of the table)."""
    if param == "attachment_id" and who not in ("informant", "officer", "commander"):
        return SKIP
    if param == "note_id" and who not in ("informant", "officer", "commander"):
        return SKIP  # a voice note: its sender and the police of its tip only
    if endpoint.startswith("province.") and param == "unit_id":
        return o["commune"]  # a commune of the administrator's province
    if param == "announcement_id":
        if endpoint.startswith("public."):
            return o["news"]["public"]
        if endpoint in ("news.withdraw", "news.pin"):
            return o["news"].get(who, o["news"]["members"])
        return o["news"]["members"]  # addressed to every member, and the commander's own
    if endpoint in ("people.post", "people.reveal") + ERASURE and who == "officer2":
        return SKIP  # officer 2 handles no informant in the demo
    if param in ("informant_id", "message_id"):  # the standing conversation: officer 2 handles no informant
        if who == "officer2":
            return SKIP
        if param == "informant_id":
            return o["chan_informant"]
        return o["chan_msg2"] if who == "informant2" else o["chan_msg"]
    if endpoint == "officer.cancel_task" and param in ("tip_id", "task_id"):
        key = ("task4" if who == "officer2" else "task") + ("_tip" if param == "tip_id" else "")
        return o[key]
    table = {
        "tip_id": {"informant": o["an_tip"], "informant2": o["binh_tip"], "officer2": o["v4_tip"]}.get(
            who, o["an_tip"]),
        "assignment_id": {"verifier": o["a1"], "verifier2": o["a2"]}.get(who, o["a1"]),
        "attachment_id": o["photo"],
        "unit_id": o["v4"] if who == "officer2" else o["v1"],
        "point_id": o["cross"] if who == "officer2" else o["point"],
        "window_id": {"officer2": o["cross_window"], "commander": o["other_window"]}.get(who, o["window"]),
        "category_id": o["category"],
        "code": o["code"],
        "filename": "app.css",
        "slug": "tan-thanh",
        "session_id": o["sessions"].get(who, o["sessions"]["informant"]),
        "commendation_id": o["commendation2"] if who == "officer2" else o["commendation"],
        "decision_id": o["decision"],


        "notification_id": o["notes"].get(who, o["notes"]["informant"]),
        "version_id": o["rules_version"],
        "kind": "csv",  # the report's files: figures.csv, tips.csv
        "note_id": o["voice"],
    }
    if param == "user_id":
        target = {
            "people.areas": "officer2", "people.handover": "officer2", "people.place": "verifier",
            "people.post": "informant", "people.reveal": "informant", "twostep.reset": "officer2",
            "province.commander_code": "commander",
            **{e: "informant" for e in ERASURE},
        }.get(endpoint, "verifier")
        if who == "officer2":
            target = "verifier2" if target != "officer2" else target
        if who == "commander" and target == "officer2":
            return o["users"]["officer2"]
        return o["users"][target]
    assert param in table, f"no sample for URL parameter {param!r} of {endpoint}: add one to own_value()"
    return table[param]


def session_client(app, who: str):
    """A client logged in as `who` through a real server-side session (fast: no password hashing)."""
    c = app.test_client()
    if who == "anonymous":
        return c
    token = secrets.token_urlsafe(32)
    with app.app_context():
        uid = U(who).id
        db.session.add(UserSession(user_id=uid, token_hash=accounts.sha256(token),
                                   expires_at=utcnow() + timedelta(days=1)))
        db.session.commit()
    with c.session_transaction() as s:
        s["sid"], s["_user_id"], s["_fresh"] = token, str(uid), True
    return c


def endpoints(app):
    out = []
    for rule in app.url_map.iter_rules():
        methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
        out.append((rule.endpoint, rule, methods))
    return sorted(out, key=lambda e: e[0])


def test_every_route_declares_who_may_call_it(app):
    with app.test_request_context():
        missing = [e for e, _r, _m in endpoints(app) if access_rule(e) is None]
    assert not missing, f"routes without an access rule (@allow): {missing}"


def all_endpoint_ids():
    app = make_app_for_listing()
    return [e for e, _r, _m in endpoints(app)]


def make_app_for_listing():
    import tempfile
    from pathlib import Path

    tmp = Path(tempfile.mkdtemp())
    return make_app(tmp, f"sqlite:///{tmp / 'list.sqlite'}")


@pytest.mark.parametrize("endpoint", all_endpoint_ids())
def test_route_answers_each_role_as_declared(app, endpoint):
    with app.app_context():
        objects = demo_objects()
        rule_obj = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        rule = access_rule(endpoint)
    methods = sorted(m for m in rule_obj.methods if m not in ("HEAD", "OPTIONS"))
    method = "GET" if "GET" in methods else methods[0]
    for who in ROLES:
        values = {p: own_value(endpoint, p, who, objects) for p in rule_obj.arguments}
        if SKIP in values.values():
            continue
        url = rule_obj.build(values)[1]
        c = session_client(app, who)
        resp = c.open(url, method=method, data={})
        status = resp.status_code
        assert status != 500, f"{method} {url} as {who}: 500"
        if PUBLIC in rule:
            continue
        allowed = who != "anonymous" and (ANY_USER in rule or ROLE_OF[who] in rule)
        if who == "anonymous":
            assert status in (302, 401) and "/login" in resp.headers.get("Location", resp.headers.get("HX-Redirect", "")), \
                f"{method} {url} as anonymous: {status}"
        elif not allowed:
            assert status == 404, f"{method} {url} as {who}: {status}, expected 404"
        else:
            assert status not in (403, 404), f"{method} {url} as {who} (own object): {status}"


# --- Objects of someone else: 404, never a hint ------------------------------------------------

IDOR = [
    # (who, method, url template, object key): another informant, another officer's area, another village.
    ("informant2", "GET", "/informant/tips/{an_tip}", None),
    ("informant2", "POST", "/informant/tips/{an_tip}/messages", None),
    ("informant2", "GET", "/photos/{photo}", None),
    ("informant2", "GET", "/photos/{photo}/thumb", None),
    ("officer2", "GET", "/officer/tips/{an_tip}", None),
    ("officer2", "POST", "/officer/tips/{an_tip}/outcome", None),
    ("officer2", "POST", "/officer/tips/{an_tip}/tasks", None),
    ("officer2", "GET", "/photos/{photo}", None),
    ("officer2", "GET", "/photos/{photo}/thumb", None),
    ("officer", "GET", "/officer/tips/{v4_tip}", None),
    ("officer2", "GET", "/people/{informant_user}", None),
    ("officer2", "POST", "/people/{informant_user}/reveal", None),
    ("officer", "GET", "/places/points/{cross}", None),
    ("officer", "POST", "/places/windows/{cross_window}/delete", None),
    ("verifier2", "GET", "/verifier/tasks/{a1}", None),
    ("verifier2", "POST", "/verifier/tasks/{a1}/report", None),
    ("verifier", "GET", "/verifier/tasks/{a2}", None),
    ("verifier", "GET", "/photos/{photo}", None),
    ("verifier", "GET", "/photos/{photo}/thumb", None),
    ("observer", "GET", "/photos/{photo}", None),
    ("observer", "GET", "/photos/{photo}/thumb", None),
    # The province administrator: communes as a whole, never a row inside one.
    ("province_admin", "GET", "/photos/{photo}", None),
    ("province_admin", "GET", "/photos/{photo}/thumb", None),
    # A voice is an identity: the tip's verifier, other officers, observers never hear it.
    ("verifier", "GET", "/voices/{voice}", None),
    ("informant2", "GET", "/voices/{voice}", None),
    ("officer2", "GET", "/voices/{voice}", None),
    ("officer2", "POST", "/voices/{voice}/summary", None),
    ("observer", "GET", "/voices/{voice}", None),
    ("province_admin", "GET", "/voices/{voice}", None),
    ("province_admin", "GET", "/officer/tips/{an_tip}", None),
    ("province_admin", "GET", "/people/{informant_user}", None),
    ("province_admin", "POST", "/people/{informant_user}/reveal", None),
    ("province_admin", "GET", "/people/", None),
    ("province_admin", "GET", "/places/", None),
    ("province_admin", "GET", "/audit/", None),
    ("province_admin", "GET", "/officer/", None),
    ("province_admin", "GET", "/observer/", None),
    # An observer of one commune does not run the province.
    ("observer", "GET", "/province/", None),
    ("commander", "GET", "/province/communes/{commune}", None),
    # Announcements: another audience's, another officer's.
    ("verifier", "GET", "/news/{news_officer}/photo", None),
    ("verifier", "POST", "/news/{news_officer2}/read", None),
    ("officer", "GET", "/news/{news_officer2}/photo/thumb", None),
    ("officer2", "POST", "/news/{news_officer}/withdraw", None),
    ("officer2", "POST", "/news/{news_members}/pin", None),
    ("observer", "GET", "/news/{news_public}/photo", None),
    ("province_admin", "GET", "/news/{news_public}/photo", None),
    # The standing conversation with an informant: another officer, another informant, verifiers, observers.
    ("officer2", "GET", "/channel/{chan_informant}", None),
    ("officer2", "POST", "/channel/{chan_informant}/messages", None),
    ("officer2", "POST", "/channel/{chan_informant}/requests", None),
    ("officer2", "GET", "/channel/{chan_informant}/messages/{chan_msg}/tip", None),
    ("informant2", "GET", "/channel/me/messages/{chan_msg}/tip", None),
    ("informant2", "POST", "/channel/me/messages/{chan_msg}/tip", None),
    ("officer", "GET", "/channel/{chan_informant}/messages/{chan_msg2}/tip", None),
    ("verifier", "GET", "/channel/{chan_informant}", None),
    ("observer", "GET", "/channel/{chan_informant}", None),
    ("province_admin", "GET", "/channel/{chan_informant}", None),
]


@pytest.mark.parametrize("who,method,template,_k", IDOR)
def test_objects_of_others_answer_404(app, who, method, template, _k):
    with app.app_context():
        o = demo_objects()
    o = {**o, "informant_user": o["users"]["informant"], **{f"news_{k}": v for k, v in o["news"].items()}}
    url = template.format(**o)
    c = session_client(app, who)
    resp = c.open(url, method=method, data={"reason": "xem thử", "finding": "confirmed", "body": "x",
                                            "outcome": "mediated"})
    assert resp.status_code == 404, f"{method} {url} as {who}: {resp.status_code}"
    assert "Nguyễn Văn An" not in resp.get_data(as_text=True)


def test_unknown_ids_answer_404_like_forbidden_ones(app):
    c = session_client(app, "officer")
    for url in ("/officer/tips/999999", "/officer/tips/abc", "/photos/999999", "/people/999999"):
        assert c.get(url).status_code == 404
