"""Account changes in one place: creation, activation, sessions, disabling, lost phones.

Every function here writes its audit record in the same transaction and
leaves the commit to the caller (a view or a command).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import after_this_request, current_app, g, has_request_context, request, session
from sqlalchemy import bindparam, delete, event, func, select, update
from sqlalchemy.orm import Session, aliased, contains_eager

from . import audit
from .extensions import db
from .models import (
    PublicAttempt,
    AccountTakeover,
    CommuneClock,
    CommuneSettings,
    ActivationCode,
    Informant,
    InformantPost,
    LoginAttempt,
    Role,
    TimeWindow,
    Tip,
    TipStatus,
    Unit,
    UnitKind,
    User,
    UserClock,
    UserSession,
    VerifierTitle,
    WatchPoint,
    utcnow,
)
from .permissions import can_use_village, tips_for
from .phones import normalize_phone

# Letters and digits that cannot be misread on a small screen (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

# An activation code is 12 of those 31 signs, shown as ABCD-EFGH-JKMN: 31**12 is about
# 7.9e17 codes (59 bits). Wrong codes are capped at CODE_GUESSES_PER_HOUR (200) an hour
# across every connection, so over a code's 72 hours at most 14,400 guesses are tried;
# even with 10,000 codes waiting at once the chance that any guess hits one is
# 14,400 * 10,000 / 7.9e17, about 2 in ten billion. Codes issued before codes grew to
# 12 signs (8 signs) are looked up the same way and keep working until they expire.
ACTIVATION_CODE_LENGTH = 12
CODE_GROUP = 4


class AccountError(ValueError):
    """A refused account change; `message` is shown to the user (already translated)."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def random_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def grouped_code(code: str) -> str:
    """Return a code as read aloud and typed: groups of four signs joined by dashes (ABCD-EFGH-JKMN)."""
    code = clean_code(code)
    return "-".join(code[i:i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def clean_code(raw: str) -> str:
    """Return an activation code as stored: upper case, no spaces or dashes."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())[:32]


# --- Creating people -----------------------------------------------------------------


def next_alias(commune_id: int) -> str:
    """Return the commune's next informant alias: NT-0001, NT-0002... in each commune of a province."""
    count = db.session.scalar(select(func.count(Informant.id)).where(Informant.commune_id == commune_id)) or 0
    n = count + 1
    while db.session.scalar(select(Informant.id).where(Informant.commune_id == commune_id,
                                                       Informant.alias == f"NT-{n:04d}")):
        n += 1
    return f"NT-{n:04d}"


def create_user(
    *,
    by: User | None,
    phone: str,
    full_name: str,
    role: str,
    commune: Unit,
    village: Unit | None = None,
    title: str | None = None,
    position: str = "",
    handler: User | None = None,
    client_key: str | None = None,
) -> User:
    """Create an account without a password; the person activates it on their own phone."""
    phone = normalize_phone(phone)
    if db.session.scalar(select(User.id).where(User.phone == phone)):
        raise AccountError("phone_taken")
    user = User(
        phone=phone,
        full_name=full_name.strip(),
        role=role,
        commune_id=commune.id,
        village_id=village.id if village is not None and role == Role.VERIFIER else None,
        title=title if role == Role.VERIFIER else None,
        position=position.strip(),
        created_by_id=by.id if by else None,
        client_key=client_key or None,
    )
    db.session.add(user)
    db.session.flush()
    if role == Role.INFORMANT:
        db.session.add(
            Informant(
                user_id=user.id,
                alias=next_alias(commune.id),
                commune_id=commune.id,
                handler_id=handler.id if handler else (by.id if by and by.role == Role.OFFICER else None),
            )
        )
        db.session.flush()
    # The audit row names the account by id and role, never by name or phone.
    audit.record("account.create", actor=by, target=user, commune_id=commune.id, role=role)
    return user


def note_taken_phone(phone: str, *, by: User) -> None:
    """Audit an attempt to create an account with a phone number that already has one.

    The person creating it is only told the number cannot be used (never
    whose it is, nor their role); the commander reads here which account of
    the commune has it, or that it is in another commune.
    """
    try:
        phone = normalize_phone(phone)
    except ValueError:
        return
    existing = db.session.scalar(select(User).where(User.phone == phone))
    here = existing is not None and existing.commune_id == by.commune_id
    audit.record("account.create_refused", actor=by, target=existing if here else None, commune_id=by.commune_id,
                 reason="phone_taken", elsewhere=None if here else True)


def create_user_once(client_key: str | None, *, same, create) -> tuple[User, bool]:
    """Return (user, created): the account an earlier send of this form made, or a new one from `create()`.

    A retried "create account" (a lost answer, a double tap) finds the first
    account by the form's key instead of "this phone already has an account".
    The same key with other content (`same(user)` is False) is refused with
    `cases.KeyReused`.
    """
    from .cases import KeyReused, _once  # cases imports this module

    # Serialise creators first, so a second tap waiting here finds the first one's account by its key.
    audit.lock_writers()
    user, created = _once(User, client_key, "", create)
    if not created and not same(user):
        raise KeyReused()
    return user, created


# --- Activation ------------------------------------------------------------------------


def _new_activation(user: User, *, by: User | None) -> tuple[str, ActivationCode]:
    """Add a new one-time activation code for `user` (earlier unused codes stop working); return it and its row."""
    now = utcnow()
    db.session.execute(
        update(ActivationCode)
        .where(ActivationCode.user_id == user.id, ActivationCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = random_code(ACTIVATION_CODE_LENGTH)
    hours = current_app.config["ACTIVATION_HOURS"]
    row = ActivationCode(
        user_id=user.id,
        code_hash=sha256(code),
        created_by_id=by.id if by else None,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.flush()
    return code, row


def issue_activation(user: User, *, by: User | None) -> str:
    """Return a new one-time activation code for `user`; earlier unused codes stop working.

    For an account already in use, the people pages call `take_over` instead,
    which asks for a reason and tells the person.
    """
    code, _row = _new_activation(user, by=by)
    audit.record("account.activation_issued", actor=by, target=user, commune_id=user.commune_id)
    return code


def has_been_used(user: User) -> bool:
    """Return whether the account was ever used: it has a password, or a session was ever started for it.

    A new way into such an account is a take-over (`take_over`); an account
    still waiting for its first activation only needs its code again.
    """
    if user.password_hash is not None:
        return True
    return db.session.scalar(select(UserSession.id).where(UserSession.user_id == user.id).limit(1)) is not None


TAKEOVER_KINDS = ("lost_phone", "forgot_password", "new_number", "other")
TAKEOVER_REASON_LENGTH = (10, 300)


def take_over(user: User, *, by: User, kind: str, reason: str, lost_phone: bool = False) -> str:
    """Give an account in use a new activation code for a stated reason; return the code.

    Every session of the account ends at once, and those browsers are told
    why when they next open the app; with `lost_phone` the old password is
    cancelled too. The person is told again, with the reason, at their next
    password sign-in (`zaloan.takeover`). One "account.takeover" audit row
    holds the reason: the officer's words, never the person's identity.
    """
    reason = (reason or "").strip()
    low, high = TAKEOVER_REASON_LENGTH
    if kind not in TAKEOVER_KINDS or not low <= len(reason) <= high:
        raise AccountError("reason")
    if by is None or by.id == user.id:
        raise AccountError("self")
    if not user.active:
        raise AccountError("disabled")
    from . import twofactor  # it builds on this module

    sessions = revoke_sessions(user, reason="takeover")
    two_step = False
    if lost_phone:
        user.password_hash = None
        two_step = twofactor.clear(user)  # the authenticator app went with the phone
    code, row = _new_activation(user, by=by)
    db.session.add(AccountTakeover(user_id=user.id, by_id=by.id, kind=kind, reason=reason,
                                   lost_phone=bool(lost_phone), code_id=row.id, created_at=utcnow()))
    audit.record("account.takeover", actor=by, target=user, commune_id=user.commune_id, kind=kind, reason=reason,
                 lost_phone=True if lost_phone else None, sessions=sessions, two_step=True if two_step else None)
    return code


def find_activation(code: str) -> tuple[ActivationCode | None, str]:
    """Return (row, problem) for a code: problem is '', 'unknown', 'used', 'expired' or 'disabled'.

    Callers show one answer for every problem (see `code_wait` and the activation
    views), so a guesser learns nothing about which codes exist.
    """
    code = clean_code(code)
    if not code:
        return None, "unknown"
    row = db.session.scalar(select(ActivationCode).where(ActivationCode.code_hash == sha256(code)))
    if row is None:
        return None, "unknown"
    if row.used_at is not None:
        return row, "used"
    if row.expires_at <= utcnow():
        return row, "expired"
    if not row.user.active:
        return row, "disabled"
    return row, ""


def activate(row: ActivationCode, password: str) -> User:
    """Set the password of the code's account and spend the code."""
    user = row.user
    user.set_password(password)
    row.used_at = utcnow()
    # A code given as a take-over ends the sessions as one: the browsers holding them are told why.
    takeover = db.session.scalar(select(AccountTakeover).where(AccountTakeover.code_id == row.id))
    if takeover is not None:
        takeover.activated_at = row.used_at
    revoke_sessions(user, reason="takeover" if takeover is not None else None)
    audit.record("account.activated", actor=user, target=user)
    return user


# --- Server-side sessions ---------------------------------------------------------------


# A session's last-seen time is written at most this often: a write per request would cost more than it tells.
LAST_SEEN_EVERY = timedelta(minutes=10)


def device_names(user_agent: str) -> tuple[str, str]:
    """Return the browser and system families of a User-Agent ("Chrome Mobile", "Android"); "" when unknown.

    Only these short names are kept: never the whole User-Agent, which with
    its version numbers helps tell one phone from another.
    """
    from user_agents import parse  # its regexes load on first use: commands need not pay for them

    ua = parse((user_agent or "")[:1000])
    return tuple("" if family in ("Other", None) else family[:40] for family in (ua.browser.family, ua.os.family))


def start_session(user: User) -> UserSession:
    """Begin a fresh session for `user`: a new random id, never the one before login."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    token = secrets.token_urlsafe(32)
    now = utcnow()
    browser, system = device_names(request.user_agent.string)
    row = UserSession(
        user_id=user.id,
        token_hash=sha256(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + current_app.permanent_session_lifetime,
        browser=browser,
        os=system,
    )
    db.session.add(row)
    session["sid"] = token
    session.permanent = True
    return row


def current_session_id() -> int | None:
    """Return the id of the session row this request's cookie belongs to (None: not logged in)."""
    return g.get("session_row_id")


# The session, its account, whether the commune requires two-step login, the commune's clock and the
# person's, in one query: it runs before every page (twofactor.commune_requires reads the third from `g`;
# the queue, its poll and what every page shows of its person the clocks, see `clocks_read_with_session`).
# Built once: building it again on every page cost more than sending it (0.18 ms of 0.5).
def _by_token(query):
    """`query` over a session found by its token's hash, with its account, commune settings and commune clock."""
    return (query.join(User, User.id == UserSession.user_id)
            .outerjoin(CommuneSettings, CommuneSettings.commune_id == User.commune_id)
            .outerjoin(CommuneClock, CommuneClock.commune_id == User.commune_id)
            .where(UserSession.token_hash == bindparam("token_hash")))


_SESSION_QUERY = (
    _by_token(select(UserSession, CommuneSettings.require_two_step, CommuneClock.version, UserClock.version))
    .outerjoin(UserClock, UserClock.user_id == User.id)
    .options(contains_eager(UserSession.user))
)


# What an answer given before the app builds a request needs of the session, in one query (`unchanged`):
# whether it holds, its account's role, commune and two-step state, and the commune's clock. Neither the
# account's name nor its phone nor any secret: whether two-step login is on is read as a yes or no.
SESSION_FACTS = _by_token(
    select(UserSession.user_id, UserSession.revoked_at, UserSession.expires_at, UserSession.last_seen_at,
           User.active, User.role, User.commune_id, User.totp_secret.is_not(None).label("two_step_on"),
           CommuneSettings.require_two_step, CommuneClock.version.label("clock"))
    .select_from(UserSession)
)


def live_session(row, active, cookie_user_id, now) -> bool:
    """Whether a server session lets its cookie in: the one test, for every page and every early answer.

    `row` is the session (its `user_id`, `revoked_at` and `expires_at`), `active`
    whether its account is, `cookie_user_id` the account the cookie names.
    """
    return (row is not None and bool(active) and str(cookie_user_id).isdigit()
            and row.user_id == int(cookie_user_id) and row.revoked_at is None and row.expires_at > now)


def seen_long_ago(row, now) -> bool:
    """Whether the session's last-seen time is to be written once this request is over (`touch_session`)."""
    return now - row.last_seen_at >= LAST_SEEN_EVERY


def load_session_user(user_id: str) -> User | None:
    """Return the user of the current cookie if its server session is still valid.

    A last-seen time older than LAST_SEEN_EVERY is refreshed once the request
    is over (see `touch_session`), never in the request's own transaction.
    """
    token = session.get("sid")
    if not token or not str(user_id).isdigit():
        return None
    found = db.session.execute(_SESSION_QUERY, {"token_hash": sha256(token)}).first()
    row, two_step_required, clock, own_clock = found if found is not None else (None, None, None, None)
    now = utcnow()
    if row is not None and row.revoked_reason == "takeover" and row.user_id == int(user_id):
        from .takeover import tell_old_browser

        tell_old_browser(row)
        return None
    if not live_session(row, row and row.user.active, user_id, now):
        return None
    user = row.user
    g.session_row_id = row.id
    g.commune_requires_two_step = (user.id, bool(two_step_required))
    # A clock with no row yet reads 0: its first change makes the row, at 1.
    g.clocks_with_session = (user.id, user.commune_id, clock or 0, own_clock or 0)
    if seen_long_ago(row, now):
        g.touch_session = row.id
    return user


def clocks_read_with_session(user) -> tuple[int, int] | None:
    """The commune's clock and `user`'s as the session query read them at the start of this request, or None.

    None unless `user` is this request's person. Only for a page that reads and
    never writes before it asks: after a write in the same request the clocks
    have moved on, and a value kept under the older ones would be served again.
    """
    known = g.get("clocks_with_session") if has_request_context() else None
    if known is None or user is None or known[0] != getattr(user, "id", None) \
            or known[1] != getattr(user, "commune_id", None) or _written():
        return None
    return known[2], known[3]


def commune_clock_read_with_session(commune_id: int) -> int | None:
    """The commune's clock as the session query read it at the start of this request, or None (as above)."""
    known = g.get("clocks_with_session") if has_request_context() else None
    if known is None or known[1] != commune_id or _written():
        return None
    return known[2]


def _written() -> bool:
    """Whether this request may have changed the database already (or is one that changes it)."""
    return request.method not in ("GET", "HEAD") or bool(g.get("wrote") or db.session.new or db.session.dirty
                                                             or db.session.deleted)


@event.listens_for(Session, "after_flush")
def _remember_a_write(session, flush_context) -> None:
    if has_request_context():
        g.wrote = True


def touch_session() -> None:
    """Write the current session's last-seen time, in a transaction of its own, after the request's work.

    Whatever the request left uncommitted is dropped first: a view commits what
    it means to keep, and the rest would be rolled back at teardown anyway.
    """
    session_id = g.pop("touch_session", None)
    if session_id is None:
        return
    g.pop("reads_only", None)  # this write has a transaction of its own, even after a page that only reads
    db.session.rollback()  # on PostgreSQL this gives back the connection read without one (db_setup.reads_only)
    db.session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow()))
    db.session.commit()


def end_session() -> None:
    """Revoke the current session on the server and clear the cookie."""
    token = session.get("sid")
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == sha256(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    session.clear()


def revoke_sessions(user: User, *, reason: str | None = None, keep_this_device: bool = False) -> int:
    """End every session of `user` at once; their old cookies are refused from now on.

    A `reason` ("takeover") is kept on the ended sessions, so the browser that
    held one can be told what happened when it next opens the app. Their
    devices are no longer trusted either (a lost phone keeps its device
    cookie), except, with `keep_this_device`, the browser asking: someone who
    logs out everywhere because of an attack must not lose their own way in.
    """
    now = utcnow()
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    keep = current_session_id() if keep_this_device else None
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.device_revoked_at.is_(None),
               UserSession.id != (keep or 0))
        .values(device_revoked_at=now)
    )
    return result.rowcount or 0


def live_sessions(user: User) -> list[UserSession]:
    """Return the sessions of `user` still open (not ended, not expired), the most recently used first."""
    return list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow())
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def end_own_session(user: User, session_id: int) -> UserSession | None:
    """End one of `user`'s own sessions (a phone left at the station, a lost one); None when it is not theirs.

    The device of that session is no longer trusted for logging in
    (see `trusted_device`). Ending a session that has already ended changes nothing.
    """
    row = db.session.scalar(select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id))
    if row is None:
        return None
    now = utcnow()
    if row.revoked_at is None and row.expires_at > now:
        row.revoked_at = now
        row.device_revoked_at = row.device_revoked_at or now
        audit.record("logout.device", actor=user, target=user, session=row.id, browser=row.browser or None,
                     os=row.os or None)
    return row


