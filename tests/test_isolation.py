"""Two communes on one deployment: nothing of one reaches a user of the other.

Beside the demo commune (Xã Tân Thành) a second one is made, Xã Hữu Lũng,
with an account of every role, a watch point, tips with photos, a thread, a
verification task and a report, all with words found nowhere else. Then:

- every route that takes an object, called by every role of the demo commune
  with an object of the other commune, answers 404 (never 403, never a hint);
- every page, fragment and export the demo commune's people can open holds
  none of the other commune's words, names, codes or photos; and the other
  way round for the second commune's police.
"""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from zaloan import accounts, cases, communes, images
from zaloan.extensions import db
from zaloan.models import (
    Category,
    Informant,
    InformantPost,
    Notification,
    Role,
    TimeWindow,
    Tip,
    UnitKind,
    VerifierTitle,
    WatchPoint,
    utcnow,
)
from zaloan.permissions import PUBLIC, access_rule

from .test_access_matrix import session_client

DEMO_ROLES = ["informant", "informant2", "verifier", "verifier2", "officer", "officer2", "commander", "observer"]


def photo() -> images.StoredImage:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 160)).save(buf, "JPEG")
    return images.store(buf.getvalue())


def second_commune() -> dict:
    """Make Xã Hữu Lũng with one account of each role and tips in every place a page reads from."""
    commune = communes.create_commune("Xã Hữu Lũng", "Tỉnh Lạng Sơn")
    north = communes.get_or_create_unit("Thôn Bắc Quỳnh", UnitKind.VILLAGE, commune)
    south = communes.get_or_create_unit("Thôn Nam Khê", UnitKind.VILLAGE, commune)

    def person(phone, name, role, **kw):
        return accounts.create_user(by=None, phone=phone, full_name=name, role=role, commune=commune, **kw)

    commander = person("0911000001", "Lục Văn Bảy", Role.COMMANDER)
    officer = person("0911000002", "Mã Thị Tám", Role.OFFICER)
    north.officer_id = south.officer_id = officer.id
    informant = person("0911000010", "Hà Văn Chín", Role.INFORMANT, handler=officer)
    verifier = person("0911000020", "Nông Văn Mười", Role.VERIFIER, village=north, title=VerifierTitle.VILLAGE_HEAD)
    observer = person("0911000030", "Ban Chỉ đạo Hữu Lũng", Role.OBSERVER)
    point = WatchPoint(village=north, name="Chợ phiên Bắc Quỳnh", kind="market", note="Chợ trâu bò")
    db.session.add(point)
    point.windows = [TimeWindow(starts=utcnow().time().replace(hour=4, minute=0, second=0, microsecond=0),
                                ends=utcnow().time().replace(hour=7, minute=0, second=0, microsecond=0),
                                label="Phiên chợ trâu")]
    db.session.flush()
    db.session.add(InformantPost(informant=informant.informant, watch_point=point, time_window=point.windows[0]))
    category = db.session.scalar(select(Category).where(Category.commune_id == commune.id, Category.code == "theft"))
    tip, _ = cases.submit_tip(commune=commune, informant=informant.informant, category=category, village=north,
                              watch_point=point, body="Mất trộm đôi trâu mộng ở bãi Khuổi Phầy.", photos=[photo()],
                              uploader=informant)
    db.session.flush()
    cases.mark_read(tip, by=officer)
    cases.ask(tip, by=officer, body="Trâu màu gì, có dấu gì riêng không?")
    cases.answer(tip, author=informant, body="Trâu sừng cong, có vết sẹo Pác Bó ở đùi.", photos=[photo()])
    task = cases.create_task(tip, by=officer, verifiers=[verifier], brief="Xem bãi chăn Khuổi Phầy giúp.",
                             due_at=utcnow() + timedelta(hours=6), shared_photo_ids=[a.id for a in tip.attachments])
    db.session.flush()
    assignment = task.assignments[0]
    cases.accept_task(assignment, by=verifier)
    cases.report_finding(assignment, by=verifier, finding="confirmed", notes="Đúng là mất ở Khuổi Phầy.",
                         photos=[photo()])
    anonymous, _ = cases.submit_tip(commune=commune, informant=None, category=category, village=south,
                                    body="Có người lạ dò hỏi nhà ông Sầm Văn Lừng.", anon_secret="HUULUNG2",
                                    uploader=None)
    from .test_access_matrix import commendation_objects

    commended = commendation_objects(commune.id, informant, officer, officer, commander)
    from zaloan import announcements

    news, _ = announcements.post(by=commander, title="Họp dân bản Khuổi Phầy", body="", audience="members",
                                 photo=photo())
    public_news, _ = announcements.post(by=commander, title="Tuyên truyền Pác Bó", body="", audience="public",
                                        photo=photo())
    from zaloan import rules

    version, _ = rules.publish(commune.id, by=commander, body="# Quy chế bản Khuổi Phầy\nGiữ bí mật.", note="Đầu")
    voice_note = other_voice_note(tip, informant)
    from zaloan import conversations

    chat = conversations.send(informant.informant, by=informant, body="Tối nay ở Khuổi Phầy có đám lạ.")
    conversations.ask(informant.informant, by=officer, body="Để ý giúp bãi Pác Bó.", watch_point=point)
    db.session.commit()
    return {
        "commendation_id": commended["commendation"].id, "decision_id": commended["decision"].id,
        "commune": commune.id, "slug": commune.slug, "announcement_id": news.id, "version_id": version.id,
        "public_news": public_news.id,
        "informant_id": informant.informant.id, "message_id": chat.id,
        "tip_id": tip.id, "anonymous_tip": anonymous.id, "assignment_id": assignment.id, "task_id": task.id,
        "attachment_id": tip.attachments[0].id, "unit_id": north.id, "point_id": point.id,
        "window_id": point.windows[0].id, "category_id": category.id, "note_id": voice_note.id,
        "notification_id": db.session.scalar(select(Notification.id).where(Notification.user_id == officer.id)),
        "users": {"commander": commander.id, "officer": officer.id, "informant": informant.id,
                  "verifier": verifier.id, "observer": observer.id},
        # Words, names and codes found only in the second commune.
        "markers": ["Hà Văn Chín", "Mã Thị Tám", "Nông Văn Mười", "Lục Văn Bảy", "Khuổi Phầy", "Pác Bó",
                    "Sầm Văn Lừng", "Bắc Quỳnh", "Nam Khê", "Hữu Lũng", tip.code, anonymous.code,
                    informant.phone[3:], tip.attachments[0].sha256[:16]],
    }


