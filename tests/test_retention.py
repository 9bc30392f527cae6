"""Retention of closed tips' content per commune (Law 91/2025, Decree 13/2023): erased, audited, reports unchanged."""
from __future__ import annotations

import io
import subprocess
import tarfile
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import JSON, String, Text, cast, func, select

from zaloan import audit, audit_words, cases, images, retention
from zaloan.backup import make_backup
from zaloan.extensions import db
from zaloan.images import thumb_name
from zaloan.models import (
    Attachment,
    AuditEvent,
    Category,
    CommuneSettings,
    Finding,
    Message,
    Outcome,
    Tip,
    TipStatus,
    Unit,
    Urgency,
    utcnow,
)
from zaloan.reports import commune_summary
from zaloan.storage import files

from .helpers import U

MARKERS = ("QXBODY4417", "QXPLACE4417", "QXNOTE4417", "QXASK4417", "QXANSWER4417", "QXBRIEF4417", "QXHINT4417",
           "QXFOUND4417", "QXREOPEN4417", "QXFIRSTNOTE4417", "QXVOICE4417")


def photo(color=(10, 120, 200)):
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(buf, "JPEG")
    return images.store(buf.getvalue())


def worked_tip(closed_months_ago: int, number: str = "4417") -> int:
    """A tip with every kind of content (photos, thread, task with report, reopen), closed months ago; its id."""
    village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
    theft = db.session.scalar(select(Category).where(Category.code == "theft"))
    informant, officer, verifier = U("informant"), U("officer"), U("verifier")
    m = {k: k.replace("4417", number) for k in MARKERS}
    tip, _ = cases.submit_tip(commune=village.commune(), informant=informant.informant, category=theft,
                              body=f"Mất xe {m['QXBODY4417']} ở chợ.", village=village,
                              place_text=f"Gần {m['QXPLACE4417']}", photos=[photo()], uploader=informant)
    cases.triage(tip, by=officer, category=theft, urgency=Urgency.HIGH)
    cases.ask(tip, by=officer, body=f"Hỏi {m['QXASK4417']}?")
    cases.answer(tip, author=informant, body=f"Trả lời {m['QXANSWER4417']}", photos=[photo((200, 10, 10))])
    task = cases.create_task(tip, by=officer, verifiers=[verifier], brief=f"Xem {m['QXBRIEF4417']}",
                             place_hint=f"Cổng {m['QXHINT4417']}", due_at=utcnow() + timedelta(hours=5),
                             shared_photo_ids=[a.id for a in tip.attachments])
    cases.accept_task(task.assignments[0], by=verifier)
    cases.report_finding(task.assignments[0], by=verifier, finding=Finding.CONFIRMED,
                         notes=f"Thấy {m['QXFOUND4417']}", photos=[photo((5, 200, 5))])
    voice_notes(tip, task.assignments[0], informant, verifier, summary=f"Nói {m['QXVOICE4417']}")
    cases.record_outcome(tip, by=officer, outcome=Outcome.COMMUNE_POLICE, note=f"Ghi {m['QXFIRSTNOTE4417']}")
    cases.reopen(tip, by=officer, reason=f"Mở lại {m['QXREOPEN4417']}")
    cases.record_outcome(tip, by=officer, outcome=Outcome.MEDIATED, note=f"Xong {m['QXNOTE4417']}")
    tip.closed_at = utcnow() - timedelta(days=31 * closed_months_ago)
    db.session.commit()
    return tip.id


def voice_notes(tip, assignment, informant, verifier, summary: str) -> None:
    """A voice note with the tip, one with the sender's answer, one with the report (bytes kept as they are)."""
    import secrets

    from zaloan.models import Message, VoiceNote

    answer = next(m for m in tip.messages if not m.from_police)
    for link, who in ((dict(tip_id=tip.id), informant), (dict(message_id=answer.id), informant),
                      (dict(assignment_id=assignment.id), verifier)):
        name = secrets.token_hex(16) + ".ogg"
        files().put(name, b"OggS-voice")
        db.session.add(VoiceNote(uploader_id=who.id, storage_name=name, duration_ms=2000, size=10, sha256="0" * 64,
                                 summary=summary if "tip_id" in link else "", **link))
    db.session.flush()
    assert Message  # the answer above is one of the tip's messages


def voice_names(tip_id: int) -> list[str]:
    from zaloan.models import VoiceNote

    return [n.storage_name for n in db.session.scalars(select(VoiceNote)) if n.storage_name and
            retention_owner(n) == tip_id]