def disable(user: User, *, by: User) -> None:
    """Lock an account: every session ends now and logging in is refused until it is unlocked."""
    if by is not None and by.id == user.id:
        raise AccountError("self")
    user.active = False
    user.disabled_at = utcnow()
    revoke_sessions(user)
    audit.record("account.disable", actor=by, target=user)


def enable(user: User, *, by: User) -> None:
    """Unlock an account; the person logs in again with their password (old sessions stay ended)."""
    user.active = True
    user.disabled_at = None
    audit.record("account.enable", actor=by, target=user)


def lost_phone(user: User, *, by: User) -> str:
    """End every session and the old password; return a new activation code for the new phone."""
    from . import twofactor  # it builds on this module

    revoke_sessions(user)
    user.password_hash = None
    two_step = twofactor.clear(user)
    audit.record("account.lost_phone", actor=by, target=user, two_step=True if two_step else None)
    return issue_activation(user, by=by)


# --- Login throttling -------------------------------------------------------------------

WINDOW = timedelta(minutes=30)
FREE_FAILURES = 5  # failures allowed before a delay starts
CLIENT_FREE_FAILURES = 30  # one station or one mobile carrier NAT serves many people
MAX_DELAY = timedelta(minutes=30)


def keyed(value: str) -> str:
    """Return a keyed hash, so raw phone numbers and addresses are not stored."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode("utf-8"), "sha256").hexdigest()


def _wait_after(failures: list, free: int) -> timedelta:
    """Return how long to wait after the last of `failures`, growing past `free` of them."""
    over = len(failures) - free
    if over < 0:
        return timedelta(0)
    delay = min(timedelta(seconds=15 * (2**over)), MAX_DELAY)
    remaining = failures[0] + delay - utcnow()
    return max(remaining, timedelta(0))


def login_delay(phone_key: str, client_key: str, device_key: str | None = None) -> timedelta:
    """Return how long this login must wait before trying again (zero: go ahead).

    With a trusted device cookie (`device_key`, see `trusted_device`) only that
    device's own failures count: strangers' wrong passwords on the phone never
    keep its owner out. Without one (an untrusted client), the failures of
    untrusted clients on this phone count, and every failure from this
    connection.

    A success forgives only the failures before it on the same phone from the
    same connection and the same device (or both without one): a typo or two
    before the right password. Failures on other phones, or on this phone from
    elsewhere, still count: logging in to one's own account must not buy more
    guesses at other people's, and the owner logging in with their device
    cookie does not forgive a stranger's guesses.
    """
    since = utcnow() - WINDOW
    later_success = aliased(LoginAttempt)
    forgiven = (
        select(later_success.id)
        .where(
            later_success.phone_key == LoginAttempt.phone_key,
            later_success.client_key == LoginAttempt.client_key,
            later_success.device_key.is_not_distinct_from(LoginAttempt.device_key),
            later_success.success.is_(True),
            later_success.created_at > LoginAttempt.created_at,
        )
        .exists()
    )

    def failures(*where):
        return db.session.scalars(
            select(LoginAttempt.created_at)
            .where(*where, LoginAttempt.created_at >= since, LoginAttempt.success.is_(False), ~forgiven)
            .order_by(LoginAttempt.created_at.desc())
        ).all()

    if device_key is not None:
        return _wait_after(failures(LoginAttempt.device_key == device_key), FREE_FAILURES)
    return max(
        _wait_after(failures(LoginAttempt.phone_key == phone_key, LoginAttempt.device_key.is_(None)), FREE_FAILURES),
        _wait_after(failures(LoginAttempt.client_key == client_key), CLIENT_FREE_FAILURES),
    )


def note_attempt(phone_key: str, client_key: str, success: bool, device_key: str | None = None) -> None:
    db.session.add(LoginAttempt(phone_key=phone_key, client_key=client_key, success=success, device_key=device_key))


def client_key() -> str:
    """Return the keyed hash of the client's address (behind the proxy, the address it saw)."""
    return keyed("client:" + (request.remote_addr or "unknown"))


