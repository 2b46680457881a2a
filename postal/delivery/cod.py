"""Cash on delivery: what each courier should have collected at the doors of a day, what they
recorded, and what they handed in to the centre — reconciled per courier per local day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.access import sees_unit
from postal.core.errors import NotFound, ValidationFailed
from postal.core.text import clean
from postal.core.time import TZ
from postal.models import CodHandover, DeliveryAttempt, Dossier, Outcome, Role, User

MAX_HANDOVER = 1_000_000_000


def courier_for(session: Session, viewer: User, username: str) -> User:
    """A courier the viewer may see (themselves, or one of their unit's); NotFound otherwise."""
    courier = session.scalar(select(User).where(User.username == clean(username)))
    if courier is None or courier.role != Role.COURIER:
        raise NotFound(f"không có bưu tá {username!r}")
    if courier.id != viewer.id and not (viewer.role in (Role.CLERK, Role.MANAGER, Role.ADMIN)
                                        and sees_unit(viewer, courier.unit)):
        raise NotFound(f"không có bưu tá {username!r}")
    return courier


FIRST_DAY = date(2000, 1, 1)  # nothing was delivered before; older dates are typing mistakes


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local calendar day as a UTC-aware half-open interval."""
    if not FIRST_DAY <= day <= date(2999, 12, 31):
        raise ValidationFailed(f"ngày không hợp lệ: {day.isoformat()}", field="date")
    start = datetime.combine(day, time(0), tzinfo=TZ)
    return start, start + timedelta(days=1)


def reconcile(session: Session, courier: User, day: date) -> dict:
    """The day's deliveries with their amounts, the cash handed in, and what is still owed."""
    start, end = day_bounds(day)
    rows = session.execute(
        select(Dossier.code, DeliveryAttempt.at, DeliveryAttempt.cod_expected,
               DeliveryAttempt.cod_collected)
        .join(Dossier, Dossier.id == DeliveryAttempt.dossier_id)
        .where(DeliveryAttempt.courier_id == courier.id,
               DeliveryAttempt.outcome == Outcome.DELIVERED,
               DeliveryAttempt.at >= start, DeliveryAttempt.at < end)
        .order_by(DeliveryAttempt.at, DeliveryAttempt.id)).all()
    deliveries = [{"code": code, "at": at, "expected": expected, "collected": collected,
                   "difference": collected - expected}
                  for code, at, expected, collected in rows]
    handovers = session.scalars(select(CodHandover).where(
        CodHandover.courier_id == courier.id, CodHandover.day == day)
        .order_by(CodHandover.at, CodHandover.id)).all()
    expected = sum(d["expected"] for d in deliveries)
    collected = sum(d["collected"] for d in deliveries)
    handed_over = sum(h.amount for h in handovers)
    return {
        "courier": courier.username, "date": day, "deliveries": deliveries,
        "expected": expected, "collected": collected, "handed_over": handed_over,
        # collected less than due at the doors, and cash the courier still holds
        "short_collected": expected - collected, "to_hand_over": collected - handed_over,
        "balanced": collected == expected and handed_over == collected,
        "handovers": [{"amount": h.amount, "at": h.at,
                       "received_by": h.received_by.username if h.received_by else None,
                       "note": h.note} for h in handovers],
    }


def record_handover(session: Session, clerk: User, courier: User, day: date, amount,
                    now: datetime, note: str | None = None) -> CodHandover:
    """The centre counts the cash a courier hands in for a day's deliveries."""
    if clerk.role not in (Role.CLERK, Role.MANAGER, Role.ADMIN):
        raise NotFound(f"không có bưu tá {courier.username!r}")
    try:
        amount = int(amount)
    except (TypeError, ValueError):
        raise ValidationFailed("số tiền phải là số nguyên (đồng)", field="amount") from None
    if not 0 < amount <= MAX_HANDOVER:
        raise ValidationFailed("số tiền nộp phải lớn hơn 0", field="amount")
    if day > now.astimezone(TZ).date():
        raise ValidationFailed("ngày ở tương lai", field="date")
    day_bounds(day)  # a day of this century
    handover = CodHandover(courier_id=courier.id, day=day, amount=amount, received_by_id=clerk.id,
                           at=now, note=clean(note)[:500] or None)
    session.add(handover)
    session.flush()
    audit.record(session, clerk, "cod_handover", "user", courier.username, day=day.isoformat(),
                 amount=amount)
    return handover


def couriers_with_cash(session: Session, viewer: User, day: date) -> list[User]:
    """Couriers of the viewer's units who delivered that day (for the centre's end-of-day)."""
    start, end = day_bounds(day)
    ids = session.scalars(select(func.distinct(DeliveryAttempt.courier_id)).where(
        DeliveryAttempt.outcome == Outcome.DELIVERED, DeliveryAttempt.at >= start,
        DeliveryAttempt.at < end)).all()
    users = session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username)).all()
    return [u for u in users if sees_unit(viewer, u.unit)]
