"""Odd input is a clear 4xx naming what is wrong, never a 500: JSON nested deeper than any real
body (the parser's recursion), and report dates at the ends of the calendar (date overflow)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from postal.core.time import TZ
from postal.models import utcnow
from tests.authz_factories import build_world
from tests.conftest import csrf_from

DEEP = 100_000
BODIES = {
    "array": "[" * DEEP + "]" * DEEP,
    "object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "inside a batch": '[{"id": "x", "barcode": ' + "[" * DEEP + "]" * DEEP + "}]",
    "deep but parseable": "[" * 500 + "]" * 500,
}


@pytest.fixture
def world(app, province):
    return build_world(province)


def _bearer(world, role):
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def _json_routes(app) -> list[tuple[str, str]]:
    """Every API route taking a body, its path parameters filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            path = re.sub(r"<int:[^>]+>", "1", rule.rule)
            path = re.sub(r"<[^>]+>", "x", path)
            out.append((method, path))
    return out


@pytest.mark.parametrize("kind", BODIES)
def test_a_deeply_nested_scan_batch_is_a_422_naming_the_body(client, world, kind):
    response = client.post("/api/v1/scans", data=BODIES[kind], content_type="application/json",
                           headers=_bearer(world, "courier"))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["field"] == "body" and "nested" in error["message"]


def test_every_json_route_answers_a_deep_body_with_a_422(app, client, world):
    routes = _json_routes(app)
    assert ("POST", "/api/v1/scans") in routes and len(routes) > 10
    for method, path in routes:
        for kind in ("array", "object"):
            response = client.open(path, method=method, data=BODIES[kind],
                                   content_type="application/json",
                                   headers=_bearer(world, "admin"))
            assert response.status_code == 422, (method, path, kind, response.status_code)
            assert response.get_json()["error"]["field"] == "body"


def test_a_page_reading_json_answers_a_deep_body_with_a_4xx(client, world, login):
    """The counter's ID-card reader posts JSON to a page (CSRF token in the header)."""
    login(world.users["clerk"])
    token = csrf_from(client.get("/counter/"))
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    for kind in ("array", "object"):
        response = client.post("/counter/cccd", data=BODIES[kind],
                               content_type="application/json", headers=headers)
        assert response.status_code == 422, response.status_code
        assert response.get_json()["error"]["field"] == "body"
    ordinary = client.post("/counter/cccd", json={"text": "not|a|card"}, headers=headers)
    assert ordinary.get_json()["error"]["field"] == "cccd"  # read, and judged on its merits
    assert client.post("/counter/cccd", data=BODIES["array"], content_type="application/json"
                       ).status_code == 400  # no CSRF token: refused before the body is read


def test_an_ordinary_batch_still_passes(client, world):
    at = utcnow().isoformat()
    response = client.post("/api/v1/scans", headers=_bearer(world, "courier"), json=[
        {"id": "2b1f8a2e-8d5a-4c59-9d0b-2f0b9c7e1a11", "barcode": "nothing-like-it",
         "event": "pickup", "at": at}])
    assert response.status_code == 200
    assert response.get_json()[0]["status"] == "rejected"


def _today():
    return utcnow().astimezone(TZ).date()


def _odd_periods():
    return [
        ({"from": "2025-03-01", "to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "2025-03-01"}, "from"),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "from"),
        ({"from": "1999-12-31", "to": "2025-03-01"}, "from"),
        ({"from": "2025-03-01", "to": (_today() + timedelta(days=367)).isoformat()}, "to"),
    ]


@pytest.mark.parametrize("path", ["/api/v1/reports/summary", "/api/v1/reports/corrections"])
def test_report_dates_outside_the_window_are_a_422_naming_the_field(client, world, path):
    for query, field in _odd_periods():
        response = client.get(path, query_string=query, headers=_bearer(world, "manager"))
        assert response.status_code == 422, (query, response.status_code)
        error = response.get_json()["error"]
        assert error["field"] == field, (query, error)
        assert "2000-01-01" in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/reports/summary", "/api/v1/reports/corrections"])
def test_the_ends_of_the_window_are_allowed(client, world, path):
    query = {"from": "2000-01-01", "to": (_today() + timedelta(days=365)).isoformat()}
    response = client.get(path, query_string=query, headers=_bearer(world, "manager"))
    assert response.status_code == 200, response.get_json()


OFFICE = ["/office/", "/office/dossiers", "/office/dossiers.csv", "/office/dossiers.xlsx",
          "/office/report.pdf", "/office/report.xlsx", "/office/report.csv",
          "/office/register.pdf", "/office/register.xlsx"]


@pytest.mark.parametrize("path", OFFICE)
def test_office_pages_refuse_dates_outside_the_window(client, world, login, path):
    login(world.users["manager"])
    for query, field in _odd_periods():
        response = client.get(path, query_string=query)
        assert response.status_code == 422, (path, query, response.status_code)
        assert field in response.get_data(as_text=True)


def test_the_office_page_shows_the_whole_window(client, world, login):
    login(world.users["manager"])
    query = {"from": "2000-01-01", "to": (_today() + timedelta(days=365)).isoformat()}
    assert client.get("/office/", query_string=query).status_code == 200
    assert client.get("/office/report.pdf", query_string=query).status_code == 200


def test_closing_a_month_at_the_start_of_the_calendar_is_a_4xx(client, world, login):
    """Month 0001-01 has no start in UTC (the report's period bounds overflowed: a 500)."""
    login(world.users["manager"])
    page = client.get("/office/")
    for month in ("0001-01", "1999-12", "9999-12"):
        response = client.post("/office/close", data={"month": month,
                                                      "csrf_token": csrf_from(page)})
        assert 400 <= response.status_code < 500, (month, response.status_code)


@pytest.mark.parametrize("args", [["--from", "2025-01-01", "--to", "9999-12-31"],
                                  ["--from", "0001-01-01", "--to", "2025-01-31"]])
def test_the_report_command_refuses_dates_outside_the_window_without_a_traceback(runner, args):
    result = runner.invoke(args=["report", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "a date from 2000-01-01" in result.output
