"""Delivering the outbox: SMS through an HTTP gateway, email over SMTP, Web Push; retries, back-off, dead letters.

A worker (`flask outbox run`) claims due rows, sends each, and marks it sent.
A claim is a lease: the row is "sending" until `lease_until`, and a worker
killed mid-delivery leaves it to be claimed again once the lease ends, so a
message is never lost. Marking a row sent checks the claim is still this
worker's. On PostgreSQL several workers share the outbox (the claim reads with
FOR UPDATE SKIP LOCKED, so two workers never wait on or take the same rows);
on SQLite run one worker (the claim is a conditional UPDATE, so two passes at
once still never both take a row).

A failed try waits OUTBOX_BACKOFF_SECONDS × 2^(tries−1) before the next one;
after OUTBOX_MAX_ATTEMPTS tries the row is dead: the commander sees it and may
try again. Each message carries its own id to the gateway and in the email's
Message-ID, so a gateway that removes duplicates sends a retried one once.
"""
from __future__ import annotations

import json
import logging
import secrets
import signal
import smtplib
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import and_, or_, select, update

from . import notify
from .extensions import db
from .models import Channel, OutboxMessage, OutboxStatus, PushSubscription, Role, utcnow

log = logging.getLogger("zaloan.outbox")
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
POLICE = (Role.OFFICER, Role.COMMANDER)
TIMEOUT = 10  # seconds a channel may take; far below the lease


class DeliveryError(Exception):
    """A try failed and may succeed later (the message is short and never holds the text sent)."""


class Undeliverable(DeliveryError):
    """Trying again cannot help (no address any more): the row goes straight to the dead letters."""


# --- Channels -----------------------------------------------------------------------------------


def message_id(row: OutboxMessage) -> str:
    """The message's own unique key, the same on every try (a gateway can drop a repeat)."""
    return f"zaloan-{row.notification_id}-{row.channel}"


def fill(template, values: dict):
    """Put `values` into every string of a JSON template ("{to}"), never into its structure."""
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    if isinstance(template, str):
        out = template
        for k, v in values.items():
            out = out.replace("{" + k + "}", v)
        return out
    return template


def send_sms(row: OutboxMessage) -> None:
    cfg = current_app.config
    phone = row.user.phone
    if not phone:
        raise Undeliverable("no phone number")
    body = fill(json.loads(cfg["NOTIFY_SMS_TEMPLATE"]),
                {"to": phone, "text": notify.outgoing_message(row.notification.kind), "id": message_id(row)})
    headers = {"User-Agent": "zaloan-outbox"}
    if cfg.get("NOTIFY_SMS_TOKEN"):
        headers["Authorization"] = f"Bearer {cfg['NOTIFY_SMS_TOKEN']}"
    if cfg.get("NOTIFY_SMS_FORMAT") == "form":
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
    req = urllib.request.Request(cfg["NOTIFY_SMS_URL"], data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            resp.read(1024)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"SMS gateway answered HTTP {exc.code}") from None
    except OSError as exc:
        raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}") from None


