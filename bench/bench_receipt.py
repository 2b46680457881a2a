"""Time the receipt against a floor: a bare reportlab page, same font, same text, one Code128."""

import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from factories import paper_dossier  # noqa: E402

from postal.documents.pdf import FONT, qr_modules, register_fonts  # noqa: E402
from postal.documents.receipt import render_receipt  # noqa: E402

RUNS = 60
# every receipt has its own token, so no QR code is ever reused from an earlier run
URL = "https://postal.example.vn/public/status?token={:032x}"


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def floor_page(lines, code):
    """Bare reportlab: the same text lines in the same font, one Code128, one A4 page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=FONT)
    canvas.setFont(FONT, 7)
    y = A4[1] - 10 * mm
    for line in lines:
        canvas.drawString(10 * mm, y, line)
        y -= 3.3 * mm
    Code128(code, barWidth=0.25 * mm, barHeight=12 * mm).drawOn(canvas, 120 * mm, 20 * mm)
    canvas.save()
    return buffer.getvalue()


def main():
    """Print one line: median receipt time, the floor's, their ratio, and the QR's share."""
    register_fonts()
    dossier = paper_dossier()
    pdf = render_receipt(dossier, page="A4", public_url=URL.format(0))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()
    lines = [line for line in text.splitlines() if line.strip()]
    floor_page(lines, dossier.code)
    receipt, floor, qr = [], [], []
    for i in range(1, RUNS + 1):  # interleaved, so a busy machine slows all three alike
        receipt.append(timed(lambda i=i: render_receipt(dossier, public_url=URL.format(i))))
        floor.append(timed(lambda: floor_page(lines, dossier.code)))
        # what the floor has no counterpart for: reportlab's pure-Python QR encoder
        qr.append(timed(lambda i=i: qr_modules(URL.format(10**6 + i))))
    receipt, floor, qr = (statistics.median(t) for t in (receipt, floor, qr))
    print(f"receipt A4 (2 copies): median {receipt * 1000:.1f} ms over {RUNS} runs "
          f"(floor bare reportlab page, same font, {len(lines)} text lines + 1 Code128: "
          f"{floor * 1000:.1f} ms; ratio {receipt / floor:.2f}x, goal <= 2x; of which QR "
          f"encoding {qr * 1000:.1f} ms, ratio without it {(receipt - qr) / floor:.2f}x)")


if __name__ == "__main__":
    main()
