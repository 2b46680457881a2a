"""Legs: one physical movement of an item, from one unit to another, with its custodian."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime


class Leg(Base):
    __tablename__ = "leg"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    receiver_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    start_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    end_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))

    item = relationship("Item")
    from_unit = relationship("OrgUnit", foreign_keys=[from_unit_id])
    to_unit = relationship("OrgUnit", foreign_keys=[to_unit_id])
    custodian = relationship("User", foreign_keys=[custodian_id])
    receiver = relationship("User", foreign_keys=[receiver_id])
    start_event = relationship("Event", foreign_keys=[start_event_id])
    end_event = relationship("Event", foreign_keys=[end_event_id])

    def __repr__(self) -> str:
        return f"<Leg item={self.item_id} {self.from_unit_id}->{self.to_unit_id}>"