# --- Device cookies ---------------------------------------------------------------------
#
# OWASP, "Slow Down Online Guessing Attacks with Device Cookies": a browser that
# logged in to an account gets a cookie naming (that account, a random nonce),
# signed with a key of the server. With it, logging in to that account counts
# only that browser's own failures; anyone else's wrong passwords on the phone
# slow down untrusted clients only, so a stranger cannot keep the commander out.
# A device past its own allowance is refused until its wait ends (OWASP's
# lockout list); it is not let through as an untrusted client meanwhile, or a
# thief holding the phone would get the untrusted allowance on top.
#
# The cookie holds no account id: each token is the nonce and an HMAC of
# (account id, nonce), checked against the account of the phone typed. The
# server keeps the keyed hash of the nonce on the session the login began, so
# a device can be forgotten (ending that session from elsewhere, logging out
# everywhere, a lost phone) and a forged token needs more than the key.

DEVICE_COOKIE = "zaloan_device"
DEVICE_LIFETIME = timedelta(days=365)
DEVICE_TOKENS = 5  # accounts one browser remembers: a shared computer at the station
_TOKEN_PART = 22  # 16 random bytes and a 16-byte MAC, each in 22 URL-safe base64 signs
_TOKEN_SIGNS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def device_key(nonce: str) -> str:
    """Return what the server stores of a device cookie's nonce: its keyed hash."""
    return keyed("device:" + nonce)


