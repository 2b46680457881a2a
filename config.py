"""Settings for postal: one class per environment; any value can be overridden from the environment.

Nothing is read at import time: `load()` builds the settings when the app is created.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import time
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


class Config:
    """Defaults shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = ""
    SQLALCHEMY_DATABASE_URI = ""
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute"
    PUBLIC_RATE_LIMIT = "30 per minute"
    # failed code-and-phone lookups of one dossier code, from any address (QR tokens are free)
    PUBLIC_CODE_FAILURES = "10 per hour"
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    API_TOKEN_HOURS = 12
    OFFICE_HOURS = "07:30-11:30,13:30-17:00"
    SAME_DAY_CUTOFF = time(15, 0)
    TRANSIT_ALERT_HOURS = 24
    DELIVERY_MAX_ATTEMPTS = 2
    GEOCODER = "offline"
    NOMINATIM_DOMAIN = "nominatim.openstreetmap.org"
    NOMINATIM_SCHEME = "https"
    NOMINATIM_TIMEOUT = 5
    NOTIFY_SENDER = "log"
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_FROM = "postal@localhost"
    # NOTIFY_SENDER=http: an SMS/Zalo gateway (README, "Links to other systems")
    SMS_URL = ""
    SMS_AUTH = ""  # sent as the Authorization header, e.g. "Bearer …" or "Basic …"
    SMS_TEMPLATE = ""  # JSON or form body with {to} {text} {subject} {ref} {segments}
    SMS_ASCII = False  # send Vietnamese without diacritics (GSM-7: 160 characters a segment)
    SMS_RECEIPT_TOKEN = ""  # the gateway's delivery receipts carry it; empty: receipts off
    # national portal sync (DVCQG) and VNPost orders: an empty URL leaves the link off
    PORTAL_SYNC_URL = ""
    PORTAL_SYNC_TOKEN = ""
    PORTAL_STATUSES: dict = {}  # our state -> TrangThaiHoSo, over outbox/portal.py STATUSES
    VNPOST_URL = ""
    VNPOST_CUSTOMER_CODE = ""
    VNPOST_TOKEN = ""
    LINK_TIMEOUT = 10  # seconds a gateway, portal, VNPost or subscriber has to answer
    LINK_MAX_ATTEMPTS = 10  # tries of a webhook, portal or VNPost delivery before dead-letter
    LINK_LEASE = 300  # seconds a claimed delivery waits before another worker may retry it
    PUBLIC_BASE_URL = ""
    PHOTO_MAX_BYTES = 2 * 1024 * 1024
    # the dashboard's target for the share of results delivered home, in percent
    HOME_DELIVERY_TARGET = 30
    # rows a file import writes per transaction: between two, the counter's intakes get in
    IMPORT_CHUNK_ROWS = 1000
    # where uploaded import files wait for a worker (default: the instance folder's imports/);
    # with workers on other machines, a folder they all mount
    IMPORT_FOLDER = ""
    # the task queue (jobs/queue.py): "" = an SQLite file beside the SQLite database (or in the
    # instance folder), "sqlite:////path/queue.db", "redis://host:6379/0", or "memory" (jobs run
    # at once in the caller: tests)
    QUEUE_URL = ""
    QUEUE_NAME = "postal"  # the queue's name (Redis key prefix)
    QUEUE_WORKERS = 2  # threads of `postal worker`, and of the one `postal serve` starts
    # seconds a running job may go without a heartbeat before another worker declares it dead
    QUEUE_LEASE_SECONDS = 60
    # how many reverse proxies (nginx) stand in front: their X-Forwarded-* headers are trusted,
    # so rate limits and the audit log see the citizen's address, not the proxy's
    PROXY_COUNT = 0
    # werkzeug's method for new password hashes
    PASSWORD_HASH_METHOD = "scrypt"
    # single sign-on (OpenID Connect): all three set, or none (then only local accounts)
    OIDC_ISSUER = ""
    OIDC_CLIENT_ID = ""
    OIDC_CLIENT_SECRET = ""
    OIDC_SCOPES = "openid profile email"
    OIDC_PROVIDER_NAME = "SSO"  # the login button's label
    OIDC_TIMEOUT = 10  # seconds for each call to the provider


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_ENABLED = False
    QUEUE_URL = "memory"  # a job runs inside the request that submits it
    # one iteration: a test suite that makes hundreds of users must not spend minutes hashing
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {c.ENV_NAME: c for c in (DevelopmentConfig, TestConfig, ProductionConfig)}


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _time(name: str, raw: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a time like 11:30, got {raw!r}") from None


def _text(name: str, raw: str) -> str:
    return raw


def _flag(name: str, raw: str) -> bool:
    if raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if raw.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _statuses(name: str, raw: str) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int) for k, v in value.items()):
        raise ConfigError(f'{name} must be a JSON object like {{"returned": "10"}}, got {raw!r}')
    return {k: str(v) for k, v in value.items()}


