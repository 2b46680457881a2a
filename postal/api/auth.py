"""API: bearer tokens."""

from apiflask import APIBlueprint
from flask import current_app, g
from flask_login import current_user

from postal.api.schemas import TokenIn, TokenOut
from postal.core import accounts, audit
from postal.extensions import db
from postal.http.security import login_budgets, roles_required

bp = APIBlueprint("api_auth", __name__, url_prefix="/api/v1", tag="auth")


@bp.post("/auth/token")
@bp.input(TokenIn, arg_name="body")
@bp.output(TokenOut)
@bp.doc(responses=[400, 401, 422, 423, 429])
@login_budgets
def token(body):
    """Exchange a username and password for a bearer token."""
    cfg = current_app.config
    try:
        user = accounts.authenticate(
            db.session, body["username"], body["password"],
            max_failures=cfg["LOGIN_MAX_FAILURES"], lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
        )
    except accounts.LoginRefused:
        db.session.commit()  # keep the failure count even though the answer is an error
        raise
    value, expires_at = accounts.issue_token(db.session, user, hours=cfg["API_TOKEN_HOURS"])
    audit.record(db.session, user, "api_token", "user", user.username)
    return {"token": value, "expires_at": expires_at}


@bp.post("/auth/logout")
@roles_required()
@bp.output({}, status_code=204)
@bp.doc(responses={401: "no login"})
def logout():
    """Revoke the bearer token this request carries (a session login ends at POST /logout)."""
    if g.get("bearer"):
        accounts.revoke_token(db.session, g.bearer)
        audit.record(db.session, current_user._get_current_object(), "api_logout", "user",
                     current_user.username)
    return ""