def _device_mac(user_id: int, nonce: str) -> str:
    secret = hmac.new(current_app.config["SECRET_KEY"].encode(), b"zaloan device cookie", "sha256").digest()
    mac = hmac.new(secret, f"{user_id}:{nonce}".encode(), "sha256").digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _device_tokens() -> list[tuple[str, str]]:
    """Return the (nonce, mac) pairs of this request's device cookie; anything malformed is ignored."""
    tokens = []
    for part in request.cookies.get(DEVICE_COOKIE, "").split(".")[:DEVICE_TOKENS]:
        if len(part) == 2 * _TOKEN_PART and set(part) <= _TOKEN_SIGNS:
            tokens.append((part[:_TOKEN_PART], part[_TOKEN_PART:]))
    return tokens


def trusted_device(phone: str) -> str | None:
    """Return the device key of this browser's cookie for the account of `phone` when it is trusted, else None.

    Trusted: the MAC is right for that account, the server gave it with a login
    to that account less than DEVICE_LIFETIME ago, and it has not been
    forgotten since. Whether it is locked for its own failures is
    `login_delay`'s to say.
    """
    tokens = {device_key(nonce): (nonce, mac) for nonce, mac in _device_tokens()}
    if not tokens:
        return None
    rows = db.session.execute(
        select(UserSession.device_key, UserSession.user_id)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.device_key.in_(list(tokens)),
            UserSession.device_revoked_at.is_(None),
            UserSession.created_at > utcnow() - DEVICE_LIFETIME,
            User.phone == phone,
        )
    ).all()
    for key, user_id in rows:
        nonce, mac = tokens[key]
        if hmac.compare_digest(mac, _device_mac(user_id, nonce)):
            return key
    return None


