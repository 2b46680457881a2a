"""The dossier register (Sổ theo dõi hồ sơ): the dossiers a unit subtree received in a period."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from postal.core.time import local
from postal.models import Applicant, Dossier, OrgUnit, Procedure, ReturnMethod
from postal.reporting import metrics
from postal.reporting.sheets import xlsx_row

D = Dossier
COLUMNS = ("Mã hồ sơ", "Thủ tục", "Người nộp", "Địa chỉ", "Điện thoại", "Ngày nhận",
           "Hẹn trả", "Ngày trả", "Người nhận kết quả")


@dataclass(frozen=True)
class RegisterRow:
    code: str
    procedure: str
    applicant: str
    address: str
    phone: str
    received_at: datetime | None
    due_at: datetime | None
    returned_at: datetime | None
    collected_by: str

    def cells(self) -> list[str]:
        return [self.code, self.procedure, self.applicant, self.address, self.phone,
                local(self.received_at), local(self.due_at), local(self.returned_at),
                self.collected_by]


def register_rows(session: Session, unit: OrgUnit | None, date_from: date, date_to: date
                  ) -> Iterator[RegisterRow]:
    """Dossiers received in [date_from, date_to] by the subtree, in order of receipt."""
    start, end = metrics.period_bounds(date_from, date_to)
    ward, province = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (
        select(D.code, Procedure.name, Applicant.full_name, Applicant.street, ward.name,
               province.name, Applicant.phone, D.received_at, D.due_at, D.returned_at,
               D.returned_via, D.collected_by)
        .join(Procedure, Procedure.id == D.procedure_id)
        .join(Applicant, Applicant.id == D.applicant_id)
        .outerjoin(ward, ward.id == Applicant.ward_id)
        .outerjoin(province, province.id == ward.parent_id)
        .where(metrics.in_units(metrics.subtree_ids(session, unit)), D.received_at >= start,
               D.received_at < end)
        .order_by(D.received_at, D.id)
        .execution_options(yield_per=1000)
    )
    for r in session.execute(stmt):
        collected = r.collected_by or ""
        if r.returned_at and not collected:
            collected = "Bưu điện trả tại nhà" if r.returned_via == ReturnMethod.HOME else ""
        yield RegisterRow(
            code=r.code or "", procedure=r.name, applicant=r.full_name,
            address=", ".join(p for p in (r.street, r[4], r[5]) if p), phone=r.phone or "",
            received_at=r.received_at, due_at=r.due_at, returned_at=r.returned_at,
            collected_by=collected,
        )


def register_xlsx(rows: Iterator[RegisterRow], *, title: str) -> bytes:
    """The register as a workbook (openpyxl write-only: rows are not kept in memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sổ theo dõi")
    for column, width in zip("ABCDEFGHIJ", (6, 26, 40, 24, 40, 13, 17, 17, 17, 22), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append(xlsx_row(sheet, [title]))
    sheet.append(xlsx_row(sheet, ["STT", *COLUMNS]))
    for i, row in enumerate(rows, start=1):
        sheet.append(xlsx_row(sheet, [i, *row.cells()]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