def send_email(row: OutboxMessage) -> None:
    cfg = current_app.config
    address = notify.prefs_of(row.user_id).email
    if not address:
        raise Undeliverable("no email address")
    msg = EmailMessage()
    msg["Subject"] = "Zalo an ninh"
    msg["From"] = cfg["NOTIFY_SMTP_FROM"]
    msg["To"] = address
    msg["Message-ID"] = make_msgid(idstring=message_id(row), domain="zaloan")
    msg.set_content(notify.outgoing_message(row.notification.kind))
    try:
        with smtplib.SMTP(cfg["NOTIFY_SMTP_HOST"], cfg["NOTIFY_SMTP_PORT"], timeout=TIMEOUT) as smtp:
            if cfg.get("NOTIFY_SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("NOTIFY_SMTP_USER"):
                smtp.login(cfg["NOTIFY_SMTP_USER"], cfg.get("NOTIFY_SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused:
        raise Undeliverable("email address refused") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP failed: {type(exc).__name__}") from None


def push_payload(kind: str) -> str:
    """What a push carries: the neutral sentence and the list's address, nothing else."""
    return json.dumps({"title": "Zalo an ninh", "body": notify.outgoing_text(kind), "url": notify.LIST_PATH},
                      ensure_ascii=False)


def send_push(row: OutboxMessage) -> None:
    from pywebpush import WebPushException, webpush

    cfg = current_app.config
    subs = db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == row.user_id)).all()
    if not subs:
        raise Undeliverable("no phone with notices on")
    delivered, failed = 0, None
    for sub in subs:
        try:
            webpush({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                    data=push_payload(row.notification.kind), vapid_private_key=cfg["VAPID_PRIVATE_KEY_FILE"],
                    vapid_claims={"sub": cfg["VAPID_SUBJECT"]}, ttl=24 * 3600, timeout=TIMEOUT,
                    headers={"Urgency": "high" if row.urgent else "normal"})
            delivered += 1
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                db.session.delete(sub)  # the browser dropped the subscription: forget it
            else:
                failed = f"push service answered {status or 'nothing'}"
        except OSError as exc:
            failed = f"push service unreachable: {type(exc).__name__}"
    if not delivered:
        if failed is None:
            raise Undeliverable("every subscription has expired")
        raise DeliveryError(failed)


SENDERS = {Channel.SMS: send_sms, Channel.EMAIL: send_email, Channel.PUSH: send_push}


# --- Quiet hours -----------------------------------------------------------------------------------


def quiet_until(prefs, now: datetime) -> datetime | None:
    """Return when the person's quiet hours end (UTC) if `now` falls in them, else None."""
    start, end = prefs.quiet_from, prefs.quiet_to
    if start is None or end is None or start == end:
        return None
    local = now.replace(tzinfo=timezone.utc).astimezone(LOCAL)
    t = local.time().replace(second=0, microsecond=0)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(timezone.utc).replace(tzinfo=None)


# --- The worker ---------------------------------------------------------------------------------------


def _due(now: datetime):
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
    )


def claim(now: datetime, batch: int = 50) -> tuple[list[int], str]:
    """Claim up to `batch` due rows for this worker; return their ids and the claim's token. Commits."""
    token = secrets.token_hex(8)
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    q = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    q = q.limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(q))
    claimed = []
    for ident in ids:
        # Conditional: a row another pass took since the read stays theirs.
        won = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == ident, _due(now))
            .values(status=OutboxStatus.SENDING, claim=token, lease_until=lease,
                    attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if won:
            claimed.append(ident)
    db.session.commit()
    return claimed, token


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: doubled each time, at most a day."""
    base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 24 * 3600))


def _finish(row_id: int, token: str, **values) -> bool:
    """Write the outcome of a try, if the claim is still this worker's (a lease taken over is not)."""
    done = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.claim == token,
                                    OutboxMessage.status == OutboxStatus.SENDING)
        .values(claim=None, lease_until=None, **values).execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return done


def deliver(row_id: int, token: str, now: datetime) -> str:
    """Try one claimed row; return what became of it (sent, retry, dead, quiet, lost)."""
    row = db.session.get(OutboxMessage, row_id, populate_existing=True)
    if row is None or row.claim != token:
        return "lost"
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    if row.attempts > max_attempts:
        # Claimed again after its last try's lease ran out (the worker died): no more tries.
        _finish(row_id, token, status=OutboxStatus.DEAD, attempts=max_attempts,
                last_error="the worker stopped during the last try")
        return "dead"
    prefs = notify.prefs_of(row.user_id)
    # Quiet hours hold a message back; an emergency for the police goes through.
    until = None if (row.urgent and row.user.role in POLICE) else quiet_until(prefs, now)
    if until is not None:
        _finish(row_id, token, status=OutboxStatus.PENDING, attempts=row.attempts - 1, next_attempt_at=until)
        return "quiet"
    try:
        SENDERS[row.channel](row)
    except Undeliverable as exc:
        db.session.flush()
        _finish(row_id, token, status=OutboxStatus.DEAD, last_error=str(exc)[:200])
        return "dead"
    except DeliveryError as exc:
        db.session.flush()
        if row.attempts >= max_attempts:
            _finish(row_id, token, status=OutboxStatus.DEAD, last_error=str(exc)[:200])
            return "dead"
        _finish(row_id, token, status=OutboxStatus.PENDING, last_error=str(exc)[:200],
                next_attempt_at=now + backoff(row.attempts))
        return "retry"
    except Exception:  # a bug in a channel must not stop the worker; the row is tried again
        db.session.rollback()
        log.exception("delivering outbox row %s failed", row_id)
        _finish(row_id, token, status=OutboxStatus.PENDING, last_error="internal error",
                next_attempt_at=now + backoff(row.attempts))
        return "retry"
    db.session.flush()
    return "sent" if _finish(row_id, token, status=OutboxStatus.SENT, sent_at=now, last_error="") else "lost"


