"""Importing dossiers (interfaces.md, "Import format"): every row or none, and the counter
keeps working while a big file goes in.

1. Check, reading only: the file's size is bounded first (import_format.check_file), then every
   row is checked and each bad one named by line and column. Nothing is written if one is bad,
   or if the file names procedures or agencies that do not exist and the import may not create
   them (CatalogueMissing lists exactly what it would create, for an admin to confirm).
2. Write in chunks, each in a short transaction of its own. On SQLite each takes the write lock
   at BEGIN (write_intent: BEGIN IMMEDIATE; a read transaction that starts writing later fails
   at once with "database is locked" if a clerk wrote meanwhile) and holds it for one chunk,
   then pauses longer than SQLite's longest busy-wait sleep, so a waiting intake gets in after
   at most one chunk. On PostgreSQL a chunk locks only the daily counters of its codes' series.
   Every dossier written carries the id of its ImportBatch.
3. A last transaction marks the batch done, makes the new procedures usable and writes the
   audit entry. If anything fails before that, the batch's rows are deleted again, chunk by
   chunk: dossiers an import creates have no items, custody or events, so nothing points at
   them. A batch whose process died is deleted by the next import (ABANDONED).

Why one transaction for the whole file is not kept: on SQLite it held the write lock for
minutes (every intake failed with "database is locked"). Why not a staging table copied at the
end: the copy of 150,000 rows is itself one long write.

What the import does not write: an "imported" event per dossier. The event log is append-only
(core.db refuses DELETE on it), so rows there could not be taken back if a later chunk failed.
The dossier's batch (file, who, when) says where it came from; the audit log gets one entry,
once the import has succeeded.

Codes: a code of a unit's own daily series (UNIT-yymmdd-NNNN) raises that series' counter past
it in the chunk that writes it (core.sequences.raise_to), so the counter never draws it later;
a code a clerk drew while the file was checked fails the import, never the intake.
"""

from __future__ import annotations

import logging
import secrets
import time as clock
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.codes import parse_dossier_code
from postal.core.db import write_intent
from postal.core.errors import Forbidden
from postal.core.reference import add_unit
from postal.core.sequences import DOSSIER_SCOPE, raise_to
from postal.core.text import clean, fold
from postal.deadlines.calendar import WorkCalendar, timeliness
from postal.dossiers.intake import due_for
from postal.dossiers.lifecycle import State
from postal.models import (
    Applicant,
    Dossier,
    ImportBatch,
    OrgUnit,
    Procedure,
    Role,
    UnitKind,
    User,
    utcnow,
)
from postal.reporting.import_format import (
    COLUMNS,
    CatalogueMissing,
    Checker,
    ImportFailed,
    NewEntries,
    Row,
    RowError,
    check_file,
    count_rows,
    read_rows,
)

__all__ = ["COLUMNS", "CatalogueMissing", "ImportFailed", "ImportResult", "NewEntries",
           "RowError", "import_dossiers"]

log = logging.getLogger(__name__)
CHUNK = 1000
MAX_ERRORS = 50
SQLITE_PAUSE = 0.12  # seconds between chunks: SQLite's busy handler sleeps at most 100 ms
ABANDONED = timedelta(minutes=15)  # a batch still "writing" untouched this long has no process
Progress = Callable[[str, int, int | None], None]
T = TypeVar("T")


@dataclass
class ImportResult:
    dossiers: int = 0
    procedures: list[str] = field(default_factory=list)  # codes created
    agencies: list[str] = field(default_factory=list)
    batch_id: int | None = None


def _state(row: Row) -> State:
    if row.returned_at:
        return State.RETURNED
    if row.status:
        return State(row.status)
    if row.resolved_at:
        return State.AWAITING_RETURN
    return State.PROCESSING


