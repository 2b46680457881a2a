"""The WorkCalendar in force: office hours from the settings, overrides from the database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.errors import Conflict, NotFound, ValidationFailed
from postal.core.text import clean
from postal.deadlines.calendar import OfficeHours, WorkCalendar
from postal.models import CalendarOverride, OverrideKind, User

DEFAULT_OFFICE_HOURS = "07:30-11:30,13:30-17:00"


def parse_office_hours(text: str) -> OfficeHours:
    """'07:30-11:30,13:30-17:00' -> OfficeHours (config.validate() has checked the shape)."""
    sessions = []
    for part in text.split(","):
        start, end = part.split("-")
        sessions.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
    return OfficeHours(tuple(sessions))


@lru_cache(maxsize=16)
def _build(hours: str, off: frozenset[date], working: frozenset[date]) -> WorkCalendar:
    # Building the VN holiday tables takes milliseconds; a calendar is rebuilt only when the
    # settings or the overrides change. Years around today are loaded up front, so threads
    # sharing the instance rarely extend its tables.
    calendar = WorkCalendar(off, working, parse_office_hours(hours))
    this_year = date.today().year
    calendar.working_days_between(date(this_year - 1, 1, 1), date(this_year + 1, 12, 31))
    return calendar


def calendar_for(session: Session, settings: Mapping) -> WorkCalendar:
    """The calendar in force: Mon–Fri, VN public holidays, the overrides, OFFICE_HOURS."""
    rows = session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all()
    off = frozenset(d for d, k in rows if k == OverrideKind.DAY_OFF)
    working = frozenset(d for d, k in rows if k == OverrideKind.WORKING_DAY)
    return _build(settings.get("OFFICE_HOURS") or DEFAULT_OFFICE_HOURS, off, working)


def list_overrides(session: Session, *, year: int | None = None) -> list[CalendarOverride]:
    stmt = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        stmt = stmt.where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(session.scalars(stmt))


def add_override(
    session: Session, user: User, *, day: date | str | None, kind: OverrideKind | str | None,
    note: str | None, calendar: WorkCalendar,
) -> CalendarOverride:
    """An extra day off or a make-up working day; refused when it would change nothing."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            raise ValidationFailed("ngày không hợp lệ (YYYY-MM-DD)", field="day") from None
    if not isinstance(day, date):
        raise ValidationFailed("chọn ngày", field="day")
    try:
        kind = OverrideKind(kind)
    except ValueError:
        raise ValidationFailed("chọn loại: ngày nghỉ hoặc ngày làm bù", field="kind") from None
    if session.scalar(select(CalendarOverride.id).where(CalendarOverride.day == day)):
        raise Conflict(f"ngày {day:%d/%m/%Y} đã có trong lịch điều chỉnh", field="day")
    working = calendar.is_working_day(day)
    if kind == OverrideKind.DAY_OFF and not working:
        raise ValidationFailed(f"ngày {day:%d/%m/%Y} vốn đã là ngày nghỉ", field="day")
    if kind == OverrideKind.WORKING_DAY and working:
        raise ValidationFailed(f"ngày {day:%d/%m/%Y} vốn đã là ngày làm việc", field="day")
    note = clean(note)
    if len(note) > 200:
        raise ValidationFailed("ghi chú tối đa 200 ký tự", field="note")
    row = CalendarOverride(day=day, kind=kind, note=note, created_by_id=user.id)
    session.add(row)
    session.flush()
    audit.record(session, user, "calendar_override_add", "calendar_override", day.isoformat(),
                 kind=kind.value, note=note)
    return row


def remove_override(session: Session, user: User, override_id: int) -> None:
    row = session.get(CalendarOverride, override_id)
    if row is None:
        raise NotFound(f"no calendar override {override_id}")
    audit.record(session, user, "calendar_override_remove", "calendar_override",
                 row.day.isoformat(), kind=row.kind.value, note=row.note)
    session.delete(row)
    session.flush()
