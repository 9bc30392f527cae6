"""Forms for creating people and changing their place."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth.forms import PhoneField


class PersonForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Please enter the name.")), Length(max=120)])
    phone = PhoneField(_l("Phone number"), validators=[DataRequired(_l("Please enter your phone number."))])
    village_id = SelectField(_l("Village (verifiers)"), coerce=int, validators=[Optional()])
    title = SelectField(_l("Title (verifiers)"), validators=[Optional()])
    watch_point = SelectField(_l("Watch point and time (informants)"), validators=[Optional()])
    handler_id = SelectField(_l("Handler officer (informants)"), coerce=int, validators=[Optional()])
    position = StringField(_l("Position (officers, commander)"), validators=[Length(max=120)])


class VerifierPlaceForm(FlaskForm):
    village_id = SelectField(_l("Village"), coerce=int)
    title = SelectField(_l("Title"))


class InformantPostForm(FlaskForm):
    watch_point = SelectField(_l("Watch point and time"), validators=[Optional()])
    handler_id = SelectField(_l("Handler officer"), coerce=int, validators=[Optional()])


class RevealForm(FlaskForm):
    reason = StringField(_l("Why do you need to see who this is?"),
                         validators=[DataRequired(_l("Please state the reason.")),
                                     Length(min=5, max=500, message=_l("Please state the reason in a few words."))])


class OfficerVillagesForm(FlaskForm):
    village_ids = SelectMultipleField(_l("Villages in charge"), coerce=int, widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput())


class HandoverForm(FlaskForm):
    to_id = SelectField(_l("Hand over to"), coerce=int, validators=[DataRequired()])
    disable = BooleanField(_l("Also lock the leaving officer's account"))
