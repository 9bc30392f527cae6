"""Voice notes from users: recognised by decoding, re-encoded clean, kept like photos.

Many stall keepers and older villagers cannot type Vietnamese quickly; on
Zalo they speak instead. A note (at most MAX_SECONDS long) is decoded by
ffmpeg, started as a separate process with a time limit, on a file of at most
MAX_BYTES, allowed to read only that file (no network, no playlist pointing
at other files: only the demuxers in DEMUXERS). What is kept is a fresh Opus
stream, mono, about 16 kbit/s, in an Ogg container, with no tag or metadata of
the original (`-map_metadata -1`, bit-exact muxing: not even the encoder's
name), under a random name outside static/, through zaloan.storage, served
only after the permission check (`can_hear_voice`). A 2-minute note is about
240 KB.

Decoding stops at MAX_SECONDS plus a little: a ten-hour file costs no more
than a two-minute one, and is refused as too long. All of it happens before the
request's database transaction begins, as for photos.
"""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import struct
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from . import audit
from .extensions import db
from .inputs import to_int
from .models import Message, TaskAssignment, VerificationTask, VoiceNote, utcnow
from .permissions import voice_tip
from .storage import StorageError, files

MAX_SECONDS = 120
MAX_BYTES = 8 * 1024 * 1024  # a 2-minute AAC note from a phone's own recorder is 1-2 MB
TIME_LIMIT = 30  # seconds of the decoder's wall clock for one note
BITRATE = "16k"
SAMPLE_RATE = 16000  # wideband speech
CONTENT_TYPE = "audio/ogg"
# What phones and browsers record: WebM/Matroska and Ogg (MediaRecorder), MP4/M4A/3GP
# (Android's recorder, Zalo, iPhone), AMR, MP3, WAV, AAC, FLAC, CAF. No playlist
# (HLS, concat) that could make the decoder read another file.
DEMUXERS = "matroska,webm,ogg,mov,mp4,m4a,3gp,3g2,mj2,amr,amrnb,amrwb,mp3,wav,aac,flac,caf"

PROBLEMS = {
    "empty": _l("The voice note was empty. Please record it again."),
    "too_large": _l("The voice note is too large (more than 8 MB)."),
    "not_audio": _l("This file is not a voice recording that can be played. Please record again."),
    "too_long": _l("A voice note can be at most 2 minutes long. Please record a shorter one."),
    "unavailable": _l("Voice notes cannot be saved right now. What you wrote is kept; please try again in a few minutes."),
}

# Two notes decoded at once at most: the decoder is a process of its own, each
# one takes a core while it runs, and the machine serves pages too.
DECODING = threading.BoundedSemaphore(2)


class VoiceRejected(ValueError):
    """The upload is not a voice note we accept, or cannot be kept now; `reason` is a key of PROBLEMS."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return str(PROBLEMS[self.reason])

    @property
    def status(self) -> int:
        return 503 if self.reason == "unavailable" else 422


@dataclass
class StoredVoice:
    storage_name: str
    duration_ms: int
    size: int
    sha256: str


def ffmpeg_path() -> str | None:
    """Return the decoder's path, None when ffmpeg is not installed."""
    return current_app.config.get("FFMPEG") or shutil.which("ffmpeg")


def ogg_duration_ms(data: bytes) -> int:
    """Return how long an Ogg Opus stream plays: its last page's granule position less the pre-skip, at 48 kHz."""
    head = data.find(b"OpusHead")
    last = data.rfind(b"OggS")
    if head < 0 or last < 0 or len(data) < last + 14 or len(data) < head + 12:
        return 0
    pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    granule = struct.unpack_from("<q", data, last + 6)[0]
    return max(0, (granule - pre_skip) * 1000 // 48000)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def without_tags(data: bytes) -> bytes:
    """Return an Ogg Opus stream whose comment header names nothing (no tag, not even the encoder).

    ffmpeg writes its own name as a tag whatever it is told; the second page of
    the stream, which holds the comment header alone, is written anew with no
    comment. Anything else than that layout is refused as not audio.
    """
    first = data.find(b"OggS")
    if first != 0 or len(data) < 27:
        raise VoiceRejected("not_audio")
    start = 27 + data[26] + sum(data[27:27 + data[26]])  # the second page
    if data[start:start + 4] != b"OggS" or len(data) < start + 27:
        raise VoiceRejected("not_audio")
    nsegs = data[start + 26]
    body_len = sum(data[start + 27:start + 27 + nsegs])
    end = start + 27 + nsegs + body_len
    if data[start + 27 + nsegs:start + 27 + nsegs + 8] != b"OpusTags" or data[start + 5] & 1:
        raise VoiceRejected("not_audio")
    vendor = b"zaloan"
    packet = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    header = bytearray(data[start:start + 27])
    header[22:26] = b"\0\0\0\0"
    header[26] = 1
    page = bytes(header) + bytes([len(packet)]) + packet
    page = page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]
    return data[:start] + page + data[end:]


