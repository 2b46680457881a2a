"""Physical items: the paper folder and the result, each with a UPU S10 number."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow


class ItemKind(enum.StrEnum):
    FOLDER = "folder"  # the dossier's papers, counter -> agency
    RESULT = "result"  # the decision, agency -> counter -> citizen


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(13), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(
        Enum(ItemKind, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e])
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # where it is now, kept in step with the legs (the legs are the record)
    holder_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    holder_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    dossier = relationship("Dossier", back_populates="items")
    holder_unit = relationship("OrgUnit", foreign_keys=[holder_unit_id])
    holder_user = relationship("User", foreign_keys=[holder_user_id])

    def __repr__(self) -> str:
        return f"<Item {self.number} {self.kind.value}>"
