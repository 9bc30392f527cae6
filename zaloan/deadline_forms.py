"""Forms of the deadlines: an extension of a crime report's deadline, a category's limit, the commune's settings.

Used by the officer's tip page, the categories page and the commander's settings (zaloan.deadlines does the work).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, StringField, TextAreaField
from wtforms.validators import Length, StopValidation
from wtforms.widgets import NumberInput

from . import deadlines
from .formkit import ClientKeyField, clean_text
from .inputs import to_int


class WholeNumberField(Field):
    """A whole number from `low` to `high`; anything else (empty, letters, 1.5) gets `message`."""

    def __init__(self, label=None, validators=None, *, low: int, high: int, message, **kwargs):
        super().__init__(label, validators, widget=NumberInput(min=low, max=high, step=1), **kwargs)
        self.low, self.high, self.message = low, high, message

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = to_int(raw, self.low, self.high)
        if self.data is None:
            raise ValueError(str(self.message))

    def pre_validate(self, form):
        # A form sent without this field at all (not even empty) is as wrong as a bad number.
        if self.data is None and not self.process_errors:
            raise StopValidation(str(self.message))


class ExtendForm(FlaskForm):
    """Extend a crime report's deadline: how many days, why, and who approved it."""

    # The upper bound here only stops nonsense; zaloan.deadlines refuses more than 2 months with its own words.
    days = WholeNumberField(_l("Extend by how many days"), low=1, high=1000,
                            message=_l("Please enter the number of days to extend by."))
    reason = TextAreaField(_l("Why the case needs more time"), filters=[clean_text], validators=[Length(max=1000)])
    authority = StringField(_l("Approved by"), filters=[clean_text], validators=[Length(max=200)])
    client_key = ClientKeyField()


class LimitForm(FlaskForm):
    """How long tips of one category may take: a crime report (20 days by law) or the commune's own days."""

    crime = BooleanField(_l("Crime report: 20 days (Criminal Procedure Code 2015, art. 147)"))
    days = WholeNumberField(_l("Otherwise, days to handle"), low=deadlines.MIN_DAYS, high=deadlines.MAX_DAYS,
                            message=_l("Please enter whole days from %(min)s to %(max)s.", min=deadlines.MIN_DAYS,
                                       max=deadlines.MAX_DAYS))


class DeadlineSettingsForm(FlaskForm):
    """When late work is escalated in the commune."""

    emergency_unread_minutes = WholeNumberField(
        _l("Minutes an emergency tip may wait unread before the commander and the other officers are told"),
        low=1, high=deadlines.MAX_EMERGENCY_MINUTES,
        message=_l("Please enter whole minutes from 1 to %(max)s.", max=deadlines.MAX_EMERGENCY_MINUTES))
    accept_hours = WholeNumberField(
        _l("Hours a verifier has to accept a task before being reminded"), low=1, high=deadlines.MAX_ACCEPT_HOURS,
        message=_l("Please enter whole hours from 1 to %(max)s.", max=deadlines.MAX_ACCEPT_HOURS))
