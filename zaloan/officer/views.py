"""The officer's queue and the work on one tip (the commander sees the whole commune)."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import current_app, make_response, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, load_only, selectinload

from .. import accounts, cases, deadlines, duplicates
from ..db_setup import reads_only, write_from_here
from ..deadline_forms import ExtendForm
from ..extensions import db
from ..formkit import local_now, renew_key, to_utc
from ..inputs import to_int
from ..kept import Kept, answer_once, drawn_once, kept
from ..models import (
    Category,
    CommuneClock,
    CommuneSettings,
    Message,
    Role,
    TaskAssignment,
    Tip,
    TipStatus,
    Unit,
    Urgency,
    User,
    VerificationTask,
    utcnow,
)
from ..paging import Key, asked, page_of
from ..permissions import allow, can_work_tip, get_or_404, tips_for
from ..web import render, render_drawn, wants_fragment
from . import bp
from .forms import AskForm, DuplicateForm, OutcomeForm, ReopenForm, TaskForm, TriageForm

POLICE = (Role.OFFICER, Role.COMMANDER)
PAGE_SIZE = 50


def scope():
    """Return the condition selecting the tips the current user works on."""
    return tips_for(current_user)


def filters(args=None) -> dict:
    """Read the queue's filters from the query string (`args`, else the request's); unknown values are ignored."""
    args = request.args if args is None else args
    status = args.get("status", "open")
    if status not in (*TipStatus.ALL, "open", "all"):
        status = "open"
    out = {"status": status, "village": None, "category": None, "urgency": None,
           "unread": args.get("unread") == "1"}
    for key in ("village", "category", "urgency"):
        out[key] = to_int(args.get(key))
    if out["urgency"] not in Urgency.ALL:
        out["urgency"] = None
    return out


def queue_query(f: dict, where=None):
    q = select(Tip).where(scope() if where is None else where)
    if f["status"] == "open":
        q = q.where(Tip.status.in_(TipStatus.OPEN))
    elif f["status"] != "all":
        q = q.where(Tip.status == f["status"])
    if f["village"]:
        q = q.where(Tip.village_id == f["village"])
    if f["category"]:
        q = q.where(Tip.category_id == f["category"])
    if f["urgency"]:
        q = q.where(Tip.urgency == f["urgency"])
    if f["unread"]:
        q = q.where(Tip.first_read_at.is_(None))
    return q


def queue_counts(where=None) -> dict[str, int]:
    """Return the number of tips in scope by status (one query, from ix_tips_scope alone)."""
    return dict(db.session.execute(
        select(Tip.status, func.count(Tip.id)).where(scope() if where is None else where).group_by(Tip.status)
    ).all())


def queue_version(f: dict) -> str:
    """Return a short fingerprint of the queue: it changes when anything the queue shows changes.

    It reads the commune's clock (one row), which triggers move on every change
    to the commune's tips, villages, categories and informants (migration 0020),
    with who is looking and through which filters.
    """
    clock = accounts.commune_clock_read_with_session(current_user.commune_id)  # saves a round trip
    if clock is None:
        clock = db.session.scalar(
            select(CommuneClock.version).where(CommuneClock.commune_id == current_user.commune_id))
    return queue_fingerprint(clock, current_user.commune_id, current_user.id, current_user.role, f)


def queue_fingerprint(clock: int | None, commune_id: int, user_id: int, role: str, f: dict) -> str:
    """The queue's version from what it depends on (also before the app builds a request: `unchanged`)."""
    raw = f"{clock}|{commune_id}|{user_id}|{role}|{sorted(f.items())}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def queue_row(commune_id: int) -> tuple:
    """What a row of the queue shows, and nothing more (not the tip's text): anything else read from a row
    would be a query per row, so it raises instead.

    The category and the village are joined among the commune's own: PostgreSQL
    otherwise hashed every category and village of the province to join a page.
    """
    return (
        load_only(Tip.id, Tip.code, Tip.commune_id, Tip.category_id, Tip.village_id, Tip.urgency, Tip.status,
                  Tip.created_at, Tip.first_read_at, Tip.deadline_at, raiseload=True),
        joinedload(Tip.category.and_(Category.commune_id == commune_id)),
        joinedload(Tip.village.and_(Unit.parent_id == commune_id)),
    )


