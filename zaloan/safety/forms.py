"""The informant's PIN form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import ValidationError

from ..formkit import clean_text
from .lock import DEFAULT_IDLE, IDLE_CHOICES, NAME_MAX, gives_away, valid_pin


class PinForm(FlaskForm):
    pin = PasswordField(_l("New PIN (4 to 6 digits)"),
                        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6})
    again = PasswordField(_l("The same PIN again"),
                          render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6})
    idle = RadioField(_l("Ask for the PIN after the phone is left for"), coerce=int, default=DEFAULT_IDLE,
                      choices=[(m, _l("%(num)s minutes", num=m)) for m in IDLE_CHOICES])

    def validate_pin(self, field):
        if not valid_pin(field.data):
            raise ValidationError(_l("The PIN must be 4 to 6 digits."))

    def validate_again(self, field):
        if field.data != self.pin.data:
            raise ValidationError(_l("The two PINs are not the same. Please type them again."))


class NotebookNameForm(FlaskForm):
    """The commander's choice of the name informants' phones show for the app."""

    name = StringField(_l("Name of the app on informants' phones"), filters=[clean_text],
                       render_kw={"maxlength": NAME_MAX, "autocomplete": "off"})

    def validate_name(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > NAME_MAX:
            raise ValidationError(_l("Please use at most %(max)s letters.", max=NAME_MAX))
        if gives_away(field.data):
            raise ValidationError(_l("Choose an everyday name, with no word of the police or of this app."))
