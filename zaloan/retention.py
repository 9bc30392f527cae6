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
  Each run writes one audit row per commune: how many tips, photos and
  messages, never any content.
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

from sqlalchemy import delete, select, text

from . import audit
from .extensions import db
from .images import remove_stored
from .models import (
    Attachment,
    CommuneSettings,
    Message,
    TaskSharedPhoto,
    Tip,
    TipStatus,
    Unit,
    UnitKind,
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
                                     "tip_events")
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
    tip.body = ""
    tip.place_text = ""
    tip.outcome_note = ""
    tip.content_hash = None
    tip.erased_at = now
    counts.tips += 1
    return names


def due_tips(commune_id: int, months: int, now: datetime):
    """Return the query of the commune's closed tips past the retention time whose content is still there."""
    return (select(Tip).where(Tip.commune_id == commune_id, Tip.status == TipStatus.CLOSED,
                              Tip.closed_at < months_before(now, months), Tip.erased_at.is_(None))
            .order_by(Tip.id))


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
            if found:
                done[commune_id] = Erased(tips=found)
            continue
        audit.lock_writers(commune_id)
        _secure_delete()
        tips = db.session.scalars(due_tips(commune_id, months, now)).all()
        if not tips:
            db.session.rollback()
            continue
        counts, names = Erased(), []
        for tip in tips:
            names += erase_tip_content(tip, now, counts)
        audit.record("retention.erase", commune_id=commune_id, tips=counts.tips, photos=counts.photos,
                     messages=counts.messages, months=months)
        db.session.commit()
        for name in names:
            remove_stored(name)
        done[commune_id] = counts
    if done and not dry_run:
        _after_erasure()
    return done

