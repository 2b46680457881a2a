"""API: handover manifests (bảng kê bàn giao)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask_login import current_user

from postal.custody import manifests
from postal.extensions import db
from postal.http.responses import pdf_response
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = APIBlueprint("api_manifests", __name__, url_prefix="/api/v1", tag="manifests")

PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


class ManifestIn(Schema):
    to_unit = fields.String(required=True, validate=Length(1, 40),
                            metadata={"description": "the destination unit's code"})
    barcodes = fields.List(fields.String(validate=Length(1, 80)), required=True,
                           validate=Length(1, manifests.MAX_LINES),
                           metadata={"description": "S10 item numbers or dossier codes"})


class BarcodesIn(Schema):
    barcodes = fields.List(fields.String(validate=Length(1, 80)), required=True,
                           validate=Length(1, manifests.MAX_LINES))


class ManifestQuery(Schema):
    direction = fields.String(load_default=None, validate=OneOf(["in", "out"]))
    limit = fields.Integer(load_default=100, validate=Range(1, 500))


class LineOut(Schema):
    number = fields.String()
    kind = fields.String()
    dossier_code = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "listed | confirmed | missing | extra"})
    confirmed_at = fields.DateTime(allow_none=True)


class ManifestOut(Schema):
    code = fields.String()
    from_unit = fields.String()
    to_unit = fields.String()
    status = fields.String(metadata={"description": "open | in_transit | received | "
                                                    "discrepancy"})
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(LineOut))


class ReceivedOut(Schema):
    barcode = fields.String()
    status = fields.String(metadata={"description": "confirmed | extra | already | rejected"})
    item = fields.String()
    message = fields.String()


class ReceiveOut(Schema):
    manifest = fields.Nested(ManifestOut)
    results = fields.List(fields.Nested(ReceivedOut))


def _me():
    return current_user._get_current_object()


@bp.post("/manifests")
@roles_required(Role.CLERK, Role.AGENCY)
@bp.input(ManifestIn, arg_name="body")
@bp.output(ManifestOut, status_code=201)
@bp.doc(responses={401: "no login", 403: "not counter or agency staff",
                   422: "unknown unit or barcode, item not held here, already on a manifest, "
                        "or bound elsewhere; nothing was written"})
def create(body):
    """Build a manifest from your unit to `to_unit` listing the items held here."""
    manifest = manifests.build_manifest(db.session, _me(), to_unit_code=body["to_unit"],
                                        barcodes=body["barcodes"], now=utcnow())
    return manifests.manifest_dict(manifest)


@bp.get("/manifests")
@roles_required(Role.CLERK, Role.AGENCY, Role.COURIER, Role.MANAGER)
@bp.input(ManifestQuery, location="query", arg_name="query")
@bp.output(ManifestOut(many=True))
@bp.doc(responses={401: "no login"})
def index(query):
    """Manifests leaving (`out`) or reaching (`in`) your unit, newest first."""
    found = manifests.manifests_for(db.session, _me(), direction=query["direction"],
                                    limit=query["limit"])
    return [manifests.manifest_dict(m) for m in found]


@bp.get("/manifests/<code>")
@roles_required(Role.CLERK, Role.AGENCY, Role.COURIER, Role.MANAGER)
@bp.output(ManifestOut)
@bp.doc(responses={401: "no login", 404: "no such manifest at your units"})
def show(code):
    """One manifest with its lines and their check status."""
    return manifests.manifest_dict(manifests.manifest_by_code(db.session, _me(), code))


@bp.get("/manifests/<code>.pdf")
@roles_required(Role.CLERK, Role.AGENCY, Role.COURIER, Role.MANAGER)
@bp.doc(responses={200: PDF, 401: "no login", 404: "no such manifest at your units"})
def pdf(code):
    """The printable manifest: items with barcodes, counts, signature boxes."""
    from postal.documents.manifest import render_manifest

    manifest = manifests.manifest_by_code(db.session, _me(), code)
    return pdf_response(render_manifest(manifest), f"{manifest.code}.pdf")


@bp.post("/manifests/<code>/receive")
@roles_required(Role.CLERK, Role.AGENCY)
@bp.input(BarcodesIn, arg_name="body")
@bp.output(ReceiveOut)
@bp.doc(responses={401: "no login", 403: "not the receiving unit", 404: "no such manifest",
                   422: "malformed body"})
def receive(code, body):
    """The receiving unit checks items in, one barcode each; unlisted items become extra."""
    manifest = manifests.manifest_by_code(db.session, _me(), code)
    results = manifests.receive_items(db.session, _me(), manifest, body["barcodes"], utcnow())
    return {"manifest": manifests.manifest_dict(manifest), "results": results}


@bp.post("/manifests/<code>/close")
@roles_required(Role.CLERK, Role.AGENCY)
@bp.output(ManifestOut)
@bp.doc(responses={401: "no login", 403: "not the receiving unit", 404: "no such manifest",
                   409: "already checked"})
def close(code):
    """End the check: items listed but not found are flagged missing."""
    manifest = manifests.manifest_by_code(db.session, _me(), code)
    return manifests.manifest_dict(manifests.close_manifest(db.session, _me(), manifest, utcnow()))
