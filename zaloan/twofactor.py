"""Two-step login for the police: a password, then a code from an authenticator app (TOTP).

Officers and the commander may turn it on for themselves (observers may too);
the commander can require it for every officer of the commune. The key is
made on the server, shown once as a QR code and as text, and only kept as
the account's key after the person types a code it makes. Ten one-time
recovery codes stand in for a lost phone; only their hashes are kept.

A login with the right password for such an account starts no session: the
account, the time and where to go next wait in the signed session cookie for
at most PENDING_MINUTES, until a current code (or a recovery code) is typed.
A code's 30-second step is remembered, so a code seen over a shoulder cannot
be used again. Wrong codes count with wrong passwords in the login throttle.

Every function here writes its audit record (never a key or a code) and
leaves the commit to the caller.
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import pyotp
from flask import g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import delete, func, select, update

from . import accounts, audit, qr
from .extensions import db
from .models import CommuneSettings, RecoveryCode, User, utcnow
from .roles import roles_where

# Who may use it, and of whom the commune may require it: the role registry says (zaloan.roles).
ROLES = roles_where("two_step")
REQUIRED_ROLES = roles_where("two_step_required")

ISSUER = "Zalo an ninh"
STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # one step either side: a phone's clock a little off still works
PENDING_MINUTES = 5
PENDING_KEY = "two_step"

RECOVERY_COUNT = 10
RECOVERY_LENGTH = 10  # of accounts.CODE_ALPHABET (31 signs): about 50 bits each
RECOVERY_GROUP = 5


# --- Who ----------------------------------------------------------------------------------------


def may_use(user: User | None) -> bool:
    """Whether this account may turn two-step login on."""
    return user is not None and user.role in ROLES


def commune_requires(user: User) -> bool:
    """Whether the commune makes this account use two-step login (officers and the commander)."""
    if user is None or user.role not in REQUIRED_ROLES:
        return False
    known = g.get("commune_requires_two_step")  # read with the session (accounts.load_session_user)
    if known is not None and known[0] == user.id:
        return known[1]
    return bool(CommuneSettings.of(user.commune_id).require_two_step)


def required(user: User) -> bool:
    """Whether logging in to this account needs a second step after the password."""
    return user is not None and user.two_step_on


# --- Keys and codes -----------------------------------------------------------------------------


def new_key() -> str:
    return pyotp.random_base32()  # 32 base32 signs: 160 bits


def totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def grouped_key(secret: str) -> str:
    """Return a key as typed into an app by hand: groups of four signs (ABCD EFGH ...)."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def setup_uri(user: User, secret: str) -> str:
    return totp(secret).provisioning_uri(name=user.phone, issuer_name=ISSUER)


def qr_drawing(user: User, secret: str) -> qr.QrDrawing:
    """Return the key's QR code as an SVG path the template draws inline (zaloan.qr)."""
    return qr.drawing(setup_uri(user, secret))


def digits_of(raw: str) -> str:
    """Return a typed TOTP code without spaces ("123 456"), or '' when it is not six digits."""
    code = "".join((raw or "").split()).replace("-", "")
    return code if len(code) == DIGITS and code.isascii() and code.isdigit() else ""


def matching_step(secret: str, code: str, after: int | None = None) -> int | None:
    """Return the 30-second step `code` belongs to (now, or one step either side), else None.

    Steps at or before `after` (the last one used) never match: a code works once.
    """
    code = digits_of(code)
    if not code or not secret:
        return None
    t = totp(secret)
    now = int(time.time()) // STEP_SECONDS
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(t.at(step * STEP_SECONDS), code):
            return step
    return None


def spend_step(user: User, step: int) -> bool:
    """Mark `step` used for `user`, unless it (or a later one) already was: two requests never both win."""
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        user.totp_last_step = step
        return True
    return False


def _recovery_hash(code: str) -> str:
    return accounts.keyed("recovery:" + accounts.clean_code(code))


def grouped_recovery(code: str) -> str:
    return "-".join(code[i:i + RECOVERY_GROUP] for i in range(0, len(code), RECOVERY_GROUP))


