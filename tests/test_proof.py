"""At the door and at the counter: proof of delivery, failed attempts and the way back to the
counter, returns with an identity check, and the couriers' cash reconciled per day."""

from __future__ import annotations

import io

import delivery_support
import pytest
from delivery_support import ID_NUMBER, data_url, fresh, jpeg, now, png, today
from sqlalchemy import func, select

from postal.delivery import counter_return, proof, runs
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    DeliveryAttempt,
    Event,
    Item,
    Notification,
    ReturnMethod,
    RunStatus,
    StopStatus,
)

town = delivery_support.town


def _out(t, *dossiers, courier=None):
    """Plan a run of these dossiers and send it out with its courier."""
    courier = courier or t.courier
    run = runs.plan_run(db.session, t.clerk, courier=courier.username, day=today(), now=now(),
                        config={}, codes=[d.code for d in dossiers])
    runs.start_run(db.session, courier, run, now())
    db.session.commit()
    return run


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _nothing_written(dossier, state=State.OUT_FOR_DELIVERY):
    d = fresh(dossier)
    assert d.state == state and d.returned_at is None
    assert _count(DeliveryAttempt) == 0
    assert _count(Event, Event.kind.in_(("delivered", "delivery_failed"))) == 0
    assert _count(Notification, Notification.kind.in_(("delivered", "delivery_failed"))) == 0


def _deliver(client, headers, dossier, **body):
    body = {"recipient_name": "Trần Văn Hùng", "relation": "spouse", "lat": 18.351,
            "lon": 105.891, "accuracy_m": 12, **body}
    return client.post(f"/api/v1/dossiers/{dossier.code}/delivery", json=body, headers=headers)


def test_a_signed_delivery_returns_the_result_and_keeps_the_proof(town, client, api_token):
    t = town
    d = t.dossier(cod_amount=33000)
    run = _out(t, d)
    signature = png()
    r = _deliver(client, api_token(t.courier), d, signature=data_url(signature))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["state"] == "returned" and r.get_json()["attempts"] == 1
    d = fresh(d)
    assert (d.state, d.returned_via, d.collected_by) == (State.RETURNED, ReturnMethod.HOME,
                                                         "Trần Văn Hùng")
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert attempt.signature == signature and attempt.photo is None
    assert (attempt.lat, attempt.lon, attempt.recipient_relation) == (18.351, 105.891, "spouse")
    assert (attempt.cod_expected, attempt.cod_collected) == (33000, 33000)
    event = db.session.scalars(select(Event).where(Event.kind == "delivered")).one()
    assert (event.lat, event.lon, event.data["attempt"]) == (18.351, 105.891, attempt.id)
    result = db.session.get(Item, t.result(d).id)
    assert result.holder_user_id is None and result.holder_unit_id is None  # with the citizen
    run = db.session.get(type(run), run.id)
    assert run.stops[0].status == StopStatus.DELIVERED and run.status == RunStatus.DONE
    assert [n.kind for n in db.session.scalars(select(Notification).where(
        Notification.dossier_id == d.id).order_by(Notification.id))] == [
        "out_for_delivery", "delivered"]


def test_a_photo_sent_as_a_multipart_file_is_kept_with_its_type(town, client, api_token):
    t = town
    d = t.dossier()
    _out(t, d)
    photo = jpeg()
    r = client.post(f"/api/v1/dossiers/{d.code}/delivery", headers=api_token(t.courier),
                    content_type="multipart/form-data",
                    data={"recipient_name": "Nguyễn Thị Hồng Nhung", "relation": "self",
                          "cod_collected": "0", "photo": (io.BytesIO(photo), "door.jpg")})
    assert r.status_code == 201, r.get_json()
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert (attempt.photo, attempt.photo_type, attempt.signature) == (photo, "image/jpeg", None)
    assert attempt.lat is None  # no GPS fix: none invented


