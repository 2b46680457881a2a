"""Language choice (Vietnamese by default, English second) and local-time display filters."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, session

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted
    return session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"]


def local(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC moment (or its ISO 8601 text, as event data keeps it) as local time."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored moments are UTC
    try:
        return value.astimezone(TZ).strftime(fmt)
    except OverflowError:  # year 9999 and the like: shown as stored
        return value.isoformat()


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def money(value: int | None) -> str:
    return f"{value or 0:,}".replace(",", ".") + " đ"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local=local, percent=percent, money=money)

    @app.context_processor
    def _inject():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale())}
