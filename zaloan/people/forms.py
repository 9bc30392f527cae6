"""Forms for creating people, changing their place, showing an informant's identity, handing over.

Choices are filled by the view from what the current user may use, so a
value outside them (another officer's village, a role one may not create)
is refused with a plain message on its field.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..formkit import ClientKeyField, PhoneField, Pick, PickMany, clean_text
from ..takeover import REASONS


class PersonForm(FlaskForm):
    """A new account. Which fields count depends on the role (see `role_fields`)."""

    role = Pick(_l("Who is this person?"), message=_l("Please choose a role you may create."))
    full_name = StringField(_l("Full name"), filters=[clean_text],
                            validators=[DataRequired(_l("Please enter the name.")), Length(max=120)])
    phone = PhoneField(_l("Phone number"), validators=[DataRequired(_l("Please enter the phone number."))])
    village_id = Pick(_l("Village"), message=_l("Please choose one of your villages."))
    title = Pick(_l("Title"), message=_l("Please choose the verifier's title."))
    handler_id = Pick(_l("Handler officer"), message=_l("Please choose an active officer of the commune."))
    posts = PickMany(_l("Watch point and time"), message=_l("Please choose watch points of your villages."))
    position = StringField(_l("Position"), filters=[clean_text], validators=[Length(max=120)])
    client_key = ClientKeyField()

    # Fields that count for each role; the others are ignored.
    ROLE_FIELDS = {
        "informant": ("handler_id", "posts"),
        "verifier": ("village_id", "title"),
        "officer": ("position",),
        "commander": ("position",),
        "observer": ("position",),
    }

    def validate(self, extra_validators=None):
        """Validate the common fields and the role's own; ignore the other roles' fields."""
        role = self.role.data
        used = self.ROLE_FIELDS.get(role, ())
        skipped = [name for name in ("village_id", "title", "handler_id", "posts") if name not in used]
        for name in skipped:
            self[name].validate_choice = False
        ok = super().validate(extra_validators)
        for name in skipped:
            self[name].errors = []
        ok = not any(self[name].errors for name in self._fields)
        if role == "informant" and not self.errors.get("posts") and not self.posts.data:
            self.posts.errors.append(str(_l("Please choose at least one watch point.")))
            ok = False
        return ok


class VerifierPlaceForm(FlaskForm):
    village_id = Pick(_l("Village"), message=_l("Please choose one of your villages."))
    title = Pick(_l("Title"), message=_l("Please choose the verifier's title."))


class InformantPostForm(FlaskForm):
    posts = PickMany(_l("Watch point and time"), message=_l("Please choose watch points of your villages."))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and not self.posts.data:
            self.posts.errors.append(str(_l("Please choose at least one watch point.")))
            return False
        return ok


class HandlerForm(FlaskForm):
    handler_id = Pick(_l("Handler officer"), message=_l("Please choose an active officer of the commune."))


class OfficerVillagesForm(FlaskForm):
    village_ids = PickMany(_l("Villages in charge"), message=_l("Please choose villages of this commune."))


class RevealForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need to see who this is?"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please state the reason.")),
            Length(min=5, max=500, message=_l("Please state the reason in a few words.")),
        ],
    )


class HandoverForm(FlaskForm):
    to_id = Pick(_l("Hand over to"), message=_l("Choose another active officer of the commune."))
    disable = BooleanField(_l("Also lock the leaving officer's account"))


class TakeoverForm(FlaskForm):
    """Why an account already in use gets a new activation code: a common reason and the officer's own words."""

    kind = Pick(_l("Why a new code?"), message=_l("Please choose why the account needs a new code."),
                choices=list(REASONS.items()))
    reason = TextAreaField(
        _l("Say who asked for it, when and how"),
        id="takeover-reason",  # the identity form on the same page has its own "reason"
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please write the reason: who asked, when and how.")),
            Length(min=10, max=300, message=_l("Please write the reason in 10 to 300 letters.")),
        ],
    )


class ErasureRequestForm(FlaskForm):
    """Ask to erase an informant's name and phone (the commander confirms)."""

    reason = TextAreaField(
        _l("Who asked for it, when and how"),
        id="erasure-reason",  # other forms on the page have their own "reason"
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please write who asked for it, when and how.")),
            Length(min=10, max=300, message=_l("Please write the reason in 10 to 300 letters.")),
        ],
    )


class ErasureDecisionForm(FlaskForm):
    """The commander's confirmation: a box to tick, so a stray tap erases nothing."""

    sure = BooleanField(_l("I confirm: erase this informant's name and phone number for good"))
