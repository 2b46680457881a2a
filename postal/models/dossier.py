"""Dossiers (hồ sơ): one per application, with the moments the reports are built from."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.applicant import Applicant
from postal.models.base import Base, UTCDateTime, utcnow
from postal.models.procedure import Procedure
from postal.models.state import State
from postal.models.unit import OrgUnit


class Channel(enum.StrEnum):
    COUNTER = "counter"
    HOME_PICKUP = "home_pickup"
    ONLINE = "online"


class ReturnMethod(enum.StrEnum):
    COUNTER = "counter"
    HOME = "home"


class Timeliness(enum.StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def _enum(cls, length=24):
    return Enum(cls, native_enum=False, length=length,
                values_callable=lambda e: [m.value for m in e])


class Dossier(Base):
    __tablename__ = "dossier"

    id: Mapped[int] = mapped_column(primary_key=True)
    # null for intake outcomes that were not accepted (incomplete, rejected)
    code: Mapped[str | None] = mapped_column(String(60), unique=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # the receipt's QR token
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    state: Mapped[State] = mapped_column(_enum(State))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    return_method: Mapped[ReturnMethod] = mapped_column(_enum(ReturnMethod))
    delivery_street: Mapped[str | None] = mapped_column(String(300))
    delivery_ward_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    delivery_lat: Mapped[float | None] = mapped_column(Float)
    delivery_lon: Mapped[float | None] = mapped_column(Float)
    delivery_geo_source: Mapped[str | None] = mapped_column(String(20))
    documents: Mapped[list] = mapped_column(JSON, default=list)  # checklist entries received
    missing_documents: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)  # refusal / supplement / stop reason
    fee: Mapped[int] = mapped_column(Integer, default=0)
    postal_fee: Mapped[int] = mapped_column(Integer, default=0)
    cod_amount: Mapped[int] = mapped_column(Integer, default=0)  # to collect at the door

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after an extension
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timeliness: Mapped[Timeliness | None] = mapped_column(_enum(Timeliness, 10))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_via: Mapped[ReturnMethod | None] = mapped_column(_enum(ReturnMethod))
    collected_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # withdrawn / refused
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # the file import that wrote it (None: accepted here), so a failed import can be undone
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)

    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])
    agency: Mapped[OrgUnit | None] = relationship(foreign_keys=[agency_id])
    procedure: Mapped[Procedure] = relationship()
    applicant: Mapped[Applicant] = relationship()
    delivery_ward: Mapped[OrgUnit | None] = relationship(foreign_keys=[delivery_ward_id])
    clerk = relationship("User", foreign_keys=[clerk_id])
    items = relationship("Item", back_populates="dossier", order_by="Item.id")

    __table_args__ = (
        Index("ix_dossier_unit_received", "unit_id", "received_at"),
        Index("ix_dossier_unit_resolved", "unit_id", "resolved_at"),
        Index("ix_dossier_unit_returned", "unit_id", "returned_at"),
        Index("ix_dossier_state_due", "state", "due_at"),
    )

    @property
    def is_accepted(self) -> bool:
        return self.received_at is not None

    @property
    def delivery_address(self) -> str:
        parts = [self.delivery_street]
        if self.delivery_ward is not None:
            parts.append(self.delivery_ward.name)
            if self.delivery_ward.parent is not None:
                parts.append(self.delivery_ward.parent.name)
        return ", ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"<Dossier {self.code or self.id} {self.state.value}>"