def retention_owner(note) -> int | None:
    from zaloan.permissions import voice_tip

    tip = voice_tip(note)
    return tip.id if tip else None


def text_hits(marker: str) -> list[str]:
    """Every table.column (text, strings, JSON) of the database that holds `marker`."""
    hits = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text, JSON)):
                found = db.session.scalar(select(func.count()).select_from(table)
                                          .where(cast(column, Text).like(f"%{marker}%")))
                if found:
                    hits.append(f"{table.name}.{column.name}")
    return hits


def photo_names(tip_id: int) -> list[str]:
    tip = db.session.get(Tip, tip_id)
    names = [a.storage_name for a in tip.attachments]
    for m in tip.messages:
        names += [a.storage_name for a in m.attachments]
    for t in tip.tasks:
        for a in t.assignments:
            names += [p.storage_name for p in a.photos]
    return names


def figures(commune) -> dict:
    """The commune's summary and its period report (the yearly review's figures) over the last three years."""
    from dataclasses import asdict

    from zaloan.models import Role, User
    from zaloan.reports import build_report, local_today

    summary = commune_summary(commune)
    summary.pop("checkpoint")
    commander = db.session.scalar(select(User).where(User.commune_id == commune.id, User.role == Role.COMMANDER))
    today = local_today()
    report = build_report(commander, {"period": "custom", "start": f"01/01/{today.year - 3}",
                                      "end": today.strftime("%d/%m/%Y")})
    summary["report"] = [asdict(now) for _commune, now, _before in report.parts]
    return summary


def backup_text(path) -> bytes:
    """The database of a backup archive as bytes one can search (a pg_dump as the SQL it restores)."""
    with tarfile.open(path) as tar:
        if "database.sqlite" in tar.getnames():
            return tar.extractfile("database.sqlite").read()
        dump = tar.extractfile("database.pgdump").read()
    from zaloan.backup import _pg_tool

    return subprocess.run([_pg_tool("pg_restore"), "--file=-"], input=dump, capture_output=True,
                          check=True).stdout


def test_closed_tips_past_the_time_lose_their_content_and_keep_their_skeleton(app, tmp_path):
    with app.app_context():
        old = worked_tip(25)
        recent = worked_tip(3, number="5528")
        names = photo_names(old)
        assert len(names) == 3 and all(files().get(n) for n in names)
        voices = voice_names(old)
        assert len(voices) == 3 and all(files().get(n) for n in voices)
        before_old = db.session.get(Tip, old)
        skeleton = {k: getattr(before_old, k) for k in ("created_at", "closed_at", "occurred_at", "village_id",
                                                          "category_id", "outcome", "status", "urgency", "code",
                                                          "watch_point_id", "informant_id")}
        commune = db.session.get(Tip, old).village.commune()
        figures_before = figures(commune)
        for marker in MARKERS:
            assert text_hits(marker)  # the content is there to begin with
        audits = db.session.scalar(select(func.count(AuditEvent.id)))

        result = app.test_cli_runner().invoke(args=["retention", "run"])
        assert result.exit_code == 0, result.output
        assert "1 closed tips erased (3 photos, 2 messages)" in result.output
        db.session.expire_all()

        # Nothing of the content is anywhere in the database, in any text column.
        for marker in MARKERS:
            assert text_hits(marker) == [], marker
        # The photos are gone: rows and files (thumbnails too).
        assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.storage_name.in_(names))) == 0
        for name in names:
            assert files().get(name) is None and files().get(thumb_name(name)) is None
        # The voice notes too: rows (with the officer's summary) and files.
        assert voice_names(old) == [] and all(files().get(n) is None for n in voices)
        tip = db.session.get(Tip, old)
        assert tip.erased_at is not None and tip.body == "" and not tip.messages
        assert {k: getattr(tip, k) for k in skeleton} == skeleton
        assert all(t.brief == "" and t.assignments[0].finding == Finding.CONFIRMED for t in tip.tasks)
        # The reports' figures are the same.
        assert figures(commune) == figures_before
        # The tip closed 3 months ago keeps everything.
        kept = db.session.get(Tip, recent)
        assert kept.erased_at is None and "QXBODY5528" in kept.body
        assert len(photo_names(recent)) == 3 and len(voice_names(recent)) == 3
        # One audit row: kinds and counts, never the content.
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > 0).order_by(AuditEvent.id.desc())
                                  .limit(db.session.scalar(select(func.count(AuditEvent.id))) - audits)).all()
        erase = [r for r in rows if r.action == "retention.erase"]
        assert len(erase) == 1 and erase[0].data == {"tips": 1, "photos": 3, "messages": 2, "voices": 3, "conversation": 0,
                                                    "months": 24}
        assert erase[0].commune_id == commune.id
        assert "3" in audit_words.sentence(erase[0]) and "QX" not in audit_words.sentence(erase[0])
        assert audit.verify_chain().ok

        # A new backup holds none of it.
        make_backup(tmp_path / "after.zbk")
        dump = backup_text(tmp_path / "after.zbk")
        assert b"QXBODY5528" in dump  # the kept tip is there: the search can find text
        for marker in MARKERS:
            assert marker.encode() not in dump, marker

        # Run again: nothing more to erase, no new audit row.
        again = app.test_cli_runner().invoke(args=["retention", "run"])
        assert "Nothing to erase" in again.output
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "retention.erase")) == 1


