"""The sender's pages: send a tip, see their own tips, answer the officer."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from .. import cases, communes, images
from ..extensions import db
from ..formkit import (
    PHOTO_PROBLEMS,
    check_past,
    discard,
    discard_unattached,
    local_now,
    photo_ids,
    renew_key,
    stored_photos,
)
from ..inputs import arg_int
from ..models import Category, Message, Role, Tip, TipStatus, Unit, WatchPoint
from ..permissions import allow, get_or_404, is_tip_sender
from ..web import redirect_to, render, wants_fragment
from . import bp
from .forms import AnswerForm, TipForm


def my_tips_query():
    return select(Tip).where(Tip.informant_id == current_user.informant.id)


def spent_tip_keys() -> list[str]:
    """Return the keys of the informant's latest tips: a draft still holding one of them was sent."""
    return list(
        db.session.scalars(
            my_tips_query().with_only_columns(Tip.client_key).where(Tip.client_key.is_not(None))
            .order_by(Tip.id.desc()).limit(5)
        )
    )


def spent_message_keys(tip: Tip, author_id: int | None) -> list[str]:
    """Return the keys of the sender's latest answers on `tip` (a draft holding one of them was sent)."""
    return list(
        db.session.scalars(
            select(Message.client_key)
            .where(Message.tip_id == tip.id, Message.from_police.is_(False), Message.client_key.is_not(None),
                   Message.author_id == author_id if author_id else Message.author_id.is_(None))
            .order_by(Message.id.desc()).limit(5)
        )
    )


def show_thread(t: Tip, form: AnswerForm | None = None, error: str | None = None, status: int = 200,
                answered: bool = False):
    """Render the tip with its thread (the page), or the thread alone for htmx."""
    sent = request.args.get("sent") == "1"
    return render("informant/tip.html", "informant/_thread.html", tip=t, form=form or AnswerForm(formdata=None), error=error,
                  status=status, sent=sent, answered=answered, spent=spent_message_keys(t, current_user.id),
                  duty=communes.duty_phone(t.commune_id) if sent else "")


def fill_choices(form: TipForm, commune: Unit, *, village_id: int | None = None) -> None:
    """Offer the commune's categories, villages and watch points as choices.

    The watch points are also kept grouped by village (`form.point_groups`),
    for the `<optgroup>`s of the place field; with `village_id` of one of the
    commune's villages, only that village's group is kept (the htmx chooser).
    """
    cats = db.session.scalars(
        select(Category).where(Category.commune_id == commune.id, Category.active.is_(True)).order_by(Category.position)
    ).all()
    form.category_id.choices = [(c.id, f"{c.emoji} {c.name}".strip()) for c in cats]
    villages = commune.villages()
    form.village_id.choices = [(0, _("Not sure / other"))] + [(v.id, v.name) for v in villages]
    points = db.session.scalars(
        select(WatchPoint).where(WatchPoint.village_id.in_([v.id for v in villages]), WatchPoint.active.is_(True))
        .order_by(WatchPoint.name)
    ).all()
    form.watch_point_id.choices = [(0, _("Not at a listed place"))] + [(w.id, w.name) for w in points]
    shown = [v for v in villages if v.id == village_id] or villages
    form.point_groups = [(v.name, [(w.id, w.name) for w in points if w.village_id == v.id]) for v in shown]
    form.point_groups = [g for g in form.point_groups if g[1]]


def place_field(commune: Unit):
    """Render the place field for the village in ?village_id= (all villages when none): the htmx chooser."""
    form = TipForm(formdata=None)
    fill_choices(form, commune, village_id=arg_int("village_id"))
    kept = {pid for _v, group in form.point_groups for pid, _n in group}
    point = arg_int("watch_point_id")
    form.watch_point_id.data = point if point in kept else 0
    return render("informant/_place_field.html", form=form)


def preselect(form: TipForm) -> None:
    """Start from the informant's own watch point: one less thing to choose."""
    posts = current_user.informant.posts if current_user.informant else []
    if posts and request.method == "GET":
        form.watch_point_id.data = posts[0].watch_point_id
        form.village_id.data = posts[0].watch_point.village_id
    if request.method == "GET" and not form.occurred_at.data:
        form.occurred_at.data = local_now()


def key_used(model, client_key: str | None) -> bool:
    """Say whether a `model` row was already made with this form key (the send is a retry)."""
    return bool(client_key) and db.session.scalar(select(model.id).where(model.client_key == client_key)) is not None


def tip_from_form(form: TipForm, commune: Unit, *, informant, uploader, anon_secret=None):
    """Validate the form's choices against the database and create the tip; return (tip, error)."""
    try:
        when = check_past(form.occurred_at.data)
    except ValidationError as exc:
        form.occurred_at.errors.append(str(exc))
        return None, None
    category = db.session.get(Category, form.category_id.data)
    village = db.session.get(Unit, form.village_id.data) if form.village_id.data else None
    point = db.session.get(WatchPoint, form.watch_point_id.data) if form.watch_point_id.data else None
    if point is not None and village is None:
        village = point.village
    if point is not None and point.village_id != village.id:
        # Checked again by cases.submit_tip; here the words land on the place field and the form keeps its text.
        form.watch_point_id.errors.append(_("This place is not in the chosen village."))
        return None, None
    if category is None:
        form.category_id.errors.append(_("Please choose a type of incident."))
        return None, None
    try:
        # A retried send is answered with the tip already kept (its photos are not part of its
        # fingerprint): decoding them again would only cost time and memory.
        photos = [] if key_used(Tip, form.client_key.data) else stored_photos()
    except ValidationError as exc:
        return None, str(exc)
    try:
        tip, created = cases.submit_tip(
            commune=commune, informant=informant, category=category, body=form.body.data or "",
            village=village, watch_point=point, place_text=form.place_text.data or "", occurred_at=when,
            urgency=form.urgency.data, photos=photos, photo_ids=photo_ids(), client_key=form.client_key.data,
            anon_secret=anon_secret, uploader=uploader,
        )
    except cases.CaseError as exc:
        discard(photos)
        db.session.rollback()
        renew_key(form, exc)
        return None, exc
    if not created:
        discard(photos)
    return tip, None


