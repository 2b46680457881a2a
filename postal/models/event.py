"""The append-only event log of every dossier: intake, scans, decisions, returns, corrections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # the client's UUID for scans: the same id twice is stored once
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id"), index=True)
    manifest_id: Mapped[int | None] = mapped_column(ForeignKey("manifest.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it happened (client clock for scans)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    user = relationship("User")
    unit = relationship("OrgUnit")
    item = relationship("Item")

    __table_args__ = (Index("ix_event_dossier_at", "dossier_id", "at"),
                      Index("ix_event_kind_at", "kind", "at"))  # events of a kind in a period

    def __repr__(self) -> str:
        return f"<Event {self.kind} dossier={self.dossier_id} at={self.at:%Y-%m-%d %H:%M}>"
