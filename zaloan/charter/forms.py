"""The commander's form for a new version of the operating rules."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..formkit import ClientKeyField, clean_text


class RulesForm(FlaskForm):
    client_key = ClientKeyField()
    body = TextAreaField(_l("The rules"), validators=[DataRequired(_l("Please write the rules.")),
                                                      Length(max=20_000)])
    note = StringField(_l("What changed (a few words)"), filters=[clean_text],
                       validators=[DataRequired(_l("Please say in a few words what changed.")), Length(max=300)])


class AckForm(FlaskForm):
    version_id = HiddenField()
