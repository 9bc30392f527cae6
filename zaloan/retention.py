"""Keeping personal data no longer than needed (Law 91/2025 on personal data protection, Decree 13/2023).

Two rules:

- **Retention of closed tips.** Each commune sets how many months after
  closing the *content* of a closed tip is kept (`CommuneSettings.retention_months`,
  24 by default, edited by the commander). The nightly `flask retention run`
  erases, past that: the tip's text, free-text place and outcome note, its
  photos (rows and files), its thread (messages and their photos), the
  officer's briefs and place hints of its verification tasks, the verifiers'
  notes and photos, and the free-text reasons on its timeline. It keeps the
  skeleton: dates, village, watch point, category, urgency, outcome, status,
  the tasks' dates and findings, so every figure of the reports stays right.
  The same months apply to the informants' standing conversations with the
  police (`channel_messages`): messages older than that are deleted (a
  message that became a tip left its words in the tip, which follows the
  rule above). Each run writes one audit row per commune: how many tips,
  photos and messages, never any content.
- **An informant's identity erased on request.** The handler officer (or the
  commander) requests it with a reason; the commander confirms it (two
  people); then the name and phone are gone, the account is deactivated, its
  sessions end, and the keyed hashes of the phone kept by the login limits
  are removed, so the same person can be enrolled again as someone new. The
  alias and the tips stay.

On SQLite the erasing connection turns on `secure_delete`, so erased text is
overwritten in the database file rather than left in free pages, and the
write-ahead log is checkpointed afterwards; a new backup holds none of it.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from . import audit
from .extensions import db
from .images import remove_stored
from .models import (
    Attachment,
    ChannelMessage,
    CommuneSettings,
    IdentityErasure,
    TaskSharedPhoto,
    Tip,
    TipStatus,
    Unit,
    UnitKind,
    VoiceNote,
    utcnow,
)

MIN_MONTHS, MAX_MONTHS, DEFAULT_MONTHS = 1, 120, 24
# Free-text facts a timeline step may carry (a reopen's reason, the outcome note it replaced).
EVENT_TEXT = ("reason", "note")


def months_before(moment: datetime, months: int) -> datetime:
    """Return `moment` moved back by whole calendar months (31 March less one month is 28/29 February)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass
class Erased:
    tips: int = 0
    photos: int = 0
    messages: int = 0
    tasks: int = 0
    voices: int = 0
    conversation: int = 0  # messages of the informants' standing conversations


def _secure_delete() -> None:
    """On SQLite, overwrite what this connection deletes or rewrites instead of leaving it in free pages."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("PRAGMA secure_delete=ON")


def _after_erasure() -> None:
    """Push erased pages out of SQLite's write-ahead log; on PostgreSQL let VACUUM reclaim the old row versions."""
    engine = db.engine
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        elif engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM tips, messages, attachments, verification_tasks, task_assignments, "
                                     "tip_events, channel_messages")
    except Exception:  # housekeeping only: the erasure itself is committed
        pass


def erase_tip_content(tip: Tip, now: datetime, counts: Erased) -> list[str]:
    """Erase a closed tip's content in the session (the caller audits and commits); return the files to delete."""
    photos: list[Attachment] = list(tip.attachments)
    for message in tip.messages:
        photos += message.attachments
    for task in tip.tasks:
        task.brief = ""
        task.place_hint = ""
        task.content_hash = None
        for assignment in task.assignments:
            assignment.notes = ""
            assignment.content_hash = None
            photos += assignment.photos
        counts.tasks += 1
    for event in tip.events:
        data = dict(event.data or {})
        if any(k in data for k in EVENT_TEXT) or isinstance(data.get("previous"), dict):
            for k in EVENT_TEXT:
                data.pop(k, None)
            if isinstance(data.get("previous"), dict):
                data["previous"] = {k: v for k, v in data["previous"].items() if k not in EVENT_TEXT}
            event.data = data
    spoken = erase_voice_notes(tip, counts)  # before the answers and reports they belong to
    names = []
    ids = {p.id for p in photos}
    if ids:
        db.session.execute(delete(TaskSharedPhoto).where(TaskSharedPhoto.attachment_id.in_(ids)))
    for photo in {p.id: p for p in photos}.values():
        names.append(photo.storage_name)
        db.session.delete(photo)
    db.session.flush()
    messages = list(tip.messages)
    for message in messages:
        db.session.delete(message)
    counts.messages += len(messages)
    counts.photos += len(names)
    names += spoken
    tip.body = ""
    tip.place_text = ""
    tip.outcome_note = ""
    tip.content_hash = None
    tip.erased_at = now
    counts.tips += 1
    return names


