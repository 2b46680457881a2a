"""Login through the office's OpenID Connect provider (Authlib): the authorization code flow
with PKCE, state and nonce; the ID token is verified (signature by the provider's JWKS, issuer,
audience, expiry) before the rules of `core.sso` say which account it opens.

Routes exist whether or not single sign-on is configured (a 404 when it is not), so the
routes a deployment serves do not depend on its settings.
"""

from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from joserfc.errors import JoseError

from postal.core import audit, sso
from postal.core.db import write_intent
from postal.extensions import db
from postal.http.security import session_for
from postal.web.auth import safe_next

bp = Blueprint("sso", __name__)
log = logging.getLogger(__name__)

CLIENT = "sso"  # Authlib's name for the provider: its state keys in the session carry it
EXTENSION = "postal_sso"
LEEWAY = 60  # seconds of clock difference allowed on exp and iat
NEXT = "sso_next"


class ProviderUnavailable(Exception):
    """The provider cannot be reached, or describes itself wrongly."""


@bp.record_once
def _register(state) -> None:
    """One Authlib client per app (never a module-wide one: each app has its own settings);
    nothing is fetched from the provider until the first login."""
    app = state.app
    cfg = app.config
    if not cfg.get("OIDC_ISSUER"):
        return
    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_id=cfg["OIDC_CLIENT_ID"],
        client_secret=cfg["OIDC_CLIENT_SECRET"],
        server_metadata_url=cfg["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": cfg["OIDC_SCOPES"], "code_challenge_method": "S256",
                       "default_timeout": cfg["OIDC_TIMEOUT"]},
    )
    app.extensions[EXTENSION] = oauth


@bp.app_context_processor
def _provider() -> dict:
    """The login page shows the provider's button only when single sign-on is configured."""
    on = EXTENSION in current_app.extensions
    return {"sso_provider": current_app.config["OIDC_PROVIDER_NAME"] if on else None}


def _client():
    oauth = current_app.extensions.get(EXTENSION)
    if oauth is None:
        abort(404)
    return oauth.create_client(CLIENT)


def _metadata(client) -> dict:
    """The provider's discovery document, which must name the configured issuer (OpenID
    Connect Discovery 1.0, section 4.3): otherwise its tokens would be checked against
    another issuer than the one configured."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery failed: {exc}") from exc
    if metadata.get("issuer") != current_app.config["OIDC_ISSUER"]:
        client.server_metadata.pop("_loaded_at", None)  # read it again next time
        raise ProviderUnavailable(f"discovery names issuer {metadata.get('issuer')!r}")
    return metadata


def _refused(message: str, status: int):
    return render_template("auth/sso_refused.html", message=message), status


def _unavailable(exc: Exception):
    log.error("single sign-on provider unavailable: %s", exc)
    return _refused(_("Không kết nối được với nhà cung cấp đăng nhập. Hãy thử lại sau, hoặc "
                      "đăng nhập bằng tài khoản nội bộ."), 502)


@bp.get("/login/sso")
def start():
    client = _client()
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    try:
        _metadata(client)
    except ProviderUnavailable as exc:
        return _unavailable(exc)
    session[NEXT] = safe_next(request.args.get("next"))
    # Authlib keeps state, nonce and the PKCE verifier in the (signed) session cookie
    return client.authorize_redirect(url_for(".callback", _external=True))


@bp.get("/login/sso/callback")
def callback():
    client = _client()
    write_intent.set(True)  # a login writes: SQLite takes the write lock at BEGIN
    issuer = current_app.config["OIDC_ISSUER"]
    try:
        _metadata(client)
        # Authlib's ID token checks compare `aud` with the client id only through `azp`: a
        # token issued to another client that names us in `azp` would pass, so both are required
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [current_app.config["OIDC_CLIENT_ID"]]},
        }, leeway=LEEWAY)
    except ProviderUnavailable as exc:
        return _unavailable(exc)
    except requests.RequestException as exc:
        return _unavailable(exc)
    except (OAuthError, JoseError, ValueError) as exc:
        # a wrong or replayed state, a refused code, or an ID token that fails verification
        log.warning("single sign-on refused: %s: %s", type(exc).__name__, exc)
        return _refused(_("Đăng nhập qua nhà cung cấp không thành công hoặc đã hết hạn. "
                          "Hãy thử lại."), 400)
    claims = token.get("userinfo")
    if not claims:
        log.warning("single sign-on refused: the provider sent no ID token")
        return _refused(_("Đăng nhập qua nhà cung cấp không thành công hoặc đã hết hạn. "
                          "Hãy thử lại."), 400)
    try:
        user = sso.sign_in(db.session, issuer=issuer, claims=dict(claims))
    except sso.SsoRefused as exc:
        db.session.rollback()
        log.warning("single sign-on refused for sub %r: %s", claims.get("sub"), exc.message)
        if exc.code == "sso_inactive":
            return _refused(_("Tài khoản này đã bị khoá. Hãy liên hệ quản trị viên."), 403)
        return _refused(_("Tài khoản của bạn ở nhà cung cấp đăng nhập chưa được cấp quyền dùng "
                          "hệ thống này. Hãy liên hệ quản trị viên."), 403)
    lang, target = session.get("lang"), session.get(NEXT)
    session.clear()  # as the password login: nothing of the anonymous visit carries over
    session.update(session_for(db.session, user))
    if lang:
        session["lang"] = lang
    audit.record(db.session, user, "login", "user", user.username, provider="oidc",
                 issuer=issuer)
    return redirect(safe_next(target))
