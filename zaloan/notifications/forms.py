"""The form of a person's ways of being told of something new."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from datetime import time

from wtforms import BooleanField, Field, StringField
from wtforms.validators import Length, ValidationError
from wtforms.widgets import TimeInput

from ..formkit import clean_text

TIME_RE = re.compile(r"^(\d{1,2})(?:[:.hHgG](\d{2})?(?::\d{2})?)?$")


class HourField(Field):
    """An optional time of day: '22:00', '22h', '6' (24-hour clock), a time picker on phones."""

    widget = TimeInput()
    message = _l("Please enter a time such as 20:00.")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:%H:%M}" if self.data else ""

    def process_formdata(self, valuelist):
        raw = "".join((valuelist[0] if valuelist else "").split())
        self.data = None
        if not raw:
            return
        m = TIME_RE.match(raw)
        hour, minute = (int(m.group(1)), int(m.group(2) or 0)) if m else (99, 99)
        if hour > 23 or minute > 59:
            raise ValueError(str(self.message))
        self.data = time(hour, minute)


EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class NotifySettingsForm(FlaskForm):
    sms_on = BooleanField(_l("SMS to my phone number"))
    email_on = BooleanField(_l("Email"))
    email = StringField(_l("Email address (optional)"), filters=[clean_text],
                        validators=[Length(max=120, message=_l("This email address is too long."))])
    push_on = BooleanField(_l("A notice on this phone (when turned on below)"))
    quiet_from = HourField(_l("Quiet from"))
    quiet_to = HourField(_l("Quiet until"))

    def validate_email(self, field):
        if field.data and not EMAIL_RE.match(field.data):
            raise ValidationError(_l("Please enter an email address such as ten@example.vn."))

    def validate_quiet_to(self, field):
        if (self.quiet_from.data is None) != (field.data is None):
            raise ValidationError(_l("Give both times, or neither for no quiet hours."))
        if field.data is not None and field.data == self.quiet_from.data:
            raise ValidationError(_l("The two times must differ."))
