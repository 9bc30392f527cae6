"""The informant's PIN lock, checked on the server before every page and fragment.

Informants carry the app on a phone their family, their boss or a suspect may
pick up. With a PIN set, a session left alone for the chosen minutes answers
every request with the PIN page instead (nothing of the informant's data, no
police words); the right PIN opens it again. Wrong PINs are slowed down, and
the fifth ends the session: whoever holds the phone then needs the password.

What a session did last is kept on the server (SessionLock), not in the
cookie: a copied or kept cookie cannot bring back an open session.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.security import check_password_hash, generate_password_hash

from .. import accounts, roles
from ..extensions import db
from ..models import CommuneSettings, PhoneLock, SessionLock, UserSession, utcnow
from ..web import safe_next

IDLE_CHOICES = (1, 5, 15, 30)
DEFAULT_IDLE = 5
MAX_FAILURES = 5
# A session's activity is written at most this often: the lock is minutes, not seconds.
ACTIVITY_EVERY = timedelta(seconds=15)
PIN = re.compile(r"[0-9]{4,6}")

# What a locked session may still reach: the PIN page itself, the neutral page, signing out, clearing traces.
OPEN_WHILE_LOCKED = frozenset({"static", "safety.unlock", "safety.neutral", "safety.manifest", "safety.clear",
                               "auth.logout"})


NAME_MAX = 40
# Words a neutral name must not carry: they would tell whoever holds the phone what the app is.
GIVEAWAYS = ("cong an", "an ninh", "zalo", "tin bao", "canh sat", "police", "security", "informant", "cong tac vien")


def gives_away(name: str) -> bool:
    from ..passwords import plain

    flat = plain(name)
    return any(word.replace(" ", "") in flat for word in GIVEAWAYS)


def notebook_name(commune_id: int | None) -> str:
    """Return the neutral name informants' phones show for the app: the commune's choice, else "Sổ tay"."""
    name = CommuneSettings.of(commune_id).notebook_name if commune_id else ""
    return name or _("Notebook")


def disguised(user) -> bool:
    """Whether this account's pages wear the neutral look (the role registry says: informants)."""
    info = roles.of(user)
    return bool(info and info.disguised)


def valid_pin(text: str | None) -> bool:
    return isinstance(text, str) and PIN.fullmatch(text) is not None


def lock_of(user) -> PhoneLock | None:
    return db.session.get(PhoneLock, user.id) if user is not None else None


def set_pin(user, pin: str, idle_minutes: int) -> None:
    """Set (or change) the PIN and the idle minutes after which it is asked; only its hash is kept."""
    row = lock_of(user) or PhoneLock(user_id=user.id)
    row.pin_hash = generate_password_hash(pin)
    row.idle_minutes = idle_minutes if idle_minutes in IDLE_CHOICES else DEFAULT_IDLE
    db.session.add(row)
    state = session_state()
    if state is not None:
        state.active_at, state.failures, state.failed_at = utcnow(), 0, None


def remove_pin(user) -> bool:
    row = lock_of(user)
    if row is None:
        return False
    db.session.delete(row)
    return True


def session_state(create: bool = True) -> SessionLock | None:
    """Return the current session's activity row (made on first use), None without a server session."""
    sid = accounts.current_session_id()
    if sid is None:
        return None
    row = db.session.get(SessionLock, sid)
    if row is None and create:
        # A session that began before the PIN was set (a phone left somewhere, the PIN set on another)
        # counts its idle time from its own last-seen time, not from now.
        began = db.session.get(UserSession, sid)
        row = SessionLock(session_id=sid, active_at=began.last_seen_at if began else utcnow(), failures=0)
        db.session.add(row)
    return row


def is_locked(user, lock: PhoneLock | None = None) -> bool:
    """Whether this session has been idle longer than the informant allowed."""
    lock = lock or lock_of(user)
    if lock is None:
        return False
    state = session_state()
    return state is not None and utcnow() - state.active_at >= timedelta(minutes=lock.idle_minutes)


def wait_after(failures: int) -> timedelta:
    """How long the next try must wait: the first wrong PIN is free, then 5, 10, 20 seconds."""
    return timedelta(seconds=0 if failures < 2 else 5 * 2 ** (failures - 2))


def wait_now(state: SessionLock) -> int:
    """Return the whole seconds left before another PIN may be tried (0: now)."""
    if not state.failures or state.failed_at is None:
        return 0
    left = state.failed_at + wait_after(state.failures) - utcnow()
    return max(0, int(left.total_seconds() + 0.999))


def try_pin(user, pin: str) -> str:
    """Check a typed PIN: "ok" (opened), "wrong", "wait" (too soon after a wrong one) or "ended" (the fifth wrong)."""
    lock, state = lock_of(user), session_state()
    if lock is None or state is None:
        return "ok"
    if wait_now(state):
        return "wait"
    if valid_pin(pin) and check_password_hash(lock.pin_hash, pin):
        state.active_at, state.failures, state.failed_at = utcnow(), 0, None
        return "ok"
    state.failures += 1
    state.failed_at = utcnow()
    return "ended" if state.failures >= MAX_FAILURES else "wrong"


def lock_page(error: str | None = None, status: int = 200, next_url: str | None = None):
    """Answer with the PIN page: no data of the informant, no police words."""
    state = session_state(create=False)
    left = MAX_FAILURES - (state.failures if state else 0)
    resp = make_response(render_template("safety/lock.html", error=error, next_url=next_url or url_for("auth.index"),
                                         name=notebook_name(current_user.commune_id), tries_left=left), status)
    return resp


def enforce():
    """Answer any page or fragment of an idle informant session with the PIN page (before_request)."""
    if request.endpoint is None or request.endpoint in OPEN_WHILE_LOCKED:
        return None
    user = current_user
    if not getattr(user, "is_authenticated", False) or not disguised(user):
        return None
    lock = lock_of(user)
    if lock is None:
        return None
    state = session_state()
    if state is None:
        return None
    now = utcnow()
    if now - state.active_at >= timedelta(minutes=lock.idle_minutes):
        db.session.commit()  # the row made on first use
        here = request.full_path if request.method == "GET" else None
        if getattr(request, "htmx", False):
            # An htmx fragment never swaps the PIN page into a page that shows data: the whole page goes.
            current = request.headers.get("HX-Current-URL", "")
            back = safe_next("/" + current.split("/", 3)[3] if current.count("/") >= 3 else None)
            resp = lock_page(next_url=back)
            resp.headers["HX-Redirect"] = url_for("safety.unlock", next=back)
            return resp
        return lock_page(next_url=safe_next(here.rstrip("?")) if here else None)
    if now - state.active_at >= ACTIVITY_EVERY:
        state.active_at = now
        db.session.commit()
    elif db.session.new:
        db.session.commit()
    return None


def init_lock(app) -> None:
    app.before_request(enforce)
    app.jinja_env.globals["notebook_name"] = lambda: notebook_name(getattr(current_user, "commune_id", None))
    app.jinja_env.globals["disguised"] = lambda: disguised(current_user)