def erase_voice_notes(tip: Tip, counts: Erased) -> list[str]:
    """Delete the voice notes of a tip, its answers and its reports (a voice is content, and an identity).

    The officer's summaries of them go with them. Return the files to delete.
    """
    message_ids = [m.id for m in tip.messages]
    assignment_ids = [a.id for task in tip.tasks for a in task.assignments]
    notes = db.session.scalars(select(VoiceNote).where(
        (VoiceNote.tip_id == tip.id) | VoiceNote.message_id.in_(message_ids)
        | VoiceNote.assignment_id.in_(assignment_ids))).all()
    for note in notes:
        db.session.delete(note)
    counts.voices += len(notes)
    return [n.storage_name for n in notes]


def due_tips(commune_id: int, months: int, now: datetime):
    """Return the query of the commune's closed tips past the retention time whose content is still there."""
    return (select(Tip).where(Tip.commune_id == commune_id, Tip.status == TipStatus.CLOSED,
                              Tip.closed_at < months_before(now, months), Tip.erased_at.is_(None))
            .order_by(Tip.id))


def due_conversation(commune_id: int, months: int, now: datetime):
    """Return the query of the ids of the commune's conversation messages written before the retention time."""
    return select(ChannelMessage.id).where(ChannelMessage.commune_id == commune_id,
                                           ChannelMessage.created_at < months_before(now, months))


def erase_conversation(ids: list[int], counts: Erased) -> None:
    """Delete these conversation messages; a newer message that answered one keeps its words, not the link."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(update(ChannelMessage).where(ChannelMessage.reply_to_id.in_(chunk))
                           .values(reply_to_id=None))
        db.session.execute(delete(ChannelMessage).where(ChannelMessage.id.in_(chunk)))
    counts.conversation += len(ids)


def run(now: datetime | None = None, *, dry_run: bool = False) -> dict[int, Erased]:
    """Erase, in every commune, the content of closed tips past its retention time; return counts by commune.

    One transaction and one audit row per commune; files are deleted once it is committed.
    """
    now = now or utcnow()
    done: dict[int, Erased] = {}
    communes = list(db.session.scalars(select(Unit.id).where(Unit.kind == UnitKind.COMMUNE).order_by(Unit.id)))
    for commune_id in communes:
        months = CommuneSettings.of(commune_id).retention_months or DEFAULT_MONTHS
        if dry_run:
            found = len(db.session.scalars(due_tips(commune_id, months, now)).all())
            said = len(db.session.scalars(due_conversation(commune_id, months, now)).all())
            if found or said:
                done[commune_id] = Erased(tips=found, conversation=said)
            continue
        audit.lock_writers(commune_id)
        _secure_delete()
        tips = db.session.scalars(due_tips(commune_id, months, now)).all()
        said = list(db.session.scalars(due_conversation(commune_id, months, now)))
        if not tips and not said:
            db.session.rollback()
            continue
        counts, names = Erased(), []
        for tip in tips:
            names += erase_tip_content(tip, now, counts)
        erase_conversation(said, counts)
        audit.record("retention.erase", commune_id=commune_id, tips=counts.tips, photos=counts.photos,
                     messages=counts.messages, voices=counts.voices, conversation=counts.conversation,
                     months=months)
        db.session.commit()
        for name in names:
            remove_stored(name)
        done[commune_id] = counts
    if done and not dry_run:
        _after_erasure()
    return done



# --- An informant's identity erased on request (two people) ---------------------------------------


class ErasureError(ValueError):
    """An erasure request or decision refused; the message says why (in Vietnamese), nothing changed."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message, self.status = message, status


