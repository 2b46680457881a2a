"""VNPost orders: a result delivered home becomes a VNPost order (customer code, order number =
dossier code, receiver, COD amount); its tracking maps to our delivery events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from postal.core.time import TZ
from postal.extensions import db
from postal.models import DeliveryStatus, LinkDelivery, utcnow
from postal.outbox import links
from postal.outbox.vnpost import VNPostClient, map_tracking
from postal.outbox.wire import LinkFailure
from tests import links_support
from tests.intake_factories import NAME, PHONE, applicant
from tests.links_support import Clock, FakeServer

links_switched_on = links_support.links_switched_on
client = links_support.client
world = links_support.world

CUSTOMER = "C0042HT"


def strict_vnpost(seen):
    order = seen.json()
    receiver = order.get("Receiver") or {}
    ok = (seen.method == "POST" and seen.path == "/api/orders"
          and seen.headers.get("Authorization") == "Bearer vn-token"
          and order.get("CustomerCode") == CUSTOMER and order.get("OrderNumber")
          and receiver.get("Name") and receiver.get("Phone") and receiver.get("Address")
          and isinstance(order.get("CodAmount"), int))
    return (200, {"ItemCode": "EB123456785VN"}) if ok else (400, {"error": "bad order"})


@pytest.fixture
def fake_vnpost():
    server = FakeServer(answers=[strict_vnpost])
    yield server
    server.close()


def decided(client, world, method: str, **extra) -> str:
    answer = client.post("/api/v1/dossiers", headers=world["clerk"], json={
        "procedure_code": "1.000001", "applicant": applicant(), "channel": "counter",
        "return_method": method, "documents": ["d1"], **extra})
    assert answer.status_code == 201, answer.get_json()
    code = answer.get_json()["code"]
    assert client.post(f"/api/v1/dossiers/{code}/result", headers=world["officer"],
                       json={}).status_code == 200
    return code


def test_a_result_to_deliver_home_becomes_a_vnpost_order(client, world, fake_vnpost):
    code = decided(client, world, "home", fees={"postal_fee": 25000, "cod_amount": 30000},
                   delivery_address={"street": "Số 5 Hà Huy Tập", "ward_code": "18073"})
    config = links.Links(vnpost=VNPostClient(fake_vnpost.url + "/api", CUSTOMER, "vn-token"))
    assert links.send_due(db.session, config, clock=utcnow) == (1, 0)
    [seen] = fake_vnpost.seen
    order = seen.json()
    assert order["OrderNumber"] == code and order["CodAmount"] == 30000
    assert order["Receiver"]["Name"] == NAME and order["Receiver"]["Phone"] == PHONE
    assert order["Receiver"]["Address"].startswith("Số 5 Hà Huy Tập")
    assert order["Receiver"]["WardCode"] == "18073"
    [delivery] = db.session.scalars(select(LinkDelivery)).all()
    assert delivery.status == DeliveryStatus.SENT and "EB123456785VN" in delivery.response
    assert seen.headers["X-Postal-Delivery"] == delivery.key


def test_a_result_returned_at_the_counter_makes_no_order(client, world, fake_vnpost):
    decided(client, world, "counter")
    config = links.Links(vnpost=VNPostClient(fake_vnpost.url, CUSTOMER))
    assert links.send_due(db.session, config, clock=utcnow) == (0, 0)
    assert fake_vnpost.seen == []


def test_an_answer_without_an_item_code_is_retried(client, world, fake_vnpost):
    fake_vnpost.answers = [(200, {"Message": "ok?"}), strict_vnpost]
    decided(client, world, "home",
            delivery_address={"street": "Số 5", "ward_code": "18073"})
    clock = Clock(utcnow())
    config = links.Links(vnpost=VNPostClient(fake_vnpost.url + "/api", CUSTOMER, "vn-token"))
    assert links.send_due(db.session, config, clock=clock) == (0, 1)
    clock.at += timedelta(minutes=1)
    assert links.send_due(db.session, config, clock=clock) == (1, 0)
    assert len({s.headers["X-Postal-Delivery"] for s in fake_vnpost.seen}) == 1


def test_tracking_maps_to_our_delivery_events(fake_vnpost):
    fake_vnpost.answers = [(200, {"Events": [
        {"StatusCode": "PHAT_THANH_CONG", "Time": "2026-03-05T10:20:00+07:00", "Note": "Đã phát"},
        {"StatusCode": "NHAN_GUI", "Time": "2026-03-04T08:00:00+07:00"},
        {"StatusCode": "PHAT_DI", "Time": "2026-03-05T08:00:00"},
        {"StatusCode": "PHAT_KHONG_THANH_CONG", "Time": "garbage"},
    ]})]
    client = VNPostClient(fake_vnpost.url + "/api", CUSTOMER, "vn-token")
    events = client.tracking("000.00.42.H26-260305-0001")
    assert fake_vnpost.seen[0].path == "/api/orders/000.00.42.H26-260305-0001/tracking"
    assert [e["event"] for e in events] == ["out_for_delivery", "delivered"]
    assert events[0]["at"] == datetime(2026, 3, 5, 8, 0, tzinfo=TZ)  # local when unmarked
    fake_vnpost.answers = [(200, {"Events": "none"})]
    with pytest.raises(LinkFailure):
        client.tracking("X")
    assert map_tracking([{"StatusCode": "CHUYEN_HOAN", "Time": "2026-03-06T09:00:00"}]
                        )[0]["event"] == "delivery_failed"
