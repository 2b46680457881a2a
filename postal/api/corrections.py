"""API: corrections of a dossier's recorded moments or timeliness class, and the list of
corrections a report period carries. A correction is new history (postal.dossiers.corrections):
the old value stays in the event, with the reason and the author."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf
from flask_login import current_user

from postal.api.reports import PeriodQuery
from postal.core.access import dossier_for
from postal.core.text import MAX_REASON
from postal.dossiers import corrections
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, utcnow
from postal.reporting import corrections as in_period
from postal.reporting import metrics

bp = APIBlueprint("api_corrections", __name__, url_prefix="/api/v1", tag="corrections")


class CorrectionIn(Schema):
    field = fields.String(required=True, validate=OneOf(corrections.CORRECTABLE),
                          metadata={"description": "the recorded column to correct"})
    new_value = fields.String(
        required=True, validate=Length(1, 40),
        metadata={"description": "ISO 8601 moment (no offset means Vietnam time) for the "
                                 "*_at columns; early, on_time or late for timeliness"})
    reason = fields.String(required=True, validate=Length(1, MAX_REASON))


class Change(Schema):
    old = fields.String(allow_none=True)
    new = fields.String(allow_none=True)


class CorrectionOut(Schema):
    id = fields.Integer()
    code = fields.String()
    at = fields.DateTime(metadata={"description": "when the correction was recorded"})
    field = fields.String()
    reason = fields.String()
    author = fields.String(allow_none=True)
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(Change),
                          metadata={"description": "every column changed, old and new; "
                                                   "correcting a moment may re-derive the "
                                                   "timeliness class"})


class CorrectionLine(Schema):
    at = fields.DateTime()
    code = fields.String()
    field = fields.String()
    old = fields.String(allow_none=True)
    new = fields.String(allow_none=True)
    reason = fields.String()
    author = fields.String()


def _out(event, code: str) -> dict:
    data = event.data or {}
    return {"id": event.id, "code": code, "at": event.at, "field": data.get("field"),
            "reason": data.get("reason") or event.note or "",
            "author": event.user.full_name if event.user is not None else None,
            "changes": data.get("changes") or {}}


@bp.get("/dossiers/<code>/corrections")
@roles_required(*Role)
@bp.output(CorrectionOut(many=True))
@bp.doc(responses={401: "no login", 404: "no such dossier in your units"})
def list_corrections(code):
    """The dossier's corrections, oldest first."""
    dossier = dossier_for(db.session, current_user._get_current_object(), code)
    return [_out(e, dossier.code) for e in corrections.corrections_of(db.session, dossier)]


@bp.post("/dossiers/<code>/corrections")
@roles_required(Role.MANAGER)
@bp.input(CorrectionIn, arg_name="body")
@bp.output(CorrectionOut, status_code=201)
@bp.doc(responses={401: "no login", 403: "managers and administrators only",
                   404: "no such dossier in your units",
                   409: "nothing recorded to correct yet",
                   422: "invalid input (the field is named); nothing was written"})
def correct(code, body):
    """Correct one recorded moment or the timeliness class: the column changes, and a
    "correction" event keeps the old value with the reason and the author."""
    user = current_user._get_current_object()
    dossier = dossier_for(db.session, user, code)
    event = corrections.record_correction(db.session, user, dossier, body["field"],
                                          body["new_value"], body["reason"], utcnow())
    return _out(event, dossier.code)


@bp.get("/reports/corrections")
@roles_required(Role.MANAGER)
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(CorrectionLine(many=True))
@bp.doc(responses=[401, 403, 404, 422])
def period_corrections(query):
    """Corrections recorded in the period to dossiers of the unit's subtree, newest first,
    one line per changed column: what the report's figures include as corrections."""
    date_from, date_to = metrics.parse_period(query["from_"], query["to"])
    unit = metrics.visible_unit(db.session, current_user, query["unit"])
    return [line.__dict__ for line in
            in_period.recorded_in(db.session, unit, date_from, date_to)]