def other_voice_note(tip, informant):
    """A voice note the second commune's informant sent with their tip (bytes stored as they are: no decoder)."""
    import secrets

    from zaloan.models import VoiceNote
    from zaloan.storage import files

    name = secrets.token_hex(16) + ".ogg"
    files().put(name, b"OggS-Khuoi-Phay")
    note = VoiceNote(tip_id=tip.id, uploader_id=informant.id, storage_name=name, duration_ms=4000, size=15,
                     sha256="0" * 64, summary="Pác Bó nói về đôi trâu")
    db.session.add(note)
    db.session.flush()
    return note


@pytest.fixture
def other(app):
    with app.app_context():
        return second_commune()


def foreign_url(rule, other: dict):
    """Build `rule`'s URL with objects of the other commune, or None when a parameter names no object."""
    values = {}
    for param in rule.arguments:
        if param == "user_id":
            values[param] = other["users"]["officer" if rule.endpoint in ("people.areas", "people.handover")
                                         else "informant"]
        elif param in other and param not in ("commune", "slug"):
            values[param] = other[param]
        else:
            return None
    return rule.build(values)[1]


def test_every_object_of_the_other_commune_answers_404_to_every_role(app, other):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint == "static":
            continue
        with app.test_request_context():
            declared = access_rule(rule.endpoint)
        if PUBLIC in declared:
            continue
        url = foreign_url(rule, other)
        if url is None:
            continue
        methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
        for who in DEMO_ROLES:
            client = session_client(app, who)
            for method in methods:
                resp = client.open(url, method=method, data={
                    "reason": "Xem thử người này là ai", "kind": "forgot", "finding": "confirmed", "body": "x",
                    "outcome": "mediated", "confirm": "y", "name": "Tên mới", "village_ids": "1"})
                assert resp.status_code == 404, f"{method} {url} as {who} of the demo commune: {resp.status_code}"
                text = resp.get_data().decode("utf-8", "replace")
                assert not [m for m in other["markers"] if m in text], f"{method} {url} as {who}"
                checked += 1
    assert checked > 100


