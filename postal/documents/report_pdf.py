"""The monthly report in the official layout (carried over + received, resolved, in process),
with the returns, satisfaction, adjustments to closed months and the charts."""

from __future__ import annotations

import io

from reportlab.graphics import renderPDF
from reportlab.lib.pagesizes import A4, landscape

from postal.documents.charts import Bar, bars_drawing, columns_drawing
from postal.documents.pdf import (
    NumberedPages,
    draw_text,
    finish,
    local_time,
    mm,
    new_canvas,
    wrap,
)
from postal.documents.table import Column, draw_table
from postal.dossiers import corrections
from postal.reporting.exports import LABELS
from postal.reporting.report import ReportData

PAGE = landscape(A4)
MARGIN = 12 * mm
SIZE = 7.5
# the official table: one row per field, then the total
MAIN = (
    ("STT", 9, None), ("Lĩnh vực", 47, None), ("Tổng số", 15, "handled"),
    ("Kỳ trước chuyển sang", 17, "carried_over"), ("Trực tiếp", 14, "received_counter"),
    ("Bưu chính", 14, "received_home_pickup"), ("Trực tuyến", 14, "received_online"),
    ("Đã giải quyết", 15, "resolved"), ("Trước hạn", 14, "resolved_early"),
    ("Đúng hạn", 14, "resolved_on_time"), ("Quá hạn", 14, "resolved_late"),
    ("Đang giải quyết", 16, "in_process"), ("Trong hạn", 14, "in_process_on_time"),
    ("Quá hạn", 14, "in_process_overdue"), ("Chờ bổ sung", 15, "in_process_waiting"),
    ("Rút / dừng", 14, "withdrawn"),
)


CHARTS_HEIGHT = 82 * mm
COMPARE = {"resolved_late": "Giải quyết quá hạn", "in_process_overdue": "Đang giải quyết quá hạn",
           "returned_home": "Trả kết quả tại nhà"}


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _main_rows(data: ReportData) -> list[list[str]]:
    rows = []
    for i, group in enumerate(data.breakdowns.get("field", []), start=1):
        rows.append([str(i), group["label"], *(str(group["figures"][k]) for _, _, k in MAIN[2:])])
    rows.append(["", "TỔNG CỘNG", *(str(data.figures[k]) for _, _, k in MAIN[2:])])
    return rows


def render_report(data: ReportData) -> bytes:
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, PAGE, title="Báo cáo tình hình giải quyết hồ sơ TTHC")
    width, height = PAGE
    pages = NumberedPages(canvas, right=width - MARGIN, bottom=MARGIN / 2 + 6 * mm,
                          top=height - MARGIN)
    footer, new_page = pages.footer, pages.new_page

    y = height - MARGIN
    draw_text(canvas, MARGIN, y, data.unit_name.upper(), 9, bold=True)
    draw_text(canvas, width - MARGIN - 40 * mm, y, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", 9,
              bold=True, align="centre")
    draw_text(canvas, width - MARGIN - 40 * mm, y - 4.5 * mm, "Độc lập - Tự do - Hạnh phúc", 9,
              bold=True, align="centre")
    y -= 14 * mm
    draw_text(canvas, width / 2, y, "BÁO CÁO TÌNH HÌNH TIẾP NHẬN, GIẢI QUYẾT VÀ TRẢ KẾT QUẢ "
              "HỒ SƠ THỦ TỤC HÀNH CHÍNH", 12, bold=True, align="centre")
    y -= 6 * mm
    draw_text(canvas, width / 2, y, f"Kỳ báo cáo: từ ngày {data.date_from:%d/%m/%Y} đến ngày "
              f"{data.date_to:%d/%m/%Y}", 9, align="centre")
    y -= 5 * mm
    status = (f"Số liệu chính thức, đã khoá ngày {local_time(data.closure.closed_at, '%d/%m/%Y')}"
              if data.closure is not None else "Số liệu tạm tính tại thời điểm lập báo cáo")
    draw_text(canvas, width / 2, y, status, 8, align="centre")
    y -= 5 * mm
    columns = [Column(t, w * mm, "left" if k is None and t != "STT" else "right")
               for t, w, k in MAIN]
    y = draw_table(canvas, MARGIN, y, columns, _main_rows(data), size=SIZE,
                   bottom=MARGIN + 5 * mm, new_page=new_page)

    y -= 6 * mm
    f, p = data.figures, data.previous
    compare = [[COMPARE.get(k, LABELS[k]), str(f[k]), str(p[k])] for k in (
        "handled", "resolved", "resolved_late", "in_process_overdue", "returned",
        "returned_home")]
    compare += [[LABELS[k], _pct(f[k]), _pct(p[k])] for k in (
        "resolved_rate", "early_rate", "on_time_rate", "late_rate", "home_delivery_rate")]
    sat, psat = f["satisfaction"], p["satisfaction"]
    compare += [[LABELS["rated"], str(sat["count"]), str(psat["count"])],
                [LABELS["satisfied_share"], _pct(sat["satisfied_share"]),
                 _pct(psat["satisfied_share"])]]
    previous = f"Kỳ trước ({data.previous_from:%d/%m}–{data.previous_to:%d/%m/%Y})"
    cols = [Column("Chỉ tiêu", 62 * mm), Column("Kỳ này", 22 * mm, "right"),
            Column(previous, 36 * mm, "right")]
    if y - 70 * mm < MARGIN:
        y = new_page()
    top = y
    y = draw_table(canvas, MARGIN, y, cols, compare, size=SIZE, bottom=MARGIN, new_page=new_page)
    _charts(canvas, data, MARGIN + 130 * mm, top, width - 2 * MARGIN - 130 * mm)
    y = min(y, top - CHARTS_HEIGHT) - 5 * mm
    y = _adjustments(canvas, data, y, new_page)
    y = _corrections(canvas, data, y, new_page)
    if y - 16 * mm < MARGIN:
        y = new_page()
    draw_text(canvas, MARGIN + 40 * mm, y - 6 * mm, "NGƯỜI LẬP BIỂU", 9, bold=True,
              align="centre")
    draw_text(canvas, width - MARGIN - 50 * mm, y - 6 * mm, "THỦ TRƯỞNG ĐƠN VỊ", 9, bold=True,
              align="centre")
    draw_text(canvas, width - MARGIN - 50 * mm, y - 10 * mm, "(Ký, ghi rõ họ tên, đóng dấu)",
              7.5, align="centre")
    footer()
    return finish(canvas, buffer)