@dataclass
class LoginGate:
    """One try at the login form: who is counted for it, and how long it must wait first."""

    phone_key: str
    client_key: str
    device_key: str | None  # None: an untrusted client
    wait: timedelta

    def note(self, success: bool) -> None:
        """Count this try, for the phone, the connection and the device it came with."""
        note_attempt(self.phone_key, self.client_key, success, self.device_key)


def login_gate(phone: str) -> LoginGate:
    """Return the gate for a login to `phone` (E.164) from this request: its counters and its wait."""
    phone_key = keyed("phone:" + phone)
    client = client_key()
    device = trusted_device(phone)
    return LoginGate(phone_key, client, device, login_delay(phone_key, client, device))


def after_login_success(user: User) -> UserSession:
    """Begin the session of someone who has just proved who they are, and remember this browser as their device.

    Call it wherever a login completes (the password form, an activation, a
    later second step) instead of `start_session`. The new device cookie is
    set on the response through `after_this_request`, so the caller need not
    hold the response. An older device token of this account in the cookie is
    replaced and no longer trusted; the tokens of other accounts stay.
    """
    row = start_session(user)
    nonce = secrets.token_urlsafe(16)
    row.device_key = device_key(nonce)
    mine, others = [], []
    for n, mac in _device_tokens():
        (mine if hmac.compare_digest(mac, _device_mac(user.id, n)) else others).append(n + mac)
    if mine:
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.device_key.in_([device_key(t[:_TOKEN_PART]) for t in mine]),
                   UserSession.device_revoked_at.is_(None))
            .values(device_revoked_at=utcnow())
        )
    value = ".".join([nonce + _device_mac(user.id, nonce)] + others[: DEVICE_TOKENS - 1])
    secure = current_app.session_interface.get_cookie_secure(current_app)

    @after_this_request
    def _set_device_cookie(response):
        response.set_cookie(DEVICE_COOKIE, value, max_age=int(DEVICE_LIFETIME.total_seconds()), path="/",
                            secure=secure, httponly=True, samesite="Lax")
        return response

    return row


