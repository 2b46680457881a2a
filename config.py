"""Settings for postal: one class per environment; any value can be overridden from the environment.

Nothing is read at import time: `load()` builds the settings when the app is created.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import time

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
    PUBLIC_BASE_URL = ""
    PHOTO_MAX_BYTES = 2 * 1024 * 1024
    # rows a file import writes per transaction: between two, the counter's intakes get in
    IMPORT_CHUNK_ROWS = 1000
    # how many reverse proxies (nginx) stand in front: their X-Forwarded-* headers are trusted,
    # so rate limits and the audit log see the citizen's address, not the proxy's
    PROXY_COUNT = 0
    # werkzeug's method for new password hashes
    PASSWORD_HASH_METHOD = "scrypt"


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_ENABLED = False
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
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", _text),
    "PROXY_COUNT": ("PROXY_COUNT", _int),
    "PHOTO_MAX_BYTES": ("PHOTO_MAX_BYTES", _int),
    "IMPORT_CHUNK_ROWS": ("IMPORT_CHUNK_ROWS", _int),
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
