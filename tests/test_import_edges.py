"""Imports and the rest of the system (issue 12): the counter's codes, the importer's reach,
the counter working while a file goes in, and moments no office could have recorded."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from flask import current_app
from openpyxl import Workbook
from sqlalchemy import delete, func, select

from postal.core.codes import format_dossier_code, parse_dossier_code
from postal.core.db import write_intent
from postal.core.errors import Forbidden
from postal.core.sequences import next_value
from postal.core.time import TZ
from postal.deadlines.office import calendar_for
from postal.dossiers import intake
from postal.extensions import db
from postal.models import (
    Applicant,
    DailySequence,
    Dossier,
    ImportBatch,
    OrgUnit,
    Procedure,
    User,
    utcnow,
)
from postal.reporting import imports
from postal.reporting.import_format import COLUMNS, CatalogueMissing, NewEntries
from postal.reporting.imports import ImportFailed, import_dossiers
from tests.intake_factories import applicant, committing_client
from tests.test_import import NOW, _row, write_csv

ROWS = 2000  # rows of the import the counter works beside
CHUNK_ROWS = 100  # so that it is written in 20 transactions
MAX_WAIT = 2.0  # seconds an intake may wait for the import


@pytest.fixture
def client(app):
    return committing_client(app)


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="1.000001", processing_days=3)


def count(model, *where) -> int:
    n = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.commit()  # let go of SQLite's snapshot
    return n


def run(path, *, user=None, now=NOW, **kw):
    return import_dossiers(db.session, path, calendar=calendar_for(db.session, current_app.config),
                           now=now, user=user, **kw)


def known(**values) -> dict:
    """A row of the catalogue's procedure 1.000001 (its own agency)."""
    values.setdefault("procedure_code", "1.000001")
    values.setdefault("agency_code", "")
    return _row(**values)


# -- 1. an imported code of the counter's own series -------------------------------------------

def _today_code(unit, seq: int) -> str:
    return format_dossier_code(unit.dossier_prefix, utcnow().astimezone(TZ).date(), seq)


