"""Forms of the commendation pages: a proposal, a decision on it, a signed decision grouping approved ones.

Choices (tips, commendations) are filled by the view from what the current
user may use, so a value outside them is refused with a message on its field.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..formkit import ClientKeyField, LocalDateField, Pick, PickMany, clean_text
from ..inputs import MAX_YEAR, MIN_YEAR


class DayField(LocalDateField):
    """A day (year-month-day); text that is no date, or an impossible year, gets a plain message on the field."""


class ProposeForm(FlaskForm):
    kind = HiddenField()
    candidate = HiddenField()
    start = HiddenField()
    end = HiddenField()
    collective_name = StringField(_l("Name of the collective"), filters=[clean_text], validators=[Length(max=200)])
    reason = TextAreaField(_l("For what (the help given)"), filters=[clean_text],
                           validators=[DataRequired(_l("Please say what the help was.")),
                                       Length(min=10, max=2000, message=_l("Please write 10 to 2000 characters."))])
    reward = StringField(_l("Form of reward"), filters=[clean_text],
                         validators=[DataRequired(_l("Please choose or write a form of reward.")),
                                     Length(max=120, message=_l("At most 120 characters."))])
    tip_ids = PickMany(_l("Tips that earned it"), message=_l("Please choose among the tips shown."))
    client_key = ClientKeyField()


class DecideForm(FlaskForm):
    verdict = Pick(_l("Your decision"), choices=[("approve", _l("Approve")), ("decline", _l("Decline"))],
                   validators=[DataRequired(_l("Please choose approve or decline."))],
                   message=_l("Please choose approve or decline."))
    note = TextAreaField(_l("Note"), filters=[clean_text],
                         validators=[Length(max=1000, message=_l("At most 1000 characters."))])


class DecisionForm(FlaskForm):
    number = StringField(_l("Decision number"), filters=[clean_text],
                         validators=[DataRequired(_l("Please enter the decision's number.")),
                                     Length(max=40, message=_l("At most 40 characters."))])
    signed_on = DayField(_l("Date signed"), validators=[DataRequired(_l("Please enter the date signed."))])
    signer = StringField(_l("Signed by"), filters=[clean_text],
                         validators=[DataRequired(_l("Please enter who signs it.")),
                                     Length(max=120, message=_l("At most 120 characters."))])
    commendation_ids = PickMany(_l("Approved commendations in this decision"),
                                message=_l("Only approved commendations not yet in a decision can be chosen."))
    client_key = ClientKeyField()

    def validate_signed_on(self, field):
        if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
            raise ValidationError(_l("This date is not possible. Please check the year."))

    def validate_commendation_ids(self, field):
        if not field.data:
            raise ValidationError(_l("Please choose at least one approved commendation."))
