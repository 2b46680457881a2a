"""Reading one dossier: find it by code (or id when it has none), its timeline, as a dict."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from postal.core.access import scope_dossiers
from postal.core.errors import NotFound
from postal.models import Applicant, Dossier, Event, Item, Leg, OrgUnit, User

# what the papers and the dossier page read: one query instead of a dozen lazy loads
_FULL = (
    joinedload(Dossier.applicant).joinedload(Applicant.ward).joinedload(OrgUnit.parent),
    joinedload(Dossier.procedure),
    joinedload(Dossier.unit),
    joinedload(Dossier.agency),
    joinedload(Dossier.clerk),
    joinedload(Dossier.delivery_ward).joinedload(OrgUnit.parent),
    selectinload(Dossier.items),
)


def dossier_by_ref(session: Session, user: User, ref: str) -> Dossier:
    """The dossier whose code is `ref` — or whose id is `ref` when it is all digits (dossiers
    refused or sent back at intake have no code) — if `user` may see it; else NotFound."""
    ref = (ref or "").strip()
    stmt = select(Dossier).where(Dossier.code == ref)
    if ref.isdigit() and len(ref) < 12:
        stmt = select(Dossier).where(or_(Dossier.code == ref, Dossier.id == int(ref)))
    dossier = session.scalar(scope_dossiers(stmt.options(*_FULL), user))
    if dossier is None:
        raise NotFound(f"no dossier {ref!r}")
    return dossier


def dossier_ref(dossier: Dossier) -> str:
    """What dossier_by_ref finds this dossier by."""
    return dossier.code or str(dossier.id)


def _unit_code(unit: OrgUnit | None) -> str | None:
    return unit.code if unit is not None else None


def _user_name(user: User | None) -> str | None:
    return (user.full_name or user.username) if user is not None else None


def events_of(session: Session, dossier: Dossier) -> list[Event]:
    item_ids = [i.id for i in dossier.items]
    condition = Event.dossier_id == dossier.id
    if item_ids:
        condition = or_(condition, Event.item_id.in_(item_ids))
    return list(session.scalars(select(Event).where(condition).order_by(Event.at, Event.id)))


def legs_of(session: Session, dossier: Dossier) -> list[Leg]:
    return list(session.scalars(
        select(Leg).join(Item, Leg.item_id == Item.id).where(Item.dossier_id == dossier.id)
        .order_by(Leg.started_at, Leg.id)
    ))


def document_names(entries) -> list[str]:
    """Checklist entries (dicts of the procedure's checklist, or free text) as names."""
    return [e.get("name", "") if isinstance(e, dict) else str(e) for e in entries or ()]


def _address(street: str | None, ward: OrgUnit | None, text: str) -> dict:
    return {"street": street, "ward_code": _unit_code(ward),
            "ward_name": ward.name if ward is not None else None, "text": text}


def dossier_dict(dossier: Dossier) -> dict:
    """The dossier for the API: its data, items, the timeline of events and the legs."""
    session = object_session(dossier)
    a = dossier.applicant
    home = dossier.return_method.value == "home"
    return {
        "id": dossier.id,
        "code": dossier.code,
        "status": dossier.state.value,
        "unit_code": dossier.unit.code,
        "agency_code": _unit_code(dossier.agency),
        "procedure": {"code": dossier.procedure.code, "name": dossier.procedure.name},
        "applicant": {
            "full_name": a.full_name, "id_number": a.id_number, "phone": a.phone,
            "address": _address(a.street, a.ward, a.address),
        },
        "channel": dossier.channel.value,
        "return_method": dossier.return_method.value,
        "delivery_address": _address(dossier.delivery_street, dossier.delivery_ward,
                                     dossier.delivery_address) if home else None,
        "documents": document_names(dossier.documents),
        "missing_documents": document_names(dossier.missing_documents),
        "reason": dossier.reason,
        "fee": dossier.fee, "postal_fee": dossier.postal_fee, "cod_amount": dossier.cod_amount,
        "clerk": _user_name(dossier.clerk),
        "created_at": dossier.created_at, "received_at": dossier.received_at,
        "due_at": dossier.due_at, "appointment_at": dossier.appointment_at,
        "resolved_at": dossier.resolved_at, "returned_at": dossier.returned_at,
        "timeliness": dossier.timeliness.value if dossier.timeliness else None,
        "items": [
            {"number": i.number, "kind": i.kind.value,
             "holder_unit_code": _unit_code(i.holder_unit)}
            for i in dossier.items
        ],
        "timeline": [
            {"kind": e.kind, "at": e.at, "unit_code": _unit_code(e.unit),
             "user": _user_name(e.user), "item": e.item.number if e.item is not None else None,
             "note": e.note}
            for e in events_of(session, dossier)
        ],
        "legs": [
            {"item": leg.item.number, "from_unit": _unit_code(leg.from_unit),
             "to_unit": _unit_code(leg.to_unit), "started_at": leg.started_at,
             "ended_at": leg.ended_at, "custodian": _user_name(leg.custodian),
             "receiver": _user_name(leg.receiver)}
            for leg in legs_of(session, dossier)
        ],
    }
