"""The audit log: append-only rows, each chained to the previous one by a keyed hash.

The app only ever inserts. A database trigger (see the first migration)
refuses UPDATE and DELETE on both SQLite and PostgreSQL; someone with the
database in hand can drop it, so each row's hash is an HMAC-SHA256 under the
audit key, which is not in the database (zaloan.audit_keys): rewriting a row
and re-hashing the chain after it needs the key. `verify_chain` walks the log
and names the first row that does not fit.

Rows written before the key existed keep their plain SHA-256 hashes (key id
"sha256"); they can only come first, and the first keyed row chains onto the
last of them, so changing one breaks the keyed part.

Each commune has a chain of its own (rows of no commune, such as a failed
login with an unknown phone, form the deployment's chain, number 0), and its
own writers' lock: communes of a province never wait on one another. Rows
written when the installation had a single chain (before revision 0011,
`chain` NULL) stay as they are; every commune's chain starts from the last of
them, so changing one still breaks every chain after it.

Cutting rows off the end leaves a shorter chain that still fits together, so
the head of the chain is written down now and then: a *checkpoint* (rows,
last id, hash, time, sealed with the key) goes to the `audit_checkpoints`
table and, as one line, to a file outside the database. The first audit row
of each day takes one by itself; `flask audit-checkpoint` and `flask backup`
take one too.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from .audit_keys import LEGACY, AuditKeys, load_keys
from .extensions import db
from .models import AuditCheckpoint, AuditEvent, utcnow

GENESIS = "0" * 64
DAY = timedelta(days=1)
log = logging.getLogger(__name__)


@dataclass
class _State:
    """What the app keeps in memory about the audit log: its keys, and when a daily checkpoint is next due."""

    keys: AuditKeys
    next_checkpoint: dict[int, datetime] = field(default_factory=dict)  # chain -> when its next daily one is due


def init_audit(app: Flask) -> None:
    """Load the audit keys once, at start (a bad or missing key stops the app here, not at the first write)."""
    app.extensions["zaloan_audit"] = _State(load_keys(app.config))
    app.jinja_env.filters["short_hash"] = short_hash


def _state() -> _State:
    return current_app.extensions["zaloan_audit"]


def keys() -> AuditKeys:
    """Return the audit keys the app runs with."""
    return _state().keys


def reload_keys() -> AuditKeys:
    """Read the keys again (after a rotation in this process)."""
    _state().keys = load_keys(current_app.config)
    return _state().keys


def _payload(prev_hash: str, row: AuditEvent, with_key: bool) -> bytes:
    fields = {
        "prev": prev_hash,
        "at": row.created_at.isoformat(timespec="microseconds"),
        "actor": row.actor_id,
        "commune": row.commune_id,
        "action": row.action,
        "target_type": row.target_type or "",
        "target_id": row.target_id,
        "data": row.data or {},
    }
    if with_key:
        fields["key"] = row.key_id  # a row cannot be relabelled to another key, or to none
    chain = getattr(row, "chain", None)  # rows of before revision 0011 have none
    if chain is not None:
        fields["chain"] = chain  # nor moved to another chain
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _digest(prev_hash: str, row: AuditEvent) -> str:
    """Return the plain SHA-256 of a row, as written before the audit key existed."""
    return hashlib.sha256(_payload(prev_hash, row, with_key=False)).hexdigest()


def _seal(key: bytes, prev_hash: str, row: AuditEvent) -> str:
    """Return the HMAC-SHA256 of a row under the audit key."""
    return hmac.new(key, _payload(prev_hash, row, with_key=True), hashlib.sha256).hexdigest()


def chain_of(commune_id: int | None) -> int:
    """Return the chain a row of this commune goes to: the commune's own, or 0 (the deployment's)."""
    return commune_id or 0


def _lock_chain(chain: int) -> None:
    """Serialise writers of one chain so two workers never fork it; other communes' writers go on."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7201, :chain)"), {"chain": chain})
    # SQLite: write transactions take the database write lock up front
    # (BEGIN IMMEDIATE, see zaloan.db_setup), which already serialises writers.


def lock_writers(commune_id: int | None = None) -> None:
    """Take, until commit, the lock every audited change in this commune takes (by default the user's commune).

    A domain check made after it sees the latest state of the commune.
    """
    if commune_id is None:
        commune_id = _user_commune()
    _lock_chain(chain_of(commune_id))


def _user_commune() -> int | None:
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.commune_id
    return None


