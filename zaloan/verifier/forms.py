"""Forms of the verifier: report what was found."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..formkit import ClientKeyField
from ..labels import FINDINGS
from ..models import Finding


class ReportForm(FlaskForm):
    finding = RadioField(_l("What did you find?"), choices=[(f, FINDINGS[f]) for f in Finding.ALL],
                         validators=[InputRequired(_l("Please choose what you found."))])
    notes = TextAreaField(_l("Notes (optional)"), validators=[Length(max=3000)])
    client_key = ClientKeyField()
