"""Pieces shared by the administrative forms: heading, labelled fields, signatures, references."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from postal.core.codes import intake_ref
from postal.documents.pdf import (
    PAGE_SIZES,
    draw_code128,
    draw_fitted,
    draw_qr,
    draw_text,
    finish,
    local_time,
    mm,
    new_canvas,
    nfc,
    text_width,
    wrap,
)

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
LEADING = 1.3  # line height as a multiple of the font size
HEADER_SPLIT = 0.45  # share of the width for the issuing unit's block, left of the motto
LABEL_GAP = 2.5 * mm

OUTCOMES = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}


@dataclass(frozen=True)
class Field:
    """One labelled entry of a form; `value` may hold several lines separated by newlines."""

    label: str
    value: str
    bold: bool = False


def reference(dossier) -> tuple[str, str, bool]:
    """(label, value, has_barcode): the dossier code once accepted, else the intake record's
    number (TN…), which the counter scans to take the dossier up again."""
    if dossier.code:
        return "Mã hồ sơ", dossier.code, True
    if dossier.id is None:
        return "Số phiếu tiếp nhận", "—", False
    return "Số phiếu tiếp nhận", intake_ref(dossier.id), True


def numbered(entries) -> list[str]:
    """'1. Tờ khai', ...: checklist entries ({"id", "name", "required"} dicts, or strings)."""
    names = [e.get("name") or e.get("id", "") if isinstance(e, dict) else str(e)
             for e in entries or ()]
    return [f"{i}. {name}" for i, name in enumerate(names, 1)]


def folder_number(dossier) -> str | None:
    """The S10 number of the dossier's paper folder, if one was issued."""
    for item in dossier.items or ():
        if str(item.kind) == "folder":
            return item.number
    return None


def applicant_and_ward(applicant) -> str:
    """'Nguyễn Thị Hồng Nhung, Phường Thành Sen': who, and from which commune."""
    ward = applicant.ward.name if applicant.ward is not None else ""
    return f"{applicant.full_name}, {ward}" if ward else applicant.full_name


def agency_name(dossier) -> str:
    agency = dossier.agency or (dossier.procedure.agency if dossier.procedure else None)
    return agency.name if agency is not None else ""


def place_and_date(dossier, when) -> str:
    """'Hà Tĩnh, ngày 03 tháng 7 năm 2025', the date line of official letters."""
    unit = dossier.unit
    place = ""
    while unit is not None and not place:
        if str(unit.kind) == "province":
            place = unit.name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
        unit = unit.parent
    if when is None:
        return f"{place}, ngày ... tháng ... năm ......".lstrip(", ")
    day = local_time(when, "ngày %d tháng %m năm %Y")
    return f"{place}, {day}" if place else day.capitalize()


def draw_heading(canvas: Canvas, x: float, top: float, width: float, unit, size: float) -> float:
    """Issuing unit on the left, the national motto on the right; returns the y below them."""
    left_w = width * HEADER_SPLIT
    right_w = width - left_w
    lead = size * LEADING
    y = top - size
    parent = unit.parent.name.upper() if unit is not None and unit.parent is not None else ""
    name = unit.name.upper() if unit is not None else ""
    ly = y
    if parent:
        draw_fitted(canvas, x, ly, parent, left_w, size, align="centre")
        ly -= lead
    for line in wrap(name, left_w, size, bold=True)[:2]:
        draw_text(canvas, x + left_w / 2, ly, line, size, bold=True, align="centre")
        ly -= lead
    draw_fitted(canvas, x + left_w, y, NATION, right_w, size, bold=True, align="centre")
    draw_fitted(canvas, x + left_w, y - lead, MOTTO, right_w, size, bold=True, align="centre")
    half = text_width(MOTTO, size, bold=True) / 2
    mid = x + left_w + right_w / 2
    canvas.setLineWidth(0.6)
    canvas.line(mid - half, y - lead - 0.35 * size * LEADING, mid + half,
                y - lead - 0.35 * size * LEADING)
    return min(ly, y - 2 * lead) - 0.3 * lead


def draw_title(canvas: Canvas, x: float, y: float, width: float, title: str, size: float,
               subtitle: str = "") -> float:
    """The form's title centred in bold (wrapped if needed), then an optional subtitle."""
    for line in wrap(title, width, size, bold=True):
        y -= size * LEADING
        draw_text(canvas, x + width / 2, y, line, size, bold=True, align="centre")
    if subtitle:
        y -= size * 0.8 * LEADING
        draw_text(canvas, x + width / 2, y, subtitle, size * 0.8, align="centre")
    return y - size * 0.5


def layout_fields(fields: list[Field], width: float, size: float) -> tuple[float, list]:
    """Wrap fields with a hanging indent: (label width, [(label, line, bold, indented), ...])."""
    label_w = max((text_width(f.label + ":", size) for f in fields if f.label), default=0)
    label_w = min(label_w + LABEL_GAP, width * 0.4)
    lines = []
    for f in fields:
        if not f.label:
            lines.extend(("", line, f.bold, False) for line in wrap(f.value, width, size, f.bold))
            continue
        wrapped = wrap(f.value or "—", width - label_w, size, f.bold)
        lines.append((f.label + ":", wrapped[0], f.bold, True))
        lines.extend(("", line, f.bold, True) for line in wrapped[1:])
    return label_w, lines