def encode(data: bytes) -> tuple[bytes, int]:
    """Return (Ogg Opus bytes, duration in ms) of a clean re-encoding of `data`; raise VoiceRejected."""
    if not data:
        raise VoiceRejected("empty")
    if len(data) > MAX_BYTES:
        raise VoiceRejected("too_large")
    exe = ffmpeg_path()
    if exe is None:
        current_app.logger.error("ffmpeg is not installed: voice notes cannot be decoded")
        raise VoiceRejected("unavailable")
    fd, src = tempfile.mkstemp(prefix="voice-", suffix=".in")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        cmd = [
            exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
            "-protocol_whitelist", "file", "-format_whitelist", DEMUXERS, "-i", src,
            "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
            # Stop a little past the limit: what is longer is refused without decoding the rest.
            "-t", str(MAX_SECONDS + 1),
            "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "libopus", "-b:a", BITRATE, "-application", "voip",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "ogg", "pipe:1",
        ]
        with DECODING:
            try:
                done = subprocess.run(cmd, capture_output=True, timeout=TIME_LIMIT, check=False)
            except subprocess.TimeoutExpired:
                current_app.logger.warning("voice note decoding passed %s s", TIME_LIMIT)
                raise VoiceRejected("not_audio") from None
            except OSError:
                current_app.logger.exception("could not start ffmpeg")
                raise VoiceRejected("unavailable") from None
    finally:
        os.unlink(src)
    out = done.stdout
    duration = ogg_duration_ms(out) if done.returncode == 0 else 0
    if duration <= 0:
        raise VoiceRejected("not_audio")
    if duration > MAX_SECONDS * 1000 + 500:
        raise VoiceRejected("too_long")
    return without_tags(out), duration


def store(data: bytes) -> StoredVoice:
    """Clean `data` and keep it under a random name; return what to record. Raise VoiceRejected."""
    ogg, duration = encode(data)
    name = secrets.token_hex(16) + ".ogg"
    try:
        files().put(name, ogg)
    except StorageError:
        current_app.logger.exception("voice store unreachable")
        remove_stored(name)
        raise VoiceRejected("unavailable") from None
    return StoredVoice(name, duration, len(ogg), hashlib.sha256(ogg).hexdigest())


def remove_stored(storage_name: str) -> None:
    """Delete a stored voice note, if there (a store that cannot be reached leaves it, logged)."""
    try:
        files().delete(storage_name)
    except StorageError:
        current_app.logger.exception("could not delete %s", storage_name)


# A note never changes under its URL: the browser of the person allowed to hear it
# may keep it; shared caches may not (the same rule as photos, see images.PHOTO_CACHE).
VOICE_CACHE = "private, max-age=31536000, immutable"


def send_voice(note):
    """Send a stored voice note the caller has checked, as Ogg Opus no other origin may reuse."""
    name = note.storage_name
    try:
        path = files().local_path(name)
        data = None if path is not None else files().get(name)
    except StorageError:
        current_app.logger.exception("voice store unreachable")
        abort(503)
    if path is not None:
        resp = send_file(path, mimetype=CONTENT_TYPE, conditional=True, max_age=0)
    else:
        if data is None:
            abort(404)
        resp = send_file(io.BytesIO(data), mimetype=CONTENT_TYPE, conditional=True, max_age=0,
                         etag=note.sha256[:32], last_modified=note.created_at)
    resp.headers["Cache-Control"] = VOICE_CACHE
    g.keepable = True  # no cookie refresh, no `Vary: Cookie` (see zaloan.SessionInterface)
    resp.headers["Content-Disposition"] = "inline"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


# --- Records: a note sent on its own, then joined to a tip, an answer or a report ----------------------

MAX_NOTES = 1  # one note a send: the form records one, a second recording replaces the first
UNUSED_DAYS = 7
SUMMARY_MAX = 2000


