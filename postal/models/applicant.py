"""Applicants: the citizens or businesses who file dossiers."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base
from postal.models.unit import OrgUnit


class Applicant(Base):
    __tablename__ = "applicant"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    id_number: Mapped[str | None] = mapped_column(String(12), index=True)
    phone: Mapped[str | None] = mapped_column(String(15))
    street: Mapped[str | None] = mapped_column(String(300))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # accent-folded name and address, for searching
    search_key: Mapped[str] = mapped_column(String(600), index=True, default="")

    ward: Mapped[OrgUnit | None] = relationship()

    @property
    def address(self) -> str:
        parts = [self.street, self.ward.name if self.ward else None]
        if self.ward and self.ward.parent:
            parts.append(self.ward.parent.name)
        return ", ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"<Applicant {self.id} {self.full_name!r}>"
