"""The standing conversation of each informant with the commune police: the list, the page, the sends, tips.

The informant reaches their own conversation at /channel/me; the handler
officer and the commander reach an informant's at /channel/<informant id>.
Anyone else (another officer, a verifier, an observer, another commune)
gets 404 from `can_use_channel`.
"""
from __future__ import annotations

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import ValidationError

from .. import cases, conversations
from ..extensions import db
from ..formkit import LOCAL, renew_key, to_utc
from ..inputs import to_int
from ..models import ChannelMessage, Informant, Role, Tip, Unit, UnitKind, WatchPoint
from ..permissions import allow, can_use_channel, get_or_404
from ..sending import TipForm, fill_choices, place_field, tip_from_form
from ..web import redirect_to, render, wants_fragment
from . import bp
from .forms import MessageForm, RequestForm

POLICE = (Role.OFFICER, Role.COMMANDER)
REQ = "req"  # the request form's fields are named req-body, req-due_at...: apart from the message box's


def own_informant() -> Informant:
    inf = current_user.informant
    if inf is None or not can_use_channel(current_user, inf):
        abort(404)
    return inf


def load_message(inf: Informant, message_id) -> ChannelMessage:
    msg = db.session.get(ChannelMessage, to_int(message_id) or 0)
    if msg is None or msg.informant_id != inf.id:
        abort(404)
    return msg


def point_choices(form: RequestForm, commune_id: int) -> None:
    """Offer the commune's active watch points, by village."""
    points = db.session.execute(
        select(WatchPoint.id, WatchPoint.name, Unit.name).join(Unit, Unit.id == WatchPoint.village_id)
        .where(Unit.parent_id == commune_id, Unit.kind == UnitKind.VILLAGE, WatchPoint.active.is_(True))
        .order_by(Unit.name, WatchPoint.name)
    ).all()
    form.watch_point_id.choices = [(0, _("No listed place"))] + [(i, f"{n} ({v})") for i, n, v in points]


def urls(inf: Informant) -> dict:
    """The addresses the conversation's forms post to, from the viewer's side."""
    if current_user.role == Role.INFORMANT:
        return {"write": url_for("channel.write"), "self": url_for("channel.mine")}
    return {"write": url_for("channel.police_write", informant_id=inf.id),
            "request": url_for("channel.ask", informant_id=inf.id),
            "self": url_for("channel.show", informant_id=inf.id)}


def tip_url(msg: ChannelMessage) -> str:
    if current_user.role == Role.INFORMANT:
        return url_for("channel.my_tip", message_id=msg.id)
    return url_for("channel.make_tip", informant_id=msg.informant_id, message_id=msg.id)


def show_conversation(inf: Informant, form: MessageForm | None = None, req: RequestForm | None = None,
                      error: str | None = None, status: int = 200, sent: bool = False):
    """Render the conversation page, or the conversation alone for htmx."""
    police = current_user.role in POLICE
    messages = conversations.messages_of(inf)
    form = form or MessageForm(formdata=None)
    reply = None
    wanted = to_int(form.reply_to.data) or to_int(request.args.get("reply"))
    if wanted:
        reply = next((m for m in messages if m.id == wanted and m.is_request), None)
        form.reply_to.data = str(reply.id) if reply else ""
    if police:
        req = req or RequestForm(formdata=None, prefix=REQ)
        point_choices(req, inf.commune_id)
    answered = {m.reply_to_id for m in messages if m.reply_to_id}
    # A draft on the phone still holding the key of a message that arrived is dropped, not sent again.
    spent = [m.client_key for m in messages if m.author_id == current_user.id and m.client_key][-5:]
    return render("channel/show.html", "channel/_conversation.html", informant=inf, messages=messages, form=form,
                  req=req, error=error, status=status, sent=sent, police=police, reply=reply, urls=urls(inf),
                  answered=answered, spent=spent, tip_url=tip_url, may_become_tip=conversations.may_become_tip)


@bp.get("/")
@allow(Role.OFFICER, Role.COMMANDER)
def index():
    """List the conversations with the informants the officer handles (the commander: every one)."""
    return render("channel/index.html", rows=conversations.overview(current_user))


@bp.get("/me")
@allow(Role.INFORMANT)
def mine():
    """Show the informant's own conversation with the commune police."""
    return show_conversation(own_informant(), sent=request.args.get("sent") == "1")


@bp.get("/<int:informant_id>")
@allow(Role.OFFICER, Role.COMMANDER)
def show(informant_id: int):
    """Show an informant's conversation to their handler officer or the commander."""
    return show_conversation(get_or_404(Informant, informant_id, can_use_channel))


def take_message(inf: Informant, self_endpoint: str, **values):
    form = MessageForm()
    if not form.validate_on_submit():
        return show_conversation(inf, form, status=422)
    reply = None
    if form.reply_to.data:
        reply = load_message(inf, form.reply_to.data)
    try:
        conversations.send(inf, by=current_user, body=form.body.data or "", reply_to=reply,
                           client_key=form.client_key.data)
    except cases.CaseError as exc:
        db.session.rollback()
        renew_key(form, exc)
        if exc.field == "body":
            form.body.errors = [exc.message]
            return show_conversation(inf, form, status=exc.status)
        return show_conversation(inf, form, error=exc.message, status=exc.status)
    db.session.commit()
    if wants_fragment():
        return show_conversation(inf, sent=True)
    return redirect_to(self_endpoint, sent=1, _anchor="conversation", **values)