def test_pages_of_an_erased_tip_say_so_and_it_cannot_be_reopened(app, login_as):
    with app.app_context():
        old = worked_tip(30)
        retention.run()
    officer = login_as("officer")
    page = officer.get(f"/officer/tips/{old}").get_data(as_text=True)
    assert "đã bị xóa" in page and "QXBODY" not in page
    assert f"/officer/tips/{old}/reopen" not in page
    r = officer.post(f"/officer/tips/{old}/reopen", data={"reason": "Có tin mới về vụ này"})
    assert r.status_code == 409 and "không thể mở lại" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Tip, old).status == TipStatus.CLOSED
    mine = login_as("informant").get(f"/informant/tips/{old}").get_data(as_text=True)
    assert "đã bị xóa" in mine and "QXBODY" not in mine
    # The verifier's task: the officer's words are gone too, and the page says so.
    with app.app_context():
        assignment = db.session.get(Tip, old).tasks[0].assignments[0].id
    task = login_as("verifier").get(f"/verifier/tasks/{assignment}")
    assert task.status_code == 200
    assert "Lời dặn của cán bộ trong việc này đã bị xóa" in task.get_data(as_text=True)
    assert "QX" not in task.get_data(as_text=True)


def test_the_commander_sets_the_time_and_bad_input_changes_nothing(app, login_as):
    commander = login_as("commander")
    page = commander.get("/commander/settings").get_data(as_text=True)
    assert 'name="retention_months"' in page and 'value="24"' in page
    form = {"duty_phone": "", "due_hours_emergency": "2", "due_hours_high": "12", "due_hours_normal": "24",
            "due_hours_low": "72"}
    for bad in ("0", "121", "abc", "", "-3", "2.5"):
        r = commander.post("/commander/settings", data={**form, "retention_months": bad})
        assert r.status_code == 422 and "Hãy nhập số tháng" in r.get_data(as_text=True), bad
    with app.app_context():
        commune_id = U("commander").commune_id
        assert CommuneSettings.of(commune_id).retention_months == 24
        assert not db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "commune.retention"))
    r = commander.post("/commander/settings", data={**form, "retention_months": "12"})
    assert r.status_code in (302, 303)
    with app.app_context():
        assert CommuneSettings.of(commune_id).retention_months == 12
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commune.retention"))
        assert row.data == {"months": 12, "was": 24}
        assert "12" in audit_words.sentence(row)
        # 12 months: a tip closed 13 months ago goes now.
        tip = worked_tip(13)
        assert retention.run()[commune_id].tips == 1
        assert db.session.get(Tip, tip).erased_at is not None
    # An officer may not change it.
    assert login_as("officer").post("/commander/settings", data={**form, "retention_months": "1"}).status_code \
        in (403, 404)


def test_months_are_counted_on_the_calendar():
    assert retention.months_before(datetime(2026, 3, 31, 12), 1) == datetime(2026, 2, 28, 12)
    assert retention.months_before(datetime(2026, 1, 15), 24) == datetime(2024, 1, 15)
    assert retention.months_before(datetime(2024, 2, 29), 12) == datetime(2023, 2, 28)


@pytest.fixture
def another_commune(app):
    """The tips of a second commune follow that commune's own setting."""
    from zaloan.communes import create_commune

    with app.app_context():
        unit = create_commune("Xã Hòa Lạc", "Tỉnh Lạng Sơn", None)
        db.session.commit()
        return unit.id


def test_each_commune_keeps_its_own_time(app, another_commune):
    with app.app_context():
        tip = worked_tip(25)
        commune_id = db.session.get(Tip, tip).commune_id
        settings = CommuneSettings.of(commune_id)
        settings.retention_months = 60
        db.session.add(settings)
        db.session.commit()
        assert retention.run() == {}
        assert db.session.get(Tip, tip).erased_at is None
        assert not db.session.scalar(select(func.count(Message.id)).where(Message.tip_id == tip)) == 0


