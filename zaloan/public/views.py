"""Anonymous tips: send without an account, follow up with the receipt code and a secret key.

Nothing identifies the sender: no account, no client address, no user agent.
Only a hash of the follow-up key is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from datetime import timedelta
from types import SimpleNamespace

from flask import abort, current_app, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .. import announcements, cases, communes
from ..images import send_photo
from ..accounts import CODE_ALPHABET, clean_code, client_key, note_public, public_wait
from ..extensions import db
from ..formkit import local_now
from ..sending import AnswerForm, TipForm, fill_choices, key_used, place_field, spent_message_keys, take_answer, tip_from_form
from ..models import Announcement, Attachment, Audience, Message, Tip, Unit, UnitKind, utcnow
from ..permissions import PUBLIC, allow
from ..web import photo_version, redirect_to, render, render_in_main, wants_fragment
from . import bp


class LookupForm(FlaskForm):
    code = StringField(_l("Tip code"), validators=[DataRequired(_l("Please enter the tip code.")), Length(max=20)])
    key = StringField(_l("Follow-up key"), validators=[DataRequired(_l("Please enter the follow-up key.")),
                                                        Length(max=40)])


def the_commune(slug: str | None) -> Unit | None:
    """Return the commune the anonymous tip goes to: the one of its address (/x/<slug>/report/).

    At the plain /report/ address, a deployment of one commune answers for it
    (the address printed before communes had their own); with several, None:
    the page lists them to choose from. An unknown address is a 404.
    """
    if slug is not None:
        commune = communes.by_slug(slug)
        if commune is None:
            abort(404)
        return commune
    found = db.session.scalars(select(Unit).where(Unit.kind == UnitKind.COMMUNE).order_by(Unit.id).limit(2)).all()
    if not found:
        abort(404)
    return found[0] if len(found) == 1 else None


def choose_commune():
    """List every commune's own address, by province (and district), for the plain /report/ address."""
    rows = db.session.scalars(select(Unit).where(Unit.kind == UnitKind.COMMUNE, Unit.slug.is_not(None))).all()
    groups: dict[str, list[Unit]] = {}
    for commune in rows:
        above = " · ".join(u.name for u in reversed(commune.ancestors()))
        groups.setdefault(above, []).append(commune)
    groups = {k: sorted(v, key=lambda c: c.name) for k, v in sorted(groups.items())}
    return render("public/communes.html", groups=groups)


def commune_address(commune: Unit, endpoint: str = "public.new") -> str:
    """Return the commune's own address for `endpoint` (its plain one if it has no address part yet)."""
    return url_for(endpoint, slug=commune.slug) if commune.slug else url_for(endpoint)


def minutes(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds() / 60))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def follow_up_key(client_key: str) -> str:
    """Return the follow-up key of the tip sent with this form key (8 letters and digits).

    It is derived from the form's key with the app's secret, so a retried
    send (the first answer lost on a weak connection) shows the same key
    again; only its hash is stored.
    """
    secret = current_app.secret_key
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    number = int.from_bytes(hmac.new(secret, b"follow-up:" + client_key.encode(), hashlib.sha256).digest(), "big")
    out = []
    for _ in range(8):
        number, index = divmod(number, len(CODE_ALPHABET))
        out.append(CODE_ALPHABET[index])
    return "".join(out)


def spent_tip_keys() -> list[str]:
    """Return the form keys of the tips this browser sent (a draft still holding one of them was sent)."""
    ids = session.get("anon_tips", [])
    if not ids:
        return []
    return list(db.session.scalars(select(Tip.client_key).where(Tip.id.in_(ids), Tip.client_key.is_not(None))))


def allowed_tip(tip_id: int) -> Tip:
    """Return an anonymous tip this browser has unlocked with its code and key, else 404."""
    if tip_id not in session.get("anon_tips", []):
        abort(404)
    tip = db.session.get(Tip, tip_id)
    if tip is None or tip.informant_id is not None:
        abort(404)
    return tip


def unlock(tip: Tip) -> None:
    tips = [t for t in session.get("anon_tips", []) if t != tip.id][-9:]
    session["anon_tips"] = tips + [tip.id]


