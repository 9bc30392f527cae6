"""Forms of the officer's work on a tip."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..formkit import ClientKeyField, LocalDateTimeField, local_now
from ..labels import OUTCOMES, URGENCIES
from ..models import Outcome, Urgency


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TriageForm(FlaskForm):
    category_id = SelectField(_l("Type"), coerce=int, validators=[InputRequired()])
    urgency = SelectField(_l("Urgency"), coerce=int, choices=[(u, URGENCIES[u]) for u in Urgency.ALL],
                          validators=[InputRequired()])


class AskForm(FlaskForm):
    body = TextAreaField(_l("Question for the sender"), validators=[DataRequired(_l("Please write the question.")),
                                                                    Length(max=2000)])
    client_key = ClientKeyField()


class DuplicateForm(FlaskForm):
    code = StringField(_l("Code of the earlier tip"), validators=[DataRequired(_l("Please enter a tip code.")),
                                                                  Length(max=12)])


class DueTimeField(LocalDateTimeField):
    """A due time typed or picked on the phone: blank is left to `InputRequired`, garbage gets a plain message."""

    bad_value_message = _l("This is not a time. Please choose the day and hour again.")

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and not "".join(valuelist).strip():
            self.data = None  # empty: "Please choose a due time", never a silent default
            return
        super().process_formdata(valuelist)


def in_the_future(form, field):
    """Refuse a due time already past, compared in local time (year 1 would overflow on the way to UTC)."""
    if field.data is not None and field.data <= local_now():
        raise ValidationError(_("The due time must be in the future."))


class TaskForm(FlaskForm):
    verifier_ids = CheckboxesField(_l("Who checks"), coerce=int,
                                   validators=[DataRequired(_l("Choose at least one verifier."))])
    brief = TextAreaField(_l("What to check (in your own words, never the sender's text)"),
                          validators=[DataRequired(_l("Please write a brief.")), Length(max=2000)])
    place_hint = StringField(_l("Where exactly (optional)"), validators=[Length(max=200)])
    # Left out of a POST, the urgency stays the tip's. Ids of their own: the triage form on the same page
    # has an "urgency" and the question form a key.
    urgency = SelectField(_l("Urgency"), coerce=int, choices=[(u, URGENCIES[u]) for u in Urgency.ALL],
                          validators=[DataRequired(_l("Please choose how urgent it is."))], id="task_urgency")
    due_at = DueTimeField(_l("Report by"), validators=[InputRequired(_l("Please choose a due time.")), in_the_future])
    photo_ids = CheckboxesField(_l("Photos to share with the verifiers"), coerce=int, validators=[Optional()])
    client_key = ClientKeyField(id="task_client_key")


class OutcomeForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[(o, OUTCOMES[o]) for o in Outcome.ALL if o != Outcome.DUPLICATE],
                         validators=[InputRequired(_l("Please choose an outcome."))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class ReopenForm(FlaskForm):
    reason = StringField(_l("Why reopen?"), validators=[DataRequired(_l("Please write why.")), Length(max=500)])
