"""API: dossiers (intake, details, receipts and slips)."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import current_app, request, url_for
from flask_login import current_user

from postal.api.dossier_schemas import DossierCreated, DossierIn, DossierOut, PageQuery
from postal.deadlines.office import calendar_for
from postal.dossiers import intake
from postal.dossiers.view import dossier_by_ref, dossier_dict, dossier_ref
from postal.extensions import db
from postal.http import papers
from postal.http.security import roles_required
from postal.models import Role

bp = APIBlueprint("api_dossiers", __name__, url_prefix="/api/v1", tag="dossiers")

PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _created(dossier) -> dict:
    ref = dossier_ref(dossier)
    paper = {"incomplete": "supplement_slip", "rejected": "refusal_slip"}.get(
        dossier.state.value, "receipt")
    return {
        "id": dossier.id, "code": dossier.code, "due_at": dossier.due_at,
        "status": dossier.state.value, "item_barcodes": [i.number for i in dossier.items],
        "receipt_url": url_for(".receipt", code=ref) if dossier.code else None,
        "slip_url": url_for(f".{paper}", code=ref),
    }


@bp.post("/dossiers")
@bp.input(DossierIn, arg_name="body")
@bp.output(DossierCreated, status_code=201)
@bp.doc(responses={401: "no login", 403: "not a clerk", 409: "conflict",
                   422: "invalid input (the field is named); nothing was written"})
@roles_required(Role.CLERK)
def create(body):
    """Accept a dossier (or, with `outcome`, ask for supplements or refuse it).

    Send an `Idempotency-Key` header (a UUID) to make retries safe: the same key again returns
    the first dossier and writes nothing.
    """
    user = current_user._get_current_object()
    common = {
        "clerk": user, "unit": user.unit, "applicant": body["applicant"],
        "channel": body["channel"], "documents": body["documents"],
        "idempotency_key": request.headers.get("Idempotency-Key") or body["idempotency_key"],
    }
    procedure = intake.procedure_for(db.session, body["procedure_code"])
    if body["outcome"] == "supplement":
        dossier = intake.ask_supplement(db.session, **common, procedure=procedure,
                                        extra_missing=body["missing"], reason=body["reason"])
    elif body["outcome"] == "refuse":
        dossier = intake.refuse(db.session, **common, procedure=procedure, reason=body["reason"])
    else:
        dossier = intake.accept(
            db.session, **common, procedure=procedure, return_method=body["return_method"],
            delivery=body["delivery_address"], fees=body["fees"],
            calendar=calendar_for(db.session, current_app.config),
            default_cutoff=current_app.config.get("SAME_DAY_CUTOFF"),
        )
    return _created(dossier)


@bp.get("/dossiers/<code>")
@bp.output(DossierOut)
@bp.doc(responses={401: "no login", 404: "no such dossier in your units"})
@roles_required(*Role)
def show(code):
    """The dossier (by code, or by id when it has none) with its timeline of events and legs."""
    return dossier_dict(dossier_by_ref(db.session, current_user._get_current_object(), code))


def _paper(kind: str, ref: str, page: str):
    found = dossier_by_ref(db.session, current_user._get_current_object(), ref)
    return papers.pdf_response(kind, found, page)


_PAPER_DOC = {"responses": {200: PDF, 401: "no login", 404: "no such dossier in your units",
                            409: "the dossier has no such paper", 422: "bad page"}}


@bp.get("/dossiers/<code>/receipt.pdf")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.doc(**_PAPER_DOC)
@roles_required(*Role)
def receipt(code, query):
    """The receipt and appointment slip, two copies (`page` A4 or A5)."""
    return _paper("receipt", code, query["page"])


@bp.get("/dossiers/<code>/supplement-slip.pdf")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.doc(**_PAPER_DOC)
@roles_required(*Role)
def supplement_slip(code, query):
    """The supplement request slip (Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ)."""
    return _paper("supplement-slip", code, query["page"])


@bp.get("/dossiers/<code>/refusal-slip.pdf")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.doc(**_PAPER_DOC)
@roles_required(*Role)
def refusal_slip(code, query):
    """The refusal slip with the reason (Phiếu từ chối tiếp nhận giải quyết hồ sơ)."""
    return _paper("refusal-slip", code, query["page"])


@bp.get("/dossiers/<code>/sticker.pdf")
@bp.doc(responses={200: PDF, 401: "no login", 404: "no such dossier in your units",
                   409: "the dossier has no paper folder", 422: "bad page"})
@roles_required(*Role)
def sticker(code):
    """The S10 sticker of the paper folder (`page` A6 or 62mm)."""
    return _paper("sticker", code, request.args.get("page"))
