"""Forms for logging in and activating an account."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..phones import PhoneError, normalize_phone


class PhoneField(StringField):
    """A phone number in any common Vietnamese form; `.data` becomes E.164."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.raw = self.data or ""

    def pre_validate(self, form):
        if not (self.data or "").strip():
            return
        try:
            self.data = normalize_phone(self.data)
        except PhoneError:
            raise ValidationError(_l("This is not a valid Vietnamese phone number.")) from None


class LoginForm(FlaskForm):
    phone = PhoneField(_l("Phone number"), validators=[DataRequired(_l("Please enter your phone number."))])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Please enter your password.")), Length(max=200)]
    )


class ActivateForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(min=8, max=200, message=_l("The password needs at least 8 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Type the password again"),
        validators=[EqualTo("password", message=_l("The two passwords are not the same."))],
    )


class ActivationCodeForm(FlaskForm):
    code = StringField(_l("Activation code"), validators=[DataRequired(_l("Please enter the code.")), Length(max=40)])
