"""XLSX uploads that unpack to far more than they weigh are refused before they are unpacked,
and reading any file under the limits stays within bounded memory (issue 12, item 9)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from postal.core.errors import ValidationFailed
from postal.reporting import xlsx
from postal.reporting.import_format import COLUMNS, ImportFailed, check_file, read_rows
from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parent.parent
MAX_PEAK_MB = 300
BOMB_BYTES = 448 * 1024 * 1024  # one cell of 448 MB, about 450 KB zipped
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
        'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
        f'{TYPES}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{TYPES}.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
        f'ContentType="{TYPES}.sharedStrings+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target='
        '"worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.'
        'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>'),
}


def write_xlsx(path: Path, strings: list[str], rows: list[list[int | None]], *,
               strings_xml=None, sheet_xml: str | None = None, method=zipfile.ZIP_DEFLATED,
               extra: dict[str, bytes] | None = None) -> Path:
    """An XLSX written by hand, as Excel does: cells that index a shared-strings table.
    `strings_xml` may be an iterable of byte pieces, to stream a part of any size."""
    if strings_xml is None:
        strings_xml = [f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()]
        strings_xml += [f"<si><t>{s}</t></si>".encode() for s in strings] + [b"</sst>"]
    if sheet_xml is None:
        cells = "".join(
            f'<row r="{r}">' + "".join(f'<c r="{chr(65 + c)}{r}" t="s"><v>{i}</v></c>'
                                       for c, i in enumerate(row) if i is not None) + "</row>"
            for r, row in enumerate(rows, 1))
        sheet_xml = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
                     f"<sheetData>{cells}</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", method, compresslevel=9) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            for piece in strings_xml:
                part.write(piece)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def _header_and(values: list[str]) -> tuple[list[str], list[list[int | None]]]:
    strings = list(COLUMNS) + values
    return strings, [list(range(len(COLUMNS))),
                     [len(COLUMNS) + i for i in range(len(values))]]


def _one_huge_cell(size: int):
    yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}"><si><t>'.encode()
    piece = b"a" * (16 * 1024 * 1024)
    for _ in range(size // len(piece)):
        yield piece
    yield b"</t></si></sst>"


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """The issue's file, smaller: a zip of under 500 KB holding one 448 MB cell (under 500 KB,
    the test client keeps the upload in memory instead of a temporary file it leaves open)."""
    strings, rows = _header_and([])
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    write_xlsx(path, strings, rows + [[0]], strings_xml=_one_huge_cell(BOMB_BYTES))
    assert path.stat().st_size < 500 * 1024
    return path


def _refusal(call) -> str:
    with pytest.raises(ValidationFailed) as caught:
        call()
    assert caught.value.field in ("file", None)
    return caught.value.message


def test_a_hand_written_sheet_reads_like_excels(tmp_path):
    strings, rows = _header_and(["Nguyễn Thị Ánh & <Hồng>"])
    path = write_xlsx(tmp_path / "ok.xlsx", [s.replace("&", "&amp;").replace("<", "&lt;")
                                             .replace(">", "&gt;") for s in strings], rows)
    xlsx.scan_archive(path)
    got = [v for _, v in read_rows(path)]
    assert got == [{c: ("Nguyễn Thị Ánh & <Hồng>" if c == "code" else None) for c in COLUMNS}]


def test_compact_shared_strings_read_as_openpyxls_own(tmp_path):
    """Plain text, rich-text runs and a phonetic guide (left out), as openpyxl reads them."""
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}"><si><t>code</t></si>'
           '<si><r><t>Lê </t></r><r><rPr><b/></rPr><t>Văn</t></r><rPh sb="0" eb="1"><t>x</t></rPh>'
           "</si>"
           "<si><t>a_x005F_b</t></si><si><t/></si><si><t>😀 Đ</t></si></sst>")
    path = write_xlsx(tmp_path / "rich.xlsx", [], [[0, 1, 2, 3, 4]], strings_xml=[sst.encode()])
    stock = next(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    ours = next(xlsx.open_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert ours == stock == ("code", "Lê Văn", "a_b", "", "😀 Đ")


def test_the_bomb_is_refused_from_the_zip_directory_alone(bomb):
    message = _refusal(lambda: xlsx.check_archive(bomb))
    assert "sharedStrings.xml" in message and "448 MB" in message


def test_a_cell_longer_than_excel_allows_is_refused_while_streaming(tmp_path):
    strings, rows = _header_and(["x" * 300_000])  # compresses 1000 times, but under 1 MB
    path = write_xlsx(tmp_path / "long.xlsx", strings, rows)
    xlsx.check_archive(path)  # the directory alone cannot tell
    assert "32.767" in _refusal(lambda: xlsx.scan_archive(path))


def test_an_entity_expansion_is_refused(tmp_path):
    sst = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;'
           f'&a;&a;&a;&a;&a;&a;&a;">]><sst xmlns="{MAIN}"><si><t>&b;</t></si></sst>')
    path = write_xlsx(tmp_path / "dtd.xlsx", [], [[0]], strings_xml=[sst.encode()])
    assert "DTD" in _refusal(lambda: xlsx.scan_archive(path))


def test_too_many_cells_or_strings_are_refused(tmp_path, monkeypatch):
    strings, rows = _header_and(["a", "b"])
    path = write_xlsx(tmp_path / "many.xlsx", strings, rows + rows)
    monkeypatch.setattr(xlsx, "MAX_CELLS", 20)
    assert "ô" in _refusal(lambda: xlsx.scan_archive(path))
    monkeypatch.setattr(xlsx, "MAX_CELLS", 10_000)
    monkeypatch.setattr(xlsx, "MAX_STRINGS", 20)
    assert "chuỗi" in _refusal(lambda: xlsx.scan_archive(path))


def test_bzip2_parts_and_a_million_entries_are_refused(tmp_path):
    strings, rows = _header_and(["a"])
    packed = write_xlsx(tmp_path / "bz.xlsx", strings, rows, method=zipfile.ZIP_BZIP2)
    assert "nén theo cách" in _refusal(lambda: xlsx.check_archive(packed))
    names = {f"xl/media/{'n' * 80}{i}.bin": b"" for i in range(30_000)}
    crowded = write_xlsx(tmp_path / "crowd.xlsx", strings, rows, extra=names)
    assert "quá nhiều phần" in _refusal(lambda: xlsx.check_archive(crowded))


def test_a_broken_or_foreign_file_is_a_clear_refusal(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"not a zip at all")
    assert "hỏng" in _refusal(lambda: xlsx.check_archive(tmp_path / "x.xlsx"))
    with zipfile.ZipFile(tmp_path / "y.xlsx", "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "Content_Types" in _refusal(lambda: xlsx.check_archive(tmp_path / "y.xlsx"))
    with pytest.raises(ImportFailed) as caught:
        check_file(tmp_path / "x.xlsx")
    assert caught.value.errors[0].line == 1


# the peak is VmHWM, this process image's own high-water mark: ru_maxrss would also count
# what the parent (pytest, hundreds of MB into the suite) had resident when it forked us
PROBE = """
import sys
from postal.reporting.import_format import ImportFailed, check_file, read_rows
try:
    if sys.argv[2] == "check":
        check_file(sys.argv[1])
    rows = sum(1 for _ in read_rows(sys.argv[1]))
    print("read", rows)
