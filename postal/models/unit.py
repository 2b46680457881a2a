"""Org units: one tree of provinces, communes/wards, centres, agencies and post offices."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Index, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"
    CENTRE = "centre"
    AGENCY = "agency"
    POST_OFFICE = "post_office"


class OrgUnit(Base):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[UnitKind] = mapped_column(
        Enum(UnitKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # "/42/18304/CENTRE-1/": codes from the root, for subtree queries with one LIKE
    path: Mapped[str] = mapped_column(String(400), index=True)
    # the identifier code printed in dossier codes (e.g. 000.00.07.H26); defaults to `code`
    ident_code: Mapped[str | None] = mapped_column(String(40))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    same_day_cutoff = mapped_column(Time, nullable=True)
    # an agency's policy: may it record a result while the paper folder has not reached it
    # (dossiers it decides from scans or the online file)? By default it may not.
    results_without_folder: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default="0")

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    __table_args__ = (Index("ix_org_unit_kind_parent", "kind", "parent_id"),)

    @property
    def dossier_prefix(self) -> str:
        return self.ident_code or self.code

    def contains(self, other: OrgUnit) -> bool:
        """True when `other` is this unit or below it."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.kind.value} {self.name!r}>"