def rendered_queues() -> Kept:
    """The queue's rendered lists, kept by their version for the minute they were drawn in (per process).

    Drawing fifty rows costs more than everything else a queue page does. An
    officer's queue is asked for again and again while nothing changed (reopened,
    filtered back, the page refreshed), so the list is drawn once per version,
    viewer, filters, page and language, and again when the minute changes (its
    "12 phút trước" moves on). A change to any tip of the commune changes the
    version (`queue_version`), so a new or changed tip is never served from here.
    The list holds no form token and nothing of the session.
    """
    return kept("queue_lists", current_app.config["QUEUE_LISTS_KEPT"])


# The queue's order: the most urgent first, then the oldest; read a page at a time from where the last ended.
# The id breaks ties; sorted as `id + 0`, which SQLite's planner cannot match to an index: naming the bare
# id made it walk (commune, created at) and fetch rows out of their order, three times slower on 20,000 tips.
QUEUE_ORDER = (Key(Tip.urgency, descending=True), Key(Tip.created_at, kind="time"), Key(Tip.id, sort=Tip.id + 0))


def queue_context() -> dict:
    f = filters()
    version = queue_version(f)
    now = utcnow()
    args = {k: v for k, v in request.args.items() if k in ("status", "village", "category", "urgency", "unread")}
    where = tuple(asked(QUEUE_ORDER).items())  # a bad cursor is the first page, kept as such
    key = (version, where, tuple(sorted(args.items())), str(get_locale()), now.replace(second=0, microsecond=0))
    html = rendered_queues().get(key)
    if html is None:
        html = Markup(render_template("officer/_queue_list.html", **_queue_rows(f, version, now, args)))
        rendered_queues().put(key, html)
    return {"queue_html": html}


def _queue_rows(f: dict, version: str, now, args: dict) -> dict:
    """What the queue's list shows: its rows (one page), the filters' choices and the counts."""
    where = scope()
    rows_of = queue_query(f, where).options(*queue_row(current_user.commune_id))
    page = page_of(db.session, rows_of, QUEUE_ORDER, PAGE_SIZE)
    rows = page.rows
    counts = queue_counts(where)
    if current_user.role == Role.COMMANDER:
        villages = current_user.commune.villages()
    else:
        villages = current_user.areas()
    categories = db.session.scalars(
        select(Category).where(Category.commune_id == current_user.commune_id).order_by(Category.position)
    ).all()
    return {
        "tips": rows,
        "answered": cases.last_word([t.id for t in rows], police=False),
        "page": page,
        "f": f,
        "counts": counts,
        "villages": villages,
        "categories": categories,
        "version": version,
        "now": now,
        "args": args,
        "here": {**args, **page.asked},  # this page's own address, for its poll
    }


@bp.get("/")
@allow(*POLICE)
@reads_only
def home():
    """Show the queue: most urgent and longest-waiting first, with filters and counts.

    Asked for again while nothing changed, the whole answer is served as it was
    drawn, compressed already (`kept.answer_once`).
    """
    return answer_once("queue_pages", current_user, current_app.config["QUEUE_LISTS_KEPT"], lambda: render(
        "officer/queue.html", "officer/_queue.html", oob_alarm=wants_fragment(), **queue_context()))


@bp.get("/queue/poll")
@allow(*POLICE)
@reads_only
def poll():
    """Answer 204 (nothing) when the queue has not changed since `v`, else the new queue."""
    if request.args.get("v") == queue_version(filters()):
        resp = make_response("", 204)
        resp.vary.add("HX-Request")
        return resp
    # A changed queue may have a new emergency: the count under the navigation comes along (out of band).
    return render("officer/queue.html", "officer/_queue.html", oob_alarm=wants_fragment(), **queue_context())


def _poll_unchanged(facts, args) -> bool:
    """The poll's own test, answered before the app builds a request (`unchanged`): `v` is still the version."""
    return args.get("v") == queue_fingerprint(facts.clock or 0, facts.commune_id, facts.user_id, facts.role,
                                              filters(args))


poll.unchanged = _poll_unchanged


# --- One tip -----------------------------------------------------------------------------------


def due_hours(tip: Tip) -> dict[str, int]:
    """Return the commune's default hours a task is due in, by urgency (the commander sets them)."""
    settings = CommuneSettings.of(tip.commune_id)
    return {str(u): settings.due_hours(u) for u in Urgency.ALL}