@bp.post("/me/messages")
@allow(Role.INFORMANT)
def write():
    """The informant writes to the commune police (or answers a request)."""
    return take_message(own_informant(), "channel.mine")


@bp.post("/<int:informant_id>/messages")
@allow(Role.OFFICER, Role.COMMANDER)
def police_write(informant_id: int):
    """The handler officer or the commander writes to the informant."""
    inf = get_or_404(Informant, informant_id, can_use_channel)
    return take_message(inf, "channel.show", informant_id=inf.id)


@bp.post("/<int:informant_id>/requests")
@allow(Role.OFFICER, Role.COMMANDER)
def ask(informant_id: int):
    """Ask the informant to keep an eye on something: a place, a time window, a due time (Vietnam time)."""
    inf = get_or_404(Informant, informant_id, can_use_channel)
    form = RequestForm(prefix=REQ)
    point_choices(form, inf.commune_id)
    if not form.validate_on_submit():
        return show_conversation(inf, req=form, status=422)
    try:
        times = {name: to_utc(getattr(form, name).data) for name in ("window_from", "window_to", "due_at")}
    except ValidationError as exc:
        form.due_at.errors = [str(exc)]
        return show_conversation(inf, req=form, status=422)
    point = db.session.get(WatchPoint, form.watch_point_id.data) if form.watch_point_id.data else None
    try:
        conversations.ask(inf, by=current_user, body=form.body.data or "", watch_point=point,
                          place_text=form.place_text.data or "", client_key=form.client_key.data, **times)
    except cases.CaseError as exc:
        db.session.rollback()
        renew_key(form, exc)
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors = [exc.message]
            return show_conversation(inf, req=form, status=exc.status)
        return show_conversation(inf, req=form, error=exc.message, status=exc.status)
    db.session.commit()
    if wants_fragment():
        return show_conversation(inf, sent=True)
    return redirect_to("channel.show", informant_id=inf.id, sent=1, _anchor="conversation")


# --- A message becomes a tip -----------------------------------------------------------------------------


def prefill(form: TipForm, msg: ChannelMessage) -> None:
    """Start the tip form from the message: its words, the request's place, the time it was written."""
    form.body.data = msg.body
    asked = msg.reply_to
    if asked is not None and asked.watch_point is not None:
        form.watch_point_id.data = asked.watch_point_id
        form.village_id.data = asked.watch_point.village_id
    if asked is not None and asked.place_text:
        form.place_text.data = asked.place_text
    from datetime import timezone

    form.occurred_at.data = msg.created_at.replace(tzinfo=timezone.utc).astimezone(LOCAL).replace(
        tzinfo=None, second=0, microsecond=0)


def tip_page(tip: Tip):
    if current_user.role == Role.INFORMANT:
        return redirect_to("informant.tip", tip_id=tip.id)
    return redirect_to("officer.tip", tip_id=tip.id)


def message_to_tip(inf: Informant, msg: ChannelMessage):
    """The pre-filled tip form (GET), and the tip made once through the normal send (POST)."""
    if not conversations.may_become_tip(msg):
        abort(404)
    if msg.tip is not None:
        return tip_page(msg.tip)
    form = TipForm()
    fill_choices(form, inf.user.commune if inf.user else db.session.get(Unit, inf.commune_id))
    if request.method == "GET":
        prefill(form, msg)
    error = None
    if form.validate_on_submit():
        existing = conversations.lock_for_tip(msg)
        if existing is not None:
            return tip_page(existing)  # a second press, from either side: the first tip
        tip, error = tip_from_form(form, db.session.get(Unit, inf.commune_id), informant=inf,
                                   uploader=current_user)
        if tip is not None:
            conversations.became_tip(msg, tip, by=current_user)
            db.session.commit()
            return tip_page(tip)
    status = getattr(error, "status", 422) if (error or form.errors) else 200
    return render("channel/tip.html", "informant/_tip_form.html", form=form, message=msg, informant=inf,
                  error=getattr(error, "message", error), status=status, action=tip_url(msg),
                  places_url=url_for("channel.places"), upload_url="",
                  draft=f"chan-tip-{msg.id}", spent=[])


@bp.route("/me/messages/<int:message_id>/tip", methods=["GET", "POST"])
@allow(Role.INFORMANT)
def my_tip(message_id: int):
    """Turn one of the informant's own messages into a tip (a pre-filled tip form)."""
    inf = own_informant()
    return message_to_tip(inf, load_message(inf, message_id))


@bp.route("/<int:informant_id>/messages/<int:message_id>/tip", methods=["GET", "POST"])
@allow(Role.OFFICER, Role.COMMANDER)
def make_tip(informant_id: int, message_id: int):
    """The handler officer or the commander turns the informant's message into the informant's tip."""
    inf = get_or_404(Informant, informant_id, can_use_channel)
    return message_to_tip(inf, load_message(inf, message_id))


@bp.get("/places")
@allow(Role.INFORMANT, Role.OFFICER, Role.COMMANDER)
def places():
    """Return the tip form's place field narrowed to the chosen village (the village chooser)."""
    return place_field(current_user.commune)
