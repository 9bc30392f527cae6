"""A person's notifications, their ways of being told, and the commander's undelivered messages."""
from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from flask import abort, current_app, flash, make_response, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from .. import audit, notify, outbox
from ..db_setup import reads_only
from ..extensions import db
from ..models import (
    Channel,
    CommuneChannels,
    Notification,
    NotifyPrefs,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
    Role,
    User,
    utcnow,
)
from ..inputs import to_int
from ..permissions import ANY_USER, allow, get_or_404, notifications_for, outbox_for, owns_notification
from ..web import redirect_to, redirect_to_path, render, safe_next
from . import bp
from .forms import NotifySettingsForm

PAGE_SIZE = 50


@bp.record_once
def _globals(state) -> None:
    app = state.app

    def unread_notes(user) -> int:
        """The header's count; an error page after a failed query still renders (without the count)."""
        try:
            return notify.unread_count(user)
        except SQLAlchemyError:
            db.session.rollback()
            app.logger.exception("counting unread notifications failed")
            return 0

    app.jinja_env.globals["unread_notes"] = unread_notes
    app.jinja_env.globals["note_label"] = notify.text_for_list
    app.cli.add_command(outbox.cli)


@bp.get("/")
@allow(ANY_USER)
@reads_only
def index():
    """List the person's notifications, newest first, unread ones marked."""
    notes = db.session.scalars(
        select(Notification).where(notifications_for(current_user))
        .order_by(Notification.id.desc()).limit(PAGE_SIZE)
    ).all()
    return render("notifications/index.html", notes=notes, unread=sum(1 for n in notes if n.read_at is None))


@bp.post("/<int:notification_id>/open")
@allow(ANY_USER)
def open_note(notification_id: int):
    """Open one notification: it is read, and the page it is about opens."""
    note = get_or_404(Notification, notification_id, owns_notification)
    notify.mark_read(note)
    db.session.commit()
    return redirect_to_path(safe_next(note.url) or notify.LIST_PATH)


@bp.post("/read-all")
@allow(ANY_USER)
def read_all():
    """Mark every notification read."""
    n = notify.mark_all_read(current_user)
    db.session.commit()
    if n:
        flash(_("All notifications are marked read."))
    return redirect_to("notifications.index")


@bp.get("/count")
@allow(ANY_USER)
@reads_only
def count():
    """The header's count, polled: 204 (nothing) or 304 while it is the count the page shows."""
    n = notify.unread_count(current_user)
    etag = f'"n{n}"'
    if request.args.get("n") == str(n) or etag in request.headers.get("If-None-Match", ""):
        resp = make_response("", 204 if request.args.get("n") == str(n) else 304)
        resp.headers["ETag"] = etag
        resp.vary.add("HX-Request")
        return resp
    resp = render("notifications/_bell.html", bell_count=n)
    resp.headers["ETag"] = etag
    return resp


# --- A person's ways of being told -----------------------------------------------------------


def push_key() -> str | None:
    """The VAPID public key a browser subscribes with, or None when Web Push is not set up."""
    return outbox.vapid_public_key()


