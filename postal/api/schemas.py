"""Shared marshmallow schemas of the API (request bodies and answers)."""

# marshmallow 4 ignores a validator that returns False: validators must raise, as these do
from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range, Regexp

# PostgreSQL text cannot hold NUL, and no name, code or search holds control characters
PRINTABLE = Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
                   error="control characters are not allowed")


class TokenIn(Schema):
    username = fields.String(required=True, validate=[Length(1, 80), PRINTABLE])
    password = fields.String(required=True, validate=[Length(1, 200), PRINTABLE])


class TokenOut(Schema):
    token = fields.String()
    expires_at = fields.DateTime()


class UnitOut(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_code = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


class UnitQuery(Schema):
    kind = fields.String(
        load_default=None,
        validate=OneOf(("province", "commune", "centre", "agency", "post_office")),
    )
    parent = fields.String(load_default=None, validate=[Length(1, 40), PRINTABLE])
    q = fields.String(load_default=None, validate=[Length(1, 100), PRINTABLE])
    limit = fields.Integer(load_default=500, validate=Range(1, 5000))


class DocumentOut(Schema):
    id = fields.String()
    name = fields.String()
    required = fields.Boolean()


class ProcedureOut(Schema):
    code = fields.String()
    name = fields.String()
    field = fields.String()
    agency_code = fields.String(allow_none=True)
    processing_days = fields.Integer()
    processing_hours = fields.Integer(allow_none=True)
    same_day = fields.Boolean()
    fee = fields.Integer()
    documents = fields.List(fields.Nested(DocumentOut))
    home_return = fields.Boolean()


class ProcedureQuery(Schema):
    q = fields.String(load_default=None, validate=[Length(0, 200), PRINTABLE])
    limit = fields.Integer(load_default=50, validate=Range(1, 500))
