"""Deadlines for handling tips, and escalation when they or verification tasks run late.

Every tip must be handled promptly ("kịp thời"). A tip gets a deadline from
its category when it is received and again when its category changes:

- a crime report (tin báo về tội phạm) follows the Criminal Procedure Code
  2015, art. 147: 20 days from receipt; a complex case may be extended once
  by up to 2 months, and once more by up to 2 months, each extension
  recorded with who asked, why and who approved it;
- any other category (administrative violations, disputes, social evils...)
  has the number of days the commune sets on the categories page.

A change of a category's limit applies to tips received afterwards: a tip
keeps the deadline it was given. A closed tip has no time left. Verification
tasks keep their own due times.

`sweep(now)` (run every minute by `flask deadlines run`) tells people when
something waits too long: an emergency tip nobody has opened, a task no
verifier has accepted, a task past its due time, a tip past its deadline.
Every "tell someone" goes through `tell`, which writes one `Escalation` row
under a unique key, so a sweep run twice, or two at once, tells nobody twice.

Times are stored as naive UTC and put into words in Asia/Ho_Chi_Minh.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import audit, cases, notify
from .extensions import db
from .models import (
    Category,
    CategoryLimit,
    CommuneSettings,
    DeadlineExtension,
    Escalation,
    Role,
    TaskAssignment,
    TaskStatus,
    Tip,
    TipStatus,
    Urgency,
    User,
    VerificationTask,
    utcnow,
)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

# Criminal Procedure Code 2015, art. 147: 20 days from receipt; up to two extensions of up to 2 months each.
CRIME_DAYS = 20
MAX_EXTENSIONS = 2
EXTENSION_MONTHS = 2
# A tip this close to its deadline is flagged in the queue, on its page and on the commander's home.
SOON = timedelta(days=5)
# The commune's own limits for other categories: 1 to 90 days.
MIN_DAYS, MAX_DAYS = 1, 90
# The starting limits of the default categories (zaloan.communes.DEFAULT_CATEGORIES); the commander changes them.
CRIME_CODES = frozenset({"drugs", "theft", "weapons"})
DEFAULT_DAYS = {"gambling": 15, "disorder": 7, "dispute": 30, "social_evils": 15, "suspicious": 7, "traffic": 7,
                "other": 15}
FALLBACK_DAYS = 15
# Per-commune settings: their defaults and bounds.
EMERGENCY_MINUTES, MAX_EMERGENCY_MINUTES = 10, 240
ACCEPT_HOURS, MAX_ACCEPT_HOURS = 24, 168


class DeadlineError(cases.CaseError):
    """A refused extension or limit; the message is for the user."""


# --- Limits of the categories -------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    crime: bool
    days: int  # the commune's own days; a crime report always has CRIME_DAYS

    @property
    def handling_days(self) -> int:
        return CRIME_DAYS if self.crime else self.days


def default_limit(category: Category) -> Limit:
    return Limit(crime=category.code in CRIME_CODES, days=DEFAULT_DAYS.get(category.code, FALLBACK_DAYS))


def limits_of(categories) -> dict[int, Limit]:
    """Return {category id: Limit} for the categories, in one query."""
    categories = list(categories)
    rows = {r.category_id: r for r in db.session.scalars(
        select(CategoryLimit).where(CategoryLimit.category_id.in_([c.id for c in categories])))} if categories else {}
    return {c.id: Limit(rows[c.id].crime, rows[c.id].days) if c.id in rows else default_limit(c) for c in categories}


def limit_of(category: Category) -> Limit:
    return limits_of([category])[category.id]


def set_limit(category: Category, *, crime: bool, days: int, by: User) -> bool:
    """Set how long tips of `category` may take (audited); return False when nothing changed.

    Tips already received keep their deadline.
    """
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise DeadlineError(_("Please enter whole days from %(min)s to %(max)s.", min=MIN_DAYS, max=MAX_DAYS),
                            422, field="days")
    row = db.session.get(CategoryLimit, category.id)
    current = Limit(row.crime, row.days) if row else default_limit(category)
    if current == Limit(crime, days):
        return False
    if row is None:
        row = CategoryLimit(category_id=category.id)
        db.session.add(row)
    row.crime, row.days, row.updated_by_id, row.updated_at = crime, days, by.id, utcnow()
    audit.record("category.limit", actor=by, target=category, crime=crime, days=days)
    return True


# --- A tip's deadline ---------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Return `moment` (naive UTC) plus calendar months counted in Asia/Ho_Chi_Minh (31 Jan + 1 = 28/29 Feb)."""
    local = moment.replace(tzinfo=timezone.utc).astimezone(LOCAL)
    year, month = divmod(local.month - 1 + months, 12)
    year, month = local.year + year, month + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(timezone.utc).replace(tzinfo=None)


