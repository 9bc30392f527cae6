"""Forms for logging in and activating an account."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .. import passwords
from ..formkit import PhoneField


class LoginForm(FlaskForm):
    phone = PhoneField(_l("Phone number"), validators=[DataRequired(_l("Please enter your phone number."))])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Please enter your password.")), Length(max=200)]
    )


class NewPasswordForm(FlaskForm):
    """Choosing a password, wherever one is set: `person` is whose it is (their phone and name are refused)."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Please choose a password."))],
    )
    confirm = PasswordField(
        _l("Type the password again"),
        validators=[EqualTo("password", message=_l("The two passwords are not the same."))],
    )

    def __init__(self, *args, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person

    def validate_password(self, field):
        why = passwords.problem(field.data, phone=getattr(self.person, "phone", None),
                                name=getattr(self.person, "full_name", None))
        if why:
            raise ValidationError(why)


class ActivationCodeForm(FlaskForm):
    code = StringField(_l("Activation code"), validators=[DataRequired(_l("Please enter the code.")), Length(max=40)])
