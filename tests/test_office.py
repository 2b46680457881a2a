"""The district office's pages: dashboard figures and their lists, downloads, closing, import."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from postal.extensions import db
from postal.models import Dossier, ReportClosure
from tests.conftest import csrf_from
from tests.metrics_factories import EXPECTED, WEEK, week_in_commune
from tests.test_import import _row, write_csv

Q = {"from": WEEK[0], "to": WEEK[1]}


@pytest.fixture(autouse=True)
def _no_reload_after_commit(app):
    """Requests run in their own session: the test's must not reload expired objects."""
    db.session().expire_on_commit = False


@pytest.fixture
def week(make_unit, make_procedure):
    return week_in_commune(make_unit, make_procedure)


@pytest.fixture
def manager(make_user, week, login):
    user = make_user("manager", unit=week)
    login(user)
    return user


def page_figures(html: str) -> dict[str, tuple[int, str]]:
    """figure -> (this period's number, its link) from the dashboard's figures table."""
    out = {}
    for key, value, href in re.findall(
            r'data-figure="(\w+)">\s*<th[^>]*>[^<]*</th>\s*<td class="num"><a class="fig" '
            r'href="([^"]+)">([\d.]+)</a>', html):
        out[key] = (int(href.replace(".", "")), value.replace("&amp;", "&"))
    return out


def test_the_page_shows_the_same_figures_as_the_cli_and_the_api(client, manager, runner):
    html = client.get("/office/", query_string=Q).get_data(as_text=True)
    shown = {k: v for k, (v, _) in page_figures(html).items()}
    counts = {k: v for k, v in EXPECTED.items() if isinstance(v, int)}
    assert shown == counts
    result = runner.invoke(args=["report", "--from", WEEK[0], "--to", WEEK[1], "--unit", "18304"])
    db.session.commit()  # the command ran in the test's session
    api = client.get("/api/v1/reports/summary", query_string=Q).get_json()  # the session
    assert json.loads(result.stdout) == api == EXPECTED
    assert "<svg" in html and "cdn" not in html.lower()
    assert "D01" in html and "D16" in html  # overdue now


def test_every_number_opens_the_dossiers_behind_it(client, manager):
    html = client.get("/office/", query_string=Q).get_data(as_text=True)
    for key, (value, href) in page_figures(html).items():
        listing = client.get(href)
        assert listing.status_code == 200, href
        total = re.search(r'<span class="muted">\((\d+)\)</span>', listing.get_data(as_text=True))
        assert int(total.group(1)) == value, key
    links = set(re.findall(r'href="(/office/dossiers\?[^"]+by=[^"]+)"', html))
    assert any("by=agency" in link for link in links) and any("by=field" in link for link in links)
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_the_list_exports_csv_and_xlsx_in_the_import_format(client, manager):
    args = {**Q, "figure": "resolved", "unit": "18304"}
    body = client.get("/office/dossiers.csv", query_string=args).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert {r["code"] for r in rows} == {"D02", "D03", "D04", "D05", "D06", "D18", "D19", "D20"}
    assert rows[0]["procedure_code"] == "1.000001"
    data = client.get("/office/dossiers.xlsx", query_string=args).data
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "code" and len(values) == 9


def test_reports_and_the_register_download(client, manager):
    for path, kind in (("/office/report.pdf", "application/pdf"),
                       ("/office/register.pdf", "application/pdf")):
        response = client.get(path, query_string=Q)
        assert response.status_code == 200 and response.mimetype == kind
        assert response.data.startswith(b"%PDF")
    text = client.get("/office/report.csv", query_string=Q).get_data(as_text=True)
    assert "resolved_late,— quá hạn,1" in text
    data = client.get("/office/register.xlsx", query_string=Q).data
    rows = list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
                .iter_rows(values_only=True))
    codes = {r[1] for r in rows[2:]}
    assert {"D03", "D16", "D10"} <= codes and "D11" not in codes and "D01" not in codes


@pytest.mark.parametrize("query, status", [
    ({"unit": "01"}, 404), ({"unit": "42"}, 404), ({"from": "2025-02-30", "to": "x"}, 422),
    ({"from": "2025-03-09", "to": "2025-03-01"}, 422),
])
def test_bad_requests_are_clear_errors(client, manager, query, status):
    for path in ("/office/", "/office/dossiers", "/office/report.pdf", "/office/register.xlsx"):
        response = client.get(path, query_string=query)
        assert response.status_code == status, path


def test_only_managers_see_the_office(client, make_user, week, login):
    assert client.get("/office/").status_code == 302
    login(make_user("clerk", unit=week))
    assert client.get("/office/").status_code == 403
    assert client.get("/office/dossiers", query_string=Q).status_code == 403