# --- Forms open to anyone ----------------------------------------------------------------
#
# Anonymous tips, their answers and follow-up codes need no account, so they are counted per
# client address, in the database (shared by all workers). The limits are
# generous: one mobile carrier address can serve a whole village.

PUBLIC_LIMITS = {
    "tip": (10, timedelta(hours=1)),  # anonymous tips sent
    "answer": (20, timedelta(hours=1)),  # anonymous answers sent in a tip's thread
    "lookup": (20, timedelta(hours=1)),  # wrong code and key pairs tried
    "code": (10, timedelta(hours=1)),  # wrong activation codes tried
}

# Wrong activation codes from all connections together, an hour: many addresses
# (a botnet) must not add up to free guessing. While the cap is reached nobody can
# activate, which is the price of that; a real person retries within the hour.
CODE_GUESSES_PER_HOUR = 200


def public_wait(kind: str, client: str | None) -> timedelta:
    """Return how long this client must wait before using the `kind` form again (zero: go ahead).

    With `client` None, count every connection's uses together against CODE_GUESSES_PER_HOUR
    (only the activation code has one).
    """
    limit, window = PUBLIC_LIMITS[kind]
    now = utcnow()
    query = select(PublicAttempt.created_at).where(PublicAttempt.kind == kind, PublicAttempt.created_at >= now - window)
    if client is None:
        limit = CODE_GUESSES_PER_HOUR
    else:
        query = query.where(PublicAttempt.client_key == client)
    times = db.session.scalars(query.order_by(PublicAttempt.created_at.desc()).limit(limit)).all()
    if len(times) < limit:
        return timedelta(0)
    return max(times[-1] + window - now, timedelta(seconds=1))


