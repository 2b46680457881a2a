"""What every office page shares: its blueprint, the unit and period asked for, links."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, request, url_for
from flask_login import current_user

from postal.core.time import TZ
from postal.extensions import db
from postal.models import OrgUnit, utcnow
from postal.reporting import metrics

bp = Blueprint("office", __name__, url_prefix="/office")


def today() -> date:
    return utcnow().astimezone(TZ).date()


def asked_unit() -> OrgUnit:
    """The unit of ?unit=CODE within the user's subtree (404 otherwise), else the user's."""
    return metrics.visible_unit(db.session, current_user, request.args.get("unit"))


def asked_period() -> tuple[date, date]:
    """?from=&to= (bad dates are a 422 naming the field); default: this month to today."""
    if not request.args.get("from") and not request.args.get("to"):
        now = today()
        return now.replace(day=1), now
    return metrics.parse_period(request.args.get("from"), request.args.get("to"))


def behind(figure: str, date_from: date, date_to: date, unit: OrgUnit, *, by: str | None = None,
           key: str | None = None) -> str:
    """The link from a number to the list of the dossiers behind it."""
    args = {"figure": figure, "from": date_from.isoformat(), "to": date_to.isoformat(),
            "unit": unit.code}
    if by:
        args.update(by=by, key=key or "")
    return url_for("office.dossiers", **args)


def now() -> datetime:
    return utcnow()
