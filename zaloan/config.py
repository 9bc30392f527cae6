"""Configuration read from the environment, with safe defaults for one commune."""
import os
from datetime import timedelta
from urllib.parse import urlsplit


class Config:
    """Settings shared by every deployment; each can be overridden by an env var."""

    SECRET_KEY = os.environ.get("SECRET_KEY")  # None: a key is made in instance/
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None: SQLite in instance/
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER")  # None: instance/uploads
    # Photos in an S3-compatible bucket instead of UPLOAD_FOLDER (several app servers): s3://bucket/prefix.
    STORAGE_URL = os.environ.get("STORAGE_URL", "").strip() or None
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "").strip() or None  # MinIO, Ceph...; unset: Amazon S3
    S3_REGION = os.environ.get("S3_REGION", "").strip() or None

    # The audit log's key (see zaloan.audit_keys): never in the database, never SECRET_KEY.
    AUDIT_KEY = os.environ.get("AUDIT_KEY")  # None: a key is made in AUDIT_KEY_FILE
    AUDIT_KEY_FILE = os.environ.get("AUDIT_KEY_FILE")  # None: instance/audit.key
    AUDIT_KEYS_OLD = os.environ.get("AUDIT_KEYS_OLD")  # retired keys, comma-separated, to check older rows
    AUDIT_CHECKPOINT_FILE = os.environ.get("AUDIT_CHECKPOINT_FILE")  # None: instance/audit-checkpoints.txt
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Backup archives (zaloan.backup): encrypted with this key when set (or with the key in BACKUP_KEY_FILE,
    # default instance/backup.key, when that file exists); PostgreSQL's pg_dump/pg_restore from PG_BIN_DIR.
    BACKUP_KEY = os.environ.get("BACKUP_KEY")
    BACKUP_KEY_FILE = os.environ.get("BACKUP_KEY_FILE")
    PG_BIN_DIR = os.environ.get("PG_BIN_DIR")

    # Sessions last long on a personal phone; they are revocable on the server
    # (see zaloan.auth.sessions), so a long cookie life is safe.
    PERMANENT_SESSION_LIFETIME = timedelta(days=int(os.environ.get("SESSION_DAYS", "90")))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "").lower() in ("1", "true", "yes")
    SESSION_COOKIE_NAME = "zaloan_session"
    # The cookie is written when the session changes (log-in, language, a message to show), not on every
    # answer: the server's session row ends at the time set at log-in whatever the cookie says, so a
    # cookie renewed on each request would only cost a signature and a Set-Cookie header every time.
    SESSION_REFRESH_EACH_REQUEST = False

    # Slow phones keep a form open for hours: the CSRF token lives as long as
    # the session instead of Flask-WTF's default one hour.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024)))
    # Text fields in memory (the multipart parser also buffers file chunks against this limit).
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    MAX_FORM_PARTS = 200

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    ACTIVATION_HOURS = 72
    # Static files carry a content hash in their URL, so they can be cached for a year.
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)

    # Where people open the app, e.g. https://zaloan.example.vn. Links given to people
    # (activation links) are built from it, never from a request's Host header; when it
    # is set, requests for any other host are refused, and an https address turns on
    # HSTS and Secure cookies. Unset (development): links use the address the page was
    # opened at. See apply_base_url.
    BASE_URL = os.environ.get("BASE_URL", "").strip() or None

    # Served behind a reverse proxy (nginx) that sets X-Forwarded-*: how many hops to trust.
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))

    # /healthz answers 503 "disk" below this much free space (instance and upload folders), in MB.
    HEALTH_MIN_FREE_MB = int(os.environ.get("HEALTH_MIN_FREE_MB", "200"))
    # How many rendered queue lists each worker keeps (officer.views.rendered_queues); 0 keeps none.
    QUEUE_LISTS_KEPT = int(os.environ.get("QUEUE_LISTS_KEPT", "512"))
    # How many drawn tip pages and people lists each worker keeps (kept.drawn_once); 0 keeps none.
    PAGE_PARTS_KEPT = int(os.environ.get("PAGE_PARTS_KEPT", "512"))
    # The navigation, bell, head and footer links drawn once per role, count and language (web.fixed).
    FIXED_FRAGMENTS = True
    # An unchanged poll answered before the app builds a request (zaloan.unchanged); 0 answers it in the app.
    UNCHANGED_EARLY = os.environ.get("UNCHANGED_EARLY", "1").strip().lower() not in ("0", "false", "no")
    # The request log (zaloan.ops): "text" lines, or "json" (one object per line).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower() or "text"

    # Notifications outside the app (zaloan.notify, zaloan.outbox); each channel is off until its server is set.
    # SMS through an HTTP gateway: the URL, a bearer token, "json" or "form", and the body as a JSON
    # object whose string values may hold {to}, {text} and {id} (the message's unique key).
    NOTIFY_SMS_URL = os.environ.get("NOTIFY_SMS_URL", "").strip() or None
    NOTIFY_SMS_TOKEN = os.environ.get("NOTIFY_SMS_TOKEN", "").strip() or None
    NOTIFY_SMS_FORMAT = os.environ.get("NOTIFY_SMS_FORMAT", "json").strip().lower() or "json"
    NOTIFY_SMS_TEMPLATE = os.environ.get("NOTIFY_SMS_TEMPLATE", "").strip() or '{"to": "{to}", "text": "{text}", "id": "{id}"}'
    # Email over SMTP.
    NOTIFY_SMTP_HOST = os.environ.get("NOTIFY_SMTP_HOST", "").strip() or None
    NOTIFY_SMTP_PORT = int(os.environ.get("NOTIFY_SMTP_PORT", "587"))
    NOTIFY_SMTP_USER = os.environ.get("NOTIFY_SMTP_USER", "").strip() or None
    NOTIFY_SMTP_PASSWORD = os.environ.get("NOTIFY_SMTP_PASSWORD") or None
    NOTIFY_SMTP_STARTTLS = os.environ.get("NOTIFY_SMTP_STARTTLS", "1").lower() in ("1", "true", "yes")
    NOTIFY_SMTP_FROM = os.environ.get("NOTIFY_SMTP_FROM", "").strip() or "zaloan@localhost"
    # Web Push: the VAPID key made by `flask outbox vapid-keys` (None: instance/vapid_private.pem).
    VAPID_PRIVATE_KEY_FILE = os.environ.get("VAPID_PRIVATE_KEY_FILE")
    # Tests only: take push services on plain http and local addresses (a real one is https on the internet).
    NOTIFY_PUSH_ALLOW_HTTP = False
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "").strip() or "mailto:admin@localhost"
    # The worker: how many tries, the first wait (doubled each time), how long a claim holds.
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "6"))
    OUTBOX_BACKOFF_SECONDS = int(os.environ.get("OUTBOX_BACKOFF_SECONDS", "30"))
    OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "120"))

    # Text responses: brotli when the client accepts it, gzip otherwise.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_ALGORITHM_STREAMING = ["br", "gzip"]
    COMPRESS_MIMETYPES = ["text/html", "text/css", "application/javascript", "text/javascript",
                          "application/json", "text/csv", "text/plain", "image/svg+xml"]
    COMPRESS_BR_LEVEL = 6
    COMPRESS_LEVEL = 6
    COMPRESS_MIN_SIZE = 300


def apply_base_url(config) -> None:
    """Derive the host check, URL scheme, HSTS and cookie security from BASE_URL (after overrides)."""
    base = config.get("BASE_URL")
    config["HSTS"] = False
    if not base:
        return
    parts = urlsplit(base)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ValueError(f"BASE_URL must be a bare address such as https://zaloan.example.vn, not {base!r}")
    config["BASE_URL"] = f"{parts.scheme}://{parts.netloc}"
    # Flask answers 400 to a request whose Host is not in this list (see web.refuse_unknown_host).
    if config.get("TRUSTED_HOSTS") is None:
        config["TRUSTED_HOSTS"] = [parts.hostname]
    config["PREFERRED_URL_SCHEME"] = parts.scheme
    if parts.scheme == "https":
        config["SESSION_COOKIE_SECURE"] = True
        config["HSTS"] = True


def dev_address(env=os.environ) -> tuple[str, int]:
    """Return where the development server (`make run`) listens: this machine only, unless HOST says otherwise.

    `HOST=0.0.0.0` opens it to the local network, so a tester can try it on their own phone.
    """
    return env.get("HOST") or "127.0.0.1", int(env.get("PORT") or "5000")
