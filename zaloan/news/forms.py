"""The announcement form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..formkit import ClientKeyField, LocalDateTimeField, Pick, clean_text


class AnnouncementForm(FlaskForm):
    client_key = ClientKeyField()
    title = StringField(_l("Title"), filters=[clean_text],
                        validators=[DataRequired(_l("Please write a title.")), Length(max=120)])
    body = TextAreaField(_l("Text (short)"), filters=[clean_text], validators=[Length(max=2000)])
    audience = Pick(_l("Who is it for?"), validators=[DataRequired(_l("Please choose who the announcement is for."))],
                    message=_l("Please choose who the announcement is for."), choices=[])
    pinned = BooleanField(_l("Pin it at the top"))
    shows_from = LocalDateTimeField(_l("Show from (leave empty: now)"), validators=[Optional()])


class PinForm(FlaskForm):
    pinned = BooleanField()