# environment variable -> (setting, parser)
ENVIRONMENT: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "SECRET_KEY": ("SECRET_KEY", _text),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", _text),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", _text),
    "LOGIN_RATE_LIMIT": ("LOGIN_RATE_LIMIT", _text),
    "PUBLIC_RATE_LIMIT": ("PUBLIC_RATE_LIMIT", _text),
    "PUBLIC_CODE_FAILURES": ("PUBLIC_CODE_FAILURES", _text),
    "LOGIN_MAX_FAILURES": ("LOGIN_MAX_FAILURES", _int),
    "LOGIN_LOCK_MINUTES": ("LOGIN_LOCK_MINUTES", _int),
    "API_TOKEN_HOURS": ("API_TOKEN_HOURS", _int),
    "OFFICE_HOURS": ("OFFICE_HOURS", _text),
    "SAME_DAY_CUTOFF": ("SAME_DAY_CUTOFF", _time),
    "TRANSIT_ALERT_HOURS": ("TRANSIT_ALERT_HOURS", _int),
    "DELIVERY_MAX_ATTEMPTS": ("DELIVERY_MAX_ATTEMPTS", _int),
    "GEOCODER": ("GEOCODER", _text),
    "NOMINATIM_DOMAIN": ("NOMINATIM_DOMAIN", _text),
    "NOMINATIM_SCHEME": ("NOMINATIM_SCHEME", _text),
    "NOMINATIM_TIMEOUT": ("NOMINATIM_TIMEOUT", _int),
    "NOTIFY_SENDER": ("NOTIFY_SENDER", _text),
    "SMTP_HOST": ("SMTP_HOST", _text),
    "SMTP_PORT": ("SMTP_PORT", _int),
    "SMTP_FROM": ("SMTP_FROM", _text),
    "SMS_URL": ("SMS_URL", _text),
    "SMS_AUTH": ("SMS_AUTH", _text),
    "SMS_TEMPLATE": ("SMS_TEMPLATE", _text),
    "SMS_ASCII": ("SMS_ASCII", _flag),
    "SMS_RECEIPT_TOKEN": ("SMS_RECEIPT_TOKEN", _text),
    "PORTAL_SYNC_URL": ("PORTAL_SYNC_URL", _text),
    "PORTAL_SYNC_TOKEN": ("PORTAL_SYNC_TOKEN", _text),
    "PORTAL_STATUSES": ("PORTAL_STATUSES", _statuses),
    "VNPOST_URL": ("VNPOST_URL", _text),
    "VNPOST_CUSTOMER_CODE": ("VNPOST_CUSTOMER_CODE", _text),
    "VNPOST_TOKEN": ("VNPOST_TOKEN", _text),
    "LINK_TIMEOUT": ("LINK_TIMEOUT", _int),
    "LINK_MAX_ATTEMPTS": ("LINK_MAX_ATTEMPTS", _int),
    "LINK_LEASE": ("LINK_LEASE", _int),
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", _text),
    "PROXY_COUNT": ("PROXY_COUNT", _int),
    "PHOTO_MAX_BYTES": ("PHOTO_MAX_BYTES", _int),
    "IMPORT_CHUNK_ROWS": ("IMPORT_CHUNK_ROWS", _int),
    "IMPORT_FOLDER": ("IMPORT_FOLDER", _text),
    "QUEUE_URL": ("QUEUE_URL", _text),
    "QUEUE_NAME": ("QUEUE_NAME", _text),
    "QUEUE_WORKERS": ("QUEUE_WORKERS", _int),
    "QUEUE_LEASE_SECONDS": ("QUEUE_LEASE_SECONDS", _int),
    "OIDC_ISSUER": ("OIDC_ISSUER", _text),
    "OIDC_CLIENT_ID": ("OIDC_CLIENT_ID", _text),
    "OIDC_CLIENT_SECRET": ("OIDC_CLIENT_SECRET", _text),
    "OIDC_SCOPES": ("OIDC_SCOPES", _text),
    "OIDC_PROVIDER_NAME": ("OIDC_PROVIDER_NAME", _text),
    "OIDC_TIMEOUT": ("OIDC_TIMEOUT", _int),
    "HOME_DELIVERY_TARGET": ("HOME_DELIVERY_TARGET", _int),
}


