"""The dossier register (Sổ theo dõi hồ sơ) as an A4 landscape PDF."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from reportlab.lib.pagesizes import A4, landscape

from postal.documents.pdf import NumberedPages, draw_text, finish, mm, new_canvas
from postal.documents.table import Column, Unbroken, draw_table
from postal.reporting.register import RegisterRow

PAGE = landscape(A4)
MARGIN = 10 * mm
SIZE = 7.5
# mm, 277 in all: the code's column holds a full dossier code on one line at SIZE
WIDTHS = (10, 42, 46, 28, 42, 21, 22, 22, 22, 22)


def render_register(rows: Iterable[RegisterRow], *, unit_name: str, date_from: date,
                    date_to: date) -> bytes:
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, PAGE, title="Sổ theo dõi hồ sơ")
    width, height = PAGE
    pages = NumberedPages(canvas, right=width - MARGIN, bottom=MARGIN / 2 + 6 * mm,
                          top=height - MARGIN)
    footer, new_page = pages.footer, pages.new_page

    draw_text(canvas, width / 2, height - MARGIN - 4 * mm, "SỔ THEO DÕI HỒ SƠ", 13, bold=True,
              align="centre")
    draw_text(canvas, width / 2, height - MARGIN - 10 * mm,
              f"{unit_name} — từ ngày {date_from:%d/%m/%Y} đến ngày {date_to:%d/%m/%Y}", 9,
              align="centre")
    titles = ("STT", "Mã hồ sơ", "Tên thủ tục", "Người nộp", "Địa chỉ", "Số điện thoại",
              "Ngày nhận", "Hẹn trả", "Ngày trả", "Người nhận")
    columns = [Column(t, w * mm, "right" if t == "STT" else "left")
               for t, w in zip(titles, WIDTHS, strict=True)]
    cells = [[str(i), Unbroken(code), *rest]
             for i, (code, *rest) in enumerate((row.cells() for row in rows), start=1)]
    if not cells:
        cells = [["", "Không có hồ sơ nào trong kỳ", "", "", "", "", "", "", "", ""]]
    draw_table(canvas, MARGIN, height - MARGIN - 15 * mm, columns, cells, size=SIZE,
               bottom=MARGIN + 4 * mm, new_page=new_page)
    footer()
    return finish(canvas, buffer)
