"""The dossier's process control sheet (Phiếu kiểm soát quá trình giải quyết hồ sơ): one row
per handover or decision, with time, units and people, built from its events and legs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from postal.core.time import TZ
from postal.dossiers.corrections import describe
from postal.models import Dossier, Event, Item, Leg, OrgUnit, User

CITIZEN = "Công dân"
LABELS = {
    "accepted": "Tiếp nhận hồ sơ",
    "home_pickup": "Thu gom tại nhà",
    "pickup": "Bưu tá nhận",
    "handover": "Bàn giao",
    "missing": "Thiếu khi kiểm nhận bảng kê",
    "result_ready": "Có kết quả giải quyết",
    "supplement_requested": "Yêu cầu bổ sung hồ sơ",
    "supplement_received": "Nhận hồ sơ bổ sung",
    "extended": "Xin lỗi, hẹn lại ngày trả",
    "stopped": "Dừng giải quyết",
    "withdrawn": "Công dân rút hồ sơ",
    "out_for_delivery": "Bưu tá đi phát",
    "delivery_failed": "Phát không thành công",
    "delivered": "Đã phát tại nhà",
    "collected": "Trả kết quả tại quầy",
    "correction": "Điều chỉnh số liệu",
}
# decisions and the return: one row each (pickups and handovers appear as legs instead)
_STEP_KINDS = ("accepted", "home_pickup", "result_ready", "supplement_requested",
               "supplement_received", "extended", "stopped", "withdrawn", "delivery_failed",
               "missing", "collected", "correction")


@dataclass(frozen=True)
class Step:
    """One row of the control sheet; `outcome` None means judged against the due moment."""

    at: datetime | None
    label: str
    from_unit: str
    to_unit: str
    giver: str = ""
    receiver: str = ""
    outcome: str | None = None
    note: str = ""
    item: str = ""


def _name(obj: OrgUnit | User | None) -> str:
    if obj is None:
        return ""
    return getattr(obj, "full_name", None) or getattr(obj, "name", None) or obj.username


def events_of(session: Session, dossier: Dossier) -> list[Event]:
    item_ids = select(Item.id).where(Item.dossier_id == dossier.id)
    stmt = (select(Event).where(or_(Event.dossier_id == dossier.id, Event.item_id.in_(item_ids)))
            .options(joinedload(Event.user), joinedload(Event.unit), joinedload(Event.item))
            .order_by(Event.at, Event.id))
    return list(session.scalars(stmt))


def legs_of(session: Session, dossier: Dossier) -> list[Leg]:
    stmt = (select(Leg).join(Item, Leg.item_id == Item.id).where(Item.dossier_id == dossier.id)
            .options(joinedload(Leg.from_unit), joinedload(Leg.to_unit),
                     joinedload(Leg.custodian), joinedload(Leg.receiver), joinedload(Leg.item),
                     joinedload(Leg.end_event))
            .order_by(Leg.started_at, Leg.id))
    return list(session.scalars(stmt))


def _leg_step(leg: Leg) -> Step:
    kind = leg.end_event.kind if leg.end_event is not None else None
    to_citizen = leg.ended_at is not None and leg.to_unit is None
    if leg.ended_at is None:
        to = "(đang vận chuyển)"
    elif to_citizen:
        to = CITIZEN
    else:
        to = _name(leg.to_unit)
    note = ""
    if leg.custodian is not None:
        note = f"bưu tá nhận lúc {leg.started_at.astimezone(TZ):%H:%M %d/%m}"
    if kind == "delivered":
        recipient = (leg.end_event.data or {}).get("recipient")
        note = "; ".join(x for x in (note, f"người nhận: {recipient}" if recipient else "") if x)
    return Step(
        at=leg.ended_at or leg.started_at,
        label=LABELS["delivered" if kind == "delivered" else "handover"],
        from_unit=_name(leg.from_unit), to_unit=to, giver=_name(leg.custodian),
        receiver=_name(leg.receiver), outcome="" if leg.ended_at is None else None, note=note,
        item=leg.item.number if leg.item else "",
    )


def _event_step(dossier: Dossier, e: Event) -> Step:
    data = e.data or {}
    unit, who = _name(e.unit), _name(e.user)
    label = LABELS.get(e.kind, e.kind)
    if e.kind == "accepted":
        return Step(e.at, label, CITIZEN, unit, dossier.applicant.full_name, who, "")
    if e.kind == "home_pickup":
        return Step(e.at, label, CITIZEN, unit, data.get("confirmed_by") or "", who, "",
                    note=data.get("address") or "")
    if e.kind == "collected":
        return Step(e.at, label, unit, CITIZEN, who, data.get("recipient") or "",
                    item=e.item.number if e.item else "")
    note = data.get("reason") or ""
    if e.kind == "supplement_received" and data.get("new_due_at"):
        new = datetime.fromisoformat(data["new_due_at"]).astimezone(TZ)
        note = f"hạn mới: {new:%H:%M %d/%m/%Y}"
    if e.kind == "extended" and data.get("new_appointment_at"):
        new = datetime.fromisoformat(data["new_appointment_at"]).astimezone(TZ)
        note = f"hẹn lại: {new:%d/%m/%Y}; {note}".strip("; ")
    if e.kind == "missing":
        note = f"bảng kê {data.get('manifest', '')}"
    if e.kind == "delivery_failed":
        note = e.note or ""
    if e.kind == "correction":  # the whole reason is on the dossier's page
        reason = note if len(note) <= 300 else note[:299] + "…"
        note = f"{describe(data.get('changes') or {})} ({reason})"
    judged = e.kind in ("result_ready", "stopped")
    return Step(e.at, label, unit, "", who, "", None if judged else "", note,
                item=e.item.number if e.item else "")


def control_steps(session: Session, dossier: Dossier) -> list[Step]:
    """Every step of the dossier in time order: intake, each leg, each decision, the return."""
    steps = [_event_step(dossier, e) for e in events_of(session, dossier) if e.kind in _STEP_KINDS]
    steps += [_leg_step(leg) for leg in legs_of(session, dossier)]
    far = datetime.max.replace(tzinfo=TZ)
    return sorted(steps, key=lambda s: s.at or far)


@dataclass(frozen=True)
class ControlRow:
    """One handover or step of the dossier's journey.

    `outcome` is "early", "on_time", "late" (printed as Trước hạn / Đúng hạn / Quá hạn), any
    other text to print as is, or None to judge `at` against the dossier's due moment.
    """

    step: int | str
    from_unit: str
    to_unit: str
    at: datetime | None
    giver: str = ""
    receiver: str = ""
    outcome: str | None = None
    note: str = ""


def control_rows(session: Session, dossier: Dossier) -> list:
    """The steps as ControlRow values, numbered, for the paper form."""
    return [
        ControlRow(step=n, from_unit=s.from_unit, to_unit=s.to_unit, at=s.at, giver=s.giver,
                   receiver=s.receiver, outcome=s.outcome,
                   note="; ".join(x for x in (s.label, s.item, s.note) if x))
        for n, s in enumerate(control_steps(session, dossier), 1)
    ]
