"""Telling a person their account was given a new way in (a take-over, `accounts.take_over`).

An account's secret is what its holder sent; whoever gets into it reads
that. So a new activation code for an account already in use is never
silent: the browsers that were logged in are told when they next open the
app (only a browser that held a session of the account: a stranger who
knows the phone number learns nothing), and the person is told again, with
the officer's reason, at their next password sign-in.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import flash, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .extensions import db
from .models import AccountTakeover, CommuneSettings, User, UserSession, utcnow

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

# The reasons on offer, in the order shown; the officer adds their own words to each.
REASONS = {
    "lost_phone": _l("Lost phone"),
    "forgot_password": _l("Forgot password"),
    "new_number": _l("Changed phone number"),
    "other": _l("Other"),
}


def reason_label(kind: str) -> str:
    return str(REASONS.get(kind, REASONS["other"]))


def _when(value: datetime) -> dict:
    local = value.replace(tzinfo=timezone.utc).astimezone(LOCAL)
    return {"date": local.strftime("%d/%m/%Y"), "time": local.strftime("%H:%M")}


def _whom_to_tell(commune_id: int) -> str:
    """Say whom to tell if the person did not ask: the commander, and the on-duty number when there is one."""
    duty = CommuneSettings.of(commune_id).duty_phone
    if duty:
        return _("If you did not ask for this, tell the commune police chief at once (on-duty number %(phone)s).",
                 phone=duty)
    return _("If you did not ask for this, tell the commune police chief at once.")


def tell_old_browser(row: UserSession) -> None:
    """Tell the browser holding `row`, a session ended by a take-over, what happened; once.

    Called while loading the session's user: the cookie's session id is
    dropped, so the next request is simply logged out and says nothing more.
    The words name no account: only this browser, which held the session,
    reads them.
    """
    session.pop("sid", None)
    session.pop("_user_id", None)
    flash(_("The commune police gave this account a new activation code at %(time)s on %(date)s, so it was "
            "logged out on this phone.", **_when(row.revoked_at)) + " " + _whom_to_tell(row.user.commune_id),
          "warn")


def tell_at_sign_in(user: User) -> None:
    """At a password sign-in, tell the person of take-overs they have not been told of yet, once.

    The browser that used the new code got its session from the activation,
    not from a password sign-in, so it is never the one told here.
    """
    pending = list(db.session.scalars(
        select(AccountTakeover)
        .where(AccountTakeover.user_id == user.id, AccountTakeover.notice_seen_at.is_(None))
        .order_by(AccountTakeover.created_at.desc(), AccountTakeover.id.desc())
    ))
    if not pending:
        return
    last = pending[0]
    reason = f"{reason_label(last.kind)} ({last.reason})"
    flash(_("Your account was given a new activation code at %(time)s on %(date)s. Reason: %(reason)s.",
            reason=reason, **_when(last.created_at)) + " " + _whom_to_tell(user.commune_id), "warn")
    now = utcnow()
    for row in pending:
        row.notice_seen_at = now


def history(user: User, limit: int = 5) -> list[AccountTakeover]:
    """Return the latest take-overs of an account, newest first (for the person's page)."""
    return list(db.session.scalars(
        select(AccountTakeover).where(AccountTakeover.user_id == user.id)
        .order_by(AccountTakeover.created_at.desc(), AccountTakeover.id.desc()).limit(limit)
    ))