def note_public(kind: str, client: str) -> None:
    """Count one use of the `kind` form by this client, and forget counts older than any limit."""
    db.session.add(PublicAttempt(kind=kind, client_key=client))
    oldest = max(window for _, window in PUBLIC_LIMITS.values())
    db.session.execute(delete(PublicAttempt).where(PublicAttempt.created_at < utcnow() - oldest))


def code_wait(client: str) -> timedelta:
    """Return how long before activation codes may be tried again from this client (zero: go ahead).

    Checked before a code is even looked up: past the limit a right code is
    refused too, or the limit would only slow the search for one.
    """
    return max(public_wait("code", client), public_wait("code", None))


# --- Areas and handover ------------------------------------------------------------------
#
# Each change below checks what it is given (a tampered form never gets this
# far, but a second line costs little), writes one audit record naming ids
# only, and leaves the commit to the caller.


def _village_of_commune(village: Unit | None, commune_id: int) -> bool:
    commune = village.commune() if village is not None else None
    return village is not None and village.kind == UnitKind.VILLAGE and commune is not None and commune.id == commune_id


def set_verifier_place(person: User, *, village: Unit, title: str, by: User) -> None:
    """Move a verifier to `village` with `title` (one of VerifierTitle)."""
    if person.role != Role.VERIFIER:
        raise AccountError("role")
    if title not in VerifierTitle.ALL:
        raise AccountError("title")
    if not _village_of_commune(village, person.commune_id) or not can_use_village(by, village):
        raise AccountError("village")
    was = person.village_id
    person.village_id, person.title = village.id, title
    audit.record("verifier.place", actor=by, target=person, village=village.id, was=was, title=title)


def set_informant_posts(informant: Informant, posts: list[tuple[WatchPoint, TimeWindow | None]], *, by: User) -> None:
    """Set the watch points (and time windows) an informant keeps watch at.

    Each informant keeps their own channel whatever the post: two informants
    at one market never see each other (the model's first rule).
    """
    wanted: dict[tuple[int, int | None], tuple[WatchPoint, TimeWindow | None]] = {}
    for point, window in posts:
        if not _village_of_commune(point.village, informant.commune_id):
            raise AccountError("post")
        if window is not None and window.watch_point_id != point.id:
            raise AccountError("post")
        wanted[(point.id, window.id if window else None)] = (point, window)
    # Keep the rows that stay; the unique (informant, point, window) rows are never deleted and re-added.
    for post in list(informant.posts):
        if (post.watch_point_id, post.time_window_id) not in wanted:
            informant.posts.remove(post)
    have = {(p.watch_point_id, p.time_window_id) for p in informant.posts}
    for key in wanted:
        if key not in have:
            informant.posts.append(InformantPost(watch_point_id=key[0], time_window_id=key[1]))
    audit.record("informant.posts", actor=by, target=informant, posts=sorted([list(k) for k in wanted],
                                                                             key=lambda k: (k[0], k[1] or 0)))


