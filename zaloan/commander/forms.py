"""The commander's forms: the commune's settings."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import DateInput, NumberInput

from ..inputs import to_int
from ..formkit import clean_text
from ..phones import PhoneError, display_phone, normalize_phone

MAX_DUE_HOURS = 720  # thirty days


class HoursField(Field):
    """A whole number of hours, 1 to 720; anything else gets plain words."""

    widget = NumberInput(min=1, max=MAX_DUE_HOURS, step=1)
    message = _l("Please enter whole hours from 1 to %(max)s.", max=MAX_DUE_HOURS)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        hours = to_int(raw, 1, MAX_DUE_HOURS)
        if hours is None:
            raise ValueError(str(self.message))
        self.data = hours


class MonthsField(HoursField):
    """A whole number of months, 1 to 120 (how long the content of a closed tip is kept)."""

    widget = NumberInput(min=1, max=120, step=1)
    message = _l("Please enter whole months from 1 to %(max)s.", max=120)

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist:
            return  # a form without the field (an older page) leaves the time as it is
        months = to_int(valuelist[0].strip(), 1, 120)
        if months is None:
            raise ValueError(str(self.message))
        self.data = months


class SettingsForm(FlaskForm):
    duty_phone = StringField(_l("On-duty phone number of the commune police (optional)"), filters=[clean_text])
    due_hours_emergency = HoursField(_l("Emergency, happening now"))
    due_hours_high = HoursField(_l("Urgent"))
    due_hours_normal = HoursField(_l("Normal"))
    due_hours_low = HoursField(_l("Not urgent"))
    retention_months = MonthsField(_l("Months after closing"))

    def validate_duty_phone(self, field):
        """Keep the number in the form people read (0205 3881 234); empty means none."""
        if not field.data:
            field.data = ""
            return
        try:
            field.data = display_phone(normalize_phone(field.data))
        except PhoneError:
            raise ValidationError(_l("This is not a Vietnamese phone number. Example: 0205 3881 234.")) from None


class RequireTwoStepForm(FlaskForm):
    """The commune's requirement: officers and the commander sign in with a second step."""

    require = BooleanField(_l("Officers and the commander must use two-step login"))


# --- The commune report's settings ----------------------------------------------------------------

MAX_OLD_OPEN_DAYS = 365


class DayField(Field):
    """A day typed as 28/11/2026 or chosen in the date picker (2026-11-28); empty means none."""

    widget = DateInput()
    message = _l("Please enter a day such as 28/11/2026.")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist):
        from ..reports import parse_day

        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if raw:
            day = parse_day(raw)
            if day is None:
                raise ValueError(str(self.message))
            self.data = day


class DaysField(HoursField):
    """A whole number of days, 1 to 365."""

    widget = NumberInput(min=1, max=MAX_OLD_OPEN_DAYS, step=1)
    message = _l("Please enter whole days from 1 to %(max)s.", max=MAX_OLD_OPEN_DAYS)

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        days = to_int(raw, 1, MAX_OLD_OPEN_DAYS)
        if days is None:
            raise ValueError(str(self.message))
        self.data = days


class ReportSettingsForm(FlaskForm):
    """When the model started in the commune, and when an open tip counts as old, for the report."""

    launched_on = DayField(_l("Day the model started in the commune"))
    old_open_days = DaysField(_l("An open tip counts as old after (days)"))

    def validate_old_open_days(self, field):
        if field.data is None:  # a form sent without the field at all
            raise ValidationError(DaysField.message)

    def validate_launched_on(self, field):
        from ..models import utcnow

        if field.data is not None and field.data > utcnow().date():
            raise ValidationError(_l("This day is still to come."))
