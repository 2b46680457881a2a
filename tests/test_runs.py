"""Delivery runs through the API: the queue, planning and ordering, geocoding sources, the
run sheet and the labels (barcodes read back from the rendered PDF)."""

from __future__ import annotations

import threading
from datetime import timedelta

import delivery_support
import pytest
from delivery_support import fresh, now, today
from documents_support import page_count, pdf_text, scan
from sqlalchemy import func, select
from test_geocoding import HIT, StubNominatim

from postal.core.codes import is_valid_s10, s10_check_digit
from postal.delivery import proof, runs
from postal.delivery.routing import naive_total_km, plan_route
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    DeliveryRun,
    Dossier,
    GeocodeEntry,
    Notification,
    ReturnMethod,
    RunStatus,
    RunStop,
)

town = delivery_support.town
CENTRE = (18.3428, 105.9057)


def _plan(client, headers, **body):
    body.setdefault("courier", "courier1")
    body.setdefault("date", today().isoformat())
    return client.post("/api/v1/runs", json=body, headers=headers)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_run_planned_from_the_queue_visits_every_ready_home_dossier_in_a_short_order(
        town, client, api_token):
    t = town
    far_ward = t.wards[1]
    home = [t.dossier(ward=t.wards[0]), t.dossier(ward=far_ward, street="3 Lê Lợi"),
            t.dossier(ward=t.wards[2], street="8 Phan Đình Phùng"),
            t.dossier(state=State.RESULT_READY, ward=far_ward, street="9 Hà Huy Tập")]
    t.dossier(return_method=ReturnMethod.COUNTER)  # collected at the counter: not queued
    t.dossier(result=False, state=State.PROCESSING)  # not decided yet
    headers = api_token(t.clerk)
    queued = client.get("/api/v1/runs/queue", headers=headers).get_json()
    assert sorted(q["code"] for q in queued) == sorted(d.code for d in home)

    r = _plan(client, headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert [s["position"] for s in body["stops"]] == [1, 2, 3, 4]
    assert sorted(s["code"] for s in body["stops"]) == sorted(d.code for d in home)
    sources = {s["code"]: s["source"] for s in body["stops"]}
    assert sources[home[0].code] == sources[home[1].code] == "ward"
    assert sources[home[2].code] == "centre"  # its ward has no coordinates configured
    points = [(s["lat"], s["lon"]) for s in body["stops"]]
    # the order is already the best: planning it again keeps its length, and it beats the
    # order the dossiers came in
    assert body["total_km"] == pytest.approx(plan_route(CENTRE, points).total_km, abs=1e-3)
    given = [(d.delivery_ward.lat or CENTRE[0], d.delivery_ward.lon or CENTRE[1]) for d in home]
    assert body["total_km"] <= naive_total_km(CENTRE, given) + 1e-6
    stored = fresh(home[1])
    assert (stored.delivery_lat, stored.delivery_lon, stored.delivery_geo_source) == (
        far_ward.lat, far_ward.lon, "ward")
    assert client.get("/api/v1/runs/queue", headers=headers).get_json() == []
    run = db.session.get(DeliveryRun, body["id"])
    assert run.status == RunStatus.PLANNED and run.courier.username == "courier1"


def test_named_codes_make_the_run_and_the_rest_stay_queued(town, client, api_token):
    t = town
    a, b, c = t.dossier(), t.dossier(street="1 Trần Phú"), t.dossier(street="2 Trần Phú")
    headers = api_token(t.manager)
    r = _plan(client, headers, codes=[b.code, a.code, b.code], courier="courier2")
    assert r.status_code == 201, r.get_json()
    assert sorted(s["code"] for s in r.get_json()["stops"]) == sorted([a.code, b.code])
    assert [q["code"] for q in client.get("/api/v1/runs/queue",
                                          headers=headers).get_json()] == [c.code]


def test_a_dossier_is_on_one_open_run_at_a_time_until_that_run_is_cancelled(
        town, client, api_token):
    t = town
    d = t.dossier()
    headers = api_token(t.clerk)
    first = _plan(client, headers, codes=[d.code]).get_json()
    again = _plan(client, headers, codes=[d.code], courier="courier2")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "on_another_run"
    empty = _plan(client, headers)
    assert empty.status_code == 422 and empty.get_json()["error"]["field"] == "codes"
    assert client.post(f"/api/v1/runs/{first['id']}/cancel",
                       headers=headers).get_json()["status"] == "cancelled"
    assert _plan(client, headers, courier="courier2").status_code == 201


@pytest.mark.parametrize("body, status, field", [
    ({"courier": "nobody"}, 422, "courier"),
    ({"courier": "courier9"}, 422, "courier"),  # a courier of another centre
    ({"courier": "clerk1"}, 422, "courier"),  # not a courier
    ({"date": "2001-01-01"}, 422, "date"),
    ({"date": "not-a-date"}, 422, "date"),
    ({"codes": ["000.00.42.H26-250101-9999"]}, 422, "codes"),
    ({"codes": []}, 422, "codes"),
])
def test_bad_plans_are_refused_and_nothing_is_written(town, client, api_token, body, status,
                                                      field):
    town.dossier()
    r = _plan(client, api_token(town.clerk), **body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["field"] == field
    assert _count(DeliveryRun) == 0 and _count(RunStop) == 0


def test_a_counter_return_dossier_cannot_be_planned_for_delivery(town, client, api_token):
    d = town.dossier(return_method=ReturnMethod.COUNTER)
    r = _plan(client, api_token(town.clerk), codes=[d.code])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "counter_return"
    assert _count(DeliveryRun) == 0
    assert fresh(d).delivery_geo_source is None


def test_couriers_cannot_plan_and_only_see_their_own_runs(town, client, api_token):
    t = town
    t.dossier()
    courier = api_token(t.courier)
    assert _plan(client, courier).status_code == 403
    run_id = _plan(client, api_token(t.clerk)).get_json()["id"]
    assert client.get(f"/api/v1/runs/{run_id}", headers=courier).status_code == 200
    assert [r["id"] for r in client.get("/api/v1/runs", headers=courier).get_json()] == [run_id]
    other = api_token(t.courier2)
    assert client.get(f"/api/v1/runs/{run_id}", headers=other).status_code == 404
    assert client.get("/api/v1/runs", headers=other).get_json() == []
    assert client.get(f"/api/v1/runs/{run_id}/labels.pdf", headers=other).status_code == 404


def test_starting_a_run_sends_each_result_out_and_tells_each_citizen(town, client, api_token):
    t = town
    ds = [t.dossier(cod_amount=33000), t.dossier(street="5 Lý Tự Trọng")]
    run_id = _plan(client, api_token(t.clerk)).get_json()["id"]
    assert client.post(f"/api/v1/runs/{run_id}/start",
                       headers=api_token(t.courier2)).status_code == 404  # not theirs
    r = client.post(f"/api/v1/runs/{run_id}/start", headers=api_token(t.courier))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "out"
    assert {s["status"] for s in r.get_json()["stops"]} == {"out"}
    assert {fresh(d).state for d in ds} == {State.OUT_FOR_DELIVERY}
    messages = db.session.scalars(select(Notification).where(
        Notification.kind == "out_for_delivery")).all()
    assert sorted(m.dossier_id for m in messages) == sorted(d.id for d in ds)
    assert {m.recipient for m in messages} == {"0912345678"}
    again = client.post(f"/api/v1/runs/{run_id}/start", headers=api_token(t.courier))
    assert again.status_code == 409


def test_the_labels_pdf_carries_each_stops_s10_number_as_a_readable_code128(
        town, client, api_token):
    t = town
    for i in range(5):
        t.dossier(street=f"{i + 1} Nguyễn Công Trứ", cod_amount=25000 * i)
    headers = api_token(t.clerk)
    run = _plan(client, headers).get_json()
    numbers = [s["item_number"] for s in run["stops"]]
    r = client.get(f"/api/v1/runs/{run['id']}/labels.pdf?layout=a6-4up", headers=headers)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = scan(r.data, dpi=200)
    assert page_count(r.data) == 2
    decoded = [n for page in pages for n in page.get("code128", [])]
    assert sorted(decoded) == sorted(numbers)
    for number in decoded:
        assert is_valid_s10(number) and number.endswith("VN")
        assert int(number[10]) == s10_check_digit(number[2:10])
    # in visiting order: the first sheet holds the first four stops
    assert sorted(pages[0]["code128"]) == sorted(numbers[:4])
    zpl = client.get(f"/api/v1/runs/{run['id']}/labels.zpl", headers=headers)
    assert zpl.status_code == 200 and zpl.data.decode().count("^XA") == 5
    assert [n for n in numbers if f"^FD{n}^FS" in zpl.data.decode()] == numbers


def test_an_unknown_label_layout_is_a_clear_422(town, client, api_token):
    town.dossier()
    headers = api_token(town.clerk)
    run_id = _plan(client, headers).get_json()["id"]
    for layout in ("nope", "../labels/a6-4up"):
        r = client.get(f"/api/v1/runs/{run_id}/labels.pdf?layout={layout}", headers=headers)
        assert r.status_code == 422 and r.get_json()["error"]["field"] == "layout"
        assert "a6-4up" in r.get_json()["error"]["message"]


def test_the_run_sheet_lists_the_stops_in_visiting_order_with_distance_and_cash(
        town, client, api_token):
    t = town
    for i in range(3):
        t.dossier(street=f"{i + 1} Xuân Diệu", ward=t.wards[i], cod_amount=10000)
    headers = api_token(t.clerk)
    run = _plan(client, headers).get_json()
    r = client.get(f"/api/v1/runs/{run['id']}/sheet.pdf", headers=headers)
    assert r.status_code == 200
    text = pdf_text(r.data)
    assert "PHIẾU GIAO KẾT QUẢ TẠI NHÀ" in text and f"{run['total_km']:.1f} km" in text
    positions = [text.index(s["code"]) for s in run["stops"]]
    assert positions == sorted(positions)
    assert "30.000" in text  # the cash to bring back
    assert "≈ chưa định vị được" in text  # the third ward has no position: flagged


def test_positions_learned_from_real_deliveries_place_later_dossiers_of_the_ward(town, client,
                                                                                 api_token):
    """Deliver in a ward without configured coordinates: the courier's GPS becomes that
    ward's learned position for the next run, and the exact spot of the same address."""
    t = town
    ward = t.wards[3]
    first = t.dossier(ward=ward, street="7 Nguyễn Huy Tự")
    db.session.commit()
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={"GEOCODER": "offline"}, codes=[first.code])
    assert run.stops[0].geo_source == "centre"
    runs.start_run(db.session, t.courier, run, now())
    for lat, lon in ((18.40, 105.80), (18.42, 105.82), (18.90, 106.90)):  # one stray fix
        d = t.dossier(ward=ward, street=f"{lat} Lê Duẩn", state=State.OUT_FOR_DELIVERY)
        proof.record_delivery(db.session, t.courier, d, proof.Proof(
            "Người nhận", "self", signature=delivery_support.png(), lat=lat, lon=lon), now())
    proof.record_delivery(db.session, t.courier, first, proof.Proof(
        "Người nhận", "self", signature=delivery_support.png(), lat=18.41, lon=105.805), now())
    db.session.commit()

    same_street = t.dossier(ward=ward, street="7 Nguyễn Huy Tự", name="Trần Văn B")
    elsewhere = t.dossier(ward=ward, street="99 Phố Mới", name="Lê Thị C")
    r = _plan(client, api_token(t.clerk), codes=[same_street.code, elsewhere.code])
    stops = {s["code"]: s for s in r.get_json()["stops"]}
    assert stops[same_street.code]["source"] == "learned"
    assert (stops[same_street.code]["lat"], stops[same_street.code]["lon"]) == (18.41, 105.805)
    # the ward's median of four fixes, the stray one outvoted
    assert stops[elsewhere.code]["source"] == "learned"
    assert stops[elsewhere.code]["lat"] == pytest.approx((18.41 + 18.42) / 2)
    assert stops[elsewhere.code]["lon"] == pytest.approx((105.805 + 105.82) / 2)
    assert fresh(elsewhere).delivery_geo_source == "learned"


def test_queue_leaves_out_dossiers_out_for_delivery_and_runs_of_other_centres(town, api_token):
    t = town
    d = t.dossier()
    mine = t.dossier(state=State.OUT_FOR_DELIVERY)
    assert [x.code for x in runs.delivery_queue(db.session, t.clerk)] == [d.code]
    assert runs.delivery_queue(db.session, t.other_courier) == []
    assert mine.code not in [x.code for x in runs.delivery_queue(db.session, t.manager)]
    assert db.session.get(Dossier, d.id).resolved_at < now() + timedelta(seconds=1)


@pytest.fixture
def nominatim():
    stub = StubNominatim()
    thread = threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stub
    stub.shutdown()
    stub.server_close()
    thread.join(timeout=10)


def test_nominatim_answers_are_kept_in_the_database_across_plans(town, nominatim):
    t = town
    known, unknown = t.dossier(), t.dossier(street="Ngõ không tên")
    nominatim.replies[known.delivery_address] = HIT
    config = {"GEOCODER": "nominatim", "NOMINATIM_DOMAIN": nominatim.domain,
              "NOMINATIM_SCHEME": "http", "NOMINATIM_TIMEOUT": 2}

    def plan():
        run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                            config=config, codes=[known.code, unknown.code])
        sources = {s.dossier_id: (s.geo_source, s.lat, s.lon) for s in run.stops}
        runs.cancel_run(db.session, t.clerk, run, now())
        db.session.commit()
        return sources

    first = plan()
    assert first[known.id] == ("nominatim", 18.34, 105.90)
    assert first[unknown.id][0] == "ward"  # Nominatim knew nothing: the ward's coordinates
    asked = len(nominatim.requests)
    assert asked == 2
    rows = db.session.scalars(select(GeocodeEntry).where(GeocodeEntry.source == "nominatim"))
    assert sorted(r.found for r in rows) == [False, True]
    assert plan() == first  # from the cache: the hit, and the miss remembered for a day
    assert len(nominatim.requests) == asked
