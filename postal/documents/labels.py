"""Delivery labels: one PDF for a whole run (layouts from labels/*.toml), or ZPL II."""

from __future__ import annotations

import io
from dataclasses import dataclass

from postal.documents.forms import folder_number
from postal.documents.layouts import (
    FIELDS,
    Box,
    Layout,
    available_layouts,
    load_layout,
)
from postal.documents.pdf import (
    QUIET_MODULES,
    code128_modules,
    draw_code128,
    draw_text,
    finish,
    mm,
    money,
    new_canvas,
    nfc,
    text_width,
    wrap,
)

__all__ = ["FIELDS", "Box", "LabelData", "Layout", "available_layouts", "label_from_dossier",
           "load_layout", "render_labels", "render_zpl", "run_labels"]

MIN_SIZE = 5.5  # pt: smallest text a courier can still read on the doorstep
CAPTION_SCALE = 0.8
# Wider bars than on office papers: couriers scan labels with phone cameras at arm's length
# (GS1 logistic labels use modules of 0.495 mm and more).
BAR_MODULE = 0.5 * mm
LINE = 1.2  # leading as a multiple of the font size
NO_COD = "Không thu tiền"
ZPL_PT = 25.4 / 72  # mm per typographic point


@dataclass(frozen=True)
class LabelData:
    """What one label says."""

    item_number: str
    sender: str
    recipient_name: str
    phone: str
    address: str
    dossier_code: str
    cod_amount: int = 0


def run_labels(run) -> list[LabelData]:
    """A delivery run's labels, one per stop in visiting order."""
    return [label_from_dossier(stop.dossier) for stop in run.stops]


def label_from_dossier(dossier, item=None) -> LabelData:
    """The home-delivery label of a dossier's item (by default its result, else its folder)."""
    number = item.number if item is not None else _result_number(dossier)
    unit = dossier.unit
    sender = unit.name if unit is not None else ""
    if unit is not None and unit.address:
        sender += f"\n{unit.address}"
    applicant = dossier.applicant
    return LabelData(
        item_number=number, sender=sender, recipient_name=applicant.full_name,
        phone=applicant.phone or "", address=dossier.delivery_address or applicant.address,
        dossier_code=dossier.code or str(dossier.id), cod_amount=dossier.cod_amount or 0,
    )


def _result_number(dossier) -> str:
    for item in dossier.items or ():
        if str(item.kind) == "result":
            return item.number
    number = folder_number(dossier)
    if number is None:
        raise ValueError(f"dossier {dossier.code or dossier.id} has no item to label")
    return number


def field_text(label: LabelData, field: str) -> str:
    """A field's value as printed (the barcode's is the item number)."""
    if field == "barcode":
        return label.item_number
    if field == "cod_amount":
        return money(label.cod_amount) if label.cod_amount else NO_COD
    return nfc(getattr(label, field))