def test_an_imported_code_of_the_counters_series_never_blocks_the_counter(
        app, client, centre, procedure, make_user, api_token, tmp_path):
    manager, clerk = make_user("manager"), make_user("clerk")
    taken = _today_code(centre, 1)
    now = utcnow()
    received = (now - timedelta(minutes=5)).astimezone(TZ).isoformat()
    path = write_csv(tmp_path / "portal.csv", [known(code=taken, unit_code=centre.code,
                                                     received_at=received, due_at="")])
    assert run(path, user=manager, now=now).dossiers == 1
    headers = api_token(clerk)
    body = {"procedure_code": "1.000001", "applicant": applicant(), "channel": "counter",
            "return_method": "counter", "documents": ["d1"]}
    codes = []
    for _ in range(3):
        response = client.post("/api/v1/dossiers", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        codes.append(response.get_json()["code"])
    assert codes == [_today_code(centre, n) for n in (2, 3, 4)]


def test_intake_jumps_past_codes_stored_before_imports_raised_the_counter(
        app, centre, procedure, make_user, tmp_path):
    """Codes an import wrote before this rule, the counter still at 0: intake skips them all
    at once, and fails on none."""
    clerk = make_user("clerk")
    path = write_csv(tmp_path / "old.csv", [known(code=_today_code(centre, n),
                                                  unit_code=centre.code) for n in (1, 2, 5)])
    run(path)
    db.session.execute(delete(DailySequence))  # as the import before this rule left it
    db.session.commit()
    dossier = intake.accept(db.session, clerk=clerk, unit=clerk.unit, procedure=procedure,
                            applicant=applicant(), documents=["d1"],
                            calendar=calendar_for(db.session, current_app.config))
    db.session.commit()
    assert dossier.code == _today_code(centre, 6)


def test_an_import_raises_the_counter_of_each_series_its_codes_belong_to(
        app, centre, procedure, tmp_path):
    day = utcnow().astimezone(TZ).date()
    rows = [known(code=format_dossier_code(centre.dossier_prefix, day, 7), unit_code=centre.code),
            known(code=format_dossier_code(centre.dossier_prefix, day, 3), unit_code=centre.code),
            known(code="R7-00001", unit_code=centre.code)]
    run(write_csv(tmp_path / "in.csv", rows))
    assert next_value(db.session, centre, "dossier", day) == 8


def test_a_code_a_clerk_draws_while_the_file_is_checked_fails_the_import_not_the_intake(
        app, centre, procedure, make_user, tmp_path, monkeypatch):
    """The clerk's transaction holds the counter; the import's chunk waits for it to end (the
    write lock on SQLite, the counter's row on PostgreSQL), then finds the code taken."""
    clerk = make_user("clerk")
    path = write_csv(tmp_path / "in.csv", [known(code=_today_code(centre, 1),
                                                 unit_code=centre.code)])
    writing, drawn, codes = threading.Event(), threading.Event(), []
    write = imports._Writer.write

    def flagged(self, *args, **kw):
        writing.set()
        return write(self, *args, **kw)

    monkeypatch.setattr(imports._Writer, "write", flagged)
    app_obj, clerk_id, procedure_id = current_app._get_current_object(), clerk.id, procedure.id

    def at_the_counter():
        write_intent.set(True)
        with app_obj.app_context():
            try:
                clerk = db.session.get(User, clerk_id)
                codes.append(intake.accept(
                    db.session, clerk=clerk, unit=clerk.unit,
                    procedure=db.session.get(Procedure, procedure_id), applicant=applicant(),
                    documents=["d1"], calendar=calendar_for(db.session, app_obj.config)).code)
                drawn.set()
                writing.wait(30)
                time.sleep(0.3)  # the chunk is waiting for this transaction now
                db.session.commit()
            finally:
                db.session.remove()

    thread = threading.Thread(target=at_the_counter)
    thread.start()
    assert drawn.wait(30)
    with pytest.raises(ImportFailed) as caught:
        run(path)
    thread.join(30)
    assert codes == [_today_code(centre, 1)]
    assert [(e.line, e.column) for e in caught.value.errors] == [(2, "code")]
    assert "vừa được cấp" in caught.value.errors[0].message
    assert count(Dossier) == 1 and count(ImportBatch) == 0


# -- 2. the importer's reach -------------------------------------------------------------------

@pytest.fixture
def commune_manager(make_user):
    commune = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "18304"))
    return make_user("manager", unit=commune)


def test_a_commune_manager_cannot_import_rows_of_the_provincial_centre(
        app, commune_manager, centre, procedure, tmp_path):
    rows = [known(code="OK-1", unit_code="18304"), known(code="FAR-1", unit_code=centre.code),
            known(code="FAR-2", unit_code="42")]
    with pytest.raises(ImportFailed) as caught:
        run(write_csv(tmp_path / "in.csv", rows), user=commune_manager)
    assert [(e.line, e.column) for e in caught.value.errors] == [(3, "unit_code"),
                                                                 (4, "unit_code")]
    assert "ngoài phạm vi" in caught.value.errors[0].message
    assert count(Dossier) == 0


def test_unknown_procedures_and_agencies_are_refused_once_each_and_nothing_is_created(
        app, commune_manager, procedure, tmp_path):
    rows = [known(code="N-1"), known(code="N-2", procedure_code="9.999999",
                                     procedure_name="Thủ tục mới", agency_code="NEW-AGENCY-X"),
            known(code="N-3", procedure_code="9.999999", procedure_name="Thủ tục mới",
                  agency_code="NEW-AGENCY-X")]
    before = count(Procedure), count(OrgUnit)
    with pytest.raises(CatalogueMissing) as caught:
        run(write_csv(tmp_path / "in.csv", rows), user=commune_manager)
    assert [(e.line, e.column) for e in caught.value.errors] == [(3, "procedure_code"),
                                                                 (3, "agency_code")]
    assert caught.value.missing == NewEntries({"9.999999": ("Thủ tục mới", "Hộ tịch",
                                                            "NEW-AGENCY-X")},
                                              {"NEW-AGENCY-X": "42"})
    assert (count(Procedure), count(OrgUnit), count(Dossier)) == (*before, 0)


