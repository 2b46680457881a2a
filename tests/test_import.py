"""Importing dossiers: every row or none, bad rows named by line and column, CSV and XLSX."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from postal.deadlines.office import calendar_for
from postal.extensions import db
from postal.models import Applicant, Dossier, Event, ImportBatch, OrgUnit, Procedure, UnitKind
from postal.reporting.import_format import COLUMNS
from postal.reporting.imports import ImportFailed, import_dossiers

SHARED = Path(__file__).resolve().parents[2] / "shared" / "examples"
NOW = datetime(2025, 7, 1, tzinfo=UTC)


def _row(**values) -> dict:
    row = {c: "" for c in COLUMNS}
    row.update(code="X-1", procedure_code="2.000635", procedure_name="Cấp bản sao trích lục",
               field="Hộ tịch", agency_code="UBX", unit_code="18304", channel="counter",
               applicant_name="Nguyễn Văn A", phone="0905123456",
               received_at="2025-03-03T08:00:00+07:00", due_at="2025-03-05T17:00:00+07:00")
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict]) -> Path:
    lines = [",".join(COLUMNS)]
    lines += [",".join(str(r[c]) for c in COLUMNS) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_import(app, path, **kw):
    """As the command line does with --create-missing (the rows name a new procedure)."""
    kw.setdefault("create_missing", True)
    return import_dossiers(db.session, path, calendar=calendar_for(db.session, app.config),
                           now=NOW, **kw)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_shared_sample_imports_and_reports_the_shared_figures(runner):
    result = runner.invoke(args=["import-dossiers", "--create-missing",
                                 str(SHARED / "import-sample.csv")])
    assert result.exit_code == 0, result.output
    assert "imported 40 dossiers" in result.output
    result = runner.invoke(args=["report", "--from", "2022-02-01", "--to", "2022-02-28",
                                 "--unit", "18304", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    expected = json.loads((SHARED / "report-sample.json").read_text())
    for key, value in expected.items():
        assert got[key] == value, key


def test_imported_dossiers_get_state_timeliness_applicant_token_and_event(app, tmp_path):
    rows = [
        _row(code="A-1"),
        _row(code="A-2", resolved_at="2025-03-05T17:00:00+07:00",
             returned_at="2025-03-06T09:00:00+07:00", return_method="home", rating="5"),
        _row(code="A-3", resolved_at="2025-03-05T17:00:01+07:00"),
        _row(code="A-4", status="withdrawn", closed_at="2025-03-04T10:00:00+07:00"),
        _row(code="A-5", resolved_at="2025-03-04T10:00:00+07:00", status="", ward_code="18304"),
    ]
    result = run_import(app, write_csv(tmp_path / "in.csv", rows))
    assert result.dossiers == 5
    by_code = {d.code: d for d in db.session.scalars(select(Dossier))}
    assert by_code["A-1"].state == "processing" and by_code["A-1"].timeliness is None
    assert by_code["A-2"].state == "returned" and by_code["A-2"].timeliness == "on_time"
    assert by_code["A-2"].returned_via == "home" and by_code["A-2"].rating == 5
    assert by_code["A-2"].rated_at == by_code["A-2"].returned_at
    assert by_code["A-3"].state == "awaiting_return" and by_code["A-3"].timeliness == "late"
    assert by_code["A-4"].state == "withdrawn" and by_code["A-4"].closed_at is not None
    assert by_code["A-5"].timeliness == "early"
    assert by_code["A-5"].applicant.ward.code == "18304"
    assert all(len(d.token) >= 20 for d in by_code.values())
    assert len({d.token for d in by_code.values()}) == 5
    assert by_code["A-1"].applicant.full_name == "Nguyễn Văn A"
    # where they came from is their batch: the append-only event log gets nothing it could
    # not take back if the import failed half-way
    assert count(Event) == 0
    batch = db.session.get(ImportBatch, result.batch_id)
    assert batch.state == "done" and batch.source == "in.csv" and batch.rows == 5
    assert {d.import_batch_id for d in by_code.values()} == {batch.id}
    assert result.procedures == ["2.000635"] and result.agencies == ["UBX"]
    assert db.session.scalar(select(Procedure).where(Procedure.code == "2.000635")).active
    agency = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "UBX"))
    assert agency.kind == UnitKind.AGENCY and agency.parent.code == "42"


def test_empty_due_at_is_computed_from_the_procedures_period(app, tmp_path, make_procedure):
    make_procedure(code="1.000001", processing_days=3)
    rows = [_row(code="D-1", procedure_code="1.000001", procedure_name="", due_at="",
                 received_at="2025-04-25T09:00:00+07:00")]  # a Friday
    run_import(app, write_csv(tmp_path / "in.csv", rows))
    dossier = db.session.scalar(select(Dossier))
    # Saturday 26/4/2025 was worked in exchange for Friday 2/5: Sat 26, Mon 28, Tue 29
    assert dossier.due_at == datetime(2025, 4, 29, 10, 0, tzinfo=UTC)


def test_one_bad_row_writes_nothing_and_names_line_and_column(app, tmp_path, runner):
    rows = [_row(code=f"B-{i}") for i in range(5)]
    rows[3]["received_at"] = "hôm qua"
    path = write_csv(tmp_path / "bad.csv", rows)
    before = (count(Dossier), count(Applicant), count(Procedure), count(OrgUnit))
    with pytest.raises(ImportFailed) as caught:
        run_import(app, path)
    assert [(e.line, e.column) for e in caught.value.errors] == [(5, "received_at")]
    db.session.rollback()
    assert (count(Dossier), count(Applicant), count(Procedure), count(OrgUnit)) == before
    result = runner.invoke(args=["import-dossiers", "--create-missing", str(path)])
    assert result.exit_code == 1
    assert "dòng 5, cột received_at" in result.output
    assert "nothing was imported" in result.output
    assert count(Dossier) == 0


@pytest.mark.parametrize("values, column", [
    ({"unit_code": "99999"}, "unit_code"),
    ({"channel": "fax"}, "channel"),
    ({"return_method": "drone"}, "return_method"),
    ({"rating": "7", "returned_at": "2025-03-06T09:00:00+07:00",
      "resolved_at": "2025-03-05T09:00:00+07:00"}, "rating"),
    ({"status": "withdrawn"}, "closed_at"),
    ({"closed_at": "2025-03-04T10:00:00+07:00"}, "status"),
    ({"returned_at": "2025-03-06T09:00:00+07:00"}, "resolved_at"),
    ({"resolved_at": "2025-03-01T09:00:00+07:00"}, "resolved_at"),
    ({"received_at": "2031-01-01"}, "received_at"),
    ({"applicant_name": ""}, "applicant_name"),
    ({"ward_code": "77777"}, "ward_code"),
    ({"procedure_code": "9.999", "procedure_name": ""}, "procedure_name"),
    ({"procedure_code": "9.999", "due_at": ""}, "due_at"),
    ({"phone": "call me"}, "phone"),
    ({"rating": "4"}, "rated_at"),
])
def test_each_rule_names_its_column(app, tmp_path, values, column):
    path = write_csv(tmp_path / "bad.csv", [_row(code="OK-1"), _row(code="BAD-1", **values)])
    with pytest.raises(ImportFailed) as caught:
        run_import(app, path)
    assert (3, column) in [(e.line, e.column) for e in caught.value.errors]
    db.session.rollback()
    assert count(Dossier) == 0


def test_duplicate_codes_in_the_file_and_in_the_database_are_refused(app, tmp_path):
    run_import(app, write_csv(tmp_path / "a.csv", [_row(code="C-1")]))
    db.session.commit()
    path = write_csv(tmp_path / "b.csv", [_row(code="C-2"), _row(code="C-2"), _row(code="C-1")])
    with pytest.raises(ImportFailed) as caught:
        run_import(app, path)
    assert {(e.line, e.column) for e in caught.value.errors} == {(3, "code"), (4, "code")}
    db.session.rollback()
    assert count(Dossier) == 1


def test_missing_header_column_and_wrong_file_type(app, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("code,unit_code\nX,18304\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        run_import(app, path)
    assert all(e.line == 1 for e in caught.value.errors)
    assert "channel" in {e.column for e in caught.value.errors}
    other = tmp_path / "x.txt"
    other.write_text("hello")
    with pytest.raises(ImportFailed):
        run_import(app, other)


def test_errors_stop_at_the_limit(app, tmp_path):
    rows = [_row(code=f"E-{i}", channel="fax") for i in range(80)]
    with pytest.raises(ImportFailed) as caught:
        run_import(app, write_csv(tmp_path / "many.csv", rows), max_errors=50)
    assert len(caught.value.errors) == 50 and caught.value.more


def test_xlsx_import_with_native_cells(app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    row = _row(code="XL-1", unit_code=18304, phone=905123456, rating=4.0,
               received_at=datetime(2025, 3, 3, 8, 0), resolved_at="2025-03-04T08:00:00+07:00",
               returned_at=datetime(2025, 3, 5, 9, 30))
    sheet.append([row[c] if row[c] != "" else None for c in COLUMNS])
    sheet.append([None] * len(COLUMNS))  # trailing empty rows are skipped
    path = tmp_path / "in.xlsx"
    book.save(path)
    progress = []
    result = run_import(app, path, progress=lambda *a: progress.append(a))
    assert result.dossiers == 1
    dossier = db.session.scalar(select(Dossier))
    assert dossier.received_at == datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # local 08:00
    assert dossier.applicant.phone == "0905123456" and dossier.rating == 4
    assert progress[-1] == ("import", 1, 1)


def test_cli_progress_and_unknown_file(runner, tmp_path):
    path = write_csv(tmp_path / "in.csv", [_row(code=f"P-{i}") for i in range(3)])
    result = runner.invoke(args=["import-dossiers", "--create-missing", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 3 dossiers" in result.output
    result = runner.invoke(args=["import-dossiers", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
