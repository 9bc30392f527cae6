"""Form pieces shared by every blueprint: idempotency keys, local times, photos, WTForms' own words."""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import g, has_request_context, request
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, DateTimeLocalField, HiddenField, RadioField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from . import images
from .extensions import db
from .inputs import MAX_YEAR, MIN_YEAR, to_int
from .models import Attachment, utcnow
from .phones import PhoneError, normalize_phone

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

PHOTO_PROBLEMS = {
    "empty": _l("A photo was empty. Please choose it again."),
    "too_large": _l("A photo is too large (more than 10 MB)."),
    "not_an_image": _l("Only photos (JPEG, PNG or WebP) can be sent."),
    "too_many_pixels": _l("A photo is too large in size. Please send a smaller one."),
    "unavailable": _l("Photos cannot be saved right now. What you wrote is kept; please try again in a few minutes."),
    "disk_full": _l("The server is out of storage space, so photos cannot be saved now. What you wrote is kept: "
                    "send it without photos, or try again later."),
}


def new_key() -> str:
    """A form's one-time key; the keys a request made are noted (`g.keys_made`), so a page kept with its forms
    is served again with new ones (`kept.drawn_once`)."""
    key = secrets.token_urlsafe(16)
    if has_request_context():
        g.setdefault("keys_made", []).append(key)
    return key


def renew_key(form, exc) -> None:
    """Give the form a new key after its old one was refused as reused, so the next send is a new record."""
    from .cases import KeyReused

    if isinstance(exc, KeyReused):
        form.client_key.data = new_key()


class ClientKeyField(HiddenField):
    """A key made when the form is shown; a retried POST carries the same key."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", new_key)
        super().__init__(*args, **kwargs)

    def pre_validate(self, form):
        if not KEY_RE.match(self.data or ""):
            raise ValidationError(_l("The form is damaged. Please reload the page."))


class LocalDateTimeField(DateTimeLocalField):
    """A date and time on the phone's clock; a year outside MIN_YEAR..MAX_YEAR is refused on the field.

    Year 1 or 9999 parses, then overflows when turned into UTC or moved by a
    day: refusing it here keeps every later step safe.
    """

    bad_value_message = None  # what to say when the text is no date at all; a field may word it its own way

    def __init__(self, label=None, validators=None, format="%Y-%m-%dT%H:%M", **kwargs):
        super().__init__(label, validators, format=format, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(self.bad_value_message or _("Please enter a date and time, e.g. 21:30 28/11/2026."))) \
                from None
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            self.data = None
            raise ValueError(_("This date is not possible. Please check the year."))


class LocalDateField(DateField):
    """A day (year-month-day); text that is no date, or a year outside MIN_YEAR..MAX_YEAR, is refused on the field."""

    bad_value_message = None

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(self.bad_value_message or _("Please enter a date, e.g. 28/11/2026."))) from None
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            self.data = None
            raise ValueError(_("This date is not possible. Please check the year."))


def to_utc(local: datetime | None) -> datetime | None:
    """Return a wall-clock time in Asia/Ho_Chi_Minh as naive UTC (the stored form)."""
    if local is None:
        return None
    try:
        return local.replace(tzinfo=LOCAL).astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise ValidationError(_("This date is not possible. Please check the year.")) from None


def local_now() -> datetime:
    return datetime.now(LOCAL).replace(tzinfo=None, second=0, microsecond=0)


def check_past(value: datetime | None) -> datetime:
    """Return the UTC form of a 'when did it happen' field; refuse the future and the distant past."""
    when = to_utc(value) or utcnow()
    if when > utcnow() + timedelta(minutes=10):
        raise ValidationError(_("The time cannot be in the future."))
    if when < utcnow() - timedelta(days=366):
        raise ValidationError(_("The time is more than a year ago."))
    return when


def photo_ids() -> list[int]:
    """Return the ids of photos already sent one by one (by the page's script)."""
    ids = (to_int(raw) for raw in request.form.getlist("photo_ids")[:10])
    return [i for i in ids if i is not None]


def stored_photos(field_name: str = "photos", limit: int = 3) -> list[images.StoredImage]:
    """Clean and store the photos of a plain multipart form; raise ValidationError with a clear message.

    The whole request is bounded by MAX_CONTENT_LENGTH (config) before any of
    it is read. Every photo's header is checked before the first is decoded,
    so one refused photo costs no decoding of the others; a photo refused
    while decoding stops the rest and leaves no file behind.
    """
    files = [f for f in request.files.getlist(field_name) if f and f.filename]
    if len(files) > limit:
        raise ValidationError(_("At most %(n)s photos.", n=limit))
    stored = []
    try:
        uploads = []
        for f in files:
            uploads.append(f.read(images.MAX_BYTES + 1))
            images.check(uploads[-1])
        for data in uploads:
            stored.append(images.store(data))
    except images.ImageRejected as exc:
        discard(stored)
        raise ValidationError(str(PHOTO_PROBLEMS[exc.reason])) from None
    return stored


def discard(photos: list[images.StoredImage]) -> None:
    """Remove stored files of a request that did not create anything."""
    for p in photos:
        images.remove_stored(p.storage_name)


def discard_unattached(photos: list[images.StoredImage]) -> None:
    """After a commit, remove the files no attachment names (a retried send answered with the first one)."""
    if not photos:
        return
    names = [p.storage_name for p in photos]
    kept = set(db.session.scalars(select(Attachment.storage_name).where(Attachment.storage_name.in_(names))))
    discard([p for p in photos if p.storage_name not in kept])


# --- WTForms' own messages, in the user's language -------------------------------------------

class CatalogueTranslations:
    """Give WTForms' built-in messages ("Not a valid choice.") through the app's own catalogue.

    WTForms ships no Vietnamese; a junk value sent to a choice or a date field
    would otherwise answer in English.
    """

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


def _wtforms_messages():  # never called: names the WTForms messages the forms can show, for extraction
    return (
        _("This field is required."), _("Not a valid choice."), _("Invalid Choice: could not coerce."),
        _("Invalid choice(s): one or more data inputs could not be coerced."), _("Not a valid datetime value."),
        _("Invalid input."), _("Choices cannot be None."),
        _("Field must be between %(min)d and %(max)d characters long."),
        ngettext("'%(value)s' is not a valid choice for this field.",
                 "'%(value)s' are not valid choices for this field.", 1),
        ngettext("Field must be at least %(min)d character long.",
                 "Field must be at least %(min)d characters long.", 1),
        ngettext("Field cannot be longer than %(max)d character.",
                 "Field cannot be longer than %(max)d characters.", 1),
        ngettext("Field must be exactly %(max)d character long.",
                 "Field must be exactly %(max)d characters long.", 1),
    )


def init_forms(app) -> None:
    """Route WTForms' messages through the catalogue for every form of the app.

    Flask-WTF looks them up in WTForms' own catalogues, which have no
    Vietnamese. Every form shares FlaskForm.Meta, so setting it there covers
    the forms written later too.
    """

    def get_translations_of(meta, form):
        return CatalogueTranslations()

    FlaskForm.Meta.get_translations = get_translations_of


# --- Fields used by several blueprints' forms ------------------------------------------------


def clean_text(value):
    """Drop control characters (a NUL byte cannot even be stored) and outer spaces from typed text."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


class Pick(RadioField):
    """One of a few choices, as big radio buttons; a value not offered gets `message`."""

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        kwargs.setdefault("invalid_choice_message", message)
        kwargs.setdefault("invalid_value_message", message)
        super().__init__(label, validators, **kwargs)


class PickMany(SelectMultipleField):
    """Several of a few choices, as big checkboxes; a value not offered gets `message`."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        kwargs.setdefault("invalid_choice_message", message)
        kwargs.setdefault("invalid_value_message", message)
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form):
        # WTForms names the refused values in English; say it plainly instead.
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(str(self.invalid_choice_message)) from None


