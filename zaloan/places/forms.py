"""Forms for villages, watch points, time windows and tip categories."""
from __future__ import annotations

import re
from datetime import time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, StringField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import TimeInput

from ..formkit import ClientKeyField
from ..labels import WATCH_POINT_EMOJI, WATCH_POINT_KINDS
from ..models import WatchPointKind
from ..formkit import Pick, clean_text

TIME_RE = re.compile(r"^(\d{1,2})(?:[:.hHgG](\d{2})?(?::\d{2})?)?$")


def parse_hour(text: str) -> time | None:
    """Return the time of '20:00', '20:00:00', '20h', '20h30' or '7' (24-hour clock); None if it is not one."""
    m = TIME_RE.match("".join((text or "").split()))
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class HourField(Field):
    """A time of day, HH:MM on the 24-hour clock (a time picker on phones); wrong values get plain words."""

    widget = TimeInput()
    message = _l("Please enter a time such as 20:00.")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:%H:%M}" if self.data else ""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            if valuelist and valuelist[0]:
                raise ValueError(str(self.message))  # only spaces: InputRequired would let it through as None
            return
        self.data = parse_hour(raw)
        if self.data is None:
            raise ValueError(str(self.message))


class VillageForm(FlaskForm):
    name = StringField(_l("Village name"), filters=[clean_text], validators=[DataRequired(_l("Please enter the name.")), Length(max=120)])


class VillageOfficerForm(FlaskForm):
    officer_id = Pick(_l("Officer in charge"), message=_l("Please choose an active officer of the commune."))


def kind_choices() -> list[tuple[str, str]]:
    return [(k, f"{WATCH_POINT_EMOJI[k]} {WATCH_POINT_KINDS[k]}") for k in WatchPointKind.ALL]


class WatchPointForm(FlaskForm):
    name = StringField(_l("Name of the place"), filters=[clean_text], validators=[DataRequired(_l("Please enter the name.")),
                                                            Length(max=120)])
    kind = Pick(_l("Kind of place"), message=_l("Please choose the kind of place."), choices=kind_choices)
    note = StringField(_l("Note (optional)"), filters=[clean_text], validators=[Length(max=500)])
    active = BooleanField(_l("In use"), default=True)


class NewWatchPointForm(WatchPointForm):
    client_key = ClientKeyField()


class WindowForm(FlaskForm):
    starts = HourField(_l("From"), validators=[InputRequired(_l("Please enter a time such as 20:00."))])
    ends = HourField(_l("To"), validators=[InputRequired(_l("Please enter a time such as 20:00."))])
    label = StringField(_l("Label (optional), e.g. Morning market"), filters=[clean_text], validators=[Length(max=80)])


class NewWindowForm(WindowForm):
    client_key = ClientKeyField()


class CategoryForm(FlaskForm):
    emoji = StringField(_l("Emoji"), filters=[clean_text], validators=[Length(max=8, message=_l("One emoji is enough."))])
    name = StringField(_l("Name"), filters=[clean_text], validators=[DataRequired(_l("Please enter the name.")), Length(max=80)])
    active = BooleanField(_l("In use"), default=True)


class NewCategoryForm(CategoryForm):
    client_key = ClientKeyField()
