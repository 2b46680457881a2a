"""Phones' clocks as the server sees them. Whatever a courier records offline carries the
phone's time; a phone whose clock is minutes off would date deliveries and scans wrongly, so
the server compares the phone's clock with its own each time the phone syncs, keeps the
offset on the device's row, and flags it to the office while it stays off by more than
ALLOWANCE (the scans' own rule refuses only what lies in the future, never what lies behind).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from postal.core.access import sees_unit
from postal.core.errors import ValidationFailed
from postal.core.time import as_utc
from postal.custody.judging import CLIENT_ID
from postal.models import DeviceClock, Role, User

ALLOWANCE = timedelta(minutes=3)
RECENT = timedelta(days=7)  # a flag older than this is history, not a phone to fix


def skew_seconds(device_time: datetime | None, now: datetime) -> int | None:
    """The phone's clock minus the server's, whole seconds; None when the phone sent none."""
    if device_time is None:
        return None
    if device_time.tzinfo is None:
        raise ValidationFailed("giờ của máy phải có múi giờ", field="device_time")
    return round((as_utc(device_time) - now).total_seconds())


def observe(session: Session, user: User, device_id: str, device_time: datetime, now: datetime
            ) -> DeviceClock:
    """Record how far the phone's clock is from the server's; flag it while it is off."""
    if not isinstance(device_id, str) or not CLIENT_ID.fullmatch(device_id):
        raise ValidationFailed("mã máy phải là 8–50 chữ, số, - hoặc _", field="device_id")
    skew = skew_seconds(device_time, now)
    row = session.scalar(select(DeviceClock).where(DeviceClock.user_id == user.id,
                                                   DeviceClock.device_id == device_id))
    if row is None:
        row = DeviceClock(user_id=user.id, device_id=device_id, worst_skew_s=0)
        session.add(row)
    row.checked_at, row.skew_s = now, skew
    if abs(skew) > ALLOWANCE.total_seconds():
        if row.flagged_since is None:
            row.flagged_since, row.worst_skew_s = now, 0
        if abs(skew) > abs(row.worst_skew_s or 0):
            row.worst_skew_s = skew
    else:
        row.flagged_since = None
    session.flush()
    return row


def is_off(skew_s: int | None) -> bool:
    return skew_s is not None and abs(skew_s) > ALLOWANCE.total_seconds()


def flagged(session: Session, viewer: User, now: datetime, *,
            courier_id: int | None = None) -> list[DeviceClock]:
    """Couriers' phones whose clock was off at their last sync (within RECENT), for staff
    who see the courier's unit."""
    query = (select(DeviceClock).join(User, User.id == DeviceClock.user_id)
             .where(DeviceClock.flagged_since.is_not(None), User.role == Role.COURIER,
                    DeviceClock.checked_at >= now - RECENT)
             .options(joinedload(DeviceClock.user).joinedload(User.unit))
             .order_by(DeviceClock.checked_at.desc()))
    if courier_id is not None:
        query = query.where(DeviceClock.user_id == courier_id)
    return [row for row in session.scalars(query) if sees_unit(viewer, row.user.unit)]