def test_a_manager_closes_a_month_once(client, manager):
    page = client.get("/office/", query_string={"from": "2025-03-01", "to": "2025-03-31"})
    token = csrf_from(page)
    response = client.post("/office/close?unit=18304",
                           data={"month": "2025-03", "csrf_token": token})
    assert response.status_code == 302
    assert _count(ReportClosure) == 1
    again = client.post("/office/close?unit=18304", data={"month": "2025-03", "csrf_token": token})
    assert again.status_code == 409
    bad = client.post("/office/close?unit=18304", data={"month": "March", "csrf_token": token})
    assert bad.status_code == 422
    assert client.post("/office/close?unit=18304", data={"month": "2025-02"}).status_code == 400
    html = client.get("/office/", query_string={"from": "2025-03-01", "to": "2025-03-31"}
                      ).get_data(as_text=True)
    assert "Số liệu chính thức" in html


def _count(model, *where) -> int:
    """A count read by the test's own session, which then lets go of SQLite's lock."""
    n = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.commit()
    return n


def _wait(client, url):
    for _ in range(200):
        status = client.get(url).get_json()
        if status["finished"]:
            return status
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_the_upload_page_imports_in_the_background(client, manager, tmp_path):
    page = client.get("/office/import")
    # the week's procedure: a manager's import never adds to the catalogue
    path = write_csv(tmp_path / "in.csv", [_row(code=f"U-{i}", procedure_code="1.000001",
                                                agency_code="") for i in range(3)])
    db.session.commit()
    response = client.post("/office/import", data={
        "csrf_token": csrf_from(page), "file": (path.open("rb"), "in.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    job_url = response.headers["Location"]
    assert client.get(job_url).status_code == 200
    status = _wait(client, job_url + "/status")
    assert status["stage"] == "done" and status["dossiers"] == 3
    assert status["done"] == status["total"] == 3
    assert _count(Dossier, Dossier.code.like("U-%")) == 3


def test_an_upload_with_a_bad_row_writes_nothing_and_lists_it(client, manager, tmp_path):
    page = client.get("/office/import")
    rows = [_row(code=f"V-{i}", procedure_code="1.000001", agency_code="") for i in range(3)]
    rows[1]["channel"] = "fax"
    path = write_csv(tmp_path / "bad.csv", rows)
    db.session.commit()
    response = client.post("/office/import", data={
        "csrf_token": csrf_from(page), "file": (path.open("rb"), "bad.csv")},
        content_type="multipart/form-data")
    status = _wait(client, response.headers["Location"] + "/status")
    assert status["stage"] == "failed"
    assert status["errors"] == [{"line": 3, "column": "channel",
                                 "message": "phải là một trong counter, home_pickup, online"}]
    assert _count(Dossier, Dossier.code.like("V-%")) == 0
    wrong = client.post("/office/import", data={
        "csrf_token": csrf_from(page), "file": (io.BytesIO(b"x"), "notes.txt")},
        content_type="multipart/form-data")
    assert wrong.status_code == 422
    assert client.get("/office/import/nope/status").status_code == 404


def test_the_dashboard_opens_with_the_four_headline_tiles_of_this_month(client, login,
                                                                       make_user, app):
    """Home delivery (with its target), on time, overdue now and satisfaction come first, each
    a link to its dossiers; the default period is the current month."""
    import re

    login(make_user("manager"))
    page = client.get("/office/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    tiles = re.findall(r'id="tile-(\w+)"\s+href="([^"]+)"', html)
    assert [k for k, _ in tiles] == ["home", "on_time", "overdue", "satisfied"]
    assert html.index('id="headline"') < html.index('id="figures"')
    assert "figure=returned_home" in tiles[0][1] and "figure=overdue_now" in tiles[2][1]
    target = app.config["HOME_DELIVERY_TARGET"]
    assert f"mục tiêu {target}%" in " ".join(html.split())
    from postal.core.time import TZ
    from postal.models import utcnow

    first = utcnow().astimezone(TZ).date().replace(day=1).isoformat()
    assert f"from={first}" in tiles[0][1].replace("&amp;", "&")
    for _key, link in tiles:
        assert client.get(link.replace("&amp;", "&")).status_code == 200


def test_csv_downloads_carry_a_bom_and_one_charset(client, login, make_user):
    login(make_user("manager"))
    for url in ("/office/report.csv", "/office/dossiers.csv?figure=received"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8", url
        assert answer.data.startswith("\ufeff".encode()), url