def test_only_an_admin_or_the_command_line_may_create_missing_entries(
        app, commune_manager, make_user, tmp_path):
    path = write_csv(tmp_path / "in.csv", [_row(code="M-1", unit_code="18304")])
    with pytest.raises(Forbidden):
        run(path, user=commune_manager, create_missing=True)
    admin = make_user("admin")
    assert run(path, user=admin, create_missing=True).procedures == ["2.000635"]


def test_a_confirmation_creates_exactly_what_it_lists(app, make_user, tmp_path):
    admin = make_user("admin")
    rows = [_row(code="C-1", unit_code="18304"),
            _row(code="C-2", unit_code="18304", procedure_code="9.1", procedure_name="Khác")]
    path = write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(CatalogueMissing) as caught:
        run(path, user=admin)
    listed = caught.value.missing
    assert sorted(listed.procedures) == ["2.000635", "9.1"] and list(listed.agencies) == ["UBX"]
    short = NewEntries({"2.000635": listed.procedures["2.000635"]}, listed.agencies)
    with pytest.raises(CatalogueMissing) as again:  # 9.1 was not confirmed
        run(path, user=admin, confirmed=short)
    assert list(again.value.missing.procedures) == ["9.1"]
    result = run(path, user=admin, confirmed=listed)
    assert sorted(result.procedures) == ["2.000635", "9.1"] and result.agencies == ["UBX"]


