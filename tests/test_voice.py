"""Voice notes: only real audio, re-encoded clean and short, heard only by the sender and the police of the tip."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from zaloan import voice
from zaloan.extensions import db
from zaloan.models import AuditEvent, Message, TaskAssignment, Tip, VoiceNote

from .helpers import U
from .test_flow import jpeg_bytes, send_tip
from .test_tips_verifier import make_task

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.skipif(not (FFMPEG and FFPROBE),
                                  reason="ffmpeg is not installed (Debian package ffmpeg; scripts/test.sh installs it)")

WORDS = {
    "not_audio": "không phải là bản ghi âm",
    "too_long": "tối đa 2 phút",
    "too_large": "quá lớn",
    "empty": "trống",
    "unavailable": "chưa lưu được",
}


def make_audio(path: Path, source: str, seconds: float, *args: str) -> bytes:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, "-t", str(seconds), *args,
                    str(path)], check=True, timeout=120)
    return path.read_bytes()


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """Recordings as phones and browsers make them, and files that only pretend to be one."""
    if not (FFMPEG and FFPROBE):
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("audio")
    tone = "sine=frequency=440:sample_rate=48000"
    return {
        # MediaRecorder's Opus in WebM, stereo, with tags a phone could write (a name, a place).
        "webm": make_audio(d / "note.webm", tone, 5, "-ac", "2", "-c:a", "libopus", "-b:a", "48k",
                           "-metadata", "title=Nguyen Van An", "-metadata", "location=+21.0285+105.8542/"),
        # Android's and Zalo's recorder: AAC in MP4.
        "m4a": make_audio(d / "note.m4a", tone, 4, "-c:a", "aac", "-metadata", "artist=SECRET-PHONE-0900000010"),
        # Ten hours of silence in a few KB (1 kHz FLAC in long blocks): decoding it all would take minutes.
        "ten_hours": make_audio(d / "long.flac", "anullsrc=r=1000:cl=mono", 36000, "-c:a", "flac",
                                "-frame_size", "65535"),
        "three_minutes": make_audio(d / "three.ogg", "anullsrc=r=8000:cl=mono", 180, "-c:a", "libopus", "-b:a", "6k"),
    }


def probe(data: bytes, tmp_path) -> dict:
    path = tmp_path / "probe.ogg"
    path.write_bytes(data)
    out = subprocess.run([FFPROBE, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, check=True, timeout=30)
    return json.loads(out.stdout)


def upload(c, data: bytes, key: str, name: str = "note.webm"):
    return c.post("/voices/", data={"voice": (io.BytesIO(data), name), "client_key": key},
                  content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    return sorted(Path(app.config["UPLOAD_FOLDER"]).glob("*.ogg"))


def note_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(VoiceNote))


# --- Only real audio, re-encoded clean ----------------------------------------------------------------


@needs_ffmpeg
def test_a_good_note_is_reencoded_as_opus_mono_with_no_tag(app, login_as, audio, tmp_path):
    c = login_as("informant")
    for kind in ("webm", "m4a"):
        r = upload(c, audio[kind], f"voice-good-{kind}")
        assert r.status_code == 200, r.get_data(as_text=True)
        with app.app_context():
            note = db.session.get(VoiceNote, r.json["id"])
            data = Path(app.config["UPLOAD_FOLDER"], note.storage_name).read_bytes()
            assert note.uploader_id == U("informant").id and note.storage_name.endswith(".ogg")
            assert 3500 < note.duration_ms < 5600 and note.size == len(data)
        info = probe(data, tmp_path)
        (stream,) = info["streams"]
        assert info["format"]["format_name"] == "ogg"
        assert stream["codec_name"] == "opus" and stream["channels"] == 1
        # No tag at all: not the sender's, not even the encoder's name.
        assert not info["format"].get("tags") and not stream.get("tags"), info
        for secret in (b"Nguyen Van An", b"105.8542", b"SECRET-PHONE", b"Lavf", b"Lavc", b"libopus"):
            assert secret not in data
        assert int(info["format"]["bit_rate"]) < 24000  # about 16 kbit/s: 2 minutes are about 240 KB


@needs_ffmpeg
def test_the_same_upload_sent_twice_is_kept_once(app, login_as, audio):
    c = login_as("informant")
    first, again = upload(c, audio["webm"], "voice-twice-01"), upload(c, audio["webm"], "voice-twice-01")
    assert first.status_code == again.status_code == 200 and first.json["id"] == again.json["id"]
    assert note_count(app) == 1 and len(stored_files(app)) == 1  # the retry's copy is gone


def html_page() -> bytes:
    return b"<!doctype html><html><body><script>alert(1)</script></body></html>"


@needs_ffmpeg
@pytest.mark.parametrize("kind", ["html", "renamed_jpeg", "ten_hours", "three_minutes", "over_size", "empty"])
def test_a_file_that_is_no_short_voice_note_is_refused_in_words(app, login_as, audio, kind):
    payload, reason = {
        "html": (html_page(), "not_audio"),
        "renamed_jpeg": (jpeg_bytes(), "not_audio"),
        "ten_hours": (audio.get("ten_hours"), "too_long"),
        "three_minutes": (audio.get("three_minutes"), "too_long"),
        "over_size": (b"\x1aE\xdf\xa3" + b"\0" * voice.MAX_BYTES, "too_large"),
        "empty": (b"", "empty"),
    }[kind]
    c = login_as("informant")
    started = time.monotonic()
    r = upload(c, payload, f"voice-bad-{kind}"[:60], name="ghi-am.webm" if kind != "empty" else "x.ogg")
    took = time.monotonic() - started
    assert r.status_code == 422, (kind, r.status_code)
    assert WORDS[reason] in r.json["error"], r.json
    assert note_count(app) == 0 and stored_files(app) == []
    # Ten hours are not decoded to the end: the decoder stops just past two minutes.
    assert took < voice.TIME_LIMIT


@needs_ffmpeg
def test_a_refused_note_in_a_plain_form_keeps_the_text_and_makes_no_tip(app, login_as):
    c = login_as("informant")
    r = send_tip(c, app, body="Có người lạ ở chợ.", key="voice-form-bad-01", photo=False,
                 voice=(io.BytesIO(html_page()), "ghi-am.ogg"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and WORDS["not_audio"] in html and "Có người lạ ở chợ." in html
    with app.app_context():
        assert db.session.scalar(select(Tip.id).where(Tip.client_key == "voice-form-bad-01")) is None
    assert note_count(app) == 0 and stored_files(app) == []


def test_without_the_decoder_a_note_is_refused_as_not_now_and_nothing_is_kept(app, login_as):
    app.config["FFMPEG"] = "/nonexistent/ffmpeg"
    r = upload(login_as("informant"), b"OggS" + b"\0" * 100, "voice-nodecoder-01")
    assert r.status_code == 503 and WORDS["unavailable"] in r.json["error"]
    assert note_count(app) == 0


def test_the_forms_offer_a_voice_note_that_works_without_script(app, login_as, client):
    """Without script a file field (the phone's own recorder); the page's script records on top of it."""
    t = make_task(app)
    pages = {
        "informant": ["/informant/tips/new", f"/informant/tips/{t['tip']}"],
        "verifier": [f"/verifier/tasks/{t['a']}"],
    }
    for who, urls in pages.items():
        c = login_as(who)
        for url in urls:
            html = c.get(url).get_data(as_text=True)
            assert 'type="file" name="voice" accept="audio/*" capture' in html, url
            assert 'data-voice data-upload-url="/voices/"' in html, url
            assert "app-voice.js" in html, url
    html = client.get("/report/").get_data(as_text=True)  # no account: the note goes with the form itself
    assert 'name="voice" accept="audio/*" capture' in html and 'data-voice>' in html


# --- Sending a tip, an answer and a report with a voice note ------------------------------------------


@needs_ffmpeg
def test_a_voice_tip_without_script_reaches_the_officer(app, login_as, audio):
    c = login_as("informant")
    r = send_tip(c, app, body="", key="voice-tip-plain-01", photo=False, voice=(io.BytesIO(audio["m4a"]), "a.m4a"))
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "voice-tip-plain-01"))
        note = db.session.scalar(select(VoiceNote).where(VoiceNote.tip_id == tip.id))
        assert note.uploader_id == U("informant").id
        tip_id, note_id = tip.id, note.id
    html = login_as("officer").get(f"/officer/tips/{tip_id}").get_data(as_text=True)
    assert f'<audio controls preload="none" src="/voices/{note_id}"></audio>' in html
    assert f'src="/voices/{note_id}"' in c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    # Sent again after a lost answer: the same tip, no second note, no file left over.
    again = send_tip(c, app, body="", key="voice-tip-plain-01", photo=False, voice=(io.BytesIO(audio["m4a"]), "a.m4a"))
    assert again.status_code == 303 and note_count(app) == 1 and len(stored_files(app)) == 1


@needs_ffmpeg
def test_a_voice_tip_with_script_joins_the_note_sent_before_and_refuses_someone_elses(app, login_as, audio):
    mine, theirs = login_as("informant"), login_as("informant2")
    mine_id = upload(mine, audio["webm"], "voice-js-mine-01").json["id"]
    their_id = upload(theirs, audio["webm"], "voice-js-their-01").json["id"]
    r = send_tip(mine, app, body="", key="voice-js-tip-02", photo=False, voice_ids=str(their_id))
    assert r.status_code == 422 and "ghi âm này không dùng được" in r.get_data(as_text=True)
    r = send_tip(mine, app, body="", key="voice-js-tip-01", photo=False, voice_ids=str(mine_id))
    assert r.status_code == 303
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.client_key == "voice-js-tip-01"))
        assert db.session.get(VoiceNote, mine_id).tip_id == tip.id
        assert db.session.get(VoiceNote, their_id).tip_id is None
        assert db.session.scalar(select(Tip.id).where(Tip.client_key == "voice-js-tip-02")) is None
    # A note already sent with one tip cannot go with another.
    r = send_tip(mine, app, body="", key="voice-js-tip-03", photo=False, voice_ids=str(mine_id))
    assert r.status_code == 422


@needs_ffmpeg
def test_an_answer_may_be_a_voice_note_alone(app, login_as, audio):
    t = make_task(app)
    c = login_as("informant")
    note_id = upload(c, audio["webm"], "voice-answer-01").json["id"]
    r = c.post(f"/informant/tips/{t['tip']}/messages", data={"body": "", "client_key": "voice-answer-msg-01",
                                                             "voice_ids": str(note_id)})
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.client_key == "voice-answer-msg-01"))
        assert db.session.get(VoiceNote, note_id).message_id == msg.id
    assert f'src="/voices/{note_id}"' in login_as("officer").get(f"/officer/tips/{t['tip']}").get_data(as_text=True)


@needs_ffmpeg
def test_a_verifier_reports_by_voice_heard_by_the_police_never_by_the_sender(app, login_as, audio):
    t = make_task(app)
    v = login_as("verifier")
    r = v.post(f"/verifier/tasks/{t['a']}/report", data={"finding": "confirmed", "client_key": "voice-rep-01",
                                                          "voice": (io.BytesIO(audio["m4a"]), "bao-cao.m4a")},
               content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        note = db.session.scalar(select(VoiceNote).where(VoiceNote.assignment_id == t["a"]))
        assert db.session.get(TaskAssignment, t["a"]).reported_at is not None
        note_id = note.id
    assert f'src="/voices/{note_id}"' in v.get(f"/verifier/tasks/{t['a']}").get_data(as_text=True)
    assert f'src="/voices/{note_id}"' in login_as("officer").get(f"/officer/tips/{t['tip']}").get_data(as_text=True)
    assert v.get(f"/voices/{note_id}").status_code == 200
    assert login_as("officer").get(f"/voices/{note_id}").status_code == 200
    assert login_as("informant").get(f"/voices/{note_id}").status_code == 404


# --- Who hears it -------------------------------------------------------------------------------------


def sender_note(app, t) -> int:
    """A voice note sent with the task's tip by its sender, stored without the decoder."""
    from zaloan.storage import files

    with app.app_context():
        files().put("0123456789abcdef0123456789abcdef.ogg", b"OggS-fake-voice")
        note = VoiceNote(tip_id=t["tip"], uploader_id=U("informant").id, storage_name="0123456789abcdef0123456789abcdef.ogg",
                         duration_ms=12_000, size=15, sha256="0" * 64)
        db.session.add(note)
        db.session.commit()
        return note.id


def test_who_may_hear_a_senders_voice(app, login_as):
    t = make_task(app)
    note_id = sender_note(app, t)
    for who in ("informant", "officer", "commander"):
        r = login_as(who).get(f"/voices/{note_id}")
        assert r.status_code == 200, who
        assert r.mimetype == "audio/ogg" and r.headers["Cache-Control"].startswith("private")
        assert r.headers["X-Content-Type-Options"] == "nosniff" and "Set-Cookie" not in r.headers
        assert r.get_data() == b"OggS-fake-voice"
    for who in ("verifier", "verifier2", "informant2", "officer2", "observer", "province_admin"):
        assert login_as(who).get(f"/voices/{note_id}").status_code == 404, who
    anonymous = app.test_client().get(f"/voices/{note_id}")
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["Location"]


def test_no_page_a_verifier_reaches_carries_the_senders_voice(app, login_as):
    from .secrecy import assert_verifier_never_sees, tip_secrets

    t = make_task(app)
    note_id = sender_note(app, t)
    with app.app_context():  # a time of its own: the task's notice shows when it was given, which is now
        from datetime import datetime

        db.session.get(Tip, t["tip"]).occurred_at = datetime(2026, 3, 7, 13, 17)
        db.session.commit()
    secrets = tip_secrets(app, t["tip"]) + [f"/voices/{note_id}", "0123456789abcdef0123456789abcdef", "OggS-fake"]
    visited = assert_verifier_never_sees(login_as("verifier"), secrets, tip_ids=[t["tip"]])
    assert f"/verifier/tasks/{t['a']}" in visited
    v = login_as("verifier")
    assert v.get(f"/voices/{note_id}").status_code == 404
    assert v.post(f"/voices/{note_id}/summary", data={"summary": "thử"}).status_code in (403, 404)


# --- The officer's summary ----------------------------------------------------------------------------


def test_the_officer_writes_what_a_voice_note_says_audited_in_words(app, login_as):
    t = make_task(app)
    note_id = sender_note(app, t)
    officer = login_as("officer")
    page = officer.get(f"/officer/tips/{t['tip']}").get_data(as_text=True)
    assert f'action="/voices/{note_id}/summary"' in page and "Ghi lại nội dung" in page
    r = officer.post(f"/voices/{note_id}/summary", data={"summary": "  Ba người lạ đi xe Honda ở chợ lúc 21 giờ.  "})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/officer/tips/{t['tip']}#voice-{note_id}")
    with app.app_context():
        note = db.session.get(VoiceNote, note_id)
        assert note.summary == "Ba người lạ đi xe Honda ở chợ lúc 21 giờ." and note.summary_by_id == U("officer").id
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "voice.summary")).all()
        assert len(rows) == 1 and rows[0].target_id == t["tip"]
        assert "Ba người" not in json.dumps(rows[0].data, ensure_ascii=False)  # the record keeps no tip text
    assert "Ba người lạ đi xe Honda" in officer.get(f"/officer/tips/{t['tip']}").get_data(as_text=True)
    log = login_as("commander").get("/audit/").get_data(as_text=True)
    assert f"đã ghi lại nội dung một ghi âm của tin {t['code']}" in log
    # The same words again change nothing and are no second record.
    officer.post(f"/voices/{note_id}/summary", data={"summary": "Ba người lạ đi xe Honda ở chợ lúc 21 giờ."})
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "voice.summary")) == 1


