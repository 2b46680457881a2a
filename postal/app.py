"""The app factory: settings, extensions, the database's rules, blueprints and commands."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

ROOT = Path(__file__).resolve().parent.parent


class DatabaseInt(IntegerConverter):
    """`<int:id>` that an INTEGER column can hold: a larger number is simply no such page (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error handlers."""
    from apiflask import APIFlask

    import config as settings_module
    from postal.core import accounts
    from postal.core import db as db_rules
    from postal.core.time import TZ
    from postal.extensions import babel, csrf, db, limiter, login_manager, migrate
    from postal.http import bodies, errors, i18n, security, transactions

    settings = settings_module.load(config)
    app = APIFlask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "postal" / "static"),
        title="postal API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # the interactive docs page loads its scripts from a CDN: not here
        json_errors=False,
    )
    app.config.from_mapping(settings)
    app.url_map.converters["int"] = DatabaseInt
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'postal.db'}"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = db_rules.engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS"))

    accounts.use_hash_method(app.config["PASSWORD_HASH_METHOD"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    with app.app_context():
        db_rules.install_guards(db.engine)
    from postal.outbox import events as link_events

    link_events.switch_on(portal=bool(app.config.get("PORTAL_SYNC_URL")),
                          vnpost=bool(app.config.get("VNPOST_URL")))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=lambda: TZ.key)
    limiter.init_app(app)

    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    errors.install_api_errors(app)
    bodies.init_app(app)  # after CSRF: a page's deep body without a token stays a 400
    transactions.init_app(app)

    from postal.api import register_api
    from postal.web import register_web

    register_web(app)
    register_api(app)

    from postal.cli.commands import register_commands

    register_commands(app)
    return app
