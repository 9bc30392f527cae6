"""zaloan: the "Zalo an ninh" model of commune police, as a small web app."""
from __future__ import annotations

import os
import secrets
from datetime import timezone
from zoneinfo import ZoneInfo
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_datetime, format_timedelta
from werkzeug.middleware.proxy_fix import ProxyFix

from . import storage
from .config import Config, apply_base_url
from .extensions import babel, compress, csrf, db, htmx, login_manager, migrate


def _instance_secret(app: Flask) -> str:
    """Return the secret key kept in instance/, making one on first run."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS (directly or via the proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    # A photo the browser may keep (images.send_photo) is answered without writing the
    # cookie and without `Vary: Cookie`: the cookie changes whenever the session does (a
    # language, a message to show), and a kept copy that varies with it would be asked for
    # again after each change.
    def should_set_cookie(self, app: Flask, session) -> bool:
        if g.get("keepable") and not session.modified:
            return False
        return super().should_set_cookie(app, session)

    def save_session(self, app: Flask, session, response) -> None:
        super().save_session(app, session, response)
        if g.get("keepable"):
            vary = [v for v in response.vary if v.lower() != "cookie"]
            response.headers.pop("Vary", None)
            if vary:
                response.headers["Vary"] = ", ".join(vary)


def select_locale() -> str:
    if not has_request_context():
        return "vi"  # commands and background work speak Vietnamese
    lang = session.get("lang")
    return lang if lang in ("vi", "en") else "vi"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, hooks."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if test_config:
        app.config.update(test_config)
    apply_base_url(app.config)
    app.session_interface = SessionInterface()
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "zaloan.sqlite")
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
    # The store of uploaded files (zaloan.storage): a wrong STORAGE_URL stops the start, not the first upload.
    app.extensions["zaloan.storage"] = storage.from_config(app.config)
    if not app.config.get("AUDIT_KEY_FILE"):
        app.config["AUDIT_KEY_FILE"] = os.path.join(app.instance_path, "audit.key")
    if not app.config.get("AUDIT_CHECKPOINT_FILE"):
        app.config["AUDIT_CHECKPOINT_FILE"] = os.path.join(app.instance_path, "audit-checkpoints.txt")
    if not app.config.get("VAPID_PRIVATE_KEY_FILE"):
        app.config["VAPID_PRIVATE_KEY_FILE"] = os.path.join(app.instance_path, "vapid_private.pem")
    from .unchanged import UnchangedPolls

    app.wsgi_app = UnchangedPolls(app, app.wsgi_app)  # inside the proxy's fix: it reads the scheme and host
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)

    from . import accounts, models  # noqa: F401  (models register their tables)
    from .db_setup import configure_engine

    configure_engine(app)

    login_manager.session_protection = None  # mobile addresses change all the time
    login_manager.login_view = "auth.login"
    login_manager.user_loader(accounts.load_session_user)

    from .formkit import init_forms
    from .inputs import init_inputs
    from .web import init_web

    init_web(app)
    from .ops import init_ops

    init_ops(app)  # after init_web: /healthz and the request id come before the Host check
    init_inputs(app)
    init_forms(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_errors(app)

    from .permissions import enforce_access

    app.before_request(enforce_access)
    from .twofactor import enforce as enforce_two_step

    app.before_request(enforce_two_step)  # after the access rules: a closed page stays closed
    from .safety.lock import init_lock

    init_lock(app)  # an idle informant session answers the PIN page, after the access rules

    from .audit import init_audit

    init_audit(app)

    from .faults import init_faults

    init_faults(app)

    from .commands import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from .auditlog import bp as auditlog_bp
    from .auth import bp as auth_bp
    from .commander import bp as commander_bp
    from .commend import bp as commend_bp
    from .informant import bp as informant_bp
    from .observer import bp as observer_bp
    from .officer import bp as officer_bp
    from .people import bp as people_bp
    from .photos import bp as photos_bp
    from .places import bp as places_bp
    from .province import bp as province_bp
    from .public import bp as public_bp
    from .safety import bp as safety_bp
    from .report import bp as report_bp
    from .twostep import bp as twostep_bp
    from .verifier import bp as verifier_bp
    from .notifications import bp as notifications_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(informant_bp, url_prefix="/informant")
    app.register_blueprint(verifier_bp, url_prefix="/verifier")
    app.register_blueprint(officer_bp, url_prefix="/officer")
    app.register_blueprint(commander_bp, url_prefix="/commander")
    app.register_blueprint(observer_bp, url_prefix="/observer")
    app.register_blueprint(photos_bp, url_prefix="/photos")
    app.register_blueprint(people_bp, url_prefix="/people")
    app.register_blueprint(places_bp, url_prefix="/places")
    app.register_blueprint(auditlog_bp, url_prefix="/audit")
    app.register_blueprint(public_bp)
    app.register_blueprint(twostep_bp, url_prefix="/two-step")
    app.register_blueprint(province_bp, url_prefix="/province")
    app.register_blueprint(commend_bp, url_prefix="/commendations")


    app.register_blueprint(notifications_bp, url_prefix="/notifications")


    # Announcements and the model's operating rules (propaganda).
    from .news import bp as news_bp

    app.register_blueprint(news_bp, url_prefix="/news")
    from .charter import bp as charter_bp

    app.register_blueprint(charter_bp, url_prefix="/rules")
    app.register_blueprint(safety_bp)
    app.register_blueprint(report_bp, url_prefix="/reports")

    # Building the model village by village: the three steps, the coverage grid, the village survey.
    from .build import bp as build_bp

    app.register_blueprint(build_bp, url_prefix="/build")

    # Voice notes on tips, answers and reports.
    from .voices import bp as voices_bp

    app.register_blueprint(voices_bp, url_prefix="/voices")

    # The standing channel between each informant and the commune police.
    from .channel import bp as channel_bp

    app.register_blueprint(channel_bp, url_prefix="/channel")


NUMERIC_FORMATS = {"HH:mm dd/MM/yyyy": "%H:%M %d/%m/%Y", "HH:mm dd/MM": "%H:%M %d/%m", "HH:mm dd/MM/yy": "%H:%M %d/%m/%y"}
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _register_template_helpers(app: Flask) -> None:
    from . import labels, roles
    from .permissions import PREDICATES
    from .phones import display_phone

    app.jinja_env.tests.update(PREDICATES)
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.globals["role_of"] = roles.of
    app.jinja_env.globals["role_named"] = roles.REGISTRY.get
    app.jinja_env.filters["phone"] = display_phone
    # A number as a tel: link wants only its digits (and a leading +): "0205 3881 234" -> "02053881234".
    app.jinja_env.filters["tel"] = lambda number: "".join(ch for ch in str(number or "") if ch.isdigit() or ch == "+")

    @app.template_filter("dt")
    def _dt(value, fmt="HH:mm dd/MM/yyyy"):
        """Show a stored UTC time in Asia/Ho_Chi_Minh, 24-hour Vietnamese form (21:30 28/11/2026)."""
        if not value:
            return ""
        pattern = NUMERIC_FORMATS.get(fmt)
        if pattern is None:
            return format_datetime(value, fmt)
        # The numeric forms need no locale data: a plain strftime is ten times cheaper on long lists.
        return value.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).strftime(pattern)

    @app.template_filter("ago")
    def _ago(value, now=None):
        """Show how long ago a stored UTC time was, in words ("12 phút trước")."""
        from .models import utcnow

        if not value:
            return ""
        return format_timedelta(value - (now or utcnow()), add_direction=True, granularity="minute")

    from sqlalchemy.exc import SQLAlchemyError

    from .cases import unread_emergencies

    def _unread_emergencies(user) -> int:
        """The navigation's count; an error page after a failed query still renders (without the count)."""
        try:
            return unread_emergencies(user)
        except SQLAlchemyError:
            db.session.rollback()  # the request failed already: nothing of it is kept
            app.logger.exception("counting unread emergencies failed")
            return 0

    app.jinja_env.globals["unread_emergencies"] = _unread_emergencies

    from . import deadlines

    # A tip's time left to its deadline, in words with its mark ("còn 3 ngày", "⛔ Quá hạn"): police pages only.
    app.jinja_env.globals["time_left"] = deadlines.time_left
    app.jinja_env.globals["task_time_left"] = deadlines.task_time_left

    @app.context_processor
    def _ctx():
        return {"current_lang": select_locale()}


def _register_errors(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from .errors import csrf_error, http_error

    app.register_error_handler(CSRFError, csrf_error)
    for code in (400, 403, 404, 405, 413, 429, 500, 503):
        app.register_error_handler(code, http_error)