def test_a_summary_too_long_or_from_anyone_else_changes_nothing(app, login_as):
    t = make_task(app)
    note_id = sender_note(app, t)
    r = login_as("officer").post(f"/voices/{note_id}/summary", data={"summary": "a" * 2001})
    assert r.status_code == 422 and "Tối đa 2000 ký tự" in r.get_data(as_text=True)
    for who in ("officer2", "verifier", "informant", "observer"):
        assert login_as(who).post(f"/voices/{note_id}/summary", data={"summary": "x"}).status_code in (403, 404), who
    with app.app_context():
        assert db.session.get(VoiceNote, note_id).summary == ""
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "voice.summary")) == 0


# --- Notes recorded but never sent --------------------------------------------------------------------


def test_notes_never_sent_are_purged_after_a_week(app, login_as):
    from datetime import timedelta

    from zaloan.models import utcnow
    from zaloan.storage import files

    t = make_task(app)
    kept = sender_note(app, t)
    with app.app_context():
        files().put("ffffffffffffffffffffffffffffffff.ogg", b"OggS-left")
        db.session.add(VoiceNote(uploader_id=U("informant").id, storage_name="ffffffffffffffffffffffffffffffff.ogg",
                                 duration_ms=1000, size=9, sha256="1" * 64, created_at=utcnow() - timedelta(days=8)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge-photos"])
    assert "Unused voice notes deleted: 1 (older than 7 days)." in result.output, result.output
    with app.app_context():
        assert db.session.get(VoiceNote, kept) is not None and not files().exists("ffffffffffffffffffffffffffffffff.ogg")
        assert db.session.scalar(select(func.count()).select_from(VoiceNote)) == 1
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "voices.purge")) == 1


# --- Backups --------------------------------------------------------------------------------------------


def test_a_backup_holds_the_voice_notes_and_a_restore_brings_them_back(app, tmp_path, empty_database_url):
    from zaloan.backup import make_backup, restore_backup
    from zaloan.storage import files

    from .conftest import make_app

    t = make_task(app)
    sender_note(app, t)
    with app.app_context():
        summary = make_backup(tmp_path / "v.zbk")
    assert not summary.missing
    folder = tmp_path / "restored"
    folder.mkdir()
    fresh = make_app(folder, empty_database_url)
    with fresh.app_context():
        report = restore_backup(tmp_path / "v.zbk")
        assert report.ok and not report.missing_files
        assert files().get("0123456789abcdef0123456789abcdef.ogg") == b"OggS-fake-voice"
        db.session.remove()
        db.engine.dispose()
