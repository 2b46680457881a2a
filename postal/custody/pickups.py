"""Home pickups (thu gom hồ sơ tại nhà): booked at the counter or by the one-stop system,
collected at the door by a courier with the citizen's confirmation, handed to the counter,
and linked to the dossier when the clerk completes the intake with channel home_pickup."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.access import sees_unit
from postal.core.errors import Conflict, NotFound, ValidationFailed
from postal.core.sequences import next_item_number
from postal.core.text import clean
from postal.core.time import TZ
from postal.dossiers.applicants import normalise_phone, ward_by_code
from postal.models import (
    Channel,
    Dossier,
    Event,
    OrgUnit,
    Pickup,
    PickupStatus,
    Procedure,
    Role,
    User,
    utcnow,
)

# The envelope carries an S10 label like any registered item: "RT" = R(egistered) T(hu gom),
# numbered from the one serial space shared by every item (postal.core.sequences).
PICKUP_SERVICE = "RT"
MAX_REASON = 1000


def _text(value, field: str, label: str, *, limit: int, required: bool = True) -> str:
    text = clean(value)
    if required and not text:
        raise ValidationFailed(f"nhập {label}", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"{label}: tối đa {limit} ký tự", field=field)
    return text


def _courier(session: Session, unit: OrgUnit, username: str | None) -> User | None:
    username = clean(username)
    if not username:
        return None
    courier = session.scalar(select(User).where(User.username == username.lower()))
    if (courier is None or courier.role != Role.COURIER or not courier.active
            or not courier.unit.path.startswith(unit.path)):
        raise ValidationFailed(f"không có bưu tá {username!r} của đơn vị", field="courier")
    return courier


def book_pickup(
    session: Session, user: User, *, applicant_name: str, phone: str, street: str,
    ward_code: str, procedure_code: str | None = None, scheduled_for: date | str | None = None,
    note: str | None = None, courier: str | None = None, external_ref: str | None = None,
    now: datetime,
) -> Pickup:
    """Book a pickup for the user's unit; with a courier named it goes on that courier's list,
    otherwise on the list of every courier of the unit."""
    name = _text(applicant_name, "applicant_name", "họ tên người nộp", limit=200)
    phone = normalise_phone(phone, field="phone")
    street = _text(street, "street", "địa chỉ (số nhà, thôn, đường)", limit=300)
    ward = ward_by_code(session, ward_code, field="ward_code")
    procedure = None
    if clean(procedure_code):
        procedure = session.scalar(select(Procedure).where(Procedure.code == clean(procedure_code)))
        if procedure is None:
            raise ValidationFailed(f"không có thủ tục mã {procedure_code!r}",
                                   field="procedure_code")
    if isinstance(scheduled_for, str) and scheduled_for.strip():
        try:
            scheduled_for = date.fromisoformat(scheduled_for.strip())
        except ValueError:
            raise ValidationFailed("ngày hẹn không hợp lệ (YYYY-MM-DD)",
                                   field="scheduled_for") from None
    scheduled_for = scheduled_for or None
    if scheduled_for is not None and scheduled_for < now.astimezone(TZ).date():
        raise ValidationFailed("ngày hẹn đã qua", field="scheduled_for")
    pickup = Pickup(
        number=next_item_number(session, PICKUP_SERVICE), unit=user.unit,
        courier=_courier(session, user.unit, courier), status=PickupStatus.BOOKED,
        applicant_name=name, phone=phone, street=street, ward=ward, procedure=procedure,
        scheduled_for=scheduled_for, booked_by=user, booked_at=now,
        note=_text(note, "note", "ghi chú", limit=1000, required=False) or None,
        external_ref=_text(external_ref, "external_ref", "mã tham chiếu", limit=80,
                           required=False) or None,
    )
    session.add(pickup)
    session.flush()
    audit.record(session, user, "pickup_book", "pickup", pickup.number, ward=ward.code)
    return pickup


def pickup_by_number(session: Session, user: User, number: str) -> Pickup:
    pickup = session.scalar(select(Pickup).where(Pickup.number == clean(number).upper()))
    if pickup is None or not sees_unit(user, pickup.unit):
        raise NotFound(f"no pickup {number!r}")
    return pickup


def assign(session: Session, user: User, pickup: Pickup, courier: str | None) -> Pickup:
    if pickup.status != PickupStatus.BOOKED:
        raise Conflict(f"lượt thu gom {pickup.number} không còn chờ bưu tá")
    pickup.courier = _courier(session, pickup.unit, courier)
    audit.record(session, user, "pickup_assign", "pickup", pickup.number,
                 courier=pickup.courier.username if pickup.courier else None)
    session.flush()
    return pickup


def _close(session: Session, user: User, pickup: Pickup, status: PickupStatus, reason: str,
           now: datetime) -> Pickup:
    reason = _text(reason, "reason", "lý do", limit=MAX_REASON)
    if pickup.status != PickupStatus.BOOKED:
        raise Conflict(f"lượt thu gom {pickup.number} đang ở trạng thái {pickup.status.value}")
    pickup.status, pickup.reason, pickup.closed_at = status, reason, now
    session.flush()
    audit.record(session, user, f"pickup_{status.value}", "pickup", pickup.number, reason=reason)
    return pickup


def cancel_pickup(session: Session, user: User, pickup: Pickup, reason: str, now: datetime
                  ) -> Pickup:
    """The citizen or the office calls it off before the visit."""
    return _close(session, user, pickup, PickupStatus.CANCELLED, reason, now)


def fail_pickup(session: Session, user: User, pickup: Pickup, reason: str, now: datetime
                ) -> Pickup:
    """The courier went and could not collect (nobody home, papers not ready, ...)."""
    return _close(session, user, pickup, PickupStatus.FAILED, reason, now)


def judge_scan(user: User, pickup: Pickup, scan, unit: OrgUnit | None) -> tuple[str, str] | None:
    """Why a scan of a pickup's label is refused, or None (see custody.scans)."""
    if pickup.status in (PickupStatus.CANCELLED, PickupStatus.FAILED):
        return "closed", f"lượt thu gom {pickup.number} đã {pickup.status.value}"
    if not sees_unit(user, pickup.unit):
        return "wrong_unit", f"lượt thu gom {pickup.number} thuộc đơn vị khác"
    if scan.event == "pickup":
        if not clean(scan.recipient):
            return "confirmation_required", "cần họ tên người nộp xác nhận đã giao hồ sơ"
        return None
    if scan.event == "handover":
        return None
    return "not_ready", "mã thu gom chỉ dùng khi nhận tại nhà và giao về quầy"


