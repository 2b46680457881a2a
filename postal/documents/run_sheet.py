"""Phiếu giao kết quả tại nhà: the courier's printed run sheet, one row per stop in visiting
order, with the item's barcode, the amount to collect and a box for the recipient's signature."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, landscape

from postal.documents import forms
from postal.documents.forms import Field
from postal.documents.pdf import (
    NumberedPages,
    draw_text,
    finish,
    local_time,
    mm,
    money,
    new_canvas,
)
from postal.documents.table import BarcodeCell, Column, draw_table

TITLE = "PHIẾU GIAO KẾT QUẢ TẠI NHÀ"
MARGIN_X = 10 * mm
MARGIN_TOP = 10 * mm
MARGIN_BOTTOM = 12 * mm
HEADER_SIZE = 8.5
TITLE_SIZE = 13
FIELD_SIZE = 9.5
TABLE_SIZE = 7.5
SIGN_SIZE = 8.5
SIGN_SPACE = 18 * mm
COLUMNS = (
    Column("STT", 9 * mm, "right"),
    Column("Số hiệu bưu gửi", 44 * mm),
    Column("Mã hồ sơ", 47 * mm),
    Column("Người nhận, điện thoại", 40 * mm),
    Column("Địa chỉ", 55 * mm),
    Column("Km", 11 * mm, "right"),
    Column("Thu hộ", 20 * mm, "right"),
    Column("Ký nhận / ghi chú", 51 * mm),
)
# positions that are only the ward's or the centre's: the courier has to ask the way
ROUGH = {"ward": "≈ vị trí xã/phường", "centre": "≈ chưa định vị được"}
STATUS = {"delivered": "Đã giao", "failed": "Không giao được"}


def _row(stop) -> list:
    dossier = stop.dossier
    applicant = dossier.applicant
    result = next((i.number for i in dossier.items if str(i.kind) == "result"), "")
    note = "\n".join(x for x in (ROUGH.get(stop.geo_source, ""),
                                 STATUS.get(str(stop.status), "")) if x)
    return [
        str(stop.position),
        BarcodeCell(result) if result else "",
        dossier.code or "",
        f"{applicant.full_name}\n{applicant.phone or ''}".strip(),
        dossier.delivery_address,
        f"{stop.leg_km:.1f}",
        money(dossier.cod_amount) if dossier.cod_amount else "—",
        note,
    ]


def render_run_sheet(run) -> bytes:
    """The run: courier, day, distance, one row per stop, the cash to bring back, signatures."""
    width, height = landscape(A4)
    x, w = MARGIN_X, width - 2 * MARGIN_X
    top, bottom = height - MARGIN_TOP, MARGIN_BOTTOM
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, (width, height), title=f"Phiếu giao kết quả — chuyến {run.id}")
    pages = NumberedPages(canvas, right=x + w, bottom=bottom, top=top,
                          label=f"Chuyến {run.id} — {run.day:%d/%m/%Y}")
    new_page, footer = pages.new_page, pages.footer

    y = forms.draw_heading(canvas, x, top, w, run.unit, HEADER_SIZE)
    y = forms.draw_title(canvas, x, y - 1 * mm, w, TITLE, TITLE_SIZE, f"Chuyến số {run.id}")
    courier = run.courier
    stops = list(run.stops)
    cod_total = sum(s.dossier.cod_amount or 0 for s in stops)
    fields = [
        Field("Bưu tá", (courier.full_name or courier.username) if courier else "", bold=True),
        Field("Ngày giao", f"{run.day:%d/%m/%Y}"),
        Field("Số điểm giao", str(len(stops))),
        Field("Quãng đường dự kiến", f"{run.total_km:.1f} km (đi và về, theo thứ tự dưới đây)"),
        Field("Lập lúc", local_time(run.created_at)),
    ]
    y = forms.draw_fields(canvas, x, y, w, fields, FIELD_SIZE) - 2 * mm
    y = draw_table(canvas, x, y, COLUMNS, [_row(s) for s in stops], size=TABLE_SIZE,
                   bottom=bottom, new_page=new_page)
    sign_h = SIGN_SPACE + 4 * SIGN_SIZE * forms.LEADING
    if y - sign_h - 2 * FIELD_SIZE < bottom:
        y = new_page()
    y -= FIELD_SIZE * forms.LEADING * 1.3
    draw_text(canvas, x, y, f"Tổng số: {len(stops)} bưu gửi — tổng tiền thu hộ: "
                            f"{money(cod_total) if cod_total else '0'}", FIELD_SIZE, bold=True)
    planner = run.planned_by
    forms.draw_signatures(
        canvas, x, y - 3 * mm, w,
        [("NGƯỜI LẬP", (planner.full_name or planner.username) if planner else ""),
         ("BƯU TÁ", (courier.full_name or courier.username) if courier else ""),
         ("NGƯỜI NHẬN LẠI TIỀN, BƯU GỬI", "")],
        SIGN_SIZE, SIGN_SPACE, boxed=True,
    )
    footer()
    return finish(canvas, buffer)
