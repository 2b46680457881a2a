"""Staff accounts: creation, password checks with lock-out, login sessions and API tokens
(both revocable)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from postal.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from postal.core.text import clean
from postal.core.time import TZ
from postal.models import ApiToken, LoginSession, OrgUnit, Role, User, utcnow

USERNAME = re.compile(r"^[a-z0-9_.-]{3,80}$")
MIN_PASSWORD = 10
MIN_STRENGTH = 3  # zxcvbn's score, 0–4: 3 is "safely unguessable" for an online attack
# how passwords are hashed: scrypt by default; the test settings choose a cheap method
_hashing = {"method": "scrypt"}


def use_hash_method(method: str) -> None:
    """Set werkzeug's hashing method for new hashes (stored hashes name their own)."""
    generate_password_hash("probe", method=method)  # an unknown method fails here, at start
    _hashing["method"] = method


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hashing["method"])


@cache
def _dummy_hash(method: str) -> str:
    """A hash to check against when the user does not exist, so timing reveals nothing."""
    return generate_password_hash("not-a-real-password", method=method)


class LoginRefused(DomainError):
    code = "login_refused"
    status = 401


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423


def create_user(
    session: Session, username: str, password: str, role: Role | str, unit: OrgUnit,
    *, full_name: str = "",
) -> User:
    username = clean(username).lower()
    if not USERNAME.match(username):
        raise ValidationFailed(
            "username: 3–80 characters, lower-case letters, digits, . _ -", field="username"
        )
    check_strength(password, username)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(
            f"role must be one of {', '.join(r.value for r in Role)}", field="role"
        ) from None
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists", field="username")
    user = User(
        username=username, password_hash=hash_password(password), role=role,
        unit=unit, full_name=clean(full_name) or username,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, username: str, password: str, *, max_failures: int, lock_minutes: int,
    now: datetime | None = None,
) -> User:
    """The user for these credentials; counts failures and locks the account after too many."""
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == clean(username).lower()))
    if user is None:
        check_password_hash(_dummy_hash(_hashing["method"]), password)
        raise LoginRefused("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(
            f"account locked after {max_failures} failed logins; try again after "
            f"{user.locked_until.astimezone(TZ).strftime('%H:%M')}"
        )
    if not check_password_hash(user.password_hash, password) or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
        session.flush()
        raise LoginRefused("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, hours: int, now: datetime | None = None):
    """A new bearer token; only its hash is stored. Returns (token, expires_at)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=hours)
    session.add(ApiToken(user=user, token_hash=_digest(token), expires_at=expires_at))
    session.flush()
    return token, expires_at


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if (row is None or row.expires_at <= now or row.revoked_at is not None
            or not row.user.active):
        return None
    return row.user


def check_strength(password: str, username: str = "") -> None:
    """At least MIN_PASSWORD characters, and not guessable (zxcvbn, which knows names, words,
    dates, keyboard runs and the username)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"password must have at least {MIN_PASSWORD} characters", field="password"
        )
    if zxcvbn(password[:100], user_inputs=[username] if username else [])["score"] < MIN_STRENGTH:
        raise ValidationFailed("password is too easy to guess: use a few unrelated words, or "
                               "add words and symbols", field="password")


def set_password(session: Session, user: User, password: str) -> None:
    """A new password; every login session and token issued before it stops working."""
    check_strength(password, user.username)
    user.password_hash = hash_password(password)
    revoke_all(session, user)


def deactivate(session: Session, user: User) -> None:
    """No more logins; every open session and token stops working, and stays so if the account
    is activated again."""
    user.active = False
    revoke_all(session, user)


# ---- login sessions -------------------------------------------------------------------------


def start_session(session: Session, user: User, *, now: datetime | None = None) -> str:
    """A new login session for `user`; its key (only the hash is stored) goes in the cookie."""
    key = secrets.token_urlsafe(32)
    session.add(LoginSession(user=user, key_hash=_digest(key), created_at=now or utcnow()))
    session.flush()
    return key


def user_for_session(session: Session, user_id: int, key: str) -> User | None:
    """The user of an open login session; None once it was ended or revoked."""
    row = session.scalar(select(LoginSession).where(LoginSession.key_hash == _digest(key)))
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return None
    return row.user if row.user.active else None


def end_session(session: Session, key: str, *, now: datetime | None = None) -> None:
    """Logout: the session's key opens nothing any more, whoever kept a copy of the cookie."""
    row = session.scalar(select(LoginSession).where(LoginSession.key_hash == _digest(key)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()


def revoke_token(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """The bearer token stops working (its owner's logout); False if there was none."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    session.flush()
    return True


def revoke_all(session: Session, user: User, *, now: datetime | None = None) -> int:
    """End every login session and token of `user` issued so far; how many were open."""
    now = now or utcnow()
    rows = [*session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                        LoginSession.revoked_at.is_(None))),
            *session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                    ApiToken.revoked_at.is_(None)))]
    for row in rows:
        row.revoked_at = now
    session.flush()
    return len(rows)


def unit_by_code(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == clean(code)))
    if unit is None:
        raise NotFound(f"unknown unit {code!r}", field="unit")
    return unit
