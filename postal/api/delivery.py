"""API: at the door and after — proof of delivery, failed attempts, return at the counter,
ratings, and the couriers' cash on delivery."""

from __future__ import annotations

from datetime import date, datetime

from apiflask import APIBlueprint, Schema, fields
from apiflask.scaffold import _annotate
from apiflask.validators import Length, OneOf
from flask import current_app, request
from flask_login import current_user

from postal.core.access import dossier_for
from postal.core.errors import ValidationFailed
from postal.core.time import TZ, parse_moment
from postal.custody import door
from postal.delivery import cod, counter_return, evidence, proof
from postal.dossiers import ratings
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = APIBlueprint("api_delivery", __name__, url_prefix="/api/v1", tag="delivery")


class RatingIn(Schema):
    # checked by the domain (ratings.level_of): 4.5 or true is refused, not rounded
    level = fields.Raw(required=True, metadata={"type": "integer", "minimum": 1, "maximum": 5,
                                                "description": "1 Rất kém … 5 Rất tốt"})
    comment = fields.String(load_default=None, validate=Length(0, ratings.MAX_COMMENT))


class RatingOut(Schema):
    code = fields.String()
    level = fields.Integer()
    rated_at = fields.DateTime()


class ProofIn(Schema):
    recipient_name = fields.String(required=True, validate=Length(1, 200))
    relation = fields.String(required=True, validate=OneOf(list(door.RELATIONS)))
    photo = fields.Raw(metadata={"type": "string", "format": "binary",
                                 "description": "JPEG, PNG or WebP (a file in multipart; "
                                                "base64 in JSON)"})
    signature = fields.String(metadata={"description": "data:image/png;base64,… from a canvas"})
    lat = fields.Float()
    lon = fields.Float()
    accuracy_m = fields.Float()
    at = fields.DateTime(metadata={"description": "when, with its offset; default now"})
    cod_collected = fields.Integer(metadata={"description": "cash taken, đồng; default the "
                                                          "dossier's amount to collect"})
    note = fields.String()


class AttemptOut(Schema):
    code = fields.String()
    attempt = fields.Integer()
    outcome = fields.String()
    state = fields.String()
    return_method = fields.String()
    attempts = fields.Integer(metadata={"description": "delivery attempts so far"})


class FailedIn(Schema):
    reason = fields.String(required=True, validate=OneOf(list(door.REASONS)))
    note = fields.String(load_default=None, validate=Length(0, 1000))
    lat = fields.Float(load_default=None)
    lon = fields.Float(load_default=None)
    accuracy_m = fields.Float(load_default=None)
    at = fields.DateTime(load_default=None)


class ReturnIn(Schema):
    collected_by = fields.String(required=True, validate=Length(1, 200))
    id_number = fields.String(required=True, validate=Length(1, 20))
    authorised = fields.Boolean(load_default=False, metadata={
        "description": "collecting for the applicant, with a power of attorney"})


class CodQuery(Schema):
    date = fields.Date(load_default=None, metadata={"description": "local day; default today"})


class HandoverIn(Schema):
    date = fields.Date(required=True)
    amount = fields.Integer(required=True)
    note = fields.String(load_default=None, validate=Length(0, 500))


class CodLineOut(Schema):
    code = fields.String()
    at = fields.DateTime()
    expected = fields.Integer()
    collected = fields.Integer()
    difference = fields.Integer()


class HandoverOut(Schema):
    amount = fields.Integer()
    at = fields.DateTime()
    received_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class CodOut(Schema):
    courier = fields.String()
    date = fields.Date()
    deliveries = fields.List(fields.Nested(CodLineOut))
    expected = fields.Integer()
    collected = fields.Integer()
    handed_over = fields.Integer()
    short_collected = fields.Integer(metadata={"description": "expected − collected"})
    to_hand_over = fields.Integer(metadata={"description": "collected − handed over"})
    balanced = fields.Boolean()
    handovers = fields.List(fields.Nested(HandoverOut))


def _me():
    return current_user._get_current_object()


def _attempt_dict(dossier, attempt) -> dict:
    return {"code": dossier.code, "attempt": attempt.id, "outcome": attempt.outcome.value,
            "state": dossier.state.value, "return_method": dossier.return_method.value,
            "attempts": dossier.delivery_attempts}


@bp.post("/dossiers/<code>/rating")
@roles_required(Role.CLERK, Role.COURIER, Role.MANAGER)
@bp.input(RatingIn, arg_name="body")
@bp.output(RatingOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 404: "no such dossier at your units",
                   409: "already rated, or the result not yet returned",
                   422: "level outside 1–5"})
def rate(code, body):
    """Record the citizen's rating of the service, once per dossier, after the return."""
    dossier = dossier_for(db.session, _me(), code)
    ratings.rate(db.session, dossier, body["level"], comment=body["comment"], now=utcnow(),
                 user=_me(), channel="api")
    return {"code": dossier.code, "level": dossier.rating, "rated_at": dossier.rated_at}


def _moment(value) -> datetime | None:
    try:
        return parse_moment(value, naive="refuse")
    except ValueError:
        raise ValidationFailed("thời điểm không hợp lệ (ISO 8601, có múi giờ)",
                               field="at") from None