# --- An informant's identity erased on request -----------------------------------------------------


def erasure_rows():
    from zaloan.models import IdentityErasure

    return db.session.scalars(select(IdentityErasure).order_by(IdentityErasure.id)).all()


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_the_officer_asks_the_commander_confirms_and_the_name_and_phone_are_gone(app, login_as):
    from zaloan import accounts
    from zaloan.models import LoginAttempt, Role, UserSession

    with app.app_context():
        an = U("informant")
        an_id, alias, name, informant_id = an.id, an.informant.alias, an.full_name, an.informant.id
        tips = db.session.scalar(select(func.count(Tip.id)).where(Tip.informant_id == informant_id))
        commune = an.commune
        before = figures(commune)
        assert tips and text_hits(name)
    # The informant is logged in, and a stranger tried their phone.
    informant = login_as("informant")
    assert app.test_client().post("/login", data={"phone": "0900000010", "password": "sai-mat-khau"}).status_code \
        in (200, 401, 422, 429)
    with app.app_context():
        key = accounts.keyed("phone:+84900000010")
        assert db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.phone_key == key))

    officer = login_as("officer")
    page = officer.get(f"/people/{an_id}").get_data(as_text=True)
    assert f'action="/people/{an_id}/erasure"' in page
    # Bad input: a Vietnamese message, nothing recorded.
    r = officer.post(f"/people/{an_id}/erasure", data={"reason": "ngắn"})
    assert r.status_code == 422 and "10 đến 300" in r.get_data(as_text=True)
    with app.app_context():
        assert not erasure_rows() and not audit_count("erasure.request")
    r = officer.post(f"/people/{an_id}/erasure", data={"reason": "Người này gọi điện xin thôi, ngày 28/11."})
    assert r.status_code in (302, 303)
    # A second request while one waits is refused.
    again = officer.post(f"/people/{an_id}/erasure", data={"reason": "Người này gọi điện xin thôi, lần nữa."})
    assert again.status_code == 409 and "đang chờ" in again.get_data(as_text=True)
    with app.app_context():
        (row,) = erasure_rows()
        assert row.outcome is None and U("informant").full_name == name  # nothing erased yet
    # The officer cannot confirm their own request.
    assert officer.post(f"/people/{an_id}/erasure/confirm", data={"sure": "y"}).status_code == 404
    assert informant.get("/informant/").status_code == 200

    commander = login_as("commander")
    home = commander.get("/commander/").get_data(as_text=True)
    assert f"/people/{an_id}#erasure" in home and alias in home
    page = commander.get(f"/people/{an_id}").get_data(as_text=True)
    assert "Người này gọi điện xin thôi" in page and f'action="/people/{an_id}/erasure/confirm"' in page
    # Without ticking the box: nothing happens.
    r = commander.post(f"/people/{an_id}/erasure/confirm", data={})
    assert r.status_code == 422 and "Hãy đánh dấu" in r.get_data(as_text=True)
    with app.app_context():
        assert U("informant") is not None and erasure_rows()[0].outcome is None
    r = commander.post(f"/people/{an_id}/erasure/confirm", data={"sure": "y"})
    assert r.status_code in (302, 303)

    with app.app_context():
        person = db.session.get(type(U("commander")), an_id)
        assert person.erased_at and not person.active and person.full_name == "" and person.password_hash is None
        assert person.informant.alias == alias  # the alias stays
        assert db.session.scalar(select(func.count(Tip.id)).where(Tip.informant_id == informant_id)) == tips
        assert figures(commune)["by_status"] == before["by_status"]
        assert {k: v for k, v in figures(commune).items() if k != "by_role"} == \
            {k: v for k, v in before.items() if k != "by_role"}
        # Name and phone are nowhere in the database; the phone's keyed hashes are gone.
        assert text_hits(name) == [] and text_hits("900000010") == []
        assert not db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.phone_key == key))
        assert not db.session.scalar(select(func.count(UserSession.id)).where(
            UserSession.user_id == an_id, UserSession.revoked_at.is_(None)))
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("erasure.%"))
                                  .order_by(AuditEvent.id)).all()
        assert [r.action for r in rows] == ["erasure.request", "erasure.confirm"]
        for r in rows:
            words = audit_words.sentence(r)
            assert alias in words and name not in words and "…010" not in words and "900000010" not in words
        assert erasure_rows()[0].outcome == "done"
        assert retention.pending_erasures(commune.id) == []
        assert audit.verify_chain().ok
    # Their session has ended; the page says the identity is erased; it cannot be unlocked or shown.
    assert informant.get("/informant/").status_code in (302, 303)
    page = commander.get(f"/people/{an_id}").get_data(as_text=True)
    assert "Đã xóa danh tính" in page and name not in page and "/reveal" not in page
    r = commander.post(f"/people/{an_id}/enable")
    assert r.status_code == 409
    assert commander.post(f"/people/{an_id}/reveal", data={"reason": "Cần xem người này"}).status_code == 404
    with app.app_context():
        assert not db.session.get(type(U("commander")), an_id).active
        # The same person can be enrolled again, as someone new.
        again = accounts.create_user(by=U("officer"), phone="0900000010", full_name=name, role=Role.INFORMANT,
                                     commune=U("officer").commune)
        db.session.commit()
        assert again.id != an_id and again.informant.alias != alias


