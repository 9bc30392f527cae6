"""Sending a tip or an answer from a form: shared by the informant's pages, the anonymous ones and the verifier's.

The forms, their choices, the checks of what was chosen, the photos that go
with a send and the answer to one photo sent on its own all live here, so the
blueprints that show them never import one another.
"""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from . import cases, images, voice
from .extensions import db
from .formkit import (
    PHOTO_PROBLEMS,
    ClientKeyField,
    LocalDateTimeField,
    check_past,
    discard,
    discard_unattached,
    photo_ids,
    renew_key,
    stored_photos,
)
from .inputs import arg_int
from .labels import URGENCIES
from .models import Category, Message, Tip, Unit, Urgency, WatchPoint
from .web import render


class TipForm(FlaskForm):
    """One screen: what, where, when, how urgent, photos."""

    category_id = RadioField(_l("What is it about?"), coerce=int,
                             validators=[InputRequired(_l("Please choose a type of incident."))])
    body = TextAreaField(_l("What happened? (you may leave it short)"), validators=[Length(max=5000)])
    village_id = SelectField(_l("Village"), coerce=int, validators=[Optional()])
    watch_point_id = SelectField(_l("Place"), coerce=int, validators=[Optional()])
    place_text = StringField(_l("Or describe the place"), validators=[Length(max=200)])
    occurred_at = LocalDateTimeField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    urgency = RadioField(_l("How urgent?"), coerce=int, default=Urgency.NORMAL,
                         choices=[(u, URGENCIES[u]) for u in (Urgency.EMERGENCY, Urgency.HIGH, Urgency.NORMAL, Urgency.LOW)],
                         validators=[InputRequired(_l("Please choose how urgent it is."))])
    client_key = ClientKeyField()


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Your answer"), validators=[Length(max=5000)])
    client_key = ClientKeyField()


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


def key_used(model, client_key: str | None) -> bool:
    """Say whether a `model` row was already made with this form key (the send is a retry)."""
    return bool(client_key) and db.session.scalar(select(model.id).where(model.client_key == client_key)) is not None


def tip_from_form(form: TipForm, commune: Unit, *, informant, uploader, anon_secret=None):
    """Validate the form's choices against the database and create the tip; return (tip, error)."""
    try:
        # An empty "When" stays None here: cases.submit_tip keeps the time of arrival,
        # but only what the sender typed goes into the send's fingerprint.
        when = check_past(form.occurred_at.data) if form.occurred_at.data else None
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
    retry = key_used(Tip, form.client_key.data)
    try:
        # A retried send is answered with the tip already kept (its photos are not part of its
        # fingerprint): decoding them again would only cost time and memory.
        photos = [] if retry else stored_photos()
    except ValidationError as exc:
        return None, str(exc)
    try:
        voices, spoken = sent_voices(uploader, retry=retry)
    except cases.CaseError as exc:
        discard(photos)
        return None, exc
    try:
        tip, created = cases.submit_tip(
            commune=commune, informant=informant, category=category, body=form.body.data or "",
            village=village, watch_point=point, place_text=form.place_text.data or "", occurred_at=when,
            urgency=form.urgency.data, photos=photos, photo_ids=photo_ids(), client_key=form.client_key.data,
            anon_secret=anon_secret, uploader=uploader,
        )
    except cases.CaseError as exc:
        discard(photos)
        voice.discard(voices)
        db.session.rollback()
        renew_key(form, exc)
        return None, exc
    if not created:
        discard(photos)
        voice.discard(voices)
    else:
        voice.join(spoken, voices, uploader, tip_id=tip.id)
    return tip, None


# A photo refused for what it is answers 422 (the page says "not sent"); the server's own trouble 5xx (try again).
PHOTO_STATUS = {"unavailable": 503, "disk_full": 507}


def sent_voices(uploader, *, retry: bool) -> tuple[list[voice.StoredVoice], list]:
    """Return the voice notes of a send: (decoded from the form's file field, sent before by the script).

    Decoded before the send's transaction begins; a retried send brings none (its notes are with the
    first one). Raise CaseError with the reason; nothing is left stored then.
    """
    if retry:
        return [], []
    try:
        stored = voice.form_notes()
    except voice.VoiceRejected as exc:
        raise cases.CaseError(exc.message, exc.status, field="voice") from None
    try:
        return stored, voice.own_unsent(uploader, voice.note_ids())
    except voice.VoiceError as exc:
        voice.discard(stored)
        raise cases.CaseError(exc.message, exc.status, field="voice") from None


def photo_upload_response():
    """Store one photo from `photo` with its `client_key`; answer JSON {"id": n} or an error."""
    key = request.form.get("client_key", "")
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return jsonify(error=str(PHOTO_PROBLEMS["empty"])), 422
    try:
        stored = images.store(upload.read(images.MAX_BYTES + 1))
    except images.ImageRejected as exc:
        return jsonify(error=str(PHOTO_PROBLEMS[exc.reason])), PHOTO_STATUS.get(exc.reason, 422)
    try:
        row = cases.upload_photo(current_user, stored, key if 8 <= len(key) <= 64 else None)
    except cases.CaseError as exc:
        discard([stored])
        return jsonify(error=exc.message), exc.status
    if row.storage_name != stored.storage_name:
        discard([stored])  # a retry: the first copy is kept
    db.session.commit()
    return jsonify(id=row.id)


def take_answer(t: Tip, form: AnswerForm, *, author) -> tuple[bool, str | None, int]:
    """Keep the sender's answer in `form` (text, photos) on `t`: (sent, error, status). Commits when sent.

    Shared by informants and anonymous senders (`author` None).
    """
    if not form.validate_on_submit():
        return False, None, 422
    retry = key_used(Message, form.client_key.data)
    try:
        photos = [] if retry else stored_photos()  # a retry: see tip_from_form
    except ValidationError as exc:
        return False, str(exc), 422
    try:
        voices, spoken = sent_voices(author, retry=retry)
    except cases.CaseError as exc:
        discard(photos)
        return False, exc.message, exc.status
    try:
        msg = cases.answer(t, author=author, body=form.body.data or "", photos=photos, photo_ids=photo_ids(),
                           client_key=form.client_key.data, voices=len(voices) + len(spoken))
    except cases.CaseError as exc:
        discard(photos)
        voice.discard(voices)
        db.session.rollback()
        renew_key(form, exc)
        return False, exc.message, exc.status
    if not retry:
        voice.join(spoken, voices, author, message_id=msg.id)
    db.session.commit()
    discard_unattached(photos)  # a retry answered with the first send keeps no second copy
    return True, None, 200
