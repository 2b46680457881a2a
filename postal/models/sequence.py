"""Daily counters per unit, for dossier and manifest codes that never repeat."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from postal.models.base import Base


class DailySequence(Base):
    __tablename__ = "daily_sequence"

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)  # "dossier", "manifest"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<DailySequence {self.unit_id} {self.scope} {self.day} {self.last}>"
