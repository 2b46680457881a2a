"""API: the agency's decisions on a dossier and the citizen's withdrawal."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length
from flask import current_app, url_for
from flask_login import current_user

from postal.core.access import dossier_for
from postal.core.text import MAX_REASON
from postal.deadlines.office import calendar_for
from postal.dossiers import decisions
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = APIBlueprint("api_decisions", __name__, url_prefix="/api/v1", tag="decisions")

PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
_ERRORS = {401: "no login", 403: "not allowed for your role",
           404: "no such dossier in your units",
           409: "the dossier's state does not allow it (invalid_transition)",
           422: "invalid input (the field is named); nothing was written"}


class NoteIn(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=Length(0, 500))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=Length(1, MAX_REASON))


class OptionalReasonIn(Schema):
    reason = fields.String(load_default=None, allow_none=True,
                           validate=Length(0, MAX_REASON))


class SupplementIn(Schema):
    reason = fields.String(required=True, validate=Length(1, MAX_REASON))
    documents = fields.List(fields.String(validate=Length(1, 300)), load_default=list,
                            metadata={"description": "the documents to add"})


class ExtendIn(Schema):
    new_date = fields.Date(required=True, metadata={"description": "the new appointment day "
                                                                   "(a working day)"})
    reason = fields.String(required=True, validate=Length(1, MAX_REASON))


class DecisionOut(Schema):
    code = fields.String()
    status = fields.String()
    due_at = fields.DateTime(allow_none=True)
    appointment_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    timeliness = fields.String(allow_none=True)
    paused_at = fields.DateTime(allow_none=True)
    resumed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    result_item = fields.String(allow_none=True)
    previous_due_at = fields.DateTime(allow_none=True)
    apology_url = fields.String(allow_none=True)


def _load(code: str):
    user = current_user._get_current_object()
    return user, dossier_for(db.session, user, code)


def _out(dossier, **extra) -> dict:
    result = next((i.number for i in dossier.items if i.kind.value == "result"), None)
    return {
        "code": dossier.code, "status": dossier.state.value, "due_at": dossier.due_at,
        "appointment_at": dossier.appointment_at, "resolved_at": dossier.resolved_at,
        "timeliness": dossier.timeliness.value if dossier.timeliness else None,
        "paused_at": dossier.paused_at, "resumed_at": dossier.resumed_at,
        "closed_at": dossier.closed_at, "reason": dossier.reason, "result_item": result,
        **extra,
    }


@bp.post("/dossiers/<code>/result")
@roles_required(*decisions.WHO_DECIDES["result"])
@bp.input(NoteIn, arg_name="body")
@bp.output(DecisionOut)
@bp.doc(responses=_ERRORS)
def result(code, body):
    """Mark the result ready: a result item (S10) is made where it was decided."""
    user, dossier = _load(code)
    decisions.mark_result_ready(db.session, user, dossier, now=utcnow(), note=body["note"])
    return _out(dossier)


@bp.post("/dossiers/<code>/supplement")
@roles_required(*decisions.WHO_DECIDES["supplement"])
@bp.input(SupplementIn, arg_name="body")
@bp.output(DecisionOut)
@bp.doc(responses=_ERRORS)
def supplement(code, body):
    """Ask for supplementary documents: the deadline clock pauses."""
    user, dossier = _load(code)
    decisions.request_supplement(db.session, user, dossier, reason=body["reason"],
                              documents=body["documents"], now=utcnow())
    return _out(dossier)


@bp.post("/dossiers/<code>/supplement/received")
@roles_required(*decisions.WHO_DECIDES["supplement-received"])
@bp.input(NoteIn, arg_name="body")
@bp.output(DecisionOut)
@bp.doc(responses=_ERRORS)
def supplement_received(code, body):
    """The supplementary documents arrived: the clock restarts, the due moment moves on."""
    user, dossier = _load(code)
    before = dossier.due_at
    decisions.receive_supplement(db.session, user, dossier, now=utcnow(), note=body["note"],
                              calendar=calendar_for(db.session, current_app.config))
    return _out(dossier, previous_due_at=before)


@bp.post("/dossiers/<code>/extend")
@roles_required(*decisions.WHO_DECIDES["extend"])
@bp.input(ExtendIn, arg_name="body")
@bp.output(DecisionOut)
@bp.doc(responses=_ERRORS)
def extend(code, body):
    """Set a new appointment with a letter of apology; the dossier still counts as late."""
    user, dossier = _load(code)
    decisions.extend(db.session, user, dossier, new_date=body["new_date"], reason=body["reason"],
                  now=utcnow(), calendar=calendar_for(db.session, current_app.config))
    return _out(dossier, apology_url=url_for(".apology", code=dossier.code))


@bp.get("/dossiers/<code>/apology.pdf")
@roles_required(Role.AGENCY, Role.CLERK, Role.MANAGER)
@bp.doc(responses={200: PDF, 401: "no login", 404: "no such dossier in your units",
                   409: "the dossier was never extended"})
def apology(code):
    """The letter of apology and new appointment of the latest extension."""
    from postal.http.papers import apology_response

    return apology_response(db.session, _load(code)[1])


@bp.post("/dossiers/<code>/stop")
@roles_required(*decisions.WHO_DECIDES["stop"])
@bp.input(ReasonIn, arg_name="body")
@bp.output(DecisionOut)
@bp.doc(responses=_ERRORS)
def stop(code, body):
    """Stop processing (Thông báo dừng giải quyết hồ sơ): the dossier is refused."""
    user, dossier = _load(code)
    decisions.stop(db.session, user, dossier, reason=body["reason"], now=utcnow())
    return _out(dossier)


@bp.post("/dossiers/<code>/withdraw")
@roles_required(*decisions.WHO_DECIDES["withdraw"])
@bp.input(OptionalReasonIn, arg_name="body")
@bp.output(DecisionOut)
@bp.doc(responses=_ERRORS)
def withdraw(code, body):
    """The citizen withdraws the dossier."""
    user, dossier = _load(code)
    decisions.withdraw(db.session, user, dossier, reason=body["reason"], now=utcnow())
    return _out(dossier)
