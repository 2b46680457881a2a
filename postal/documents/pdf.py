"""The shared PDF toolkit: bundled Vietnamese font, page sizes, text, barcodes, money and time."""

from __future__ import annotations

import io
import unicodedata
from functools import cache, lru_cache
from itertools import groupby
from pathlib import Path

import barcode
import segno
from reportlab.lib.pagesizes import A4, A5, A6
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from postal.core.text import money
from postal.core.time import local

__all__ = [
    "FONT", "FONT_BOLD", "PAGE_SIZES", "code128_modules", "code128_width", "draw_code128",
    "draw_fitted", "draw_qr", "draw_text", "finish", "local", "local_time", "mm", "money",
    "new_canvas", "nfc", "text_width", "wrap",
]

# DejaVu Sans (Bitstream Vera licence, see fonts/LICENSE-DejaVu.txt) has every precomposed
# Vietnamese letter, so NFC text maps one character to one glyph and extracts back unchanged.
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}

PAGE_SIZES = {"A4": A4, "A5": A5, "A6": A6}

# Code128 (ISO/IEC 15417): a quiet zone of at least 10 modules each side; narrow bars below
# about 0.19 mm are not reliably printed by office lasers nor read by counter scanners.
QUIET_MODULES = 10
MIN_MODULE = 0.19 * mm
MAX_MODULE = 0.33 * mm
BAR_TEXT_GAP = 0.8 * mm
QR_QUIET = 4  # modules of light margin round a QR code (ISO/IEC 18004)
DATE_TIME = "%H giờ %M phút, ngày %d/%m/%Y"  # the official forms' wording


@cache
def register_fonts() -> None:
    """Register the bundled font family once per process."""
    for name, filename in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def new_canvas(buffer: io.BytesIO, pagesize: str | tuple[float, float], *, title: str) -> Canvas:
    """A canvas on `buffer` with the bundled font; invariant, so equal input gives equal bytes."""
    register_fonts()
    size = PAGE_SIZES[pagesize] if isinstance(pagesize, str) else pagesize
    canvas = Canvas(buffer, pagesize=size, invariant=1, initialFontName=FONT)
    canvas.setTitle(nfc(title))
    canvas.setAuthor("Bưu điện — Bộ phận Một cửa")
    canvas.setCreator("postal")
    return canvas


def finish(canvas: Canvas, buffer: io.BytesIO) -> bytes:
    """Close the last page and return the document."""
    canvas.save()
    return buffer.getvalue()


def local_time(value, fmt: str = DATE_TIME) -> str:
    """A stored UTC moment in Vietnamese local time; '' when absent."""
    return local(value, fmt)


def nfc(text: object) -> str:
    """Text as NFC, None as ''; the font has glyphs for composed letters only."""
    return "" if text is None else unicodedata.normalize("NFC", str(text))


def font_name(bold: bool) -> str:
    """The registered font's name (registering it on first use)."""
    register_fonts()
    return FONT_BOLD if bold else FONT


