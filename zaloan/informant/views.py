"""The sender's pages: send a tip, see their own tips, answer the officer."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import cases, commendations, communes, conversations
from ..db_setup import reads_only
from ..errors import answers_json
from ..extensions import db
from ..formkit import local_now
from ..models import Role, Tip, TipStatus
from ..permissions import allow, get_or_404, is_tip_sender, sent_tips_for
from ..sending import (
    AnswerForm,
    TipForm,
    fill_choices,
    photo_upload_response,
    place_field,
    spent_message_keys,
    take_answer,
    tip_from_form,
)
from ..web import redirect_to, render, wants_fragment
from . import bp


def my_tips_query():
    return select(Tip).where(sent_tips_for(current_user))


def spent_tip_keys() -> list[str]:
    """Return the keys of the informant's latest tips: a draft still holding one of them was sent."""
    return list(
        db.session.scalars(
            my_tips_query().with_only_columns(Tip.client_key).where(Tip.client_key.is_not(None))
            .order_by(Tip.id.desc()).limit(5)
        )
    )


def show_thread(t: Tip, form: AnswerForm | None = None, error: str | None = None, status: int = 200,
                answered: bool = False):
    """Render the tip with its thread (the page), or the thread alone for htmx."""
    sent = request.args.get("sent") == "1"
    return render("informant/tip.html", "informant/_thread.html", tip=t, form=form or AnswerForm(formdata=None), error=error,
                  status=status, sent=sent, answered=answered, spent=spent_message_keys(t, current_user.id),
                  duty=communes.duty_phone(t.commune_id) if sent else "")


def preselect(form: TipForm) -> None:
    """Start from the informant's own watch point: one less thing to choose."""
    posts = current_user.informant.posts if current_user.informant else []
    if posts and request.method == "GET":
        form.watch_point_id.data = posts[0].watch_point_id
        form.village_id.data = posts[0].watch_point.village_id
    if request.method == "GET" and not form.occurred_at.data:
        form.occurred_at.data = local_now()


@bp.get("/")
@allow(Role.INFORMANT)
@reads_only
def home():
    """Show two big buttons: send a tip, my tips."""
    counts = dict(
        db.session.execute(
            select(Tip.status, func.count(Tip.id)).where(sent_tips_for(current_user)).group_by(Tip.status)
        ).all()
    )
    open_ids = db.session.scalars(
        my_tips_query().with_only_columns(Tip.id).where(Tip.status.in_(TipStatus.OPEN))
    ).all()
    return render("informant/home.html", informant=current_user.informant, total=sum(counts.values()),
                  open_count=sum(n for s, n in counts.items() if s in TipStatus.OPEN),
                  questions=len(cases.last_word(open_ids, police=True)),
                  recognitions=commendations.recognitions_of(current_user),
                  channel_news=bool(current_user.informant and conversations.waiting_for(
                      current_user, [current_user.informant.id])))


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
@answers_json
def upload_photo():
    """Take one photo on its own (the page's script sends photos one by one)."""
    return photo_upload_response()


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
