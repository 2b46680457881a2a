"""The counter: intake in three outcomes, the dossier page, reprints, and the pickers' look-ups."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from postal.core.access import scope_dossiers
from postal.core.codes import classify_barcode, intake_id
from postal.core.errors import DomainError, NotFound
from postal.core.text import clean
from postal.deadlines.office import calendar_for
from postal.dossiers import decisions, intake
from postal.dossiers.applicants import parse_cccd_qr, search_wards, split_address, ward_by_code
from postal.dossiers.catalogue import procedure_by_code
from postal.dossiers.view import dossier_by_ref, dossier_dict, dossier_ref
from postal.extensions import db
from postal.http import papers
from postal.http.security import roles_required
from postal.models import Dossier, Item, Role, State, utcnow
from postal.web.counter import forms

bp = Blueprint("counter", __name__, url_prefix="/counter")

PAPER_OF = {"accept": "receipt", "supplement": "supplement-slip", "refuse": "refusal-slip"}
STAFF = (Role.CLERK, Role.MANAGER)


def _ward(code: str | None):
    if not code:
        return None
    try:
        return ward_by_code(db.session, code, field="ward_code")
    except DomainError:
        return None


def _intake_page(values: MultiDict, errors: dict[str, str], status: int = 200):
    user = current_user._get_current_object()
    recent = db.session.scalars(
        scope_dossiers(select(Dossier), user).where(Dossier.unit_id == user.unit_id)
        .order_by(Dossier.created_at.desc(), Dossier.id.desc()).limit(15)
    ).all()
    done = None
    if request.args.get("done"):
        try:
            done = dossier_by_ref(db.session, user, request.args["done"])
        except NotFound:
            done = None
    procedure = procedure_by_code(db.session, values.get("procedure_code", ""))
    return render_template(
        "home/counter.html", values=values, errors=errors, recent=recent, done=done,
        paper=request.args.get("paper") if request.args.get("paper") in papers.KINDS else None,
        print_page=request.args.get("page", "A4") if request.args.get("page") in ("A4", "A5")
        else "A4",
        procedure=procedure if procedure is not None and procedure.active else None,
        checked=set(values.getlist("documents")), ward=_ward(values.get("ward_code")),
        delivery_ward=_ward(values.get("delivery_ward_code")),
        key=values.get("idempotency_key") or str(uuid.uuid4()),
        search_error=errors.get("q"),
    ), status


@bp.get("/")
@roles_required(Role.CLERK)
def index():
    values = MultiDict()
    if request.args.get("resume", "").isdigit():
        earlier = dossier_by_ref(db.session, current_user._get_current_object(),
                                 request.args["resume"])
        values = forms.resumed(earlier)
    return _intake_page(values, {})


@bp.post("/d/<ref>/supplement-received")
@roles_required(Role.CLERK)
def supplement_received(ref: str):
    """The citizen brought what the agency asked for: the deadline clock runs again."""
    user = current_user._get_current_object()
    found = dossier_by_ref(db.session, user, ref)
    decisions.receive_supplement(db.session, user, found, now=utcnow(),
                                 calendar=calendar_for(db.session, current_app.config),
                                 note=request.form.get("note"))
    flash(_("Đã nhận hồ sơ bổ sung; hạn mới được tính lại."))
    return redirect(url_for(".dossier", ref=dossier_ref(found)), 303)


@bp.post("/")
@roles_required(Role.CLERK)
def submit():
    """One intake: accept, ask for supplements or refuse; errors come back on their fields."""
    form = request.form
    outcome = form.get("outcome") if form.get("outcome") in forms.OUTCOMES else "accept"
    user = current_user._get_current_object()
    common = {
        "clerk": user, "unit": user.unit, "applicant": forms.applicant_of(form),
        "documents": form.getlist("documents"), "idempotency_key": form.get("idempotency_key"),
    }
    try:
        procedure = intake.procedure_for(db.session, form.get("procedure_code"))
        if outcome == "accept":
            dossier = intake.accept(
                db.session, **common, procedure=procedure,
                return_method=form.get("return_method") or "counter",
                delivery=forms.delivery_of(form), fees={"postal_fee": form.get("postal_fee")},
                calendar=calendar_for(db.session, current_app.config),
                default_cutoff=current_app.config.get("SAME_DAY_CUTOFF"),
            )
        elif outcome == "supplement":
            dossier = intake.ask_supplement(
                db.session, **common, procedure=procedure,
                extra_missing=forms.extra_missing(form), reason=form.get("reason"),
            )
        else:
            dossier = intake.refuse(db.session, **common, procedure=procedure,
                                    reason=form.get("reason"))
    except DomainError as exc:
        db.session.rollback()
        many = getattr(exc, "errors", None) or {exc.field: exc.message}
        errors = {}
        for field, message in many.items():
            errors.setdefault(forms.form_field(field), message)
        return _intake_page(form, errors, exc.status)
    page = form.get("print_page") if form.get("print_page") in ("A4", "A5") else "A4"
    return redirect(url_for(".index", done=dossier_ref(dossier), paper=PAPER_OF[outcome],
                            page=page), 303)


@bp.get("/find")
@roles_required(*STAFF)
def find():
    """A scanned or typed code: a dossier code, a folder's S10 number, or an intake number."""
    q = clean(request.args.get("q"))
    user = current_user._get_current_object()
    ref = q
    if (record := intake_id(q)) is not None:  # a supplement or refusal slip's barcode
        ref = str(record)
    elif classify_barcode(q.upper()) == "s10":
        item = db.session.scalar(select(Item).where(Item.number == q.upper()))
        ref = dossier_ref(item.dossier) if item is not None else ""
    try:
        dossier = dossier_by_ref(db.session, user, ref) if ref else None
    except NotFound:
        dossier = None
    if dossier is None:
        if user.role == Role.MANAGER:
            raise NotFound(f"không tìm thấy hồ sơ {q!r}")
        return _intake_page(MultiDict(), {"q": f"Không tìm thấy hồ sơ “{q}”."}, 404)
    if dossier.state == State.INCOMPLETE and user.role in (Role.CLERK, Role.ADMIN):
        # the citizen is back with the papers asked for: the intake again, all filled in
        return redirect(url_for(".index", resume=dossier.id))
    return redirect(url_for(".dossier", ref=dossier_ref(dossier)))