@bp.route("/report/", methods=["GET", "POST"], defaults={"slug": None})
@bp.route("/x/<slug>/report/", methods=["GET", "POST"])
@allow(PUBLIC)
def new(slug: str | None):
    """Send a tip without an account, to the commune of the address."""
    commune = the_commune(slug)
    if commune is None:
        return choose_commune()
    form = TipForm()
    fill_choices(form, commune)
    if request.method == "GET":
        form.occurred_at.data = local_now()
    error = None
    if form.validate_on_submit():
        key = follow_up_key(form.client_key.data)
        client = client_key()
        # A send retried after a lost answer is the same tip: it never counts twice, nor is it refused.
        retry = db.session.scalar(select(Tip.id).where(Tip.client_key == form.client_key.data)) is not None
        wait = timedelta(0) if retry else public_wait("tip", client)
        if wait:
            error = cases.CaseError(_("Many tips were sent from this connection in the last hour. Please send again "
                                      "in %(n)s minutes: what you wrote is kept. If it is urgent, call the commune "
                                      "police.", n=minutes(wait)), 429)
            tip = None
        else:
            tip, error = tip_from_form(form, commune, informant=None, uploader=None, anon_secret=key)
            if isinstance(error, cases.CaseError) and not retry and request.files.getlist("photos"):
                # Refused after its photos were decoded (cases.submit_tip): counted like a tip sent, or
                # such sends would be a way to have the server decode photos without end.
                note_public("tip", client)
                db.session.commit()
        if tip is not None:
            if not retry:
                note_public("tip", client)
            db.session.commit()
            unlock(tip)
            if tip.anon_secret_hash != key_hash(key):
                key = None  # the app's secret changed since the first send: that key cannot be shown again
            duty = communes.duty_phone(commune.id)
            if wants_fragment():
                # The form swaps itself; the receipt is a page of its own (a redirect would lose the key).
                return render_in_main("public/sent.html", tip=tip, key=key, duty=duty)
            return render("public/sent.html", tip=tip, key=key, duty=duty)
    status = getattr(error, "status", 422) if (error or form.errors) else 200
    return render("public/new.html", "informant/_tip_form.html", form=form, error=getattr(error, "message", error),
                  action=request.path, upload_url="", draft="anon", commune=commune, status=status,
                  spent=spent_tip_keys(), places_url=commune_address(commune, "public.places"),
                  duty=communes.duty_phone(commune.id), news=announcements.public_of(commune.id, limit=3))


@bp.get("/report/places", defaults={"slug": None})
@bp.get("/x/<slug>/report/places")
@allow(PUBLIC)
def places(slug: str | None):
    """Return the anonymous form's place field narrowed to the chosen village (names the form already shows)."""
    commune = the_commune(slug)
    if commune is None:
        abort(404)
    return place_field(commune)


@bp.route("/report/status", methods=["GET", "POST"])
@allow(PUBLIC)
def lookup():
    """Look up an anonymous tip with its code and follow-up key."""
    form = LookupForm()
    error = None
    if form.validate_on_submit():
        client = client_key()
        wait = public_wait("lookup", client)
        if wait:
            error = _("Too many wrong codes were tried from this connection. Please try again in %(n)s minutes.",
                      n=minutes(wait))
            return render("public/lookup.html", form=form, error=error, status=429)
        tip = db.session.scalar(select(Tip).where(Tip.code == clean_code(form.code.data)))
        ok = (
            tip is not None
            and tip.informant_id is None
            and tip.anon_secret_hash is not None
            and hmac.compare_digest(tip.anon_secret_hash, key_hash(clean_code(form.key.data)))
        )
        if ok:
            unlock(tip)
            return redirect_to("public.status", tip_id=tip.id)
        note_public("lookup", client)
        db.session.commit()
        error = _("No tip matches this code and key. Please check them.")
    return render("public/lookup.html", form=form, error=error, status=404 if error else (422 if form.errors else 200))


def show_status(tip: Tip, form: AnswerForm | None = None, error: str | None = None, status: int = 200,
                answered: bool = False):
    """Render the anonymous tip's status with its thread (the page), or the thread alone for htmx."""
    return render("public/status.html", "informant/_thread.html", tip=tip, form=form or AnswerForm(formdata=None), error=error,
                  status=status, answered=answered, spent=spent_message_keys(tip, None), upload_url="",
                  thread_action=url_for("public.answer", tip_id=tip.id),
                  new_tip_url=commune_address(db.session.get(Unit, tip.commune_id)),
                  photo_url=lambda a, thumb=False: url_for("public.photo_thumb" if thumb else "public.photo",
                                                           tip_id=tip.id, attachment_id=a.id, v=photo_version(a)))


