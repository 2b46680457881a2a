"""Closed months: a unit's official monthly figures, frozen when a manager closes the month.

Also the indexes the report reads (declared here, beside the report's own table, so the
dossier model stays as its owner wrote it).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow
from postal.models.dossier import Dossier


class ReportClosure(Base):
    __tablename__ = "report_closure"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    month: Mapped[date] = mapped_column(Date)  # its first day
    # the report of domain.md as it stood at closing: the month's official figures
    figures: Mapped[dict] = mapped_column(JSON)
    # the counts as last reported: the figures plus the adjustments later closings reported
    reported: Mapped[dict] = mapped_column(JSON)
    # corrections to earlier closed months reported with this one: [{month, changes}]
    adjustments: Mapped[list] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    unit = relationship("OrgUnit")
    closed_by = relationship("User")

    __table_args__ = (UniqueConstraint("unit_id", "month", name="uq_report_closure_unit_month"),)

    def __repr__(self) -> str:
        return f"<ReportClosure unit={self.unit_id} {self.month:%Y-%m}>"


# Month figures count dossiers by the moment they were withdrawn or rated; with these (and the
# received/resolved/returned indexes of the dossier table) every period figure has an index.
Index("ix_dossier_unit_closed", Dossier.unit_id, Dossier.closed_at)
Index("ix_dossier_unit_rated", Dossier.unit_id, Dossier.rated_at)