@pytest.mark.parametrize("make_body, field", [
    (lambda: {"photo": (io.BytesIO(b"%PDF-1.4 not a photo at all, really" * 3), "x.jpg")},
     "photo"),
    (lambda: {"photo": (io.BytesIO(b"GIF89a" + b"\x00" * 64), "anim.gif")}, "photo"),
    (lambda: {"photo": (io.BytesIO(jpeg() + b"\x00" * 5000), "big.jpg")}, "photo"),
    (lambda: {"signature": "data:image/jpeg;base64,/9j/4AAQ"}, "signature"),
    (lambda: {"signature": "data:image/png;base64,@@@not-base64@@@"}, "signature"),
    (lambda: {"signature": data_url(b"\x89PNG but truncated")}, "signature"),
    (lambda: {}, "signature"),  # neither a photo nor a signature
    (lambda: {"signature": data_url(png()), "relation": "stranger"}, "relation"),
    (lambda: {"signature": data_url(png()), "recipient_name": "  "}, "recipient_name"),
    (lambda: {"signature": data_url(png()), "lat": "north"}, "lat"),
    (lambda: {"signature": data_url(png()), "cod_collected": "-5"}, "cod_collected"),
    (lambda: {"signature": data_url(png()), "at": "2999-01-01T00:00:00+07:00"}, "at"),
])
def test_bad_proof_is_refused_and_nothing_is_written(town, client, api_token, app, make_body,
                                                     field):
    t = town
    app.config["PHOTO_MAX_BYTES"] = 4000
    d = t.dossier()
    _out(t, d)
    data = {"recipient_name": "Trần Văn Hùng", "relation": "spouse", **make_body()}
    r = client.post(f"/api/v1/dossiers/{d.code}/delivery", headers=api_token(t.courier),
                    content_type="multipart/form-data", data=data)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["field"] == field
    _nothing_written(d)


def test_a_photo_in_json_must_be_an_image_too(town, client, api_token):
    t = town
    d = t.dossier()
    _out(t, d)
    import base64

    text = base64.b64encode(b"just some text pretending" * 4).decode()
    r = _deliver(client, api_token(t.courier), d, photo=text)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "photo"
    ok = _deliver(client, api_token(t.courier), d, photo=base64.b64encode(jpeg()).decode())
    assert ok.status_code == 201


def test_a_delivery_for_a_counter_return_dossier_is_refused(town, client, api_token):
    t = town
    d = t.dossier(return_method=ReturnMethod.COUNTER)
    r = _deliver(client, api_token(t.courier), d, signature=data_url(png()))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "counter_return"
    _nothing_written(d, State.AWAITING_RETURN)
    fail = client.post(f"/api/v1/dossiers/{d.code}/delivery-attempts",
                       json={"reason": "not_home"}, headers=api_token(t.courier))
    assert fail.status_code == 409
    _nothing_written(d, State.AWAITING_RETURN)


def test_another_couriers_stop_is_not_yours_to_record(town, client, api_token):
    t = town
    d = t.dossier()
    _out(t, d)
    r = _deliver(client, api_token(t.courier2), d, signature=data_url(png()))
    assert r.status_code == 403
    assert _deliver(client, api_token(t.clerk), d, signature=data_url(png())).status_code == 403
    assert _deliver(client, api_token(t.other_courier), d,
                    signature=data_url(png())).status_code == 404
    _nothing_written(d)


def test_a_second_delivery_of_the_same_result_is_a_conflict(town, client, api_token):
    t = town
    d = t.dossier()
    _out(t, d)
    headers = api_token(t.courier)
    assert _deliver(client, headers, d, signature=data_url(png())).status_code == 201
    again = _deliver(client, headers, d, signature=data_url(png()))
    assert again.status_code == 409
    assert _count(DeliveryAttempt) == 1


