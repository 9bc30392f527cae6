"""A full disk, said plainly: to the sender, in the format their request expects, and to the commander.

The disk can fill under the upload folder (a photo's file), under the
database (SQLite: "database or disk is full"; PostgreSQL: SQLSTATE 53100) or
under the temporary folder where a large upload is spooled while it is read.
Each is recognised from the exception (`disk_full`), whatever layer raised it.

The sender is told the server is out of space (errors.disk_full_error: JSON for
the photo endpoints, a fragment for htmx, a page otherwise; a form with photos
keeps its text, see formkit.PHOTO_PROBLEMS). The commander is told by an audit
row ("storage.full", written after the request, in a transaction of its own,
at most once an hour per chain) and a line on their home page
(`storage_alert`), which also shows while the disk is low right now, so it
appears even when the database itself cannot take the row.

A request that stored photos and then failed removes the files no row names
(`forget_new_files`): a full disk under the database must not leave photos
without a tip behind. What is left anyway (a killed worker) is found by
`flask reconcile-files`.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .storage import FULL_ERRNOS, StorageFull

log = logging.getLogger(__name__)

DISK_FULL = _l("The server is out of storage space, so what you sent was not saved. Please try again later; "
               "if it is urgent, call the commune police.")
ALERT_EVERY = timedelta(hours=1)  # at most one audit row an hour, per chain
ALERT_SHOWN_FOR = timedelta(hours=24)  # the commander's line stays this long after the last row
SQLITE_FULL = 13
PG_DISK_FULL = "53100"


def disk_full(exc: BaseException | None) -> bool:
    """Say whether `exc` (or anything it was raised from) says the disk is full."""
    pending, seen = [exc], set()
    while pending:
        e = pending.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, StorageFull):
            return True
        if isinstance(e, OSError) and e.errno in FULL_ERRNOS:
            return True
        if isinstance(e, sqlite3.Error) and (getattr(e, "sqlite_errorcode", None) == SQLITE_FULL
                                             or "database or disk is full" in str(e)):
            return True
        if getattr(e, "sqlstate", None) == PG_DISK_FULL or getattr(e, "pgcode", None) == PG_DISK_FULL:
            return True
        pending += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return False


def note_storage_full() -> None:
    """Remember that this request met a full disk: the commander is told once the request is over."""
    log.error("the disk is full: a send could not be saved")
    if has_request_context():
        user = g.get("_login_user")  # the signed-in user if already loaded: no query on a failing database
        g.storage_full = getattr(user, "commune_id", None) or 0


def record_storage_full(commune_id: int | None) -> bool:
    """Write the "storage.full" audit row, unless one of this chain is younger than ALERT_EVERY; True if written.

    In a transaction of its own, after the request's (whatever it left is dropped).
    A database that cannot take the row either is logged: the home page's line
    still shows from the disk check.
    """
    from . import audit
    from .db_setup import end_read_transaction
    from .models import AuditEvent, utcnow

    chain = audit.chain_of(commune_id)
    last = current_app.extensions.setdefault("zaloan.storage_full", {})
    now = time.monotonic()
    if chain in last and now - last[chain] < ALERT_EVERY.total_seconds():
        return False  # this process wrote or looked lately: not even a query while the disk is full
    last[chain] = now
    try:
        db.session.rollback()
        end_read_transaction()  # the next BEGIN takes SQLite's write lock: the check and the row go together
        recent = db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.chain == chain, AuditEvent.action == "storage.full",
                                        AuditEvent.created_at >= utcnow() - ALERT_EVERY).limit(1))
        if recent is not None:
            db.session.rollback()
            return False
        audit.record("storage.full", commune_id=commune_id or None)
        db.session.commit()
        return True
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not write the storage.full audit row", exc_info=True)
        return False


def storage_alert(commune_id: int) -> dict | None:
    """Return what the commander's home page says about space: {"at": time of the last row or None}, or None.

    Shown while the disk is low now (the health check's threshold) or for a day
    after the last "storage.full" row of this commune or of the deployment.
    """
    from .models import AuditEvent, utcnow
    from .ops import disk_ok

    at = db.session.scalar(
        select(AuditEvent.created_at).where(AuditEvent.chain.in_((commune_id, 0)), AuditEvent.action == "storage.full",
                                            AuditEvent.created_at >= utcnow() - ALERT_SHOWN_FOR)
        .order_by(AuditEvent.created_at.desc()).limit(1))
    if at is None and disk_ok():
        return None
    return {"at": at}


# --- Files of a request that failed --------------------------------------------------------


def note_new_file(storage_name: str) -> None:
    """Remember a photo stored by this request (removed if the request fails before a row names it)."""
    if has_request_context():
        g.setdefault("new_files", []).append(storage_name)


def forget_new_files() -> None:
    """Remove the photos this failed request stored that no row names (a committed row keeps its file)."""
    from .images import remove_stored
    from .models import Attachment

    names = g.pop("new_files", None)
    if not names:
        return
    try:
        db.session.rollback()
        kept = set(db.session.scalars(select(Attachment.storage_name).where(Attachment.storage_name.in_(names))))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not check the photos of a failed request; reconcile-files will", exc_info=True)
        return
    for name in names:
        if name not in kept:
            remove_stored(name)


def after_request_faults(exc: BaseException | None) -> None:
    """Once the request is over: drop a failed request's photos, tell the commander of a full disk."""
    try:
        if exc is not None:
            forget_new_files()
        if "storage_full" in g:
            record_storage_full(g.pop("storage_full"))
    except Exception:  # noqa: BLE001  (the answer is sent; this must never turn into another error)
        log.exception("after-request fault handling failed")


def init_faults(app: Flask) -> None:
    app.teardown_request(after_request_faults)


# --- Files and rows that lost each other -----------------------------------------------------

RECONCILE_GRACE = timedelta(hours=24)
# A row younger than this, against the time the listing began, may name a file written on another
# server whose clock runs a little ahead: it is never reported missing.
CLOCK_MARGIN = timedelta(minutes=5)


@dataclass
class Reconciled:
    """What `reconcile_files` found: files without a row (removed, or kept while young) and rows without a file."""

    removed: list[str] = field(default_factory=list)
    young: list[str] = field(default_factory=list)
    missing: list[tuple[int, str, str]] = field(default_factory=list)  # (attachment id, file name, what it is for)


def _owner(tip_id, message_id, assignment_id) -> str:
    if tip_id:
        return f"tip {tip_id}"
    if message_id:
        return f"message {message_id}"
    if assignment_id:
        return f"report of assignment {assignment_id}"
    return "not yet sent"


def reconcile_files(grace: timedelta = RECONCILE_GRACE, *, dry_run: bool = False) -> Reconciled:
    """Match the store's files against the photo rows; remove files without a row older than `grace`.

    A file without a row is left by a worker killed between writing a photo and
    committing its send, or by a send whose database write failed; a file
    younger than `grace` may belong to a send still on its way, so it is kept
    (its time is the file's mtime, or the object's LastModified). A row whose
    photo is missing cannot be repaired here: it is reported (and counted in
    the audit log), never deleted. The files are listed before the rows are
    read, so a photo sent meanwhile is never taken for an orphan. Commits.
    """
    from . import audit
    from .images import thumb_name
    from .models import Attachment, utcnow
    from .storage import files

    store = files()
    started = utcnow()
    listed = dict(store.listing())
    rows = db.session.execute(select(Attachment.id, Attachment.storage_name, Attachment.created_at,
                                     Attachment.tip_id, Attachment.message_id, Attachment.assignment_id)).all()
    expected = set()
    for row in rows:
        expected.update((row.storage_name, thumb_name(row.storage_name)))
    found = Reconciled()
    for name, modified in sorted(listed.items()):
        if name in expected:
            continue
        if modified < started - grace:
            if not dry_run:
                store.delete(name)
            found.removed.append(name)
        else:
            found.young.append(name)
    found.missing = [(r.id, r.storage_name, _owner(r.tip_id, r.message_id, r.assignment_id)) for r in rows
                     if r.storage_name not in listed and r.created_at < started - CLOCK_MARGIN]
    if not dry_run and (found.removed or found.missing):
        audit.record("files.reconcile", removed=len(found.removed), missing=len(found.missing),
                     hours=int(grace.total_seconds() // 3600))
    db.session.commit()
    return found
