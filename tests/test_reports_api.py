"""GET /api/v1/reports/summary: the report for the caller's units, and its refusals."""

from __future__ import annotations

import json

import pytest

from postal.extensions import db
from tests.metrics_factories import EXPECTED, WEEK, week_in_commune

URL = "/api/v1/reports/summary"


@pytest.fixture(autouse=True)
def _no_reload_after_commit(app):
    """Requests run in their own session: the test's must not reload expired objects."""
    db.session().expire_on_commit = False


@pytest.fixture
def week(make_unit, make_procedure):
    return week_in_commune(make_unit, make_procedure)


@pytest.fixture
def manager(make_user, week):
    return make_user("manager", unit=week)


def test_the_summary_is_the_report_of_the_callers_unit(client, api_token, manager):
    headers = api_token(manager)
    response = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1]}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == EXPECTED
    same = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1], "unit": "18304"},
                      headers=headers)
    assert same.get_json() == EXPECTED
    child = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1], "unit": "TT-XA"},
                       headers=headers)
    assert child.get_json()["received"] == 1


def test_cli_api_agree(client, api_token, manager, runner):
    api = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1]},
                     headers=api_token(manager)).get_json()
    result = runner.invoke(args=["report", "--from", WEEK[0], "--to", WEEK[1], "--unit", "18304"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api == EXPECTED


@pytest.mark.parametrize("unit", ["42", "01", "TT-NOWHERE"])
def test_a_unit_outside_the_callers_scope_is_not_found(client, api_token, manager, unit):
    response = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1], "unit": unit},
                          headers=api_token(manager))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query, field", [
    ({"from": "2025-13-01", "to": "2025-03-09"}, "from"),
    ({"from": "2025-03-01", "to": "yesterday"}, "to"),
    ({"from": "2025-03-09", "to": "2025-03-01"}, "from"),
    ({"to": "2025-03-09"}, "from"),
])
def test_bad_periods_are_422_naming_the_field(client, api_token, manager, query, field):
    response = client.get(URL, query_string=query, headers=api_token(manager))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_only_managers_and_admins(client, api_token, make_user, week):
    assert client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1]}).status_code == 401
    clerk = make_user("clerk", unit=week)
    response = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1]},
                          headers=api_token(clerk))
    assert response.status_code == 403
    admin = make_user("admin", unit=week)
    response = client.get(URL, query_string={"from": WEEK[0], "to": WEEK[1], "unit": "01"},
                          headers=api_token(admin))
    assert response.status_code == 200 and response.get_json()["received"] == 1


def test_the_route_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/reports/summary"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "unit"}
    assert {"200", "404", "422"} <= set(operation["responses"])


def test_cli_report_formats_and_bad_input(runner, week, tmp_path):
    args = ["report", "--from", WEEK[0], "--to", WEEK[1], "--unit", "18304"]
    csv_out = runner.invoke(args=[*args, "--format", "csv"])
    assert csv_out.exit_code == 0 and "received_online,— trực tuyến,3" in csv_out.stdout
    pdf = tmp_path / "r.pdf"
    result = runner.invoke(args=[*args, "--format", "pdf", "--output", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    xlsx = tmp_path / "r.xlsx"
    assert runner.invoke(args=[*args, "--format", "xlsx", "--output", str(xlsx)]).exit_code == 0
    assert xlsx.read_bytes()[:2] == b"PK"
    everything = runner.invoke(args=["report", "--from", WEEK[0], "--to", WEEK[1]])
    assert json.loads(everything.stdout)["received"] == EXPECTED["received"] + 1
    for bad in (["--from", "2025-02-30", "--to", WEEK[1]], ["--from", WEEK[1], "--to", WEEK[0]],
                ["--from", WEEK[0], "--to", WEEK[1], "--unit", "nowhere"]):
        result = runner.invoke(args=["report", *bad])
        assert result.exit_code == 2, bad
    db.session.commit()


def test_cli_export_dossiers(runner, week, tmp_path):
    out = tmp_path / "late.csv"
    result = runner.invoke(args=["export-dossiers", "--from", WEEK[0], "--to", WEEK[1],
                                 "--unit", "18304", "--figure", "resolved_late",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("code,procedure_code") and lines[1].startswith("D04,1.000001")
    bad = runner.invoke(args=["export-dossiers", "--from", WEEK[0], "--to", WEEK[1],
                              "--figure", "everything"])
    assert bad.exit_code == 2 and "unknown figure" in bad.output
    db.session.commit()
