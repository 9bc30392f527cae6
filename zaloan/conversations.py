"""The standing channel between each informant and the commune police (nhóm Zalo 1 of the model).

Outside any tip, the officer and the informant keep one private conversation:
the officer gives instructions ("nhờ để ý": watch this place tonight, look
out for this motorbike), the informant answers, and an answer can become a
tip in one tap. The conversation belongs to the informant, not to an
officer: whoever handles the informant now reads it (and the commander), so
a handover passes its whole history on.

Like `zaloan.cases`: each function checks, writes, audits and notifies
together and leaves the commit to the caller; a refused change raises
`CaseError` and changes nothing; sends carry the form's key (`cases._once`),
so a retried send is the same message.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from . import audit, notify
from .cases import CaseError, _find_by_key, _once, content_hash
from .extensions import db
from .models import ChannelMessage, Informant, Role, Tip, Unit, UnitKind, User, WatchPoint, utcnow
from .permissions import channels_for

MAX_BODY = 2000
# A window may start a little before the request is written ("from now"), not earlier.
GRACE = timedelta(minutes=10)


def _hold(informant: Informant) -> None:
    """Take the commune's writers' lock (as cases._hold does), so two sends at once are seen one after the other."""
    audit.lock_writers(informant.commune_id)
    db.session.flush()


def _minute(value: datetime | None) -> str | None:
    return value.replace(second=0, microsecond=0).isoformat() if value else None


def send(informant: Informant, *, by: User, body: str, reply_to: ChannelMessage | None = None,
         client_key: str | None = None) -> ChannelMessage:
    """Write a message in the informant's conversation (from the informant, or from the police)."""
    body = (body or "").strip()
    police = by.id != informant.user_id
    digest = content_hash(i=informant.id, b=body, a=by.id, r=reply_to.id if reply_to else None)
    existing = _find_by_key(ChannelMessage, client_key, digest)
    if existing is not None:
        return existing
    if not body:
        raise CaseError(_("Please write the message."), 422, field="body")
    if len(body) > MAX_BODY:
        raise CaseError(_("The message is too long (at most %(n)s characters).", n=MAX_BODY), 422, field="body")
    if reply_to is not None and (reply_to.informant_id != informant.id or not reply_to.is_request):
        raise CaseError(_("This request is not in this conversation."), 422)
    _hold(informant)

    def create():
        msg = ChannelMessage(informant_id=informant.id, commune_id=informant.commune_id, author_id=by.id,
                             from_police=police, body=body, reply_to_id=reply_to.id if reply_to else None,
                             client_key=client_key, content_hash=digest, created_at=utcnow())
        db.session.add(msg)
        return msg

    msg, created = _once(ChannelMessage, client_key, digest, create)
    if created:
        audit.record("channel.message", actor=by, target=informant, commune_id=informant.commune_id,
                     message=msg.id, police=police)
        notify.channel_wrote(msg)
    return msg


def check_request_times(window_from: datetime | None, window_to: datetime | None,
                        due_at: datetime | None, now: datetime | None = None) -> None:
    """Refuse a window or due time in the past, or a window that ends before it starts (times in UTC)."""
    now = now or utcnow()
    if window_from is not None and window_from < now - GRACE:
        raise CaseError(_("The time window cannot start in the past."), 422, field="window_from")
    if window_to is not None and window_to <= now:
        raise CaseError(_("The time window cannot end in the past."), 422, field="window_to")
    if window_from is not None and window_to is not None and window_to <= window_from:
        raise CaseError(_("The time window must end after it starts."), 422, field="window_to")
    if due_at is not None and due_at <= now:
        raise CaseError(_("The due time must be in the future."), 422, field="due_at")


