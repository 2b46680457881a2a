"""The dossier's timeline: its process control sheet on screen and as a PDF."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user

from postal.domain.access import dossier_for
from postal.domain.custody import timeline
from postal.extensions import db
from postal.models import Role, utcnow
from postal.security import roles_required

bp = Blueprint("timeline", __name__, url_prefix="/timeline")


def _load(code: str):
    return dossier_for(db.session, current_user._get_current_object(), code)


@bp.get("/<code>")
@roles_required(*Role)
def show(code):
    dossier = _load(code)
    return render_template("timeline/show.html", dossier=dossier, now=utcnow(),
                           steps=timeline.control_steps(db.session, dossier),
                           events=timeline.events_of(db.session, dossier),
                           labels=timeline.LABELS)


@bp.get("/<code>.pdf")
@roles_required(*Role)
def pdf(code):
    """Phiếu kiểm soát quá trình giải quyết hồ sơ."""
    from postal.documents.control_sheet import render_control_sheet

    dossier = _load(code)
    body = render_control_sheet(dossier, timeline.control_rows(db.session, dossier))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="kiem-soat-{dossier.code}.pdf"'})