def set_informant_handler(informant: Informant, handler: User, *, by: User) -> None:
    """Give an informant to another officer (the commander only)."""
    if by.role != Role.COMMANDER or by.commune_id != informant.commune_id:
        raise AccountError("not_allowed")
    if handler.role != Role.OFFICER or not handler.active or handler.commune_id != informant.commune_id:
        raise AccountError("handler")
    if informant.handler_id == handler.id:
        return
    was = informant.handler_id
    informant.handler_id = handler.id
    audit.record("informant.handler", actor=by, target=informant, handler=handler.id, was=was)


def set_officer_villages(officer: User, villages: list[Unit], *, by: User) -> dict:
    """Make `villages` exactly the villages `officer` is in charge of (the commander only).

    A village taken from another officer leaves that officer's area; its
    tips move with it, since tips belong to the village.
    """
    if by.role != Role.COMMANDER or officer.role != Role.OFFICER or officer.commune_id != by.commune_id:
        raise AccountError("not_allowed")
    if any(not _village_of_commune(v, officer.commune_id) for v in villages):
        raise AccountError("village")
    chosen = {v.id for v in villages}
    added = [v.id for v in villages if v.officer_id != officer.id]
    removed = [v.id for v in officer.areas() if v.id not in chosen]
    for v in villages:
        v.officer_id = officer.id
    for v in officer.areas():
        if v.id in removed:
            v.officer_id = None
    if added or removed:
        audit.record("officer.villages", actor=by, target=officer, added=sorted(added), removed=sorted(removed))
    return {"added": added, "removed": removed}


@dataclass
class HandoverPlan:
    """What moves when an officer hands over: shown before the commander confirms."""

    villages: list[Unit]
    informants: list[Informant]
    open_tips: list[Tip]


def handover_plan(leaving: User) -> HandoverPlan:
    """Return the villages, informants and open tips that `leaving` would hand over."""
    villages = leaving.areas()
    informants = list(
        db.session.scalars(select(Informant).where(Informant.handler_id == leaving.id).order_by(Informant.alias))
    )
    # The open tips the officer works on (the same rule as their queue): a tip follows its village,
    # a tip without a village its sender's handler.
    tips = list(db.session.scalars(select(Tip).where(tips_for(leaving), Tip.status.in_(TipStatus.OPEN))
                                   .order_by(Tip.id)))
    return HandoverPlan(villages, informants, tips)


def handover(from_officer: User, to_officer: User, by: User, *, disable_leaving: bool = False) -> dict:
    """Move an officer's villages, informants and open tips to another officer in one step.

    The seed's continuity rule: when an officer changes post or loses their
    phone, the replacement takes over and nothing is lost. Returns the counts
    written to the single "officer.handover" audit record.
    """
    if by.role != Role.COMMANDER or by.commune_id != from_officer.commune_id:
        raise AccountError("not_allowed")
    if from_officer.role != Role.OFFICER or to_officer.role != Role.OFFICER or from_officer.id == to_officer.id:
        raise AccountError("handover_same")
    if not to_officer.active or to_officer.commune_id != from_officer.commune_id:
        raise AccountError("handover_target")
    plan = handover_plan(from_officer)
    for v in plan.villages:
        v.officer_id = to_officer.id
    for i in plan.informants:
        i.handler_id = to_officer.id
    from . import cases  # cases imports this module

    cases.hand_over(plan.open_tips, by=by, to=to_officer, was=from_officer)
    counts = {"villages": len(plan.villages), "informants": len(plan.informants), "open_tips": len(plan.open_tips)}
    audit.record("officer.handover", actor=by, target=from_officer, to=to_officer.id,
                 disabled=True if disable_leaving else None, **counts)
    if disable_leaving and from_officer.active:
        disable(from_officer, by=by)
    return counts
