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
        _document_refusals(wrapped, roles)
        return wrapped

    return decorator


def _document_refusals(view, roles) -> None:
    """The API's OpenAPI document names the answers this check gives (401, and 403 when only
    some roles may pass), whatever the route's own @doc lists."""
    spec = getattr(view, "_spec", None)
    if spec is None:
        return
    responses = spec.setdefault("responses", {})
    wanted = {401: "no login"}
    if roles:
        wanted[403] = "not " + " or ".join(r.value for r in roles)
    if isinstance(responses, dict):
        for status, text in wanted.items():
            responses.setdefault(status, text)
    else:
        responses.extend(status for status in wanted if status not in responses)


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


# One login budget for the login page and the token endpoint together: per client address, and
# per account named whatever the address (LOGIN_RATE_LIMIT each), in the limiter's storage.
LOGIN_SCOPE = "login"
LOGIN_ACCOUNT_SCOPE = "login_account"


def login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


def login_account() -> str:
    """The account a login attempt names, from the form or the JSON body."""
    name = request.form.get("username") if request.form else None
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    return "account:" + str(name or "").strip().lower()[:80]


def login_budgets(view):
    """Both login budgets on a login route (POST only)."""
    from postal.extensions import limiter

    view = limiter.shared_limit(login_limit, scope=LOGIN_ACCOUNT_SCOPE, key_func=login_account,
                                methods=["POST"])(view)
    return limiter.shared_limit(login_limit, scope=LOGIN_SCOPE, methods=["POST"])(view)


def session_for(db_session, user: User) -> dict:
    """A new login session of `user` (a row the server can end) and what the cookie holds for
    it: the login page stores this, and tests log in with it directly."""
    from postal.core.accounts import start_session

    return {"_user_id": f"{user.id}:{start_session(db_session, user)}", "_fresh": True}


def session_key() -> str | None:
    """The current login session's key, from the cookie."""
    from flask import session

    return session.get("_user_id", "").partition(":")[2] or None


def init_app(app: Flask) -> None:
    from postal.core.accounts import user_for_session, user_for_token
    from postal.extensions import db, login_manager

    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        uid, _, key = user_id.partition(":")
        if not uid.isdigit() or not key:
            return None
        return user_for_session(db.session, int(uid), key)

    @login_manager.request_loader
    def _from_bearer(req) -> User | None:
        header = req.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        token = header[7:].strip()
        user = user_for_token(db.session, token)
        if user is not None:
            g.bearer = token
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
        if not request.path.startswith("/static/"):
            # pages and answers name citizens: no browser or proxy keeps a copy (the static
            # assets, the same for everyone, are cached as usual)
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
