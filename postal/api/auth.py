"""API: bearer tokens."""

from apiflask import APIBlueprint
from flask import current_app

from postal.api.schemas import TokenIn, TokenOut
from postal.core import accounts, audit
from postal.extensions import db, limiter

bp = APIBlueprint("api_auth", __name__, url_prefix="/api/v1", tag="auth")


@bp.post("/auth/token")
@bp.input(TokenIn, arg_name="body")
@bp.output(TokenOut)
@bp.doc(responses=[400, 401, 422, 423, 429])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
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