def test_failed_attempts_bring_the_result_back_to_the_counter_after_the_last_one(
        town, client, api_token):
    t = town
    d = t.dossier()
    _out(t, d)
    headers = api_token(t.courier)
    r = client.post(f"/api/v1/dossiers/{d.code}/delivery-attempts",
                    json={"reason": "not_home", "lat": 18.36, "lon": 105.9}, headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["state"], body["return_method"], body["attempts"]) == (
        "awaiting_return", "home", 1)
    assert [x.code for x in runs.delivery_queue(db.session, t.clerk)] == [d.code]  # again
    first = db.session.scalars(select(Notification).where(
        Notification.kind == "delivery_failed")).one()
    assert first.data["reason_text"] == "Không có người nhận"
    assert not first.data["back_to_counter"]

    _out(t, fresh(d))
    r = client.post(f"/api/v1/dossiers/{d.code}/delivery-attempts",
                    json={"reason": "other", "note": "Cổng khoá, chó dữ"}, headers=headers)
    assert r.get_json()["return_method"] == "counter" and r.get_json()["attempts"] == 2
    assert runs.delivery_queue(db.session, t.clerk) == []
    assert _count(Event, Event.kind == "returned_to_counter") == 1
    last = db.session.scalars(select(Notification).where(
        Notification.kind == "delivery_failed").order_by(Notification.id.desc())).first()
    assert last.data["back_to_counter"] and last.data["reason_text"] == "Lý do khác"
    assert [a.reason for a in db.session.scalars(select(DeliveryAttempt).order_by(
        DeliveryAttempt.id))] == ["not_home", "other"]
    # now a counter return: no more home delivery
    assert _deliver(client, headers, d, signature=data_url(png())).status_code == 409


def test_the_number_of_attempts_is_a_setting(town, client, api_token, app):
    t = town
    app.config["DELIVERY_MAX_ATTEMPTS"] = 1
    d = t.dossier()
    _out(t, d)
    r = client.post(f"/api/v1/dossiers/{d.code}/delivery-attempts",
                    json={"reason": "moved"}, headers=api_token(t.courier))
    assert r.get_json()["return_method"] == "counter"


@pytest.mark.parametrize("body, field", [
    ({"reason": "bored"}, "reason"), ({}, "reason"), ({"reason": "other"}, "note"),
    ({"reason": "not_home", "lat": 91, "lon": 0}, "lat"),
])
def test_a_failed_attempt_needs_a_reason_from_the_list(town, client, api_token, body, field):
    t = town
    d = t.dossier()
    _out(t, d)
    r = client.post(f"/api/v1/dossiers/{d.code}/delivery-attempts", json=body,
                    headers=api_token(t.courier))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == field
    _nothing_written(d)


def test_the_counter_returns_a_result_after_checking_the_collectors_id(town, client, api_token):
    t = town
    d = t.dossier(return_method=ReturnMethod.COUNTER)
    headers = api_token(t.clerk)
    url = f"/api/v1/dossiers/{d.code}/return"
    stranger = client.post(url, json={"collected_by": "Lê Văn Tư", "id_number": "001099012345"},
                           headers=headers)
    assert stranger.status_code == 422 and stranger.get_json()["error"]["field"] == "id_number"
    bad = client.post(url, json={"collected_by": "Lê Văn Tư", "id_number": "12345"},
                      headers=headers)
    assert bad.status_code == 422
    assert fresh(d).state == State.AWAITING_RETURN
    ok = client.post(url, json={"collected_by": "Lê Văn Tư", "id_number": "001099012345",
                                "authorised": True}, headers=headers)
    assert ok.status_code == 201, ok.get_json()
    d = fresh(d)
    assert (d.state, d.returned_via, d.collected_by) == (State.RETURNED, ReturnMethod.COUNTER,
                                                         "Lê Văn Tư")
    event = db.session.scalars(select(Event).where(Event.kind == "collected")).one()
    assert event.data["id_number"].endswith("2345") and "001099" not in event.data["id_number"]
    assert event.data["authorised"] is True
    assert client.post(url, json={"collected_by": "X", "id_number": ID_NUMBER},
                       headers=headers).status_code == 409


def test_a_result_out_with_the_courier_cannot_be_handed_over_at_the_counter(town, client,
                                                                           api_token):
    t = town
    d = t.dossier()
    _out(t, d)
    r = client.post(f"/api/v1/dossiers/{d.code}/return",
                    json={"collected_by": "Nguyễn Thị Hồng Nhung", "id_number": ID_NUMBER},
                    headers=api_token(t.clerk))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "out_for_delivery"