# The pages each role reads without naming an object: lists, queues, polls, exports, fragments.
QUERIES = ("", "?status=all", "?status=closed", "?role=informant", "?page=2")


def pages_without_objects(app):
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or rule.endpoint == "static":
            continue
        with app.test_request_context():
            declared = access_rule(rule.endpoint)
        yield rule.rule, declared


def leaks(client, path: str, markers: list[str]) -> list[str]:
    found = []
    for query in QUERIES:
        for headers in ({}, {"HX-Request": "true"}):
            resp = client.get(path + query, headers=headers)
            assert resp.status_code != 500, f"{path}{query}: 500"
            text = resp.get_data().decode("utf-8", "replace")
            found += [f"{path}{query} {'(fragment) ' if headers else ''}shows {m!r}" for m in markers if m in text]
    return found


def test_no_page_fragment_or_export_of_the_demo_commune_shows_the_other(app, other):
    found = []
    for who in DEMO_ROLES:
        client = session_client(app, who)
        for path, _declared in pages_without_objects(app):
            found += leaks(client, path, other["markers"])
    assert found == []


def test_the_other_communes_police_see_nothing_of_the_demo_commune(app, other):
    with app.app_context():
        demo_codes = list(db.session.scalars(select(Tip.code).where(Tip.commune_id != other["commune"])))
    markers = ["Nguyễn Văn An", "Trần Thị Bình", "Phạm Minh Đức", "Vi Thị Hoa", "Hoàng Văn Cường", "Chợ Tân Thành",
               "Đồng Bé", "Tân Lập", "Xã Tân Thành", *demo_codes]
    found = []
    # Their commander, officer, informant, verifier and observer, by phone number.
    for who in ("0911000001", "0911000002", "0911000010", "0911000020", "0911000030"):
        client = session_client(app, who)
        for path, _declared in pages_without_objects(app):
            if path.startswith("/report/"):
                continue  # the plain public address lists every commune by name, to choose from
            found += leaks(client, path, markers)
    assert found == []
    # And the demo commune's objects answer 404 to them.
    with app.app_context():
        demo_tip = db.session.scalar(select(Tip.id).where(Tip.commune_id != other["commune"]))
        demo_informant = db.session.scalar(select(Informant.user_id).where(Informant.commune_id != other["commune"]))
    boss = session_client(app, "0911000001")
    for url in (f"/officer/tips/{demo_tip}", f"/people/{demo_informant}"):
        assert boss.get(url).status_code == 404


def test_the_other_communes_public_announcements_stay_at_its_own_address(app, other):
    anyone = session_client(app, "anonymous")
    for path in ("/x/tan-thanh/", "/x/tan-thanh/report/"):
        html = anyone.get(path).get_data(as_text=True)
        assert not [m for m in other["markers"] if m in html], path
    assert anyone.get(f"/x/tan-thanh/news/{other['public_news']}/photo").status_code == 404
    assert anyone.get(f"/x/{other['slug']}/news/{other['public_news']}/photo").status_code == 200
    assert "Tuyên truyền Pác Bó" in anyone.get(f"/x/{other['slug']}/").get_data(as_text=True)