def extensions_of(tip: Tip) -> list[DeadlineExtension]:
    return list(db.session.scalars(
        select(DeadlineExtension).where(DeadlineExtension.tip_id == tip.id).order_by(DeadlineExtension.number)))


def deadline_for(tip: Tip) -> datetime | None:
    """Return the deadline the tip's category (and, for a crime report, its extensions) gives it."""
    category = tip.category if tip.category_id else None
    if category is None or tip.created_at is None:
        return None
    limit = limit_of(category)
    deadline = tip.created_at + timedelta(days=limit.handling_days)
    if limit.crime:
        deadline += timedelta(days=sum(e.days for e in extensions_of(tip)))
    return deadline


def set_deadline(tip: Tip) -> datetime | None:
    """Give the tip its deadline (when received, and when its category changes); the caller commits."""
    db.session.flush()
    tip.deadline_at = deadline_for(tip)
    return tip.deadline_at


def extend(tip: Tip, *, by: User, days: int | None, reason: str, authority: str,
           client_key: str | None = None) -> DeadlineExtension:
    """Extend a crime report's deadline by `days` (at most 2 months; twice at most), audited; the caller commits."""
    reason, authority = " ".join((reason or "").split()), " ".join((authority or "").split())
    digest = cases.content_hash(t=tip.id, d=days, r=reason, a=authority)
    existing = cases._find_by_key(DeadlineExtension, client_key, digest)
    if existing is not None:
        return existing
    cases._hold(tip)
    if not tip.is_open:
        raise DeadlineError(_("This tip is closed: it has no deadline to extend."))
    if tip.category is None or not limit_of(tip.category).crime:
        raise DeadlineError(_("Only a crime report's deadline can be extended (Criminal Procedure Code 2015, "
                              "art. 147)."), 422)
    done = extensions_of(tip)
    if len(done) >= MAX_EXTENSIONS:
        raise DeadlineError(_("This tip has already been extended twice: the law allows no third extension."))
    if not days or days < 1:
        raise DeadlineError(_("Please enter the number of days to extend by."), 422, field="days")
    old = tip.deadline_at or deadline_for(tip)
    longest = add_months(old, EXTENSION_MONTHS)
    if days > 1000 or old + timedelta(days=days) > longest:
        raise DeadlineError(_("An extension may be at most 2 months (here, at most %(n)s days).",
                              n=(longest - old).days), 422, field="days")
    if len(reason) < 10:
        raise DeadlineError(_("Please write why the case needs more time (a few words at least)."), 422,
                            field="reason")
    if len(authority) < 3:
        raise DeadlineError(_("Please write who approved the extension."), 422, field="authority")
    new = old + timedelta(days=days)
    number = len(done) + 1

    def create():
        row = DeadlineExtension(tip_id=tip.id, number=number, days=days, reason=reason, authority=authority[:200],
                                old_deadline=old, new_deadline=new, by_id=by.id, created_at=utcnow(),
                                client_key=client_key, content_hash=digest)
        db.session.add(row)
        db.session.flush()
        tip.deadline_at = new
        cases.event(tip, "deadline_extended", by, number=number, days=days)
        return row

    try:
        row, created = cases._once(DeadlineExtension, client_key, digest, create)
    except IntegrityError:
        # Another extension of this tip took the same number at the same moment.
        raise DeadlineError(_("This tip was extended a moment ago. Check its deadline.")) from None
    if created:
        audit.record("tip.extend", actor=by, target=tip, number=number, days=days, authority=authority[:200],
                     reason=reason, deadline=new.isoformat(timespec="minutes"))
    return row


# --- Time left in plain words -------------------------------------------------------------------


def _local_day(moment: datetime):
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL).date()


@dataclass(frozen=True)
class TimeLeft:
    state: str  # "ok", "soon" (within 5 days) or "late"
    words: str  # "còn 3 ngày", "còn 5 giờ", "quá hạn 2 ngày"

    @property
    def late(self) -> bool:
        return self.state == "late"

    @property
    def soon(self) -> bool:
        return self.state == "soon"

    @property
    def mark(self) -> str:
        """The flag shown beside the words, in words (never colour alone); empty when there is time."""
        if self.state == "late":
            return "⛔ " + _("Overdue")
        if self.state == "soon":
            return "⏰ " + _("Deadline near")
        return ""