def import_dossiers(
    session: Session, path: str | Path, *, calendar: WorkCalendar, now: datetime,
    default_cutoff: time | None = None, user: User | None = None, source: str | None = None,
    progress: Progress | None = None, max_errors: int = MAX_ERRORS,
    create_missing: bool = False, confirmed: NewEntries | None = None,
    chunk_rows: int = CHUNK, pause: float | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check every row of a CSV/XLSX file, then write them all; or raise ImportFailed (or
    CatalogueMissing) having written nothing.

    `user` None is the command line, a system actor; a user imports only into its subtree.
    `create_missing` (every entry the file names) and `confirmed` (exactly these) let an admin
    or the command line add procedures and agencies to the catalogue. The import commits its
    own transactions, one per chunk: call it with nothing pending in `session`. `on_batch` is
    told the batch's id once it is committed, before any row (a job queue keeps it, so that
    the worker that finds this one dead can undo the batch at once)."""
    path = Path(path)
    source = clean(source or path.name)[:200]
    if (create_missing or confirmed) and user is not None and user.role != Role.ADMIN:
        raise Forbidden("chỉ quản trị viên được thêm thủ tục, cơ quan vào danh mục khi nhập",
                        field="create_missing")
    if pause is None:
        pause = SQLITE_PAUSE if session.get_bind().dialect.name == "sqlite" else 0.0
    discard_abandoned(session, chunk_rows=chunk_rows, pause=pause)
    checker = Checker(session, now=now, user=user, create_missing=create_missing,
                      confirmed=confirmed)
    _check(session, path, checker, progress, max_errors)
    writer = _Writer(session, checker, calendar=calendar, default_cutoff=default_cutoff,
                     now=now, chunk_rows=chunk_rows, pause=pause)
    return writer.write(path, user=user, source=source, progress=progress, on_batch=on_batch)


def _in_transaction(session: Session, work: Callable[[], T], *, write: bool = True) -> T:
    """Run `work` in a transaction of its own and commit it. A writing one takes SQLite's
    write lock at BEGIN (BEGIN IMMEDIATE) and holds it only while `work` runs."""
    session.commit()  # ends the read transaction a lazy load may have begun
    token = write_intent.set(write)
    try:
        result = work()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        write_intent.reset(token)


def _check(session: Session, path: Path, checker: Checker, progress: Progress | None,
           max_errors: int) -> None:
    """Step 1, reading only: ImportFailed naming the bad rows, or CatalogueMissing."""
    def check() -> None:
        check_file(path)
        total = count_rows(path)
        errors: list[RowError] = []
        more = False
        for line, values in read_rows(path):
            errors.extend(checker.check(line, values)[1])
            if len(errors) + len(checker.late) > max_errors:
                more = True
                break
            if progress and checker.rows % CHUNK == 0:
                progress("validate", checker.rows, total)
        if not more:
            errors.extend(checker.finish())
        missing, refusals = checker.refused()
        if errors or more:
            errors = (errors + checker.late)[:max_errors] if more else errors + refusals
            raise ImportFailed(errors or [RowError(1, "", "quá nhiều lỗi")], more=more)
        if refusals:
            raise CatalogueMissing(refusals, missing)
        if checker.rows == 0:
            raise ImportFailed([RowError(2, "", "tệp không có dòng dữ liệu nào")])
        if progress:
            progress("validate", checker.rows, checker.rows)

    _in_transaction(session, check, write=False)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


class _Writer:
    """Steps 2 and 3 for a checked file: the batch, its chunks, and undoing it on failure."""

    def __init__(self, session: Session, checker: Checker, *, calendar: WorkCalendar,
                 default_cutoff: time | None, now: datetime, chunk_rows: int, pause: float):
        self.session = session
        self.checker = checker
        self.calendar = calendar
        self.default_cutoff = default_cutoff
        self.now = now
        self.chunk_rows = max(chunk_rows, 1)
        self.pause = pause
        self.procedures: dict[str, Procedure] = {}
        self.agencies: dict[str, int] = {}
        self.series: dict[str, list[int]] = {}  # dossier prefix -> ids of the units using it

    def write(self, path: Path, *, user: User | None, source: str,
              progress: Progress | None,
              on_batch: Callable[[int], None] | None = None) -> ImportResult:
        result = ImportResult()
        result.batch_id = _in_transaction(
            self.session, lambda: self._open(user.id if user else None, source, result))
        try:
            if on_batch:
                on_batch(result.batch_id)
            for chunk in _chunks(read_rows(path), self.chunk_rows):
                values = [self._values(line, raw) for line, raw in chunk]  # outside the lock
                self._write_chunk(result.batch_id, values)
                result.dossiers += len(values)
                if progress:
                    progress("import", result.dossiers, self.checker.rows)
                clock.sleep(self.pause)
            _in_transaction(self.session, lambda: self._close(result, user, source))
        except BaseException:
            self.session.rollback()
            discard(self.session, result.batch_id, chunk_rows=self.chunk_rows,
                    pause=self.pause)
            raise
        return result

    def _open(self, user_id: int | None, source: str, result: ImportResult) -> int:
        """The batch, and the catalogue entries the file needs (procedures not yet usable)."""
        batch = ImportBatch(source=source, user_id=user_id, state="writing",
                            rows=self.checker.rows, created={}, started_at=utcnow(),
                            touched_at=utcnow())
        self.session.add(batch)
        self.agencies = dict(self.checker.known_agencies)
        for code, province_code in self.checker.wanted().agencies.items():
            province = self.session.scalar(select(OrgUnit).where(OrgUnit.code == province_code))
            self.agencies[code] = add_unit(self.session, code=code, name=code,
                                           kind=UnitKind.AGENCY, parent=province).id
            result.agencies.append(code)
        self.procedures = dict(self.checker.known_procedures)
        for code, (name, field_name, agency_code) in self.checker.new_procedures.items():
            proc = Procedure(code=code, name=name, field=field_name,
                             search_key=f"{fold(code)} {fold(name)} {fold(field_name)}"[:600],
                             agency_id=self.agencies.get(agency_code) if agency_code else None,
                             processing_days=0, documents=[], active=False)
            self.session.add(proc)
            self.procedures[code] = proc
            result.procedures.append(code)
        batch.created = {"procedures": result.procedures, "agencies": result.agencies}
        self.session.flush()
        return batch.id

    def _values(self, line: int, raw: dict) -> tuple[int, Row, dict]:
        """(line, row, the dossier's columns but its ids), computed before taking the lock."""
        r, _ = self.checker.check(line, raw, second_pass=True)
        procedure = self.procedures[r.procedure_code]
        unit = self.checker.unit_objects[r.unit_id]
        due = r.due_at or due_for(self.calendar, procedure, unit, r.received_at,
                                  self.default_cutoff)
        return line, r, {
            "code": r.code, "token": secrets.token_urlsafe(16), "unit_id": r.unit_id,
            "agency_id": self.agencies[r.agency_code] if r.agency_code else procedure.agency_id,
            "procedure_id": procedure.id, "state": _state(r), "channel": r.channel,
            "return_method": r.return_method,
            "delivery_ward_id": r.ward_id if r.return_method == "home" else None,
            "documents": [], "missing_documents": [], "fee": 0, "postal_fee": 0,
            "cod_amount": 0, "delivery_attempts": 0, "created_at": self.now,
            "received_at": r.received_at, "due_at": due, "resolved_at": r.resolved_at,
            "timeliness": timeliness(r.resolved_at, due) if r.resolved_at else None,
            "returned_at": r.returned_at,
            "returned_via": r.return_method if r.returned_at else None,
            "closed_at": r.closed_at, "rating": r.rating,
            "rated_at": (r.rated_at or r.returned_at) if r.rating else None,
        }

    def _write_chunk(self, batch_id: int, values: list[tuple[int, Row, dict]]) -> None:
        try:
            _in_transaction(self.session, lambda: self._insert(batch_id, values))
        except IntegrityError:  # PostgreSQL: another import wrote one of these codes meanwhile
            raise ImportFailed([RowError(values[0][0], "code", "một mã hồ sơ từ dòng này đến "
                                         f"dòng {values[-1][0]} vừa được ghi trong lúc nhập")]
                               ) from None

    def _insert(self, batch_id: int, values: list[tuple[int, Row, dict]]) -> None:
        """One chunk: hold the counters of its codes' series, recheck the codes, insert."""
        self._raise_counters([r.code for _, r, _ in values])
        taken = set(self.session.scalars(select(Dossier.code).where(
            Dossier.code.in_([r.code for _, r, _ in values]))))
        if taken:
            raise ImportFailed([
                RowError(line, "code", f"mã hồ sơ {r.code!r} vừa được cấp hoặc ghi trong lúc "
                                       "nhập (tại quầy hoặc bởi lượt nhập khác)")
                for line, r, _ in values if r.code in taken])
        conn = self.session.connection()
        applicant_ids = reserve_ids(conn, Applicant.__table__, len(values))
        conn.execute(insert(Applicant.__table__), [
            {"id": applicant_id, "full_name": r.applicant_name, "phone": r.phone or None,
             "ward_id": r.ward_id, "search_key": fold(r.applicant_name)[:600]}
            for (_, r, _), applicant_id in zip(values, applicant_ids, strict=True)])
        dossier_ids = reserve_ids(conn, Dossier.__table__, len(values))
        conn.execute(insert(Dossier.__table__), [
            {**columns, "id": dossier_id, "applicant_id": applicant_id,
             "import_batch_id": batch_id}
            for (_, _, columns), applicant_id, dossier_id
            in zip(values, applicant_ids, dossier_ids, strict=True)])
        self.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id)
                             .values(touched_at=utcnow()))

    def _raise_counters(self, codes: list[str]) -> None:
        """Raise each daily counter whose series a code belongs to past that code, in one
        order for every import (no deadlock between two imports on PostgreSQL)."""
        highest: dict[tuple[int, date], int] = {}
        for code in codes:
            try:
                prefix, day, seq = parse_dossier_code(code)
            except ValueError:  # not canonical: the counter never draws it
                continue
            for unit_id in self._units_using(prefix):
                highest[(unit_id, day)] = max(seq, highest.get((unit_id, day), 0))
        for (unit_id, day), seq in sorted(highest.items()):
            raise_to(self.session, unit_id, DOSSIER_SCOPE, day, seq)

    def _units_using(self, prefix: str) -> list[int]:
        """The units whose dossier codes start with `prefix` (OrgUnit.dossier_prefix)."""
        if prefix not in self.series:
            self.series[prefix] = list(self.session.scalars(select(OrgUnit.id).where(or_(
                OrgUnit.ident_code == prefix,
                OrgUnit.ident_code.is_(None) & (OrgUnit.code == prefix)))))
        return self.series[prefix]

    def _close(self, result: ImportResult, user: User | None, source: str) -> None:
        """Step 3: the batch is done and its procedures usable; the audit log says so."""
        batch = self.session.get(ImportBatch, result.batch_id)
        batch.state, batch.finished_at, batch.touched_at = "done", utcnow(), utcnow()
        if result.procedures:
            self.session.execute(update(Procedure).where(Procedure.code.in_(result.procedures))
                                 .values(active=True))
        audit.record(self.session, user, "dossiers_import", "import_batch", batch.id,
                     source=source, rows=result.dossiers, procedures=result.procedures,
                     agencies=result.agencies)
        self.session.flush()


