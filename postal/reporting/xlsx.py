"""Reading an uploaded XLSX within bounded memory and time.

An XLSX file is a zip archive of XML parts, so a 1 MB upload can unpack to gigabytes (one 1 GB
cell took 2.19 GB of memory). Three defences, each before the part it guards is parsed:

1. `check_archive` reads only the zip's directory (after checking that the directory itself
   is small: zipfile keeps an object per entry): the unpacked size of every part, its
   compression ratio and its compression method (zipfile bounds what it unpacks of a deflated
   part by the size the directory declares, but not of a bzip2 or lzma one).
2. `scan_archive` streams each XML part once in small pieces: no DTD (an entity can expand to
   gigabytes), no text longer than a cell can hold, and at most so many cells and strings.
3. `open_workbook` opens it with openpyxl in read-only mode (the sheet is streamed) but keeps
   the shared strings, which openpyxl loads whole, as one UTF-8 buffer instead of a Python
   object each: 2 million short strings took 430 MB as openpyxl's list.

Every refusal is a `ValidationFailed` on the field "file" with a message for the person who
uploaded it.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from array import array
from collections.abc import Sequence
from pathlib import Path

from postal.core.errors import ValidationFailed

MB = 1024 * 1024
MAX_SHEET_BYTES = 1024 * MB  # a worksheet is streamed; this bounds the time spent on it
MAX_STRINGS_BYTES = 64 * MB  # the shared strings are kept in memory (compactly)
MAX_OTHER_BYTES = 4 * MB  # styles, theme, workbook: openpyxl parses them whole, at ~10x
MAX_DIRECTORY_BYTES = 2 * MB  # the zip's central directory: some thousands of parts
MAX_RATIO = 200  # real sheets compress 10-30 times; a bomb of repeated bytes 1000 times
RATIO_FROM = MB  # small parts (a tiny styles.xml) may compress oddly well
MAX_TEXT_BYTES = 200_000  # a cell holds at most 32,767 characters, up to 6 bytes each in XML
MAX_CELLS = 12_000_000
MAX_STRINGS = 4_000_000
SCAN_PIECE = MB

STRINGS_TYPE = "sharedStrings+xml"
SHEET_TYPE = "worksheet+xml"
_SAFE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_CELL_TAGS = (b"<c ", b"<c>", b"<c/>")
_DTD = (b"<!DOCTYPE", b"<!ENTITY")
_END_RECORD = "<4s4H2LH"  # the zip's end of central directory record
# what zipfile raises for a damaged or unusual archive (encrypted: RuntimeError)
_BROKEN = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError,
           NotImplementedError)


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="file")


def _open_zip(path: Path) -> zipfile.ZipFile:
    _check_directory_size(path)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise refuse("tệp .xlsx hỏng hoặc không phải tệp Excel (.xlsx)") from None


def _check_directory_size(path: Path) -> None:
    """Read the zip's end record ourselves: zipfile would first build an object for every
    entry of the directory, and a small upload can list a million empty entries."""
    end_size = struct.calcsize(_END_RECORD)
    with path.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - end_size - 0xFFFF))  # after it: a comment ≤ 64 KB
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < end_size:
        raise refuse("tệp .xlsx hỏng hoặc không phải tệp Excel (.xlsx)")
    entries, directory_size = struct.unpack(_END_RECORD, tail[at:at + end_size])[4:6]
    if entries == 0xFFFF or directory_size > MAX_DIRECTORY_BYTES:
        raise refuse("tệp .xlsx có quá nhiều phần: không giống bảng tính thật, không nhận")


def _kinds(archive: zipfile.ZipFile) -> dict[str, str]:
    """part name -> "strings", "sheet" or "other", by [Content_Types].xml as openpyxl reads it
    (a part's name proves nothing: the content types say which part holds the strings)."""
    from xml.etree.ElementTree import ParseError, fromstring

    kinds = {name: "other" for name in archive.namelist()}
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        raise refuse("tệp .xlsx thiếu [Content_Types].xml: không phải tệp Excel") from None
    _check_part(info, "other")
    try:
        raw = archive.read(info)
    except _BROKEN:
        raise refuse("tệp .xlsx hỏng: không đọc được [Content_Types].xml") from None
    if any(marker in raw for marker in _DTD):
        raise refuse("tệp .xlsx chứa khai báo DTD: không nhận")
    try:
        root = fromstring(raw)
    except ParseError:
        raise refuse("tệp .xlsx có [Content_Types].xml hỏng") from None
    for node in root:
        part, content = node.get("PartName", "").lstrip("/"), node.get("ContentType", "")
        for kind, suffix in (("strings", STRINGS_TYPE), ("sheet", SHEET_TYPE)):
            if part in kinds and content.endswith(suffix):
                kinds[part] = kind
    return kinds


_LIMITS = {"sheet": MAX_SHEET_BYTES, "strings": MAX_STRINGS_BYTES, "other": MAX_OTHER_BYTES}


def check_archive(path: str | Path) -> None:
    """Refuse, from the zip directory alone, an archive that would unpack to too much."""
    with _open_zip(Path(path)) as archive:
        kinds = _kinds(archive)
        for info in archive.infolist():
            _check_part(info, kinds[info.filename])


def _check_part(info: zipfile.ZipInfo, kind: str) -> None:
    name, size = info.filename, info.file_size
    if info.compress_type not in _SAFE_METHODS:
        raise refuse(f"phần {name!r} của tệp .xlsx nén theo cách không hỗ trợ; "
                     "hãy lưu lại tệp bằng Excel hoặc LibreOffice")
    if size > _LIMITS[kind]:
        raise refuse(f"phần {name!r} của tệp .xlsx giải nén ra {size // MB} MB, quá "
                     f"{_LIMITS[kind] // MB} MB: hãy chia tệp thành nhiều tệp nhỏ hơn")
    if size > RATIO_FROM and size > MAX_RATIO * max(info.compress_size, 1):
        raise refuse(f"phần {name!r} của tệp .xlsx nén {size // max(info.compress_size, 1)} "
                     f"lần (tối đa {MAX_RATIO}): tệp không giống bảng tính thật, không nhận")


def scan_archive(path: str | Path) -> None:
    """Stream every XML part once: no DTD, no text over a cell's size, cells and strings
    counted. Memory stays at a few pieces of SCAN_PIECE bytes whatever the archive holds."""
    check_archive(path)
    with _open_zip(Path(path)) as archive:
        kinds = _kinds(archive)
        cells = strings = 0
        for info in archive.infolist():
            if info.is_dir():
                continue
            counts = _scan_part(archive, info)
            cells += counts[0] if kinds[info.filename] == "sheet" else 0
            strings += counts[1] if kinds[info.filename] == "strings" else 0
            if cells > MAX_CELLS:
                raise refuse(f"tệp .xlsx có hơn {MAX_CELLS:,} ô: hãy chia thành nhiều tệp")
            if strings > MAX_STRINGS:
                raise refuse(f"tệp .xlsx có hơn {MAX_STRINGS:,} chuỗi khác nhau: "
                             "hãy chia thành nhiều tệp")


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """(cells, shared strings) of one part; refuses a DTD or an over-long text or tag."""
    name = info.filename
    cells = strings = 0
    run = 0  # bytes since the last "<" of the pieces before
    tail = b""  # the end of the piece before, for markers cut in two
    try:
        part = archive.open(info)
    except _BROKEN as exc:
        raise refuse(f"phần {name!r} của tệp .xlsx hỏng ({exc})") from None
    try:
        while piece := part.read(SCAN_PIECE):
            joined = tail + piece
            if any(marker in joined for marker in _DTD):
                raise refuse(f"phần {name!r} của tệp .xlsx chứa khai báo DTD: không nhận")
            runs = piece.split(b"<")
            longest = max(run + len(runs[0]), max(map(len, runs[1:]), default=0))
            if longest > MAX_TEXT_BYTES:
                raise refuse(f"phần {name!r} của tệp .xlsx có một ô hoặc thẻ dài hơn "
                             f"{MAX_TEXT_BYTES:,} byte (một ô Excel chứa tối đa 32.767 ký tự)")
            run = run + len(piece) if len(runs) == 1 else len(runs[-1])
            cells += sum(joined.count(tag) - tail.count(tag) for tag in _CELL_TAGS)
            strings += joined.count(b"<si>") - tail.count(b"<si>")
            tail = piece[-16:]
    except _BROKEN as exc:
        raise refuse(f"phần {name!r} của tệp .xlsx hỏng ({exc})") from None
    finally:
        part.close()
    return cells, strings


class CompactStrings(Sequence[str]):
    """The shared strings as one UTF-8 buffer and the offsets of their ends: a few bytes a
    string instead of a Python object each. openpyxl only indexes into it."""

    def __init__(self) -> None:
        self._text = bytearray()
        self._ends = array("I")  # the text stays below MAX_STRINGS_BYTES, far below 4 GB

    def append(self, value: str) -> None:
        self._text += value.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._text))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index):  # openpyxl passes the cell's int index
        end = self._ends[index]
        start = self._ends[index - 1] if index % len(self._ends) else 0
        return self._text[start:end].decode("utf-8", "surrogatepass")


def _read_strings(source) -> CompactStrings:
    """openpyxl's read_string_table, keeping no parsed element behind (it clears each one but
    leaves them all attached to the root: about 200 bytes a string)."""
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    strings = CompactStrings()
    si, t, r = (f"{{{SHEET_MAIN_NS}}}{name}" for name in ("si", "t", "r"))
    root = None
    for event, node in iterparse(source, events=("start", "end")):
        if root is None:
            root = node
        elif event == "end" and node.tag == si:
            # the plain text and the rich-text runs, not the phonetic guide (as openpyxl)
            runs = [node.find(t)] + [run.find(t) for run in node.iterfind(r)]
            text = "".join(x.text or "" for x in runs if x is not None)
            strings.append(text.replace("x005F_", ""))
            root.clear()
    return strings


def open_workbook(path: str | Path, *, strings: bool = True):
    """The workbook in openpyxl's read-only mode with compact shared strings (call
    `scan_archive` first: this trusts the archive's sizes). Without `strings`, for a sheet's
    dimension only, the shared strings are not read at all."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None and strings:
                with self.archive.open(part.PartName[1:]) as source:
                    self.shared_strings = _read_strings(source)

    reader = Reader(str(path), read_only=True, data_only=True)
    reader.read()
    return reader.wb
