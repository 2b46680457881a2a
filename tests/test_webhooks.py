"""Outbound webhooks: subscribers registered by an admin, events queued by the operations in
their own transaction, signed deliveries sent at least once by the worker, retried with backoff,
dead-lettered and replayed by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import delivery_support
import pytest
from sqlalchemy import select

from postal.dossiers.ratings import rate
from postal.extensions import db
from postal.models import (
    DeliveryStatus,
    Dossier,
    LinkDelivery,
    LinkEvent,
    Notification,
    ReturnMethod,
    State,
    WebhookSubscriber,
    utcnow,
)
from postal.outbox import links, webhooks
from postal.outbox.events import EVENT_NAMES
from postal.outbox.messages import change_kind, notify_change
from tests import links_support
from tests.conftest import csrf_from
from tests.intake_factories import applicant, committing_client
from tests.links_support import (
    Clock,
    FakeServer,
)

links_switched_on = links_support.links_switched_on

SECRET = "a-long-shared-secret-0123"
town = delivery_support.town


def _scan(client, headers, dossier, event, **extra):
    row = {"id": f"scan-{dossier.id}-{event}", "event": event,
           "barcode": delivery_support.Town.result(dossier).number,
           "at": delivery_support.now().isoformat(), **extra}
    answer = client.post("/api/v1/scans", headers=headers, json=[row])
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()[0]


@pytest.fixture
def client(app):
    return committing_client(app)


@pytest.fixture
def admin(make_user, api_token):
    return api_token(make_user("admin"))


@pytest.fixture
def clerk(make_user, api_token):
    return api_token(make_user("clerk"))


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="1.000001", processing_days=3, fee=8000)


@pytest.fixture
def subscriber_server():
    server = FakeServer()
    yield server
    server.close()


def accept(client, headers, **overrides) -> str:
    data = {"procedure_code": "1.000001", "applicant": applicant(), "channel": "counter",
            "return_method": "counter", "documents": ["d1"], **overrides}
    answer = client.post("/api/v1/dossiers", json=data, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["code"]


def subscribe(client, headers, url, events=EVENT_NAMES) -> int:
    answer = client.post("/api/v1/webhooks", headers=headers,
                         json={"url": url, "secret": SECRET, "events": list(events)})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def test_the_signature_is_hmac_sha256_over_the_timestamp_dot_the_raw_body():
    body = b'{"id":"x"}'
    header = webhooks.sign("secret", 1700000000, body)
    expected = hmac.new(b"secret", b'1700000000.{"id":"x"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert webhooks.verify("secret", header, body, now=1700000010)
    assert not webhooks.verify("secret", header, body + b" ", now=1700000010)
    assert not webhooks.verify("other", header, body, now=1700000010)
    assert not webhooks.verify("secret", header, body, now=1700000000 + 3600)  # replayed late
    assert not webhooks.verify("secret", "garbage", body, now=1700000000)


def test_an_admin_registers_lists_and_removes_subscribers(client, admin, clerk):
    sid = subscribe(client, admin, "https://hooks.example.vn/postal",
                    ["dossier.accepted", "dossier.returned"])
    listed = client.get("/api/v1/webhooks", headers=admin).get_json()
    assert [(s["id"], s["url"], s["events"]) for s in listed] == [
        (sid, "https://hooks.example.vn/postal", ["dossier.accepted", "dossier.returned"])]
    assert "secret" not in listed[0]
    assert client.post("/api/v1/webhooks", headers=clerk, json={
        "url": "https://x.vn", "secret": SECRET, "events": ["dossier.accepted"]}
    ).status_code == 403
    bad = client.post("/api/v1/webhooks", headers=admin, json={
        "url": "https://x.vn", "secret": SECRET, "events": ["dossier.eaten"]})
    assert bad.status_code == 422
    not_http = client.post("/api/v1/webhooks", headers=admin, json={
        "url": "ftp://x.vn", "secret": SECRET, "events": ["dossier.accepted"]})
    assert not_http.status_code == 422 and not_http.get_json()["error"]["field"] == "url"
    assert client.delete(f"/api/v1/webhooks/{sid}", headers=admin).status_code == 204
    assert client.get("/api/v1/webhooks", headers=admin).get_json() == []
    assert client.delete(f"/api/v1/webhooks/{sid}", headers=admin).status_code == 404


def test_accepting_at_the_counter_queues_the_event_in_the_same_transaction(client, clerk,
                                                                         procedure):
    code = accept(client, clerk)
    [event] = db.session.scalars(select(LinkEvent)).all()
    assert event.event == "dossier.accepted" and not event.fanned_out
    assert event.payload["dossier"]["code"] == code
    assert event.payload["dossier"]["status"] == "accepted"
    assert set(event.payload) >= {"id", "event", "occurred_at", "dossier"}
    assert "full_name" not in json.dumps(event.payload)  # no personal data


def test_a_delivery_is_signed_and_keeps_its_delivery_id_on_every_retry(
        client, admin, clerk, procedure, subscriber_server):
    subscriber_server.answers = [(500, {"error": "busy"}), (503, b"down"), (200, {})]
    subscribe(client, admin, subscriber_server.url + "/hook", ["dossier.accepted"])
    code = accept(client, clerk)
    clock = Clock(utcnow())
    config = links.Links(timeout=5)
    assert links.send_due(db.session, config, clock=clock) == (0, 1)
    assert links.send_due(db.session, config, clock=clock) == (0, 0)  # backing off
    clock.at += links.backoff(1) + timedelta(seconds=1)
    assert links.send_due(db.session, config, clock=clock) == (0, 1)
    clock.at += links.backoff(2) + timedelta(seconds=1)
    assert links.send_due(db.session, config, clock=clock) == (1, 0)
    assert links.send_due(db.session, config, clock=clock) == (0, 0)  # sent: never again
    seen = subscriber_server.seen
    assert len(seen) == 3
    assert len({s.headers["X-Postal-Delivery"] for s in seen}) == 1
    for s in seen:
        assert s.path == "/hook" and s.headers["X-Postal-Event"] == "dossier.accepted"
        assert s.headers["Content-Type"].startswith("application/json")
        t = int(s.headers["X-Postal-Signature"].split(",")[0][2:])
        assert webhooks.verify(SECRET, s.headers["X-Postal-Signature"], s.body, now=t)
        body = s.json()
        assert body["event"] == "dossier.accepted" and body["dossier"]["code"] == code
    [delivery] = db.session.scalars(select(LinkDelivery)).all()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert seen[0].headers["X-Postal-Delivery"] == delivery.key


def test_subscribers_get_only_the_events_they_asked_for(client, admin, clerk, procedure,
                                                        subscriber_server):
    subscribe(client, admin, subscriber_server.url, ["dossier.returned"])
    accept(client, clerk)
    assert links.send_due(db.session, links.Links(), clock=utcnow) == (0, 0)
    assert subscriber_server.seen == []
    assert db.session.scalars(select(LinkEvent.fanned_out)).all() == [True]


def test_a_removed_subscriber_gets_nothing_more(client, admin, clerk, procedure,
                                               subscriber_server):
    sid = subscribe(client, admin, subscriber_server.url)
    accept(client, clerk)
    links.fan_out(db.session, links.Links(), now=utcnow())
    client.delete(f"/api/v1/webhooks/{sid}", headers=admin)
    assert links.send_due(db.session, links.Links(), clock=utcnow) == (0, 1)
    [delivery] = db.session.scalars(select(LinkDelivery)).all()
    assert delivery.status == DeliveryStatus.DEAD and subscriber_server.seen == []


def test_a_subscriber_that_never_answers_is_retried_then_dead_lettered_and_replayed(
        client, admin, clerk, procedure, subscriber_server, login, make_user):
    subscriber_server.answers = ["hang"]
    subscribe(client, admin, subscriber_server.url)
    code = accept(client, clerk)
    clock = Clock(utcnow())
    config = links.Links(timeout=0.3, max_attempts=2)
    assert links.send_due(db.session, config, clock=clock) == (0, 1)  # a timeout: retried
    [delivery] = db.session.scalars(select(LinkDelivery)).all()
    assert delivery.status == DeliveryStatus.PENDING and "timed out" in delivery.last_error
    clock.at += timedelta(hours=1)
    assert links.send_due(db.session, config, clock=clock) == (0, 1)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.DEAD
    # the admin's page lists it and replays it
    subscriber_server.release()
    subscriber_server.answers = [(204, b"")]
    login(make_user("admin", username="root2"))
    page = client.get("/admin/links/")
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    answer = client.post(f"/admin/links/deliveries/{delivery.id}/replay",
                         data={"csrf_token": csrf_from(page)})
    assert answer.status_code == 302
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert links.send_due(db.session, config, clock=clock) == (1, 0)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.SENT
    keys = {s.headers["X-Postal-Delivery"] for s in subscriber_server.seen}
    assert keys == {delivery.key}  # the replay is the same delivery


def test_the_admin_page_registers_and_removes_a_subscriber(client, login, make_user):
    login(make_user("admin"))
    page = client.get("/admin/links/")
    token = csrf_from(page)
    bad = client.post("/admin/links/webhooks", data={
        "csrf_token": token, "url": "https://h.vn", "secret": "short", "events": []})
    assert bad.status_code == 422
    ok = client.post("/admin/links/webhooks", data={
        "csrf_token": token, "url": "https://h.vn/x", "secret": SECRET,
        "events": ["dossier.accepted", "dossier.rated"]})
    assert ok.status_code == 302
    [subscriber] = db.session.scalars(select(WebhookSubscriber)).all()
    assert subscriber.events == ["dossier.accepted", "dossier.rated"]
    gone = client.post(f"/admin/links/webhooks/{subscriber.id}/delete",
                       data={"csrf_token": token})
    assert gone.status_code == 302
    db.session.refresh(subscriber)
    assert not subscriber.active


def test_the_openapi_document_describes_the_deliveries(client):
    document = client.get("/api/v1/openapi.json").get_json()
    hooks = document["x-webhooks"]
    assert set(hooks) == set(EVENT_NAMES)
    operation = hooks["dossier.accepted"]["post"]
    headers = {p["name"] for p in operation["parameters"]}
    assert headers == {"X-Postal-Event", "X-Postal-Delivery", "X-Postal-Signature"}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"id", "event", "occurred_at", "dossier"}
    assert "/api/v1/webhooks" in document["paths"]


def _announced():
    db.session.expire_all()
    return sorted((e.dossier_id, e.event) for e in db.session.scalars(select(LinkEvent)))


def test_the_phone_s_scans_announce_delivery_events_with_the_citizen_s_messages(
        town, client, api_token):
    t = town
    a, b = t.dossier(), t.dossier(street="4 Hàm Nghi")
    db.session.commit()
    headers = api_token(t.courier)
    for d in (a, b):
        assert _scan(client, headers, d, "out_for_delivery")["status"] == "accepted"
    assert _scan(client, headers, a, "delivered", recipient="Lê Văn Tám")["status"] == "accepted"
    assert _scan(client, headers, b, "delivery_failed", note="not_home")["status"] == "accepted"
    assert _announced() == sorted([
        (a.id, "dossier.out_for_delivery"), (b.id, "dossier.out_for_delivery"),
        (a.id, "dossier.delivered"), (a.id, "dossier.returned"),
        (b.id, "dossier.delivery_failed")])
    # rated after the return: the rating is announced too
    rate(db.session, db.session.get(Dossier, a.id), 5, now=utcnow())
    db.session.commit()
    assert (a.id, "dossier.rated") in _announced()


def test_every_move_names_its_event():
    home, counter = ReturnMethod.HOME, ReturnMethod.COUNTER
    moves = {
        (State.ACCEPTED, State.PROCESSING, None): "transferred",
        (State.PROCESSING, State.WAITING_SUPPLEMENT, None): "supplement_requested",
        (State.PROCESSING, State.RESULT_READY, None): "result_ready",
        (State.AWAITING_RETURN, State.OUT_FOR_DELIVERY, None): "out_for_delivery",
        (State.OUT_FOR_DELIVERY, State.RETURNED, home): "delivered",
        (State.AWAITING_RETURN, State.RETURNED, counter): "returned",
        (State.OUT_FOR_DELIVERY, State.AWAITING_RETURN, None): "delivery_failed",
    }
    for (old, new, via), kind in moves.items():
        assert change_kind(old, new, returned_via=via, attempts_changed=False) == kind
    assert change_kind(State.PROCESSING, State.PROCESSING, returned_via=None,
                       attempts_changed=False) is None


def test_an_extension_is_announced_though_the_state_stays(town):
    d = town.dossier(state=State.PROCESSING, result=False)
    db.session.commit()
    assert notify_change(db.session, d, State.PROCESSING, event="extended") is None  # no SMS
    db.session.commit()
    assert _announced() == [(d.id, "dossier.extended")]
    assert db.session.scalars(select(Notification)).all() == []


def test_nothing_is_queued_when_no_receiver_could_want_it(client, clerk, procedure, admin):
    """No portal, no VNPost, no subscriber: an intake writes no event row (a phone's 500
    scans write none either); once a subscriber asks for it, the next intake does."""
    from sqlalchemy import func, select

    from postal.extensions import db
    from postal.models import LinkEvent
    from postal.outbox import events

    events.switch_on(portal=False, vnpost=False)
    body = {"procedure_code": procedure.code, "outcome": "accept", "documents": ["d1"],
            "applicant": {"full_name": "Nguyễn Văn An", "id_number": "042190001234",
                          "phone": "0905123456",
                          "address": {"street": "12 Trần Phú", "ward_code": "18304"}}}
    assert client.post("/api/v1/dossiers", headers=clerk, json=body).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(LinkEvent)) == 0
    assert client.post("/api/v1/webhooks", headers=admin, json={
        "url": "http://127.0.0.1:9/hook", "secret": "s" * 24,
        "events": ["dossier.accepted"]}).status_code == 201
    assert client.post("/api/v1/dossiers", headers=clerk, json=body).status_code == 201
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LinkEvent)) == 1
