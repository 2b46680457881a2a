"""The procedure catalogue (thủ tục hành chính)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base
from postal.models.unit import OrgUnit


class Procedure(Base):
    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(400))
    search_key: Mapped[str] = mapped_column(String(600), index=True)
    field: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    processing_days: Mapped[int] = mapped_column(Integer, default=0)
    # set for procedures whose period is counted in working hours (8 a day)
    processing_hours: Mapped[int | None] = mapped_column(Integer)
    same_day: Mapped[bool] = mapped_column(Boolean, default=False)
    cutoff = mapped_column(Time, nullable=True)
    fee: Mapped[int] = mapped_column(Integer, default=0)
    home_return: Mapped[bool] = mapped_column(Boolean, default=True)
    # the courier checks the recipient's ID card at the door before handing the result over
    delivery_id_check: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # [{"id": "d1", "name": "Tờ khai ...", "required": true}, ...]
    documents: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    agency: Mapped[OrgUnit | None] = relationship()

    def __repr__(self) -> str:
        return f"<Procedure {self.code} {self.name!r}>"