@bp.route("/settings", methods=["GET", "POST"])
@allow(ANY_USER)
def settings():
    """Choose how to be told of something new: SMS, email, a notice on the phone; quiet hours."""
    prefs = notify.prefs_of(current_user.id)
    form = NotifySettingsForm(obj=prefs if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            if db.session.get(NotifyPrefs, current_user.id) is None:
                db.session.add(prefs)
            prefs.sms_on, prefs.email_on, prefs.push_on = form.sms_on.data, form.email_on.data, form.push_on.data
            prefs.email = form.email.data or ""
            prefs.quiet_from, prefs.quiet_to = form.quiet_from.data, form.quiet_to.data
            prefs.updated_at = utcnow()
            db.session.commit()
            flash(_("Saved."))
            return redirect_to("notifications.settings")
        status = 422
    subs = db.session.scalar(select(func.count()).select_from(PushSubscription)
                             .where(PushSubscription.user_id == current_user.id)) or 0
    ready = notify.commune_channels(current_user.commune_id)
    return render("notifications/settings.html", status=status, form=form, subs=subs, ready=ready,
                  Channel=Channel, vapid_key=push_key() if Channel.PUSH in ready else None)


def _b64url_len(value: str) -> int | None:
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        return None


def push_endpoint_ok(endpoint: str) -> bool:
    """A push service's address: https on a named host (never a bare address of this network)."""
    parts = urlsplit(endpoint)
    if current_app.config.get("NOTIFY_PUSH_ALLOW_HTTP"):
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    host = parts.hostname or ""
    return (parts.scheme == "https" and "." in host and not host.replace(".", "").isdigit()
            and ":" not in host and not host.endswith(".local") and not parts.username)


@bp.post("/push/subscribe")
@allow(ANY_USER)
def push_subscribe():
    """Keep this browser's Web Push subscription (sent by notify-push.js)."""
    endpoint = (request.form.get("endpoint") or "").strip()
    p256dh = (request.form.get("p256dh") or "").strip()
    auth = (request.form.get("auth") or "").strip()
    if (not endpoint or len(endpoint) > 600 or not push_endpoint_ok(endpoint) or len(p256dh) > 200
            or len(auth) > 64 or _b64url_len(p256dh) != 65 or _b64url_len(auth) != 16):
        return make_response(_("This phone could not be set up for notices."), 422)
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        db.session.add(PushSubscription(user_id=current_user.id, endpoint=endpoint, p256dh=p256dh, auth=auth))
    else:
        # One browser, one subscription: a shared phone's notices go to whoever turned them on last.
        row.user_id, row.p256dh, row.auth = current_user.id, p256dh, auth
    db.session.commit()
    return make_response(_("Notices are on for this phone."), 201)


@bp.post("/push/unsubscribe")
@allow(ANY_USER)
def push_unsubscribe():
    """Forget this browser's subscription, or every one of the person's (the form's button)."""
    endpoint = (request.form.get("endpoint") or "").strip()
    q = db.session.query(PushSubscription).filter(PushSubscription.user_id == current_user.id)
    if endpoint:
        q = q.filter(PushSubscription.endpoint == endpoint)
    q.delete(synchronize_session=False)
    db.session.commit()
    if getattr(request, "htmx", False) or request.form.get("endpoint"):
        return make_response(_("Notices are off for this phone."), 200)
    flash(_("Notices on phones are off."))
    return redirect_to("notifications.settings")


# --- The commander: messages that could not be delivered -------------------------------------


def recipient_label(user: User) -> str:
    """An informant by alias only (their name needs the audited 'show identity'); anyone else by name."""
    if user.role == Role.INFORMANT:
        return user.informant.alias if user.informant else "—"
    return user.full_name


def _commune_outbox():
    return outbox_for(current_user)


@bp.get("/outbox")
@allow(Role.COMMANDER)
def outbox_page():
    """List the commune's messages that failed every try, to try again; how many wait; the channels used."""
    dead = db.session.scalars(
        select(OutboxMessage).where(_commune_outbox(), OutboxMessage.status == OutboxStatus.DEAD)
        .options(selectinload(OutboxMessage.user).selectinload(User.informant))
        .order_by(OutboxMessage.id.desc()).limit(100)
    ).all()
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).where(_commune_outbox()).group_by(OutboxMessage.status)
    ).all())
    row = db.session.get(CommuneChannels, current_user.commune_id)
    return render("notifications/outbox.html", dead=dead, counts=counts, label=recipient_label,
                  configured=notify.configured_channels(), Channel=Channel, OutboxStatus=OutboxStatus,
                  channels=row or CommuneChannels(sms_on=True, email_on=True, push_on=True))


@bp.post("/outbox/retry")
@allow(Role.COMMANDER)
def outbox_retry():
    """Try again one undelivered message (`id`), or all of the commune's (`all`)."""
    q = select(OutboxMessage).where(_commune_outbox(), OutboxMessage.status == OutboxStatus.DEAD)
    if request.form.get("all"):
        rows = db.session.scalars(q).all()
    else:
        ident = to_int(request.form.get("id", ""))  # "²" is a digit to Python, not a number
        if ident is None:
            return make_response(_("Choose a message to try again."), 422)
        rows = db.session.scalars(q.where(OutboxMessage.id == ident)).all()
        if not rows:
            abort(404)  # another commune's, sent already, or none: the same answer
    outbox.retry(rows)
    audit.record("commune.outbox_retry", actor=current_user, count=len(rows), ids=[r.id for r in rows][:50])
    db.session.commit()
    flash(_("It will be sent again in a moment."))
    return redirect_to("notifications.outbox_page")


@bp.post("/outbox/channels")
@allow(Role.COMMANDER)
def outbox_channels():
    """Choose which channels the commune uses (each needs its server set up too)."""
    row = db.session.get(CommuneChannels, current_user.commune_id)
    if row is None:
        row = CommuneChannels(commune_id=current_user.commune_id)
        db.session.add(row)
    row.sms_on = bool(request.form.get("sms_on"))
    row.email_on = bool(request.form.get("email_on"))
    row.push_on = bool(request.form.get("push_on"))
    row.updated_at = utcnow()
    audit.record("commune.channels", actor=current_user, sms=row.sms_on, email=row.email_on, push=row.push_on)
    db.session.commit()
    flash(_("Saved."))
    return redirect_to("notifications.outbox_page")
