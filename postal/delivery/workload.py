"""The courier's current work, as the phone keeps it for a day without network: runs with
their stops in visiting order, the items in the courier's hands, what waits to be collected
at the centre and at the agencies, home pickups, and the words of the door (relations and
the unit's reasons for a failed attempt). Plain values, ready to serialise."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from postal.core.time import TZ
from postal.custody import pickups
from postal.custody.door import REASONS, RELATIONS
from postal.dossiers.lifecycle import State
from postal.models import (
    OPEN_RUN_STATES,
    DeliveryRun,
    Dossier,
    Item,
    ItemKind,
    LineStatus,
    Manifest,
    ManifestLine,
    ManifestStatus,
    OrgUnit,
    RunStatus,
    RunStop,
    UnitKind,
    User,
)

LIMIT = 500  # of each list: more than a courier carries in a day


def _stop(stop: RunStop) -> dict:
    dossier = stop.dossier
    applicant = dossier.applicant
    result = next((i.number for i in dossier.items if i.kind == ItemKind.RESULT), None)
    procedure = dossier.procedure
    own_id = applicant.id_number if applicant else None
    return {
        "position": stop.position, "code": dossier.code, "status": stop.status.value,
        "item_number": result, "recipient": applicant.full_name if applicant else "",
        "phone": applicant.phone if applicant else None, "address": dossier.delivery_address,
        "cod_amount": dossier.cod_amount or 0, "attempts": dossier.delivery_attempts or 0,
        "state": dossier.state.value, "leg_km": stop.leg_km,
        # the phone checks the ID card shown against these four digits only; the server
        # checks the whole number when the proof arrives
        "id_check": bool(procedure and procedure.delivery_id_check),
        "id_last4": own_id[-4:] if own_id and procedure and procedure.delivery_id_check else None,
    }


def open_runs(session: Session, courier: User, today) -> list[DeliveryRun]:
    """The courier's runs still to ride: planned or out, or dated today or later."""
    runs = session.scalars(
        select(DeliveryRun).where(DeliveryRun.courier_id == courier.id,
                                  DeliveryRun.status != RunStatus.CANCELLED)
        .where(DeliveryRun.status.in_(OPEN_RUN_STATES) | (DeliveryRun.day >= today))
        .options(selectinload(DeliveryRun.stops).joinedload(RunStop.dossier).options(
            joinedload(Dossier.applicant), joinedload(Dossier.procedure),
            selectinload(Dossier.items), joinedload(Dossier.delivery_ward)))
        .order_by(DeliveryRun.day, DeliveryRun.id).limit(50))
    return list(runs.unique())


def holding(session: Session, courier: User) -> list[Item]:
    return list(session.scalars(
        select(Item).where(Item.holder_user_id == courier.id)
        .options(joinedload(Item.dossier)).order_by(Item.held_since).limit(LIMIT)))


def _on_a_manifest_to_collect():
    return (select(ManifestLine.item_id).join(Manifest)
            .where(Manifest.status == ManifestStatus.OPEN,
                   ManifestLine.status == LineStatus.LISTED))


def manifests_to_collect(session: Session, courier: User) -> list[Manifest]:
    """Manifests not yet picked up that leave from or come to the courier's units: bundles of
    folders at the centre for the agencies, bundles of results at the agencies."""
    mine = courier.unit.path
    touches = (Manifest.from_unit.has(OrgUnit.path.startswith(mine, autoescape=True))
               | Manifest.to_unit.has(OrgUnit.path.startswith(mine, autoescape=True)))
    return list(session.scalars(
        select(Manifest).where(Manifest.status == ManifestStatus.OPEN, touches)
        .options(selectinload(Manifest.lines).joinedload(ManifestLine.item)
                 .joinedload(Item.dossier),
                 joinedload(Manifest.from_unit), joinedload(Manifest.to_unit))
        .order_by(Manifest.created_at, Manifest.id).limit(LIMIT)))


def results_at_agencies(session: Session, courier: User) -> list[Item]:
    """Results ready at an agency for dossiers received at the courier's units, on no
    manifest yet: the courier collects them by scanning each one."""
    received, agency = aliased(OrgUnit), aliased(OrgUnit)
    listed = exists(_on_a_manifest_to_collect().where(ManifestLine.item_id == Item.id))
    return list(session.scalars(
        select(Item).join(Dossier, Item.dossier_id == Dossier.id)
        .join(received, Dossier.unit_id == received.id)
        .join(agency, Item.holder_unit_id == agency.id)
        .where(Item.kind == ItemKind.RESULT, agency.kind == UnitKind.AGENCY,
               Item.holder_user_id.is_(None), ~listed,
               Dossier.state.in_((State.RESULT_READY, State.AWAITING_RETURN)),
               received.path.startswith(courier.unit.path, autoescape=True))
        .options(joinedload(Item.dossier), joinedload(Item.holder_unit))
        .order_by(Item.held_since).limit(LIMIT)))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def courier_work(session: Session, courier: User, now: datetime) -> dict:
    """Everything the courier's phone keeps for working offline (see the module's doc)."""
    today = now.astimezone(TZ).date()
    return {
        "generated_at": now.isoformat(),
        "courier": {"id": courier.id, "username": courier.username,
                    "name": courier.full_name or courier.username,
                    "unit": courier.unit.code if courier.unit else None},
        "runs": [{"id": run.id, "day": run.day.isoformat(), "status": run.status.value,
                  "total_km": run.total_km, "stops": [_stop(s) for s in run.stops]}
                 for run in open_runs(session, courier, today)],
        "holding": [{"number": i.number, "kind": i.kind.value, "dossier_code": i.dossier.code,
                     "held_since": _iso(i.held_since)} for i in holding(session, courier)],
        "to_collect": {
            "manifests": [{
                "code": m.code, "from_unit": m.from_unit.code, "from_name": m.from_unit.name,
                "to_unit": m.to_unit.code, "to_name": m.to_unit.name,
                "items": [{"number": ln.item.number, "kind": ln.item.kind.value,
                           "dossier_code": ln.item.dossier.code}
                          for ln in m.lines if ln.status == LineStatus.LISTED],
            } for m in manifests_to_collect(session, courier)],
            "results": [{"number": i.number, "dossier_code": i.dossier.code,
                         "at_unit": i.holder_unit.code, "at_name": i.holder_unit.name,
                         "return_method": i.dossier.return_method.value}
                        for i in results_at_agencies(session, courier)],
        },
        "pickups": [{"number": p.number, "status": p.status.value, "name": p.applicant_name,
                     "phone": p.phone, "address": p.address}
                    for p in pickups.pickups_for_courier(session, courier)],
        "relations": dict(RELATIONS),
        "reasons": dict(REASONS),
    }
