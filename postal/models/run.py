"""Delivery runs: a courier's day of home deliveries from a centre, as ordered stops."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


def _enum(cls, length=12):
    return Enum(cls, native_enum=False, length=length,
                values_callable=lambda e: [m.value for m in e])


class RunStatus(enum.StrEnum):
    PLANNED = "planned"  # stops ordered, results still at the centre
    OUT = "out"  # the courier has taken the results
    DONE = "done"  # every stop delivered or failed
    CANCELLED = "cancelled"  # dropped before it started; its dossiers are back in the queue


class StopStatus(enum.StrEnum):
    PENDING = "pending"
    OUT = "out"
    DELIVERED = "delivered"
    FAILED = "failed"


OPEN_RUN_STATES = (RunStatus.PLANNED, RunStatus.OUT)


class DeliveryRun(Base):
    __tablename__ = "delivery_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the depot
    courier_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    day: Mapped[date] = mapped_column(Date)  # local calendar day of the run
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.PLANNED)
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    depot_lat: Mapped[float] = mapped_column(Float)
    depot_lon: Mapped[float] = mapped_column(Float)
    total_km: Mapped[float] = mapped_column(Float, default=0.0)  # round trip from the depot

    unit = relationship("OrgUnit")
    courier = relationship("User", foreign_keys=[courier_id])
    planned_by = relationship("User", foreign_keys=[planned_by_id])
    stops: Mapped[list[RunStop]] = relationship(
        back_populates="run", order_by="RunStop.position", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_delivery_run_courier_day", "courier_id", "day"),)

    def __repr__(self) -> str:
        return f"<DeliveryRun {self.id} {self.day} {self.status.value}>"


class RunStop(Base):
    __tablename__ = "run_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_run.id"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based visiting order
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    geo_source: Mapped[str] = mapped_column(String(20))
    leg_km: Mapped[float] = mapped_column(Float, default=0.0)  # from the previous stop
    status: Mapped[StopStatus] = mapped_column(_enum(StopStatus), default=StopStatus.PENDING)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[DeliveryRun] = relationship(back_populates="stops")
    dossier = relationship("Dossier")

    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_run_stop_position"),
        UniqueConstraint("run_id", "dossier_id", name="uq_run_stop_dossier"),
    )

    def __repr__(self) -> str:
        return f"<RunStop run={self.run_id} #{self.position} dossier={self.dossier_id}>"
