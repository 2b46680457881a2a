"""Reading the papers back: poppler's text, fonts and pages, and zxing-cpp's barcodes."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The text poppler extracts from a PDF; pages are separated by form feeds."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + ["-", "-"]
    result = subprocess.run(args, input=pdf, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def pages_text(pdf: bytes) -> list[str]:
    return pdf_text(pdf).split("\f")[:-1]


def page_count(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    line = next(x for x in info.stdout.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def fonts(pdf: bytes) -> str:
    """pdffonts' table: name, type, encoding, embedded, subset, unicode map."""
    return subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def rasterise(pdf: bytes, dpi: int = 300) -> list:
    """Every page of the PDF as a greyscale PIL image, through poppler's pdftoppm."""
    from PIL import Image

    directory = Path(tempfile.mkdtemp(prefix="postal-doc-"))
    try:
        (directory / "in.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(directory / "in.pdf"),
                        str(directory / "page")], check=True)
        images = []
        for path in sorted(directory.glob("page*.png")):
            with Image.open(path) as image:
                images.append(image.copy())
        return images
    finally:
        shutil.rmtree(directory)


def decode(image) -> list[tuple[str, str]]:
    """("code128" | "qr" | other format name, text) of every barcode zxing-cpp finds."""
    import zxingcpp

    kinds = {zxingcpp.BarcodeFormat.Code128: "code128", zxingcpp.BarcodeFormat.QRCode: "qr"}
    return [(kinds.get(b.format, str(b.format)), b.text) for b in zxingcpp.read_barcodes(image)]


def scan(pdf: bytes, dpi: int = 300) -> list[dict[str, list[str]]]:
    """Per page: the sorted texts of the barcodes found, by kind."""
    pages = []
    for image in rasterise(pdf, dpi):
        found: dict[str, list[str]] = {}
        for kind, text in decode(image):
            found.setdefault(kind, []).append(text)
        pages.append({kind: sorted(texts) for kind, texts in found.items()})
    return pages
