"""Phiếu kiểm soát quá trình giải quyết hồ sơ: one row per handover, as in the paper form.

The custody code turns legs and events into ControlRow values (or dicts with the same keys);
this module only lays them out.
"""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib.pagesizes import A4, landscape

from postal.custody.control_sheet import ControlRow
from postal.deadlines.calendar import timeliness
from postal.documents import forms
from postal.documents.forms import OUTCOMES, Field
from postal.documents.pdf import draw_code128, draw_text, finish, local_time, mm, new_canvas
from postal.documents.table import Column, draw_table

TITLE = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
PAGE = landscape(A4)
MARGIN = 12 * mm
HEADER_SIZE = 8.5
TITLE_SIZE = 13
FIELD_SIZE = 9
TABLE_SIZE = 8
BARCODE = (80 * mm, 12 * mm)
ROW_TIME = "%H:%M %d/%m/%Y"
COLUMNS = (
    Column("Bước", 12 * mm, "right"),
    Column("Giao từ", 45 * mm),
    Column("Nhận tại", 45 * mm),
    Column("Thời gian", 30 * mm),
    Column("Người giao", 36 * mm),
    Column("Người nhận", 36 * mm),
    Column("Kết quả", 22 * mm),
    Column("Ghi chú", 47 * mm),
)


def _outcome(row: ControlRow, due_at: datetime | None) -> str:
    if row.outcome is not None:
        return OUTCOMES.get(str(row.outcome), str(row.outcome))
    if row.at is None or due_at is None:
        return ""
    return OUTCOMES[timeliness(row.at, due_at)]


def _cells(row: ControlRow, due_at: datetime | None) -> list[str]:
    return [str(row.step), row.from_unit or "", row.to_unit or "",
            local_time(row.at, ROW_TIME), row.giver or "", row.receiver or "",
            _outcome(row, due_at), row.note or ""]


def render_control_sheet(dossier, events) -> bytes:
    """The dossier's facts, then one row per ControlRow (or dict with its fields)."""
    rows = [e if isinstance(e, ControlRow) else ControlRow(**e) for e in events]
    width, height = PAGE
    x, w = MARGIN, width - 2 * MARGIN
    top, bottom = height - MARGIN, MARGIN + 4 * mm
    buffer = io.BytesIO()
    label, code, has_barcode = forms.reference(dossier)
    canvas = new_canvas(buffer, PAGE, title=f"Phiếu kiểm soát {code}")

    def new_page() -> float:
        draw_text(canvas, x + w, MARGIN, f"{label}: {code}", 7, align="right")
        canvas.showPage()
        return top

    y = forms.draw_heading(canvas, x, top, w, dossier.unit, HEADER_SIZE)
    y = forms.draw_title(canvas, x, y - 1 * mm, w, TITLE, TITLE_SIZE)
    bar_w, bar_h = BARCODE
    if has_barcode:
        draw_code128(canvas, code, x + w - bar_w, y - bar_h, bar_w, bar_h)
    applicant = dossier.applicant
    due = local_time(dossier.due_at) or "—"
    if dossier.appointment_at:
        due += f" (hẹn lại: {local_time(dossier.appointment_at)})"
    fields = [
        Field(label, code, bold=True),
        Field("Người nộp", f"{applicant.full_name} — {applicant.address}"),
        Field("Thủ tục", dossier.procedure.name if dossier.procedure else ""),
        Field("Cơ quan giải quyết", forms.agency_name(dossier) or "—"),
        Field("Nhận hồ sơ lúc", local_time(dossier.received_at) or "—"),
        Field("Hẹn trả kết quả", due, bold=True),
    ]
    y = forms.draw_fields(canvas, x, y, w - bar_w - 5 * mm, fields, FIELD_SIZE) - 3 * mm
    y = draw_table(canvas, x, y, COLUMNS, [_cells(r, dossier.due_at) for r in rows],
                   size=TABLE_SIZE, bottom=bottom, new_page=new_page)
    if not rows:
        draw_text(canvas, x, y - TABLE_SIZE * 2, "Chưa có lần giao nhận nào.", TABLE_SIZE)
    draw_text(canvas, x + w, MARGIN, f"{label}: {code}", 7, align="right")
    return finish(canvas, buffer)