def _fit(text: str, box: Box, height: float) -> tuple[float, list[str]]:
    """The largest size (down to MIN_SIZE) at which the text fits the box, and its lines."""
    width, size = box.w * mm, box.font_size
    while True:
        lines = wrap(text, width, size, box.bold)
        room = max(1, int((height + 0.2 * size) // (size * LINE)))
        if len(lines) <= room or size <= MIN_SIZE:
            break
        size = max(MIN_SIZE, size - 0.5)
    if len(lines) > room:
        lines = lines[:room]
        last = lines[-1]
        while text_width(last + "…", size, box.bold) > width and last:
            last = last[:-1]
        lines[-1] = last + "…"
    return size, lines


def _draw_label(canvas, layout: Layout, label: LabelData, left: float, top: float) -> None:
    """One label whose top-left corner is at (left, top) in points from the page's bottom-left."""
    if layout.frame:
        canvas.setLineWidth(0.3)
        canvas.rect(left, top - layout.label[1] * mm, layout.label[0] * mm, layout.label[1] * mm)
    canvas.setLineWidth(0.6)
    for x1, y1, x2, y2 in layout.rules:
        canvas.line(left + x1 * mm, top - y1 * mm, left + x2 * mm, top - y2 * mm)
    for field, box in layout.fields.items():
        x, y, h = left + box.x * mm, top - box.y * mm, box.h * mm
        if field == "barcode":
            draw_code128(canvas, label.item_number, x, y - h, box.w * mm, h,
                         text_size=box.font_size, max_module=BAR_MODULE)
            continue
        if box.caption:
            cap = box.font_size * CAPTION_SCALE
            y -= cap
            draw_text(canvas, x, y, box.caption, cap)
            h -= cap * LINE
        size, lines = _fit(box.prefix + field_text(label, field), box, h)
        for line in lines:
            y -= size
            draw_text(canvas, x, y, line, size, bold=box.bold)
            y -= size * (LINE - 1)


def render_labels(labels: list[LabelData], layout: Layout | str) -> bytes:
    """All labels of a run in one PDF, filling each sheet's grid row by row; `layout` is a
    Layout or the name of one (ValueError if unknown or malformed)."""
    if isinstance(layout, str):
        layout = load_layout(layout)
    buffer = io.BytesIO()
    page_w, page_h = layout.page[0] * mm, layout.page[1] * mm
    canvas = new_canvas(buffer, (page_w, page_h), title=f"Nhãn giao hàng ({layout.name})")
    if not labels:
        draw_text(canvas, page_w / 2, page_h / 2, "Không có nhãn nào để in.", 10, align="centre")
    for i, label in enumerate(labels):
        slot = i % layout.per_page
        if slot == 0 and i:
            canvas.showPage()
        left, top = layout.origin(slot)
        _draw_label(canvas, layout, label, left * mm, page_h - top * mm)
    return finish(canvas, buffer)


def _zpl_text(text: str) -> str:
    """Field data for ^FH_: ZPL's command and escape characters as _XX hex, newlines as ^FB
    line breaks (\\&)."""
    escaped = "".join(f"_{ord(c):02X}" if c in "^~_\\" else c for c in nfc(text))
    return escaped.replace("\n", "\\&")


def _zpl_box(field: str, box: Box, label: LabelData, dots) -> list[str]:
    x, y, w, h = dots(box.x), dots(box.y), dots(box.w), dots(box.h)
    size = max(10, dots(box.font_size * ZPL_PT))
    if field == "barcode":
        # the printer may keep to code set B (11 modules a character, 35 for start, check
        # and stop), wider than python-barcode's mix of sets: size for the wider one
        number = label.item_number
        bars = max(len(code128_modules(number)), 11 * len(number) + 35)
        module = max(1, min(10, w // (bars + 2 * QUIET_MODULES)))
        text_h = size + dots(1)
        left = x + (w - bars * module) // 2
        return [f"^FO{left},{y}^BY{module}^BCN,{max(h - text_h, 20)},Y,N,N^FD{number}^FS"]
    out = []
    if box.caption:
        cap = max(10, round(size * CAPTION_SCALE))
        out.append(f"^FO{x},{y}^A0N,{cap},{cap}^FH_^FD{_zpl_text(box.caption)}^FS")
        y, h = y + round(cap * LINE), h - round(cap * LINE)
    lines = max(1, int(h // (size * LINE)))
    spacing = round(size * (LINE - 1))
    text = _zpl_text(box.prefix + field_text(label, field))
    out.append(f"^FO{x},{y}^A0N,{size},{size}^FB{w},{lines},{spacing},L,0^FH_^FD{text}^FS")
    return out


def zpl_label(label: LabelData, layout: Layout) -> str:
    """One ^XA…^XZ label format: UTF-8 text (^CI28), the S10 number as ^BC Code128."""

    def dots(value_mm: float) -> int:
        return round(value_mm * layout.dpmm)

    w, h = dots(layout.label[0]), dots(layout.label[1])
    out = ["^XA", "^CI28", f"^PW{w}", f"^LL{h}", "^LH0,0"]
    if layout.frame:
        out.append(f"^FO0,0^GB{w},{h},2^FS")
    for x1, y1, x2, y2 in layout.rules:
        thick = 3
        out.append(f"^FO{dots(min(x1, x2))},{dots(min(y1, y2))}"
                   f"^GB{max(dots(abs(x2 - x1)), thick)},{max(dots(abs(y2 - y1)), thick)},"
                   f"{thick}^FS")
    for field, box in layout.fields.items():
        out.extend(_zpl_box(field, box, label, dots))
    out.append("^XZ")
    return "\n".join(out) + "\n"


def render_zpl(labels: list[LabelData], layout: Layout | str) -> str:
    """ZPL II for a thermal printer: one label format per label, in order."""
    if isinstance(layout, str):
        layout = load_layout(layout)
    return "".join(zpl_label(label, layout) for label in labels)
