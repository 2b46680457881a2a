"""Exports: dossier lists in the import format (CSV, XLSX), streamed; the report as a table."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from postal.core.time import TZ
from postal.dossiers.lifecycle import State
from postal.models import Applicant, Dossier, OrgUnit, Procedure
from postal.reporting.import_format import COLUMNS
from postal.reporting.sheets import csv_writer, xlsx_row

D = Dossier
YIELD = 1000

# Vietnamese labels of the report's figures, in the official layout's order
LABELS = {
    "carried_over": "Kỳ trước chuyển sang",
    "received": "Tiếp nhận trong kỳ",
    "received_counter": "— trực tiếp tại quầy",
    "received_home_pickup": "— thu gom tại nhà (bưu chính)",
    "received_online": "— trực tuyến",
    "handled": "Tổng số hồ sơ phải giải quyết",
    "resolved": "Đã giải quyết",
    "resolved_early": "— trước hạn",
    "resolved_on_time": "— đúng hạn",
    "resolved_late": "— quá hạn",
    "in_process": "Đang giải quyết",
    "in_process_on_time": "— trong hạn",
    "in_process_overdue": "— quá hạn",
    "in_process_waiting": "— chờ bổ sung (dừng tính hạn)",
    "withdrawn": "Rút hồ sơ / dừng giải quyết",
    "returned": "Đã trả kết quả",
    "returned_home": "— trả tại nhà (bưu chính)",
    "returned_counter": "— trả tại quầy",
    "resolved_rate": "Tỷ lệ đã giải quyết",
    "in_process_rate": "Tỷ lệ đang giải quyết",
    "early_rate": "Tỷ lệ trước hạn",
    "on_time_rate": "Tỷ lệ đúng hạn",
    "late_rate": "Tỷ lệ quá hạn",
    "home_delivery_rate": "Tỷ lệ trả kết quả tại nhà",
    "rated": "Lượt đánh giá",
    "satisfied": "Hài lòng (mức 4–5)",
    "rating_1": "Mức 1 – Rất kém", "rating_2": "Mức 2 – Kém", "rating_3": "Mức 3 – Trung bình",
    "rating_4": "Mức 4 – Tốt", "rating_5": "Mức 5 – Rất tốt",
    "satisfied_share": "Tỷ lệ hài lòng",
}


PARENTS = {"received_": "received", "resolved_": "resolved", "in_process_": "in_process",
           "returned_": "returned"}


def figure_title(key: str) -> str:
    """A figure's label that stands on its own ("Đã giải quyết — quá hạn")."""
    label = LABELS.get(key, key)
    if label.startswith("—"):
        parent = next((p for prefix, p in PARENTS.items() if key.startswith(prefix)), None)
        if parent:
            return f"{LABELS[parent]} {label}"
    return label


def report_lines(figures: dict) -> list[tuple[str, str, int | float | None]]:
    """(key, label, value) for every figure, the satisfaction block flattened."""
    lines = [(k, LABELS[k], v) for k, v in figures.items() if k != "satisfaction"]
    sat = figures["satisfaction"]
    lines.append(("rated", LABELS["rated"], sat["count"]))
    lines += [(f"rating_{n}", LABELS[f"rating_{n}"], sat["levels"][str(n)]) for n in range(1, 6)]
    lines.append(("satisfied_share", LABELS["satisfied_share"], sat["satisfied_share"]))
    return lines


def report_csv(figures: dict) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(("figure", "label", "value"))
    writer.writerows((k, label, "" if v is None else v) for k, label, v in report_lines(figures))
    return out.getvalue()


def report_xlsx(figures: dict, *, unit: OrgUnit | None, date_from: date, date_to: date) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Báo cáo"
    sheet.append(xlsx_row(sheet, ["Báo cáo tình hình giải quyết hồ sơ TTHC"]))
    sheet.append(xlsx_row(sheet, [f"Đơn vị: {unit.name if unit else 'Tất cả'}",
                                  f"Từ {date_from:%d/%m/%Y} đến {date_to:%d/%m/%Y}"]))
    sheet.append([])
    sheet.append(xlsx_row(sheet, ["Chỉ tiêu", "Mã", "Giá trị"]))
    for key, label, value in report_lines(figures):
        sheet.append(xlsx_row(sheet, [label, key, value]))
        if key.endswith("_rate") or key.endswith("_share"):
            sheet.cell(sheet.max_row, 3).number_format = "0.0%"
    sheet.column_dimensions["A"].width = 42
    sheet.column_dimensions["B"].width = 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _iso(value: datetime | None) -> str:
    return value.astimezone(TZ).isoformat() if value else ""


def dossier_rows(session: Session, stmt: Select) -> Iterator[list]:
    """The dossiers of `stmt` (a SELECT of Dossier) as rows of the import format."""
    ids = stmt.with_only_columns(D.id).order_by(None).subquery()
    agency, unit, ward = aliased(OrgUnit), aliased(OrgUnit), aliased(OrgUnit)
    query = (
        select(D.code, Procedure.code, Procedure.name, Procedure.field, agency.code, unit.code,
               D.channel, Applicant.full_name, Applicant.phone, ward.code, D.received_at,
               D.due_at, D.resolved_at, D.returned_at, D.return_method, D.state, D.closed_at,
               D.rating, D.rated_at)
        .join(ids, ids.c.id == D.id)
        .join(Procedure, Procedure.id == D.procedure_id)
        .join(unit, unit.id == D.unit_id)
        .join(Applicant, Applicant.id == D.applicant_id)
        .outerjoin(agency, agency.id == D.agency_id)
        .outerjoin(ward, ward.id == Applicant.ward_id)
        .order_by(D.received_at, D.id)
        .execution_options(yield_per=YIELD)
    )
    for r in session.execute(query):
        status = r.state.value if r.state in (State.WITHDRAWN, State.REFUSED) else ""
        yield [r[0], r[1], r[2], r[3], r[4] or "", r[5], r.channel.value, r.full_name,
               r.phone or "", r[9] or "", _iso(r.received_at), _iso(r.due_at),
               _iso(r.resolved_at), _iso(r.returned_at), r.return_method.value, status,
               _iso(r.closed_at), r.rating or "", _iso(r.rated_at)]


def iter_csv(session: Session, stmt: Select) -> Iterator[bytes]:
    """UTF-8 CSV (with a BOM, so spreadsheets read the accents), a chunk per 1000 rows."""
    out = io.StringIO()
    writer = csv_writer(out)
    out.write("\ufeff")
    writer.writerow(COLUMNS)
    for i, row in enumerate(dossier_rows(session, stmt), start=1):
        writer.writerow(row)
        if i % YIELD == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def iter_xlsx(session: Session, stmt: Select) -> Iterator[bytes]:
    """An XLSX workbook written row by row (openpyxl write-only), then read back in chunks."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Hồ sơ")
    sheet.append(xlsx_row(sheet, COLUMNS))
    for row in dossier_rows(session, stmt):
        sheet.append(xlsx_row(sheet, row))
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        while chunk := handle.read(64 * 1024):
            yield chunk
