"""The delivery queue and the courier's runs: which results go home, in which order.

A home-return dossier joins its centre's queue once its result exists (at the centre, or
still at the agency when it is to be handed straight to a run). Planning a run geocodes each
address (positions.py), orders the stops from the centre and back (routing.plan_route) and
keeps the order, the legs and the total on the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload, selectinload

from postal.core import audit
from postal.core.access import sees_unit
from postal.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from postal.core.text import clean
from postal.core.time import TZ
from postal.delivery.positions import depot_position, locate
from postal.delivery.proof import mark_out_for_delivery
from postal.delivery.routing import plan_route
from postal.dossiers.lifecycle import State
from postal.models import (
    OPEN_RUN_STATES,
    DeliveryRun,
    Dossier,
    Item,
    ItemKind,
    OrgUnit,
    ReturnMethod,
    Role,
    RunStatus,
    RunStop,
    StopStatus,
    User,
)

MAX_STOPS = 1000
QUEUE_STATES = (State.AWAITING_RETURN, State.RESULT_READY)
PLANNERS = (Role.CLERK, Role.MANAGER, Role.ADMIN)


def _dossier_options():
    return (joinedload(Dossier.applicant), joinedload(Dossier.unit),
            joinedload(Dossier.delivery_ward).joinedload(OrgUnit.parent),
            selectinload(Dossier.items))


def _on_open_run():
    """Dossiers waiting on a run that is planned or out (not yet delivered or failed there)."""
    return (select(RunStop.dossier_id).join(DeliveryRun)
            .where(DeliveryRun.status.in_(OPEN_RUN_STATES),
                   RunStop.status.in_((StopStatus.PENDING, StopStatus.OUT))))


def delivery_queue(session: Session, user: User, *, limit: int | None = None) -> list[Dossier]:
    """Home-return dossiers of the user's units whose result exists and is on no open run."""
    has_result = exists().where(Item.dossier_id == Dossier.id, Item.kind == ItemKind.RESULT)
    query = (select(Dossier).join(OrgUnit, OrgUnit.id == Dossier.unit_id)
             .where(Dossier.return_method == ReturnMethod.HOME,
                    Dossier.state.in_(QUEUE_STATES), has_result,
                    Dossier.id.not_in(_on_open_run()))
             .options(*_dossier_options())
             .order_by(Dossier.resolved_at.nulls_last(), Dossier.id))
    if user.role != Role.ADMIN:
        query = query.where(OrgUnit.path.startswith(user.unit.path, autoescape=True))
    return list(session.scalars(query.limit(limit)).unique())


def _courier(session: Session, planner: User, username: str) -> User:
    courier = session.scalar(select(User).where(User.username == clean(username)))
    if (courier is None or courier.role != Role.COURIER or not courier.active
            or not sees_unit(planner, courier.unit)):
        raise ValidationFailed(f"không có bưu tá {username!r} ở đơn vị của bạn", field="courier")
    return courier


def _chosen(session: Session, planner: User, codes: Sequence[str]) -> list[Dossier]:
    """The dossiers named, each checked: known here, home return, result ready, free."""
    wanted = list(dict.fromkeys(clean(c) for c in codes if clean(c)))
    if len(wanted) > MAX_STOPS:
        raise ValidationFailed(f"tối đa {MAX_STOPS} điểm giao một chuyến", field="codes")
    found = {d.code: d for d in session.scalars(
        select(Dossier).join(OrgUnit, OrgUnit.id == Dossier.unit_id)
        .where(Dossier.code.in_(wanted),
               OrgUnit.path.startswith(planner.unit.path, autoescape=True)
               if planner.role != Role.ADMIN else Dossier.id.is_not(None))
        .options(*_dossier_options())).unique()}
    chosen = []
    for code in wanted:
        dossier = found.get(code)
        if dossier is None:
            raise ValidationFailed(f"không có hồ sơ {code} ở đơn vị của bạn", field="codes")
        if dossier.return_method != ReturnMethod.HOME:
            raise Conflict(f"hồ sơ {code} trả kết quả tại quầy, không giao tại nhà",
                           code="counter_return")
        if dossier.state not in QUEUE_STATES or not any(
                i.kind == ItemKind.RESULT for i in dossier.items):
            raise Conflict(f"hồ sơ {code} đang ở trạng thái {dossier.state.value}: "
                           "chưa có kết quả để giao", code="not_ready")
        chosen.append(dossier)
    return chosen


def _claim(session: Session, dossiers: list[Dossier], *, named: bool) -> list[Dossier]:
    """Lock the dossiers, then drop (or, when named, refuse) those another run took first.

    The lock makes a second planner wait; the check after it is a new statement, so it sees
    the stops that planner committed meanwhile (PostgreSQL; SQLite writers are serial).
    """
    ids = [d.id for d in dossiers]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Dossier.id).where(Dossier.id.in_(ids)).order_by(Dossier.id)
                        .with_for_update())
    busy = set(session.scalars(_on_open_run().where(RunStop.dossier_id.in_(ids))))
    for dossier in dossiers:
        if named and dossier.id in busy:
            raise Conflict(f"hồ sơ {dossier.code} đã có trong một chuyến khác",
                           code="on_another_run")
    return [d for d in dossiers if d.id not in busy]


