"""The delivery API's contract: documented in OpenAPI, closed without a token, CSRF for
browser sessions, JSON errors in one shape."""

from __future__ import annotations

import delivery_support
import pytest
from conftest import csrf_from
from delivery_support import data_url, fresh, now, png, today

from postal.delivery import runs
from postal.dossiers.lifecycle import State
from postal.extensions import db

town = delivery_support.town

ROUTES = [
    ("post", "/api/v1/runs"), ("get", "/api/v1/runs"), ("get", "/api/v1/runs/queue"),
    ("get", "/api/v1/runs/1"), ("post", "/api/v1/runs/1/start"),
    ("post", "/api/v1/runs/1/cancel"), ("get", "/api/v1/runs/1/labels.pdf"),
    ("get", "/api/v1/runs/1/labels.zpl"), ("get", "/api/v1/runs/1/sheet.pdf"),
    ("post", "/api/v1/dossiers/X-250101-0001/rating"),
    ("post", "/api/v1/dossiers/X-250101-0001/delivery"),
    ("post", "/api/v1/dossiers/X-250101-0001/delivery-attempts"),
    ("post", "/api/v1/dossiers/X-250101-0001/return"),
    ("get", "/api/v1/couriers/courier1/cod"), ("post", "/api/v1/couriers/courier1/cod"),
]


@pytest.mark.parametrize("method, url", ROUTES)
def test_every_delivery_route_needs_a_login(client, method, url):
    r = getattr(client, method)(url, json={})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"


def test_the_openapi_document_describes_every_delivery_route(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for method, url in ROUTES:
        path = (url.replace("/1/", "/{run_id}/").replace("X-250101-0001", "{code}")
                .replace("courier1", "{username}"))
        if path.endswith("/runs/1"):
            path = path[:-1] + "{run_id}"
        operation = spec["paths"][path][method]
        assert operation.get("summary") or operation.get("description"), path
        assert "401" in operation["responses"], path
    proof = spec["paths"]["/api/v1/dossiers/{code}/delivery"]["post"]["requestBody"]["content"]
    assert set(proof) == {"multipart/form-data", "application/json"}
    run_in = spec["paths"]["/api/v1/runs"]["post"]["requestBody"]["content"]["application/json"]
    assert run_in["schema"]["$ref"].endswith("/RunIn")


def test_a_browser_session_needs_the_csrf_token_for_the_api(town, client, login):
    t = town
    d = t.dossier(state=State.RETURNED)
    d.returned_at = now()
    db.session.commit()
    login(t.clerk)
    url = f"/api/v1/dossiers/{d.code}/rating"
    refused = client.post(url, json={"level": 5})
    assert refused.status_code == 400 and fresh(d).rating is None
    token = csrf_from(client.get("/delivery/counter"))
    ok = client.post(url, json={"level": 5}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201 and fresh(d).rating == 5


def test_a_malformed_proof_body_is_a_clear_422(town, client, api_token):
    t = town
    d = t.dossier()
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code])
    runs.start_run(db.session, t.courier, run, now())
    headers = api_token(t.courier)
    url = f"/api/v1/dossiers/{d.code}/delivery"
    for body in ({"data": "[1, 2]", "content_type": "application/json"},
                 {"data": "recipient_name=x", "content_type": "text/plain"}):
        r = client.post(url, headers=headers, **body)
        assert r.status_code == 422 and r.get_json()["error"]["field"] == "body"
    r = client.post(url, headers=headers, json={"recipient_name": "A", "relation": "self",
                                                "signature": 42})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "signature"
    r = client.post(url, headers=headers, json={"recipient_name": "A", "relation": "self",
                                                "signature": data_url(png()), "at": "yesterday"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "at"
    assert fresh(d).state == State.OUT_FOR_DELIVERY


def test_an_unknown_dossier_is_404_for_every_dossier_route(town, client, api_token):
    headers = api_token(town.courier)
    for suffix, body in (("delivery", {"recipient_name": "A", "relation": "self"}),
                         ("delivery-attempts", {"reason": "not_home"})):
        r = client.post(f"/api/v1/dossiers/NOPE-250101-0001/{suffix}", json=body,
                        headers=headers)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