def test_the_command_line_refuses_unknown_entries_unless_told_to_create_them(runner, tmp_path):
    path = write_csv(tmp_path / "in.csv", [_row(code="L-1")])
    result = runner.invoke(args=["import-dossiers", str(path)])
    assert result.exit_code == 1
    assert "dòng 2, cột procedure_code" in result.output and "--create-missing" in result.output
    assert count(Procedure, Procedure.code == "2.000635") == 0
    result = runner.invoke(args=["import-dossiers", "--create-missing", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 1 procedure(s), 1 agency(ies)" in result.output


def _upload(client, path, *, job_stage=("done", "failed", "confirm")):
    from tests.conftest import csrf_from

    page = client.get("/office/import")
    response = client.post("/office/import", data={
        "csrf_token": csrf_from(page), "file": (path.open("rb"), path.name)},
        content_type="multipart/form-data")
    if response.status_code != 303:
        return response, None
    url = response.headers["Location"]
    for _ in range(400):
        status = client.get(url + "/status").get_json()
        if status["stage"] in job_stage:
            return response, status
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_the_upload_page_refuses_a_managers_unknown_entries(
        client, login, commune_manager, tmp_path):
    login(commune_manager)
    _, status = _upload(client, write_csv(tmp_path / "in.csv", [_row(code="W-1")]))
    assert status["stage"] == "failed" and status["pending"] is None
    assert [(e["line"], e["column"]) for e in status["errors"]] == [(2, "procedure_code"),
                                                                     (2, "agency_code")]
    assert count(Procedure) == 0 and count(Dossier) == 0


def test_the_upload_page_lists_what_an_admin_would_create_and_waits_for_the_confirmation(
        client, login, make_user, tmp_path):
    from tests.conftest import csrf_from

    admin = make_user("admin")
    login(admin)
    response, status = _upload(client, write_csv(tmp_path / "in.csv", [_row(code="W-1")]))
    assert status["stage"] == "confirm"
    assert status["pending"] == {
        "procedures": [{"code": "2.000635", "name": "Cấp bản sao trích lục",
                        "field": "Hộ tịch", "agency_code": "UBX"}],
        "agencies": [{"code": "UBX", "parent_code": "42"}]}
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "2.000635" in html and "UBX" in html and "/confirm" in html
    assert count(Procedure) == 0 and count(Dossier) == 0  # nothing until confirmed
    confirmed = client.post(response.headers["Location"] + "/confirm",
                            data={"csrf_token": csrf_from(page)})
    assert confirmed.status_code == 303
    for _ in range(400):
        status = client.get(response.headers["Location"] + "/status").get_json()
        if status["stage"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert status["stage"] == "done", status
    assert status["created"] == {"procedures": ["2.000635"], "agencies": ["UBX"]}
    assert count(Dossier) == 1


# -- 3. the counter keeps working while a file goes in -----------------------------------------

class Counter:
    """A clerk accepting a dossier every 50 ms in a thread of its own, timing each intake."""

    def __init__(self, clerk_id: int, procedure_id: int):
        self.app = current_app._get_current_object()
        self.clerk_id, self.procedure_id = clerk_id, procedure_id
        self.waits: list[float] = []
        self.codes: list[str] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _work(self) -> None:
        write_intent.set(True)  # as a writing request (postal.http.transactions)
        with self.app.app_context():
            try:
                while not self.stop.is_set():
                    clerk = db.session.get(User, self.clerk_id)
                    procedure = db.session.get(Procedure, self.procedure_id)
                    calendar = calendar_for(db.session, self.app.config)
                    db.session.commit()
                    started = time.perf_counter()
                    dossier = intake.accept(db.session, clerk=clerk, unit=clerk.unit,
                                            procedure=procedure, applicant=applicant(),
                                            documents=["d1"], calendar=calendar)
                    code = dossier.code
                    db.session.commit()
                    self.waits.append(time.perf_counter() - started)
                    self.codes.append(code)
                    time.sleep(0.05)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
            finally:
                db.session.remove()

    def __enter__(self):
        self.thread.start()
        while not self.codes and not self.errors:  # the counter is at work before the import
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.fixture
def big_file(tmp_path, centre):
    """ROWS rows; ten carry codes of the centre's own series today, far ahead of the counter;
    one names a procedure and an agency the catalogue lacks."""
    rows = [known(code=f"BIG-{i:05d}", unit_code=centre.code) for i in range(ROWS)]
    for i in range(10):
        rows[150 + i]["code"] = _today_code(centre, 5000 + i)
    rows[5].update(procedure_code="9.000009", procedure_name="Thủ tục nhập", agency_code="AG-NEW")
    return write_csv(tmp_path / "big.csv", rows)


def test_intakes_go_through_while_a_big_import_is_written_in_chunks(
        app, centre, procedure, make_user, big_file):
    clerk = make_user("clerk")
    with Counter(clerk.id, procedure.id) as counter:
        result = run(big_file, create_missing=True, chunk_rows=CHUNK_ROWS)
    assert counter.errors == []
    assert result.dossiers == ROWS
    assert len(counter.codes) >= 5 and max(counter.waits) <= MAX_WAIT, max(counter.waits)
    assert count(Dossier, Dossier.import_batch_id == result.batch_id) == ROWS
    assert count(Dossier, Dossier.import_batch_id.is_(None)) == len(counter.codes)
    numbers = [parse_dossier_code(c)[2] for c in counter.codes]
    assert numbers == sorted(set(numbers)) and not set(numbers) & set(range(5000, 5010))
    assert numbers[-1] > 5009  # the second chunk raised the counter past the file's codes
    assert count(Procedure, Procedure.code == "9.000009", Procedure.active) == 1


def test_a_failure_half_way_leaves_nothing_of_the_import_and_every_intake(
        app, centre, procedure, make_user, big_file, monkeypatch):
    clerk = make_user("clerk")
    insert, calls = imports._Writer._insert, []

    def failing(self, batch_id, values):
        calls.append(batch_id)
        if len(calls) == 8:  # seven chunks are committed by now
            assert count_in(batch_id) == 7 * CHUNK_ROWS
            raise RuntimeError("disk full (injected)")
        return insert(self, batch_id, values)

    def count_in(batch_id):
        return db.session.connection().scalar(
            select(func.count()).select_from(Dossier).where(Dossier.import_batch_id == batch_id))

    monkeypatch.setattr(imports._Writer, "_insert", failing)
    before = count(Procedure), count(OrgUnit)
    with Counter(clerk.id, procedure.id) as counter, pytest.raises(RuntimeError):
        run(big_file, create_missing=True, chunk_rows=CHUNK_ROWS)
    assert counter.errors == [] and max(counter.waits) <= MAX_WAIT
    assert count(Dossier) == count(Applicant) == len(counter.codes)
    assert count(Dossier, Dossier.code.like("BIG-%")) == 0
    assert count(ImportBatch) == 0
    assert (count(Procedure), count(OrgUnit)) == before  # 9.000009 and AG-NEW are gone


def test_a_batch_left_by_a_dead_process_is_undone_by_the_next_import(
        app, centre, procedure, tmp_path):
    result = run(write_csv(tmp_path / "a.csv", [known(code="D-1", unit_code=centre.code)]))
    batch = db.session.get(ImportBatch, result.batch_id)
    batch.state, batch.touched_at = "writing", utcnow() - imports.ABANDONED * 2
    db.session.commit()
    run(write_csv(tmp_path / "b.csv", [known(code="D-2", unit_code=centre.code)]))
    assert [d.code for d in db.session.scalars(select(Dossier))] == ["D-2"]
    assert count(ImportBatch) == 1 and count(Applicant) == 1


# -- 5. moments no office could have recorded --------------------------------------------------

@pytest.mark.parametrize("values, column", [
    ({"received_at": "0001-01-01"}, "received_at"),
    ({"received_at": "1999-12-31T23:59:00+07:00"}, "received_at"),
    ({"due_at": "2205-01-01"}, "due_at"),
    ({"resolved_at": "9999-12-31T23:59:59-10:00"}, "resolved_at"),
    ({"received_at": "2025-02-30"}, "received_at"),
])
def test_moments_outside_a_sane_window_are_row_errors(app, procedure, tmp_path, values, column):
    path = write_csv(tmp_path / "in.csv", [known(code="T-1"), known(code="T-2", **values)])
    with pytest.raises(ImportFailed) as caught:
        run(path)
    assert (3, column) in [(e.line, e.column) for e in caught.value.errors]
    assert count(Dossier) == 0


def test_year_one_on_the_command_line_is_a_row_error_not_a_traceback(runner, procedure,
                                                                     tmp_path):
    path = write_csv(tmp_path / "in.csv", [known(code="Y-1", received_at="0001-01-01")])
    result = runner.invoke(args=["import-dossiers", str(path)])
    assert result.exit_code == 1
    assert "dòng 2, cột received_at" in result.output and "trước năm 2000" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_an_xlsx_date_beyond_the_calendar_is_a_row_error(app, procedure, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    row = known(code="X-1")
    sheet.append([row[c] or None for c in COLUMNS])
    sheet["K2"].value = 10**9  # received_at: a serial date some million years ahead
    sheet["K2"].number_format = "yyyy-mm-dd"
    path = tmp_path / "in.xlsx"
    book.save(path)
    with pytest.raises(ImportFailed) as caught:
        run(path)
    assert caught.value.errors[0].line == 2


def test_an_unexpected_failure_on_the_command_line_prints_no_traceback(
        runner, procedure, tmp_path, monkeypatch):
    def broken(*_args, **_kw):
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(imports._Writer, "_insert", broken)
    path = write_csv(tmp_path / "in.csv", [known(code="Z-1")])
    result = runner.invoke(args=["import-dossiers", str(path)])
    assert result.exit_code == 1 and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert count(Dossier) == 0 and count(ImportBatch) == 0

