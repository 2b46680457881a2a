"""Charts drawn on the server: SVG for the pages (no script, nothing fetched) and reportlab
drawings for the PDF report, from the same small data classes."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors

from postal.documents.pdf import FONT, nfc, register_fonts

# one palette for the page (CSS classes in office.css) and the PDF
COLOURS = {"early": "#137333", "on_time": "#0a5cad", "late": "#b3261e", "home": "#0a5cad",
           "neutral": "#5b6677", "level1": "#b3261e", "level2": "#e37400", "level3": "#9aa0a6",
           "level4": "#34a853", "level5": "#137333"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str | None = None
    tone: str = "neutral"
    text: str | None = None  # shown beside the bar; the value when absent


def _link(svg: str, href: str | None) -> str:
    return f"<a href={quoteattr(href)}>{svg}</a>" if href else svg


def _fmt(bar: Bar) -> str:
    return bar.text if bar.text is not None else f"{bar.value:g}"


def bars_svg(bars: list[Bar], *, title: str, width: int = 460, row: int = 24,
             label_width: int = 170) -> str:
    """Horizontal bars, one a row, each a link to the dossiers behind it."""
    top = max((b.value for b in bars), default=0) or 1
    plot = width - label_width - 60
    height = row * max(len(bars), 1) + 8
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
             f"<title>{escape(title)}</title>"]
    for i, bar in enumerate(bars):
        y = 4 + i * row
        w = max(plot * bar.value / top, 1 if bar.value else 0)
        parts.append(_link(
            f'<g class="bar tone-{bar.tone}"><text x="{label_width - 6}" y="{y + row * .62:.1f}" '
            f'text-anchor="end" class="label">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{COLOURS.get(bar.tone, COLOURS["neutral"])}"/>'
            f'<text x="{label_width + w + 4:.1f}" y="{y + row * .62:.1f}" class="value">'
            f"{escape(_fmt(bar))}</text></g>", bar.href))
    if not bars:
        parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle" class="label">—</text>')
    parts.append("</svg>")
    return "".join(parts)


def split_svg(parts_: list[Bar], *, title: str, width: int = 460, height: int = 56) -> str:
    """One bar split into its parts (early / on time / late), with a legend underneath."""
    total = sum(b.value for b in parts_) or 1
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    x = 0.0
    for bar in parts_:
        w = width * bar.value / total
        out.append(_link(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="24" '
                         f'fill="{COLOURS.get(bar.tone, COLOURS["neutral"])}"/>', bar.href))
        x += w
    step = width / max(len(parts_), 1)
    for i, bar in enumerate(parts_):
        lx = i * step
        out.append(_link(
            f'<g><rect x="{lx:.1f}" y="34" width="12" height="12" '
            f'fill="{COLOURS.get(bar.tone, COLOURS["neutral"])}"/>'
            f'<text x="{lx + 16:.1f}" y="45" class="label">{escape(bar.label)}: '
            f"{escape(_fmt(bar))}</text></g>", bar.href))
    out.append("</svg>")
    return "".join(out)


def columns_svg(bars: list[Bar], *, title: str, width: int = 560, height: int = 190,
                maximum: float | None = None) -> str:
    """Vertical columns over time (a rate per week or month); empty periods show a gap."""
    top = maximum or max((b.value for b in bars), default=0) or 1
    base, plot_h = height - 34, height - 52
    step = width / max(len(bars), 1)
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
           f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#d8dee8"/>']
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / top
        x = i * step + step * 0.15
        out.append(_link(
            f'<g class="bar tone-{bar.tone}"><rect x="{x:.1f}" y="{base - h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{COLOURS.get(bar.tone, COLOURS["neutral"])}"/>'
            f'<text x="{x + step * 0.35:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" '
            f'class="value">{escape(_fmt(bar))}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{height - 18}" text-anchor="middle" '
            f'class="label">{escape(bar.label)}</text></g>', bar.href))
    out.append("</svg>")
    return "".join(out)


# -- reportlab drawings for the PDF -------------------------------------------------------

def _colour(tone: str):
    return colors.HexColor(COLOURS.get(tone, COLOURS["neutral"]))


def bars_drawing(bars: list[Bar], *, width: float, row: float = 14, label_width: float = 120,
                 size: float = 7) -> Drawing:
    register_fonts()
    top = max((b.value for b in bars), default=0) or 1
    plot = width - label_width - 40
    height = row * max(len(bars), 1) + 4
    d = Drawing(width, height)
    for i, bar in enumerate(bars):
        y = height - (i + 1) * row
        w = plot * bar.value / top
        d.add(String(label_width - 4, y + row * 0.3, nfc(bar.label)[:40], fontName=FONT,
                     fontSize=size, textAnchor="end"))
        if w > 0:
            d.add(Rect(label_width, y + 2, w, row - 5, fillColor=_colour(bar.tone),
                       strokeColor=None))
        d.add(String(label_width + w + 3, y + row * 0.3, nfc(_fmt(bar)), fontName=FONT,
                     fontSize=size))
    return d


def columns_drawing(bars: list[Bar], *, width: float, height: float = 110,
                    maximum: float | None = None, size: float = 6.5) -> Drawing:
    register_fonts()
    top = maximum or max((b.value for b in bars), default=0) or 1
    base, plot_h = 16, height - 30
    step = width / max(len(bars), 1)
    d = Drawing(width, height)
    d.add(Line(0, base, width, base, strokeColor=colors.HexColor("#d8dee8")))
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / top
        x = i * step + step * 0.15
        if h > 0:
            d.add(Rect(x, base, step * 0.7, h, fillColor=_colour(bar.tone), strokeColor=None))
        d.add(String(x + step * 0.35, base + h + 3, nfc(_fmt(bar)), fontName=FONT,
                     fontSize=size, textAnchor="middle"))
        d.add(String(x + step * 0.35, 5, nfc(bar.label), fontName=FONT, fontSize=size,
                     textAnchor="middle"))
    return d
