"""The manager's working calendar: extra days off and make-up working Saturdays."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from postal.core.errors import DomainError
from postal.deadlines import office
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import OverrideKind, Role

bp = Blueprint("calendar_admin", __name__, url_prefix="/office/calendar")


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        year = date.today().year
    return year if 2000 <= year <= 2099 else date.today().year


def _public_days(calendar, year: int, overridden: set[date]) -> list[tuple[date, str, bool]]:
    """(day, name, working) for the year's public holidays and official make-up weekend days."""
    day, end, found = date(year, 1, 1), date(year, 12, 31), []
    while day <= end:
        name = calendar.holiday_name(day)
        if name:
            found.append((day, name, False))
        elif day.weekday() >= 5 and day not in overridden and calendar.is_working_day(day):
            found.append((day, "", True))
        day += timedelta(days=1)
    return found


def _page(year: int, values: dict, errors: dict, status: int = 200):
    calendar = office.calendar_for(db.session, current_app.config)
    overrides = office.list_overrides(db.session, year=year)
    return render_template(
        "calendar/index.html", year=year, overrides=overrides, values=values, errors=errors,
        public_days=_public_days(calendar, year, {o.day for o in overrides}),
        kinds=list(OverrideKind),
    ), status


@bp.get("/")
@roles_required(Role.MANAGER)
def index():
    return _page(_year(), {}, {})


@bp.post("/")
@roles_required(Role.MANAGER)
def add():
    form = request.form
    try:
        row = office.add_override(
            db.session, current_user._get_current_object(), day=form.get("day"),
            kind=form.get("kind"), note=form.get("note"),
            calendar=office.calendar_for(db.session, current_app.config),
        )
    except DomainError as exc:
        db.session.rollback()
        return _page(_year(), form, {exc.field or "form": exc.message}, exc.status)
    return redirect(url_for(".index", year=row.day.year), 303)


@bp.post("/<int:override_id>/delete")
@roles_required(Role.MANAGER)
def delete(override_id: int):
    office.remove_override(db.session, current_user._get_current_object(), override_id)
    return redirect(url_for(".index", year=_year()), 303)