def discard(session: Session, batch_id: int, *, chunk_rows: int = CHUNK,
            pause: float = 0.0) -> None:
    """Delete what an unfinished batch wrote, chunk by chunk like the writing, then the
    procedures and agencies it created, then the batch. A failure is logged: the batch stays
    "writing" and the next import deletes it (discard_abandoned)."""
    def delete_some() -> int:
        rows = session.execute(select(Dossier.id, Dossier.applicant_id)
                               .where(Dossier.import_batch_id == batch_id)
                               .limit(chunk_rows)).all()
        if rows:
            session.execute(delete(Dossier).where(Dossier.id.in_([r[0] for r in rows])))
            session.execute(delete(Applicant).where(Applicant.id.in_([r[1] for r in rows])))
        return len(rows)

    try:
        while _in_transaction(session, delete_some):
            clock.sleep(pause)
        _in_transaction(session, lambda: _drop_batch(session, batch_id))
    except Exception:
        log.exception("could not undo import batch %s; the next import will", batch_id)


def _drop_batch(session: Session, batch_id: int) -> None:
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.state != "writing":
        return
    created = batch.created or {}
    if created.get("procedures"):  # created unusable: no dossier but the batch's can use them
        session.execute(delete(Procedure).where(Procedure.code.in_(created["procedures"]),
                                                Procedure.active.is_(False)))
    for code in created.get("agencies", []):
        try:
            with session.begin_nested():
                session.execute(delete(OrgUnit).where(OrgUnit.code == code,
                                                      OrgUnit.kind == UnitKind.AGENCY))
        except IntegrityError:  # someone gave it a user or a manifest meanwhile: it stays
            log.warning("import batch %s: agency %s is in use, kept", batch_id, code)
    session.delete(batch)
    session.flush()


def discard_abandoned(session: Session, *, chunk_rows: int = CHUNK, pause: float = 0.0) -> None:
    """Undo the batches of imports whose process died while writing (ABANDONED ago)."""
    stale = _in_transaction(session, lambda: list(session.scalars(
        select(ImportBatch.id).where(ImportBatch.state == "writing",
                                     ImportBatch.touched_at < utcnow() - ABANDONED))),
        write=False)
    for batch_id in stale:
        log.warning("undoing import batch %s, abandoned while writing", batch_id)
        discard(session, batch_id, chunk_rows=chunk_rows, pause=pause)


def reserve_ids(conn, table, n: int) -> list[int]:
    """n fresh primary keys of `table`, so rows can be inserted in bulk without RETURNING
    (which SQLAlchemy would run row by row on SQLite to keep the order)."""
    if conn.dialect.name == "postgresql":
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                               {"t": table.name})
        return list(conn.scalars(text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                 {"s": sequence, "n": n}))
    # SQLite: this transaction took the database's write lock at BEGIN (BEGIN IMMEDIATE), so
    # no other writer can use these ids before they are inserted
    start = (conn.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + n))
