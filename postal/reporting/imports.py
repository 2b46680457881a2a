"""Importing dossiers (interfaces.md, "Import format"): every row or none.

Two passes over the file, streamed: the first checks every row and names each bad one by line
and column (nothing is written when any is bad); the second creates the procedures and agencies
the file names and inserts the dossiers in chunks with Core INSERTs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.reference import add_unit
from postal.core.text import clean, fold
from postal.deadlines.calendar import WorkCalendar, timeliness
from postal.dossiers.intake import due_for
from postal.dossiers.lifecycle import State
from postal.models import Applicant, Dossier, Event, OrgUnit, Procedure, UnitKind, User
from postal.reporting.import_format import (
    COLUMNS,
    Checker,
    ImportFailed,
    Row,
    RowError,
    count_rows,
    read_rows,
)

__all__ = ["COLUMNS", "ImportFailed", "ImportResult", "RowError", "import_dossiers"]

CHUNK = 1000
MAX_ERRORS = 50
Progress = Callable[[str, int, int | None], None]


@dataclass
class ImportResult:
    dossiers: int = 0
    procedures: list[str] = field(default_factory=list)  # codes created
    agencies: list[str] = field(default_factory=list)


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
) -> ImportResult:
    """Check every row of a CSV/XLSX file, then insert them all (or raise ImportFailed)."""
    path = Path(path)
    source = source or path.name
    total = count_rows(path)
    checker = Checker(session, now=now)
    errors: list[RowError] = []
    more = False
    done = 0
    for line, values in read_rows(path):
        _, row_errors = checker.check(line, values)
        errors.extend(row_errors)
        if len(errors) + len(checker.late) > max_errors:
            more = True
            break
        done += 1
        if progress and done % CHUNK == 0:
            progress("validate", done, total)
    if not more:
        errors.extend(checker.finish())
    errors = (errors + checker.late)[:max_errors] if more else errors
    if errors or more:
        raise ImportFailed(errors or [RowError(1, "", "quá nhiều lỗi")], more=more)
    if checker.rows == 0:
        raise ImportFailed([RowError(2, "", "tệp không có dòng dữ liệu nào")])
    if progress:
        progress("validate", checker.rows, checker.rows)

    result = ImportResult()
    procedures, agencies = _create_catalogue(session, checker, result)
    batch: list[tuple[int, Row]] = []
    done = 0
    for line, values in read_rows(path):
        row, _ = checker.check(line, values, second_pass=True)
        batch.append((line, row))
        if len(batch) == CHUNK:
            done += _insert(session, batch, procedures, agencies, checker, calendar,
                            default_cutoff, now, source)
            batch = []
            if progress:
                progress("import", done, checker.rows)
    if batch:
        done += _insert(session, batch, procedures, agencies, checker, calendar, default_cutoff,
                        now, source)
    if progress:
        progress("import", done, checker.rows)
    result.dossiers = done
    audit.record(session, user, "dossiers_import", "import", source, rows=done,
                 procedures=result.procedures, agencies=result.agencies)
    session.flush()
    return result


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


def _create_catalogue(session: Session, checker: Checker, result: ImportResult):
    """The agencies and procedures the file names that do not exist yet."""
    agencies: dict[str, int] = dict(checker.known_agencies)
    for code, unit_id in checker.new_agencies.items():
        unit = session.get(OrgUnit, unit_id)
        province_code = unit.path.strip("/").split("/")[0]
        province = session.scalar(select(OrgUnit).where(OrgUnit.code == province_code))
        agency = add_unit(session, code=code, name=code, kind=UnitKind.AGENCY, parent=province)
        agencies[code] = agency.id
        result.agencies.append(code)
    procedures: dict[str, Procedure] = dict(checker.known_procedures)
    for code, (name, field_name, agency_code) in checker.new_procedures.items():
        proc = Procedure(code=code, name=name, field=field_name,
                         search_key=f"{fold(code)} {fold(name)} {fold(field_name)}"[:600],
                         agency_id=agencies.get(agency_code) if agency_code else None,
                         processing_days=0, documents=[])
        session.add(proc)
        procedures[code] = proc
        result.procedures.append(code)
    session.flush()
    return procedures, agencies


def _insert(session, batch, procedures, agencies, checker, calendar, default_cutoff, now,
            source) -> int:
    """One chunk: applicants, dossiers, then their 'imported' events."""
    session.flush()  # nothing pending may take the ids reserved below
    conn = session.connection()
    applicant_ids = reserve_ids(conn, Applicant.__table__, len(batch))
    conn.execute(insert(Applicant.__table__), [
        {"id": applicant_id, "full_name": r.applicant_name, "phone": r.phone or None,
         "ward_id": r.ward_id, "search_key": fold(r.applicant_name)[:600]}
        for (_, r), applicant_id in zip(batch, applicant_ids, strict=True)])
    dossier_ids = reserve_ids(conn, Dossier.__table__, len(batch))
    rows = []
    for (_, r), applicant_id, dossier_id in zip(batch, applicant_ids, dossier_ids, strict=True):
        procedure = procedures[r.procedure_code]
        unit = checker.unit_objects[r.unit_id]
        due = r.due_at or due_for(calendar, procedure, unit, r.received_at, default_cutoff)
        rows.append({
            "id": dossier_id, "code": r.code, "token": secrets.token_urlsafe(16),
            "unit_id": r.unit_id,
            "agency_id": agencies[r.agency_code] if r.agency_code else procedure.agency_id,
            "procedure_id": procedure.id, "applicant_id": applicant_id,
            "state": _state(r), "channel": r.channel, "return_method": r.return_method,
            "delivery_ward_id": r.ward_id if r.return_method == "home" else None,
            "documents": [], "missing_documents": [], "fee": 0, "postal_fee": 0,
            "cod_amount": 0, "delivery_attempts": 0, "created_at": now,
            "received_at": r.received_at, "due_at": due, "resolved_at": r.resolved_at,
            "timeliness": timeliness(r.resolved_at, due) if r.resolved_at else None,
            "returned_at": r.returned_at,
            "returned_via": r.return_method if r.returned_at else None,
            "closed_at": r.closed_at, "rating": r.rating,
            "rated_at": (r.rated_at or r.returned_at) if r.rating else None,
        })
    conn.execute(insert(Dossier.__table__), rows)
    conn.execute(insert(Event.__table__), [
        {"kind": "imported", "dossier_id": dossier_id, "at": now, "recorded_at": now,
         "unit_id": r.unit_id, "data": {"source": clean(source)[:200], "line": line}}
        for (line, r), dossier_id in zip(batch, dossier_ids, strict=True)
    ])
    return len(batch)
