"""Home pickups: booked, on the couriers' list, collected at the door, handed to the counter,
linked to the dossier; cancelled or failed with the reason kept."""

from __future__ import annotations

import pytest
from conftest import csrf_from
from custody_support import NOW, at, committing_client, scan
from sqlalchemy import func, select

from postal.core.errors import Conflict, ValidationFailed
from postal.custody import pickups, record_batch
from postal.custody.control_sheet import control_steps
from postal.extensions import db
from postal.models import Channel, Event, Pickup, PickupStatus

pytest_plugins = ["custody_factories"]

BOOKING = {"applicant_name": "Lê Thị Mai", "phone": "0912 345 678", "street": "5 Trần Phú",
           "ward_code": "18304", "note": "gọi trước 15 phút"}


@pytest.fixture
def client(app):
    return committing_client(app)


def _book(w, **kw):
    return pickups.book_pickup(db.session, w.clerk, now=at(8, 8), **{**BOOKING, **kw})


def test_a_booked_pickup_joins_the_couriers_lists(world):
    w = world
    anyone = _book(w)
    mine = _book(w, courier="courier2")
    assert anyone.number.startswith("RT") and anyone.phone == "0912345678"
    assert {p.number for p in pickups.pickups_for_courier(db.session, w.courier)} == {
        anyone.number}
    assert {p.number for p in pickups.pickups_for_courier(db.session, w.courier2)} == {
        anyone.number, mine.number}
    assert pickups.pickups_for_courier(db.session, w.other_courier) == []


def test_collected_at_the_door_handed_to_the_counter_and_linked_to_the_dossier(world):
    w = world
    p = _book(w)
    refused = record_batch(db.session, w.courier, [scan(p.number, "pickup", at(8, 10))], NOW)
    assert refused[0].error == "confirmation_required"
    r = record_batch(db.session, w.courier, [
        scan(p.number, "pickup", at(8, 10), recipient="Lê Thị Mai", lat=18.3, lon=105.9),
        scan(p.number, "handover", at(8, 11)),
    ], NOW)
    assert [x.status for x in r] == ["accepted", "accepted"]
    assert p.status == PickupStatus.AT_COUNTER and p.courier_id == w.courier.id
    assert (p.collected_at, p.handed_at, p.confirmed_by) == (at(8, 10), at(8, 11), "Lê Thị Mai")
    d = w.dossier(channel=Channel.HOME_PICKUP, received_at=at(8, 12))
    pickups.complete_pickup(db.session, p, d, user=w.clerk, now=at(8, 12))
    assert p.status == PickupStatus.COMPLETED and p.dossier_id == d.id
    assert control_steps(db.session, d)[0].label == "Thu gom tại nhà"
    # linking twice to the same dossier changes nothing
    pickups.complete_pickup(db.session, p, d, user=w.clerk, now=at(8, 13))
    assert p.completed_at == at(8, 12)


def test_pickup_scans_in_any_order_end_at_the_counter(world):
    w = world
    p = _book(w)
    record_batch(db.session, w.courier, [scan(p.number, "handover", at(8, 11))], NOW)
    record_batch(db.session, w.courier, [scan(p.number, "pickup", at(8, 10), recipient="Mai")],
                 NOW)
    assert p.status == PickupStatus.AT_COUNTER and p.collected_at == at(8, 10)


def test_completing_needs_collected_papers_and_a_home_pickup_dossier(world):
    w = world
    booked, collected = _book(w), _book(w)
    record_batch(db.session, w.courier, [scan(collected.number, "pickup", at(8, 10),
                                              recipient="Mai")], NOW)
    with pytest.raises(Conflict):
        pickups.complete_pickup(db.session, booked, w.dossier(channel=Channel.HOME_PICKUP),
                                now=NOW)
    with pytest.raises(ValidationFailed):
        pickups.complete_pickup(db.session, collected, w.dossier(), now=NOW)


def test_cancelled_or_failed_keeps_the_reason_and_refuses_later_scans(world):
    w = world
    cancelled, failed = _book(w), _book(w)
    pickups.cancel_pickup(db.session, w.clerk, cancelled, "Công dân tự nộp tại quầy", at(8, 9))
    pickups.fail_pickup(db.session, w.courier, failed, "Không có người ở nhà", at(8, 14))
    assert (cancelled.status, cancelled.reason) == (PickupStatus.CANCELLED,
                                                    "Công dân tự nộp tại quầy")
    assert (failed.status, failed.closed_at) == (PickupStatus.FAILED, at(8, 14))
    r = record_batch(db.session, w.courier, [scan(failed.number, "pickup", at(8, 15),
                                                  recipient="Mai")], NOW)
    assert r[0].error == "closed"
    with pytest.raises(Conflict):
        pickups.cancel_pickup(db.session, w.clerk, failed, "x", NOW)
    with pytest.raises(ValidationFailed):
        pickups.fail_pickup(db.session, w.courier, _book(w), "  ", NOW)


# -- the API and the pages --------------------------------------------------------------------
def test_booking_through_the_api(client, api_token, world):
    w = world
    r = client.post("/api/v1/pickups", headers=api_token(w.clerk),
                    json={**BOOKING, "external_ref": "MC-2025-001", "courier": "courier1"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "booked" and body["courier"] == "courier1"
    listed = client.get("/api/v1/pickups", headers=api_token(w.courier)).get_json()
    assert [p["number"] for p in listed] == [body["number"]]
    r = client.post(f"/api/v1/pickups/{body['number']}/fail", headers=api_token(w.courier),
                    json={"reason": "Không có người ở nhà"})
    assert r.status_code == 200 and r.get_json()["reason"] == "Không có người ở nhà"


@pytest.mark.parametrize("change, field", [
    ({"phone": "12345"}, "phone"), ({"ward_code": "99999"}, "ward_code"),
    ({"scheduled_for": "2020-01-01"}, "scheduled_for"), ({"courier": "nobody"}, "courier"),
    ({"applicant_name": ""}, "applicant_name"), ({"procedure_code": "no.such"}, "procedure_code"),
])
def test_bad_bookings_are_refused_and_write_nothing(client, api_token, world, change, field):
    headers = api_token(world.clerk)
    r = client.post("/api/v1/pickups", headers=headers, json={**BOOKING, **change})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == field
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Pickup)) == 0


def test_the_clerk_books_and_the_courier_collects_on_the_pages(client, login, world):
    w = world
    login(w.clerk)
    page = client.get("/pickups/")
    assert page.status_code == 200
    bad = client.post("/pickups/", data={**BOOKING, "phone": "1", "csrf_token": csrf_from(page)})
    assert bad.status_code == 422 and 'id="phone-error"' in bad.get_data(as_text=True)
    ok = client.post("/pickups/", data={**BOOKING, "csrf_token": csrf_from(page)})
    assert ok.status_code == 303
    number = db.session.scalar(select(Pickup.number))
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login(w.courier)
    page = client.get("/courier/")
    assert number in page.get_data(as_text=True)
    token = csrf_from(page)
    empty = client.post(f"/courier/pickups/{number}/collect", data={"csrf_token": token})
    assert empty.status_code == 422
    done = client.post(f"/courier/pickups/{number}/collect",
                       data={"csrf_token": token, "recipient": "Lê Thị Mai"})
    assert done.status_code == 303
    assert client.post(f"/courier/pickups/{number}/hand-in",
                       data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    p = db.session.scalar(select(Pickup))
    assert p.status == PickupStatus.AT_COUNTER and p.confirmed_by == "Lê Thị Mai"
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