@bp.get("/")
@allow(Role.INFORMANT)
def home():
    """Show two big buttons: send a tip, my tips."""
    counts = dict(
        db.session.execute(
            select(Tip.status, func.count(Tip.id)).where(Tip.informant_id == current_user.informant.id).group_by(Tip.status)
        ).all()
    )
    open_ids = db.session.scalars(
        my_tips_query().with_only_columns(Tip.id).where(Tip.status.in_(TipStatus.OPEN))
    ).all()
    return render("informant/home.html", informant=current_user.informant, total=sum(counts.values()),
                  open_count=sum(n for s, n in counts.items() if s in TipStatus.OPEN),
                  questions=len(cases.last_word(open_ids, police=True)))


@bp.route("/tips/new", methods=["GET", "POST"])
@allow(Role.INFORMANT)
def new_tip():
    """Send a tip: what, where, when, how urgent, up to 3 photos."""
    form = TipForm()
    fill_choices(form, current_user.commune)
    preselect(form)
    error = None
    if form.validate_on_submit():
        tip, error = tip_from_form(form, current_user.commune, informant=current_user.informant, uploader=current_user)
        if tip is not None:
            db.session.commit()
            return redirect_to("informant.tip", tip_id=tip.id, sent=1)
    status = getattr(error, "status", 422) if (error or form.errors) else 200
    return render("informant/new_tip.html", "informant/_tip_form.html", form=form,
                  error=getattr(error, "message", error), status=status, spent=spent_tip_keys(),
                  duty=communes.duty_phone(current_user.commune_id))


@bp.get("/tips/new/places")
@allow(Role.INFORMANT)
def places():
    """Return the place field narrowed to the chosen village (the tip form's village chooser)."""
    return place_field(current_user.commune)


@bp.post("/photos")
@allow(Role.INFORMANT)
def upload_photo():
    """Take one photo on its own (the page's script sends photos one by one)."""
    return photo_upload_response()


def photo_upload_response():
    """Store one photo from `photo` with its `client_key`; answer JSON {"id": n} or an error."""
    key = request.form.get("client_key", "")
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return jsonify(error=str(PHOTO_PROBLEMS["empty"])), 422
    try:
        stored = images.store(upload.read(images.MAX_BYTES + 1))
    except images.ImageRejected as exc:
        return jsonify(error=str(PHOTO_PROBLEMS[exc.reason])), 422
    try:
        row = cases.upload_photo(current_user, stored, key if 8 <= len(key) <= 64 else None)
    except cases.CaseError as exc:
        discard([stored])
        return jsonify(error=exc.message), exc.status
    if row.storage_name != stored.storage_name:
        discard([stored])  # a retry: the first copy is kept
    db.session.commit()
    return jsonify(id=row.id)


@bp.get("/tips")
@allow(Role.INFORMANT)
def tips():
    """List the informant's own tips with a plain-words status."""
    rows = db.session.scalars(
        my_tips_query().options(selectinload(Tip.category), selectinload(Tip.duplicate_of))
        .order_by(Tip.created_at.desc()).limit(200)
    ).all()
    return render("informant/tips.html", tips=rows, questions=cases.last_word([t.id for t in rows], police=True))


@bp.get("/tips/<int:tip_id>")
@allow(Role.INFORMANT)
def tip(tip_id: int):
    """Show one of the informant's tips: its status and the private thread."""
    t = get_or_404(Tip, tip_id, is_tip_sender)
    return show_thread(t, answered=request.args.get("answered") == "1")


def take_answer(t: Tip, form: AnswerForm, *, author) -> tuple[bool, str | None, int]:
    """Keep the sender's answer in `form` (text, photos) on `t`: (sent, error, status). Commits when sent.

    Shared by informants and anonymous senders (`author` None).
    """
    if not form.validate_on_submit():
        return False, None, 422
    try:
        photos = [] if key_used(Message, form.client_key.data) else stored_photos()  # a retry: see tip_from_form
    except ValidationError as exc:
        return False, str(exc), 422
    try:
        cases.answer(t, author=author, body=form.body.data or "", photos=photos, photo_ids=photo_ids(),
                     client_key=form.client_key.data)
    except cases.CaseError as exc:
        discard(photos)
        db.session.rollback()
        renew_key(form, exc)
        return False, exc.message, exc.status
    db.session.commit()
    discard_unattached(photos)  # a retry answered with the first send keeps no second copy
    return True, None, 200


@bp.post("/tips/<int:tip_id>/messages")
@allow(Role.INFORMANT)
def answer(tip_id: int):
    """Answer the officer in the tip's thread (text, photos)."""
    t = get_or_404(Tip, tip_id, is_tip_sender)
    form = AnswerForm()
    sent, error, status = take_answer(t, form, author=current_user)
    if sent:
        if wants_fragment():
            return show_thread(t, answered=True)
        return redirect_to("informant.tip", tip_id=t.id, answered=1, _anchor="thread")
    return show_thread(t, form, error=error, status=status)
