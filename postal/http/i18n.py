"""Language choice (Vietnamese by default, English second) and local-time display filters."""

from __future__ import annotations

from flask import Flask, current_app, request, session

from postal.core.text import money, percent
from postal.core.time import local


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted
    return session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local=local, percent=percent, money=money)

    @app.context_processor
    def _inject():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale())}
