"""Home pickups at the counter: book, assign, cancel, and link to the dossier after intake."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from postal.core.access import dossier_for
from postal.core.errors import DomainError, NotFound
from postal.custody import pickups
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import OPEN_PICKUP_STATES, Role, User, utcnow

bp = Blueprint("pickups", __name__, url_prefix="/pickups")
FIELDS = ("applicant_name", "phone", "street", "ward_code", "procedure_code", "scheduled_for",
          "note", "courier")


def _me():
    return current_user._get_current_object()


def _page(errors: dict | None = None, status: int = 200, values=None):
    user = _me()
    couriers = db.session.scalars(select(User).where(User.role == Role.COURIER, User.active)
                                  .order_by(User.username)).all()
    couriers = [c for c in couriers if c.unit.path.startswith(user.unit.path)]
    return render_template(
        "pickups/index.html", errors=errors or {}, values=values or {}, couriers=couriers,
        open_pickups=pickups.pickups_for_unit(db.session, user, statuses=OPEN_PICKUP_STATES),
        closed=pickups.pickups_for_unit(db.session, user, limit=50),
    ), status


@bp.get("/")
@roles_required(Role.CLERK, Role.MANAGER)
def index():
    return _page()


@bp.post("/")
@roles_required(Role.CLERK, Role.MANAGER)
def book():
    values = {k: request.form.get(k, "") for k in FIELDS}
    try:
        pickup = pickups.book_pickup(db.session, _me(), now=utcnow(), **values)
    except DomainError as exc:
        db.session.rollback()
        return _page({exc.field or "form": exc.message}, exc.status, values)
    flash(_("Đã đặt lịch thu gom %(number)s.", number=pickup.number))
    return redirect(url_for(".index"), 303)


@bp.post("/<number>/<action>")
@roles_required(Role.CLERK, Role.MANAGER)
def act(number, action):
    """Cancel, assign, or complete (link to the dossier made from its papers)."""
    user = _me()
    pickup = pickups.pickup_by_number(db.session, user, number)
    form = request.form
    try:
        if action == "cancel":
            pickups.cancel_pickup(db.session, user, pickup, form.get("reason"), utcnow())
        elif action == "assign":
            pickups.assign(db.session, user, pickup, form.get("courier"))
        elif action == "complete":
            dossier = dossier_for(db.session, user, (form.get("dossier_code") or "").strip())
            pickups.complete_pickup(db.session, pickup, dossier, user=user, now=utcnow())
        else:
            raise NotFound(f"no action {action!r}")
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _page({f"{number}": exc.message}, exc.status)
    flash(_("Đã cập nhật lượt thu gom %(number)s.", number=number))
    return redirect(url_for(".index"), 303)
