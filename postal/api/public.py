"""API: the citizen's status lookup, without login (shared/interfaces.md)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length
from flask_babel import gettext

from postal.extensions import db, limiter
from postal.http.public import SCOPE, lookup, no_store, public_limit

bp = APIBlueprint("api_public", __name__, url_prefix="/api/v1", tag="public")

class StatusQuery(Schema):
    token = fields.String(load_default=None, validate=Length(0, 64),
                          metadata={"description": "the token in the receipt's QR code"})
    code = fields.String(load_default=None, validate=Length(0, 60),
                         metadata={"description": "the dossier code printed on the receipt"})
    phone_last4 = fields.String(load_default=None, validate=Length(0, 4),
                                metadata={"description": "the last four digits of the "
                                                         "applicant's phone (with `code`)"})


class StatusOut(Schema):
    code = fields.String(allow_none=True, metadata={"description": "null for a dossier "
                                                                   "not accepted at intake"})
    stage = fields.String(metadata={"description": "the lifecycle state: accepted, processing, "
                                                   "waiting_supplement, result_ready, "
                                                   "awaiting_return, out_for_delivery, "
                                                   "returned, withdrawn, refused, incomplete, "
                                                   "rejected"})
    stage_text = fields.String(metadata={"description": "the stage in words, in the "
                                                        "request's language"})
    step = fields.Integer(metadata={"description": "1 accepted … 5 returned; 0 off the usual "
                                                  "path"})
    received_on = fields.Date(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    appointment_at = fields.DateTime(allow_none=True, metadata={
        "description": "the new appointment after an extension"})
    return_method = fields.String(metadata={"description": "counter | home"})
    return_place = fields.String(allow_none=True, metadata={
        "description": "the centre to collect the result from (counter return)"})
    delivery_day = fields.Date(allow_none=True, metadata={
        "description": "home delivery: the local day the result went out for delivery"})
    delivery_attempts = fields.Integer()
    returned_on = fields.Date(allow_none=True)


@bp.get("/public/status")
@bp.input(StatusQuery, location="query", arg_name="query")
@bp.output(StatusOut)
@bp.doc(responses={
    404: "no dossier matches (the same answer whatever did not match)",
    422: "malformed token, code or phone digits (the field is named)",
    429: "too many lookups from this address, or too many failed ones for this code "
         "(`too_many_guesses`: use the token); try again later"})
@limiter.shared_limit(public_limit, scope=SCOPE)
def status(query):
    """A dossier's status for its citizen: by `token`, or by `code` and `phone_last4`.

    No login. Shows the stage, the dates and the return method, never the applicant's name,
    address or phone. Rate-limited per client address (PUBLIC_RATE_LIMIT).
    """
    found = lookup(db.session, **query)
    words = found["stage_text"]  # marked for the catalogue in public_status.STAGE_WORDS
    found["stage_text"] = gettext(words)
    return found


bp.after_request(no_store)
