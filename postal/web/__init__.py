"""HTML pages, one blueprint per kind of user; thin handlers over the domain."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

MODULES = (
    "auth", "home", "counter", "calendar_admin", "courier", "agency", "office", "public", "admin",
    "manifests", "timeline", "pickups", "audit_admin", "delivery", "sso", "sso_admin",
    "links_admin",
)


def register_web(app: Flask) -> None:
    for name in MODULES:
        app.register_blueprint(import_module(f"postal.web.{name}").bp)
