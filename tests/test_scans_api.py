"""POST /api/v1/scans: batches from the field, idempotent, judged event by event."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from conftest import csrf_from
from custody_support import committing_client
from sqlalchemy import func, select

from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Event, utcnow

pytest_plugins = ["custody_factories"]


@pytest.fixture
def client(app):
    return committing_client(app)


def _event(barcode, event="pickup", when=None, **kw):
    return {"id": kw.pop("id", None) or str(uuid.uuid4()), "barcode": barcode, "event": event,
            "at": (when or utcnow() - timedelta(minutes=1)).isoformat(), **kw}


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Event))


def test_a_batch_gets_one_result_per_event_in_order(client, api_token, world):
    w = world
    folder = w.folder(w.dossier()).number
    db.session.commit()
    first = _event(folder)
    batch = [first, first, _event("RR000000000XX"), _event(folder, "teleport")]
    response = client.post("/api/v1/scans", json=batch, headers=api_token(w.courier))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["id"] for r in body] == [e["id"] for e in batch]
    assert [r["status"] for r in body] == ["accepted", "duplicate", "rejected", "rejected"]
    assert "error" not in body[0]
    assert body[2]["error"]["code"] == "unknown_barcode" and body[2]["error"]["message"]
    assert body[3]["error"]["code"] == "unknown_event"


def test_the_same_batch_sent_twice_is_stored_once(client, api_token, world):
    w = world
    folders = [w.folder(w.dossier()).number for _ in range(5)]
    db.session.commit()
    batch = [_event(f) for f in folders]
    headers = api_token(w.courier)
    assert {r["status"] for r in client.post("/api/v1/scans", json=batch,
                                             headers=headers).get_json()} == {"accepted"}
    before = _count()
    again = client.post("/api/v1/scans", json=batch, headers=headers).get_json()
    assert {r["status"] for r in again} == {"duplicate"}
    assert _count() == before


@pytest.mark.parametrize("body", [
    {"id": "x"},  # not a list
    [{"barcode": "RR000000000XX", "event": "pickup", "at": "2025-07-08T09:00:00+07:00"}],
    [{"id": "short", "barcode": "X", "event": "pickup", "at": "2025-07-08T09:00:00+07:00"}],
    [{"id": str(uuid.uuid4()), "barcode": "X", "event": "pickup", "at": "2025-07-08T09:00:00"}],
    [{"id": str(uuid.uuid4()), "barcode": "X", "event": "pickup", "at": "yesterday"}],
    [{"id": str(uuid.uuid4()), "barcode": 42, "event": "pickup", "at": "2025-07-08T09:00:00Z"}],
    [{"id": str(uuid.uuid4()), "barcode": "X", "event": "pickup", "at": "2025-07-08T09:00:00Z",
      "lat": 123}],
    [],
], ids=["object", "no-id", "bad-id", "naive-time", "bad-time", "number", "bad-lat", "empty"])
def test_a_malformed_batch_is_refused_whole_and_writes_nothing(client, api_token, world, body):
    w = world
    folder = w.folder(w.dossier()).number
    db.session.commit()
    before = _count()
    if isinstance(body, list):
        body = [_event(folder)] + body  # a good event with the bad one: nothing partial
        if len(body) == 1:
            body = []
    response = client.post("/api/v1/scans", json=body, headers=api_token(w.courier))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert _count() == before


def test_a_batch_too_large_is_refused(client, api_token, world):
    w = world
    db.session.commit()
    body = [_event("RR000000000XX") for _ in range(1001)]
    response = client.post("/api/v1/scans", json=body, headers=api_token(w.courier))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "events"


def test_bad_events_get_their_own_errors_and_the_rest_is_kept(client, api_token, world):
    w = world
    mine = w.folder(w.dossier()).number
    theirs = w.folder(w.dossier(unit=w.other_centre)).number
    db.session.commit()
    before = _count()
    body = client.post("/api/v1/scans", headers=api_token(w.courier), json=[
        _event(mine, "fly"), _event(theirs), _event(mine, when=utcnow() + timedelta(hours=2)),
        _event(mine),
    ]).get_json()
    assert [r.get("error", {}).get("code") for r in body] == [
        "unknown_event", "wrong_unit", "future_time", None]
    assert _count() == before + 1


def test_a_browser_session_must_send_the_csrf_token(client, login, world):
    w = world
    folder = w.folder(w.dossier()).number
    db.session.commit()
    login(w.courier)
    page = client.get("/courier/")
    assert page.status_code == 200
    body = [_event(folder)]
    assert client.post("/api/v1/scans", json=body).status_code == 400
    response = client.post("/api/v1/scans", json=body, headers={"X-CSRFToken": csrf_from(page)})
    assert response.status_code == 200 and response.get_json()[0]["status"] == "accepted"


@pytest.mark.parametrize("role, status", [("manager", 403), (None, 401)])
def test_scans_need_field_or_counter_staff(client, api_token, make_user, role, status):
    headers = api_token(make_user(role)) if role else {}
    assert client.post("/api/v1/scans", json=[_event("RR000000000XX")],
                       headers=headers).status_code == status


def test_the_openapi_document_describes_the_batch(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/scans"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array" and body["maxItems"] == 1000
    assert {"id", "barcode", "event", "at"} <= set(body["items"]["required"])
    assert "422" in post["responses"]


def test_the_whole_path_through_the_api(client, api_token, world):
    """Counter → agency → counter → the citizen, as phones and desks would call it."""
    w = world
    d = w.dossier()
    code, folder = d.code, w.folder(d).number
    db.session.commit()
    courier, officer, clerk = (api_token(u) for u in (w.courier, w.officer, w.clerk))

    def post(headers, *events):
        body = client.post("/api/v1/scans", json=list(events), headers=headers).get_json()
        assert {r["status"] for r in body} == {"accepted"}, body
        return body

    made = client.post("/api/v1/manifests", headers=clerk,
                       json={"to_unit": w.agency.code, "barcodes": [folder]})
    assert made.status_code == 201, made.get_json()
    manifest = made.get_json()["code"]
    post(courier, _event(manifest, "pickup"), _event(manifest, "handover"))
    received = client.post(f"/api/v1/manifests/{manifest}/receive", headers=officer,
                           json={"barcodes": [folder]}).get_json()
    assert received["results"][0]["status"] == "confirmed"
    assert received["manifest"]["status"] == "received"
    result = client.post(f"/api/v1/dossiers/{code}/result", headers=officer, json={})
    assert result.status_code == 200, result.get_json()
    number = result.get_json()["result_item"]
    post(courier, _event(number, "pickup", item_kind="result"),
         _event(code, "handover", item_kind="result"))
    post(clerk, _event(number, "collected", recipient="Nguyễn Thị Hồng Nhung"))
    db.session.expire_all()
    d = db.session.scalar(select(type(d)).where(type(d).code == code))
    assert d.state == State.RETURNED and d.returned_via.value == "counter"
    assert [e.kind for e in db.session.scalars(select(Event).where(Event.dossier_id == d.id)
                                               .order_by(Event.id))] == [
        "accepted", "pickup", "handover", "handover", "result_ready", "pickup", "handover",
        "collected"]
    shown = client.get(f"/api/v1/dossiers/{code}", headers=clerk)
    assert shown.status_code == 200 and len(shown.get_json()["legs"]) == 2
