"""The dossier's timeline: its process control sheet on screen and as a PDF."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from postal.core.access import dossier_for
from postal.core.errors import DomainError, Forbidden, NotFound
from postal.custody import control_sheet
from postal.dossiers import corrections
from postal.extensions import db
from postal.http.responses import pdf_response
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = Blueprint("timeline", __name__, url_prefix="/timeline")


def _load(code: str):
    return dossier_for(db.session, current_user._get_current_object(), code)


def _page(dossier, errors: dict | None = None, status: int = 200):
    user = current_user._get_current_object()
    return render_template("timeline/show.html", dossier=dossier, now=utcnow(),
                           steps=control_sheet.control_steps(db.session, dossier),
                           events=control_sheet.events_of(db.session, dossier),
                           labels=control_sheet.LABELS,
                           corrections=corrections.corrections_of(db.session, dossier),
                           correctable=corrections.CORRECTABLE,
                           may_correct=user.role in corrections.ALLOWED_ROLES,
                           errors=errors or {}, form=request.form), status


@bp.get("/<code>")
@roles_required(*Role)
def show(code):
    return _page(_load(code))


@bp.post("/<code>/corrections")
@roles_required(Role.MANAGER)
def correct(code):
    """The manager's correction form: new history with a reason, never a rewrite."""
    dossier, form = _load(code), request.form
    try:
        corrections.record_correction(
            db.session, current_user._get_current_object(), dossier, form.get("field", ""),
            form.get("new_value", ""), form.get("reason", ""), utcnow())
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:
        db.session.rollback()
        return _page(_load(code), {exc.field or "correction": exc.message}, exc.status)
    flash(_("Đã ghi nhận điều chỉnh; giá trị cũ vẫn được lưu trong lịch sử."), "ok")
    return redirect(url_for(".show", code=code), 303)


@bp.get("/<code>.pdf")
@roles_required(*Role)
def pdf(code):
    """Phiếu kiểm soát quá trình giải quyết hồ sơ."""
    from postal.documents.control_sheet import render_control_sheet

    dossier = _load(code)
    body = render_control_sheet(dossier, control_sheet.control_rows(db.session, dossier))
    return pdf_response(body, f"kiem-soat-{dossier.code}.pdf")
