"""Delivery attempts at the door (proof of delivery or the reason it failed) and the cash a
courier hands in at the end of the day."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_run.id"), index=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    outcome: Mapped[Outcome] = mapped_column(
        Enum(Outcome, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # at the door (the phone's clock)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # delivered: who took it and how they relate to the applicant
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    recipient_relation: Mapped[str | None] = mapped_column(String(20))
    # failed: a reason code of postal.custody.door.REASONS, and any words of the courier
    reason: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    cod_expected: Mapped[int] = mapped_column(Integer, default=0)
    cod_collected: Mapped[int] = mapped_column(Integer, default=0)
    # the evidence: loaded only when shown, never with lists of attempts
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    photo_type: Mapped[str | None] = mapped_column(String(20))
    signature: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # PNG from the canvas
    # recorded from a phone's queue: its UUID (a second send of the same proof is stored once)
    # and how far the phone's clock was from the server's when it sent it (phone minus server)
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    clock_skew_s: Mapped[int | None] = mapped_column(Integer)

    courier = relationship("User")
    dossier = relationship("Dossier")

    __table_args__ = (Index("ix_delivery_attempt_courier_at", "courier_id", "at"),)

    def __repr__(self) -> str:
        return f"<DeliveryAttempt dossier={self.dossier_id} {self.outcome.value}>"


class CodHandover(Base):
    """Cash collected at doors that a courier hands to the centre, counted by a clerk."""

    __tablename__ = "cod_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    day: Mapped[date] = mapped_column(Date)  # the local day whose collections it settles
    amount: Mapped[int] = mapped_column(Integer)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    courier = relationship("User", foreign_keys=[courier_id])
    received_by = relationship("User", foreign_keys=[received_by_id])

    __table_args__ = (Index("ix_cod_handover_courier_day", "courier_id", "day"),)

    def __repr__(self) -> str:
        return f"<CodHandover courier={self.courier_id} {self.day} {self.amount}>"
