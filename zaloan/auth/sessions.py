"""A person's own sessions: the phones and computers logged in to their account, and logging one out."""
from __future__ import annotations

from flask import abort, current_app, flash
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .. import accounts
from ..extensions import db
from ..models import UserSession, utcnow
from ..permissions import ANY_USER, allow
from ..web import redirect_to, render
from . import bp

# Systems of phones and tablets: their sessions get a phone beside them, the others a computer.
PHONE_SYSTEMS = {"Android", "iOS", "iPadOS", "KaiOS", "HarmonyOS", "Windows Phone", "BlackBerry OS", "Symbian OS"}


def device_label(row: UserSession) -> str:
    """Return how a session's device reads on the page: "Chrome Mobile trên Android"."""
    if row.browser and row.os:
        return _("%(browser)s on %(os)s", browser=row.browser, os=row.os)
    return row.browser or row.os or _("An unknown browser")


def device_icon(row: UserSession) -> str:
    if row.os in PHONE_SYSTEMS:
        return "📱"
    return "💻" if row.os else "🌐"


@bp.get("/sessions")
@allow(ANY_USER)
def sessions():
    """List the phones and computers logged in to this account, this one first."""
    current = accounts.current_session_id()
    rows = sorted(accounts.live_sessions(current_user), key=lambda r: r.id != current)  # stable: then latest used
    # The last-seen time is written at most every LAST_SEEN_EVERY: within that, say no more than that.
    recent = utcnow() - accounts.LAST_SEEN_EVERY
    devices = [{"row": r, "label": device_label(r), "icon": device_icon(r), "this": r.id == current,
                "recent": r.last_seen_at > recent} for r in rows]
    return render("auth/sessions.html", devices=devices)


@bp.post("/sessions/<int:session_id>/end")
@allow(ANY_USER)
def end_session(session_id: int):
    """Log out one phone or computer of this account (this one: as the Log out button does)."""
    user = current_user._get_current_object()
    if session_id == accounts.current_session_id():
        from .views import logout

        return logout()  # this very browser: the same as its own "log out" button
    if accounts.end_own_session(user, session_id) is None:
        abort(404)  # someone else's session, or none: the same answer
    db.session.commit()
    flash(_("That device is logged out. To use the account again it must log in with the password."))
    return redirect_to("auth.sessions")


@bp.teardown_app_request
def _touch_session(exc):
    """Refresh the session's last-seen time after the request (at most every ten minutes, see accounts)."""
    if exc is not None:
        return
    try:
        accounts.touch_session()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("could not refresh a session's last-seen time", exc_info=True)