def tip_forms(tip: Tip, posted: str | None = None) -> dict:
    """Build the tip page's forms; only the one named `posted` reads the request, the others start blank."""

    def data(name):
        return {} if name == posted else {"formdata": None}

    triage = TriageForm(category_id=tip.category_id, urgency=tip.urgency, **data("triage"))
    triage.category_id.choices = [
        (c.id, f"{c.emoji} {c.name}")
        for c in db.session.scalars(
            select(Category).where(Category.commune_id == tip.commune_id).order_by(Category.position)
        )
    ]
    task = TaskForm(urgency=tip.urgency, **data("task"))
    verifiers = []
    if tip.village_id:
        verifiers = db.session.scalars(
            select(User).where(User.role == Role.VERIFIER, User.village_id == tip.village_id, User.active.is_(True))
            .order_by(User.full_name)
        ).all()
    task.verifier_ids.choices = [(v.id, v.full_name) for v in verifiers]
    task.photo_ids.choices = [(a.id, _("Photo %(n)s", n=i + 1)) for i, a in enumerate(tip.attachments)]
    # A blank form offers the commune's due time for the tip's urgency; a posted form keeps what was sent,
    # so an empty due time is refused rather than filled in silently.
    hours = due_hours(tip)
    task.due_at.render_kw = {"data-due-hours": json.dumps(hours)}  # the page's script follows the urgency
    if posted != "task":
        task.due_at.data = local_now() + timedelta(hours=hours[str(tip.urgency)])
    return {
        "triage": triage,
        "ask": AskForm(**data("ask")),
        "duplicate": DuplicateForm(**data("duplicate")),
        "task": task,
        "outcome": OutcomeForm(**data("outcome")),
        "reopen": ReopenForm(**data("reopen")),
        "extend": ExtendForm(**data("extend")),
    }


# The actions on a tip, in the page's order when none is more likely than another.
OPEN_ACTIONS = ("triage", "task", "outcome", "duplicate")
CLOSED_ACTIONS = ("reopen",)
# Where the screen goes after each action: the section that shows what changed.
CHANGED = {
    "triage": "tip-triage",
    "ask": "tip-thread",
    "task": "tip-tasks",
    "cancel": "tip-tasks",
    "outcome": "tip-head",
    "duplicate": "tip-head",
    "reopen": "tip-head",
    "extend": "tip-deadline",
}


def next_action(tip: Tip, task_form: TaskForm) -> str | None:
    """Name the action the officer most likely takes next; its form starts open, first among the actions.

    None while verifiers are still out checking: there is nothing to do but wait (or ask).
    """
    if not tip.is_open:
        return "reopen"
    if tip.status == TipStatus.NEW:
        return "triage"
    if tip.status == TipStatus.TRIAGED:
        return "task" if tip.village_id and task_form.verifier_ids.choices else "outcome"
    return None if cases.open_tasks_of(tip) else "outcome"


def show_tip(tip: Tip, forms: dict | None = None, error: str | None = None, status: int = 200):
    """Render the tip page (or its fragment)."""
    return render_drawn(tip_part(tip, forms, error), status, fragment=True)


def tip_part(tip: Tip, forms: dict | None = None, error: str | None = None) -> str:
    """Draw the tip's part of its page (#tip).

    `forms` holds the one form that was sent, in place of its blank one: its
    section opens with `error` (a refusal) inside it and its text kept. An
    error tied to no form on the page shows at the top.
    """
    all_forms = tip_forms(tip)
    all_forms.update(forms or {})
    posted = next(iter(forms)) if forms else None
    coming = next_action(tip, all_forms["task"])
    actions = list(OPEN_ACTIONS if tip.is_open else CLOSED_ACTIONS)
    if tip.erased_at is not None:
        actions = []  # its content is gone (retention): nothing to reopen or work on
    if coming in actions:
        actions.remove(coming)
        actions.insert(0, coming)
    # A form the page no longer shows (the tip was closed or reopened meanwhile): its refusal goes on top.
    deadline = deadline_context(tip)
    shown = {*actions, *(["ask"] if tip.is_open else []), *(["extend"] if deadline["can_extend"] else [])}
    if posted not in shown:
        posted = None
    return render_template(
        "officer/_tip.html", tip=tip, forms=all_forms, error=error, now=utcnow(), posted=posted, actions=actions,
        coming=coming, opened={coming, posted}, deadline=deadline, likely=duplicates.suggestions(tip, current_user),
    )