def _chain_start() -> str:
    """Return the hash every commune's chain starts from: the last row of the single chain of before, or GENESIS."""
    last = db.session.scalars(select(AuditEvent.hash).where(AuditEvent.chain.is_(None))
                              .order_by(AuditEvent.id.desc()).limit(1)).first()
    return last or GENESIS


def record(action: str, *, actor=None, target=None, commune_id: int | None = None, **data) -> AuditEvent:
    """Add an audit row to the current transaction; the caller commits.

    `target` is any model instance with an `id`; `data` holds small facts
    (ids, codes, reasons) and never informant identity or tip text.
    """
    if commune_id is None:
        commune_id = getattr(actor, "commune_id", None)
    chain = chain_of(commune_id)
    _lock_chain(chain)
    db.session.flush()
    last = db.session.scalars(select(AuditEvent.hash).where(AuditEvent.chain == chain)
                              .order_by(AuditEvent.id.desc()).limit(1)).first()
    prev = last or _chain_start()
    current = keys()
    row = AuditEvent(
        created_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        commune_id=commune_id,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        data={k: v for k, v in data.items() if v is not None},
        prev_hash=prev,
        key_id=current.current_id,
        chain=chain,
    )
    row.hash = _seal(current.current, prev, row)
    db.session.add(row)
    db.session.flush()
    _daily_checkpoint(row)
    return row


# --- Checkpoints ---------------------------------------------------------------

# v1: the single chain of before revision 0011; v2 names its chain (a commune's id, 0: the deployment's).
LINE = re.compile(
    r"^zaloan-audit-checkpoint (?:v1|v2 chain=(?P<chain>\d+)) (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) "
    r"rows=(?P<rows>\d+) last=(?P<last>\d+) "
    r"head=(?P<head>[0-9a-f]{64}) key=(?P<key>[0-9a-z]{1,16}) mac=(?P<mac>[0-9a-f]{64})$"
)
FILE_HEADER = (
    "# zaloan audit log checkpoints, one a line: time (UTC), rows in the log, id of the last row, its hash,\n"
    "# the audit key's id and a seal made with that key. Check with: flask audit-verify --checkpoint THIS-FILE\n"
)


def _signed_text(cp: AuditCheckpoint) -> str:
    at = cp.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    tag = "zaloan-audit-checkpoint v1" if cp.chain is None else f"zaloan-audit-checkpoint v2 chain={cp.chain}"
    return f"{tag} {at} rows={cp.rows} last={cp.last_id} head={cp.head_hash} key={cp.key_id}"


def _checkpoint_mac(key: bytes, cp: AuditCheckpoint) -> str:
    return hmac.new(key, _signed_text(cp).encode("ascii"), hashlib.sha256).hexdigest()


def checkpoint_line(cp: AuditCheckpoint) -> str:
    """Return a checkpoint as the one line written to a checkpoint file."""
    return f"{_signed_text(cp)} mac={cp.mac}"


def parse_checkpoint_line(line: str) -> AuditCheckpoint | None:
    """Return the checkpoint a file line holds, or None when the line is not one."""
    m = LINE.match(line.strip())
    if not m:
        return None
    return AuditCheckpoint(created_at=datetime.strptime(m["at"], "%Y-%m-%dT%H:%M:%SZ"), rows=int(m["rows"]),
                           last_id=int(m["last"]), head_hash=m["head"], key_id=m["key"], mac=m["mac"],
                           chain=int(m["chain"]) if m["chain"] is not None else None)


def read_checkpoint_file(path: str | Path) -> list[AuditCheckpoint]:
    """Return the checkpoints in a file; raise ValueError naming the first line that is not one."""
    found = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cp = parse_checkpoint_line(line)
        if cp is None:
            raise ValueError(f"line {n} of {path} is not a checkpoint")
        found.append(cp)
    return found


def _chain_rows(chain: int, last_id: int) -> int:
    """Return how many rows lead up to row `last_id` of `chain`, its rows from before the chains included."""
    before = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.chain.is_(None))) or 0
    own = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.chain == chain,
                                                                    AuditEvent.id <= last_id)) or 0
    return before + own