def test_likely_duplicates_never_come_from_the_other_commune(app, other, login_as):
    """The same words at the same time in the other commune are never offered to the demo commune's police."""
    from zaloan import duplicates
    from zaloan.models import User

    with app.app_context():
        theirs = db.session.get(Tip, other["tip_id"])
        commander = db.session.scalar(select(User).where(User.role == Role.COMMANDER,
                                                         User.commune_id != other["commune"]))
        mine = Tip(code="ISO000001", commune_id=commander.commune_id, body=theirs.body, status="new",
                   occurred_at=theirs.occurred_at)
        db.session.add(mine)
        db.session.commit()
        assert duplicates.text_alike(mine.body, theirs.body) == 1.0
        assert not [s for s in duplicates.suggestions(mine, commander) if s.tip.commune_id != mine.commune_id]
        mine_id, their_code = mine.id, theirs.code
    page = login_as("commander").get(f"/officer/tips/{mine_id}").get_data(as_text=True)
    assert their_code not in page


def test_the_report_files_of_each_commune_hold_nothing_of_the_other(app, other):
    """The report's downloads (figures of every role, the tip list of the police) stay in their commune."""
    import zipfile

    with app.app_context():
        demo_codes = list(db.session.scalars(select(Tip.code).where(Tip.commune_id != other["commune"])))
    demo_markers = ["Đồng Bé", "Tân Lập", "Xã Tân Thành", *demo_codes]
    sides = ((("commander", "officer", "observer"), other["markers"]),
             (("0911000001", "0911000002", "0911000030"), demo_markers))
    checked = 0
    for people, markers in sides:
        for who in people:
            client = session_client(app, who)
            answers = [client.get(f"/reports/figures.{kind}?period=year") for kind in ("csv", "xlsx")]
            answers += [client.post(f"/reports/tips.{kind}", data={"period": "year"}) for kind in ("csv", "xlsx")]
            for resp in answers:
                assert resp.status_code in (200, 404), who
                if resp.data[:2] == b"PK":
                    with zipfile.ZipFile(io.BytesIO(resp.data)) as z:
                        text = " ".join(z.read(n).decode("utf-8") for n in z.namelist())
                else:
                    text = resp.get_data().decode("utf-8", "replace")
                assert not [m for m in markers if m in text], who
                checked += resp.status_code == 200
    assert checked == 20  # observers get no tip list


def test_the_review_of_each_commune_holds_nothing_of_the_other(app, other):
    """The yearly review (page, printed page, Word file) and its saved assessment stay in their commune."""
    import re
    import zipfile

    from .conftest import csrf_token

    with app.app_context():
        demo_codes = list(db.session.scalars(select(Tip.code).where(Tip.commune_id != other["commune"])))
    demo_markers = ["Đồng Bé", "Tân Lập", "Xã Tân Thành", *demo_codes]
    mine = session_client(app, "commander")
    page = mine.get("/reports/review?period=year").get_data(as_text=True)
    assert mine.post("/reports/review", data={
        "csrf_token": csrf_token(page), "client_key": "iso-1", "period": "year",
        "strengths": "ĐÁNH GIÁ RIÊNG CỦA TÂN THÀNH"}).status_code == 303
    for who, markers in (("commander", other["markers"]),
                         ("0911000001", demo_markers + ["ĐÁNH GIÁ RIÊNG CỦA TÂN THÀNH"])):
        client = session_client(app, who)
        for url in ("/reports/review?period=year", "/reports/review/print?period=year", "/reports/review.docx?period=year"):
            resp = client.get(url)
            assert resp.status_code == 200, (who, url)
            if resp.data[:2] == b"PK":
                with zipfile.ZipFile(io.BytesIO(resp.data)) as z:
                    text = re.sub(r"<[^>]+>", "", " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()
                                                             if n.endswith(".xml")))
            else:
                text = resp.get_data(as_text=True)
            assert not [m for m in markers if m in text], (who, url)
