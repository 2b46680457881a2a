"""Manifests through the API and the pages; the control sheet; the transit alerts page."""

from __future__ import annotations

import pytest
from conftest import csrf_from
from custody_support import NOW, at, committing_client, scan
from sqlalchemy import func, select

from postal.custody import record_batch
from postal.extensions import db
from postal.models import Manifest

pytest_plugins = ["custody_factories"]


@pytest.fixture
def client(app):
    return committing_client(app)


def test_a_manifest_through_the_api(client, api_token, world):
    w = world
    dossiers = [w.dossier() for _ in range(3)]
    barcodes = [w.folder(d).number for d in dossiers[:2]] + [dossiers[2].code]
    clerk = api_token(w.clerk)
    r = client.post("/api/v1/manifests", headers=clerk,
                    json={"to_unit": w.agency.code, "barcodes": barcodes})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code = body["code"]
    assert code.startswith("BK-000.00.42.H26-") and body["status"] == "open"
    assert [i["status"] for i in body["items"]] == ["listed"] * 3
    assert body["counts"]["listed"] == 3
    pdf = client.get(f"/api/v1/manifests/{code}.pdf", headers=clerk)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    officer = api_token(w.officer)
    assert client.get(f"/api/v1/manifests/{code}", headers=officer).status_code == 200
    listed = client.get("/api/v1/manifests?direction=in", headers=officer).get_json()
    assert [m["code"] for m in listed] == [code]
    r = client.post(f"/api/v1/manifests/{code}/receive", headers=officer,
                    json={"barcodes": barcodes[:2]})
    assert [x["status"] for x in r.get_json()["results"]] == ["confirmed", "confirmed"]
    r = client.post(f"/api/v1/manifests/{code}/close", headers=officer)
    assert r.status_code == 200 and r.get_json()["status"] == "discrepancy"
    assert r.get_json()["counts"]["missing"] == 1
    assert client.post(f"/api/v1/manifests/{code}/close", headers=officer).status_code == 409
    # the sender sees the same flags; the sender cannot check in its own manifest
    shown = client.get(f"/api/v1/manifests/{code}", headers=clerk).get_json()
    assert shown["counts"]["missing"] == 1
    assert client.post(f"/api/v1/manifests/{code}/receive", headers=clerk,
                       json={"barcodes": barcodes[:1]}).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"to_unit": "NO-SUCH", "barcodes": ["x"]}, "to_unit"),
    ({"to_unit": "STP-TEST", "barcodes": []}, "barcodes"),
    ({"to_unit": "STP-TEST", "barcodes": ["RR000000000XX"]}, "barcodes"),
    ({"to_unit": "STP-TEST"}, "barcodes"),
])
def test_bad_manifests_are_refused_and_write_nothing(client, api_token, world, body, field):
    w = world
    w.dossier()
    r = client.post("/api/v1/manifests", headers=api_token(w.clerk), json=body)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == field
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Manifest)) == 0


def test_another_units_manifest_is_not_found(client, api_token, world, make_user):
    w = world
    r = client.post("/api/v1/manifests", headers=api_token(w.clerk),
                    json={"to_unit": w.agency.code, "barcodes": [w.folder(w.dossier()).number]})
    code = r.get_json()["code"]
    stranger = make_user("clerk", unit=w.other_centre)
    assert client.get(f"/api/v1/manifests/{code}", headers=api_token(stranger)).status_code == 404
    assert client.get(f"/api/v1/manifests/{code}.pdf",
                      headers=api_token(stranger)).status_code == 404


def test_the_clerk_builds_prints_and_the_agency_checks_on_the_pages(client, login, world):
    w = world
    d1, d2 = w.dossier(), w.dossier()
    f1, f2 = w.folder(d1).number, w.folder(d2).number
    login(w.clerk)
    page = client.get("/manifests/new")
    html = page.get_data(as_text=True)
    assert f1 in html and f2 in html and 'value="STP-TEST" selected' in html
    bad = client.post("/manifests/new", data={"csrf_token": csrf_from(page), "to_unit": "STP-TEST"})
    assert bad.status_code == 422 and 'id="barcodes-error"' in bad.get_data(as_text=True)
    made = client.post("/manifests/new", data={"csrf_token": csrf_from(page),
                                               "to_unit": "STP-TEST", "item": [f1],
                                               "barcodes": f"{d2.code}\n"})
    assert made.status_code == 303
    code = db.session.scalar(select(Manifest.code))
    assert code in client.get("/manifests/").get_data(as_text=True)
    shown = client.get(f"/manifests/{code}")
    assert shown.status_code == 200 and 'id="receive"' not in shown.get_data(as_text=True)
    assert client.get(f"/manifests/{code}.pdf").data.startswith(b"%PDF")
    client.post("/logout", data={"csrf_token": csrf_from(shown)})
    login(w.officer)
    shown = client.get(f"/manifests/{code}")
    assert 'id="receive"' in shown.get_data(as_text=True)
    token = csrf_from(shown)
    r = client.post(f"/manifests/{code}/receive", data={"csrf_token": token, "barcodes": f1})
    assert r.status_code == 200 and "confirmed" in r.get_data(as_text=True)
    r = client.post(f"/manifests/{code}/receive",
                    data={"csrf_token": token, "barcodes": "RR000000000XX"})
    assert r.status_code == 422
    assert client.post(f"/manifests/{code}/close", data={"csrf_token": token}).status_code == 303
    shown = client.get(f"/manifests/{code}").get_data(as_text=True)
    assert 'id="manifest-status">discrepancy' in shown and 'id="n-missing" class="bad">1' in shown


def test_the_timeline_page_and_its_pdf(client, login, world):
    w = world
    d = w.dossier()
    folder = w.folder(d).number
    record_batch(db.session, w.courier, [scan(folder, "pickup", at(8, 9)),
                                         scan(folder, "handover", at(8, 10))], NOW)
    login(w.clerk)
    page = client.get(f"/timeline/{d.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Bàn giao" in html and w.agency.name in html
    pdf = client.get(f"/timeline/{d.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/timeline/000.00.42.H26-250707-9999").status_code == 404


def test_managers_see_items_in_transit_too_long(client, login, world, app):
    w = world
    slow = w.folder(w.dossier()).number
    record_batch(db.session, w.courier, [scan(slow, "pickup", at(8, 9))], NOW)
    login(w.manager)
    page = client.get("/custody/alerts")
    assert page.status_code == 200 and slow in page.get_data(as_text=True)
    app.config["TRANSIT_ALERT_HOURS"] = 24 * 365 * 50
    assert slow not in client.get("/custody/alerts").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/manifests/", "/manifests/new", "/custody/alerts",
                                 "/pickups/", "/agency/", "/courier/"])
def test_pages_need_a_login(client, url):
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
