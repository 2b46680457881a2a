"""Bảng kê bàn giao hồ sơ: the handover manifest that travels with a bundle of items."""

from __future__ import annotations

import io
from collections import Counter

from reportlab.lib.pagesizes import A4

from postal.documents import forms
from postal.documents.forms import Field
from postal.documents.pdf import (
    NumberedPages,
    draw_code128,
    draw_text,
    finish,
    local_time,
    mm,
    new_canvas,
)
from postal.documents.table import BarcodeCell, Column, draw_table

TITLE = "BẢNG KÊ BÀN GIAO HỒ SƠ"
MARGIN_X = 12 * mm
MARGIN_TOP = 12 * mm
MARGIN_BOTTOM = 14 * mm
HEADER_SIZE = 8.5
TITLE_SIZE = 13
FIELD_SIZE = 9.5
TABLE_SIZE = 7.5
BARCODE = (85 * mm, 13 * mm)
SIGN_SIZE = 8.5
SIGN_SPACE = 20 * mm
COLUMNS = (
    Column("STT", 10 * mm, "right"),
    Column("Số hiệu bưu gửi", 40 * mm),
    Column("Mã hồ sơ", 42 * mm),
    Column("Thủ tục", 44 * mm),
    Column("Người nộp", 36 * mm),
    Column("Ghi chú", 14 * mm),
)
LINE_NOTES = {"listed": "", "confirmed": "Đã nhận", "missing": "Thiếu", "extra": "Thừa"}


def _applicant(applicant) -> str:
    """The name, and on a line of its own the commune, so agencies can sort by place."""
    if applicant is None:
        return ""
    ward = applicant.ward.name if applicant.ward is not None else ""
    return f"{applicant.full_name}\n{ward}" if ward else applicant.full_name


def _row(number: int, line) -> list:
    item = line.item
    dossier = item.dossier
    return [
        str(number),
        BarcodeCell(item.number),
        forms.reference(dossier)[1],
        dossier.procedure.name if dossier.procedure else "",
        _applicant(dossier.applicant),
        LINE_NOTES.get(str(line.status or "listed"), ""),
    ]


def _counts(lines) -> str:
    """'Tổng số: 3 bưu gửi' and, once the receiver has checked, how many matched."""
    total = sum(1 for line in lines if str(line.status or "listed") != "extra")
    text = f"Tổng số: {total} bưu gửi (hồ sơ)"
    by_status = Counter(str(line.status or "listed") for line in lines)
    checked = [f"{LINE_NOTES[s].lower()}: {by_status[s]}" for s in ("confirmed", "missing", "extra")
               if by_status[s]]
    return text + (f" — {'; '.join(checked)}" if checked else "")


def render_manifest(manifest) -> bytes:
    """One manifest: units, time, its code as Code128, a row per item, counts, signatures."""
    width, height = A4
    x, w = MARGIN_X, width - 2 * MARGIN_X
    top, bottom = height - MARGIN_TOP, MARGIN_BOTTOM
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, "A4", title=f"Bảng kê bàn giao {manifest.code}")
    pages = NumberedPages(canvas, right=x + w, bottom=bottom, top=top, label=manifest.code)
    new_page, footer = pages.new_page, pages.footer

    y = forms.draw_heading(canvas, x, top, w, manifest.from_unit, HEADER_SIZE)
    y = forms.draw_title(canvas, x, y - 2 * mm, w, TITLE, TITLE_SIZE, f"Số: {manifest.code}")
    bar_w, bar_h = BARCODE
    draw_code128(canvas, manifest.code, x + (w - bar_w) / 2, y - bar_h - 1 * mm, bar_w, bar_h)
    y -= bar_h + 2 * mm
    creator = manifest.created_by
    lines = list(manifest.lines or [])
    fields = [
        Field("Đơn vị giao", manifest.from_unit.name if manifest.from_unit else "", bold=True),
        Field("Đơn vị nhận", manifest.to_unit.name if manifest.to_unit else "", bold=True),
        Field("Thời gian lập", local_time(manifest.created_at)),
        Field("Người lập", (creator.full_name or creator.username) if creator else "—"),
    ]
    y = forms.draw_fields(canvas, x, y, w, fields, FIELD_SIZE) - 3 * mm
    rows = [_row(i, line) for i, line in enumerate(lines, 1)]
    y = draw_table(canvas, x, y, COLUMNS, rows, size=TABLE_SIZE, bottom=bottom,
                   new_page=new_page)
    sign_h = SIGN_SPACE + 4 * SIGN_SIZE * forms.LEADING
    if y - sign_h - 2 * FIELD_SIZE < bottom:
        y = new_page()
    y -= FIELD_SIZE * forms.LEADING * 1.3
    draw_text(canvas, x, y, _counts(lines), FIELD_SIZE, bold=True)
    forms.draw_signatures(
        canvas, x, y - 3 * mm, w,
        [("NGƯỜI GIAO", creator.full_name if creator else ""), ("NGƯỜI VẬN CHUYỂN", ""),
         ("NGƯỜI NHẬN", "")],
        SIGN_SIZE, SIGN_SPACE, boxed=True,
    )
    footer()
    return finish(canvas, buffer)
