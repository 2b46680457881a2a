"""The courier's phone page: continuous scanning (offline-safe, in courier.js) and home pickups."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from postal.core.errors import DomainError
from postal.custody import Scan, pickups, record_scan
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Item, Role, utcnow

bp = Blueprint("courier", __name__, url_prefix="/courier")


def _page(status: int = 200, error: str | None = None, focus: str | None = None):
    user = current_user._get_current_object()
    holding = db.session.scalars(
        select(Item).where(Item.holder_user_id == user.id)
        .options(joinedload(Item.dossier)).order_by(Item.held_since)
    ).all()
    return render_template("home/courier.html", holding=holding, error=error, focus=focus,
                           pickups=pickups.pickups_for_courier(db.session, user)), status


@bp.get("/")
@roles_required(Role.COURIER)
def index():
    return _page()


def _scan(number: str, event: str, recipient: str | None = None):
    """Record a pickup's scan made from a form (online), with a fresh id."""
    user = current_user._get_current_object()
    now = utcnow()
    result = record_scan(db.session, user, Scan(id=str(uuid.uuid4()), barcode=number, event=event,
                                                at=now, recipient=recipient), now)
    if result.status != "accepted":
        return _page(422, result.message, number)
    flash(_("Đã ghi: %(number)s", number=number))
    return redirect(url_for(".index"), 303)


@bp.post("/pickups/<number>/collect")
@roles_required(Role.COURIER)
def collect(number):
    """Collected at the door; the citizen's name is their confirmation."""
    pickups.pickup_by_number(db.session, current_user._get_current_object(), number)
    return _scan(number, "pickup", (request.form.get("recipient") or "").strip())


@bp.post("/pickups/<number>/hand-in")
@roles_required(Role.COURIER)
def hand_in(number):
    pickups.pickup_by_number(db.session, current_user._get_current_object(), number)
    return _scan(number, "handover")


@bp.post("/pickups/<number>/fail")
@roles_required(Role.COURIER)
def fail(number):
    user = current_user._get_current_object()
    pickup = pickups.pickup_by_number(db.session, user, number)
    try:
        pickups.fail_pickup(db.session, user, pickup, request.form.get("reason"), utcnow())
    except DomainError as exc:
        db.session.rollback()
        return _page(exc.status, exc.message, number)
    flash(_("Đã ghi nhận thu gom không thành công: %(number)s", number=number))
    return redirect(url_for(".index"), 303)