def _charts(canvas, data: ReportData, x: float, top: float, width: float) -> None:
    f = data.figures
    draw_text(canvas, x, top - 3 * mm, "Kết quả giải quyết", 8.5, bold=True)
    split = [Bar("Trước hạn", f["resolved_early"], tone="early"),
             Bar("Đúng hạn", f["resolved_on_time"], tone="on_time"),
             Bar("Quá hạn", f["resolved_late"], tone="late")]
    drawing = bars_drawing(split, width=width / 2 - 4 * mm)
    renderPDF.draw(drawing, canvas, x, top - 6 * mm - drawing.height)
    levels = f["satisfaction"]["levels"]
    draw_text(canvas, x + width / 2, top - 3 * mm, "Mức độ hài lòng", 8.5, bold=True)
    sat = [Bar(LABELS[f"rating_{n}"], levels[str(n)], tone=f"level{n}") for n in range(1, 6)]
    drawing = bars_drawing(sat, width=width / 2, label_width=80)
    renderPDF.draw(drawing, canvas, x + width / 2, top - 6 * mm - drawing.height)
    draw_text(canvas, x, top - 36 * mm, "Tỷ lệ trả kết quả tại nhà theo tuần (%)", 8.5, bold=True)
    weeks = [Bar(f"{w['start']:%d/%m}", round((w["home_delivery_rate"] or 0) * 100, 1),
                 tone="home") for w in data.weekly]
    drawing = columns_drawing(weeks, width=width, height=CHARTS_HEIGHT - 42 * mm, maximum=100)
    renderPDF.draw(drawing, canvas, x, top - 40 * mm - drawing.height)


def _corrections(canvas, data: ReportData, y: float, new_page) -> float:
    if not data.corrections:
        return y
    if y - 12 * mm < MARGIN:
        y = new_page()
    draw_text(canvas, MARGIN, y, f"Điều chỉnh số liệu ghi nhận trong kỳ ({len(data.corrections)}"
              "; kể cả với hồ sơ của kỳ khác; mọi số liệu đã tính theo giá trị sau điều chỉnh):",
              8.5, bold=True)
    y -= 2 * mm
    cols = [Column("Ghi nhận lúc", 24 * mm), Column("Hồ sơ", 42 * mm), Column("Trường", 32 * mm),
            Column("Giá trị cũ", 28 * mm), Column("Giá trị mới", 28 * mm),
            Column("Lý do", 76 * mm), Column("Người điều chỉnh", 37 * mm)]
    rows = [[local_time(c.at, "%H:%M %d/%m/%Y"), c.code,
             corrections.FIELD_NAMES.get(c.field, c.field), corrections.shown(c.field, c.old),
             corrections.shown(c.field, c.new), c.reason, c.author] for c in data.corrections]
    return draw_table(canvas, MARGIN, y, cols, rows, size=7.5, bottom=MARGIN,
                      new_page=new_page) - 4 * mm


def _adjustments(canvas, data: ReportData, y: float, new_page) -> float:
    if not data.adjustments:
        return y
    draw_text(canvas, MARGIN, y, "Điều chỉnh số liệu các tháng đã khoá (số liệu hiện tại trừ "
              "số đã báo cáo):", 8.5, bold=True)
    y -= 5 * mm
    for line in data.adjustments:
        text = "; ".join(f"{LABELS.get(k, k)}: {v:+d}" for k, v in line["changes"].items())
        for part in wrap(f"Tháng {line['month'][5:]}/{line['month'][:4]}: {text}",
                         PAGE[0] - 2 * MARGIN, 8):
            if y < MARGIN + 5 * mm:
                y = new_page()
            draw_text(canvas, MARGIN, y, part, 8)
            y -= 4 * mm
    return y