def load(overrides: Mapping | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """Settings for POSTAL_ENV (development by default), then the environment, then overrides."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    name = overrides.get("ENV_NAME") or environ.get("POSTAL_ENV") or "development"
    if overrides.get("TESTING"):
        name = "test"
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"POSTAL_ENV must be one of {', '.join(sorted(CONFIGS))}, got {name!r}"
        ) from None
    settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    for var, (key, parse) in ENVIRONMENT.items():
        if name == "test" and var == "DATABASE_URL":
            var = "TEST_DATABASE_URL"
        raw = environ.get(var)
        if raw not in (None, ""):
            settings[key] = parse(var, raw)
    settings.update(overrides)
    validate(settings)
    return settings


def validate(settings: Mapping) -> None:
    """Refuse to start with settings that would fail later in a confusing way."""
    if not settings.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set: export SECRET_KEY=<a long random string>")
    if settings.get("ENV_NAME") == "production" and len(settings["SECRET_KEY"]) < 24:
        raise ConfigError("SECRET_KEY is too short for production: use at least 24 characters")
    url = settings.get("SQLALCHEMY_DATABASE_URI")
    if url:
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            raise ConfigError(
                f"DATABASE_URL is malformed: {url!r} "
                "(expected e.g. sqlite:////path/postal.db or postgresql+psycopg://user@host/db)"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ConfigError(f"DATABASE_URL must be SQLite or PostgreSQL, got {backend!r}")
    _validate_oidc(settings)
    queue = str(settings.get("QUEUE_URL") or "")
    if queue and queue != "memory" and not queue.startswith(
            ("sqlite:///", "redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"QUEUE_URL must be empty, memory, sqlite:////path/queue.db or redis://host:6379/0, "
            f"got {queue!r}")
    if int(settings.get("QUEUE_LEASE_SECONDS") or 0) < 1:
        raise ConfigError("QUEUE_LEASE_SECONDS must be at least 1")
    hours = settings.get("OFFICE_HOURS", "")
    try:
        for session in str(hours).split(","):
            start, end = session.split("-")
            if time.fromisoformat(start.strip()) >= time.fromisoformat(end.strip()):
                raise ValueError
    except ValueError:
        raise ConfigError(
            f"OFFICE_HOURS must look like 07:30-11:30,13:30-17:00, got {hours!r}"
        ) from None


OIDC_SETTINGS = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")


def _validate_oidc(settings: Mapping) -> None:
    """Single sign-on is on with all three settings, off with none; half of it is a mistake.
    The issuer is reached over HTTPS (plain HTTP only on this machine, for tests)."""
    given = [k for k in OIDC_SETTINGS if settings.get(k)]
    if not given:
        return
    if len(given) < len(OIDC_SETTINGS):
        missing = ", ".join(k for k in OIDC_SETTINGS if k not in given)
        raise ConfigError(f"single sign-on is half configured: set {missing} too "
                          f"(or unset {', '.join(given)} to use local accounts only)")
    parts = urlsplit(settings["OIDC_ISSUER"])
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise ConfigError(f"OIDC_ISSUER must be the provider's https:// address, "
                          f"got {settings['OIDC_ISSUER']!r}")
    if "openid" not in str(settings.get("OIDC_SCOPES", "")).split():
        raise ConfigError("OIDC_SCOPES must include openid")