def text_width(text: str, size: float, bold: bool = False) -> float:
    return pdfmetrics.stringWidth(nfc(text), font_name(bold), size)


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """Lines of at most `width`, broken at spaces; a word longer than a line is cut."""
    font = font_name(bold)
    lines: list[str] = []
    for paragraph in nfc(text).split("\n"):
        for line in simpleSplit(paragraph, font, size, width) or [""]:
            while pdfmetrics.stringWidth(line, font, size) > width and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and pdfmetrics.stringWidth(line[:cut], font, size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
            lines.append(line)
    return lines


def draw_text(canvas: Canvas, x: float, y: float, text: str, size: float, *,
              bold: bool = False, align: str = "left") -> None:
    """One line of text at baseline y; align left, centre (x is the middle) or right."""
    canvas.setFont(font_name(bold), size)
    text = nfc(text)
    if align == "centre":
        canvas.drawCentredString(x, y, text)
    elif align == "right":
        canvas.drawRightString(x, y, text)
    else:
        canvas.drawString(x, y, text)


def draw_fitted(canvas: Canvas, x: float, y: float, text: str, width: float, size: float, *,
                bold: bool = False, align: str = "left", min_size: float = 5) -> None:
    """One line within `width`: shrink down to min_size, then cut with an ellipsis."""
    text = nfc(text)
    fitted = 0.995 * size * width / max(text_width(text, size, bold), 1e-6)  # float slack
    size = max(min(size, fitted), min_size)
    while text_width(text, size, bold) > width and len(text) > 1:
        text = text[:-2] + "…"
    if align == "centre":
        x += width / 2
    elif align == "right":
        x += width
    draw_text(canvas, x, y, text, size, bold=bold, align=align)


@lru_cache(maxsize=4096)
def code128_modules(text: str) -> str:
    """The Code128 module sequence ('1' bar, '0' space) python-barcode builds for `text`."""
    if not text or not text.isascii() or not text.isprintable():
        raise ValueError(f"Code128 here carries printable ASCII only, got {text!r}")
    return barcode.get_barcode_class("code128")(text).build()[0]


def code128_width(text: str, module: float = MIN_MODULE) -> float:
    """Width of the symbol with its quiet zones at a given module width."""
    return (len(code128_modules(text)) + 2 * QUIET_MODULES) * module


@lru_cache(maxsize=4096)
def _code128_bars(text: str) -> str:
    """PDF rectangles of the bars, in module units (x) on a bar height of 1 (y)."""
    rects, start = [], None
    for i, bit in enumerate(code128_modules(text) + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit == "0" and start is not None:
            rects.append(f"{start} 0 {i - start} 1 re")
            start = None
    return "\n".join(rects)


def _fill(canvas: Canvas, rects: str, x: float, y: float, sx: float, sy: float) -> None:
    """Fill black rectangles given in unit coordinates, scaled by (sx, sy) and placed at (x, y).

    One path of small integers under a transform: compact, exact and fast to write.
    """
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.transform(sx, 0, 0, sy, x, y)
    canvas.addLiteral(rects + " f")
    canvas.restoreState()


def draw_code128(canvas: Canvas, text: str, x: float, y: float, width: float, height: float, *,
                 text_size: float = 8, human_readable: bool = True,
                 max_module: float = MAX_MODULE) -> float:
    """Draw `text` as Code128 vector bars centred in the box (x, y, width, height), the
    human-readable line below the bars; returns the module width used.

    ValueError when the box is too narrow for MIN_MODULE bars with their quiet zones.
    """
    count = len(code128_modules(text))
    module = min(max_module, width / (count + 2 * QUIET_MODULES))
    if module < MIN_MODULE:
        raise ValueError(f"{width / mm:.1f} mm is too narrow for the Code128 of {text!r}")
    bars_y = y + (text_size + BAR_TEXT_GAP if human_readable else 0)
    bars_h = height - (bars_y - y)
    if bars_h < 4 * mm:
        raise ValueError(f"{height / mm:.1f} mm is too low for a Code128 with its text")
    _fill(canvas, _code128_bars(text), x + (width - count * module) / 2, bars_y, module, bars_h)
    if human_readable:
        draw_text(canvas, x + width / 2, y + 0.15 * text_size, text, text_size, align="centre")
    return module


# The receipt's QR code is printed while a queue waits: segno encodes it, with one fixed mask
# instead of scoring all eight (most of the encoding time). Every mask is valid QR (decoders
# read the mask from the format bits); tests/test_documents.py decodes printed receipts at
# 200 dpi with zxing-cpp and zbar.
QR_MASK = 1


@lru_cache(maxsize=64)
def qr_modules(data: str) -> tuple[int, str]:
    """(side in modules with the quiet zone, PDF rectangles of the dark modules in module
    units) of the QR code for `data`, level M."""
    matrix = segno.make(nfc(data), error="m", micro=False, boost_error=False,
                        mask=QR_MASK).matrix
    count = len(matrix)
    rects = []
    for r, row in enumerate(matrix):
        c, y = 0, count + QR_QUIET - r - 1  # rows run downwards, PDF y upwards
        for dark, group in groupby(row):
            n = len(list(group))
            if dark:
                rects.append(f"{QR_QUIET + c} {y} {n} 1 re")
            c += n
    return count + 2 * QR_QUIET, "\n".join(rects)


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """A QR code with its 4-module quiet zone in a size × size square, as vectors
    (renderPDF would also put an unembedded Helvetica into the document)."""
    side, rects = qr_modules(data)
    _fill(canvas, rects, x, y, size / side, size / side)


class NumberedPages:
    """Page breaks for a flowing document: each page is footed "label — trang N" (or
    "Trang N" without a label), 6 mm below `bottom`."""

    def __init__(self, canvas, *, right: float, bottom: float, top: float, label: str = ""):
        self.canvas, self.right, self.bottom, self.top, self.label = (
            canvas, right, bottom, top, label)
        self.number = 1

    def footer(self) -> None:
        text = f"{self.label} — trang {self.number}" if self.label else f"Trang {self.number}"
        draw_text(self.canvas, self.right, self.bottom - 6 * mm, text, 7, align="right")

    def new_page(self) -> float:
        """Foot this page, start the next; returns the y where its content starts."""
        self.footer()
        self.canvas.showPage()
        self.number += 1
        return self.top