def sent_photo(tip: Tip, attachment_id: int) -> Attachment:
    """Return a photo the anonymous sender sent in `tip`'s thread; 404 for any other.

    Like the tip's text, the photos sent with the tip itself are not shown
    back: a code and key that fall into other hands show only the thread.
    """
    photo = db.session.get(Attachment, attachment_id)
    if (
        photo is None
        or photo.uploader_id is not None  # only what came without an account: never the police's
        or photo.assignment_id is not None  # never a verifier's report photo
        or photo.message_id is None
        or photo.message.tip_id != tip.id
    ):
        abort(404)
    return photo


@bp.get("/report/status/<int:tip_id>/photos/<int:attachment_id>")
@allow(PUBLIC)
def photo(tip_id: int, attachment_id: int):
    """A photo the anonymous sender sent, for the browser that unlocked the tip."""
    return send_photo(sent_photo(allowed_tip(tip_id), attachment_id))


@bp.get("/report/status/<int:tip_id>/photos/<int:attachment_id>/thumb")
@allow(PUBLIC)
def photo_thumb(tip_id: int, attachment_id: int):
    """Send the thumbnail of a photo the anonymous sender sent, to the browser that unlocked the tip."""
    return send_photo(sent_photo(allowed_tip(tip_id), attachment_id), thumbnail=True)


@bp.get("/report/status/<int:tip_id>")
@allow(PUBLIC)
def status(tip_id: int):
    """Show an anonymous tip's status and its thread."""
    return show_status(allowed_tip(tip_id), answered=request.args.get("answered") == "1")


@bp.post("/report/status/<int:tip_id>/messages")
@allow(PUBLIC)
def answer(tip_id: int):
    """Answer the officer's question on an anonymous tip (text, photos, or both)."""
    tip = allowed_tip(tip_id)
    form = AnswerForm()
    # Counted per connection like anonymous tips, before any photo is decoded. Every send the form
    # accepts counts, kept or refused (a closed tip, a reused key): its photos cost as much either way.
    # A retry of an answer already kept is that answer: never counted, never refused.
    if form.validate_on_submit() and not key_used(Message, form.client_key.data):
        client = client_key()
        wait = public_wait("answer", client)
        if wait:
            error = _("Many answers were sent from this connection in the last hour. Please send again in "
                      "%(n)s minutes: what you wrote is kept. If it is urgent, call the commune police.",
                      n=minutes(wait))
            return show_status(tip, form, error=error, status=429)
        note_public("answer", client)
        db.session.commit()
    sent, error, status = take_answer(tip, form, author=None)
    if sent:
        if wants_fragment():
            return show_status(tip, answered=True)
        return redirect_to("public.status", tip_id=tip.id, answered=1, _anchor="thread")
    return show_status(tip, form, error=error, status=status)


# --- The commune's public page: its public announcements, how to send a tip, whom to call ------------


@bp.get("/x/<slug>/")
@allow(PUBLIC)
def commune_page(slug: str):
    """Show the commune's public page: its public announcements, how to send a tip without an account, 113."""
    commune = the_commune(slug)
    return render("public/commune.html", commune=commune, news=announcements.public_of(commune.id),
                  duty=communes.duty_phone(commune.id))


def public_announcement(slug: str, announcement_id: int) -> Announcement:
    """Return a public announcement of the commune of the address, shown now; 404 for any other."""
    commune = the_commune(slug)
    a = db.session.get(Announcement, announcement_id)
    if (a is None or a.commune_id != commune.id or a.audience != Audience.PUBLIC or a.withdrawn_at is not None
            or a.shows_from > utcnow() or not a.photo_name):
        abort(404)
    return a


@bp.get("/x/<slug>/news/<int:announcement_id>/photo")
@allow(PUBLIC)
def news_photo(slug: str, announcement_id: int):
    """Send the photo of a public announcement (or its thumbnail with ?thumb=1) to anyone."""
    a = public_announcement(slug, announcement_id)
    photo = SimpleNamespace(storage_name=a.photo_name, sha256=a.photo_sha256, created_at=a.created_at)
    return send_photo(photo, thumbnail=request.args.get("thumb") == "1")
