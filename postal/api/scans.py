"""API: scans from the field (shared/interfaces.md, POST /api/v1/scans)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range, Regexp
from apispec.ext.marshmallow import OpenAPIConverter
from flask_login import current_user

from postal.core.errors import ValidationFailed
from postal.custody import Scan, record_batch
from postal.custody.scans import CLIENT_ID, EVENTS, MAX_BATCH
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = APIBlueprint("api_scans", __name__, url_prefix="/api/v1", tag="scans")


class ScanIn(Schema):
    id = fields.String(required=True, validate=Regexp(CLIENT_ID),
                       metadata={"description": "the client's UUID; the same id twice is "
                                                "stored once"})
    barcode = fields.String(required=True, validate=Length(1, 80),
                            metadata={"description": "an S10 item number, a dossier code or a "
                                                     "manifest code (all its items)"})
    event = fields.String(required=True, validate=Length(1, 40),
                          metadata={"description": " | ".join(EVENTS) + " (others are refused "
                                                                       "per event)"})
    at = fields.AwareDateTime(required=True, metadata={"description": "when it happened"})
    lat = fields.Float(load_default=None, allow_none=True, validate=Range(-90, 90))
    lon = fields.Float(load_default=None, allow_none=True, validate=Range(-180, 180))
    unit_code = fields.String(load_default=None, allow_none=True, validate=Length(1, 40),
                              metadata={"description": "pickup: taken from; handover: "
                                                       "delivered to (default: the item's "
                                                       "destination, or the scanner's unit)"})
    note = fields.String(load_default=None, allow_none=True, validate=Length(0, 500))
    recipient = fields.String(load_default=None, allow_none=True, validate=Length(0, 200),
                              metadata={"description": "the citizen who handed over (home "
                                                       "pickup) or received the result"})
    item_kind = fields.String(load_default=None, allow_none=True,
                              validate=OneOf(["folder", "result"]),
                              metadata={"description": "which item of a dossier code is meant"})


class ScanError(Schema):
    code = fields.String()
    message = fields.String()


class ScanOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "accepted | duplicate | rejected"})
    error = fields.Nested(ScanError, metadata={"description": "why it was rejected"})


def _array_body(view, schema: type[Schema]) -> None:
    """APIFlask documents a many=True body as a single object: say it is an array."""
    converter = OpenAPIConverter(openapi_version="3.0.3", schema_name_resolver=lambda s: None,
                                 spec=None)
    view._spec["body"] = {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                          "items": converter.schema2jsonschema(schema)}


@bp.post("/scans")
@roles_required(Role.COURIER, Role.CLERK, Role.AGENCY)
@bp.input(ScanIn(many=True), arg_name="batch")
@bp.output(ScanOut(many=True))
@bp.doc(responses={401: "no login", 403: "not field or counter staff",
                   422: "malformed batch: nothing was written"})
def post_scans(batch):
    """Record a batch of scans; one result per event, in order.

    Each event is judged on its own: a rejected one says why (`error.code`: unknown_event,
    unknown_barcode, future_time, wrong_role, wrong_unit, not_ready, already_delivered,
    counter_return, ...)
    and writes nothing, while the rest of the batch is kept. An id already stored answers
    `duplicate`. Events may arrive in any order: custody is rebuilt by each scan's own time.
    """
    if not batch:
        raise ValidationFailed("a batch needs at least one event", field="events")
    if len(batch) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} events per batch", field="events")
    scans = [Scan(**row) for row in batch]
    results = record_batch(db.session, current_user._get_current_object(), scans, utcnow())
    return [r.as_dict() for r in results]


_array_body(post_scans, ScanIn)