def plan_run(session: Session, planner: User, *, courier: str, day: date, now: datetime,
             config: Mapping[str, Any], codes: Sequence[str] | None = None) -> DeliveryRun:
    """A run for `courier` on `day`: the named dossiers (default: the whole queue), geocoded
    and ordered to shorten the round trip from the centre."""
    if planner.role not in PLANNERS:
        raise Forbidden("chỉ nhân viên quầy hoặc quản lý lập chuyến giao")
    courier_user = _courier(session, planner, courier)
    if day < now.astimezone(TZ).date():
        raise ValidationFailed("không lập chuyến cho ngày đã qua", field="date")
    dossiers = (delivery_queue(session, planner, limit=MAX_STOPS) if codes is None
                else _chosen(session, planner, codes))
    dossiers = _claim(session, dossiers, named=codes is not None)
    if not dossiers:
        raise ValidationFailed("không có hồ sơ nào chờ giao tại nhà", field="codes")
    depot = depot_position(planner.unit)
    positions = locate(session, config, dossiers, depot)
    plan = plan_route(depot, [(p.lat, p.lon) for p in positions])
    run = DeliveryRun(unit_id=planner.unit_id, courier_id=courier_user.id, day=day,
                      status=RunStatus.PLANNED, planned_by_id=planner.id, created_at=now,
                      depot_lat=depot[0], depot_lon=depot[1], total_km=round(plan.total_km, 3))
    for position, (index, leg) in enumerate(zip(plan.order, plan.legs_km, strict=False), 1):
        found = positions[index]
        run.stops.append(RunStop(dossier=dossiers[index], position=position, lat=found.lat,
                                 lon=found.lon, geo_source=found.source, leg_km=round(leg, 3)))
    session.add(run)
    session.flush()
    audit.record(session, planner, "run_planned", "delivery_run", run.id,
                 courier=courier_user.username, day=day.isoformat(), stops=len(run.stops),
                 total_km=run.total_km)
    return run


def run_for(session: Session, user: User, run_id: int) -> DeliveryRun:
    """The run if the user is its courier or works above its centre; NotFound otherwise."""
    run = session.scalar(select(DeliveryRun).where(DeliveryRun.id == run_id).options(
        selectinload(DeliveryRun.stops).joinedload(RunStop.dossier).options(*_dossier_options()),
        joinedload(DeliveryRun.courier), joinedload(DeliveryRun.unit)))
    if run is None or not can_see(user, run):
        raise NotFound(f"không có chuyến giao số {run_id}")
    return run


def can_see(user: User, run: DeliveryRun) -> bool:
    if user.role == Role.ADMIN or run.courier_id == user.id:
        return True
    return user.role in PLANNERS and sees_unit(user, run.unit)


def runs_for(session: Session, user: User, *, day: date | None = None,
             limit: int = 100) -> list[DeliveryRun]:
    """Runs the user may see, newest first: a courier's own, a centre's all."""
    query = select(DeliveryRun).options(joinedload(DeliveryRun.courier),
                                        selectinload(DeliveryRun.stops))
    if user.role == Role.COURIER:
        query = query.where(DeliveryRun.courier_id == user.id)
    elif user.role != Role.ADMIN:
        query = query.join(OrgUnit, OrgUnit.id == DeliveryRun.unit_id).where(
            OrgUnit.path.startswith(user.unit.path, autoescape=True))
    if day is not None:
        query = query.where(DeliveryRun.day == day)
    return list(session.scalars(query.order_by(DeliveryRun.day.desc(), DeliveryRun.id.desc())
                                .limit(limit)).unique())


def start_run(session: Session, user: User, run: DeliveryRun, now: datetime) -> DeliveryRun:
    """The courier leaves with the results: each stop goes out for delivery."""
    if run.courier_id != user.id and user.role != Role.ADMIN:
        raise Forbidden("chỉ bưu tá của chuyến mới bắt đầu chuyến")
    if run.status != RunStatus.PLANNED:
        raise Conflict(f"chuyến {run.id} đang ở trạng thái {run.status.value}",
                       code="run_started")
    with session.begin_nested():
        for stop in run.stops:
            if stop.status == StopStatus.PENDING:
                mark_out_for_delivery(session, user, stop.dossier, run, now)
        run.status, run.started_at = RunStatus.OUT, now
        session.flush()
    return run


def cancel_run(session: Session, user: User, run: DeliveryRun, now: datetime) -> DeliveryRun:
    """Drop a run that has not left: its dossiers go back to the queue."""
    if user.role not in PLANNERS:
        raise Forbidden("chỉ nhân viên quầy hoặc quản lý huỷ chuyến")
    if run.status != RunStatus.PLANNED:
        raise Conflict("chỉ huỷ được chuyến chưa xuất phát", code="run_started")
    run.status, run.finished_at = RunStatus.CANCELLED, now
    audit.record(session, user, "run_cancelled", "delivery_run", run.id)
    session.flush()
    return run


def stop_dict(stop: RunStop) -> dict:
    dossier = stop.dossier
    applicant = dossier.applicant
    result = next((i.number for i in dossier.items if i.kind == ItemKind.RESULT), None)
    return {"code": dossier.code, "position": stop.position, "lat": stop.lat, "lon": stop.lon,
            "source": stop.geo_source, "leg_km": stop.leg_km, "status": stop.status.value,
            "item_number": result, "recipient": applicant.full_name, "phone": applicant.phone,
            "address": dossier.delivery_address, "cod_amount": dossier.cod_amount or 0}


def run_dict(run: DeliveryRun) -> dict:
    return {"id": run.id, "courier": run.courier.username, "date": run.day,
            "status": run.status.value, "unit": run.unit.code if run.unit else None,
            "total_km": run.total_km, "depot": {"lat": run.depot_lat, "lon": run.depot_lon},
            "stops": [stop_dict(s) for s in run.stops]}