def proof_from_request(max_bytes: int) -> proof.Proof:
    """The proof from a multipart form (a photo file) or a JSON body (base64 images)."""
    if request.mimetype == "multipart/form-data":
        data = request.form
        upload = request.files.get("photo")
        # read one byte past the limit: enough to refuse, never the whole of a huge file
        photo = upload.stream.read(max_bytes + 1) if upload and upload.filename else None
        signature = data.get("signature")
        if not signature and request.files.get("signature"):
            signature = request.files["signature"].stream.read(max_bytes + 1)
    elif request.is_json and isinstance(request.get_json(silent=True), dict):
        data = request.get_json()
        photo = evidence.decode_photo(data.get("photo"), max_bytes)
        signature = data.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise ValidationFailed("chữ ký phải là chuỗi data URL", field="signature")
    else:
        raise ValidationFailed("gửi multipart/form-data hoặc JSON", field="body")
    return proof.Proof(
        recipient_name=str(data.get("recipient_name") or ""),
        relation=str(data.get("relation") or ""), photo=photo, signature=signature,
        lat=data.get("lat"), lon=data.get("lon"), accuracy_m=data.get("accuracy_m"),
        at=_moment(data.get("at")), cod_collected=data.get("cod_collected"),
        note=data.get("note"))


@bp.post("/dossiers/<code>/delivery")
@roles_required(Role.COURIER)
@bp.output(AttemptOut, status_code=201)
@bp.doc(responses={401: "no login", 403: "another courier's run",
                   404: "no such dossier at your units",
                   409: "a counter-return dossier, or not out for delivery",
                   422: "missing recipient or relation, no photo or signature, a file that is "
                        "not an image or too large; nothing was written"})
def deliver(code):
    """Delivered at the door, with proof: recipient, relation, a photo or a signature, GPS,
    time, cash collected (multipart/form-data or JSON)."""
    max_bytes = int(current_app.config["PHOTO_MAX_BYTES"])
    dossier = dossier_for(db.session, _me(), code)
    attempt = proof.record_delivery(db.session, _me(), dossier, proof_from_request(max_bytes),
                                    utcnow(), max_photo_bytes=max_bytes)
    return _attempt_dict(dossier, attempt)


_annotate(deliver, body=ProofIn(), content_type=["multipart/form-data", "application/json"])


@bp.post("/dossiers/<code>/delivery-attempts")
@roles_required(Role.COURIER)
@bp.input(FailedIn, arg_name="body")
@bp.output(AttemptOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 403: "another courier's run", 404: "no such dossier",
                   409: "a counter-return dossier, or not out for delivery",
                   422: "unknown reason; nothing was written"})
def fail(code, body):
    """A failed attempt with its reason; after DELIVERY_MAX_ATTEMPTS the result goes back to
    the counter and the citizen is told."""
    dossier = dossier_for(db.session, _me(), code)
    attempt = proof.record_failed_attempt(
        db.session, _me(), dossier, body["reason"], utcnow(),
        int(current_app.config["DELIVERY_MAX_ATTEMPTS"]), note=body["note"], lat=body["lat"],
        lon=body["lon"], accuracy_m=body["accuracy_m"], at=body["at"])
    return _attempt_dict(dossier, attempt)


@bp.post("/dossiers/<code>/return")
@roles_required(Role.CLERK)
@bp.input(ReturnIn, arg_name="body")
@bp.output(AttemptOut(only=("code", "state", "return_method")), status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 404: "no such dossier at your units",
                   409: "no result to return, or it is out for delivery",
                   422: "invalid ID number, or not the applicant's without authorisation"})
def return_here(code, body):
    """The result handed over at the counter, after checking the collector's ID."""
    dossier = dossier_for(db.session, _me(), code)
    counter_return.return_at_counter(db.session, _me(), dossier, body["collected_by"],
                              body["id_number"], utcnow(), authorised=body["authorised"])
    return {"code": dossier.code, "state": dossier.state.value,
            "return_method": dossier.return_method.value}


@bp.get("/couriers/<username>/cod")
@roles_required(Role.CLERK, Role.MANAGER, Role.COURIER)
@bp.input(CodQuery, location="query", arg_name="query")
@bp.output(CodOut)
@bp.doc(responses={401: "no login", 404: "no such courier at your units",
                   422: "a date outside 2000–2999"})
def cod_day(username, query):
    """A courier's cash on delivery for a day: expected, collected, handed in, still owed."""
    courier = cod.courier_for(db.session, _me(), username)
    return cod.reconcile(db.session, courier, query["date"] or _today())


@bp.post("/couriers/<username>/cod")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.input(HandoverIn, arg_name="body")
@bp.output(CodOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 404: "no such courier at your units",
                   422: "amount not positive, or a future day"})
def cod_handover(username, body):
    """Count the cash a courier hands in for a day; answers the day's reconciliation."""
    courier = cod.courier_for(db.session, _me(), username)
    cod.record_handover(db.session, _me(), courier, body["date"], body["amount"], utcnow(),
                        body["note"])
    return cod.reconcile(db.session, courier, body["date"])


def _today() -> date:
    return utcnow().astimezone(TZ).date()
