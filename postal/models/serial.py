"""Counters that never restart (S10 item serials), one row a counter."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from postal.models.base import Base


class SerialCounter(Base):
    __tablename__ = "serial_counter"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # e.g. "s10"
    last: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<SerialCounter {self.name} {self.last}>"