@bp.get("/d/<ref>")
@roles_required(*STAFF)
def dossier(ref: str):
    found = dossier_by_ref(db.session, current_user._get_current_object(), ref)
    return render_template("counter/dossier.html", dossier=found, data=dossier_dict(found),
                           ref=dossier_ref(found))


@bp.get("/d/<ref>/<any(receipt, 'supplement-slip', 'refusal-slip', sticker):kind>.pdf")
@roles_required(*STAFF)
def paper(ref: str, kind: str):
    found = dossier_by_ref(db.session, current_user._get_current_object(), ref)
    return papers.pdf_response(kind, found, request.args.get("page"))


@bp.get("/procedures/<code>/checklist")
@roles_required(Role.CLERK)
def checklist(code: str):
    """The checklist of a procedure, as an HTML fragment for the intake form."""
    procedure = intake.procedure_for(db.session, code)
    return render_template("counter/_checklist.html", procedure=procedure, checked=set(),
                           errors={})


@bp.get("/wards")
@roles_required(*STAFF)
def wards():
    """Communes/wards matching the words typed, accent-insensitively; own province first."""
    found = search_wards(db.session, request.args.get("q", "")[:100],
                         near=current_user.unit, limit=15)
    return jsonify([
        {"code": w.code, "name": w.name, "province": w.parent.name if w.parent else ""}
        for w in found
    ])


@bp.post("/cccd")
@roles_required(Role.CLERK)
def cccd():
    """The chip ID card's QR text as applicant fields, the address split into street and ward."""
    body = request.get_json(silent=True) or {}
    card = parse_cccd_qr(str(body.get("text", ""))[:1000])
    street, ward = split_address(db.session, card.address, near=current_user.unit)
    return jsonify({
        "id_number": card.id_number, "old_id_number": card.old_id_number,
        "full_name": card.full_name, "sex": card.sex,
        "birth_date": card.birth_date.isoformat() if card.birth_date else None,
        "address": card.address, "street": street,
        "ward": {"code": ward.code, "name": ward.name,
                 "province": ward.parent.name if ward.parent else ""} if ward else None,
    })