def test_a_citizen_planned_for_delivery_may_still_collect_at_the_counter(town):
    t = town
    d, other = t.dossier(), t.dossier(street="2 Hàm Nghi")
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code, other.code])
    counter_return.return_at_counter(db.session, t.clerk, d, "Nguyễn Thị Hồng Nhung", ID_NUMBER,
                                     now())
    db.session.commit()
    assert [s.dossier_id for s in fresh(run).stops] == [other.id]
    assert fresh(d).state == State.RETURNED


def test_the_counter_finds_dossiers_by_name_without_accents_by_id_and_by_code(town):
    t = town
    d = t.dossier(name="Đặng Thị Thuỷ", id_number="038190012345")
    t.dossier(name="Nguyễn Văn An")
    ready_first = t.dossier(name="Đặng Văn Thuỷ", id_number="038190054321")

    def codes(q):
        return [x.code for x in counter_return.search_returns(db.session, t.clerk, q)]

    assert set(codes("dang thi thuy")) == {d.code}
    assert set(codes("ĐẶNG THUỶ")) == {d.code, ready_first.code}
    assert codes("038 190 012 345") == [d.code]
    assert codes(d.code) == [d.code]
    assert codes(t.result(d).number.lower()) == [d.code]
    assert codes("") == [] and codes("x") == []
    assert counter_return.search_returns(db.session, t.other_courier, "dang thi thuy") == []


def test_cash_on_delivery_is_reconciled_per_courier_per_day(town, client, api_token):
    t = town
    a, b, c = (t.dossier(cod_amount=33000), t.dossier(cod_amount=25000, street="1 Hàm Nghi"),
               t.dossier(street="3 Hàm Nghi"))
    _out(t, a, b, c)
    courier = api_token(t.courier)
    for dossier, collected in ((a, 33000), (b, 20000), (c, None)):
        body = {"signature": data_url(png())}
        if collected is not None:
            body["cod_collected"] = collected
        assert _deliver(client, courier, dossier, **body).status_code == 201
    url = f"/api/v1/couriers/courier1/cod?date={today().isoformat()}"
    day = client.get(url, headers=api_token(t.clerk)).get_json()
    assert (day["expected"], day["collected"], day["short_collected"]) == (58000, 53000, 5000)
    assert {x["code"]: x["difference"] for x in day["deliveries"]} == {
        a.code: 0, b.code: -5000, c.code: 0}
    assert day["to_hand_over"] == 53000 and not day["balanced"]
    assert client.get(url, headers=courier).status_code == 200  # their own
    assert client.get(url, headers=api_token(t.courier2)).status_code == 404
    assert client.get(url, headers=api_token(t.other_courier)).status_code == 404
    post = "/api/v1/couriers/courier1/cod"
    for bad in ({"date": today().isoformat(), "amount": 0},
                {"date": "2999-01-01", "amount": 100}):
        assert client.post(post, json=bad, headers=api_token(t.clerk)).status_code == 422
    assert client.post(post, json={"date": today().isoformat(), "amount": 5},
                       headers=courier).status_code == 403
    handed = client.post(post, json={"date": today().isoformat(), "amount": 53000,
                                     "note": "đủ tiền mặt"}, headers=api_token(t.clerk))
    assert handed.status_code == 201
    assert handed.get_json()["to_hand_over"] == 0
    assert handed.get_json()["handovers"][0]["received_by"] == "clerk1"


def test_proof_functions_refuse_before_writing_when_called_directly(town):
    t = town
    d = t.dossier()
    _out(t, d)
    with pytest.raises(proof.ValidationFailed):
        proof.record_delivery(db.session, t.courier, d, proof.Proof("A", "self"), now())
    with pytest.raises(proof.ValidationFailed):
        proof.record_failed_attempt(db.session, t.courier, d, "nope", now())
    db.session.commit()
    _nothing_written(d)
