"""Schemas of the courier's phone API (api/delivery.py): its offline work, its clock, photos
sent in parts, and the proofs of its queue."""

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range, Regexp

from postal.api.schemas import PRINTABLE
from postal.custody.judging import CLIENT_ID
from postal.delivery import sync, uploads

PHONE_ID = Regexp(CLIENT_ID, error="8–50 letters, digits, - or _")


class PhoneSessionOut(Schema):
    user_id = fields.Integer()
    username = fields.String()
    csrf_token = fields.String(allow_none=True, metadata={
        "description": "for the phone's pages (which may come from its cache); none with a "
                       "bearer token"})
    server_time = fields.DateTime()


class WorkOut(Schema):
    generated_at = fields.String(metadata={"description": "the server's time (ISO 8601)"})
    courier = fields.Dict()
    runs = fields.List(fields.Dict(), metadata={
        "description": "open runs, each with its stops in visiting order"})
    holding = fields.List(fields.Dict(), metadata={"description": "items in the courier's hands"})
    to_collect = fields.Dict(metadata={
        "description": "{manifests, results}: waiting at the centre and at agencies"})
    pickups = fields.List(fields.Dict())
    relations = fields.Dict(metadata={"description": "code → words, for the recipient"})
    reasons = fields.Dict(metadata={"description": "code → words, for a failed attempt"})
    pages = fields.List(fields.String(), metadata={
        "description": "the pages the phone keeps for offline use"})


class ClockIn(Schema):
    device_id = fields.String(required=True, validate=PHONE_ID,
                              metadata={"description": "the phone's own random id"})
    device_time = fields.AwareDateTime(required=True,
                                       metadata={"description": "the phone's clock, now"})


class ClockOut(Schema):
    server_time = fields.DateTime()
    skew_s = fields.Integer(metadata={"description": "the phone's clock minus the server's"})
    flagged = fields.Boolean(metadata={"description": "off by more than allowance_s: the "
                                                      "office sees it"})
    allowance_s = fields.Integer()


class ClockFlagOut(Schema):
    courier = fields.String()
    device_id = fields.String()
    skew_s = fields.Integer()
    worst_skew_s = fields.Integer()
    checked_at = fields.DateTime()
    flagged_since = fields.DateTime()


class UploadIn(Schema):
    id = fields.String(required=True, validate=PHONE_ID,
                       metadata={"description": "the phone's UUID of this photo upload"})
    length = fields.Integer(required=True, validate=Range(1, 2**31 - 1),
                            metadata={"description": "bytes of the whole photo"})
    sha256 = fields.String(required=True, validate=Regexp(r"^[0-9a-fA-F]{64}$"),
                           metadata={"description": "hex digest of the whole photo"})


class UploadOut(Schema):
    id = fields.String()
    length = fields.Integer()
    offset = fields.Integer(metadata={"description": "bytes the server holds: send from here"})
    part_max_bytes = fields.Integer()


class ProofEntryIn(Schema):
    id = fields.String(required=True, validate=PHONE_ID,
                       metadata={"description": "the phone's UUID: the same id twice is "
                                                "stored once"})
    code = fields.String(required=True, validate=[Length(1, 60), PRINTABLE])
    outcome = fields.String(required=True, validate=OneOf(sync.OUTCOMES))
    at = fields.AwareDateTime(load_default=None, allow_none=True,
                              metadata={"description": "the phone's clock at the door"})
    recipient_name = fields.String(load_default=None, allow_none=True,
                                   validate=[Length(0, 200), PRINTABLE])
    relation = fields.String(load_default=None, allow_none=True, validate=Length(0, 20))
    id_number = fields.String(load_default=None, allow_none=True,
                              validate=[Length(0, 20), PRINTABLE],
                              metadata={"description": "the ID card shown, where the "
                                                       "procedure demands the check"})
    signature = fields.String(load_default=None, allow_none=True, metadata={
        "description": "data:image/png;base64,… drawn on the screen"})
    photo_upload = fields.String(load_default=None, allow_none=True, validate=PHONE_ID,
                                 metadata={"description": "id of a finished photo upload"})
    lat = fields.Float(load_default=None, allow_none=True, validate=Range(-90, 90))
    lon = fields.Float(load_default=None, allow_none=True, validate=Range(-180, 180))
    accuracy_m = fields.Float(load_default=None, allow_none=True, validate=Range(0, 100_000))
    cod_collected = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=Length(0, 20))
    note = fields.String(load_default=None, allow_none=True, validate=[Length(0, 1000),
                                                                       PRINTABLE])


class ProofBatchIn(Schema):
    device_id = fields.String(load_default=None, allow_none=True, validate=PHONE_ID)
    sent_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                   metadata={"description": "the phone's clock when sending"})
    proofs = fields.List(fields.Nested(ProofEntryIn), required=True,
                         validate=Length(1, sync.MAX_PROOFS))


class ProofErrorOut(Schema):
    code = fields.String()
    message = fields.String()
    field = fields.String(allow_none=True)
    hint = fields.String(metadata={"description": "what the courier should do"})


class ProofAttemptOut(Schema):
    code = fields.String()
    attempt = fields.Integer()
    outcome = fields.String()
    at = fields.DateTime()
    state = fields.String()
    return_method = fields.String()
    attempts = fields.Integer()
    recipient_name = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class ProofAnswerOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "accepted | duplicate (stored before: the "
                                                    "stored attempt) | rejected | retry (send "
                                                    "its photo, then the proof again)"})
    attempt = fields.Nested(ProofAttemptOut)
    error = fields.Nested(ProofErrorOut)


PART_MAX_BYTES = uploads.PART_MAX_BYTES
