"""Login, logout, activation and language views."""
from __future__ import annotations

import math

from flask import current_app, flash, redirect, request, send_from_directory, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from .. import accounts, audit, takeover, twofactor
from ..roles import home_url
from ..extensions import db
from ..models import User
from ..permissions import ANY_USER, PUBLIC, allow
from ..web import render, safe_next
from . import bp
from .forms import ActivationCodeForm, LoginForm, NewPasswordForm

@bp.get("/")
@allow(PUBLIC)
def index():
    """Send a logged-in person to their home page, anyone else to the login page."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.get("/favicon.ico")
@allow(PUBLIC)
def favicon():
    """Serve the icon browsers ask for at a fixed address (pages name it under its hashed URL)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/x-icon",
                               max_age=7 * 24 * 3600)


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    """Log in with phone number and password."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        gate = accounts.login_gate(form.phone.data)  # counted per device cookie, or per phone and connection
        if gate.wait.total_seconds() > 0:
            minutes = max(1, math.ceil(gate.wait.total_seconds() / 60))
            error = _("Too many wrong attempts. Please try again in %(n)s minutes.", n=minutes)
            return render("auth/login.html", form=form, error=error, status=429)
        user = db.session.scalar(select(User).where(User.phone == form.phone.data))
        # One password hash whether or not the phone has an account: the answer's time tells nothing.
        password_ok = User.login_password_matches(user, form.password.data)
        if user is not None and user.active and password_ok:
            if twofactor.required(user):
                # Not counted as a success yet: a right password must not forgive wrong codes.
                return twofactor.begin(user, request.args.get("next"))
            gate.note(True)
            accounts.after_login_success(user)
            login_user(user)
            audit.record("login.success", actor=user, target=user)
            takeover.tell_at_sign_in(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or home_url(user))
        gate.note(False)
        audit.record(
            "login.failure",
            target=user,
            commune_id=user.commune_id if user else None,
            reason="disabled" if user is not None and not user.active else "credentials",
        )
        db.session.commit()
        if user is not None and not user.active and password_ok:
            error = _("This account has been locked. Please contact the commune police.")
        else:
            # The same words for an unknown phone and a wrong password.
            error = _("Wrong phone number or password.")
        return render("auth/login.html", form=form, error=error, status=401)
    return render("auth/login.html", form=form, error=error, status=422 if form.errors else 200)


@bp.post("/logout")
@allow(ANY_USER)
def logout():
    """End this session on the server and forget the cookie."""
    audit.record("logout", actor=current_user, target=current_user)
    accounts.end_session()
    logout_user()
    db.session.commit()
    flash(_("You have logged out."))
    return to_login_clearing_cache()


@bp.post("/logout-everywhere")
@allow(ANY_USER)
def logout_everywhere():
    """End every session of this account, on every phone and computer."""
    user = current_user._get_current_object()
    count = accounts.revoke_sessions(user, keep_this_device=True)
    audit.record("logout.everywhere", actor=user, target=user, sessions=count)
    accounts.end_session()
    logout_user()
    db.session.commit()
    flash(_("You have logged out on every device."))
    return to_login_clearing_cache()


def to_login_clearing_cache():
    """Redirect to the login page and have this browser drop its cache of the site.

    Photos are kept by the browser of whoever may see them (docs/DEPLOY.md);
    on a shared phone, logging out must not leave them for the next person.
    """
    resp = redirect(url_for("auth.login"))
    resp.headers["Clear-Site-Data"] = '"cache"'
    return resp


def wrong_code_message() -> str:
    """The one answer for a code that is unknown, used, expired or of a locked account."""
    return _("The code is wrong or has expired.")


def code_refusal():
    """Return a 429 page if activation codes may not be tried now from here (or from anywhere), else None."""
    wait = accounts.code_wait(accounts.client_key())
    if not wait:
        return None
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    message = _("Too many wrong codes were tried. Please try again in %(n)s minutes, or ask the officer for help.",
                n=minutes)
    return render("auth/activate_problem.html", message=message, status=429)


def checked_code(code: str):
    """Return (row, refusal): the live activation row of `code`, or the page to answer instead.

    Every wrong code is counted for this connection (a keyed hash, never the address).
    """
    refusal = code_refusal()
    if refusal is not None:
        return None, refusal
    row, problem = accounts.find_activation(code)
    if problem:
        accounts.note_public("code", accounts.client_key())
        db.session.commit()
        return None, None
    return row, None


@bp.route("/activate", methods=["GET", "POST"])
@allow(PUBLIC)
def activate_start():
    """Ask for the activation code the officer gave."""
    form = ActivationCodeForm()
    if form.validate_on_submit():
        row, refusal = checked_code(form.code.data)
        if refusal is not None:
            return refusal
        if row is not None:
            return redirect(url_for("auth.activate", code=accounts.clean_code(form.code.data)))
        form.code.errors.append(wrong_code_message())
        return render("auth/activate_code.html", form=form, status=404)
    return render("auth/activate_code.html", form=form, status=422 if form.errors else 200)


@bp.route("/activate/<code>", methods=["GET", "POST"])
@allow(PUBLIC)
def activate(code: str):
    """Set a password for a new account with a one-time code."""
    row, refusal = checked_code(code)
    if refusal is not None:
        return refusal
    if row is None:
        return render("auth/activate_problem.html", message=wrong_code_message(), status=404)
    form = NewPasswordForm(person=row.user)
    if form.validate_on_submit():
        user = accounts.activate(row, form.password.data)
        if twofactor.required(user):
            db.session.commit()
            return twofactor.begin(user, None)
        accounts.after_login_success(user)
        login_user(user)
        db.session.commit()
        flash(_("Your account is ready. Welcome!"))
        return redirect(home_url(user))
    return render(
        "auth/activate.html", form=form, person=row.user, code=code, status=422 if form.errors else 200
    )


@bp.post("/language")
@allow(PUBLIC)
def language():
    """Switch the interface between Vietnamese and English."""
    lang = request.form.get("lang", "vi")
    session["lang"] = lang if lang in ("vi", "en") else "vi"
    return redirect(safe_next(request.form.get("next")) or url_for("auth.index"))
