"""The verifier's pages: tasks to check, and nothing else of the tip.

A verifier sees only what the officer wrote or ticked on the task form: the
brief, the place hint, the due time, the urgency and the photos ticked, with
the task's village (their own). Nothing is read from the tip itself: not its
text, code, sender, thread, watch point, time window, free-text place, time
or category. A village head who knows who sits at the market from five to
nine knows who reported.
"""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from .. import cases, voice
from ..db_setup import reads_only
from ..errors import answers_json
from ..extensions import db
from ..formkit import discard, photo_ids, renew_key, stored_photos
from ..models import Role, TaskAssignment, TaskStatus, VerificationTask, utcnow
from ..permissions import allow, assignments_for, get_or_404, is_assignee
from ..sending import photo_upload_response, sent_voices
from ..web import redirect_to, render, wants_fragment
from . import bp
from .forms import ReportForm


@bp.get("/")
@allow(Role.VERIFIER)
@reads_only
def home():
    """List the open tasks (overdue, then most urgent, then soonest due first), then the recently done."""
    rows = db.session.scalars(
        select(TaskAssignment)
        .join(VerificationTask)
        .where(assignments_for(current_user))
        .options(selectinload(TaskAssignment.task).selectinload(VerificationTask.village))
        .order_by(VerificationTask.due_at, TaskAssignment.id)
    ).all()
    now = utcnow()
    todo = [a for a in rows if a.task.status == TaskStatus.OPEN and a.reported_at is None]
    todo.sort(key=lambda a: (a.task.due_at >= now, -a.task.urgency))  # stable: due time breaks ties
    done = [a for a in rows if a not in todo][-20:]
    return render("verifier/home.html", todo=todo, done=done, now=now)


def show(assignment: TaskAssignment, form: ReportForm | None = None, error: str | None = None, status: int = 200):
    # Only the task goes to the template, never its tip: whatever the page shows, the officer chose.
    return render("verifier/task.html", "verifier/_task.html", a=assignment, task=assignment.task,
                  form=form or ReportForm(formdata=None), error=error, status=status, now=utcnow())


def done(assignment: TaskAssignment):
    """Commit, then show the task again: the fragment for htmx, a redirect otherwise."""
    db.session.commit()
    if wants_fragment():
        return show(assignment)
    return redirect_to("verifier.task", assignment_id=assignment.id)


@bp.get("/tasks/<int:assignment_id>")
@allow(Role.VERIFIER)
def task(assignment_id: int):
    """Show one task: the officer's brief, place hint, urgency, due time and shared photos."""
    return show(get_or_404(TaskAssignment, assignment_id, is_assignee))


@bp.post("/tasks/<int:assignment_id>/accept")
@allow(Role.VERIFIER)
def accept(assignment_id: int):
    """Take the task on."""
    a = get_or_404(TaskAssignment, assignment_id, is_assignee)
    try:
        cases.accept_task(a, by=current_user)
    except cases.CaseError as exc:
        db.session.rollback()
        return show(a, error=exc.message, status=exc.status)
    return done(a)


@bp.post("/tasks/<int:assignment_id>/report")
@allow(Role.VERIFIER)
def report(assignment_id: int):
    """Report the finding, with notes, photos and a voice note, once."""
    a = get_or_404(TaskAssignment, assignment_id, is_assignee)
    form = ReportForm()
    if not form.validate_on_submit():
        return show(a, form, status=422)
    try:
        photos = stored_photos()
    except ValidationError as exc:
        return show(a, form, error=str(exc), status=422)
    try:
        # A report already made (a retry, or a second send) decodes no voice note again.
        voices, spoken = sent_voices(current_user, retry=a.reported_at is not None)
    except cases.CaseError as exc:
        discard(photos)
        return show(a, form, error=exc.message, status=exc.status)
    try:
        cases.report_finding(a, by=current_user, finding=form.finding.data, notes=form.notes.data or "",
                             photos=photos, photo_ids=photo_ids(), client_key=form.client_key.data)
    except cases.CaseError as exc:
        discard(photos)
        voice.discard(voices)
        db.session.rollback()
        renew_key(form, exc)
        return show(a, form, error=exc.message, status=exc.status)
    if voices or spoken:
        voice.join(spoken, voices, current_user, assignment_id=a.id)
    return done(a)


@bp.post("/photos")
@allow(Role.VERIFIER)
@answers_json
def upload_photo():
    """Take one report photo on its own (the page's script sends photos one by one)."""
    return photo_upload_response()
