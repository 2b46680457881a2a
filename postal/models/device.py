"""A phone's clock as the server last saw it: couriers' phones stamp what they record offline,
so a clock that is minutes off is flagged to the office instead of being trusted silently."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class DeviceClock(Base):
    __tablename__ = "device_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))  # the phone's own random id
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # server clock
    skew_s: Mapped[int] = mapped_column(Integer, default=0)  # phone minus server, seconds
    # set while the phone's clock is off by more than the allowance: since when, and how far
    flagged_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worst_skew_s: Mapped[int] = mapped_column(Integer, default=0)

    user = relationship("User")

    __table_args__ = (UniqueConstraint("user_id", "device_id"),)

    def __repr__(self) -> str:
        return f"<DeviceClock user={self.user_id} {self.device_id} {self.skew_s:+d}s>"
