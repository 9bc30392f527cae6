"""Every state change of a tip, in one place.

Views parse forms and call these functions; each function checks that the
change is allowed, writes the timeline event and the audit record together,
and leaves the commit to the caller. A refused change raises `CaseError`
with a message for the user and changes nothing.

Idempotency: creating functions take the `client_key` the sender's form
made. A retried POST with the same key and the same content returns the
record made the first time; the same key with other content is refused.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import aliased
from sqlalchemy.exc import IntegrityError

from . import audit, kept, labels, notify, secrecy
from .accounts import CODE_ALPHABET
from .extensions import db
from .images import StoredImage, remove_stored
from .models import (
    Attachment,
    Category,
    Finding,
    Informant,
    Message,
    Outcome,
    Role,
    TaskAssignment,
    TaskStatus,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    Urgency,
    User,
    VerificationTask,
    WatchPoint,
    utcnow,
)
from .permissions import tips_for

MAX_PHOTOS = 3


class CaseError(ValueError):
    """A refused change; `message` is shown to the user (beside `field` when set), `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field  # the form field the message belongs beside, when one caused it


class KeyReused(CaseError):
    """The form's key came before with other content: nothing is saved, and the form needs a new key."""

    def __init__(self):
        super().__init__(_("What this form sent before has already arrived, with other content. "
                           "Nothing new was saved: check it and press Send again."))


def content_hash(**fields) -> str:
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _find_by_key(model, client_key: str | None, digest: str):
    if not client_key:
        return None
    row = db.session.scalar(select(model).where(model.client_key == client_key))
    # A photo's fingerprint is the hash of its cleaned bytes.
    stored = getattr(row, "content_hash", None) if not isinstance(row, Attachment) else row.sha256
    if row is not None and stored not in (None, digest):
        raise KeyReused()
    return row


def _once(model, client_key: str | None, digest: str, create):
    """Return (record, created): the record made earlier with this key, or a new one from `create()`."""
    existing = _find_by_key(model, client_key, digest)
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            obj = create()
            db.session.flush()
    except IntegrityError:
        # Two identical requests at once: the other one won the unique key.
        existing = _find_by_key(model, client_key, digest)
        if existing is None:
            raise
        return existing, False
    return obj, True


def event(tip: Tip, kind: str, actor: User | None, **data) -> TipEvent:
    """Add a step to the tip's timeline and touch the tip (the queue notices)."""
    ev = TipEvent(tip=tip, kind=kind, actor_id=actor.id if actor else None, data=data, created_at=utcnow())
    db.session.add(ev)
    tip.updated_at = utcnow()
    return ev


def hand_over(tips, *, by, to, was) -> None:
    """Record on each tip's timeline that its follow-up passed from officer `was` to `to` (a handover).

    The tips follow their village on their own; this says who took over, in the
    history the officer and the commander read.
    """
    for tip in tips:
        event(tip, "handed_over", by, to=to.id, was=was.id)


def _hold(*rows) -> None:
    """Re-read `rows` under the writers' lock, so two requests at once never both pass the same check.

    A double tap on a slow network sends one change twice at the same moment:
    the second must see what the first did (a closed tip, a sent report).
    """
    audit.lock_writers(next((r.commune_id for r in rows if getattr(r, "commune_id", None)), None))
    db.session.flush()
    for row in rows:
        db.session.refresh(row)


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if not db.session.scalar(select(Tip.id).where(Tip.code == code)):
            return code


def _attach(photos: list[StoredImage], uploader: User | None, **link) -> list[Attachment]:
    rows = []
    for p in photos:
        row = Attachment(
            uploader_id=uploader.id if uploader else None,
            storage_name=p.storage_name,
            content_type=p.content_type,
            width=p.width,
            height=p.height,
            size=p.size,
            sha256=p.sha256,
            **link,
        )
        db.session.add(row)
        rows.append(row)
    return rows


def own_unlinked_photos(uploader: User | None, ids: list[int]) -> list[Attachment]:
    """Return the uploader's own photos not yet linked to anything; refuse anyone else's."""
    if not ids:
        return []
    if uploader is None:
        raise CaseError(_("These photos cannot be used."), 422)
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(ids))).all()
    if len(rows) != len(set(ids)) or any(
        r.uploader_id != uploader.id or r.tip_id or r.message_id or r.assignment_id for r in rows
    ):
        raise CaseError(_("These photos cannot be used."), 422)
    return list(rows)


UNUSED_PHOTO_DAYS = 7


def purge_unused_photos(older_than: timedelta = timedelta(days=UNUSED_PHOTO_DAYS)) -> int:
    """Delete photos sent on their own but never attached to a tip, answer or report; return how many.

    Such a photo is left when a phone uploads it and then never sends the
    form (a reload, a change of mind). A form still open holds its photos by
    id, so only photos older than `older_than` go. Commits; the files are
    removed once the rows are gone.
    """
    rows = db.session.scalars(
        select(Attachment).where(
            Attachment.tip_id.is_(None),
            Attachment.message_id.is_(None),
            Attachment.assignment_id.is_(None),
            Attachment.created_at < utcnow() - older_than,
        )
    ).all()
    if not rows:
        return 0
    names = [r.storage_name for r in rows]
    for r in rows:
        db.session.delete(r)
    audit.record("photos.purge", count=len(names), days=older_than.days)
    db.session.commit()
    for name in names:
        remove_stored(name)  # the photo and its thumbnail
    return len(names)


def upload_photo(uploader: User, photo: StoredImage, client_key: str | None) -> Attachment:
    """Keep one photo sent on its own (linked later to a tip, message or report)."""
    digest = photo.sha256

    def create():
        (row,) = _attach([photo], uploader)
        row.client_key = client_key
        return row

    row, _created = _once(Attachment, client_key, digest, create)
    return row


# --- Sending a tip -------------------------------------------------------------------------


def submit_tip(
    *,
    commune: Unit,
    informant: Informant | None,
    category: Category,
    body: str,
    village: Unit | None,
    watch_point: WatchPoint | None = None,
    place_text: str = "",
    occurred_at: datetime | None = None,
    urgency: int = Urgency.NORMAL,
    photos: list[StoredImage] = (),
    photo_ids: list[int] = (),
    client_key: str | None = None,
    anon_secret: str | None = None,
    uploader: User | None = None,
) -> tuple[Tip, bool]:
    """Receive a tip from an informant (or an anonymous villager when `informant` is None)."""
    if category.commune_id != commune.id or not category.active:
        raise CaseError(_("Please choose a type of incident."), 422)
    if village is not None and (village.commune() is None or village.commune().id != commune.id):
        raise CaseError(_("Please choose a village of this commune."), 422)
    if watch_point is not None and (village is None or watch_point.village_id != village.id):
        raise CaseError(_("This place is not in the chosen village."), 422)
    if urgency not in Urgency.ALL:
        raise CaseError(_("Please choose how urgent it is."), 422)
    if len(photos) + len(photo_ids) > MAX_PHOTOS:
        raise CaseError(_("At most %(n)s photos.", n=MAX_PHOTOS), 422)
    # The fingerprint holds only what the sender sent: an empty time is None, not
    # "now", or a retry a minute later would count as other content and make a second tip.
    digest = content_hash(
        c=category.id, b=body.strip(), v=village.id if village else None, w=watch_point.id if watch_point else None,
        p=place_text.strip(), o=occurred_at.replace(second=0, microsecond=0).isoformat() if occurred_at else None,
        u=urgency, ph=sorted(photo_ids), i=informant.id if informant else None,
    )
    occurred_at = occurred_at or utcnow()
    existing = _find_by_key(Tip, client_key, digest)
    if existing is not None:
        return existing, False
    linked = own_unlinked_photos(uploader, list(photo_ids))

    def create():
        tip = Tip(
            code=new_code(),
            commune_id=commune.id,
            informant_id=informant.id if informant else None,
            anon_secret_hash=hashlib.sha256(anon_secret.encode()).hexdigest() if anon_secret else None,
            category_id=category.id,
            village_id=village.id if village else None,
            watch_point_id=watch_point.id if watch_point else None,
            place_text=place_text.strip(),
            occurred_at=occurred_at,
            urgency=urgency,
            body=body.strip(),
            status=TipStatus.NEW,
            client_key=client_key,
            content_hash=digest,
            created_at=utcnow(),
        )
        db.session.add(tip)
        db.session.flush()
        for row in linked:
            row.tip_id = tip.id
        _attach(list(photos), uploader, tip_id=tip.id)
        event(tip, "submitted", None, photos=len(photos) + len(linked))
        from . import deadlines  # it builds on this module

        deadlines.set_deadline(tip)
        return tip

    tip, created = _once(Tip, client_key, digest, create)
    if created:
        audit.record("tip.submit", actor=uploader, target=tip, commune_id=commune.id, anonymous=informant is None)
        notify.tip_submitted(tip)
    return tip, created


# --- The officer's work ------------------------------------------------------------------------


def may_mark_read(user: User | None) -> bool:
    """Say whether `user` opening a tip counts as the police having read it."""
    return user is not None and user.role in (Role.OFFICER, Role.COMMANDER)


def mark_read(tip: Tip, *, by: User) -> bool:
    """Note the first time a police officer opens the tip; return True when this call was the first.

    The sender is told that someone has read their tip (never who), so an
    emergency sender knows whether anyone has seen it. Only the first reader
    is kept: the conditional UPDATE lets exactly one of two officers opening
    the tip at the same moment win. Leaves the commit to the caller.
    """
    if tip.first_read_at is not None or not may_mark_read(by):
        return False
    now = utcnow()
    # The commune's writers' lock before the tip's row, in the order every writer takes them (cases._hold).
    audit.lock_writers(tip.commune_id)
    won = db.session.execute(
        update(Tip)
        .where(Tip.id == tip.id, Tip.first_read_at.is_(None))
        .values(first_read_at=now, first_read_by_id=by.id, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.refresh(tip)
    if not won:
        return False
    event(tip, "read", by).created_at = now
    tip.updated_at = now  # one moment: the read, its timeline step and the queue's notice
    audit.record("tip.read", actor=by, target=tip)
    return True


def _require_open(tip: Tip) -> None:
    if not tip.is_open:
        raise CaseError(_("This tip is closed. Reopen it first."))


def triage(tip: Tip, *, by: User, category: Category, urgency: int) -> bool:
    """Set the tip's category and urgency; return False when that changed nothing.

    A new tip saved as it came is triaged (its status moves on); a triaged tip
    saved again with the same values writes no event and no audit record, so a
    second press of "Save" leaves the timeline and the queue's order alone.
    """
    _hold(tip)
    _require_open(tip)
    if category.commune_id != tip.commune_id:
        raise CaseError(_("Please choose a type of incident."), 422)
    if urgency not in Urgency.ALL:
        raise CaseError(_("Please choose how urgent it is."), 422)
    if tip.status != TipStatus.NEW and tip.category_id == category.id and tip.urgency == urgency:
        return False
    before = {"category": tip.category_id, "urgency": tip.urgency}
    tip.category_id = category.id
    tip.urgency = urgency
    if tip.status == TipStatus.NEW:
        tip.status = TipStatus.TRIAGED
    if before["category"] != category.id or tip.deadline_at is None:
        from . import deadlines  # it builds on this module

        tip.category = category
        deadlines.set_deadline(tip)  # a new category, a new deadline counted from receipt
    event(tip, "triaged", by, category=category.id, urgency=urgency)
    audit.record("tip.triage", actor=by, target=tip, before=before, category=category.id, urgency=urgency)
    return True


def ask(tip: Tip, *, by: User, body: str, client_key: str | None = None) -> Message:
    """Ask the sender a follow-up question in the tip's private thread."""
    _hold(tip)
    _require_open(tip)
    body = body.strip()
    if not body:
        raise CaseError(_("Please write the question."), 422)
    digest = content_hash(t=tip.id, b=body, a=by.id)

    def create():
        msg = Message(tip_id=tip.id, author_id=by.id, from_police=True, body=body, client_key=client_key,
                      content_hash=digest, created_at=utcnow())
        db.session.add(msg)
        db.session.flush()
        event(tip, "asked", by, message=msg.id)
        return msg

    msg, created = _once(Message, client_key, digest, create)
    if created:
        audit.record("tip.ask", actor=by, target=tip, message=msg.id)
        notify.police_wrote(tip, msg)
    return msg


def answer(
    tip: Tip, *, author: User | None, body: str, photos: list[StoredImage] = (), photo_ids: list[int] = (),
    client_key: str | None = None, voices: int = 0,
) -> Message:
    """The sender answers in their tip's thread (text and/or photos); a closed tip takes no answer.

    Nobody reads the thread of a closed tip (it has left every queue), so an
    answer there would be lost: the sender is told to send a new tip instead.
    A retry of an answer that arrived before the tip was closed is still the
    same answer.
    """
    body = body.strip()
    digest = content_hash(t=tip.id, b=body, ph=sorted(photo_ids), a=author.id if author else None)
    existing = _find_by_key(Message, client_key, digest)
    if existing is not None:
        return existing
    _hold(tip)
    if not tip.is_open:
        raise CaseError(labels.closed_for_sender(tip), 409)
    if not body and not photos and not photo_ids and not voices:  # `voices`: how many voice notes come with it
        raise CaseError(_("Please write something or add a photo."), 422)
    if len(photos) + len(photo_ids) > MAX_PHOTOS:
        raise CaseError(_("At most %(n)s photos.", n=MAX_PHOTOS), 422)
    linked = own_unlinked_photos(author, list(photo_ids))

    def create():
        msg = Message(tip_id=tip.id, author_id=author.id if author else None, from_police=False, body=body,
                      client_key=client_key, content_hash=digest, created_at=utcnow())
        db.session.add(msg)
        db.session.flush()
        for row in linked:
            row.message_id = msg.id
        _attach(list(photos), author, message_id=msg.id)
        event(tip, "answered", None, message=msg.id)
        return msg

    msg, created = _once(Message, client_key, digest, create)
    if created:
        audit.record("tip.answer", actor=author, target=tip, commune_id=tip.commune_id, message=msg.id)
        notify.sender_wrote(tip, msg)
    return msg


def mark_duplicate(tip: Tip, *, of: Tip, by: User, note: str = "") -> None:
    """Close `tip` as a duplicate of `of`, linked both ways."""
    _hold(*sorted((tip, of), key=lambda t: t.id))
    _require_open(tip)
    if of.id == tip.id or of.commune_id != tip.commune_id:
        raise CaseError(_("Choose another tip of this commune."), 422)
    if of.duplicate_of_id == tip.id:
        raise CaseError(_("That tip is already marked as a duplicate of this one."), 422)
    root = of.duplicate_of or of
    tip.duplicate_of_id = root.id
    _close(tip, by, Outcome.DUPLICATE, note)
    event(tip, "duplicate_of", by, other=root.id, code=root.code)
    event(root, "duplicate_linked", by, other=tip.id, code=tip.code)
    audit.record("tip.duplicate", actor=by, target=tip, of=root.id)


def _close(tip: Tip, by: User, outcome: str, note: str) -> None:
    now = utcnow()
    for task in tip.tasks:
        if task.status == TaskStatus.OPEN:
            task.status = TaskStatus.CANCELLED
    tip.status = TipStatus.CLOSED
    tip.outcome = outcome
    tip.outcome_note = note.strip()
    tip.closed_at = now
    event(tip, "outcome", by, outcome=outcome)


def record_outcome(tip: Tip, *, by: User, outcome: str, note: str = "") -> None:
    """Record how the tip ended; open verification tasks are cancelled."""
    _hold(tip)
    _require_open(tip)
    if outcome not in Outcome.ALL or outcome == Outcome.DUPLICATE:
        raise CaseError(_("Please choose an outcome (for a duplicate, use “Mark as duplicate”)."), 422)
    _close(tip, by, outcome, note)
    audit.record("tip.outcome", actor=by, target=tip, outcome=outcome)


def reopen(tip: Tip, *, by: User, reason: str) -> None:
    """Open a closed tip again (a duplicate link is undone, the old outcome and its note are cleared).

    The old outcome and note stay on the "reopened" step of the timeline: the
    tip's page then shows no stale note, and nothing recorded is lost.
    """
    _hold(tip)
    if tip.is_open:
        raise CaseError(_("This tip is already open."))
    if tip.erased_at is not None:
        raise CaseError(_("The content of this tip was erased under the retention rule: it cannot be reopened. "
                          "Record what is new as a new tip."), 409)
    reason = reason.strip()
    if not reason:
        raise CaseError(_("Please write why the tip is reopened."), 422)
    if tip.duplicate_of is not None:
        event(tip.duplicate_of, "duplicate_unlinked", by, other=tip.id, code=tip.code)
        tip.duplicate_of_id = None
    previous = {"outcome": tip.outcome, "note": tip.outcome_note or ""}
    tip.status = TipStatus.TRIAGED
    tip.outcome = None
    tip.outcome_note = ""
    tip.closed_at = None
    event(tip, "reopened", by, reason=reason, previous=previous)
    audit.record("tip.reopen", actor=by, target=tip)


# --- Verification ------------------------------------------------------------------------------


def create_task(
    tip: Tip, *, by: User, verifiers: list[User], brief: str, due_at: datetime, place_hint: str = "",
    shared_photo_ids: list[int] = (), urgency: int | None = None, client_key: str | None = None,
) -> VerificationTask:
    """Ask verifiers of the tip's village to check on the ground, in the officer's own words.

    The task carries only what the officer wrote or ticked: the brief, a place
    hint, the due time, the urgency (the tip's when not given) and the photos
    ticked. Nothing else of the tip ever reaches a verifier.
    """
    _hold(tip)
    urgency = tip.urgency if urgency is None else urgency
    brief, place_hint = brief.strip(), place_hint.strip()
    verifier_ids = sorted({v.id for v in verifiers})
    digest = content_hash(
        t=tip.id, by=by.id, v=verifier_ids, b=brief, p=place_hint, u=urgency, ph=sorted(shared_photo_ids),
        d=due_at.replace(second=0, microsecond=0).isoformat() if due_at else None,
    )
    existing = _find_by_key(VerificationTask, client_key, digest)
    if existing is not None:
        return existing
    _require_open(tip)
    if tip.village_id is None:
        raise CaseError(_("Set the tip's village before asking for verification."), 422)
    if not verifiers:
        raise CaseError(_("Choose at least one verifier."), 422, field="verifier_ids")
    for v in verifiers:
        if v.role != Role.VERIFIER or v.village_id != tip.village_id or not v.active:
            raise CaseError(_("Only active verifiers of the tip's village can be asked."), 422, field="verifier_ids")
    if len(brief) < 10:
        raise CaseError(_("Please write a brief of at least a few words."), 422, field="brief")
    # The brief is the officer's own words: a pasted piece of what the sender wrote can reveal who sent it.
    theirs = [tip.body, tip.place_text, *(m.body for m in tip.messages if not m.from_police)]
    if secrecy.shared_run(brief, theirs):
        raise CaseError(_("Write the brief in your own words: the sender's text can reveal who sent it."), 422,
                        field="brief")
    if secrecy.shared_run(place_hint, theirs):
        raise CaseError(_("Write the place in your own words: the sender's text can reveal who sent it."), 422,
                        field="place_hint")
    if urgency not in Urgency.ALL:
        raise CaseError(_("Please choose how urgent it is."), 422, field="urgency")
    if due_at is None:
        raise CaseError(_("Please choose a due time."), 422, field="due_at")
    if due_at <= utcnow():
        raise CaseError(_("The due time must be in the future."), 422, field="due_at")
    tip_photos = {a.id: a for a in tip.attachments}
    shared = []
    for pid in shared_photo_ids:
        if pid not in tip_photos:
            raise CaseError(_("Only photos of this tip can be shared."), 422)
        shared.append(tip_photos[pid])

    def create():
        task = VerificationTask(
            tip_id=tip.id, village_id=tip.village_id, brief=brief, place_hint=place_hint, due_at=due_at,
            urgency=urgency, created_by_id=by.id, status=TaskStatus.OPEN, created_at=utcnow(),
            client_key=client_key, content_hash=digest,
        )
        task.shared_photos = shared
        db.session.add(task)
        db.session.flush()
        for v in verifiers:
            db.session.add(TaskAssignment(task_id=task.id, verifier_id=v.id))
        if tip.status in (TipStatus.NEW, TipStatus.TRIAGED):
            tip.status = TipStatus.VERIFYING
        event(tip, "task_created", by, task=task.id, verifiers=verifier_ids)
        return task

    task, created = _once(VerificationTask, client_key, digest, create)
    if created:
        audit.record("task.create", actor=by, target=task, tip=tip.id, verifiers=verifier_ids, urgency=urgency)
        notify.task_created(task)
    return task


def _require_own_open(assignment: TaskAssignment, by: User) -> None:
    if assignment.verifier_id != by.id:
        raise CaseError(_("This task is not yours."), 404)
    if assignment.task.status != TaskStatus.OPEN:
        raise CaseError(_("This task is no longer open."))


def accept_task(assignment: TaskAssignment, *, by: User) -> None:
    """The verifier takes the task on."""
    _hold(assignment, assignment.task)
    _require_own_open(assignment, by)
    if assignment.accepted_at is not None:
        raise CaseError(_("You have already accepted this task."))
    assignment.accepted_at = utcnow()
    event(assignment.task.tip, "task_accepted", by, task=assignment.task_id)
    audit.record("task.accept", actor=by, target=assignment.task)


def report_finding(
    assignment: TaskAssignment, *, by: User, finding: str, notes: str = "", photos: list[StoredImage] = (),
    photo_ids: list[int] = (), client_key: str | None = None,
) -> TaskAssignment:
    """The verifier reports what they found, once."""
    # Every assignment: the last report of several verifiers closes the task.
    _hold(assignment.task, *assignment.task.assignments)
    digest = content_hash(a=assignment.id, f=finding, n=notes.strip(), ph=sorted(photo_ids))
    if client_key and assignment.client_key == client_key:
        if assignment.content_hash != digest:
            raise KeyReused()
        return assignment
    if assignment.verifier_id == by.id and assignment.reported_at is not None:
        raise CaseError(_("You have already reported on this task."))
    _require_own_open(assignment, by)
    if finding not in Finding.ALL:
        raise CaseError(_("Please choose what you found."), 422)
    if len(photos) + len(photo_ids) > MAX_PHOTOS:
        raise CaseError(_("At most %(n)s photos.", n=MAX_PHOTOS), 422)
    linked = own_unlinked_photos(by, list(photo_ids))
    now = utcnow()
    assignment.accepted_at = assignment.accepted_at or now
    assignment.reported_at = now
    assignment.finding = finding
    assignment.notes = notes.strip()
    assignment.client_key = client_key
    assignment.content_hash = digest
    for row in linked:
        row.assignment_id = assignment.id
    _attach(list(photos), by, assignment_id=assignment.id)
    task = assignment.task
    if all(a.reported_at is not None for a in task.assignments):
        task.status = TaskStatus.DONE
    event(task.tip, "task_reported", by, task=task.id, finding=finding)
    audit.record("task.report", actor=by, target=task, finding=finding)
    notify.task_reported(assignment)
    return assignment


def last_word(tip_ids, *, police: bool) -> set[int]:
    """Return the open tips among `tip_ids` whose thread ends with a message from the police (or the sender).

    The sender's pages mark a question waiting for them; the queue marks an answer waiting for the officer.
    """
    if not tip_ids:
        return set()
    last = (
        select(Message.tip_id, func.max(Message.id).label("last_id"))
        .where(Message.tip_id.in_(list(tip_ids)))
        .group_by(Message.tip_id)
        .subquery()
    )
    return set(
        db.session.scalars(
            select(last.c.tip_id)
            .join(Message, Message.id == last.c.last_id)
            .join(Tip, Tip.id == last.c.tip_id)
            .where(Message.from_police.is_(police), Tip.status.in_(TipStatus.OPEN))
        )
    )


_UNREAD = aliased(Tip, name="unread")  # made once: an alias builds its columns, a cost on every page


def unread_emergencies(user: User) -> int:
    """Count the open emergency tips nobody has opened yet, among those `user` works on (one query).

    Kept for the person under the commune's clock (zaloan.kept.for_person): every police page
    shows it, and it changes only with the commune's tips, villages and informants.
    """
    if user is None or user.role not in (Role.OFFICER, Role.COMMANDER):
        return 0
    return kept.for_person("unread_emergencies", user, lambda: (_count_unread_emergencies(user), None))


def _count_unread_emergencies(user: User) -> int:
    # The unread emergencies come from ix_tips_alarm (a handful of rows in the whole database: the
    # alarm is for minutes); the scope sorts those out. Counting through the scope's index instead read
    # every open tip in scope, and naming the commune here let SQLite without statistics pick a
    # commune-wide index.
    # PostgreSQL, with its statistics, reads the same few rows from ix_tips_alarm by the commune when
    # the condition is written on the tips themselves (0.1 ms against 1.4 ms through the subquery, whose
    # row count it overestimates and so hashes every tip of the commune).
    if db.session.get_bind().dialect.name == "postgresql":
        where = (text(Tip.ALARM_SQL),)
    else:
        where = (Tip.id.in_(select(_UNREAD.id).where(text(Tip.ALARM_SQL))),)
    return db.session.scalar(
        select(func.count(Tip.id)).where(*where, tips_for(user), Tip.status.in_(TipStatus.OPEN))
    ) or 0


def open_tasks_of(tip: Tip) -> list[VerificationTask]:
    return [t for t in tip.tasks if t.status == TaskStatus.OPEN]


def cancel_task(task: VerificationTask, *, by: User) -> None:
    """Withdraw a task that is no longer needed."""
    _hold(task)
    if task.status != TaskStatus.OPEN:
        raise CaseError(_("This task is no longer open."))
    task.status = TaskStatus.CANCELLED
    event(task.tip, "task_cancelled", by, task=task.id)
    audit.record("task.cancel", actor=by, target=task)

