"""Browse and filter the audit log; check its chain and checkpoints; export it as CSV.

Each row reads as a Vietnamese sentence (`zaloan.audit_words`); the CSV keeps
the machine keys beside it. Actors appear by name for police accounts and by
alias for informants: the audit log never shows who an informant is.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from flask import make_response, request
from flask_login import current_user
from sqlalchemy import select

from .. import audit, audit_words
from ..extensions import db
from ..formkit import to_utc
from ..inputs import to_day, to_int
from ..models import AuditEvent, Role, User
from ..paging import Key, page_of
from ..permissions import allow
from ..web import render
from . import bp

PAGE = 50
NEWEST_FIRST = (Key(AuditEvent.id, descending=True),)  # read a page at a time from where the last ended


def filtered():
    q = select(AuditEvent).where(AuditEvent.commune_id == current_user.commune_id)
    f = {k: (request.values.get(k) or "").strip()[:60] for k in ("action", "actor", "target", "since", "until")}
    if f["action"]:
        q = q.where(AuditEvent.action.startswith(f["action"]))
    actor = to_int(f["actor"])
    if actor is not None:
        q = q.where(AuditEvent.actor_id == actor)
    if f["target"]:
        q = q.where(AuditEvent.target_type == f["target"])
    since, until = to_day(f["since"]), to_day(f["until"])
    if since:
        q = q.where(AuditEvent.created_at >= to_utc(since))
    if until:
        q = q.where(AuditEvent.created_at < to_utc(until + timedelta(days=1)))
    return q, f


@bp.get("/")
@allow(Role.COMMANDER)
def index():
    """List the commune's audit rows, newest first, with filters."""
    q, f = filtered()
    page = page_of(db.session, q, NEWEST_FIRST, PAGE)
    rows = page.rows
    actors = db.session.scalars(
        select(User).where(User.commune_id == current_user.commune_id, User.role != Role.INFORMANT)
        .order_by(User.full_name)
    ).all()
    return render("auditlog/index.html", rows=rows, page=page, f=f, actors=actors,
                  topics=topics(), words=audit_words.sentences(rows), report=None,
                  checkpoints=audit.latest_checkpoints(commune_id=current_user.commune_id))


def topics() -> list[tuple[str, str]]:
    """Return the topics of the commune's recorded actions as (value, label), for the filter."""
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.commune_id == current_user.commune_id).distinct())
    found = {audit_words.topic_of(a) for a in actions}
    return sorted(((t, audit_words.topic_label(t)) for t in found), key=lambda p: p[1])


@bp.post("/verify")
@allow(Role.COMMANDER)
def verify():
    """Check the whole chain and say whether it is intact."""
    report = audit.verify_chain()
    audit.record("audit.verify", actor=current_user, ok=report.ok, rows=report.count, fault=report.kind or None)
    db.session.commit()
    q, f = filtered()
    rows = db.session.scalars(q.order_by(AuditEvent.id.desc()).limit(PAGE)).all()
    return render("auditlog/index.html", rows=rows, page=None, f=f, actors=[], topics=[],
                  words=audit_words.sentences(rows), report=report, checkpoints=audit.latest_checkpoints(commune_id=current_user.commune_id))


def safe_cell(value) -> str:
    """Neutralise a spreadsheet formula: a cell starting with = + - @ tab or CR gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.post("/export.csv")
@allow(Role.COMMANDER)
def export():
    """Export the filtered audit rows as CSV (the export itself is audited)."""
    q, f = filtered()
    rows = db.session.scalars(q.order_by(AuditEvent.id)).all()
    audit.record("export.audit", actor=current_user, rows=len(rows),
                 filters={k: v for k, v in f.items() if v} or None)  # "actor" and "target" name record()'s own
    db.session.commit()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time_utc", "actor", "action", "target_type", "target_id", "data", "hash", "sentence"])
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        names = audit_words.Names(chunk)
        words = audit_words.sentences(chunk, names)
        for r in chunk:
            writer.writerow([safe_cell(v) for v in (
                r.id, r.created_at.isoformat(timespec="seconds"), audit_words.actor_of(names, r), r.action, r.target_type,
                r.target_id, json.dumps(r.data or {}, ensure_ascii=False, sort_keys=True), r.hash, words[r.id])])
    resp = make_response("\ufeff" + out.getvalue())
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = "attachment; filename=nhat-ky.csv"
    return resp
