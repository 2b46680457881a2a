"""The JSON API under /api/v1: the source of truth others build on (shared/interfaces.md).

One module a resource; each owns an APIBlueprint. Bearer tokens authenticate; a browser
session may call it too, but then unsafe methods need the CSRF token (X-CSRFToken).
"""

from __future__ import annotations

from importlib import import_module

from flask import Flask, g, request
from flask_login import current_user

MODULES = (
    "auth", "units", "procedures", "dossiers", "scans", "manifests", "runs", "reports", "public",
    "decisions", "pickups", "delivery", "corrections", "webhooks",
)


def register_api(app: Flask) -> None:
    from postal.extensions import csrf

    for name in MODULES:
        module = import_module(f"postal.api.{name}")
        csrf.exempt(module.bp)
        app.register_blueprint(module.bp)
        if hasattr(module, "init_app"):  # e.g. webhooks: its part of the OpenAPI document
            module.init_app(app)
    app.before_request(_csrf_for_sessions)


def _csrf_for_sessions():
    """Session-authenticated calls from our own pages must carry the CSRF token."""
    if not (request.blueprint or "").startswith("api_"):
        return
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_user.is_authenticated and not g.get("bearer"):
        from postal.extensions import csrf

        csrf.protect()
