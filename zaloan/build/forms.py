"""The village survey's form: counts (whole numbers, 0 to 9999), short notes, the assessment."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, TextAreaField
from wtforms.validators import Length, ValidationError
from wtforms.widgets import NumberInput

from .. import surveys
from ..formkit import ClientKeyField, Pick, clean_text


class CountField(Field):
    """A count: empty is 0; anything but a whole number from 0 to 9999 is refused in plain words."""

    widget = NumberInput(min=0, max=surveys.MAX_COUNT, step=1)
    message = _l("Enter a whole number from 0 to %(max)s.", max=surveys.MAX_COUNT)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist):
        self.data = 0
        self._bad = False
        if valuelist:
            text = "".join((valuelist[0] or "").split())
            if text == "":
                return
            if not (text.isascii() and text.isdigit()) or len(text) > 6 or int(text) > surveys.MAX_COUNT:
                self._bad = True
                self.data = None
                return
            self.data = int(text)

    def pre_validate(self, form):
        if getattr(self, "_bad", False):
            raise ValidationError(str(self.message))


class SurveyForm(FlaskForm):
    client_key = ClientKeyField()
    period = Pick(_l("Period"), message=_l("Choose one of the periods offered."))
    notes = TextAreaField(_l("Notes on the groups under management (no names)"),
                          filters=[clean_text], validators=[Length(max=1000)])
    strengths = TextAreaField(_l("Strengths"), filters=[clean_text], validators=[Length(max=2000)])
    weaknesses = TextAreaField(_l("Shortcomings"), filters=[clean_text], validators=[Length(max=2000)])

    def counts(self) -> dict[str, int]:
        return {key: self[key].data or 0 for key in surveys.KEYS}


for _group, _title, _fields in surveys.GROUPS:
    for _key, _label in _fields:
        setattr(SurveyForm, _key, CountField(_label))


def survey_form(latest=None, formdata=None) -> SurveyForm:
    """Return the form; shown (no formdata) it starts from the newest version when there is one."""
    if formdata is not None:
        form = SurveyForm(formdata=formdata)
    else:
        data = {}
        if latest is not None:
            data = {**{k: (latest.counts or {}).get(k, 0) for k in surveys.KEYS}, "period": latest.period,
                    "notes": latest.notes, "strengths": latest.strengths, "weaknesses": latest.weaknesses}
        form = SurveyForm(formdata=None, data=data)
    form.period.choices = surveys.periods()
    if formdata is None and form.period.data not in {v for v, _label in form.period.choices}:
        form.period.data = form.period.choices[0][0]
    return form
