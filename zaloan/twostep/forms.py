"""Forms of two-step login."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length


class CodeForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(_l("Please enter the code.")), Length(max=40)])


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I am sure"))
