"""Forms of the officer's work on a tip."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..formkit import ClientKeyField, LocalDateTimeField
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


class TaskForm(FlaskForm):
    verifier_ids = CheckboxesField(_l("Who checks"), coerce=int,
                                   validators=[DataRequired(_l("Choose at least one verifier."))])
    brief = TextAreaField(_l("What to check (in your own words, never the sender's text)"),
                          validators=[DataRequired(_l("Please write a brief.")), Length(max=2000)])
    place_hint = StringField(_l("Where exactly (optional)"), validators=[Length(max=200)])
    due_at = LocalDateTimeField(_l("Report by"), format="%Y-%m-%dT%H:%M",
                                validators=[DataRequired(_l("Please choose a due time."))])
    photo_ids = CheckboxesField(_l("Photos to share with the verifiers"), coerce=int, validators=[Optional()])


class OutcomeForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[(o, OUTCOMES[o]) for o in Outcome.ALL if o != Outcome.DUPLICATE],
                         validators=[InputRequired(_l("Please choose an outcome."))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class ReopenForm(FlaskForm):
    reason = StringField(_l("Why reopen?"), validators=[DataRequired(_l("Please write why.")), Length(max=500)])
