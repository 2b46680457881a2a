"""Planning a courier's run from the queue, the run page and its printouts."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from postal.core.access import sees_unit
from postal.core.errors import DomainError, ValidationFailed
from postal.core.time import TZ
from postal.delivery import clock, runs
from postal.documents.labels import available_layouts
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, RunStatus, User, utcnow
from postal.web.delivery.blueprint import bp

PLANNERS = (Role.CLERK, Role.MANAGER)


def me() -> User:
    return current_user._get_current_object()


def today() -> date:
    return utcnow().astimezone(TZ).date()


def _couriers(user: User) -> list[User]:
    couriers = db.session.scalars(select(User).where(User.role == Role.COURIER, User.active)
                                  .order_by(User.username)).all()
    return [c for c in couriers if sees_unit(user, c.unit)]


def _planning(error: DomainError | None = None, status: int = 200):
    user = me()
    chosen = set(request.form.getlist("codes")) if request.method == "POST" else None
    return render_template(
        "delivery/plan.html", queue=runs.delivery_queue(db.session, user),
        couriers=_couriers(user), runs=runs.runs_for(db.session, user, limit=30),
        chosen=chosen, form=request.form, today=today(), error=error,
        clocks=clock.flagged(db.session, user, utcnow())), status


@bp.get("/delivery/runs")
@roles_required(*PLANNERS)
def plan():
    """The queue and the day's runs."""
    return _planning()


@bp.post("/delivery/runs")
@roles_required(*PLANNERS)
def create_run():
    form = request.form
    try:
        day = date.fromisoformat(form.get("date") or "")
    except ValueError:
        day = None
    try:
        if day is None:
            raise ValidationFailed(_("Chọn ngày giao"), field="date")
        run = runs.plan_run(db.session, me(), courier=form.get("courier") or "", day=day,
                            codes=form.getlist("codes"), now=utcnow(), config=current_app.config)
    except DomainError as exc:
        db.session.rollback()
        return _planning(exc, exc.status)
    flash(_("Đã lập chuyến %(id)s: %(n)s điểm giao, %(km).1f km.", id=run.id,
            n=len(run.stops), km=run.total_km))
    return redirect(url_for(".run", run_id=run.id), 303)


def _run_page(run, error: str | None = None, status: int = 200):
    user = me()
    # the office sees whether the courier's phone clock was off (what it dated may be wrong)
    clocks = ([] if user.role == Role.COURIER else
              clock.flagged(db.session, user, utcnow(), courier_id=run.courier_id))
    return render_template("delivery/run.html", run=run, layouts=available_layouts(),
                           error=error, RunStatus=RunStatus, clocks=clocks), status


@bp.get("/delivery/runs/<int:run_id>")
@roles_required(*PLANNERS, Role.COURIER)
def run(run_id):
    """The run sheet on screen: stops in visiting order, printouts, and the courier's start."""
    return _run_page(runs.run_for(db.session, me(), run_id))


@bp.post("/delivery/runs/<int:run_id>/start")
@roles_required(Role.COURIER)
def start_run(run_id):
    run = runs.run_for(db.session, me(), run_id)
    try:
        runs.start_run(db.session, me(), run, utcnow())
    except DomainError as exc:
        db.session.rollback()
        return _run_page(runs.run_for(db.session, me(), run_id), exc.message, exc.status)
    flash(_("Đã nhận %(n)s kết quả đi giao.", n=len(run.stops)))
    return redirect(url_for(".run", run_id=run.id), 303)


@bp.post("/delivery/runs/<int:run_id>/cancel")
@roles_required(*PLANNERS)
def cancel_run(run_id):
    run = runs.run_for(db.session, me(), run_id)
    try:
        runs.cancel_run(db.session, me(), run, utcnow())
    except DomainError as exc:
        db.session.rollback()
        return _run_page(runs.run_for(db.session, me(), run_id), exc.message, exc.status)
    flash(_("Đã huỷ chuyến %(id)s; hồ sơ trở lại hàng chờ.", id=run.id))
    return redirect(url_for(".plan"), 303)


@bp.get("/delivery/courier")
@roles_required(Role.COURIER)
def courier():
    """The courier's runs: today's and any still open."""
    mine = [r for r in runs.runs_for(db.session, me(), limit=50)
            if r.day >= today() or r.status in (RunStatus.PLANNED, RunStatus.OUT)]
    return render_template("delivery/courier.html", runs=mine)
