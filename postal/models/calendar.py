"""The manager's calendar overrides: extra days off and make-up working Saturdays."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from postal.models.base import Base, UTCDateTime, utcnow


class OverrideKind(enum.StrEnum):
    DAY_OFF = "day_off"
    WORKING_DAY = "working_day"


class CalendarOverride(Base):
    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[OverrideKind] = mapped_column(
        Enum(OverrideKind, native_enum=False, length=12,
             values_callable=lambda e: [m.value for m in e])
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CalendarOverride {self.day} {self.kind.value}>"