def test_whoever_asks_cannot_also_confirm_and_a_refusal_erases_nothing(app, login_as):
    with app.app_context():
        an_id, name = U("informant").id, U("informant").full_name
    commander = login_as("commander")
    r = commander.post(f"/people/{an_id}/erasure", data={"reason": "Người này nhờ cán bộ xóa, hôm qua."})
    assert r.status_code in (302, 303)
    r = commander.post(f"/people/{an_id}/erasure/confirm", data={"sure": "y"})
    assert r.status_code == 409 and "người khác" in r.get_data(as_text=True).lower()
    with app.app_context():
        assert U("informant").full_name == name and erasure_rows()[0].outcome is None
        assert not audit_count("erasure.confirm")
    # Refused by the commander on an officer's request: nothing changes, and it can be asked again.
    with app.app_context():
        erasure_rows()[0].outcome = "refused"
        db.session.commit()
    officer = login_as("officer")
    assert officer.post(f"/people/{an_id}/erasure", data={"reason": "Người này lại xin xóa, sáng nay."}) \
        .status_code in (302, 303)
    assert commander.post(f"/people/{an_id}/erasure/refuse").status_code in (302, 303)
    with app.app_context():
        assert [r.outcome for r in erasure_rows()] == ["refused", "refused"]
        assert U("informant").full_name == name and U("informant").active
        assert audit_count("erasure.refuse") == 1
    # Nothing waits: there is nothing to confirm or refuse.
    assert commander.post(f"/people/{an_id}/erasure/confirm", data={"sure": "y"}).status_code == 404


def test_another_officer_cannot_ask_for_an_informant_they_do_not_handle(app, login_as):
    with app.app_context():
        an_id = U("informant").id
    r = login_as("officer2").post(f"/people/{an_id}/erasure", data={"reason": "Người này xin thôi, hôm qua."})
    assert r.status_code == 404
    with app.app_context():
        assert not erasure_rows()


def test_old_conversation_messages_are_deleted_and_newer_ones_kept(app):
    """The informants' standing conversation follows the same months: older messages go, with their words;
    a newer answer to a deleted request keeps its own words; the audit row says how many, never what."""
    from zaloan import conversations
    from zaloan.models import ChannelMessage

    with app.app_context():
        informant = U("informant").informant
        officer = U("officer")
        old_request = conversations.send(informant, by=officer, body="QXOLDREQ7731 để ý quán karaoke")
        old_request.is_request = True
        old_answer = conversations.send(informant, by=U("informant"), body="QXOLDANS7731 đã thấy")
        new_answer = conversations.send(informant, by=U("informant"), body="QXNEWANS7731 tối nay lại thấy",
                                        reply_to=old_request)
        long_ago = utcnow() - timedelta(days=800)
        old_request.created_at = old_answer.created_at = long_ago
        db.session.commit()
        kept_id, commune_id = new_answer.id, informant.commune_id

        dry = retention.run(dry_run=True)
        assert dry[commune_id].conversation == 2 and db.session.get(ChannelMessage, kept_id).reply_to_id
        done = retention.run()
        assert done[commune_id].conversation == 2 and done[commune_id].tips == 0
        assert text_hits("QXOLDREQ7731") == [] and text_hits("QXOLDANS7731") == []
        kept = db.session.get(ChannelMessage, kept_id)
        assert kept.body.startswith("QXNEWANS7731") and kept.reply_to_id is None
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.erase"))
        assert row.data["conversation"] == 2 and "QX" not in str(row.data)
        assert "2" in audit_words.sentence(row)
        assert audit.verify_chain().ok
        assert retention.run() == {}  # nothing twice