def apply_scan(session: Session, user: User, pickup: Pickup, scan, unit: OrgUnit | None,
               now: datetime) -> Event:
    """Record a pickup's scan; the status only moves forward, whatever order scans arrive in."""
    data = {"pickup": pickup.number}
    if scan.event == "pickup":
        recipient = clean(scan.recipient)
        data["recipient"] = recipient
        if pickup.collected_at is None or scan.at < pickup.collected_at:
            pickup.collected_at, pickup.confirmed_by, pickup.courier_id = (
                scan.at, recipient, user.id)
        if pickup.status == PickupStatus.BOOKED:
            pickup.status = PickupStatus.COLLECTED
    else:
        unit = unit or pickup.unit
        if pickup.handed_at is None or scan.at < pickup.handed_at:
            pickup.handed_at = scan.at
        if pickup.status in (PickupStatus.BOOKED, PickupStatus.COLLECTED):
            pickup.status = PickupStatus.AT_COUNTER
    data.update(scan.data or {})
    event = Event(kind=scan.event, client_id=scan.id, dossier_id=pickup.dossier_id, at=scan.at,
                  recorded_at=now, user_id=user.id, unit_id=unit.id if unit else None,
                  lat=scan.lat, lon=scan.lon, note=scan.note or None, data=data)
    session.add(event)
    return event


