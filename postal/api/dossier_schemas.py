"""Request and answer schemas of /api/v1/dossiers (shared/interfaces.md).

Types and shapes are checked here; the rules (ID numbers, phones, wards, checklists) are the
domain's, so the API and the counter page give the same messages.
"""

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf

from postal.core.text import MAX_REASON


class AddressIn(Schema):
    street = fields.String(load_default="", validate=Length(0, 300))
    ward_code = fields.String(load_default="", validate=Length(0, 40))


class ApplicantIn(Schema):
    full_name = fields.String(required=True, validate=Length(0, 400))
    id_number = fields.String(load_default="", validate=Length(0, 40))
    phone = fields.String(load_default="", validate=Length(0, 40))
    address = fields.Nested(AddressIn, load_default=dict)


class FeesIn(Schema):
    fee = fields.Integer(load_default=None, allow_none=True)
    postal_fee = fields.Integer(load_default=None, allow_none=True)
    cod_amount = fields.Integer(load_default=None, allow_none=True)


class DossierIn(Schema):
    procedure_code = fields.String(required=True, validate=Length(1, 40))
    applicant = fields.Nested(ApplicantIn, required=True)
    channel = fields.String(load_default="counter",
                            validate=OneOf(["counter", "home_pickup", "online"]))
    return_method = fields.String(load_default="counter", validate=OneOf(["counter", "home"]))
    delivery_address = fields.Nested(AddressIn, load_default=None, allow_none=True)
    documents = fields.List(fields.String(validate=Length(1, 400)), load_default=list,
                            validate=Length(0, 100))
    fees = fields.Nested(FeesIn, load_default=None, allow_none=True)
    # extensions: the two other intake outcomes, and a key against double submits
    outcome = fields.String(load_default="accept", validate=OneOf(["accept", "supplement",
                                                                   "refuse"]))
    missing = fields.List(fields.String(validate=Length(1, 400)), load_default=list,
                          metadata={"description": "outcome=supplement: papers to add beyond "
                                                   "the unticked required ones"})
    reason = fields.String(load_default="", validate=Length(0, MAX_REASON))
    idempotency_key = fields.String(load_default="", metadata={
        "description": "same as the Idempotency-Key header: a UUID; sent twice, the first "
                       "dossier is returned and nothing new is written"})


class DossierCreated(Schema):
    id = fields.Integer()
    code = fields.String(allow_none=True, metadata={"description": "null unless accepted"})
    due_at = fields.DateTime(allow_none=True)
    status = fields.String()
    item_barcodes = fields.List(fields.String())
    receipt_url = fields.String(allow_none=True)
    slip_url = fields.String(allow_none=True)


class AddressOut(Schema):
    street = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True)
    ward_name = fields.String(allow_none=True)
    text = fields.String()


class ApplicantOut(Schema):
    full_name = fields.String()
    id_number = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.Nested(AddressOut)


class ProcedureRef(Schema):
    code = fields.String()
    name = fields.String()


class ItemOut(Schema):
    number = fields.String()
    kind = fields.String()
    holder_unit_code = fields.String(allow_none=True)


class EventOut(Schema):
    kind = fields.String()
    at = fields.DateTime()
    unit_code = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    item = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class LegOut(Schema):
    item = fields.String()
    from_unit = fields.String(allow_none=True)
    to_unit = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    custodian = fields.String(allow_none=True)
    receiver = fields.String(allow_none=True)


class DossierOut(Schema):
    id = fields.Integer()
    code = fields.String(allow_none=True)
    status = fields.String()
    unit_code = fields.String()
    agency_code = fields.String(allow_none=True)
    procedure = fields.Nested(ProcedureRef)
    applicant = fields.Nested(ApplicantOut)
    channel = fields.String()
    return_method = fields.String()
    delivery_address = fields.Nested(AddressOut, allow_none=True)
    documents = fields.List(fields.String())
    missing_documents = fields.List(fields.String())
    reason = fields.String(allow_none=True)
    fee = fields.Integer()
    postal_fee = fields.Integer()
    cod_amount = fields.Integer()
    clerk = fields.String(allow_none=True)
    created_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    appointment_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    timeliness = fields.String(allow_none=True)
    items = fields.List(fields.Nested(ItemOut))
    timeline = fields.List(fields.Nested(EventOut))
    legs = fields.List(fields.Nested(LegOut))


class PageQuery(Schema):
    page = fields.String(load_default="A4", validate=OneOf(["A4", "A5", "a4", "a5"]))