def fields_height(fields: list[Field], width: float, size: float) -> float:
    return len(layout_fields(fields, width, size)[1]) * size * LEADING


def draw_fields(canvas: Canvas, x: float, y: float, width: float, fields: list[Field],
                size: float, *, bottom: float | None = None, new_page=None) -> float:
    """Draw the fields from y downwards; returns the y below the last line.

    With `bottom` and `new_page` (a callable returning the next page's top y), lines that
    would pass the bottom go on a new page.
    """
    label_w, lines = layout_fields(fields, width, size)
    for label, line, bold, indented in lines:
        if bottom is not None and y - size * LEADING < bottom:
            y = new_page()
        y -= size * LEADING
        if label:
            draw_text(canvas, x, y, label, size)
        draw_text(canvas, x + (label_w if indented else 0), y, line, size, bold=bold)
    return y


def best_size(fields: list[Field], width: float, height: float, sizes) -> float | None:
    """The largest font size at which the fields fit the height, or None."""
    for size in sizes:
        if fields_height(fields, width, size) <= height:
            return size
    return None


def draw_signatures(canvas: Canvas, x: float, top: float, width: float,
                    blocks: list[tuple[str, str] | None], size: float, space: float, *,
                    boxed: bool = False) -> float:
    """Signature blocks side by side, (title, printed name) each, framed when `boxed`;
    returns the y below them."""
    col = width / len(blocks)
    y = top - size * LEADING
    bottom = y - space - size * LEADING
    for i, block in enumerate(blocks):
        if block is None:  # an empty column, e.g. to put a single signature on the right
            continue
        title, name = block
        cx = x + col * (i + 0.5)
        if boxed:
            canvas.setLineWidth(0.5)
            canvas.rect(x + col * i, bottom, col, top - bottom + size * 0.4)
        draw_fitted(canvas, x + col * i, y, title, col - 2 * mm, size, bold=True, align="centre")
        draw_text(canvas, cx, y - size * LEADING, "(Ký và ghi rõ họ tên)", size * 0.85,
                  align="centre")
        if name:
            draw_fitted(canvas, x + col * i, y - space, nfc(name), col - 2 * mm, size,
                        bold=True, align="centre")
    return bottom


LETTER_MARGIN = 18 * mm
LETTER_HEADER_SIZE = 9
LETTER_TITLE_SIZE = 13
LETTER_SIZE = 10.5
LETTER_QR = 24 * mm
LETTER_BARCODE = (70 * mm, 13 * mm)
LETTER_SIGN_SPACE = 20 * mm


def render_letter(dossier, *, title: str, fields: list[Field],
                  signatures: list[tuple[str, str] | None], when=None,
                  public_url: str | None = None, page: str = "A4", issuer=None) -> bytes:
    """A one-dossier form: heading (the issuing unit, by default the receiving one), title,
    the dossier's barcode (and QR), fields, place and date, signatures."""
    width, height = PAGE_SIZES[page]
    x, w = LETTER_MARGIN, width - 2 * LETTER_MARGIN
    top, bottom = height - LETTER_MARGIN * 0.8, LETTER_MARGIN
    buffer = io.BytesIO()
    label, code, has_barcode = reference(dossier)
    canvas = new_canvas(buffer, page, title=f"{title.capitalize()} {code}")
    y = draw_heading(canvas, x, top, w, issuer or dossier.unit, LETTER_HEADER_SIZE)
    y = draw_title(canvas, x, y - 2 * mm, w, title, LETTER_TITLE_SIZE)
    body_w = w - (LETTER_QR + 4 * mm if public_url else 0)
    if public_url:
        draw_qr(canvas, public_url, x + w - LETTER_QR, y - LETTER_QR, LETTER_QR)
    if has_barcode:
        bar_w, bar_h = LETTER_BARCODE
        draw_code128(canvas, code, x, y - bar_h - 1 * mm, min(bar_w, body_w), bar_h)
        y -= bar_h + 2 * mm
    elif public_url:
        y -= 2 * mm

    def new_page() -> float:
        canvas.showPage()
        return top

    y = draw_fields(canvas, x, y, body_w, fields, LETTER_SIZE, bottom=bottom, new_page=new_page)
    sign_h = LETTER_SIGN_SPACE + 4 * LETTER_SIZE * LEADING
    if y - sign_h < bottom:
        y = new_page()
    y -= LETTER_SIZE * LEADING * 1.5
    draw_text(canvas, x + w * 0.75, y, place_and_date(dossier, when), LETTER_SIZE * 0.9,
              align="centre")
    draw_signatures(canvas, x, y - 1 * mm, w, signatures, LETTER_SIZE * 0.9, LETTER_SIGN_SPACE)
    return finish(canvas, buffer)