def release(ids: list[int], token: str) -> None:
    """Hand back claimed rows not tried yet (the worker is stopping): due again at once, no try counted."""
    for ident in ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == ident, OutboxMessage.claim == token,
                                        OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, claim=None, lease_until=None, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False))
    db.session.commit()


def run_once(now: datetime | None = None, batch: int = 50, stop=lambda: False) -> dict[str, int]:
    """Claim the due rows and try each once; return how many ended in each way.

    `stop()` is asked between rows: once it is true (systemd stops the worker),
    the rows not tried yet are handed back for the next worker, at once.
    """
    now = now or utcnow()
    ids, token = claim(now, batch)
    outcome: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if stop():
            release(ids[i:], token)
            outcome["released"] = len(ids) - i
            break
        result = deliver(ident, token, now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def retry(rows) -> None:
    """Give dead rows a fresh set of tries, now (the commander's button). The caller commits."""
    now = utcnow()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = OutboxStatus.PENDING, 0, now
        row.claim, row.lease_until, row.last_error = None, None, ""


# --- VAPID keys ---------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _public_key(path: str, mtime: float) -> str:
    import base64

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def vapid_public_key() -> str | None:
    """The application server key browsers subscribe with (base64url), or None without a key file."""
    path = current_app.config.get("VAPID_PRIVATE_KEY_FILE")
    if not path or not Path(path).exists():
        return None
    return _public_key(path, Path(path).stat().st_mtime)


def make_vapid_key(path: str) -> str:
    """Write a new VAPID private key (PEM, mode 600) to `path`; return its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    target = Path(path)
    target.write_bytes(pem)
    target.chmod(0o600)
    return vapid_public_key()


# --- Commands -------------------------------------------------------------------------------------------


cli = AppGroup("outbox", help="Deliver notifications outside the app (SMS, email, Web Push).")


@cli.command("run")
@click.option("--once", is_flag=True, help="One pass over the due messages, then stop.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.5),
              help="Seconds between passes when nothing is due.")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(min=1, max=1000))
def run_command(once: bool, interval: float, batch: int):
    """Deliver due messages: one pass with --once, otherwise until stopped (SIGTERM ends it after the current row)."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.is_set():
        try:
            outcome = run_once(batch=batch, stop=stopping.is_set)
        except Exception:  # a lost database connection: wait and try again, never exit the loop
            db.session.rollback()
            log.exception("outbox pass failed")
            outcome = {}
        if outcome:
            click.echo(" ".join(f"{k}={v}" for k, v in sorted(outcome.items())))
        db.session.remove()
        if once:
            return
        if not sum(outcome.values()):
            stopping.wait(interval)


@cli.command("vapid-keys")
@click.option("--force", is_flag=True, help="Replace an existing key (every phone must turn notices on again).")
def vapid_keys_command(force: bool):
    """Make the Web Push (VAPID) key in instance/ once, at set-up."""
    path = current_app.config["VAPID_PRIVATE_KEY_FILE"]
    if Path(path).exists() and not force:
        click.echo(f"A key is already in {path}. Public key: {vapid_public_key()}")
        return
    public = make_vapid_key(path)
    click.echo(f"VAPID key written to {path}. Public key: {public}")
