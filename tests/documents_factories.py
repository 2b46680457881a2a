"""In-memory domain objects for the renderer tests and benchmarks (no database needed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postal.core.codes import make_s10
from postal.dossiers.lifecycle import State
from postal.models import (
    Applicant,
    Channel,
    Dossier,
    Item,
    ItemKind,
    Manifest,
    ManifestLine,
    OrgUnit,
    Procedure,
    ReturnMethod,
    Role,
    UnitKind,
    User,
)

NAME = "Nguyễn Thị Hồng Nhung"
WARD = "Phường Thành Sen"
RECEIVED = datetime(2025, 7, 3, 1, 15, tzinfo=UTC)  # 08:15 in Hà Nội time
DUE = datetime(2025, 7, 8, 10, 0, tzinfo=UTC)  # 17:00 local
DOCUMENTS = [
    {"id": "d1", "name": "Tờ khai cấp bản sao trích lục hộ tịch", "required": True},
    {"id": "d2", "name": "Giấy uỷ quyền (nếu nộp thay)", "required": False},
    {"id": "d3", "name": "Bản sao Căn cước công dân", "required": True},
]


def units() -> dict[str, OrgUnit]:
    province = OrgUnit(id=1, code="42", name="Tỉnh Hà Tĩnh", kind=UnitKind.PROVINCE, path="/42/")
    ward = OrgUnit(id=2, code="18304", name=WARD, kind=UnitKind.COMMUNE, parent=province,
                   path="/42/18304/")
    centre = OrgUnit(id=3, code="TTHCC", name="Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh",
                     kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26",
                     path="/42/TTHCC/")
    agency = OrgUnit(id=4, code="STP", name="Sở Tư pháp tỉnh Hà Tĩnh", kind=UnitKind.AGENCY,
                     parent=province, path="/42/STP/")
    return {"province": province, "ward": ward, "centre": centre, "agency": agency}


def make_dossier(*, seq: int = 1, name: str = NAME, accepted: bool = True,
                 return_method: ReturnMethod = ReturnMethod.HOME, documents=None,
                 serial: int | None = None, unit_map: dict | None = None) -> Dossier:
    """An accepted (or not) dossier with applicant, clerk, procedure and a folder item."""
    u = unit_map or units()
    applicant = Applicant(full_name=name, id_number="042190001234", phone="0912345678",
                          street="Số 12 đường Hà Huy Tập", ward=u["ward"])
    procedure = Procedure(code="1.001234", name="Cấp bản sao trích lục hộ tịch",
                          agency=u["agency"], processing_days=3, fee=8000)
    clerk = User(username="clerk1", full_name="Trần Văn An", role=Role.CLERK)
    dossier = Dossier(
        id=1000 + seq, token=f"tok{seq:05d}", unit=u["centre"], agency=u["agency"],
        procedure=procedure, applicant=applicant, clerk=clerk, channel=Channel.COUNTER,
        state=State.ACCEPTED if accepted else State.INCOMPLETE, return_method=return_method,
        delivery_street="Số 12 đường Hà Huy Tập", delivery_ward=u["ward"],
        documents=DOCUMENTS if documents is None else documents, missing_documents=[],
        fee=8000, postal_fee=25000, cod_amount=33000, created_at=RECEIVED,
        code=f"000.00.42.H26-250703-{seq:04d}" if accepted else None,
        received_at=RECEIVED if accepted else None, due_at=DUE if accepted else None,
    )
    if accepted:
        Item(number=make_s10("RR", serial if serial is not None else 12_340_000 + seq),
             kind=ItemKind.FOLDER, dossier=dossier)
    return dossier


def make_manifest(count: int = 3) -> Manifest:
    """A handover manifest from the centre to the agency holding `count` folders."""
    u = units()
    manifest = Manifest(code="BK-000.00.42.H26-250703-001", from_unit=u["centre"],
                        to_unit=u["agency"], created_at=RECEIVED + timedelta(hours=2),
                        created_by=User(username="clerk1", full_name="Trần Văn An",
                                        role=Role.CLERK))
    for seq in range(1, count + 1):
        dossier = make_dossier(seq=seq, unit_map=u)
        ManifestLine(manifest=manifest, item=dossier.items[0])
    return manifest


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
