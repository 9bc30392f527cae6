"""Forms of the sender's side: a tip, an answer in the thread."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..formkit import ClientKeyField, LocalDateTimeField
from ..labels import URGENCIES
from ..models import Urgency


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
