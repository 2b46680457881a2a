"""Time 1,000 delivery labels in one PDF against a floor: bare reportlab drawing 1,000 Code128."""

import io
import statistics
import sys
import time
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from factories import paper_dossier, units  # noqa: E402

from postal.documents.labels import label_from_dossier, load_layout, render_labels  # noqa: E402

LABELS = 1000
RUNS = 3
LAYOUT = "a6-4up"


def median_time(func, runs=RUNS):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def floor_pdf(numbers):
    """Bare reportlab: the same numbers as reportlab Code128 widgets, four to an A4 page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    for i, number in enumerate(numbers):
        if i and i % 4 == 0:
            canvas.showPage()
        col, row = i % 2, (i // 2) % 2
        Code128(number, barWidth=0.33 * mm, barHeight=28 * mm).drawOn(
            canvas, 15 * mm + col * 105 * mm, 180 * mm - row * 148.5 * mm)
    canvas.save()
    return buffer.getvalue()


def main():
    """Print one line: labels time, floor time, ratio, pages and size."""
    unit_map = units()
    labels = [label_from_dossier(paper_dossier(seq=i, serial=i, unit_map=unit_map))
              for i in range(1, LABELS + 1)]
    layout = load_layout(LAYOUT)
    render_labels(labels[:4], layout)  # fonts registered, caches warm
    pdf = render_labels(labels, layout)
    took = median_time(lambda: render_labels(labels, layout))
    floor = median_time(lambda: floor_pdf([label.item_number for label in labels]))
    print(f"labels: {LABELS} on {LAYOUT} in one PDF ({len(pdf) / 1e6:.1f} MB): median "
          f"{took:.2f} s of {RUNS} (goal < 5 s; floor bare reportlab {LABELS} Code128 "
          f"{floor:.2f} s, ratio {took / floor:.1f}x)")


if __name__ == "__main__":
    main()
