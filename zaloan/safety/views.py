"""The neutral page, the PIN lock, the informant's safety guide and clearing this phone's traces."""
from __future__ import annotations

from flask import flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from .. import accounts, audit
from ..extensions import db
from ..models import CommuneSettings, Role, UserSession, utcnow
from ..permissions import PUBLIC, allow
from ..web import asset_url, redirect_to, render, safe_next
from . import bp, lock
from .forms import NotebookNameForm, PinForm


@bp.get("/s/")
@allow(PUBLIC)
def neutral():
    """Show a plain notebook page with no word of the app: where the quick exit leads."""
    return render_template("safety/neutral.html", name=lock.notebook_name(getattr(current_user, "commune_id", None)))


@bp.get("/manifest.webmanifest")
@allow(PUBLIC)
def manifest():
    """Give the home-screen name and icon: the neutral name, never the app's."""
    name = lock.notebook_name(getattr(current_user, "commune_id", None))
    resp = jsonify(name=name, short_name=name, start_url=url_for("auth.index"), display="standalone",
                   background_color="#fffdf5", theme_color="#6d4c41",
                   icons=[{"src": asset_url("notebook.svg"), "sizes": "any", "type": "image/svg+xml"}])
    resp.mimetype = "application/manifest+json"
    return resp


@bp.route("/informant/unlock", methods=["GET", "POST"])
@allow(Role.INFORMANT)
def unlock():
    """Ask for the PIN of an idle session; the fifth wrong one ends the session."""
    target = safe_next(request.values.get("next")) or url_for("auth.index")
    if not lock.is_locked(current_user):
        db.session.commit()
        return redirect(target, 303)
    if request.method == "GET":
        db.session.commit()
        return lock.lock_page(next_url=target)
    result = lock.try_pin(current_user, (request.form.get("pin") or "").strip())
    if result == "ok":
        db.session.commit()
        return redirect(target, 303)
    if result == "ended":
        audit.record("logout", actor=current_user, target=current_user, reason="pin")
        accounts.end_session()
        logout_user()
        db.session.commit()
        return redirect(url_for("safety.neutral"), 303)
    db.session.commit()
    if result == "wait":
        seconds = lock.wait_now(lock.session_state())
        return lock.lock_page(_("Please wait %(n)s seconds, then try again.", n=seconds), 429, target)
    return lock.lock_page(_("This PIN is not right."), 422, target)


@bp.route("/informant/pin", methods=["GET", "POST"])
@allow(Role.INFORMANT)
def pin():
    """Set, change or remove the PIN asked after the phone is left alone."""
    form = PinForm()
    current = lock.lock_of(current_user)
    if request.method == "GET" and current is not None:
        form.idle.data = current.idle_minutes
    if form.validate_on_submit():
        lock.set_pin(current_user, form.pin.data, form.idle.data)
        db.session.commit()
        flash(_("Your PIN is set."))
        return redirect_to("safety.guide")
    return render("safety/pin.html", form=form, has_pin=current is not None,
                  status=422 if form.errors else 200)


@bp.post("/informant/pin/remove")
@allow(Role.INFORMANT)
def remove_pin():
    """Stop asking for a PIN on this account."""
    if lock.remove_pin(current_user):
        db.session.commit()
        flash(_("The PIN is removed."))
    return redirect_to("safety.guide")


@bp.get("/informant/safety")
@allow(Role.INFORMANT)
def guide():
    """Explain in plain words how to keep the phone safe, and what to do if it is lost."""
    return render("safety/guide.html", has_pin=lock.lock_of(current_user) is not None)


@bp.post("/informant/clear")
@allow(Role.INFORMANT)
def clear():
    """Sign out and leave nothing of the app on this phone: drafts, kept pages, stored keys."""
    sid = accounts.current_session_id()
    if sid is not None:
        # The phone's device key is no longer trusted, even if the browser keeps it.
        row = db.session.get(UserSession, sid)
        if row is not None and row.device_revoked_at is None:
            row.device_revoked_at = utcnow()
    audit.record("logout", actor=current_user, target=current_user, reason="clear")
    accounts.end_session()
    logout_user()
    db.session.commit()
    resp = make_response(render_template("safety/neutral.html", name=_("Notebook"), forget=True))
    resp.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    resp.delete_cookie(accounts.DEVICE_COOKIE, path="/")
    return resp


@bp.post("/commander/settings/notebook-name")
@allow(Role.COMMANDER)
def notebook_name():
    """Set the neutral name informants' phones show for the app (empty: "Sổ tay")."""
    form = NotebookNameForm()
    settings = CommuneSettings.of(current_user.commune_id)
    if not form.validate_on_submit():
        return render("safety/notebook_name.html", form=form, settings=settings, status=422)
    if (settings.notebook_name or "") != form.name.data:
        settings.notebook_name = form.name.data
        settings.updated_by_id = current_user.id
        db.session.add(settings)
        audit.record("commune.settings", actor=current_user, commune_id=current_user.commune_id,
                     notebook_name=form.name.data)
        db.session.commit()
        flash(_("Saved."))
    else:
        flash(_("Nothing was changed."))
    return redirect_to("commander.settings")