class PhoneField(StringField):
    """A phone number in any common Vietnamese form; `.data` becomes E.164."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.raw = self.data or ""

    def pre_validate(self, form):
        if not (self.data or "").strip():
            return
        try:
            self.data = normalize_phone(self.data)
        except PhoneError:
            raise ValidationError(_l("This is not a valid Vietnamese phone number.")) from None


# --- A form that creates an account ------------------------------------------------------------


def create_account_once(form, *, same, create, taken_message: str):
    """Create the account a create form describes, once; return (person, code).

    - (person, code): made now, committed; `code` is its one-time activation code.
    - (person, None): a retried send whose first answer was lost. The code was in
      that answer; issuing a fresh one would silently cancel a code the person may
      already hold, so the page says the account exists instead.
    - (None, None): refused, with the reason on `form.phone` (a bad number, a form key
      reused with other content, or a number that already has an account: then
      `taken_message`, the same words whoever has it, and the attempt is audited).
    """
    from flask_login import current_user
    from sqlalchemy.exc import IntegrityError

    from . import accounts
    from .cases import KeyReused

    taken = False
    try:
        person, created = accounts.create_user_once(form.client_key.data, same=same, create=create)
    except accounts.AccountError:
        taken = True
    except PhoneError:
        form.phone.errors.append(_("This is not a valid Vietnamese phone number."))
    except KeyReused as exc:
        renew_key(form, exc)
        form.phone.errors.append(exc.message)
    else:
        if not created:
            return person, None
        code = accounts.issue_activation(person, by=current_user)
        try:
            db.session.commit()
        except IntegrityError:
            taken = True  # the same phone was added a moment ago by someone else
        else:
            return person, code
    db.session.rollback()
    if taken:
        form.phone.errors.append(taken_message)
        accounts.note_taken_phone(form.phone.data, by=current_user)
        db.session.commit()
    return None, None
