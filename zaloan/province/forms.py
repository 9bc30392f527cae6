"""Forms of the province administrator: a new commune, its commander, an observer.

Choices (districts, units) are filled by the view from the administrator's
own province, so a district or unit of elsewhere, or a made-up id, is refused
with a plain message on its field.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..formkit import ClientKeyField, PhoneField, Pick, clean_text


class CommuneForm(FlaskForm):
    name = StringField(_l("Name of the commune"), filters=[clean_text],
                       validators=[DataRequired(_l("Please enter the name of the commune.")),
                                   Length(max=120, message=_l("The name is too long (at most 120 letters)."))])
    district_id = Pick(_l("District"), message=_l("Please choose a district of your province."))
    client_key = ClientKeyField()


class AccountForm(FlaskForm):
    full_name = StringField(_l("Full name"), filters=[clean_text],
                            validators=[DataRequired(_l("Please enter the name.")),
                                        Length(max=120, message=_l("The name is too long (at most 120 letters)."))])
    phone = PhoneField(_l("Phone number"), validators=[DataRequired(_l("Please enter the phone number."))])
    client_key = ClientKeyField()


class ObserverForm(AccountForm):
    unit_id = Pick(_l("Which figures does the observer see?"),
                   message=_l("Please choose the province, one of its districts or one of its communes."))
