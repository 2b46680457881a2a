"""Sessions, bearer tokens, role checks and security headers."""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, request
from flask_login import current_user

from postal.core.errors import DomainError, Forbidden
from postal.models import Role, User

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "media-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


def roles_required(*roles: Role):
    """Refuse (401 without login, 403 with another role) before the handler runs."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            refusal = check_roles(roles)
            return refusal if refusal is not None else view(*args, **kwargs)

        # read again before any other decorator runs (see init_app): body validation placed
        # above this decorator must not answer a stranger before the login check does
        wrapped._postal_roles = roles
        return wrapped

    return decorator


def check_roles(roles):
    """None when the current user may go on; otherwise the refusal (or a DomainError)."""
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            raise Unauthorized("log in or send a bearer token")
        from postal.extensions import login_manager

        return login_manager.unauthorized()
    if roles and current_user.role not in roles and current_user.role != Role.ADMIN:
        raise Forbidden(f"this needs the role {' or '.join(r.value for r in roles)}")
    return None


def init_app(app: Flask) -> None:
    from postal.core.accounts import user_for_token
    from postal.extensions import db, login_manager

    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        try:
            uid, version = (int(x) for x in user_id.split(":"))
        except ValueError:
            return None
        user = db.session.get(User, uid)
        if user is None or user.session_version != version:
            return None
        return user

    @login_manager.request_loader
    def _from_bearer(req) -> User | None:
        header = req.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        user = user_for_token(db.session, header[7:].strip())
        if user is not None:
            g.bearer = True
        return user

    @app.before_request
    def _roles_first():
        view = app.view_functions.get(request.endpoint)
        roles = getattr(view, "_postal_roles", None)
        if roles is not None:
            return check_roles(roles)

    @app.before_request
    def _remember_ip():
        from postal.core.audit import client_ip

        client_ip.set(request.remote_addr)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self)")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
