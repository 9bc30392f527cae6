"""Forms for villages, watch points, time windows and categories."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..labels import WATCH_POINT_KINDS
from ..models import WatchPointKind


class VillageForm(FlaskForm):
    name = StringField(_l("Village name"), validators=[DataRequired(_l("Please enter the name.")), Length(max=120)])


class VillageOfficerForm(FlaskForm):
    officer_id = SelectField(_l("Officer in charge"), coerce=int)


class WatchPointForm(FlaskForm):
    name = StringField(_l("Name of the place"), validators=[DataRequired(_l("Please enter the name.")),
                                                            Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[(k, WATCH_POINT_KINDS[k]) for k in WatchPointKind.ALL])
    note = StringField(_l("Note"), validators=[Length(max=500)])
    active = BooleanField(_l("In use"), default=True)


class HourField(TimeField):
    """A time of day typed as 20:00; a wrong value gets plain words."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Please enter a time such as 20:00.")) from None


class WindowForm(FlaskForm):
    starts = HourField(_l("From"), validators=[InputRequired(_l("Please enter a time such as 20:00."))])
    ends = HourField(_l("To"), validators=[InputRequired(_l("Please enter a time such as 20:00."))])
    label = StringField(_l("Label"), validators=[Length(max=80)])


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter the name.")), Length(max=80)])
    emoji = StringField(_l("Emoji"), validators=[Length(max=8)])
    position = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=999)])
    active = BooleanField(_l("In use"), default=True)
