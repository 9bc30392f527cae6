"""Answer "nothing changed" (204) to a poll before the app builds a request for it.

An open queue asks every half minute whether it changed. Almost always
it has not, and the answer is an empty 204. Through the whole app that
answer cost five times a hello-world page: the request and its context, the
account loaded as an object, a dozen hooks. Here it costs one query.

Only that answer is given here, and only when the whole app would give the
very same one. The rules it applies are the app's own, not copies:

- the Host header against TRUSTED_HOSTS, as Flask checks it;
- the session cookie, read by the app's own session interface;
- the server session by `accounts.live_session` (revoked, expired, another
  account, a disabled account: none passes), read with the commune's clock
  in one query (`accounts.SESSION_FACTS`);
- the endpoint's access rule (`permissions.role_may_call`) and two-step
  login (`twofactor.must_set_up_as`);
- the poll's own test of its version (the view's `unchanged` function);
- the same headers (`web.security_headers`) and the same log line (`ops`).

Anything else goes on to the app, which answers it as before: a changed
list, a session to refresh (`accounts.seen_long_ago`), a disguised account
(its idle lock), an account at its home page, a database error, a bad
cookie. An empty 204 tells nothing but that the list its holder already has
is still the list; it is never given to anyone the app would not give it to.
Tests compare both ways of answering on every such case
(tests/test_unchanged.py), which also lists the app's `before_request` hooks
this answer was weighed against: a new one fails it until it is weighed here.
UNCHANGED_EARLY=0 answers every poll through the app.
"""
from __future__ import annotations

import time

from flask import Flask
from itsdangerous import BadSignature
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import SecurityError
from werkzeug.wrappers import Request

from . import accounts, ops, roles
from .extensions import db
from .models import utcnow
from .permissions import role_may_call
from .twofactor import must_set_up_as
from .web import security_headers

STATUS = "204 NO CONTENT"
# What the app's own 204 carries besides: its Vary is the view's (HX-Request), Flask-Compress's and the
# session's (its cookie was read).
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Vary", "HX-Request, Accept-Encoding, Cookie")]


class UnchangedPolls:
    """WSGI middleware in front of the app: an unchanged poll is answered here, anything else by the app."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._paths = None
        self._engine = None

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and self.app.config["UNCHANGED_EARLY"]:
            found = self.paths().get(environ.get("PATH_INFO", ""))
            if found is not None:
                started = time.perf_counter()
                request = Request(environ)
                if self.unchanged(request, *found):
                    return self.answer(request, found[0], started, start_response)
        return self.wsgi_app(environ, start_response)

    def paths(self) -> dict:
        """Path -> (rule, endpoint, its view): the polls that declare an early answer (read on first use)."""
        if self._paths is None:
            paths = {}
            for rule in self.app.url_map.iter_rules():
                view = self.app.view_functions.get(rule.endpoint)
                if getattr(view, "unchanged", None) is not None and not rule.arguments:
                    paths[rule.rule] = (rule.rule, rule.endpoint, view)
            self._paths = paths
        return self._paths

    def engine(self):
        """The engine of the early answer's one query: on PostgreSQL a small pool of its own in autocommit.

        Its connections are born in autocommit, so a poll costs one round trip, with neither a BEGIN nor an
        isolation level set on a shared connection at checkout and set back at checkin (half the poll's
        time on the app's own pool). SQLite reads through the app's engine.
        """
        if self._engine is None:
            with self.app.app_context():
                engine = db.engine
            if engine.dialect.name == "postgresql":  # the operator's engine options too (connect_args, ...)
                options = {**self.app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                           "isolation_level": "AUTOCOMMIT", "pool_size": 2, "max_overflow": 8}
                engine = create_engine(engine.url, **options)
            self._engine = engine
        return self._engine

    def unchanged(self, request: Request, rule: str, endpoint: str, view) -> bool:
        """Whether the app would answer this request with its empty 204 (any doubt: False)."""
        app = self.app
        request.trusted_hosts = app.config.get("TRUSTED_HOSTS")
        try:
            request.host  # noqa: B018  (raises for a host not trusted, as in the app)
        except SecurityError:
            return False
        cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        serializer = app.session_interface.get_signing_serializer(app)
        if not cookie or serializer is None:
            return False
        try:
            data = serializer.loads(cookie, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            return False
        token, cookie_user = data.get("sid"), data.get("_user_id")
        if not isinstance(token, str) or not token or cookie_user is None:
            return False
        facts = self.facts(accounts.sha256(token))
        now = utcnow()
        if facts is None or not accounts.live_session(facts, facts.active, cookie_user, now) \
                or accounts.seen_long_ago(facts, now):
            return False
        info = roles.REGISTRY.get(facts.role)
        if info is None or info.disguised or info.home == endpoint \
                or not role_may_call(facts.role, getattr(view, "access", frozenset())) \
                or must_set_up_as(facts.role, facts.two_step_on, facts.require_two_step):
            return False
        return bool(view.unchanged(facts, request.args))

    def facts(self, token_hash: str):
        """The session's facts (`accounts.SESSION_FACTS`), or None; a database error leaves it to the app."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(accounts.SESSION_FACTS, {"token_hash": token_hash}).first()
        except SQLAlchemyError:
            return None

    def answer(self, request: Request, rule: str, started: float, start_response):
        request_id = ops.request_id_of(request.headers.get("X-Request-ID", ""))
        headers = [*HEADERS, ("X-Request-ID", request_id),
                   *security_headers(bool(self.app.config["HSTS"]) and request.is_secure),
                   ("Cache-Control", "no-store")]
        start_response(STATUS, headers)
        ops.log_request(*ops.line_of(request_id, "GET", rule, 204, started, self.app.config.get("LOG_FORMAT")))
        return []
