"""Notifications: in the app, and outside it through the outbox (SMS, email, Web Push).

One entry point, `notify(recipients, kind, url, key=...)`, called inside the
transaction of the event that caused it (it never commits): one
notification row a person, and one outbox row a person and channel they
use. `key` names the event; a person gets one notification a key and an
outbox row is unique a notification and channel, so a retried request, a
double tap or a replayed event never writes or sends anything twice.

What leaves the app is one of a few fixed sentences ("Zalo an ninh: bạn có 1
việc mới") and a link to the person's notification list: never the tip's
text, category, place or a name. Phones are shared with family, and an SMS
passes through a gateway and a carrier. `notify` takes no text at all, so
no caller can put any in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from flask import current_app
from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from . import kept
from .extensions import db
from .models import (
    Channel,
    CommuneChannels,
    Notification,
    NotifyPrefs,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
    Role,
    User,
    utcnow,
)
from .permissions import ParameterActor, actor_parameters, notifications_for

# --- Kinds: what the app lists, and the neutral sentence that leaves it ---------------------

NEW_TIP = "new_tip"  # a new tip reached the officer in charge
EMERGENCY = "emergency"  # an emergency tip: every officer and the commander
MESSAGE = "message"  # a new message in a tip's thread, to the other side
TASK = "task"  # a new verification task, to a verifier
REPORT = "report"  # a verifier reported on a task, to the officer
# Escalations of the deadlines' sweep (zaloan.deadlines.tell)
# (a kind is at most 16 letters: notifications.kind)
EMERGENCY_UNREAD = "late_emergency"  # an emergency nobody opened in time: the commander
EMERGENCY_UNREAD_OTHERS = "late_emergency_o"  # the same, to the other officers
TASK_ACCEPT_REMINDER = "accept_reminder"  # a verifier has not accepted a task yet
TASK_OVERDUE = "task_late"  # a task passed its due time: the officer
TIP_OVERDUE = "tip_late"  # a tip passed its handling deadline: the commander

KINDS = (NEW_TIP, EMERGENCY, MESSAGE, TASK, REPORT, EMERGENCY_UNREAD, EMERGENCY_UNREAD_OTHERS, TASK_ACCEPT_REMINDER,
         TASK_OVERDUE, TIP_OVERDUE)

# What the person reads in their list in the app (behind their login); still no content.
LABELS = {
    NEW_TIP: _l("A new tip to handle"),
    EMERGENCY: _l("An emergency tip"),
    MESSAGE: _l("A new message"),
    TASK: _l("A new task to verify"),
    REPORT: _l("A verifier has reported"),
    EMERGENCY_UNREAD: _l("An emergency tip nobody has opened yet"),
    EMERGENCY_UNREAD_OTHERS: _l("An emergency tip nobody has opened yet"),
    TASK_ACCEPT_REMINDER: _l("A task waits for you to accept it"),
    TASK_OVERDUE: _l("A verification task is past its time"),
    TIP_OVERDUE: _l("A tip is past its deadline"),
}

# The only sentences that ever leave the app, whatever the channel. Fixed: no placeholders.
OUTGOING = {
    NEW_TIP: _l("Zalo an ninh: you have 1 new item"),
    EMERGENCY: _l("Zalo an ninh: you have 1 urgent item"),
    MESSAGE: _l("Zalo an ninh: you have 1 new message"),
    TASK: _l("Zalo an ninh: you have 1 new item"),
    REPORT: _l("Zalo an ninh: you have 1 new item"),
    EMERGENCY_UNREAD: _l("Zalo an ninh: you have 1 urgent item"),
    EMERGENCY_UNREAD_OTHERS: _l("Zalo an ninh: you have 1 urgent item"),
    TASK_ACCEPT_REMINDER: _l("Zalo an ninh: you have 1 new item"),
    TASK_OVERDUE: _l("Zalo an ninh: you have 1 new item"),
    TIP_OVERDUE: _l("Zalo an ninh: you have 1 new item"),
}
# The standing channel with each informant (zaloan.conversations): a message or a request, to the other side.
CHANNEL = "channel"
KINDS += (CHANNEL,)
LABELS[CHANNEL] = _l("A new message in a conversation")
OUTGOING[CHANNEL] = _l("Zalo an ninh: you have 1 new message")

assert set(LABELS) == set(OUTGOING) == set(KINDS) and max(map(len, KINDS)) <= 16

LIST_PATH = "/notifications/"  # where every outgoing link points (zaloan.notifications)


def outgoing_text(kind: str) -> str:
    """Return the fixed Vietnamese sentence sent outside the app for `kind` (never anything of the tip)."""
    with force_locale("vi"):
        return str(OUTGOING[kind])


def outgoing_link() -> str:
    """Return the link sent outside the app: the person's notification list, on BASE_URL."""
    base = current_app.config.get("BASE_URL") or ""
    return base + LIST_PATH


