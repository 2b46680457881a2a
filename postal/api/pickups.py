"""API: home pickups (thu gom hồ sơ tại nhà). Collection at the door and hand-in at the counter
are scans of the pickup's label: POST /api/v1/scans with its number."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf
from flask_login import current_user

from postal.custody import pickups
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import PickupStatus, Role, utcnow

bp = APIBlueprint("api_pickups", __name__, url_prefix="/api/v1", tag="pickups")


class PickupIn(Schema):
    applicant_name = fields.String(required=True, validate=Length(1, 200))
    phone = fields.String(required=True, validate=Length(1, 20))
    street = fields.String(required=True, validate=Length(1, 300))
    ward_code = fields.String(required=True, validate=Length(1, 10))
    procedure_code = fields.String(load_default=None, allow_none=True, validate=Length(1, 40))
    scheduled_for = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=Length(0, 1000))
    courier = fields.String(load_default=None, allow_none=True, validate=Length(1, 80),
                            metadata={"description": "a courier's username; empty: any "
                                                     "courier of the unit"})
    external_ref = fields.String(load_default=None, allow_none=True, validate=Length(1, 80),
                                 metadata={"description": "the one-stop system's reference"})


class PickupQuery(Schema):
    status = fields.String(load_default=None, validate=OneOf([s.value for s in PickupStatus]))


class AssignIn(Schema):
    courier = fields.String(load_default=None, allow_none=True, validate=Length(1, 80))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=Length(1, pickups.MAX_REASON))


class PickupOut(Schema):
    number = fields.String(metadata={"description": "the S10 label scanned at the door"})
    status = fields.String(metadata={"description": " | ".join(s.value for s in PickupStatus)})
    unit_code = fields.String()
    applicant_name = fields.String()
    phone = fields.String()
    address = fields.String()
    ward_code = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    scheduled_for = fields.Date(allow_none=True)
    courier = fields.String(allow_none=True)
    booked_at = fields.DateTime()
    collected_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    handed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    dossier_code = fields.String(allow_none=True)
    external_ref = fields.String(allow_none=True)


def _me():
    return current_user._get_current_object()


@bp.post("/pickups")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.input(PickupIn, arg_name="body")
@bp.output(PickupOut, status_code=201)
@bp.doc(responses={401: "no login", 403: "not counter staff",
                   422: "invalid input (the field is named); nothing was written"})
def create(body):
    """Book a pickup at a citizen's address for your unit; it joins the couriers' list."""
    pickup = pickups.book_pickup(db.session, _me(), now=utcnow(), **body)
    return pickups.pickup_dict(pickup)


@bp.get("/pickups")
@roles_required(Role.CLERK, Role.MANAGER, Role.COURIER)
@bp.input(PickupQuery, location="query", arg_name="query")
@bp.output(PickupOut(many=True))
@bp.doc(responses={401: "no login"})
def index(query):
    """Pickups of your unit (a courier: their own list), newest first."""
    user = _me()
    if user.role == Role.COURIER:
        found = pickups.pickups_for_courier(db.session, user)
    else:
        found = pickups.pickups_for_unit(db.session, user,
                                         statuses=[query["status"]] if query["status"] else None)
    return [pickups.pickup_dict(p) for p in found]


@bp.get("/pickups/<number>")
@roles_required(Role.CLERK, Role.MANAGER, Role.COURIER)
@bp.output(PickupOut)
@bp.doc(responses={401: "no login", 404: "no such pickup at your units"})
def show(number):
    return pickups.pickup_dict(pickups.pickup_by_number(db.session, _me(), number))


@bp.post("/pickups/<number>/assign")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.input(AssignIn, arg_name="body")
@bp.output(PickupOut)
@bp.doc(responses={401: "no login", 404: "no such pickup", 409: "no longer waiting",
                   422: "unknown courier"})
def assign(number, body):
    """Put the pickup on one courier's list (or, empty, back on everyone's)."""
    pickup = pickups.pickup_by_number(db.session, _me(), number)
    return pickups.pickup_dict(pickups.assign(db.session, _me(), pickup, body["courier"]))


@bp.post("/pickups/<number>/cancel")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.input(ReasonIn, arg_name="body")
@bp.output(PickupOut)
@bp.doc(responses={401: "no login", 404: "no such pickup", 409: "already collected or closed",
                   422: "no reason"})
def cancel(number, body):
    """Call the visit off, with the reason kept."""
    pickup = pickups.pickup_by_number(db.session, _me(), number)
    return pickups.pickup_dict(pickups.cancel_pickup(db.session, _me(), pickup, body["reason"],
                                                     utcnow()))


@bp.post("/pickups/<number>/fail")
@roles_required(Role.COURIER, Role.CLERK)
@bp.input(ReasonIn, arg_name="body")
@bp.output(PickupOut)
@bp.doc(responses={401: "no login", 404: "no such pickup", 409: "already collected or closed",
                   422: "no reason"})
def fail(number, body):
    """The visit failed (nobody home, papers not ready), with the reason kept."""
    pickup = pickups.pickup_by_number(db.session, _me(), number)
    return pickups.pickup_dict(pickups.fail_pickup(db.session, _me(), pickup, body["reason"],
                                                   utcnow()))
