"""Handover manifests for counter and agency staff, and the managers' transit alerts."""

from __future__ import annotations

from collections import defaultdict

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from postal.core.errors import ValidationFailed
from postal.custody import manifests, overdue_transit
from postal.extensions import db
from postal.http.responses import pdf_response
from postal.http.security import roles_required
from postal.models import LineStatus, OrgUnit, Role, UnitKind, utcnow

bp = Blueprint("manifests", __name__)

STAFF = (Role.CLERK, Role.AGENCY, Role.COURIER, Role.MANAGER)


def _me():
    return current_user._get_current_object()


@bp.get("/manifests/")
@roles_required(*STAFF)
def index():
    user = _me()
    return render_template("manifests/index.html",
                           outgoing=manifests.manifests_for(db.session, user, direction="out"),
                           incoming=manifests.manifests_for(db.session, user, direction="in"))


def _new_page(errors: dict | None = None, status: int = 200):
    user = _me()
    waiting = manifests.items_waiting(db.session, user.unit)
    groups = defaultdict(list)
    for item in waiting:
        groups[manifests.destination(item)].append(item)
    destinations = db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind.in_([UnitKind.CENTRE, UnitKind.AGENCY,
                                                UnitKind.POST_OFFICE]),
                              OrgUnit.id != user.unit_id).order_by(OrgUnit.kind, OrgUnit.name)
    ).all()
    suggested = next(iter(groups), None)
    return render_template("manifests/new.html", groups=groups, destinations=destinations,
                           errors=errors or {}, form=request.form,
                           suggested=suggested.code if suggested else ""), status


@bp.get("/manifests/new")
@roles_required(Role.CLERK, Role.AGENCY)
def new():
    return _new_page()


@bp.post("/manifests/new")
@roles_required(Role.CLERK, Role.AGENCY)
def create():
    form = request.form
    barcodes = form.getlist("item") + (form.get("barcodes") or "").split()
    try:
        manifest = manifests.build_manifest(db.session, _me(), to_unit_code=form.get("to_unit"),
                                            barcodes=barcodes, now=utcnow())
    except ValidationFailed as exc:
        db.session.rollback()
        return _new_page({exc.field or "form": exc.message}, 422)
    flash(_("Đã lập bảng kê %(code)s: in và giao cho bưu tá.", code=manifest.code))
    return redirect(url_for(".show", code=manifest.code), 303)


def _show(code: str, results=None, error: str | None = None, status: int = 200):
    user = _me()
    manifest = manifests.manifest_by_code(db.session, user, code)
    receiving = (user.role in (Role.AGENCY, Role.CLERK, Role.ADMIN)
                 and manifest.to_unit.path.startswith(user.unit.path))
    return render_template("manifests/show.html", manifest=manifest, receiving=receiving,
                           counts={s.value: manifests.count(manifest, s) for s in LineStatus},
                           results=results or [], error=error,
                           closed=manifest.status in manifests.CLOSED), status


@bp.get("/manifests/<code>")
@roles_required(*STAFF)
def show(code):
    return _show(code)


@bp.get("/manifests/<code>.pdf")
@roles_required(*STAFF)
def pdf(code):
    from postal.documents.manifest import render_manifest

    manifest = manifests.manifest_by_code(db.session, _me(), code)
    return pdf_response(render_manifest(manifest), f"{manifest.code}.pdf")


@bp.post("/manifests/<code>/receive")
@roles_required(Role.CLERK, Role.AGENCY)
def receive(code):
    """Check one scanned item (or several, one a line) against the manifest."""
    manifest = manifests.manifest_by_code(db.session, _me(), code)
    barcodes = (request.form.get("barcodes") or "").split()
    if not barcodes:
        return _show(code, error=_("Quét mã bưu gửi để kiểm nhận."), status=422)
    results = manifests.receive_items(db.session, _me(), manifest, barcodes, utcnow())
    # what was confirmed is kept; only a scan that changed nothing answers with an error
    useless = all(r["status"] == "rejected" for r in results)
    return _show(code, results=results, status=422 if useless else 200)


@bp.post("/manifests/<code>/close")
@roles_required(Role.CLERK, Role.AGENCY)
def close(code):
    manifest = manifests.manifest_by_code(db.session, _me(), code)
    manifests.close_manifest(db.session, _me(), manifest, utcnow())
    flash(_("Đã chốt kiểm nhận bảng kê %(code)s.", code=manifest.code))
    return redirect(url_for(".show", code=code), 303)


@bp.get("/custody/alerts")
@roles_required(Role.MANAGER, Role.CLERK)
def alerts():
    """Items in transit longer than TRANSIT_ALERT_HOURS."""
    hours = current_app.config["TRANSIT_ALERT_HOURS"]
    found = overdue_transit(db.session, _me().unit, utcnow(), hours=hours)
    return render_template("manifests/alerts.html", alerts=found, hours=hours)
