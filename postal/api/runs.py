"""API: delivery runs — the queue, planning a courier's run, its sheet and its labels."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length
from flask import Response, current_app
from flask_login import current_user

from postal.core.errors import ValidationFailed
from postal.delivery import runs
from postal.documents.labels import run_labels
from postal.extensions import db
from postal.http.responses import pdf_response
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = APIBlueprint("api_runs", __name__, url_prefix="/api/v1", tag="runs")

PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
ZPL = {"content": {"application/zpl": {"schema": {"type": "string"}}}}
STAFF = (Role.CLERK, Role.MANAGER, Role.COURIER)


class RunIn(Schema):
    courier = fields.String(required=True, validate=Length(1, 80),
                            metadata={"description": "the courier's username"})
    date = fields.Date(required=True, metadata={"description": "the day of the run (local)"})
    codes = fields.List(fields.String(validate=Length(1, 60)), load_default=None,
                        validate=Length(1, runs.MAX_STOPS),
                        metadata={"description": "dossier codes; default: the whole queue"})


class RunQuery(Schema):
    date = fields.Date(load_default=None)


class LayoutQuery(Schema):
    layout = fields.String(load_default=None, validate=Length(1, 60),
                           metadata={"description": "a layout of labels/ (a6-4up, "
                                                    "thermal-100x150, ...)"})


class StopOut(Schema):
    code = fields.String()
    position = fields.Integer()
    lat = fields.Float()
    lon = fields.Float()
    source = fields.String(metadata={"description": "learned | nominatim | ward | centre | "
                                                    "manual: where the position came from"})
    leg_km = fields.Float(metadata={"description": "from the previous stop (or the centre)"})
    status = fields.String(metadata={"description": "pending | out | delivered | failed"})
    item_number = fields.String(allow_none=True)
    recipient = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String()
    cod_amount = fields.Integer()


class PointOut(Schema):
    lat = fields.Float()
    lon = fields.Float()


class RunOut(Schema):
    id = fields.Integer()
    courier = fields.String()
    date = fields.Date()
    status = fields.String(metadata={"description": "planned | out | done | cancelled"})
    unit = fields.String(allow_none=True)
    total_km = fields.Float(metadata={"description": "round trip from the centre, geodesic"})
    depot = fields.Nested(PointOut)
    stops = fields.List(fields.Nested(StopOut), metadata={"description": "in visiting order"})


class QueuedOut(Schema):
    code = fields.String()
    state = fields.String()
    recipient = fields.String()
    address = fields.String()
    cod_amount = fields.Integer()


def _me():
    return current_user._get_current_object()


def _run(run_id: int):
    return runs.run_for(db.session, _me(), run_id)


@bp.post("/runs")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.input(RunIn, arg_name="body")
@bp.output(RunOut, status_code=201)
@bp.doc(responses={400: "malformed JSON body",
                   401: "no login", 403: "not counter or office staff",
                   409: "a dossier is for counter return, not ready, or on another run",
                   422: "unknown courier or dossier, a past date, nothing to deliver, or the "
                        "centre has no coordinates; nothing was written"})
def create(body):
    """Plan a courier's run: the dossiers named (default: the centre's queue), geocoded and
    ordered to shorten the round trip from the centre."""
    run = runs.plan_run(db.session, _me(), courier=body["courier"], day=body["date"],
                        codes=body["codes"], now=utcnow(), config=current_app.config)
    return runs.run_dict(run)


@bp.get("/runs")
@roles_required(*STAFF)
@bp.input(RunQuery, location="query", arg_name="query")
@bp.output(RunOut(many=True))
@bp.doc(responses={401: "no login"})
def index(query):
    """Runs you may see (a courier's own), newest first; `date` keeps one day's."""
    return [runs.run_dict(r) for r in runs.runs_for(db.session, _me(), day=query["date"])]


@bp.get("/runs/queue")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.output(QueuedOut(many=True))
@bp.doc(responses={401: "no login"})
def queue():
    """Home-return dossiers of your units whose result is ready and on no open run."""
    return [{"code": d.code, "state": d.state.value, "recipient": d.applicant.full_name,
             "address": d.delivery_address, "cod_amount": d.cod_amount or 0}
            for d in runs.delivery_queue(db.session, _me())]


@bp.get("/runs/<int:run_id>")
@roles_required(*STAFF)
@bp.output(RunOut)
@bp.doc(responses={401: "no login", 404: "no such run for you"})
def show(run_id):
    """One run with its stops in visiting order."""
    return runs.run_dict(_run(run_id))


@bp.post("/runs/<int:run_id>/start")
@roles_required(Role.COURIER)
@bp.output(RunOut)
@bp.doc(responses={401: "no login", 403: "not this run's courier", 404: "no such run",
                   409: "already started, or a result cannot go out"})
def start(run_id):
    """The courier leaves with the results: every stop goes out for delivery."""
    return runs.run_dict(runs.start_run(db.session, _me(), _run(run_id), utcnow()))


@bp.post("/runs/<int:run_id>/cancel")
@roles_required(Role.CLERK, Role.MANAGER)
@bp.output(RunOut)
@bp.doc(responses={401: "no login", 404: "no such run", 409: "the run has left"})
def cancel(run_id):
    """Drop a run that has not left; its dossiers return to the queue."""
    return runs.run_dict(runs.cancel_run(db.session, _me(), _run(run_id), utcnow()))


def _layout(name: str | None, default: str):
    from postal.documents.labels import load_layout

    try:
        return load_layout(name or default)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="layout") from None


@bp.get("/runs/<int:run_id>/labels.pdf")
@roles_required(*STAFF)
@bp.input(LayoutQuery, location="query", arg_name="query")
@bp.doc(responses={200: PDF, 401: "no login", 404: "no such run", 422: "unknown layout"})
def labels_pdf(run_id, query):
    """The run's labels in visiting order, one PDF (layout default a6-4up)."""
    from postal.documents.labels import render_labels

    layout = _layout(query["layout"], "a6-4up")
    run = _run(run_id)
    return pdf_response(render_labels(run_labels(run), layout), f"run-{run.id}-labels.pdf")


@bp.get("/runs/<int:run_id>/labels.zpl")
@roles_required(*STAFF)
@bp.input(LayoutQuery, location="query", arg_name="query")
@bp.doc(responses={200: ZPL, 401: "no login", 404: "no such run", 422: "unknown layout"})
def labels_zpl(run_id, query):
    """The run's labels as ZPL II for a thermal printer (layout default thermal-100x150)."""
    from postal.documents.labels import render_zpl

    layout = _layout(query["layout"], "thermal-100x150")
    run = _run(run_id)
    return Response(render_zpl(run_labels(run), layout), mimetype="application/zpl",
                    headers={"Content-Disposition": f'attachment; filename="run-{run.id}.zpl"'})


@bp.get("/runs/<int:run_id>/sheet.pdf")
@roles_required(*STAFF)
@bp.doc(responses={200: PDF, 401: "no login", 404: "no such run"})
def sheet_pdf(run_id):
    """The printable run sheet: stops in order, distance, amounts to collect, signatures."""
    from postal.documents.run_sheet import render_run_sheet

    run = _run(run_id)
    return pdf_response(render_run_sheet(run), f"run-{run.id}.pdf")