def ask(informant: Informant, *, by: User, body: str, watch_point: WatchPoint | None = None, place_text: str = "",
        window_from: datetime | None = None, window_to: datetime | None = None, due_at: datetime | None = None,
        client_key: str | None = None) -> ChannelMessage:
    """The police ask the informant to keep an eye on something ("nhờ để ý"): a card in the conversation."""
    body, place_text = (body or "").strip(), (place_text or "").strip()
    digest = content_hash(i=informant.id, b=body, a=by.id, w=watch_point.id if watch_point else None, p=place_text,
                          f=_minute(window_from), t=_minute(window_to), d=_minute(due_at), req=True)
    existing = _find_by_key(ChannelMessage, client_key, digest)
    if existing is not None:
        return existing
    if by.id == informant.user_id:
        raise CaseError(_("Only the police send requests."), 404)
    if not body:
        raise CaseError(_("Please write what to look out for."), 422, field="body")
    if len(body) > MAX_BODY:
        raise CaseError(_("The message is too long (at most %(n)s characters).", n=MAX_BODY), 422, field="body")
    if len(place_text) > 200:
        raise CaseError(_("The place is too long (at most 200 characters)."), 422, field="place_text")
    if watch_point is not None:
        village = db.session.get(Unit, watch_point.village_id)
        if (not watch_point.active or village is None or village.kind != UnitKind.VILLAGE
                or village.parent_id != informant.commune_id):
            raise CaseError(_("Please choose a place of this commune."), 422, field="watch_point_id")
    check_request_times(window_from, window_to, due_at)
    _hold(informant)

    def create():
        msg = ChannelMessage(informant_id=informant.id, commune_id=informant.commune_id, author_id=by.id,
                             from_police=True, body=body, is_request=True,
                             watch_point_id=watch_point.id if watch_point else None, place_text=place_text,
                             window_from=window_from, window_to=window_to, due_at=due_at, client_key=client_key,
                             content_hash=digest, created_at=utcnow())
        db.session.add(msg)
        return msg

    msg, created = _once(ChannelMessage, client_key, digest, create)
    if created:
        audit.record("channel.request", actor=by, target=informant, commune_id=informant.commune_id,
                     message=msg.id, watch_point=msg.watch_point_id, due=_minute(due_at))
        notify.channel_wrote(msg)
    return msg


def may_become_tip(msg: ChannelMessage) -> bool:
    """An informant's message (an answer to a request, or any other) can become a tip, once."""
    return not msg.from_police and bool(msg.body)


def lock_for_tip(msg: ChannelMessage) -> Tip | None:
    """Take the writers' lock and return the tip `msg` already became (None: it may become one now).

    Called before the tip is made, in the same transaction: a second press,
    even from another form or the other side, finds the first tip.
    """
    _hold(msg.informant)
    db.session.refresh(msg)
    if not may_become_tip(msg):
        raise CaseError(_("Only the informant's messages can become a tip."), 404)
    return msg.tip


def became_tip(msg: ChannelMessage, tip: Tip, *, by: User) -> None:
    """Link the message to the tip made from it (after `lock_for_tip`), audited."""
    msg.tip_id = tip.id
    audit.record("channel.tip", actor=by, target=msg.informant, commune_id=msg.commune_id, message=msg.id,
                 tip=tip.id, code=tip.code)


# --- Reading -------------------------------------------------------------------------------------------


def messages_of(informant: Informant) -> list[ChannelMessage]:
    """The whole conversation, oldest first (with what each card names, in a fixed number of queries)."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(ChannelMessage).where(ChannelMessage.informant_id == informant.id)
        .options(selectinload(ChannelMessage.watch_point), selectinload(ChannelMessage.tip),
                 selectinload(ChannelMessage.reply_to))
        .order_by(ChannelMessage.id)
    ))


def waiting_for(user: User, informant_ids: list[int]) -> set[int]:
    """Return the informants among `informant_ids` whose conversation ends with a message from the other side.

    The unread mark, read-free like the tip threads' (`cases.last_word`): for
    the police, the informant wrote last; for the informant, the police did.
    One query; opening a page changes nothing.
    """
    if not informant_ids:
        return set()
    last = (select(ChannelMessage.informant_id, func.max(ChannelMessage.id).label("last_id"))
            .where(ChannelMessage.informant_id.in_(list(informant_ids)))
            .group_by(ChannelMessage.informant_id).subquery())
    police = user.role != Role.INFORMANT
    return set(db.session.scalars(
        select(last.c.informant_id).join(ChannelMessage, ChannelMessage.id == last.c.last_id)
        .where(ChannelMessage.from_police.is_(not police))
    ))


def overview(user: User, limit: int = 300) -> list[dict]:
    """The conversations `user` may read: each informant, its newest message time and whether it waits for them.

    Newest conversation first, informants nobody wrote to yet last. Three queries whatever the length.
    """
    informants = list(db.session.scalars(select(Informant).where(channels_for(user)).order_by(Informant.alias)
                                         .limit(limit)))
    ids = [i.id for i in informants]
    if not ids:
        return []
    last = dict(db.session.execute(
        select(ChannelMessage.informant_id, func.max(ChannelMessage.created_at))
        .where(ChannelMessage.informant_id.in_(ids)).group_by(ChannelMessage.informant_id)).all())
    unread = waiting_for(user, ids)
    rows = [{"informant": i, "last_at": last.get(i.id), "unread": i.id in unread} for i in informants]
    rows.sort(key=lambda r: (r["last_at"] is None, -(r["last_at"].timestamp() if r["last_at"] else 0)))
    return rows