class VoiceError(ValueError):
    """A voice note step refused; `message` says why in the user's language, nothing changed."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


def upload(uploader, stored: StoredVoice, client_key: str | None):
    """Keep one note sent on its own (by the page's script); a retry with the same key gets the first one."""


    def existing():
        return db.session.scalar(select(VoiceNote).where(VoiceNote.client_key == client_key)) if client_key else None

    row = existing()
    if row is not None:
        if row.uploader_id != uploader.id:
            raise VoiceError(str(PROBLEMS["not_audio"]), 422)
        return row
    try:
        with db.session.begin_nested():
            row = VoiceNote(uploader_id=uploader.id, storage_name=stored.storage_name, duration_ms=stored.duration_ms,
                            size=stored.size, sha256=stored.sha256, client_key=client_key)
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        row = existing()  # two identical requests at once: the other one won the key
        if row is None:
            raise
    return row


def note_ids() -> list[int]:
    """Return the ids of the notes the page's script already sent on their own (form field `voice_ids`)."""


    ids = (to_int(raw) for raw in request.form.getlist("voice_ids")[:5])
    return [i for i in ids if i is not None]


def form_notes(field_name: str = "voice") -> list[StoredVoice]:
    """Clean and store the note sent with a plain form (no script); raise VoiceRejected.

    Called before the send's transaction begins: the decoder never runs under a lock.
    """

    uploads = [f for f in request.files.getlist(field_name) if f and f.filename][:MAX_NOTES]
    return [store(f.read(MAX_BYTES + 1)) for f in uploads]


def own_unsent(uploader, ids: list[int]) -> list:
    """Return the uploader's own notes not yet joined to anything; refuse anyone else's (VoiceError)."""


    if not ids:
        return []
    if uploader is None or len(set(ids)) > MAX_NOTES:
        raise VoiceError(_("This voice note cannot be used. Please record it again."))
    rows = db.session.scalars(select(VoiceNote).where(VoiceNote.id.in_(set(ids)))).all()
    if len(rows) != len(set(ids)) or any(
        r.uploader_id != uploader.id or r.tip_id or r.message_id or r.assignment_id for r in rows
    ):
        raise VoiceError(_("This voice note cannot be used. Please record it again."))
    return list(rows)


def join(linked: list, stored: list[StoredVoice], uploader, **link) -> None:
    """Join notes sent on their own (`linked`) and notes of the form (`stored`) to a tip, answer or report."""

    for row in linked:
        for k, v in link.items():
            setattr(row, k, v)
    for s in stored:
        db.session.add(VoiceNote(uploader_id=uploader.id if uploader else None, storage_name=s.storage_name,
                                 duration_ms=s.duration_ms, size=s.size, sha256=s.sha256, **link))


def discard(stored: list[StoredVoice]) -> None:
    """Remove the files of notes a request stored but did not keep."""
    for s in stored:
        remove_stored(s.storage_name)


def write_summary(note, *, by, text: str) -> None:
    """The officer writes what a voice note says, for the record (audited; the caller commits)."""


    text = (text or "").strip()
    if len(text) > SUMMARY_MAX:
        raise VoiceError(_("At most %(n)s characters.", n=SUMMARY_MAX))
    if text == (note.summary or ""):
        return  # nothing changed: a retried save is no second record
    tip = voice_tip(note)
    audit.lock_writers(tip.commune_id)
    note.summary = text
    note.summary_by_id = by.id
    note.summary_at = utcnow()
    audit.record("voice.summary", actor=by, target=tip, voice=note.id)


def notes_of(tip) -> TipVoices:
    """Return the voice notes of a tip, its answers and its reports in one query (for its pages)."""


    rows = db.session.scalars(
        select(VoiceNote).where(or_(
            VoiceNote.tip_id == tip.id,
            VoiceNote.message_id.in_(select(Message.id).where(Message.tip_id == tip.id)),
            VoiceNote.assignment_id.in_(select(TaskAssignment.id).join(VerificationTask)
                                        .where(VerificationTask.tip_id == tip.id)),
        )).order_by(VoiceNote.id)
    ).all()
    return TipVoices(rows)


def notes_of_report(assignment) -> list:
    """Return the voice notes of one verifier's report (their own page shows nothing else of the tip's)."""
    return list(db.session.scalars(select(VoiceNote).where(VoiceNote.assignment_id == assignment.id)
                                   .order_by(VoiceNote.id)))


class TipVoices:
    """A tip's voice notes by where they were sent: with the tip, with an answer, with a report."""

    def __init__(self, rows):
        self.rows = rows
        self.tip = [r for r in rows if r.tip_id]
        self._messages: dict[int, list] = {}
        self._assignments: dict[int, list] = {}
        for r in rows:
            if r.message_id:
                self._messages.setdefault(r.message_id, []).append(r)
            if r.assignment_id:
                self._assignments.setdefault(r.assignment_id, []).append(r)

    def of_message(self, message_id: int) -> list:
        return self._messages.get(message_id, [])

    def of_assignment(self, assignment_id: int) -> list:
        return self._assignments.get(assignment_id, [])


def purge_unused(older_than=None) -> int:
    """Delete notes sent on their own but never joined to a send, older than `older_than`; return how many."""



    older_than = older_than or timedelta(days=UNUSED_DAYS)
    rows = db.session.scalars(select(VoiceNote).where(
        VoiceNote.tip_id.is_(None), VoiceNote.message_id.is_(None), VoiceNote.assignment_id.is_(None),
        VoiceNote.created_at < utcnow() - older_than)).all()
    if not rows:
        return 0
    names = [r.storage_name for r in rows]
    for r in rows:
        db.session.delete(r)
    audit.record("voices.purge", count=len(names), days=older_than.days)
    db.session.commit()
    for name in names:
        remove_stored(name)
    return len(names)


def duration_text(ms: int) -> str:
    """Return a note's length as m:ss ("1:05")."""
    seconds = max(0, round(ms / 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"
