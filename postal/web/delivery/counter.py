"""At the counter: find a result and hand it over after an ID check, the rating screen turned
to the citizen, the public rating link of home deliveries, and the couriers' cash."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal.core.access import dossier_for
from postal.core.errors import Conflict, DomainError, NotFound
from postal.delivery import cod
from postal.delivery import counter_return as returns
from postal.dossiers import ratings
from postal.dossiers.applicants import parse_cccd_qr
from postal.extensions import db, limiter
from postal.http.security import roles_required
from postal.models import Role, utcnow
from postal.web.delivery.blueprint import bp
from postal.web.delivery.planning import me, today


@bp.get("/delivery/counter")
@roles_required(Role.CLERK)
def counter_search():
    """Scan a code, or type the citizen's name or ID number."""
    q = (request.args.get("q") or "").strip()
    found = returns.search_returns(db.session, me(), q) if q else []
    if len(found) == 1 and found[0].state in returns.RETURNABLE:
        return redirect(url_for(".counter_return", code=found[0].code), 303)
    return render_template("delivery/counter.html", q=q, found=found,
                           returnable=returns.RETURNABLE)


def _return_page(code: str, error: DomainError | None = None, status: int = 200):
    dossier = dossier_for(db.session, me(), code)
    return render_template("delivery/return.html", dossier=dossier, error=error,
                           form=request.form, returnable=returns.RETURNABLE), status


@bp.get("/delivery/counter/<code>")
@roles_required(Role.CLERK)
def counter_return(code):
    return _return_page(code)


@bp.post("/delivery/counter/<code>")
@roles_required(Role.CLERK)
def hand_over(code):
    form = request.form
    dossier = dossier_for(db.session, me(), code)
    id_number, name = (form.get("id_number") or "").strip(), form.get("collected_by") or ""
    try:
        if "|" in id_number:  # the chip card's QR code, read by the scanner
            card = parse_cccd_qr(id_number)
            id_number, name = card.id_number, name.strip() or card.full_name
        returns.return_at_counter(db.session, me(), dossier, name, id_number, utcnow(),
                                  authorised=form.get("authorised") == "1")
    except DomainError as exc:
        db.session.rollback()
        return _return_page(code, exc, exc.status)
    flash(_("Đã trả kết quả %(code)s cho %(name)s.", code=dossier.code, name=dossier.collected_by))
    return redirect(url_for(".rate_screen", code=dossier.code), 303)


def _rating_page(dossier, *, action: str, done: bool = False, error: str | None = None,
                 status: int = 200, public: bool = False):
    return render_template("delivery/rate.html", dossier=dossier, levels=ratings.LEVELS,
                           action=action, done=done, error=error, public=public), status


@bp.get("/delivery/rate/<code>")
@roles_required(Role.CLERK)
def rate_screen(code):
    """Five big buttons, for the screen turned to face the citizen."""
    dossier = dossier_for(db.session, me(), code)
    return _rating_page(dossier, action=url_for(".rate_at_counter", code=code),
                        done=dossier.rating is not None)


@bp.post("/delivery/rate/<code>")
@roles_required(Role.CLERK)
def rate_at_counter(code):
    dossier = dossier_for(db.session, me(), code)
    action = url_for(".rate_at_counter", code=code)
    try:
        ratings.rate(db.session, dossier, request.form.get("level"), now=utcnow(), user=me(),
                     comment=request.form.get("comment"), channel="counter")
    except DomainError as exc:
        db.session.rollback()
        return _rating_page(dossier, action=action, error=exc.message, status=exc.status,
                            done=isinstance(exc, Conflict) and exc.code == "already_rated")
    return _rating_page(dossier, action=action, done=True)


def _public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


def _token_dossier(token: str):
    return ratings.dossier_for_token(db.session, current_app.config["SECRET_KEY"], token)


@bp.route("/public/rate/<token>", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"])
def public_rate(token):
    """The link sent after a home delivery: rate without logging in, once."""
    try:
        dossier = _token_dossier(token)
    except NotFound as exc:
        return render_template("delivery/rate.html", dossier=None, levels=ratings.LEVELS,
                               error=exc.message, public=True, done=False, action=""), 404
    action = url_for(".public_rate", token=token)
    if request.method == "GET":
        return _rating_page(dossier, action=action, done=dossier.rating is not None, public=True)
    try:
        ratings.rate(db.session, dossier, request.form.get("level"), now=utcnow(),
                     comment=request.form.get("comment"), channel="link")
    except DomainError as exc:
        db.session.rollback()
        return _rating_page(dossier, action=action, error=exc.message, status=exc.status,
                            done=exc.code == "already_rated", public=True)
    return _rating_page(dossier, action=action, done=True, public=True)


@bp.route("/delivery/cod", methods=["GET", "POST"])
@roles_required(Role.CLERK, Role.MANAGER)
def cod_day():
    """End of day: each courier's cash collected at the doors against what was handed in."""
    try:
        day = date.fromisoformat(request.values.get("date") or "")
    except ValueError:
        day = today()
    error, status = None, 200
    if request.method == "POST":
        try:
            courier = cod.courier_for(db.session, me(), request.form.get("courier") or "")
            cod.record_handover(db.session, me(), courier, day, request.form.get("amount"),
                                utcnow(), request.form.get("note"))
        except DomainError as exc:
            db.session.rollback()
            error, status = exc, exc.status
        else:
            flash(_("Đã ghi nhận tiền nộp của %(name)s.", name=courier.username))
            return redirect(url_for(".cod_day", date=day.isoformat()), 303)
    days = [cod.reconcile(db.session, c, day)
            for c in cod.couriers_with_cash(db.session, me(), day)]
    return render_template("delivery/cod.html", day=day, days=days, error=error), status
