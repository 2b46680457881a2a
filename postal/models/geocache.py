"""Known positions of addresses: Nominatim's answers (and misses) kept across restarts, and
the GPS fix of past deliveries to the very same address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postal.models.base import Base, UTCDateTime, utcnow


class GeocodeEntry(Base):
    __tablename__ = "geocode_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "nominatim" (a cached lookup) or "learned" (where a courier delivered to this address)
    source: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(600))  # the normalised address
    found: Mapped[bool] = mapped_column(default=True)  # False: Nominatim knew nothing
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    expires: Mapped[float | None] = mapped_column(Float)  # a miss's expiry, epoch seconds
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("source", "key", name="uq_geocode_entry_source_key"),)

    def __repr__(self) -> str:
        return f"<GeocodeEntry {self.source} {self.key!r}>"
