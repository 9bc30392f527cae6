"""The model's operating rules (quy chế hoạt động): versions kept by the commander, acknowledged by each member.

Every informant, verifier and officer reads the version in force once and
presses "Tôi đã đọc và đồng ý". Until then every page but the tip form shows
a reminder: a tip is never held back for it. A new version asks everyone
again. The text is plain: a line starting "# " is a heading, a line starting
"- " an item of a list, a blank line ends a paragraph; nothing else is
interpreted (the page escapes all of it).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from . import audit, cases, kept
from .extensions import db
from .models import Informant, Role, RulesAck, RulesVersion, User, utcnow
from .permissions import MEMBER_ROLES

MAX_CHARS = 20_000


def current(commune_id: int) -> RulesVersion | None:
    """Return the version in force (the newest), or None when the commune has none yet."""
    return db.session.scalars(select(RulesVersion).where(RulesVersion.commune_id == commune_id)
                              .order_by(RulesVersion.number.desc()).limit(1)).first()


def publish(commune_id: int, *, by: User | None, body: str, note: str = "",
            client_key: str | None = None) -> tuple[RulesVersion, bool]:
    """Make a new version of the rules the one in force (once per `client_key`); every member is asked again."""
    body = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").strip().split("\n"))
    note = " ".join(note.split())
    if not body:
        raise cases.CaseError(_("Please write the rules."), 422, field="body")
    if len(body) > MAX_CHARS:
        raise cases.CaseError(_("The rules are too long (at most %(n)s characters).", n=MAX_CHARS), 422,
                              field="body")
    digest = cases.content_hash(b=body, n=note)

    def create() -> RulesVersion:
        now = current(commune_id)
        if now is not None and now.body == body:
            raise cases.CaseError(_("Nothing was changed in the text."), 422, field="body")
        row = RulesVersion(commune_id=commune_id, number=(now.number + 1) if now else 1, body=body, note=note,
                           author_id=by.id if by else None, created_at=utcnow(), client_key=client_key,
                           content_hash=digest)
        db.session.add(row)
        db.session.flush()
        audit.record("rules.publish", actor=by, target=row, commune_id=commune_id, number=row.number)
        return row

    audit.lock_writers(commune_id)
    return cases._once(RulesVersion, client_key, digest, create)


def acknowledge(version: RulesVersion, user: User) -> bool:
    """Record that `user` read and agreed to `version`; True when this call was the first."""
    if acked(version, user):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(RulesAck(version_id=version.id, user_id=user.id, acked_at=utcnow()))
            db.session.flush()
    except IntegrityError:
        return False  # a double tap: the other request recorded it
    audit.record("rules.ack", actor=user, target=version, commune_id=version.commune_id, number=version.number)
    return True


def acked(version: RulesVersion, user: User) -> RulesAck | None:
    return db.session.scalar(select(RulesAck).where(RulesAck.version_id == version.id, RulesAck.user_id == user.id))


# The commune's latest version and whether the member agreed to it; built once (it runs on every page).
# Only the ids: the version itself (its whole text) is loaded when it is due, rarely.
_LATEST_AND_ACK = (
    select(RulesVersion.id, RulesAck.id)
    .outerjoin(RulesAck, (RulesAck.version_id == RulesVersion.id) & (RulesAck.user_id == bindparam("user_id")))
    .where(RulesVersion.commune_id == bindparam("commune_id"))
    .order_by(RulesVersion.number.desc()).limit(1)
)


def due(user) -> RulesVersion | None:
    """Return the version in force if `user` is a member who has not yet agreed to it (once per request)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role not in MEMBER_ROLES:
        return None
    if has_request_context() and "rules_due" in g:
        return g.rules_due

    def due_id():
        row = db.session.execute(_LATEST_AND_ACK, {"user_id": user.id, "commune_id": user.commune_id}).first()
        return (row[0] if row is not None and row[1] is None else None), None

    # Kept under the commune's clock (a new version) and the person's (their agreement): zaloan.kept.
    version_id = kept.for_person("rules_due", user, due_id)
    found = db.session.get(RulesVersion, version_id) if version_id is not None else None
    if has_request_context():
        g.rules_due = found
    return found


