"""Operations: the health check a load balancer probes, and one log line per request.

`/healthz` answers `200 ok`, or `503` with one short word per failed check
(`db`, `disk`): never a count, a version or a path. It is answered first of
all hooks, for any Host (a load balancer may probe by IP address), without
loading the signed-in user, without a session cookie and never from a cache.

Each request logs one line on the logger "zaloan.request": a request id (also
sent back as `X-Request-ID`), the method, the URL *rule* (`/activate/<code>`,
never the path itself, which can hold an activation code or a tip id, nor the
query string), the status and the time in ms. Never a client address, a
phone number, a name, a session id or anything from the form. Plain text by
default, one JSON object per line with `LOG_FORMAT=json`.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import sys
import time
from datetime import datetime, timezone

from flask import Flask, current_app, g, make_response, request
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug.exceptions import SecurityError

from .extensions import db
from .permissions import PUBLIC, allow

HEALTH_PATH = "/healthz"
log = logging.getLogger("zaloan.request")

# A request id from the proxy (nginx's $request_id, a UUID) is kept only when it is this plain.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
LOG_FORMATS = ("text", "json")


# --- Health ------------------------------------------------------------------------------


def database_ok() -> bool:
    """Return True when the database answers `SELECT 1`, on its own short-lived connection."""
    try:
        # Not the request's session: a plain connection, closed (and its BEGIN rolled back) at once.
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar()
        return True
    except Exception:  # noqa: BLE001  (any failure means "not reachable"; the reason goes to the log)
        current_app.logger.warning("health check: the database does not answer", exc_info=True)
        return False


def disk_ok() -> bool:
    """Return True when every folder the app writes to has HEALTH_MIN_FREE_MB free.

    The instance folder (keys; the SQLite database by default) and the SQLite
    database's own folder always; the upload folder when
    photos are kept on this disk. Photos in object storage are not checked: a
    request to the bucket on every probe would cost more than it tells.
    """
    min_free = int(current_app.config.get("HEALTH_MIN_FREE_MB", 200)) * 1024 * 1024
    folders = [current_app.instance_path]
    if not current_app.config.get("STORAGE_URL"):
        folders.append(current_app.config["UPLOAD_FOLDER"])
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folder = os.path.dirname(os.path.abspath(url.database))  # a SQLite file kept outside instance/
        if os.path.isdir(folder):  # a folder that is not there is the database check's to report
            folders.append(folder)
    try:
        return all(shutil.disk_usage(folder).free >= min_free for folder in folders)
    except OSError:
        return False


def health_response():
    """Answer `ok`, or 503 with the failed checks' words, as plain text kept by no cache."""
    failed = [word for word, check in (("db", database_ok), ("disk", disk_ok)) if not check()]
    resp = make_response(" ".join(failed) if failed else "ok", 503 if failed else 200)
    resp.mimetype = "text/plain"
    resp.headers["Cache-Control"] = "no-store"
    g.keepable = True  # no session cookie refreshed or set (see zaloan.SessionInterface)
    g.log_rule = HEALTH_PATH
    return resp


@allow(PUBLIC)
def healthz():
    """The route, so it is in the URL map; health_first answers it before any other hook."""
    return health_response()


def health_first():
    """Answer /healthz before the Host check, the CSRF check, the access rules and the user loader."""
    if request.path != HEALTH_PATH or request.method not in ("GET", "HEAD"):
        return None
    if request.endpoint == "healthz" or isinstance(request.routing_exception, SecurityError):
        return health_response()
    return None


# --- One log line per request ------------------------------------------------------------


class _StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is at the moment (pytest swaps it per test)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging() -> None:
    """Give "zaloan.request" its own handler once per process; it does not pass lines on to Flask's."""
    if any(isinstance(h, _StderrHandler) for h in log.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    # Not up to the "zaloan" logger: Flask may give it a handler of its own, and each line would show twice.
    log.propagate = False


def start_request():
    """Note when the request began and its id (before_request, first of all hooks)."""
    g.request_started = time.perf_counter()
    g.request_id = request_id_of(request.headers.get("X-Request-ID", ""))


def request_id_of(incoming: str) -> str:
    """The request's id: the one the proxy sent when it is well formed, else a new one."""
    return incoming if REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)


def request_line(status: int) -> tuple[str, dict]:
    """Return the log line of this request and its fields: id, method, rule, status, ms."""
    rule = g.get("log_rule") or (request.url_rule.rule if request.url_rule is not None else "-")
    return line_of(g.get("request_id") or "-", request.method, rule, status, g.get("request_started"),
                   current_app.config.get("LOG_FORMAT"))


def line_of(request_id: str, method: str, rule: str, status: int, started: float | None,
            fmt: str | None) -> tuple[str, dict]:
    """The log line of a request and its fields, however it was answered (see `unchanged`)."""
    fields = {
        "request_id": request_id,
        "method": method if method.isalpha() and len(method) <= 10 else "-",
        "rule": rule,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
    }
    if fmt == "json":
        line = json.dumps({"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **fields})
    else:
        line = "request {request_id} {method} {rule} {status} {ms}ms".format(**fields)
    return line, fields


def log_request(line: str, fields: dict) -> None:
    log.info(line, extra={"zaloan_request": fields})


def finish_request(resp):
    """Send the request id back and log the request's line (after_request)."""
    if g.get("request_id"):
        resp.headers["X-Request-ID"] = g.request_id
    log_request(*request_line(resp.status_code))
    return resp


def init_ops(app: Flask) -> None:
    """Register /healthz and the request log; call after init_web, so these hooks run first."""
    fmt = (app.config.get("LOG_FORMAT") or "text").lower()
    if fmt not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be text or json, not {fmt!r}")
    app.config["LOG_FORMAT"] = fmt
    configure_logging()
    app.add_url_rule(HEALTH_PATH, "healthz", healthz, methods=["GET"])
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(0, health_first)
    hooks.insert(0, start_request)
    app.after_request(finish_request)
