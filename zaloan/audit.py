"""The audit log: append-only rows, each chained to the previous one by a hash.

The app only ever inserts. A database trigger (see the first migration)
refuses UPDATE and DELETE on both SQLite and PostgreSQL, and `verify_chain`
finds a row that was edited behind the app's back anyway.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from .extensions import db
from .models import AuditEvent, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, row: AuditEvent) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": row.created_at.isoformat(timespec="microseconds"),
            "actor": row.actor_id,
            "commune": row.commune_id,
            "action": row.action,
            "target_type": row.target_type or "",
            "target_id": row.target_id,
            "data": row.data or {},
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_chain() -> None:
    """Serialise writers of the chain so two workers never fork it."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7201)"))
    # SQLite: write transactions take the database write lock up front
    # (BEGIN IMMEDIATE, see zaloan.db_setup), which already serialises writers.


def lock_writers() -> None:
    """Take, until commit, the lock every audited change takes; a domain check made after it sees the latest state."""
    _lock_chain()


def record(action: str, *, actor=None, target=None, commune_id: int | None = None, **data) -> AuditEvent:
    """Add an audit row to the current transaction; the caller commits.

    `target` is any model instance with an `id`; `data` holds small facts
    (ids, codes, reasons) and never informant identity or tip text.
    """
    _lock_chain()
    db.session.flush()
    last = db.session.scalars(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev = last or GENESIS
    if commune_id is None:
        commune_id = getattr(actor, "commune_id", None)
    row = AuditEvent(
        created_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        commune_id=commune_id,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        data={k: v for k, v in data.items() if v is not None},
        prev_hash=prev,
    )
    row.hash = _digest(prev, row)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass
class ChainReport:
    ok: bool
    count: int
    bad_id: int | None = None
    reason: str = ""


def verify_chain() -> ChainReport:
    """Walk the whole log in order and name the first row that does not fit."""
    prev = GENESIS
    count = 0
    for row in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        count += 1
        if row.prev_hash != prev:
            return ChainReport(False, count, row.id, "prev_hash does not match the row before")
        if _digest(prev, row) != row.hash:
            return ChainReport(False, count, row.id, "content does not match its hash")
        prev = row.hash
    return ChainReport(True, count)


@event.listens_for(Session, "before_flush")
def _append_only(session, _context, _instances):
    """Refuse, in the app itself, any change or deletion of an audit row."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit_events is append-only")
