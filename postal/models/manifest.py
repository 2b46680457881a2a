"""Handover manifests (bảng kê bàn giao) and their lines."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class ManifestStatus(enum.StrEnum):
    OPEN = "open"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    DISCREPANCY = "discrepancy"


class LineStatus(enum.StrEnum):
    LISTED = "listed"
    CONFIRMED = "confirmed"
    MISSING = "missing"
    EXTRA = "extra"  # scanned at arrival but not on the manifest


class Manifest(Base):
    __tablename__ = "manifest"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[ManifestStatus] = mapped_column(
        _enum(ManifestStatus), default=ManifestStatus.OPEN
    )

    from_unit = relationship("OrgUnit", foreign_keys=[from_unit_id])
    to_unit = relationship("OrgUnit", foreign_keys=[to_unit_id])
    created_by = relationship("User")
    lines = relationship("ManifestLine", back_populates="manifest", order_by="ManifestLine.id")

    def __repr__(self) -> str:
        return f"<Manifest {self.code} {self.status.value}>"


class ManifestLine(Base):
    __tablename__ = "manifest_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    status: Mapped[LineStatus] = mapped_column(_enum(LineStatus), default=LineStatus.LISTED)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    manifest = relationship("Manifest", back_populates="lines")
    item = relationship("Item")

    __table_args__ = (UniqueConstraint("manifest_id", "item_id"),)

    def __repr__(self) -> str:
        return f"<ManifestLine {self.manifest_id}:{self.item_id} {self.status.value}>"