# --- Reading it ---------------------------------------------------------------------------------


@dataclass
class Block:
    kind: str  # "heading", "para" or "list"
    lines: list[str]


def blocks(body: str) -> list[Block]:
    """Split the plain text into headings ("# "), lists ("- ") and paragraphs, for the page to render escaped."""
    out: list[Block] = []
    for line in body.split("\n"):
        text = line.strip()
        if not text:
            out.append(Block("gap", []))
        elif text.startswith("#"):
            out.append(Block("heading", [text.lstrip("#").strip()]))
        elif text.startswith(("- ", "* ", "+ ")):
            if out and out[-1].kind == "list":
                out[-1].lines.append(text[2:].strip())
            else:
                out.append(Block("list", [text[2:].strip()]))
        elif out and out[-1].kind == "para":
            out[-1].lines.append(text)
        else:
            out.append(Block("para", [text]))
    return [b for b in out if b.kind != "gap"]


def line_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Return the lines of `new` against `old`: ("+", added), ("-", removed) or (" ", kept)."""
    out = []
    for line in difflib.ndiff(old.split("\n"), new.split("\n")):
        if line[:1] in ("+", "-", " "):
            out.append((line[0], line[2:]))
    return out


def compact(diff: list[tuple[str, str]], around: int = 1) -> list[tuple[str, str]]:
    """Keep the changed lines and `around` lines either side; each run of unchanged lines left out becomes
    ("…", how many)."""
    near = set()
    for i, (op, _line) in enumerate(diff):
        if op != " ":
            near.update(range(i - around, i + around + 1))
    out: list[tuple[str, str]] = []
    skipped = 0
    for i, item in enumerate(diff):
        if i in near:
            if skipped:
                out.append(("…", str(skipped)))
                skipped = 0
            out.append(item)
        else:
            skipped += 1
    if skipped:
        out.append(("…", str(skipped)))
    return out


def history(commune_id: int) -> list[RulesVersion]:
    return list(db.session.scalars(select(RulesVersion).where(RulesVersion.commune_id == commune_id)
                                   .order_by(RulesVersion.number.desc())))


def previous(version: RulesVersion) -> RulesVersion | None:
    return db.session.scalar(select(RulesVersion).where(RulesVersion.commune_id == version.commune_id,
                                                        RulesVersion.number == version.number - 1))


@dataclass
class Who:
    label: str  # a police officer's or verifier's name; an informant's alias, never a name
    acked_at: object


def acknowledgements(version: RulesVersion) -> dict:
    """Return, by role, who of the commune's active members has agreed to `version` and who has not yet.

    Officers and verifiers by name; informants by alias only, as everywhere the police read about them.
    """
    members = db.session.execute(
        select(User, Informant.alias, RulesAck.acked_at)
        .outerjoin(Informant, Informant.user_id == User.id)
        .outerjoin(RulesAck, (RulesAck.user_id == User.id) & (RulesAck.version_id == version.id))
        .where(User.commune_id == version.commune_id, User.role.in_(MEMBER_ROLES), User.active.is_(True))
        .order_by(User.role, User.full_name)).all()
    out = {role: {"done": [], "waiting": []} for role in MEMBER_ROLES}
    for user, alias, acked_at in members:
        label = (alias or "NT-?") if user.role == Role.INFORMANT else user.full_name
        out[user.role]["done" if acked_at else "waiting"].append(Who(label, acked_at))
    if out[Role.INFORMANT]["done"] or out[Role.INFORMANT]["waiting"]:
        for key in ("done", "waiting"):
            out[Role.INFORMANT][key].sort(key=lambda w: w.label)
    return out


def count_acks(version: RulesVersion) -> int:
    return db.session.scalar(select(func.count(RulesAck.id)).where(RulesAck.version_id == version.id)) or 0


def agreed_before(version: RulesVersion, user: User) -> bool:
    """Whether `user` agreed to an earlier version of the commune's rules (so this one is a new version to them)."""
    return db.session.scalar(
        select(RulesAck.id).join(RulesVersion, RulesVersion.id == RulesAck.version_id)
        .where(RulesAck.user_id == user.id, RulesVersion.commune_id == version.commune_id,
               RulesVersion.number < version.number).limit(1)) is not None
