"""Ruled tables that flow over pages, repeating their header: manifests and control sheets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from postal.documents.pdf import (
    MIN_MODULE,
    code128_width,
    draw_code128,
    draw_text,
    mm,
    text_width,
    wrap,
)

PAD = 1.4 * mm
LEADING = 1.25
HEADER_GREY = 0.9
RULE = 0.5


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # points
    align: str = "left"


@dataclass(frozen=True)
class BarcodeCell:
    """A cell holding a Code128 with its text, or just the text when the column is too narrow."""

    text: str
    bar_height: float = 7 * mm

    def fits(self, width: float) -> bool:
        return code128_width(self.text, MIN_MODULE) <= width - 2 * PAD

    def height(self, width: float, size: float) -> float:
        text_h = size * LEADING + 2 * PAD
        return text_h + self.bar_height if self.fits(width) else text_h

    def draw(self, canvas: Canvas, x: float, top: float, width: float, size: float) -> None:
        if self.fits(width):
            h = self.bar_height + size * 1.1
            draw_code128(canvas, self.text, x + PAD, top - PAD - h, width - 2 * PAD, h,
                         text_size=size)
        else:
            draw_text(canvas, x + PAD, top - PAD - size, self.text, size)


@dataclass(frozen=True)
class Unbroken:
    """Text that must never wrap (a dossier code): one line, its size reduced to fit."""

    text: str

    def height(self, width: float, size: float) -> float:
        return size * LEADING + 2 * PAD - size * 0.25

    def draw(self, canvas: Canvas, x: float, top: float, width: float, size: float) -> None:
        fitted = min(size, size * (width - 2 * PAD) / max(text_width(self.text, size), 1e-6))
        draw_text(canvas, x + PAD, top - PAD - size * 0.95, self.text, fitted * 0.995)


Cell = str | BarcodeCell | Unbroken


def _lines(cell: Cell, width: float, size: float, bold: bool = False) -> list[str]:
    return wrap(cell, width - 2 * PAD, size, bold)


def _height(cell: Cell, width: float, size: float, bold: bool = False) -> float:
    if isinstance(cell, BarcodeCell | Unbroken):
        return cell.height(width, size)
    return len(_lines(cell, width, size, bold)) * size * LEADING + 2 * PAD - size * 0.25


def _draw_row(canvas: Canvas, x: float, top: float, columns: Sequence[Column],
              cells: Sequence[Cell], size: float, *, header: bool = False) -> float:
    height = max(_height(c, col.width, size, header) for c, col in zip(cells, columns, strict=True))
    canvas.setLineWidth(RULE)
    left = x
    for cell, col in zip(cells, columns, strict=True):
        if header:
            canvas.setFillGray(HEADER_GREY)
            canvas.rect(left, top - height, col.width, height, stroke=1, fill=1)
            canvas.setFillGray(0)
        else:
            canvas.rect(left, top - height, col.width, height, stroke=1, fill=0)
        if isinstance(cell, BarcodeCell | Unbroken):
            cell.draw(canvas, left, top, col.width, size)
        else:
            y = top - PAD - size * 0.95
            align = "centre" if header else col.align
            anchor = {"centre": left + col.width / 2, "right": left + col.width - PAD}.get(
                align, left + PAD)
            for line in _lines(cell, col.width, size, header):
                draw_text(canvas, anchor, y, line, size, bold=header, align=align)
                y -= size * LEADING
        left += col.width
    return top - height


def draw_table(canvas: Canvas, x: float, top: float, columns: Sequence[Column],
               rows: Sequence[Sequence[Cell]], *, size: float, bottom: float,
               new_page: Callable[[], float]) -> float:
    """Draw the header and rows from `top` down, starting a new page (and repeating the
    header) when a row would pass `bottom`; returns the y below the last row."""
    titles = [c.title for c in columns]
    header_h = max(_height(t, c.width, size, True) for t, c in zip(titles, columns, strict=True))
    heights = [max(_height(c, col.width, size) for c, col in zip(cells, columns, strict=True))
               for cells in rows]
    if heights and top - header_h - heights[0] < bottom:  # never a header alone on a page
        top = new_page()
    y = _draw_row(canvas, x, top, columns, titles, size, header=True)
    for cells, h in zip(rows, heights, strict=True):
        if y - h < bottom:
            y = _draw_row(canvas, x, new_page(), columns, titles, size, header=True)
        y = _draw_row(canvas, x, y, columns, cells, size)
    return y