def deadline_context(tip: Tip) -> dict:
    """What the tip page shows of a crime report's deadline: its extensions, and whether another is allowed."""
    crime = tip.category is not None and deadlines.limit_of(tip.category).crime
    extensions = deadlines.extensions_of(tip) if crime else []
    return {"crime": crime, "extensions": extensions,
            "can_extend": crime and tip.is_open and tip.deadline_at is not None
            and len(extensions) < deadlines.MAX_EXTENSIONS}


# What the tip page reads, loaded in a fixed number of queries whatever the number of messages and tasks.
TIP_PAGE = (
    selectinload(Tip.messages).selectinload(Message.attachments),
    selectinload(Tip.tasks).selectinload(VerificationTask.assignments).selectinload(TaskAssignment.photos),
    selectinload(Tip.tasks).selectinload(VerificationTask.assignments).joinedload(TaskAssignment.verifier),
    selectinload(Tip.tasks).selectinload(VerificationTask.shared_photos),
    selectinload(Tip.events),
    selectinload(Tip.attachments),
    # with the tip's own row: one query, not one each
    joinedload(Tip.category), joinedload(Tip.village), joinedload(Tip.informant),
)


def load_tip(tip_id: int) -> Tip:
    return get_or_404(Tip, tip_id, can_work_tip, options=TIP_PAGE)


def after_action(tip: Tip, action: str):
    """Commit, then show the tip again where `action` changed it.

    htmx gets the fragment and is told to bring the changed section into
    view; a plain form gets a redirect to the page at that section.
    """
    db.session.commit()
    section = CHANGED[action]
    if wants_fragment():
        resp = show_tip(tip)
        # The thread grows at its end, by the ask box: keep that end in view.
        resp.headers["HX-Reswap"] = f"outerHTML show:#{section}:{'bottom' if action == 'ask' else 'top'}"
        return resp
    resp = make_response("", 303)
    resp.headers["Location"] = url_for("officer.tip", tip_id=tip.id, _anchor=section)
    return resp


def refused(tip: Tip, exc: cases.CaseError, forms: dict | None = None):
    db.session.rollback()
    return show_tip(db.session.get(Tip, tip.id), forms, error=exc.message, status=exc.status)


@bp.get("/tips/<int:tip_id>")
@allow(*POLICE)
@reads_only  # but its first reading by the police: `write_from_here`
def tip(tip_id: int):
    """Show a tip: content, photos, the sender's alias, thread, tasks and the whole timeline.

    The first police officer to open it is noted: the sender is told that the tip has been read.
    """

    def draw() -> str:
        t = load_tip(tip_id)
        if t.first_read_at is None and cases.may_mark_read(current_user):
            write_from_here()  # a GET that writes: take the write lock, then read the tip again under it
            t = load_tip(tip_id)
        if cases.mark_read(t, by=current_user):
            db.session.commit()
        return tip_part(t)

    # Asked again while nothing of the commune changed (back from the queue, a reload on a weak signal): the
    # tip's part as drawn for this officer, with new form keys; in the same session, the whole page as it was
    # answered, with new form keys. Its first reading writes, so is never kept.
    size = current_app.config["PAGE_PARTS_KEPT"]
    return answer_once("tip_answers", current_user, size, lambda: render_drawn(
        drawn_once("tip_pages", current_user, (tip_id,), draw), fragment=True), new_keys=True)


@bp.post("/tips/<int:tip_id>/triage")
@allow(*POLICE)
def triage(tip_id: int):
    """Set category and urgency."""
    t = load_tip(tip_id)
    form = tip_forms(t, posted="triage")["triage"]
    if not form.validate_on_submit():
        return show_tip(t, {"triage": form}, status=422)
    category = db.session.get(Category, form.category_id.data)
    try:
        cases.triage(t, by=current_user, category=category, urgency=form.urgency.data)
    except cases.CaseError as exc:
        return refused(t, exc, {"triage": form})
    return after_action(t, "triage")


@bp.post("/tips/<int:tip_id>/ask")
@allow(*POLICE)
def ask(tip_id: int):
    """Ask the sender a follow-up question in the tip's private thread."""
    t = load_tip(tip_id)
    form = AskForm()
    if not form.validate_on_submit():
        return show_tip(t, {"ask": form}, status=422)
    try:
        cases.ask(t, by=current_user, body=form.body.data, client_key=form.client_key.data)
    except cases.CaseError as exc:
        renew_key(form, exc)
        return refused(t, exc, {"ask": form})
    return after_action(t, "ask")


