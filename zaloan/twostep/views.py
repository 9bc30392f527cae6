"""Two-step login pages: the person's own (set up, recovery codes, turn off), the login's second step,
the commune's requirement and the commander's reset of another account."""
from __future__ import annotations

import math

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from .. import accounts, audit, takeover, twofactor
from ..extensions import db
from ..models import Role
from ..permissions import PUBLIC, allow, can_reset_two_step, get_user_or_404
from ..web import redirect_to, render, safe_next
from . import bp
from .forms import CodeForm, ConfirmForm

OWN = twofactor.ROLES


def me():
    return current_user._get_current_object()


def wrong_code() -> str:
    return _("The code is not right. Type the 6 digits your app shows now.")


def show_home(form: CodeForm | None = None, status: int = 200):
    user = me()
    return render("twostep/home.html", user=user, off_form=form or CodeForm(formdata=None),
                  required=twofactor.commune_requires(user), must=twofactor.must_set_up(user),
                  left=twofactor.recovery_left(user) if user.two_step_on else 0, status=status)


@bp.get("/")
@allow(*OWN)
def home():
    """Show whether two-step login is on for this account, and what can be done."""
    return show_home()


@bp.post("/start")
@allow(*OWN)
def start():
    """Make a new key for the authenticator app (the current one, if any, keeps working until confirmed)."""
    twofactor.start_setup(me())
    db.session.commit()
    return redirect_to("twostep.setup")


def show_setup(form: CodeForm, status: int = 200):
    user = me()
    return render("twostep/setup.html", form=form, qr=twofactor.qr_drawing(user, user.totp_pending),
                  key=twofactor.grouped_key(user.totp_pending), status=status)


@bp.route("/setup", methods=["GET", "POST"])
@allow(*OWN)
def setup():
    """Show the new key as a QR code and as text; turn two-step login on once a code from it is typed."""
    user = me()
    if not user.totp_pending:
        return redirect(url_for("twostep.home"), 303)
    form = CodeForm()
    if not form.validate_on_submit():
        return show_setup(form, status=422 if form.errors else 200)
    codes = twofactor.confirm_setup(user, form.code.data)
    if codes is None:
        form.code.errors.append(wrong_code())
        return show_setup(form, status=422)
    db.session.commit()
    return render("twostep/codes.html", codes=codes, first=True)


@bp.route("/recovery", methods=["GET", "POST"])
@allow(*OWN)
def recovery():
    """Make ten new recovery codes; the old ones stop working. Shown once (a GET goes back)."""
    user = me()
    if request.method == "GET" or not user.two_step_on:
        return redirect(url_for("twostep.home"), 303)
    codes = twofactor.regenerate(user)
    db.session.commit()
    return render("twostep/codes.html", codes=codes, first=False)


@bp.post("/off")
@allow(*OWN)
def off():
    """Turn two-step login off with a current code or a recovery code (not when the commune requires it)."""
    user = me()
    if not user.two_step_on:
        return redirect_to("twostep.home")
    form = CodeForm()
    if twofactor.commune_requires(user):
        form.code.errors = [_("The commune requires two-step login: it cannot be turned off.")]
        return show_home(form, status=409)
    if not form.validate_on_submit():
        return show_home(form, status=422)
    if twofactor.wait_for(user).total_seconds() > 0:
        form.code.errors.append(_("Too many wrong codes. Please wait a few minutes."))
        return show_home(form, status=429)
    checked = twofactor.check_code(user, form.code.data)
    if not checked:
        twofactor.note_wrong_code(user, "off")
        db.session.commit()
        form.code.errors.append(wrong_code())
        return show_home(form, status=422)
    twofactor.turn_off(user, checked.kind)
    db.session.commit()
    flash(_("Two-step login is off."))
    return redirect_to("twostep.home")


# --- The login's second step ------------------------------------------------------------------


def too_many(wait) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return _("Too many wrong attempts. Please try again in %(n)s minutes.", n=minutes)


@bp.route("/verify", methods=["GET", "POST"])
@allow(PUBLIC)
def verify():
    """Ask for the 6-digit code (or a recovery code) after a right password; only then start the session."""
    user, next_url = twofactor.pending_user()
    if user is None:
        twofactor.forget_pending()
        flash(_("Please log in again."))
        return redirect(url_for("auth.login"), 303)
    form = CodeForm()
    if not form.validate_on_submit():
        return render("twostep/verify.html", form=form, status=422 if form.errors else 200)
    wait = twofactor.wait_for(user)
    if wait.total_seconds() > 0:
        form.code.errors.append(too_many(wait))
        return render("twostep/verify.html", form=form, status=429)
    checked = twofactor.check_code(user, form.code.data)
    if not checked:
        twofactor.note_wrong_code(user, "login")
        db.session.commit()
        form.code.errors.append(_("The code is not right, or it was already used. Type the 6 digits your app "
                                  "shows now, or a recovery code."))
        return render("twostep/verify.html", form=form, status=401)
    accounts.login_gate(user.phone).note(True)
    accounts.after_login_success(user)
    login_user(user)
    audit.record("login.success", actor=user, target=user, second_step=checked.kind)
    takeover.tell_at_sign_in(user)
    db.session.commit()
    if checked.kind == "recovery":
        left = twofactor.recovery_left(user)
        flash(_("You used a recovery code; %(n)s are left. Make new ones if few are left.", n=left))
    return redirect(safe_next(next_url) or url_for("auth.index"), 303)


# --- The commander: the commune's requirement, another account's reset -----------------------


@bp.post("/reset/<int:user_id>")
@allow(Role.COMMANDER)
def reset(user_id: int):
    """Clear another account's two-step login (a lost phone), after a page that asks to confirm.

    Their sessions end; they log in with their password and set it up again.
    """
    person = get_user_or_404(user_id, can_reset_two_step)
    if not person.two_step_on:
        return render("twostep/reset.html", person=person, form=ConfirmForm(formdata=None), status=409)
    form = ConfirmForm()
    if not form.confirm.data:
        return render("twostep/reset.html", person=person, form=form)
    twofactor.reset(person, by=me())
    db.session.commit()
    flash(_("Two-step login of this account was cleared. The person logs in with the password and sets it up "
            "again."))
    return redirect_to("people.person", user_id=person.id)