def outgoing_message(kind: str) -> str:
    """The whole text of an SMS, an email body or a push: the sentence and the link."""
    return f"{outgoing_text(kind)} {outgoing_link()}"


def path(endpoint: str, **values) -> str:
    """Return the in-app path of `endpoint`, also outside a request (the demo loader, a command)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


# --- Channels: what the deployment, the commune and the person turn on ---------------------


def configured_channels() -> set[str]:
    """Return the channels whose server is set up in the config (each is optional)."""
    cfg = current_app.config
    out = set()
    if cfg.get("NOTIFY_SMS_URL"):
        out.add(Channel.SMS)
    if cfg.get("NOTIFY_SMTP_HOST"):
        out.add(Channel.EMAIL)
    key_file = cfg.get("VAPID_PRIVATE_KEY_FILE")
    if key_file and Path(key_file).exists():
        out.add(Channel.PUSH)
    return out


def commune_channels(commune_id: int | None) -> set[str]:
    """Return the channels the commune uses: those set up, less those its commander turned off."""
    ready = configured_channels()
    if not ready or commune_id is None:
        return ready
    row = db.session.get(CommuneChannels, commune_id)
    if row is None:
        return ready
    off = {c for c, on in ((Channel.SMS, row.sms_on), (Channel.EMAIL, row.email_on),
                           (Channel.PUSH, row.push_on)) if not on}
    return ready - off


def prefs_of(user_id: int) -> NotifyPrefs:
    """Return a person's choices; an unsaved row with the defaults (every channel on, no quiet hours)."""
    row = db.session.get(NotifyPrefs, user_id)
    if row is None:
        row = NotifyPrefs(user_id=user_id, email="", sms_on=True, email_on=True, push_on=True,
                          quiet_from=None, quiet_to=None)
    return row


def person_channels(user: User, prefs: NotifyPrefs, has_push: bool) -> set[str]:
    """Return the channels a person can be reached on and has left on."""
    out = set()
    if prefs.sms_on and user.phone:
        out.add(Channel.SMS)
    if prefs.email_on and prefs.email:
        out.add(Channel.EMAIL)
    if prefs.push_on and has_push:
        out.add(Channel.PUSH)
    return out


# --- The entry point ------------------------------------------------------------------------


def notify(recipients: Iterable[User | None], kind: str, url: str, *, key: str, urgent: bool = False,
           commune_id: int | None = None) -> list[Notification]:
    """Tell each recipient of something new: a notification in the app and an outbox row a channel.

    Runs inside the caller's transaction (flushes, never commits), so the
    notification exists exactly when the event does. A recipient who already
    has a notification with this `key` gets nothing more. Inactive accounts
    and None are skipped. Returns the notifications made by this call.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    people: dict[int, User] = {}
    for u in recipients:
        if u is not None and u.active and u.id not in people:
            people[u.id] = u
    if not people:
        return []
    key = key[:64]
    had = set(db.session.scalars(
        select(Notification.user_id).where(Notification.key == key, Notification.user_id.in_(list(people)))
    ))
    fresh = [u for uid, u in people.items() if uid not in had]
    if not fresh:
        return []
    now = utcnow()
    by_commune: dict[int | None, set[str]] = {}
    ids = [u.id for u in fresh]
    prefs = {p.user_id: p for p in db.session.scalars(select(NotifyPrefs).where(NotifyPrefs.user_id.in_(ids)))}
    pushable = set(db.session.scalars(
        select(PushSubscription.user_id).where(PushSubscription.user_id.in_(ids)).distinct()))
    made = []
    for u in fresh:
        where = commune_id if commune_id is not None else u.commune_id
        if where not in by_commune:
            by_commune[where] = commune_channels(where)
        channels = by_commune[where] & person_channels(u, prefs.get(u.id) or prefs_of(u.id), u.id in pushable)
        try:
            with db.session.begin_nested():
                note = Notification(user_id=u.id, commune_id=where, kind=kind, url=url[:200], key=key,
                                    urgent=urgent, created_at=now)
                db.session.add(note)
                db.session.flush()
                for channel in sorted(channels):
                    db.session.add(OutboxMessage(
                        notification_id=note.id, user_id=u.id, commune_id=where, channel=channel, urgent=urgent,
                        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, last_error="",
                        created_at=now))
                db.session.flush()
        except IntegrityError:
            continue  # the same event at the same moment in another request: it notified this person
        made.append(note)
    return made


# --- Reading them in the app ----------------------------------------------------------------


# The header's count on every page, built once from the scope with the person as a parameter (building it
# again on each page cost more than sending it).
_UNREAD_COUNT = (
    select(func.count()).select_from(Notification)
    .where(notifications_for(ParameterActor()), Notification.read_at.is_(None))
)


def unread_count(user) -> int:
    """Count a person's unread notifications (one COUNT on ix_notifications_user_read).

    Kept under the person's clock (zaloan.kept.for_person): a page whose person got
    or read no notification since sends no query for it.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return kept.for_person("unread_notes", user,
                           lambda: (db.session.scalar(_UNREAD_COUNT, actor_parameters(user)) or 0, None))