@bp.post("/tips/<int:tip_id>/duplicate")
@allow(*POLICE)
def duplicate(tip_id: int):
    """Close the tip as a duplicate of an earlier one (by its code)."""
    t = load_tip(tip_id)
    form = DuplicateForm()
    if not form.validate_on_submit():
        return show_tip(t, {"duplicate": form}, status=422)
    code = form.code.data.strip().upper()
    other = db.session.scalar(select(Tip).where(Tip.code == code))
    if other is None or not can_work_tip(current_user, other):
        form.code.errors.append(_("No tip with this code in your areas."))
        return show_tip(t, {"duplicate": form}, status=422)
    try:
        cases.mark_duplicate(t, of=other, by=current_user)
    except cases.CaseError as exc:
        return refused(t, exc, {"duplicate": form})
    return after_action(t, "duplicate")


@bp.post("/tips/<int:tip_id>/tasks")
@allow(*POLICE)
def create_task(tip_id: int):
    """Ask verifiers of the tip's village to check on the ground."""
    t = load_tip(tip_id)
    form = tip_forms(t, posted="task")["task"]
    if not form.validate_on_submit():
        return show_tip(t, {"task": form}, status=422)
    verifiers = [db.session.get(User, i) for i in form.verifier_ids.data]
    try:
        cases.create_task(
            t, by=current_user, verifiers=[v for v in verifiers if v], brief=form.brief.data,
            due_at=to_utc(form.due_at.data), place_hint=form.place_hint.data or "",
            shared_photo_ids=form.photo_ids.data or [], urgency=form.urgency.data,
            client_key=form.client_key.data,
        )
    except cases.CaseError as exc:
        renew_key(form, exc)
        if exc.field in form:
            # Beside the field that caused it, with everything typed kept.
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
            db.session.rollback()
            return show_tip(db.session.get(Tip, t.id), {"task": form}, status=exc.status)
        return refused(t, exc, {"task": form})
    return after_action(t, "task")


@bp.post("/tips/<int:tip_id>/outcome")
@allow(*POLICE)
def outcome(tip_id: int):
    """Record how the tip ended."""
    t = load_tip(tip_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        return show_tip(t, {"outcome": form}, status=422)
    try:
        cases.record_outcome(t, by=current_user, outcome=form.outcome.data, note=form.note.data or "")
    except cases.CaseError as exc:
        return refused(t, exc, {"outcome": form})
    return after_action(t, "outcome")


@bp.post("/tips/<int:tip_id>/reopen")
@allow(*POLICE)
def reopen(tip_id: int):
    """Open a closed tip again."""
    t = load_tip(tip_id)
    form = ReopenForm()
    if not form.validate_on_submit():
        return show_tip(t, {"reopen": form}, status=422)
    try:
        cases.reopen(t, by=current_user, reason=form.reason.data)
    except cases.CaseError as exc:
        return refused(t, exc, {"reopen": form})
    return after_action(t, "reopen")


@bp.post("/tips/<int:tip_id>/tasks/<int:task_id>/cancel")
@allow(*POLICE)
def cancel_task(tip_id: int, task_id: int):
    """Withdraw a verification task."""
    t = load_tip(tip_id)
    task = next((k for k in t.tasks if k.id == task_id), None)
    if task is None:
        return show_tip(t, error=_("This task does not exist."), status=404)
    try:
        cases.cancel_task(task, by=current_user)
    except cases.CaseError as exc:
        return refused(t, exc)  # the task is no longer open, nor its form shown: the reason goes on top
    return after_action(t, "cancel")


@bp.post("/tips/<int:tip_id>/extend")
@allow(*POLICE)
def extend(tip_id: int):
    """Extend a crime report's deadline (at most twice, each by up to 2 months), with the reason and approval."""
    t = load_tip(tip_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        return show_tip(t, {"extend": form}, status=422)
    try:
        deadlines.extend(t, by=current_user, days=form.days.data, reason=form.reason.data or "",
                         authority=form.authority.data or "", client_key=form.client_key.data)
    except cases.CaseError as exc:
        renew_key(form, exc)
        if exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
            db.session.rollback()
            return show_tip(db.session.get(Tip, t.id), {"extend": form}, status=exc.status)
        return refused(t, exc, {"extend": form})
    return after_action(t, "extend")
