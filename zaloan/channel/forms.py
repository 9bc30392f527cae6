"""The conversation's forms: a message, and the police's request ("nhờ để ý")."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..formkit import ClientKeyField, LocalDateTimeField


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[Length(max=2000)])
    reply_to = HiddenField()
    client_key = ClientKeyField()


class RequestForm(FlaskForm):
    """What to look out for; where, from when to when, and by when to answer (all optional but the text)."""

    body = TextAreaField(_l("What to look out for"), validators=[Length(max=2000)])
    watch_point_id = SelectField(_l("Place"), coerce=int, validators=[Optional()])
    place_text = StringField(_l("Or describe the place"), validators=[Length(max=200)])
    window_from = LocalDateTimeField(_l("From"), validators=[Optional()])
    window_to = LocalDateTimeField(_l("Until"), validators=[Optional()])
    due_at = LocalDateTimeField(_l("Answer by"), validators=[Optional()])
    client_key = ClientKeyField()
