"""Announcements (tuyên truyền): the commander and officers tell members, or the public, something.

Views parse forms and call these functions; each checks, writes the row and
its audit record together, and leaves the commit to the caller. A refused
change raises `cases.CaseError` with a message for the user. A retried send
of the create form (its `client_key`) lands on the announcement it made.

An audience is written as one value on the form: "members", "public",
"informants:<officer id>", "verifiers:all" or "verifiers:<village id>". The
commander may choose any; an officer their own informants, the verifiers of
one of their villages, or the public.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from . import audit, cases
from .extensions import db
from .images import StoredImage, remove_stored
from .models import Announcement, AnnouncementRead, Audience, Informant, Role, Unit, UnitKind, User, utcnow
from .permissions import MEMBER_ROLES, ParameterActor, actor_parameters, addressed_to

MAX_AHEAD = timedelta(days=366)  # a scheduled announcement shows within a year


def audience_choices(actor: User) -> list[tuple[str, str]]:
    """Return the audiences `actor` may address, as (form value, label) pairs."""
    out: list[tuple[str, str]] = []
    if actor.role == Role.COMMANDER:
        out.append((Audience.MEMBERS, _("All members (informants, verifiers, officers)")))
        officers = db.session.scalars(select(User).where(User.commune_id == actor.commune_id,
                                                         User.role == Role.OFFICER, User.active.is_(True))
                                      .order_by(User.full_name)).all()
        out += [(f"{Audience.INFORMANTS}:{o.id}", _("The informants of %(name)s", name=o.full_name)) for o in officers]
        out.append((f"{Audience.VERIFIERS}:all", _("The verifiers of every village")))
        villages = db.session.scalars(select(Unit).where(Unit.parent_id == actor.commune_id,
                                                         Unit.kind == UnitKind.VILLAGE).order_by(Unit.name)).all()
    elif actor.role == Role.OFFICER:
        out.append((f"{Audience.INFORMANTS}:{actor.id}", _("My informants")))
        villages = actor.areas()
    else:
        return []
    out += [(f"{Audience.VERIFIERS}:{v.id}", _("The verifiers of %(village)s", village=v.name)) for v in villages]
    out.append((Audience.PUBLIC, _("Everyone (the commune's public page and its page for tips)")))
    return out


def parse_audience(actor: User, value: str) -> tuple[str, int | None, int | None]:
    """Return (audience, officer id, village id) of a form value `actor` may choose; raise CaseError otherwise."""
    if value not in dict(audience_choices(actor)):
        raise cases.CaseError(_("Please choose who the announcement is for."), 422, field="audience")
    kind, _sep, rest = value.partition(":")
    if kind == Audience.INFORMANTS:
        return kind, int(rest), None
    if kind == Audience.VERIFIERS:
        return kind, None, None if rest == "all" else int(rest)
    return kind, None, None


def post(*, by: User, title: str, body: str, audience: str, pinned: bool = False,
         shows_from: datetime | None = None, photo: StoredImage | None = None,
         client_key: str | None = None) -> tuple[Announcement, bool]:
    """Post an announcement (once per `client_key`); return (announcement, created now).

    `shows_from` (UTC) schedules it; empty or past means now. A retried send
    keeps the first photo: a second one stored for it is removed. A refused
    post leaves `photo` to the caller.
    """
    kind, officer_id, village_id = parse_audience(by, audience)
    title, body = " ".join(title.split()), body.strip()
    if not title:
        raise cases.CaseError(_("Please write a title."), 422, field="title")
    now = utcnow()
    if shows_from is not None and shows_from > now + MAX_AHEAD:
        raise cases.CaseError(_("An announcement can be scheduled at most a year ahead."), 422, field="shows_from")
    digest = cases.content_hash(t=title, b=body, a=audience, p=bool(pinned),
                                s=shows_from.replace(second=0, microsecond=0).isoformat() if shows_from else None)

    def create() -> Announcement:
        row = Announcement(commune_id=by.commune_id, author_id=by.id, audience=kind, officer_id=officer_id,
                           village_id=village_id, title=title, body=body, pinned=bool(pinned),
                           shows_from=max(shows_from or now, now), created_at=now, client_key=client_key,
                           content_hash=digest, photo_name=photo.storage_name if photo else None,
                           photo_sha256=photo.sha256 if photo else None)
        db.session.add(row)
        db.session.flush()
        audit.record("announcement.post", actor=by, target=row, commune_id=by.commune_id, audience=kind,
                     officer=officer_id, village=village_id, title=title, pinned=bool(pinned) or None,
                     scheduled=row.shows_from.isoformat(timespec="minutes") if row.shows_from > now else None,
                     photo=True if photo else None)
        return row

    audit.lock_writers(by.commune_id)
    row, created = cases._once(Announcement, client_key, digest, create)
    if photo and row.photo_name != photo.storage_name:
        remove_stored(photo.storage_name)  # a retry: the first send's photo is the one kept
    return row, created


def withdraw(a: Announcement, *, by: User) -> bool:
    """Take an announcement down; it stays in the record (and the audit log). False if it was already."""
    cases._hold(a)
    if a.withdrawn_at is not None:
        return False
    a.withdrawn_at, a.withdrawn_by_id = utcnow(), by.id
    audit.record("announcement.withdraw", actor=by, target=a, commune_id=a.commune_id, title=a.title)
    return True


def set_pinned(a: Announcement, pinned: bool, *, by: User) -> bool:
    """Pin an announcement at the top of its audience's home pages (or unpin it); False if nothing changed."""
    cases._hold(a)
    if a.pinned == pinned or a.withdrawn_at is not None:
        return False
    a.pinned = pinned
    audit.record("announcement.pin", actor=by, target=a, commune_id=a.commune_id, title=a.title, pinned=pinned)
    return True