def words(deadline: datetime, now: datetime) -> str:
    """Say how long is left until `deadline`, or how long it is past, in plain words.

    Under an hour: minutes; under a day: hours; otherwise days counted on the
    calendar in Asia/Ho_Chi_Minh (due at 08:00 the day after tomorrow is
    "2 days left" all day today).
    """
    left = deadline - now
    if left > timedelta(0):
        if left < timedelta(hours=1):
            n = max(1, left // timedelta(minutes=1))
            return ngettext("%(num)s minute left", "%(num)s minutes left", n)
        if left < timedelta(days=1):
            return ngettext("%(num)s hour left", "%(num)s hours left", left // timedelta(hours=1))
        n = max(1, (_local_day(deadline) - _local_day(now)).days)
        return ngettext("%(num)s day left", "%(num)s days left", n)
    late = -left
    if late < timedelta(minutes=1):
        return _("deadline just passed")
    if late < timedelta(hours=1):
        return ngettext("%(num)s minute overdue", "%(num)s minutes overdue", late // timedelta(minutes=1))
    if late < timedelta(days=1):
        return ngettext("%(num)s hour overdue", "%(num)s hours overdue", late // timedelta(hours=1))
    n = max(1, (_local_day(now) - _local_day(deadline)).days)
    return ngettext("%(num)s day overdue", "%(num)s days overdue", n)


def time_left(tip: Tip, now: datetime | None = None) -> TimeLeft | None:
    """Return the time left on an open tip; None for a closed tip or one without a deadline."""
    if not tip.is_open or tip.deadline_at is None:
        return None
    now = now or utcnow()
    state = "late" if tip.deadline_at <= now else "soon" if tip.deadline_at - now <= SOON else "ok"
    return TimeLeft(state, words(tip.deadline_at, now))


def task_time_left(task: VerificationTask, now: datetime | None = None) -> TimeLeft | None:
    """Return the time left on an open verification task (its own due time)."""
    if task.status != TaskStatus.OPEN:
        return None
    now = now or utcnow()
    return TimeLeft("late" if task.due_at <= now else "ok", words(task.due_at, now))


# --- The commander's list ----------------------------------------------------------------------


@dataclass
class Late:
    tips: list  # open tips past their deadline, the longest overdue first
    soon: list  # open tips within 5 days of it
    tasks: list  # open tasks past their due time
    unread: list  # emergency tips nobody opened within the commune's minutes


def late_in(commune_id: int, now: datetime | None = None, limit: int = 50) -> Late:
    """Return what runs late in a commune, for its commander's home page (a fixed number of queries)."""
    now = now or utcnow()
    open_here = (Tip.commune_id == commune_id, Tip.status.in_(TipStatus.OPEN))
    shown = (selectinload(Tip.category), selectinload(Tip.village))
    tips = list(db.session.scalars(select(Tip).where(*open_here, Tip.deadline_at <= now).options(*shown)
                                   .order_by(Tip.deadline_at).limit(limit)))
    soon = list(db.session.scalars(select(Tip).where(*open_here, Tip.deadline_at > now, Tip.deadline_at <= now + SOON)
                                   .options(*shown).order_by(Tip.deadline_at).limit(limit)))
    tasks = list(db.session.scalars(
        select(VerificationTask).join(Tip, Tip.id == VerificationTask.tip_id)
        .where(Tip.commune_id == commune_id, VerificationTask.status == TaskStatus.OPEN,
               VerificationTask.due_at <= now)
        .options(selectinload(VerificationTask.tip), selectinload(VerificationTask.village))
        .order_by(VerificationTask.due_at).limit(limit)))
    minutes = emergency_minutes(commune_id)
    unread = list(db.session.scalars(select(Tip).where(
        *open_here, Tip.urgency == Urgency.EMERGENCY, Tip.first_read_at.is_(None),
        Tip.created_at <= now - timedelta(minutes=minutes)).options(*shown).order_by(Tip.created_at).limit(limit)))
    return Late(tips, soon, tasks, unread)


# --- Settings -------------------------------------------------------------------------------------


def emergency_minutes(commune_id: int) -> int:
    return CommuneSettings.of(commune_id).emergency_unread_minutes or EMERGENCY_MINUTES


def accept_hours(commune_id: int) -> int:
    return CommuneSettings.of(commune_id).accept_hours or ACCEPT_HOURS


def save_settings(commune_id: int, *, by: User, minutes: int, hours: int) -> bool:
    """Set the commune's minutes before an unread emergency is escalated and hours before a verifier is reminded."""
    if not 1 <= minutes <= MAX_EMERGENCY_MINUTES:
        raise DeadlineError(_("Please enter whole minutes from 1 to %(max)s.", max=MAX_EMERGENCY_MINUTES), 422,
                            field="emergency_unread_minutes")
    if not 1 <= hours <= MAX_ACCEPT_HOURS:
        raise DeadlineError(_("Please enter whole hours from 1 to %(max)s.", max=MAX_ACCEPT_HOURS), 422,
                            field="accept_hours")
    settings = CommuneSettings.of(commune_id)
    changed = {k: v for k, v in (("emergency_unread_minutes", minutes), ("accept_hours", hours))
               if getattr(settings, k) != v}
    if not changed:
        return False
    for k, v in changed.items():
        setattr(settings, k, v)
    settings.updated_by_id = by.id
    db.session.add(settings)
    audit.record("commune.deadlines", actor=by, commune_id=commune_id, emergency_unread_minutes=minutes,
                 accept_hours=hours)
    return True


# --- Telling people -------------------------------------------------------------------------------


# What each escalation is called among the notifications (zaloan.notify: neutral, short).
NOTIFY_KIND = {
    "emergency_unread": notify.EMERGENCY_UNREAD,
    "emergency_unread_others": notify.EMERGENCY_UNREAD_OTHERS,
    "task_accept_reminder": notify.TASK_ACCEPT_REMINDER,
    "task_overdue": notify.TASK_OVERDUE,
    "tip_overdue": notify.TIP_OVERDUE,
}


def tell(recipients, kind: str, url: str, *, key: str, urgent: bool = False, commune_id: int | None = None) -> bool:
    """Tell `recipients` (users or ids) about `kind` (a link to `url`), once per `key`; return True if told now.

    Writes one Escalation row in the caller's transaction, and the notifications (in the app and, through
    the outbox, on the person's channels: zaloan.notify); a row with the same
    key already there (an earlier sweep, or another one at this moment) makes
    this a no-op, guarded by the key's unique constraint. Every "tell someone"
    of the deadlines goes through here.
    """
    ids = sorted({getattr(r, "id", r) for r in recipients if r is not None})
    if _told(key):
        return False
    if commune_id is None and ids:
        commune_id = db.session.scalar(select(User.commune_id).where(User.id == ids[0]))
    try:
        with db.session.begin_nested():
            db.session.add(Escalation(key=key, kind=kind, url=url[:200], recipients=ids, urgent=urgent,
                                      commune_id=commune_id, created_at=utcnow()))
            db.session.flush()
    except IntegrityError:
        return False  # another sweep wrote this key first: it has told them
    people = db.session.scalars(select(User).where(User.id.in_(ids))).all() if ids else []
    notify.notify(people, NOTIFY_KIND[kind], url, key=f"deadline:{key}", urgent=urgent, commune_id=commune_id)
    return True


def _told(key: str) -> bool:
    return db.session.scalar(select(Escalation.id).where(Escalation.key == key)) is not None


def _not_told(keyed: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Keep the (key, thing) pairs whose key has no escalation yet (one query, so old ones cost nothing each pass)."""
    if not keyed:
        return []
    told = set(db.session.scalars(select(Escalation.key).where(Escalation.key.in_([k for k, _ in keyed]))))
    return [(k, x) for k, x in keyed if k not in told]


def _link(endpoint: str, **values) -> str:
    """Return the path of a page (no host: whoever shows the link puts it on the address people use)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M")


# --- The sweep ------------------------------------------------------------------------------------


def _police_of(commune_ids) -> dict[int, dict[str, list[User]]]:
    """Return {commune id: {"commander": [...], "officer": [...]}}: the active police of the communes."""
    out: dict[int, dict[str, list[User]]] = {c: {Role.COMMANDER: [], Role.OFFICER: []} for c in commune_ids}
    if not out:
        return out
    for u in db.session.scalars(select(User).where(User.commune_id.in_(list(out)), User.active.is_(True),
                                                   User.role.in_((Role.COMMANDER, Role.OFFICER)))
                                .order_by(User.id)):
        out[u.commune_id][u.role].append(u)
    return out


def _officer_in_charge(tip: Tip) -> int | None:
    """The officer who works on the tip: its village's, or its sender's handler when it has no village."""
    if tip.village_id is not None:
        return tip.village.officer_id if tip.village else None
    return tip.informant.handler_id if tip.informant else None


def _settings_of(commune_ids) -> dict[int, CommuneSettings]:
    return {c: CommuneSettings.of(c) for c in set(commune_ids)}


def sweep(now: datetime | None = None) -> list[str]:
    """Tell whoever must know what runs late; return the keys of what was told in this pass. The caller commits.

    - an emergency tip nobody has opened within the commune's minutes (default
      10): its commander, and the commune's other officers (not the one in
      charge, who has it in their queue already);
    - a verifier who has not accepted a task within the commune's hours
      (default 24): a reminder, once;
    - a task past its due time: the officer in charge of its tip;
    - a tip past its deadline: the commander, once per deadline (an extension
      makes a new one).

    Open tips without a deadline (received before deadlines existed) get theirs first.
    """
    now = now or utcnow()
    fired: list[str] = []

    for tip in db.session.scalars(select(Tip).where(Tip.status.in_(TipStatus.OPEN), Tip.deadline_at.is_(None),
                                                    Tip.category_id.is_not(None))):
        set_deadline(tip)

    # Emergencies nobody has opened.
    unread = _not_told([(f"emergency_unread:tip:{t.id}", t) for t in db.session.scalars(select(Tip).where(
        Tip.status.in_(TipStatus.OPEN), Tip.urgency == Urgency.EMERGENCY, Tip.first_read_at.is_(None),
        Tip.created_at <= now - timedelta(minutes=1)).order_by(Tip.id))])
    settings = _settings_of(t.commune_id for _k, t in unread)
    unread = [(k, t) for k, t in unread if t.created_at <= now - timedelta(
        minutes=settings[t.commune_id].emergency_unread_minutes or EMERGENCY_MINUTES)]
    police = _police_of({t.commune_id for _k, t in unread})
    for key, tip in unread:
        here = police[tip.commune_id]
        if tell(here[Role.COMMANDER], "emergency_unread", _link("officer.tip", tip_id=tip.id), key=key,
                urgent=True, commune_id=tip.commune_id):
            fired.append(key)
        in_charge = _officer_in_charge(tip)
        others = [o for o in here[Role.OFFICER] if o.id != in_charge]
        # The others cannot open a tip outside their area: they are sent to their queue, and call the one in charge.
        key = f"emergency_unread_others:tip:{tip.id}"
        if others and tell(others, "emergency_unread_others", _link("officer.home"), key=key, urgent=True,
                           commune_id=tip.commune_id):
            fired.append(key)

    # Verifiers who have not accepted a task: reminded once.
    waiting = _not_told([(f"task_accept:assignment:{a.id}", a) for a in db.session.scalars(
        select(TaskAssignment).join(VerificationTask, VerificationTask.id == TaskAssignment.task_id)
        .where(VerificationTask.status == TaskStatus.OPEN, TaskAssignment.accepted_at.is_(None),
               TaskAssignment.reported_at.is_(None), VerificationTask.created_at <= now - timedelta(hours=1))
        .options(selectinload(TaskAssignment.task).selectinload(VerificationTask.tip),
                 selectinload(TaskAssignment.verifier))
        .order_by(TaskAssignment.id))])
    settings = _settings_of(a.task.tip.commune_id for _k, a in waiting)
    for key, a in waiting:
        commune_id = a.task.tip.commune_id
        if a.task.created_at > now - timedelta(hours=settings[commune_id].accept_hours or ACCEPT_HOURS):
            continue
        if tell([a.verifier], "task_accept_reminder", _link("verifier.task", assignment_id=a.id), key=key,
                commune_id=commune_id):
            fired.append(key)

    # Tasks past their due time: the officer in charge of the tip.
    for key, task in _not_told([(f"task_overdue:task:{t.id}:{_stamp(t.due_at)}", t) for t in db.session.scalars(
            select(VerificationTask).where(VerificationTask.status == TaskStatus.OPEN, VerificationTask.due_at <= now)
            .order_by(VerificationTask.id))]):
        officer = _officer_in_charge(task.tip) or task.created_by_id
        if officer and tell([officer], "task_overdue", _link("officer.tip", tip_id=task.tip_id), key=key,
                            commune_id=task.tip.commune_id):
            fired.append(key)

    # Tips past their deadline: the commander, once per deadline.
    late = _not_told([(f"tip_overdue:tip:{t.id}:{_stamp(t.deadline_at)}", t) for t in db.session.scalars(
        select(Tip).where(Tip.status.in_(TipStatus.OPEN), Tip.deadline_at <= now).order_by(Tip.id))])
    police = _police_of({t.commune_id for _k, t in late})
    for key, tip in late:
        if tell(police[tip.commune_id][Role.COMMANDER], "tip_overdue", _link("officer.tip", tip_id=tip.id), key=key,
                commune_id=tip.commune_id):
            fired.append(key)
    return fired