def new_recovery_codes(user: User) -> list[str]:
    """Return ten new recovery codes for `user`; the earlier ones stop working. Only hashes are kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [accounts.random_code(RECOVERY_LENGTH) for _ in range(RECOVERY_COUNT)]
    now = utcnow()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c), created_at=now) for c in codes)
    return [grouped_recovery(c) for c in codes]


def recovery_left(user: User) -> int:
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0


def spend_recovery(user: User, raw: str) -> bool:
    """Spend one unused recovery code of `user` matching `raw`; return whether one was."""
    code = accounts.clean_code(raw)
    if len(code) != RECOVERY_LENGTH:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


@dataclass
class Checked:
    """What a typed code turned out to be: `kind` is 'totp', 'recovery' or '' (wrong)."""

    kind: str

    def __bool__(self) -> bool:
        return bool(self.kind)


def check_code(user: User, raw: str) -> Checked:
    """Accept a current authenticator code (once) or an unused recovery code of `user`, spending it."""
    if not user.two_step_on:
        return Checked("")
    if digits_of(raw):
        step = matching_step(user.totp_secret, raw, after=user.totp_last_step)
        return Checked("totp" if step is not None and spend_step(user, step) else "")
    if spend_recovery(user, raw):
        audit.record("twofactor.recovery_used", actor=user, target=user, left=recovery_left(user))
        return Checked("recovery")
    return Checked("")


# --- Turning it on and off ----------------------------------------------------------------------


def start_setup(user: User) -> None:
    """Make a new key for `user` to put in their app; it is only theirs once they type a code from it."""
    user.totp_pending = new_key()


def confirm_setup(user: User, raw: str) -> list[str] | None:
    """Turn two-step login on with the waiting key if `raw` is its current code; return the recovery codes."""
    step = matching_step(user.totp_pending or "", raw)
    if step is None:
        return None
    renewed = user.two_step_on
    user.totp_secret, user.totp_pending = user.totp_pending, None
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = new_recovery_codes(user)
    audit.record("twofactor.enable", actor=user, target=user, renewed=True if renewed else None)
    return codes


def regenerate(user: User) -> list[str]:
    codes = new_recovery_codes(user)
    audit.record("twofactor.recovery_new", actor=user, target=user)
    return codes


def clear(user: User) -> bool:
    """Forget the key and the recovery codes of `user`; return whether two-step login was on."""
    was_on = user.two_step_on
    user.totp_secret = user.totp_pending = None
    user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return was_on


def turn_off(user: User, kind: str) -> None:
    """The person turns it off themselves (after a code was checked)."""
    clear(user)
    audit.record("twofactor.disable", actor=user, target=user, by_code=kind)


def reset(person: User, *, by: User, reason: str = "reset") -> bool:
    """The commander clears another account's two-step login: its sessions end, it sets up again."""
    was_on = clear(person)
    accounts.revoke_sessions(person)
    audit.record("twofactor.reset", actor=by, target=person, commune_id=person.commune_id, reason=reason)
    return was_on


def note_wrong_code(user: User, stage: str) -> None:
    """Count a wrong code with the wrong passwords of this phone, connection and device, and audit it."""
    accounts.login_gate(user.phone).note(False)
    audit.record("twofactor.wrong_code", target=user, commune_id=user.commune_id, stage=stage)


def wait_for(user: User):
    """Return how long this try must wait (zero: go ahead), counted like the password's (zaloan.accounts.login_gate)."""
    return accounts.login_gate(user.phone).wait


# --- The login's second step --------------------------------------------------------------------


def _password_mark(user: User) -> str:
    """A mark of the current password: a pending login ends when the password changes."""
    return accounts.sha256(user.password_hash or "")[:16]


def begin(user: User, next_url: str | None):
    """Remember a login whose password was right, and ask for the second step (no session yet)."""
    from .web import safe_next

    lang = session.get("lang")
    session.clear()  # nothing of a session before this one survives into the login
    if lang:
        session["lang"] = lang
    session[PENDING_KEY] = {"uid": user.id, "at": int(time.time()), "pw": _password_mark(user),
                            "next": safe_next(next_url)}
    return redirect(url_for("twostep.verify"))


def pending_user() -> tuple[User | None, str | None]:
    """Return (user, next) of the login waiting for its second step, or (None, None) if none is valid."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None, None
    uid, at = data.get("uid"), data.get("at")
    if not isinstance(uid, int) or not isinstance(at, int) or not 0 <= time.time() - at <= PENDING_MINUTES * 60:
        return None, None
    user = db.session.get(User, uid)
    if user is None or not user.active or not user.two_step_on or data.get("pw") != _password_mark(user):
        return None, None
    return user, data.get("next")


def forget_pending() -> None:
    session.pop(PENDING_KEY, None)


# --- The commune's requirement ------------------------------------------------------------------

# What a person who must set up two-step login may still open.
OPEN_WHILE_SETTING_UP = {
    "static", "auth.logout", "auth.logout_everywhere", "auth.language", "auth.favicon",
    "twostep.home", "twostep.start", "twostep.setup", "twostep.verify",
}


def must_set_up(user) -> bool:
    """Whether `user` is logged in but must set up two-step login before anything else."""
    if not getattr(user, "is_authenticated", False) or not must_set_up_as(user.role, user.two_step_on, True):
        return False
    if "must_set_up" not in g:
        g.must_set_up = commune_requires(user)
    return g.must_set_up


def must_set_up_as(role: str, two_step_on: bool, commune_requires_it: bool) -> bool:
    """Whether an account of `role` must set up two-step login first (also before the app builds a request)."""
    return role in REQUIRED_ROLES and not two_step_on and bool(commune_requires_it)


def enforce():
    """Send an officer or commander who must set up two-step login to its page (before_request)."""
    if request.endpoint in OPEN_WHILE_SETTING_UP or request.endpoint is None:
        return None
    if not must_set_up(current_user):
        return None
    target = url_for("twostep.home")
    if getattr(request, "htmx", False):
        from flask import current_app

        resp = current_app.response_class(status=204)
        resp.headers["HX-Redirect"] = target
        return resp
    return redirect(target, 303)


def set_required(commune_id: int, on: bool, *, by: User) -> bool:
    """Turn the commune's requirement on or off; return whether it changed."""
    settings = CommuneSettings.of(commune_id)
    if bool(settings.require_two_step) == on:
        return False
    settings.require_two_step = on
    settings.updated_by_id = by.id
    db.session.add(settings)
    audit.record("commune.settings", actor=by, commune_id=commune_id, require_two_step=on)
    return True
