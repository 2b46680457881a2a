"""Reading the import format (CSV or the first XLSX sheet) and checking one row at a time.

What a file may hold is bounded before anything is parsed (see `check_file` and `xlsx.py`), so
no upload under the size limit can exhaust memory. A row is checked against the format, the
importer's unit subtree and the catalogue: procedures and agencies that do not exist yet are
created only when the import was allowed to (`create_missing`, or the exact list an admin
confirmed); otherwise they are refused, each once, at the first line naming it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core.access import sees_unit
from postal.core.errors import ValidationFailed
from postal.core.reference import normalise_admin_code
from postal.core.text import clean
from postal.core.time import TZ, parse_moment
from postal.models import Dossier, OrgUnit, Procedure, UnitKind, User
from postal.reporting import xlsx

COLUMNS = (
    "code", "procedure_code", "procedure_name", "field", "agency_code", "unit_code", "channel",
    "applicant_name", "phone", "ward_code", "received_at", "due_at", "resolved_at",
    "returned_at", "return_method", "status", "closed_at", "rating", "rated_at",
)
REQUIRED_COLUMNS = ("code", "procedure_code", "unit_code", "channel", "applicant_name",
                    "received_at")
CHANNELS = ("counter", "home_pickup", "online")
RETURN_METHODS = ("counter", "home")
STATUSES = ("withdrawn", "refused")
PHONE_CHARS = set("0123456789+")
DB_BATCH = 1000
MAX_ROWS = 500_000  # data rows of one file: the checks keep a few hundred bytes a row
MAX_LINES = 1_048_576  # Excel's own limit, empty lines included
MAX_COLUMNS = 64  # cells read of each row: the format has 19 columns
MAX_LINE_CHARS = 100_000  # a CSV line: a row of the format is a few hundred characters
MAX_NEW_ENTRIES = 200  # procedures and agencies one file may add to the catalogue
# Moments older than the system's data or far ahead are typing errors (0001-01-01, 2205, …)
EARLIEST = datetime(2000, 1, 1, tzinfo=TZ)
DUE_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header
    column: str
    message: str

    def __str__(self) -> str:
        return f"dòng {self.line}, cột {self.column or '—'}: {self.message}"


class ImportFailed(ValidationFailed):
    """The file has bad rows; `errors` names each (line, column, message). Nothing written."""

    def __init__(self, errors: list[RowError], *, more: bool = False):
        errors = sorted(errors, key=lambda e: (e.line, COLUMNS.index(e.column)
                                               if e.column in COLUMNS else -1))
        first = errors[0]
        super().__init__(f"{len(errors)}{'+' if more else ''} lỗi, không nhập dòng nào; "
                         f"đầu tiên: {first}", field=first.column or None)
        self.errors = errors
        self.more = more


@dataclass(frozen=True)
class NewEntries:
    """Catalogue entries a file names that do not exist yet: what its import would create."""

    # code -> (name, field, agency code)
    procedures: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    agencies: dict[str, str] = field(default_factory=dict)  # code -> the province it goes under

    def __bool__(self) -> bool:
        return bool(self.procedures or self.agencies)

    def as_dict(self) -> dict:
        return {"procedures": [{"code": c, "name": n, "field": f, "agency_code": a}
                               for c, (n, f, a) in sorted(self.procedures.items())],
                "agencies": [{"code": c, "parent_code": p}
                             for c, p in sorted(self.agencies.items())]}

    @classmethod
    def from_dict(cls, data: dict) -> NewEntries:
        return cls({p["code"]: (p["name"], p["field"], p["agency_code"])
                    for p in data.get("procedures", [])},
                   {a["code"]: a["parent_code"] for a in data.get("agencies", [])})


class CatalogueMissing(ImportFailed):
    """Every row is fine, but the file names procedures or agencies that do not exist and this
    import may not create them; `missing` is exactly what it would create."""

    def __init__(self, errors: list[RowError], missing: NewEntries):
        super().__init__(errors)
        self.missing = missing


@dataclass
class Row:
    code: str
    procedure_code: str
    procedure_name: str
    field: str
    agency_code: str
    unit_id: int | None
    channel: str
    applicant_name: str
    phone: str
    ward_id: int | None
    received_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    return_method: str
    status: str
    closed_at: datetime | None
    rating: int | None
    rated_at: datetime | None


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportFailed([RowError(1, "", "tệp phải là .csv (UTF-8) hoặc .xlsx")])
    return suffix


def _refused(exc: ValidationFailed) -> ImportFailed:
    return ImportFailed([RowError(1, "", exc.message)])


def check_file(path: str | Path) -> None:
    """Refuse a file that could exhaust memory or time before any row is read: for an XLSX,
    one streamed pass over its parts (xlsx.scan_archive). A CSV is read line by line anyway."""
    path = Path(path)
    if _kind(path) == ".xlsx":
        try:
            xlsx.scan_archive(path)
        except ValidationFailed as exc:
            raise _refused(exc) from None


def _header(names) -> dict[str, int]:
    index = {}
    for i, name in enumerate(names):
        key = clean(name if isinstance(name, str) else "" if name is None else str(name)).lower()
        if key in COLUMNS and key not in index:
            index[key] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        raise ImportFailed([RowError(1, c, "thiếu cột này ở dòng tiêu đề") for c in missing])
    return index


def _records(path: Path) -> Iterator[list]:
    if _kind(path) == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            try:
                yield from csv.reader(_bounded_lines(handle))
            except UnicodeDecodeError:
                raise ImportFailed([RowError(1, "", "tệp CSV phải mã hoá UTF-8")]) from None
            except csv.Error as exc:
                raise ImportFailed([RowError(1, "", f"CSV hỏng: {exc}")]) from None
        return
    yield from _sheet_records(path)


def _bounded_lines(handle) -> Iterator[str]:
    """The lines of a CSV file, refusing one too long to be a row (a line of a million commas
    would otherwise become a list of a million fields)."""
    for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 1), ""), 1):
        if len(line) > MAX_LINE_CHARS:
            raise ImportFailed([RowError(number, "", f"dòng dài quá {MAX_LINE_CHARS:,} ký tự: "
                                                     "không phải một dòng hồ sơ")])
        yield line


def _sheet_records(path: Path) -> Iterator[list]:
    """The rows of the first sheet, at most MAX_COLUMNS cells each (a sheet may claim 16,384)."""
    try:
        xlsx.check_archive(path)  # cheap; check_file has streamed the parts already
        book = xlsx.open_workbook(path)
    except ValidationFailed as exc:
        raise _refused(exc) from None
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFailed([RowError(1, "", f"không đọc được tệp XLSX: {exc}")]) from None
    lines = 0
    try:
        for record in book.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS):
            lines += 1
            yield list(record)
    except Exception as exc:  # a cell openpyxl cannot convert (a date in year 30000, …)
        raise ImportFailed([RowError(lines + 1, "", f"không đọc được dòng này: {exc}")]
                           ) from None
    finally:
        book.close()


def read_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line, {column: raw value}) for each non-empty data row; the header is line 1."""
    records = _records(Path(path))
    try:
        index = _header(next(records))
    except StopIteration:
        raise ImportFailed([RowError(1, "", "tệp trống")]) from None
    rows = 0
    for line, record in enumerate(records, start=2):
        if line > MAX_LINES:  # a sheet may claim more (empty) rows than Excel holds
            raise ImportFailed([RowError(line, "", f"tệp có hơn {MAX_LINES:,} dòng: "
                                                   "hãy chia thành nhiều tệp")])
        if not any(v not in (None, "") and str(v).strip() for v in record):
            continue
        rows += 1
        if rows > MAX_ROWS:
            raise ImportFailed([RowError(line, "", f"tệp có hơn {MAX_ROWS:,} dòng dữ liệu: "
                                                   "hãy chia thành nhiều tệp")])
        yield line, {c: record[i] if i < len(record) else None for c, i in index.items()}