def mark_read(note: Notification) -> None:
    """Mark one notification read (opening it reads it); the caller commits."""
    if note.read_at is None:
        note.read_at = utcnow()


def mark_all_read(user: User) -> int:
    """Mark every notification of a person read; return how many were unread. The caller commits."""
    return db.session.execute(
        update(Notification).where(notifications_for(user), Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


# --- Who hears of what (the events of zaloan.cases) -----------------------------------------


def police_in_charge(tip) -> list[User]:
    """The officer in charge of a tip (its village's, or its sender's handler); the commanders if none."""
    officer = None
    if tip.village_id is not None and tip.village is not None:
        officer = tip.village.officer
    elif tip.informant is not None:
        officer = tip.informant.handler
    if officer is not None and officer.active:
        return [officer]
    return commanders(tip.commune_id)


def commanders(commune_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.commune_id == commune_id, User.role == Role.COMMANDER, User.active.is_(True))))


def all_police(commune_id: int) -> list[User]:
    """Every active officer and commander of the commune (an emergency reaches them all)."""
    return list(db.session.scalars(select(User).where(
        User.commune_id == commune_id, User.role.in_((Role.OFFICER, Role.COMMANDER)), User.active.is_(True))))


def tip_submitted(tip) -> None:
    """A new tip: the officer in charge; an emergency: every officer and the commander."""
    url = path("officer.tip", tip_id=tip.id)
    if tip.urgency >= 4:
        notify(all_police(tip.commune_id), EMERGENCY, url, key=f"tip:{tip.id}", urgent=True,
               commune_id=tip.commune_id)
    else:
        notify(police_in_charge(tip), NEW_TIP, url, key=f"tip:{tip.id}", commune_id=tip.commune_id)


def police_wrote(tip, message) -> None:
    """A question from the police in the tip's thread: its sender (an anonymous sender has no account)."""
    if tip.informant is None or tip.informant.user is None:
        return
    notify([tip.informant.user], MESSAGE, path("informant.tip", tip_id=tip.id), key=f"msg:{message.id}",
           commune_id=tip.commune_id)


def sender_wrote(tip, message) -> None:
    """An answer from the sender: the officer in charge of the tip."""
    notify(police_in_charge(tip), MESSAGE, path("officer.tip", tip_id=tip.id), key=f"msg:{message.id}",
           urgent=tip.urgency >= 4, commune_id=tip.commune_id)


def task_created(task) -> None:
    """A new verification task: each of its verifiers, on their own part of it."""
    for a in task.assignments:
        notify([a.verifier], TASK, path("verifier.task", assignment_id=a.id), key=f"task:{task.id}",
               urgent=task.urgency >= 4, commune_id=task.tip.commune_id)


def task_reported(assignment) -> None:
    """A verifier's report: the officer in charge of the tip and whoever wrote the task."""
    task = assignment.task
    people = police_in_charge(task.tip) + ([task.created_by] if task.created_by else [])
    notify([p for p in people if p.id != assignment.verifier_id], REPORT, path("officer.tip", tip_id=task.tip_id),
           key=f"report:{assignment.id}", urgent=task.urgency >= 4, commune_id=task.tip.commune_id)


def text_for_list(kind: str) -> str:
    """The line a person reads in their notification list."""
    return str(LABELS.get(kind, LABELS[NEW_TIP]))


def channel_wrote(message) -> None:
    """A message in an informant's standing conversation: the other side (the informant, or their handler).

    An informant without a handler is heard by the commanders. Nothing of the message leaves the app.
    """
    inf = message.informant
    if message.from_police:
        people, url = [inf.user], path("channel.mine")
    else:
        handler = inf.handler if inf.handler is not None and inf.handler.active else None
        people = [handler] if handler else commanders(inf.commune_id)
        url = path("channel.show", informant_id=inf.id)
    notify([p for p in people if p is not None and p.id != message.author_id], CHANNEL, url,
           key=f"chan:{message.id}", commune_id=inf.commune_id)
