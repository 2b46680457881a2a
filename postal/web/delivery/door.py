"""The courier's phone page at the door: delivered (with a photo or a signature drawn on the
screen, GPS and time) or a failed attempt with its reason; and the stored evidence."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal.core.access import dossier_for
from postal.core.errors import DomainError, NotFound, ValidationFailed
from postal.core.time import parse_moment
from postal.custody.door import REASONS, RELATIONS
from postal.delivery import proof
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import DeliveryAttempt, Role, utcnow
from postal.web.delivery.blueprint import bp
from postal.web.delivery.planning import me


def _door(code: str, error: DomainError | None = None, status: int = 200, tab: str = "done"):
    dossier = dossier_for(db.session, me(), code)
    stop = proof.open_stop(db.session, dossier)
    return render_template(
        "delivery/door.html", dossier=dossier, stop=stop, relations=RELATIONS,
        reasons=REASONS, error=error, form=request.form, tab=tab,
        max_bytes=current_app.config["PHOTO_MAX_BYTES"]), status


@bp.get("/delivery/stops/<code>")
@roles_required(Role.COURIER)
def door(code):
    return _door(code)


def _moment(value: str | None) -> datetime | None:
    """The phone's clock at submission (ISO 8601 from JavaScript); absent: the server's."""
    try:
        return parse_moment(value, naive="ignore")
    except ValueError:
        raise ValidationFailed(_("Thời điểm không hợp lệ"), field="at") from None


def _after(dossier, message: str):
    flash(message)
    stop = proof.open_stop(db.session, dossier)
    run_id = request.form.get("run")
    if run_id and run_id.isdigit():
        return redirect(url_for(".run", run_id=int(run_id)), 303)
    return redirect(url_for(".courier") if stop is None else url_for(".run", run_id=stop.run_id),
                    303)


@bp.post("/delivery/stops/<code>/deliver")
@roles_required(Role.COURIER)
def deliver(code):
    form, files = request.form, request.files
    max_bytes = int(current_app.config["PHOTO_MAX_BYTES"])
    dossier = dossier_for(db.session, me(), code)
    upload = files.get("photo")
    try:
        evidence = proof.Proof(
            recipient_name=form.get("recipient_name") or "", relation=form.get("relation") or "",
            photo=upload.stream.read(max_bytes + 1) if upload and upload.filename else None,
            signature=form.get("signature") or None, lat=form.get("lat"), lon=form.get("lon"),
            accuracy_m=form.get("accuracy"), at=_moment(form.get("at")),
            cod_collected=form.get("cod_collected"), note=form.get("note"),
            id_number=form.get("id_number"))
        proof.record_delivery(db.session, me(), dossier, evidence, utcnow(),
                              max_photo_bytes=max_bytes)
    except DomainError as exc:
        db.session.rollback()
        return _door(code, exc, exc.status)
    return _after(dossier, _("Đã giao %(code)s cho %(name)s.", code=dossier.code,
                             name=dossier.collected_by))


@bp.post("/delivery/stops/<code>/fail")
@roles_required(Role.COURIER)
def fail(code):
    form = request.form
    dossier = dossier_for(db.session, me(), code)
    try:
        proof.record_failed_attempt(
            db.session, me(), dossier, form.get("reason") or "", utcnow(),
            int(current_app.config["DELIVERY_MAX_ATTEMPTS"]), note=form.get("note"),
            lat=form.get("lat"), lon=form.get("lon"), accuracy_m=form.get("accuracy"),
            at=_moment(form.get("at")))
    except DomainError as exc:
        db.session.rollback()
        return _door(code, exc, exc.status, tab="failed")
    if dossier.return_method.value == "counter":
        message = _("Đã ghi giao không thành công %(code)s: hết số lần giao, kết quả chuyển về "
                    "quầy.", code=dossier.code)
    else:
        message = _("Đã ghi giao không thành công %(code)s.", code=dossier.code)
    return _after(dossier, message)


@bp.get("/delivery/attempts/<int:attempt_id>/<any(photo, signature):kind>")
@roles_required(Role.CLERK, Role.MANAGER, Role.COURIER)
def evidence(attempt_id, kind):
    """The photo or signature of a delivery, for staff who may see its dossier."""
    attempt = db.session.get(DeliveryAttempt, attempt_id)
    if attempt is None:
        raise NotFound(_("Không có lần giao này"))
    dossier_for(db.session, me(), attempt.dossier.code)
    data = attempt.photo if kind == "photo" else attempt.signature
    if not data:
        raise NotFound(_("Lần giao này không có ảnh/chữ ký"))
    mimetype = attempt.photo_type if kind == "photo" else "image/png"
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "private, no-store"})