def mark_read(a: Announcement, user: User) -> bool:
    """Note that `user` has seen `a` ("Đã xem"); True when this call was the first. Not audited: it is counted."""
    if db.session.scalar(select(AnnouncementRead.id).where(AnnouncementRead.announcement_id == a.id,
                                                           AnnouncementRead.user_id == user.id)) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(AnnouncementRead(announcement_id=a.id, user_id=user.id, read_at=utcnow()))
            db.session.flush()
    except IntegrityError:
        return False  # a double tap: the other request counted it
    return True


# --- What pages list ---------------------------------------------------------------------------


_FOR_MEMBER: dict[tuple, object] = {}  # for_member's statements, by role, village known or not, and limit


def for_member(user: User, limit: int = 30) -> tuple[list[Announcement], set[int]]:
    """Return the announcements addressed to `user` (pinned first, then newest) and the ids they have read."""
    if user is None or user.role not in MEMBER_ROLES:
        return [], set()
    key = (user.role, user.village_id is not None, limit)
    statement = _FOR_MEMBER.get(key)
    if statement is None:  # made once per role and limit: a member's home shows it on every visit
        actor = ParameterActor(user.role, has_village=user.village_id is not None)
        was_read = select(AnnouncementRead.id).where(AnnouncementRead.announcement_id == Announcement.id,
                                                     AnnouncementRead.user_id == actor.id).exists()
        statement = _FOR_MEMBER[key] = (
            select(Announcement, was_read).where(addressed_to(actor, now=bindparam("now")))
            .order_by(Announcement.pinned.desc(), Announcement.shows_from.desc(), Announcement.id.desc())
            .limit(limit))
    rows = db.session.execute(statement, {**actor_parameters(user), "now": utcnow()}).all()
    return [a for a, _ in rows], {a.id for a, read in rows if read}


def next_showing(commune_id: int) -> datetime | None:
    """When the commune's next scheduled announcement shows (None: none is scheduled)."""
    return db.session.scalar(
        select(func.min(Announcement.shows_from)).where(Announcement.commune_id == commune_id,
                                                        Announcement.withdrawn_at.is_(None),
                                                        Announcement.shows_from > utcnow()))


def by_ids(ids) -> list[Announcement]:
    """The announcements of `ids`, in that order: from the session when it has them all, else in one query."""
    if not ids:
        return []
    held = [db.session.identity_map.get(identity_key(Announcement, i)) for i in ids]
    if None in held:
        found = {a.id: a for a in db.session.scalars(select(Announcement).where(Announcement.id.in_(ids)))}
        held = [found.get(i) for i in ids]
    return [a for a in held if a is not None]


def public_of(commune_id: int, limit: int = 10) -> list[Announcement]:
    """Return the commune's public announcements shown now: pinned first, then newest."""
    return list(db.session.scalars(
        select(Announcement).where(Announcement.commune_id == commune_id, Announcement.audience == Audience.PUBLIC,
                                   Announcement.withdrawn_at.is_(None), Announcement.shows_from <= utcnow())
        .order_by(Announcement.pinned.desc(), Announcement.shows_from.desc(), Announcement.id.desc()).limit(limit)))


def audience_size(a: Announcement) -> int | None:
    """Return how many active accounts `a` is addressed to (None for the public)."""
    q = select(func.count(User.id)).where(User.commune_id == a.commune_id, User.active.is_(True))
    if a.audience == Audience.MEMBERS:
        q = q.where(User.role.in_(MEMBER_ROLES))
    elif a.audience == Audience.INFORMANTS:
        q = q.where(User.role == Role.INFORMANT,
                    User.id.in_(select(Informant.user_id).where(Informant.handler_id == a.officer_id)))
    elif a.audience == Audience.VERIFIERS:
        q = q.where(User.role == Role.VERIFIER)
        if a.village_id is not None:
            q = q.where(User.village_id == a.village_id)
    else:
        return None
    return db.session.scalar(q) or 0


def read_counts(rows: list[Announcement]) -> dict[int, tuple[int, int | None]]:
    """Return {announcement id: (how many have read it, how many it is for)}: counts only, never who."""
    if not rows:
        return {}
    reads = dict(db.session.execute(
        select(AnnouncementRead.announcement_id, func.count(AnnouncementRead.id))
        .where(AnnouncementRead.announcement_id.in_([a.id for a in rows]))
        .group_by(AnnouncementRead.announcement_id)).all())
    sizes: dict[tuple, int | None] = {}
    out = {}
    for a in rows:
        key = (a.audience, a.officer_id, a.village_id)
        if key not in sizes:
            sizes[key] = audience_size(a)
        out[a.id] = (reads.get(a.id, 0), sizes[key])
    return out


def audience_label(a: Announcement) -> str:
    """Return who an announcement is for, in words."""
    if a.audience == Audience.MEMBERS:
        return _("All members")
    if a.audience == Audience.INFORMANTS:
        return _("The informants of %(name)s", name=a.officer.full_name if a.officer else "?")
    if a.audience == Audience.VERIFIERS:
        return _("The verifiers of %(village)s", village=a.village.name) if a.village else \
            _("The verifiers of every village")
    return _("Everyone")