def complete_pickup(session: Session, pickup: Pickup, dossier: Dossier, *, user: User | None = None,
                    now: datetime | None = None) -> Pickup:
    """Link the pickup to the dossier its papers became (intake with channel home_pickup)."""
    now = now or utcnow()
    if pickup.status == PickupStatus.COMPLETED and pickup.dossier_id == dossier.id:
        return pickup
    if pickup.status not in (PickupStatus.COLLECTED, PickupStatus.AT_COUNTER):
        raise Conflict(f"lượt thu gom {pickup.number} đang ở trạng thái {pickup.status.value}",
                       field="pickup")
    if dossier.channel != Channel.HOME_PICKUP:
        raise ValidationFailed("hồ sơ thu gom tại nhà phải có kênh home_pickup", field="channel")
    if session.scalar(select(Pickup.id).where(Pickup.dossier_id == dossier.id)):
        raise Conflict(f"hồ sơ {dossier.code} đã gắn với một lượt thu gom khác", field="pickup")
    pickup.status, pickup.completed_at, pickup.dossier = PickupStatus.COMPLETED, now, dossier
    pickup.handed_at = pickup.handed_at or now
    session.add(Event(
        kind="home_pickup", dossier_id=dossier.id, at=pickup.collected_at or now, recorded_at=now,
        user_id=pickup.courier_id, unit_id=pickup.unit_id,
        data={"pickup": pickup.number, "confirmed_by": pickup.confirmed_by,
              "handed_at": pickup.handed_at.isoformat(), "address": pickup.address},
    ))
    session.flush()
    audit.record(session, user, "pickup_complete", "pickup", pickup.number, dossier=dossier.code)
    return pickup


def pickups_for_courier(session: Session, courier: User) -> list[Pickup]:
    """The courier's list: visits booked for them or for anyone of their unit, and papers they
    collected and still have to hand to the counter."""
    unit_ids = select(OrgUnit.id).where(OrgUnit.path.startswith(courier.unit.path, autoescape=True))
    booked = (Pickup.status == PickupStatus.BOOKED) & or_(
        Pickup.courier_id == courier.id,
        Pickup.courier_id.is_(None) & Pickup.unit_id.in_(unit_ids))
    carrying = (Pickup.status == PickupStatus.COLLECTED) & (Pickup.courier_id == courier.id)
    return list(session.scalars(select(Pickup).where(booked | carrying)
                                .order_by(Pickup.scheduled_for, Pickup.booked_at).limit(200)))


def pickups_for_unit(session: Session, user: User, *, statuses=None, limit: int = 200
                     ) -> list[Pickup]:
    stmt = select(Pickup).join(OrgUnit, Pickup.unit_id == OrgUnit.id)
    if user.role != Role.ADMIN:
        stmt = stmt.where(OrgUnit.path.startswith(user.unit.path, autoescape=True))
    if statuses:
        stmt = stmt.where(Pickup.status.in_(list(statuses)))
    return list(session.scalars(stmt.order_by(Pickup.booked_at.desc()).limit(limit)))


def pickup_dict(p: Pickup) -> dict:
    return {
        "number": p.number, "status": p.status.value, "unit_code": p.unit.code,
        "applicant_name": p.applicant_name, "phone": p.phone, "address": p.address,
        "ward_code": p.ward.code if p.ward else None,
        "procedure_code": p.procedure.code if p.procedure else None,
        "scheduled_for": p.scheduled_for, "courier": p.courier.username if p.courier else None,
        "booked_at": p.booked_at, "collected_at": p.collected_at, "confirmed_by": p.confirmed_by,
        "handed_at": p.handed_at, "completed_at": p.completed_at, "closed_at": p.closed_at,
        "reason": p.reason, "dossier_code": p.dossier.code if p.dossier else None,
        "external_ref": p.external_ref,
    }