def take_checkpoint(source: str = "command", head: AuditEvent | None = None, chain: int = 0) -> AuditCheckpoint:
    """Add the head of one chain (`head`'s, else `chain`'s), sealed with the audit key, to the session; the caller commits.

    `rows` counts the chain's rows up to its head, the rows of the single chain of before included.
    """
    if head is not None:
        chain = head.chain if head.chain is not None else 0
    _lock_chain(chain)
    db.session.flush()
    if head is None:
        head = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain)
                                  .order_by(AuditEvent.id.desc()).limit(1)).first()
    if head is None:  # a chain without a row of its own yet: its head is the last row of before
        head = db.session.scalars(select(AuditEvent).where(AuditEvent.chain.is_(None))
                                  .order_by(AuditEvent.id.desc()).limit(1)).first()
    rows = _chain_rows(chain, head.id) if head else 0
    current = keys()
    cp = AuditCheckpoint(created_at=utcnow().replace(microsecond=0), rows=rows, last_id=head.id if head else 0,
                         head_hash=head.hash if head else GENESIS, key_id=current.current_id, source=source,
                         chain=chain)
    cp.mac = _checkpoint_mac(current.current, cp)
    db.session.add(cp)
    db.session.flush()
    return cp


def append_checkpoint(line: str, path: str | Path | None = None) -> Path:
    """Append a checkpoint's line (`checkpoint_line`) to a checkpoint file (by default AUDIT_CHECKPOINT_FILE)."""
    path = Path(path or current_app.config["AUDIT_CHECKPOINT_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8") as f:
        f.write((FILE_HEADER if new else "") + line + "\n")
    return path


def short_hash(value: str) -> str:
    """Return the first 16 hex digits of a hash in groups of four, to compare by eye on paper (3f2a 9c0d 1e7b 55aa)."""
    return " ".join(value[i:i + 4] for i in range(0, 16, 4))


def take_checkpoints(source: str = "command") -> list[AuditCheckpoint]:
    """Take a checkpoint of every chain that has rows (the deployment's always); the caller commits."""
    chains = set(db.session.scalars(select(AuditEvent.chain).where(AuditEvent.chain.is_not(None)).distinct()))
    return [take_checkpoint(source, chain=chain) for chain in sorted(chains | {0})]


def latest_checkpoints(limit: int = 5, commune_id: int | None = None) -> list[AuditCheckpoint]:
    """Return the newest stored checkpoints of a commune's chain (the deployment's with None), newest first.

    Checkpoints of the single chain of before count for every commune: they come after its own.
    """
    chain = chain_of(commune_id)
    return list(db.session.scalars(
        select(AuditCheckpoint).where((AuditCheckpoint.chain == chain) | AuditCheckpoint.chain.is_(None))
        .order_by(AuditCheckpoint.id.desc()).limit(limit)))


def _daily_checkpoint(row: AuditEvent) -> None:
    """Take a checkpoint with the first audit row of a day (24 hours after the last one).

    Costs nothing most of the time: each worker remembers when the next one is
    due; past that, one indexed query tells whether another worker took it.
    """
    state = _state()
    session = db.session()
    pending = session.info.setdefault("audit_checkpoint", {})
    if row.chain in pending:
        return  # one is already waiting for this transaction's commit
    due = state.next_checkpoint.get(row.chain)
    if due is not None and row.created_at < due:
        return
    last = db.session.scalar(select(AuditCheckpoint.created_at).where(AuditCheckpoint.chain == row.chain)
                             .order_by(AuditCheckpoint.id.desc()).limit(1))
    if last is not None and row.created_at - last < DAY:
        state.next_checkpoint[row.chain] = last + DAY
        return
    cp = take_checkpoint("daily", head=row)
    # Kept as plain values: after the commit the session may not query again to refresh them.
    pending[row.chain] = (checkpoint_line(cp), cp.created_at + DAY)


@event.listens_for(Session, "after_commit")
def _checkpoint_committed(session):
    """Write a daily checkpoint to the file once its transaction is committed (never a line for a rolled-back row)."""
    pending = session.info.pop("audit_checkpoint", None)
    for chain, (line, due) in (pending or {}).items():
        try:
            _state().next_checkpoint[chain] = due
            append_checkpoint(line)
        except Exception:  # the row and the stored checkpoint are committed; a file problem must not fail the request
            log.exception("could not write the audit checkpoint file")


@event.listens_for(Session, "after_rollback")
def _checkpoint_rolled_back(session):
    """Forget a daily checkpoint rolled back with its transaction or savepoint (SQLAlchemy calls this for both)."""
    session.info.pop("audit_checkpoint", None)


# --- Checking ---------------------------------------------------------------------


@dataclass
class ChainReport:
    ok: bool
    count: int
    bad_id: int | None = None
    reason: str = ""
    legacy: int = 0  # rows from before the audit key, checked with plain SHA-256
    checkpoints: int = 0  # checkpoints the log still matches
    # What failed: "row" (a row does not fit the chain), "key" (its key is not configured),
    # "checkpoint" (the log no longer matches a checkpoint: cut off or rewritten).
    kind: str = ""
    key_ids: list[str] = field(default_factory=list)


def _describe(cp: AuditCheckpoint, origin: str) -> str:
    return f"the checkpoint of {cp.created_at:%Y-%m-%d %H:%M} UTC ({origin}: {cp.rows} rows, last id {cp.last_id})"


def verify_chain(checkpoints: list[tuple[AuditCheckpoint, str]] | None = None, stored: bool = True) -> ChainReport:
    """Walk the whole log in order and name the first row that does not fit; then check the checkpoints.

    `checkpoints` are (checkpoint, where it came from) pairs, e.g. read from a
    file; with `stored`, the checkpoints kept in the database are checked too.
    """
    current = keys()
    wanted = list(checkpoints or [])
    if stored:
        wanted += [(cp, "stored in the database") for cp in
                   db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id))]
    for cp, origin in wanted:
        key = current.get(cp.key_id)
        if key is None:
            return ChainReport(False, 0, None, f"{_describe(cp, origin)} was sealed with audit key {cp.key_id}, which "
                               "is not configured", kind="key")
        if not hmac.compare_digest(_checkpoint_mac(key, cp), cp.mac):
            return ChainReport(False, 0, None, f"{_describe(cp, origin)} is not genuine: its seal does not match",
                               kind="checkpoint")
    watch = {cp.last_id for cp, _ in wanted}
    seen: dict[int, tuple[int | None, int, str]] = {}  # id -> (chain, position in it, hash) of rows checkpoints name

    single = GENESIS  # the head of the single chain of before (rows with chain NULL)
    single_rows = 0
    heads: dict[int, tuple[str, int]] = {}  # chain -> (hash of its last row, rows leading up to it)
    count = legacy = 0
    used: set[str] = set()
    keyed = False
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)).scalars()
    for row in rows:
        count += 1
        if row.key_id == LEGACY and keyed:
            return ChainReport(False, count, row.id, "hashed without the audit key after rows sealed with it",
                               kind="row")
        if row.chain is None:
            if heads:
                return ChainReport(False, count, row.id, "written to the single chain after the communes' chains "
                                   "began", kind="row")
            prev, position = single, single_rows + 1
        else:
            if row.chain != chain_of(row.commune_id):
                return ChainReport(False, count, row.id, "in another commune's chain than its own", kind="row")
            prev, before = heads.get(row.chain, (single, single_rows))
            position = before + 1
        if row.prev_hash != prev:
            return ChainReport(False, count, row.id, "prev_hash does not match the row before", kind="row")
        if row.key_id == LEGACY:
            expected = _digest(prev, row)
            legacy += 1
        else:
            key = current.get(row.key_id)
            if key is None:
                return ChainReport(False, count, row.id, f"sealed with audit key {row.key_id}, which is not configured "
                                   f"(add it to AUDIT_KEYS_OLD or as audit.key.old-{row.key_id})", kind="key")
            expected = _seal(key, prev, row)
            keyed = True
            used.add(row.key_id)
        if not hmac.compare_digest(expected, row.hash):
            return ChainReport(False, count, row.id, "content does not match its hash", kind="row")
        if row.id in watch:
            seen[row.id] = (row.chain, position, row.hash)
        if row.chain is None:
            single, single_rows = row.hash, position
        else:
            heads[row.chain] = (row.hash, position)

    for cp, origin in wanted:
        if cp.rows == 0:
            continue
        if cp.last_id not in seen:
            return ChainReport(False, count, cp.last_id, f"row {cp.last_id}, the last one in {_describe(cp, origin)}, "
                               "is missing: the log was cut", legacy, kind="checkpoint")
        chain, position, digest = seen[cp.last_id]
        if digest != cp.head_hash:
            return ChainReport(False, count, cp.last_id, f"row {cp.last_id} no longer has the hash recorded in "
                               f"{_describe(cp, origin)}", legacy, kind="checkpoint")
        if chain is not None and cp.chain != chain:
            return ChainReport(False, count, cp.last_id, f"row {cp.last_id} is not in the chain of "
                               f"{_describe(cp, origin)}", legacy, kind="checkpoint")
        if position != cp.rows:
            return ChainReport(False, count, cp.last_id, f"{position} rows lead up to row {cp.last_id}, not the "
                               f"{cp.rows} of {_describe(cp, origin)}", legacy, kind="checkpoint")
    return ChainReport(True, count, legacy=legacy, checkpoints=len(wanted), key_ids=sorted(used))


@event.listens_for(Session, "before_flush")
def _append_only(session, _context, _instances):
    """Refuse, in the app itself, any change or deletion of an audit row."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit_events is append-only")