def pending_erasure(informant) -> IdentityErasure | None:
    """Return the informant's erasure request waiting for the commander, if any."""
    return db.session.scalar(select(IdentityErasure).where(IdentityErasure.informant_id == informant.id,
                                                           IdentityErasure.outcome.is_(None)))


def pending_erasures(commune_id: int) -> list[IdentityErasure]:
    """Return the commune's erasure requests waiting for the commander, oldest first (for the home page)."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(IdentityErasure).where(IdentityErasure.commune_id == commune_id, IdentityErasure.outcome.is_(None))
        .options(selectinload(IdentityErasure.informant), selectinload(IdentityErasure.requested_by))
        .order_by(IdentityErasure.id)))


def request_identity_erasure(informant, *, by, reason: str) -> IdentityErasure:
    """The handler officer (or the commander) asks to erase an informant's name and phone; the caller commits."""
    reason = " ".join((reason or "").split())
    if not 10 <= len(reason) <= 300:
        raise ErasureError(_("Please write in 10 to 300 letters who asked for it, when and how (never the "
                             "person's name or phone number)."), 422)
    audit.lock_writers(informant.commune_id)
    if informant.user.erased_at is not None:
        raise ErasureError(_("The name and phone number of this informant are already erased."))
    if pending_erasure(informant) is not None:
        raise ErasureError(_("A request to erase this informant's identity is already waiting for the "
                             "commander."))
    row = IdentityErasure(commune_id=informant.commune_id, informant_id=informant.id, requested_by_id=by.id,
                          reason=reason, requested_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record("erasure.request", actor=by, target=informant, alias=informant.alias, request=row.id)
    return row


def _decide(row: IdentityErasure, by) -> None:
    audit.lock_writers(row.commune_id)
    db.session.refresh(row)
    if row.outcome is not None:
        raise ErasureError(_("This request was already decided."))
    if by.id == row.requested_by_id:
        raise ErasureError(_("Another person must confirm: the one who asks for an erasure cannot also "
                             "confirm it. Ask another commander of the commune."))


def confirm_identity_erasure(row: IdentityErasure, *, by) -> dict:
    """The commander confirms: the informant's name and phone are erased now; the caller commits."""
    _decide(row, by)
    now = utcnow()
    done = erase_identity(row.informant.user, now)
    row.outcome, row.decided_by_id, row.decided_at = IdentityErasure.DONE, by.id, now
    audit.record("erasure.confirm", actor=by, target=row.informant, alias=row.informant.alias, request=row.id,
                 **done)
    return done


def refuse_identity_erasure(row: IdentityErasure, *, by) -> None:
    """The commander refuses the request; nothing of the informant changes. The caller commits."""
    _decide(row, by)
    row.outcome, row.decided_by_id, row.decided_at = IdentityErasure.REFUSED, by.id, utcnow()
    audit.record("erasure.refuse", actor=by, target=row.informant, alias=row.informant.alias, request=row.id)


def erase_identity(user, now) -> dict:
    """Erase an informant's name and phone: account off, sessions ended, the phone's keyed hashes removed.

    The alias (on the Informant row), the tips and the timeline stay. The same
    phone can be given a new account afterwards: nothing keeps it.
    """
    from .accounts import keyed, revoke_sessions
    from .models import AccountTakeover, ActivationCode, LoginAttempt, RecoveryCode

    _secure_delete()
    sessions = revoke_sessions(user)
    attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.phone_key == keyed("phone:" + user.phone)))
    db.session.execute(update(ActivationCode).where(ActivationCode.user_id == user.id,
                                                    ActivationCode.used_at.is_(None)).values(used_at=now))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    # An officer's words on a take-over may name the person.
    db.session.execute(update(AccountTakeover).where(AccountTakeover.user_id == user.id).values(reason=""))
    user.full_name = ""
    user.phone = f"erased-{user.id}"
    user.password_hash = None
    user.totp_secret = user.totp_pending = None
    user.totp_enabled_at = user.totp_last_step = None
    user.position = ""
    user.active = False
    user.disabled_at = user.disabled_at or now
    user.erased_at = now
    return {"sessions": sessions, "login_records": attempts.rowcount or 0}
