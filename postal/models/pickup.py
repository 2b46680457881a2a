"""Home pickups (thu gom hồ sơ tại nhà): a courier collects a citizen's papers at the door."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class PickupStatus(enum.StrEnum):
    BOOKED = "booked"  # on a courier's list, not yet collected
    COLLECTED = "collected"  # the courier has the papers
    AT_COUNTER = "at_counter"  # handed to the counter, waiting for intake
    COMPLETED = "completed"  # intake done: linked to its dossier
    CANCELLED = "cancelled"
    FAILED = "failed"  # nobody home, papers not ready, ...


OPEN_PICKUP_STATES = (PickupStatus.BOOKED, PickupStatus.COLLECTED, PickupStatus.AT_COUNTER)


class Pickup(Base):
    __tablename__ = "pickup"

    id: Mapped[int] = mapped_column(primary_key=True)
    # the S10 label the courier sticks on the envelope and scans at the door and the counter
    number: Mapped[str] = mapped_column(String(13), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the centre doing intake
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[PickupStatus] = mapped_column(
        Enum(PickupStatus, native_enum=False, length=12,
             values_callable=lambda e: [m.value for m in e]),
        default=PickupStatus.BOOKED,
    )
    applicant_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(15))
    street: Mapped[str] = mapped_column(String(300))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"))
    scheduled_for: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(80))  # the one-stop system's id

    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))  # the citizen who handed over
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cancelled / failed
    reason: Mapped[str | None] = mapped_column(Text)  # why cancelled or failed
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), unique=True)

    unit = relationship("OrgUnit", foreign_keys=[unit_id])
    ward = relationship("OrgUnit", foreign_keys=[ward_id])
    courier = relationship("User", foreign_keys=[courier_id])
    booked_by = relationship("User", foreign_keys=[booked_by_id])
    procedure = relationship("Procedure")
    dossier = relationship("Dossier")

    __table_args__ = (Index("ix_pickup_unit_status", "unit_id", "status"),)

    @property
    def address(self) -> str:
        parts = [self.street, self.ward.name if self.ward else None]
        if self.ward is not None and self.ward.parent is not None:
            parts.append(self.ward.parent.name)
        return ", ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"<Pickup {self.number} {self.status.value}>"