except ImportFailed as exc:
    print("refused", exc.errors[0].message)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print("peak", hwm // 1024)
"""


def _probe(path: Path, how: str) -> tuple[str, int]:
    """What reading `path` gives in a fresh process, and that process's peak memory in MB."""
    out = subprocess.run([sys.executable, "-c", PROBE, str(path), how], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    lines = out.strip().splitlines()
    return lines[0], int(lines[-1].split()[1])


@pytest.mark.parametrize("how", ["check", "read"])
def test_reading_the_bomb_is_refused_within_bounded_memory(bomb, how):
    outcome, peak = _probe(bomb, how)
    assert outcome.startswith("refused") and "sharedStrings.xml" in outcome
    assert peak <= MAX_PEAK_MB


def test_a_sheet_of_a_million_short_strings_reads_within_bounded_memory(tmp_path):
    """Under every limit, as a 150,000-row Excel file with text dates can be: openpyxl's own
    list of strings took 430 MB for two million of them."""
    n = 1_000_000
    strings, rows = _header_and(["A-1"])

    def table():
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()
        for s in strings:
            yield f"<si><t>{s}</t></si>".encode()
        for i in range(n):
            yield f"<si><t>Người {i}</t></si>".encode()
        yield b"</sst>"

    path = write_xlsx(tmp_path / "wide.xlsx", [], rows, strings_xml=table())
    outcome, peak = _probe(path, "check")
    assert outcome == "read 1"
    assert peak <= MAX_PEAK_MB


def test_the_upload_page_refuses_the_bomb_at_once(client, make_user, login, bomb):
    login(make_user("manager"))
    page = client.get("/office/import")
    response = client.post("/office/import", data={
        "csrf_token": csrf_from(page), "file": (bomb.open("rb"), "bomb.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "sharedStrings.xml" in response.get_data(as_text=True)


def test_an_ordinary_workbook_passes_every_check(tmp_path):
    book = Workbook()
    book.active.append(list(COLUMNS))
    book.active.append(["A-1"] + [None] * (len(COLUMNS) - 1))
    book.save(tmp_path / "ok.xlsx")
    check_file(tmp_path / "ok.xlsx")
    assert [line for line, _ in read_rows(tmp_path / "ok.xlsx")] == [2]


def test_a_csv_line_of_a_million_fields_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "," * 1_000_000 + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        list(read_rows(path))
    assert caught.value.errors[0].line == 2 and "dài quá" in caught.value.errors[0].message


def test_a_sheet_claiming_more_rows_than_excel_holds_is_refused(tmp_path, monkeypatch):
    from postal.reporting import import_format

    strings, rows = _header_and(["A-1"])
    cells = "".join(f'<c r="{chr(65 + c)}1" t="s"><v>{c}</v></c>' for c in range(len(COLUMNS)))
    # openpyxl yields an empty row for each one a sheet skips: two million here
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
             f'<row r="1">{cells}</row><row r="2000000"><c r="A2000000" t="s"><v>'
             f'{len(COLUMNS)}</v></c></row></sheetData></worksheet>')
    path = write_xlsx(tmp_path / "tall.xlsx", strings, rows, sheet_xml=sheet)
    monkeypatch.setattr(import_format, "MAX_LINES", 5_000)  # Excel's 1,048,576, sooner
    with pytest.raises(ImportFailed) as caught:
        list(read_rows(path))
    assert caught.value.errors[0].line == 5_001