def count_rows(path: str | Path) -> int | None:
    """Data rows, for progress bars (XLSX: as its dimension says, None if it does not)."""
    path = Path(path)
    if _kind(path) == ".csv":
        with path.open(encoding="utf-8-sig", newline="", errors="replace") as handle:
            try:
                return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
            except csv.Error:
                return None
    try:
        book = xlsx.open_workbook(path, strings=False)
        rows = book.worksheets[0].max_row
        book.close()
    except Exception:
        return None
    return min(rows - 1, MAX_ROWS) if rows else None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii() and "  " not in value and value.isprintable():
        return value.strip()  # clean() would change nothing else: a fast path for big files
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return clean(str(value))


class Checker:
    """Checks rows against the format and the database; remembers what the file creates.

    `user` is who imports (None: the command line, a system actor): rows received outside
    their unit subtree are refused. Procedures and agencies that do not exist yet are created
    only if `create_missing`, or if `confirmed` lists them with the same details."""

    def __init__(self, session: Session, *, now: datetime, user: User | None = None,
                 create_missing: bool = False, confirmed: NewEntries | None = None):
        self.session = session
        self.now = now
        self.user = user
        self.create_missing = create_missing
        self.confirmed = confirmed or NewEntries()
        self.rows = 0
        self.units: dict[str, int | None] = {}
        self.unit_objects: dict[int, OrgUnit] = {}
        self.in_scope: dict[int, bool] = {}
        self.wards: dict[str, int | None] = {}
        self.known_procedures: dict[str, Procedure] = {}
        self.new_procedures: dict[str, tuple[str, str, str]] = {}
        self.known_agencies: dict[str, int] = {}
        self.new_agencies: dict[str, int] = {}  # code -> id of the unit of its first row
        self.first_line: dict[tuple[str, str], int] = {}  # (column, new code) -> its line
        self.codes: set[str] = set()
        self._pending: list[tuple[int, str]] = []
        self.late: list[RowError] = []  # codes found in the database, checked in batches

    def _unit(self, code: str, *, ward: bool) -> int | None:
        cache = self.wards if ward else self.units
        if code not in cache:
            stmt = select(OrgUnit).where(OrgUnit.code.in_(normalise_admin_code(code)))
            stmt = stmt.where(OrgUnit.kind == UnitKind.COMMUNE if ward
                              else OrgUnit.kind != UnitKind.AGENCY)
            unit = self.session.scalars(stmt).first()
            cache[code] = unit.id if unit else None
            if unit is not None:
                self.unit_objects[unit.id] = unit
                self.in_scope[unit.id] = self.user is None or sees_unit(self.user, unit)
        return cache[code]

    def check(self, line: int, raw: dict, *, second_pass: bool = False
              ) -> tuple[Row | None, list[RowError]]:
        errors: list[RowError] = []

        def bad(column: str, message: str) -> None:
            errors.append(RowError(line, column, message))

        v = {c: _text(raw.get(c)) for c in COLUMNS if c not in _TIMES}
        times = {c: self._moment(c, raw.get(c), bad) for c in _TIMES}
        for c in ("code", "procedure_code", "unit_code", "applicant_name"):
            if not v[c]:
                bad(c, "không được để trống")
        for c, size in (("code", 60), ("procedure_code", 40), ("agency_code", 40),
                        ("applicant_name", 200), ("procedure_name", 400), ("field", 200)):
            if len(v[c]) > size:
                bad(c, f"dài quá {size} ký tự")
        if v["agency_code"] and "/" in v["agency_code"]:
            bad("agency_code", "mã cơ quan không được chứa '/'")
        if v["channel"] not in CHANNELS:
            bad("channel", f"phải là một trong {', '.join(CHANNELS)}")
        v["return_method"] = v["return_method"] or "counter"
        if v["return_method"] not in RETURN_METHODS:
            bad("return_method", f"phải là một trong {', '.join(RETURN_METHODS)}")
        if v["status"] and v["status"] not in STATUSES:
            bad("status", f"để trống hoặc một trong {', '.join(STATUSES)}")
        phone = v["phone"].replace(" ", "").replace(".", "").replace("-", "")
        if phone and (not set(phone) <= PHONE_CHARS or not 8 <= len(phone) <= 15):
            bad("phone", "số điện thoại không hợp lệ")
        if phone.isdigit() and len(phone) == 9 and isinstance(raw.get("phone"), int | float):
            phone = "0" + phone  # a spreadsheet drops the leading zero of a number
        rating = None
        if v["rating"]:
            if v["rating"] in ("1", "2", "3", "4", "5"):
                rating = int(v["rating"])
            else:
                bad("rating", "để trống hoặc từ 1 đến 5")
        self._check_times(times, v, rating, bad)
        unit_id = self._unit(v["unit_code"], ward=False) if v["unit_code"] else None
        if v["unit_code"] and unit_id is None:
            bad("unit_code", f"không có đơn vị mã {v['unit_code']!r}")
        elif unit_id is not None and not self.in_scope[unit_id]:
            bad("unit_code", f"đơn vị {v['unit_code']!r} nằm ngoài phạm vi đơn vị của bạn: "
                             "chỉ nhập được hồ sơ của đơn vị mình và các đơn vị trực thuộc")
        ward_id = self._unit(v["ward_code"], ward=True) if v["ward_code"] else None
        if v["ward_code"] and ward_id is None:
            bad("ward_code", f"không có xã/phường mã {v['ward_code']!r}")
        if not second_pass:
            self._catalogue(line, v, unit_id, times["due_at"], bad)
            self._code(line, v["code"], bad)
        self.rows += 0 if second_pass else 1
        row = Row(**{k: v[k] for k in ("code", "procedure_code", "procedure_name", "field",
                                         "agency_code", "channel", "applicant_name",
                                         "return_method", "status")},
                  phone=phone, unit_id=unit_id, ward_id=ward_id, rating=rating, **times)
        return row, errors

    def _moment(self, column: str, value, bad) -> datetime | None:
        """The moment of one time column, or None (after naming the error) if it is unusable."""
        try:
            moment = parse_moment(value)
        except (ValueError, OverflowError):
            bad(column, f"thời điểm không hợp lệ {_text(value)!r} (ISO 8601, ví dụ "
                        "2021-06-25T08:15:00+07:00)")
            return None
        if moment is None:
            if column == "received_at":
                bad(column, "không được để trống")
            return None
        if moment < EARLIEST:
            bad(column, f"thời điểm {moment:%Y-%m-%d} trước năm 2000: kiểm tra lại")
        elif column == "due_at" and moment > self.now + DUE_AHEAD:
            bad(column, f"hạn {moment:%Y-%m-%d} xa quá một năm")
        elif column != "due_at" and moment > self.now:
            bad(column, "thời điểm ở tương lai")
        else:
            return moment
        return None

    @staticmethod
    def _check_times(t: dict, v: dict, rating, bad) -> None:
        later = (("due_at", "received_at"), ("resolved_at", "received_at"),
                 ("closed_at", "received_at"), ("returned_at", "resolved_at"))
        for column, before in later:
            if t[column] and t[before] and t[column] < t[before]:
                bad(column, f"sớm hơn {before}")
        if t["returned_at"] and not t["resolved_at"]:
            bad("resolved_at", "đã trả kết quả (returned_at) thì phải có thời điểm giải quyết")
        if v["status"] and not t["closed_at"]:
            bad("closed_at", f"hồ sơ {v['status']} phải có thời điểm closed_at")
        if t["closed_at"] and not v["status"]:
            bad("status", "có closed_at thì status phải là withdrawn hoặc refused")
        if v["status"] and t["resolved_at"]:
            bad("resolved_at", f"hồ sơ {v['status']} không thể có kết quả")
        if rating and not (t["rated_at"] or t["returned_at"]):
            bad("rated_at", "có đánh giá thì cần rated_at hoặc returned_at")
        if t["rated_at"] and not rating:
            bad("rating", "có rated_at thì phải có mức đánh giá 1–5")

    def _catalogue(self, line: int, v: dict, unit_id: int | None, due_at, bad) -> None:
        code = v["procedure_code"]
        if code and code not in self.known_procedures and code not in self.new_procedures:
            proc = self.session.scalar(select(Procedure).where(Procedure.code == code))
            if proc is not None:
                self.known_procedures[code] = proc
            elif not v["procedure_name"]:
                bad("procedure_name", f"thủ tục {code!r} chưa có trong danh mục: cần tên thủ "
                                      "tục để tạo mới")
            elif self._room(line, "procedure_code", code, bad):
                self.new_procedures[code] = (v["procedure_name"], v["field"], v["agency_code"])
        if code in self.new_procedures and due_at is None:
            bad("due_at", f"thủ tục mới {code!r} chưa có thời hạn: cần ghi due_at")
        agency = v["agency_code"]
        if agency and agency not in self.known_agencies and agency not in self.new_agencies:
            found = self.session.scalar(select(OrgUnit.id).where(OrgUnit.code == agency))
            if found is not None:
                self.known_agencies[agency] = found
            elif unit_id is not None and self._room(line, "agency_code", agency, bad):
                self.new_agencies[agency] = unit_id

    def _room(self, line: int, column: str, code: str, bad) -> bool:
        """Note a catalogue entry the file would create, unless there are too many already."""
        if len(self.new_procedures) + len(self.new_agencies) >= MAX_NEW_ENTRIES:
            bad(column, f"tệp nêu hơn {MAX_NEW_ENTRIES} thủ tục và cơ quan chưa có trong danh "
                        "mục: hãy thêm chúng vào danh mục trước")
            return False
        self.first_line[(column, code)] = line
        return True

    def _code(self, line: int, code: str, bad) -> None:
        if not code:
            return
        if code in self.codes:
            bad("code", f"mã hồ sơ {code!r} lặp lại trong tệp")
            return
        self.codes.add(code)
        self._pending.append((line, code))
        if len(self._pending) >= DB_BATCH:
            self.late.extend(self._existing())

    def _existing(self) -> list[RowError]:
        pending, self._pending = self._pending, []
        taken = set(self.session.scalars(select(Dossier.code).where(
            Dossier.code.in_([c for _, c in pending]))))
        return [RowError(line, "code", f"mã hồ sơ {code!r} đã có trong hệ thống")
                for line, code in pending if code in taken]

    def finish(self) -> list[RowError]:
        """Errors found after their row was checked (codes already in the database)."""
        self.late.extend(self._existing())
        return self.late

    def wanted(self) -> NewEntries:
        """Every catalogue entry the file would create."""
        def province(unit_id: int) -> str:
            return self.unit_objects[unit_id].path.strip("/").split("/")[0]

        return NewEntries(dict(self.new_procedures),
                          {code: province(unit_id) for code, unit_id in self.new_agencies.items()})

    def refused(self) -> tuple[NewEntries, list[RowError]]:
        """The entries this import may not create, and an error for each at its first line."""
        wanted = self.wanted()
        if self.create_missing:
            return NewEntries(), []
        missing = NewEntries(
            {c: v for c, v in wanted.procedures.items() if self.confirmed.procedures.get(c) != v},
            {c: v for c, v in wanted.agencies.items() if self.confirmed.agencies.get(c) != v})
        errors = [RowError(self.first_line[("procedure_code", code)], "procedure_code",
                           f"thủ tục {code!r} chưa có trong danh mục; nhập không tự thêm thủ "
                           "tục: quản trị viên thêm vào danh mục, hoặc xác nhận tạo khi nhập")
                  for code in missing.procedures]
        errors += [RowError(self.first_line[("agency_code", code)], "agency_code",
                            f"cơ quan {code!r} chưa có; nhập không tự thêm cơ quan: quản trị "
                            "viên thêm vào danh mục, hoặc xác nhận tạo khi nhập")
                   for code in missing.agencies]
        return missing, errors


_TIMES = ("received_at", "due_at", "resolved_at", "returned_at", "closed_at", "rated_at")
