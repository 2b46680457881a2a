"""The courier's phone working offline, seen from the server: proofs from the phone's queue
stored once by its id, refused with why and what to do, photos sent in parts that resume,
the phone's clock flagged to the office, the ID check some procedures demand, the work the
phone keeps, and the service worker and manifest that make the pages an app."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import timedelta

import delivery_support
import pytest
from delivery_support import data_url, jpeg, now, png, today
from flask.testing import FlaskClient
from sqlalchemy import func, select

from postal.custody import manifests
from postal.delivery import runs
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import DeliveryAttempt, DeviceClock, Event, PhotoUpload, ReturnMethod

town = delivery_support.town
ID_NUMBER = delivery_support.ID_NUMBER


@pytest.fixture
def out(town):
    """Start a run of the town's courier with the given dossiers; returns the run."""

    def start(*dossiers, at=None):
        run = runs.plan_run(db.session, town.clerk, courier="courier1", day=today(), now=now(),
                            config={}, codes=[d.code for d in dossiers])
        runs.start_run(db.session, town.courier, run, at or now())
        db.session.commit()
        return run

    return start


@pytest.fixture
def courier(town, api_token):
    return api_token(town.courier)


def _id() -> str:
    return str(uuid.uuid4())


def _delivered(code, **kw) -> dict:
    return {"id": kw.pop("id", None) or _id(), "code": code, "outcome": "delivered",
            "recipient_name": "Nguyễn Thị Hồng Nhung", "relation": "self",
            "at": now().isoformat(), "signature": data_url(png()), **kw}


def _send(client, headers, *proofs, **body):
    answer = client.post("/api/v1/proofs", headers=headers, json={"proofs": list(proofs), **body})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _count(model, *where) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _upload(client, headers, data: bytes, *, part: int = 1000, upload_id=None) -> str:
    upload_id = upload_id or _id()
    begun = client.post("/api/v1/uploads", headers=headers, json={
        "id": upload_id, "length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    assert begun.status_code == 200, begun.get_json()
    offset = begun.get_json()["offset"]
    while offset < len(data):
        sent = client.put(f"/api/v1/uploads/{upload_id}/{offset}", headers=headers,
                          data=data[offset:offset + part],
                          content_type="application/octet-stream")
        assert sent.status_code == 200, sent.get_json()
        offset = sent.get_json()["offset"]
    return upload_id


# -- stored once ---------------------------------------------------------------------------------

def test_a_proof_sent_twice_is_stored_once_and_the_second_send_gets_the_stored_attempt(
        town, out, client, courier):
    d = town.dossier()
    out(d)
    proof = _delivered(d.code)
    [first] = _send(client, courier, proof)
    assert first["status"] == "accepted"
    assert first["attempt"]["state"] == State.RETURNED.value
    events = _count(Event)
    [again] = _send(client, courier, proof)
    assert again["status"] == "duplicate"
    assert again["attempt"] == first["attempt"]  # what was stored, not a new judgement
    assert _count(DeliveryAttempt) == 1 and _count(Event) == events
    stored = db.session.scalars(select(DeliveryAttempt)).one()
    assert stored.client_id == proof["id"]
    # the custody event carries the same id: a scan of it would be a duplicate too
    assert db.session.scalar(select(Event.kind).where(Event.client_id == proof["id"])) == (
        "delivered")


def test_the_same_proof_sent_at_once_by_two_phones_is_stored_once(app, town, out, courier):
    d = town.dossier()
    out(d)
    proof = _delivered(d.code)
    answers: list = []
    lock = threading.Lock()
    go = threading.Barrier(4)

    def send():
        client = FlaskClient(app)
        go.wait()
        response = client.post("/api/v1/proofs", headers=courier, json={"proofs": [proof]})
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in answers] == [200] * 4
    statuses = sorted(body[0]["status"] for _, body in answers)
    assert statuses == ["accepted", "duplicate", "duplicate", "duplicate"]
    assert len({body[0]["attempt"]["attempt"] for _, body in answers}) == 1
    assert _count(DeliveryAttempt) == 1
    assert _count(Event, Event.kind == "delivered") == 1


def test_another_couriers_proof_id_is_refused_not_taken_for_theirs(town, out, client, courier,
                                                                    api_token):
    d = town.dossier()
    out(d)
    proof = _delivered(d.code)
    _send(client, courier, proof)
    [answer] = _send(client, api_token(town.courier2), proof)
    assert answer["status"] == "rejected"
    assert answer["error"]["code"] in ("id_taken", "not_found", "forbidden")
    assert _count(DeliveryAttempt) == 1


# -- refusals ------------------------------------------------------------------------------------

def test_a_refused_proof_writes_nothing_says_why_and_what_to_do_and_spares_the_batch(
        town, out, client, courier):
    ok, unsigned = town.dossier(), town.dossier()
    counter = town.dossier(return_method=ReturnMethod.COUNTER)
    out(ok, unsigned)
    failed_first = {"id": _id(), "code": ok.code, "outcome": "failed", "reason": "not_home",
                    "at": (now() - timedelta(minutes=5)).isoformat()}
    answers = _send(client, courier, failed_first,
                    _delivered(counter.code),  # to be collected at the counter
                    _delivered(unsigned.code, signature=None),
                    _delivered(ok.code))
    assert [a["status"] for a in answers] == ["accepted", "rejected", "rejected", "accepted"]
    _, at_counter, no_proof, _ = answers
    assert at_counter["error"]["code"] == "counter_return"
    assert "về quầy" in at_counter["error"]["hint"]
    assert no_proof["error"]["field"] == "signature" and no_proof["error"]["hint"]
    assert _count(DeliveryAttempt) == 2
    assert db.session.get(type(counter), counter.id).state == State.AWAITING_RETURN


def test_a_refused_proof_may_be_sent_again_once_put_right(town, out, client, courier):
    d = town.dossier()
    out(d)
    proof = _delivered(d.code, recipient_name="  ")
    [refused] = _send(client, courier, proof)
    assert (refused["status"], refused["error"]["field"]) == ("rejected", "recipient_name")
    [accepted] = _send(client, courier, {**proof, "recipient_name": "Lê Văn Minh"})
    assert accepted["status"] == "accepted"


def test_a_proof_dated_ahead_of_the_server_is_refused_with_the_clock_to_check(
        town, out, client, courier):
    d = town.dossier()
    out(d)
    [answer] = _send(client, courier, _delivered(d.code, at=(now() + timedelta(hours=1))
                                                 .isoformat()))
    assert answer["status"] == "rejected"
    assert "đồng hồ" in answer["error"]["message"] and "đồng hồ" in answer["error"]["hint"]


def test_a_malformed_batch_is_refused_whole(town, client, courier):
    answer = client.post("/api/v1/proofs", headers=courier, json={"proofs": [
        {"id": "short", "code": "x", "outcome": "eaten"}]})
    assert answer.status_code == 422
    assert client.post("/api/v1/proofs", headers=courier,
                       json={"proofs": []}).status_code == 422


# -- photos in parts ---------------------------------------------------------------------------

def test_a_photo_sent_in_parts_resumes_where_the_server_stopped(town, out, client, courier):
    d = town.dossier()
    out(d)
    photo = jpeg() * 1 + bytes(range(256)) * 20  # a JPEG's bytes, made a little longer
    digest = hashlib.sha256(photo).hexdigest()
    upload_id = _id()
    begun = client.post("/api/v1/uploads", headers=courier,
                        json={"id": upload_id, "length": len(photo), "sha256": digest})
    assert begun.get_json()["offset"] == 0

    def put(offset, size=1000):
        return client.put(f"/api/v1/uploads/{upload_id}/{offset}", headers=courier,
                          data=photo[offset:offset + size],
                          content_type="application/octet-stream")

    assert put(0).get_json()["offset"] == 1000
    assert put(1000).get_json()["offset"] == 2000
    # the answer to that part was lost: sent again, kept once
    assert put(1000).get_json()["offset"] == 2000
    # the connection was cut: the phone asks where to go on, and goes on from there
    again = client.post("/api/v1/uploads", headers=courier,
                        json={"id": upload_id, "length": len(photo), "sha256": digest})
    assert again.get_json()["offset"] == 2000
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=courier).get_json()["offset"] == 2000
    # a part that skips ahead is refused with the offset to resume from
    skipped = put(3000)
    assert skipped.status_code == 409
    assert skipped.get_json()["error"]["offset"] == 2000
    _upload(client, courier, photo, upload_id=upload_id)

    [answer] = _send(client, courier, _delivered(d.code, signature=None, photo_upload=upload_id))
    assert answer["status"] == "accepted"
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert hashlib.sha256(attempt.photo).hexdigest() == digest
    assert attempt.photo_type == "image/jpeg" and attempt.signature is None
    assert _count(PhotoUpload) == 0  # the parts are dropped once the proof holds the photo


def test_a_proof_whose_photo_has_not_all_arrived_asks_for_it_again(town, out, client,
                                                                   courier):
    d = town.dossier()
    out(d)
    photo = jpeg()
    upload_id = _id()
    client.post("/api/v1/uploads", headers=courier, json={
        "id": upload_id, "length": len(photo), "sha256": hashlib.sha256(photo).hexdigest()})
    client.put(f"/api/v1/uploads/{upload_id}/0", headers=courier, data=photo[:100],
               content_type="application/octet-stream")
    [answer] = _send(client, courier, _delivered(d.code, photo_upload=upload_id))
    assert (answer["status"], answer["error"]["code"]) == ("retry", "upload_incomplete")
    assert _count(DeliveryAttempt) == 0
    _upload(client, courier, photo, upload_id=upload_id)
    [answer] = _send(client, courier, _delivered(d.code, photo_upload=upload_id))
    assert answer["status"] == "accepted"


def test_a_photo_whose_bytes_do_not_match_its_digest_is_sent_again(town, out, client, courier):
    d = town.dossier()
    out(d)
    photo = jpeg()
    upload_id = _id()
    client.post("/api/v1/uploads", headers=courier, json={
        "id": upload_id, "length": len(photo), "sha256": "0" * 64})
    client.put(f"/api/v1/uploads/{upload_id}/0", headers=courier, data=photo,
               content_type="application/octet-stream")
    [answer] = _send(client, courier, _delivered(d.code, photo_upload=upload_id))
    assert (answer["status"], answer["error"]["code"]) == ("retry", "photo_corrupt")
    assert _count(DeliveryAttempt) == 0


def test_uploads_refuse_what_does_not_fit(town, client, courier, api_token):
    upload_id = _id()
    too_big = client.post("/api/v1/uploads", headers=courier, json={
        "id": upload_id, "length": 3 * 1024 * 1024, "sha256": "a" * 64})
    assert too_big.status_code == 422
    client.post("/api/v1/uploads", headers=courier,
                json={"id": upload_id, "length": 10, "sha256": "a" * 64})
    past_end = client.put(f"/api/v1/uploads/{upload_id}/0", headers=courier, data=b"x" * 11,
                          content_type="application/octet-stream")
    assert past_end.status_code == 422
    changed = client.post("/api/v1/uploads", headers=courier,
                          json={"id": upload_id, "length": 11, "sha256": "a" * 64})
    assert changed.status_code == 409
    # another courier's upload does not exist for them
    other = api_token(town.courier2)
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=other).status_code == 404
    assert client.put(f"/api/v1/uploads/{upload_id}/0", headers=other, data=b"x",
                      content_type="application/octet-stream").status_code == 404


# -- the phone's clock -------------------------------------------------------------------------

def test_a_phone_clock_minutes_off_is_flagged_to_the_office_and_cleared_once_right(
        app, town, out, courier, api_token, login, client):
    office, client = client, app.test_client()  # the manager's pages; the phone's API calls
    manager = api_token(town.manager)
    behind = now() - timedelta(minutes=40)
    answer = client.post("/api/v1/courier/clock", headers=courier, json={
        "device_id": "phone-0001", "device_time": behind.isoformat()})
    body = answer.get_json()
    assert body["flagged"] is True and -2460 < body["skew_s"] < -2340

    flags = client.get("/api/v1/couriers/clocks", headers=manager).get_json()
    assert [(f["courier"], f["device_id"]) for f in flags] == [("courier1", "phone-0001")]
    assert client.get("/api/v1/couriers/clocks",
                      headers=api_token(town.other_courier)).status_code == 403
    login(town.manager)
    plan = office.get("/delivery/runs").get_data(as_text=True)
    assert "Đồng hồ máy của bưu tá bị lệch" in plan and "-40" in plan

    # what the phone sends while its clock is off carries the offset
    d = town.dossier()
    run = out(d, at=now() - timedelta(hours=2))
    [sent] = _send(client, courier, _delivered(d.code, at=(behind - timedelta(minutes=1))
                                               .isoformat()),
                   device_id="phone-0001", sent_at=behind.isoformat())
    assert sent["status"] == "accepted", sent
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert -2460 < attempt.clock_skew_s < -2340
    assert "Đồng hồ máy của bưu tá lệch" in office.get(
        f"/delivery/runs/{run.id}").get_data(as_text=True)

    client.post("/api/v1/courier/clock", headers=courier, json={
        "device_id": "phone-0001", "device_time": now().isoformat()})
    db.session.commit()
    row = db.session.scalars(select(DeviceClock)).one()
    assert row.flagged_since is None and abs(row.skew_s) < 60 and row.worst_skew_s < -2340
    assert client.get("/api/v1/couriers/clocks", headers=manager).get_json() == []


def test_a_phone_clock_within_a_few_minutes_is_not_flagged(town, client, courier):
    answer = client.post("/api/v1/courier/clock", headers=courier, json={
        "device_id": "phone-0002", "device_time": (now() + timedelta(minutes=2)).isoformat()})
    assert answer.get_json()["flagged"] is False


# -- the ID check some procedures demand -------------------------------------------------------

def test_a_procedure_demanding_an_id_check_is_delivered_only_against_the_right_card(
        town, out, client, courier):
    town.procedure.delivery_id_check = True
    d = town.dossier()
    out(d)
    db.session.commit()
    cases = [
        ({}, "id_number"),
        ({"id_number": "042190009999"}, "id_number"),  # not the applicant's
        ({"id_number": ID_NUMBER, "relation": "neighbour"}, "relation"),
    ]
    for extra, field in cases:
        [answer] = _send(client, courier, _delivered(d.code, **extra))
        assert (answer["status"], answer["error"]["field"]) == ("rejected", field), extra
        assert answer["error"]["hint"]
    [answer] = _send(client, courier, _delivered(d.code, id_number=ID_NUMBER))
    assert answer["status"] == "accepted"
    data = db.session.scalar(select(Event.data).where(Event.kind == "delivered"))
    assert data["id_checked"] is True and data["id_number"].endswith(ID_NUMBER[-4:])
    assert ID_NUMBER not in str(data)  # kept masked


def test_the_door_page_asks_for_the_id_card_only_where_the_procedure_demands_it(
        town, out, client, login):
    d = town.dossier()
    out(d)
    login(town.courier)
    assert 'id="id_number"' not in client.get(f"/delivery/stops/{d.code}").get_data(as_text=True)
    town.procedure.delivery_id_check = True
    db.session.commit()
    page = client.get(f"/delivery/stops/{d.code}").get_data(as_text=True)
    assert 'id="id_number"' in page and f'data-id-last4="{ID_NUMBER[-4:]}"' in page
    assert ID_NUMBER not in page


# -- the work the phone keeps ------------------------------------------------------------------

def test_the_work_kept_for_offline_holds_runs_in_order_items_held_and_what_to_collect(
        town, out, client, courier):
    first, second = town.dossier(), town.dossier(ward=town.wards[1])
    run = out(first, second)
    at_agency = town.dossier(state=State.RESULT_READY)
    listed = town.dossier(state=State.RESULT_READY)
    bundle = manifests.build_manifest(db.session, town.officer, to_unit_code=town.centre.code,
                                      barcodes=[town.result(listed).number], now=now())
    db.session.commit()
    work = client.get("/api/v1/courier/work", headers=courier).get_json()
    [mine] = work["runs"]
    assert mine["id"] == run.id
    assert [s["position"] for s in mine["stops"]] == [1, 2]
    assert {s["code"] for s in mine["stops"]} == {first.code, second.code}
    assert {h["number"] for h in work["holding"]} == {town.result(first).number,
                                                      town.result(second).number}
    assert [m["code"] for m in work["to_collect"]["manifests"]] == [bundle.code]
    assert [r["number"] for r in work["to_collect"]["results"]] == [
        town.result(at_agency).number]  # the listed one travels with its manifest
    assert work["reasons"]["not_home"] and work["relations"]["self"]
    assert f"/delivery/stops/{first.code}" in work["pages"]
    assert f"/delivery/runs/{run.id}" in work["pages"] and "/courier/" in work["pages"]


def test_the_courier_page_lists_what_waits_to_be_collected(town, client, login):
    waiting = town.dossier(state=State.RESULT_READY)
    db.session.commit()
    login(town.courier)
    page = client.get("/courier/").get_data(as_text=True)
    assert f'data-barcode="{town.result(waiting).number}"' in page
    assert 'id="work-data"' in page and 'rel="manifest"' in page


# -- the app around the pages ------------------------------------------------------------------

def test_the_service_worker_may_control_the_site_and_changes_with_its_shell(client):
    answer = client.get("/courier/sw.js")
    assert answer.status_code == 200
    assert answer.headers["Service-Worker-Allowed"] == "/"
    assert answer.mimetype == "text/javascript"
    source = answer.get_data(as_text=True)
    assert "__VERSION__" not in source and "__ASSETS__" not in source
    assert '"vendor/signature_pad/signature_pad.umd.min.js"' in source


def test_the_shell_the_worker_keeps_is_the_static_files_and_nothing_else(client):
    answer = client.get("/courier/shell/phone/outbox.js")
    assert answer.status_code == 200 and b"PostalOutbox" in answer.data
    assert client.get("/courier/shell/sw.js").status_code == 404  # not part of the shell
    assert client.get("/courier/shell/../../config.py").status_code == 404


def test_the_manifest_installs_the_courier_pages_as_an_app(client):
    body = client.get("/courier/manifest.webmanifest").get_json(force=True)
    assert body["start_url"] == "/courier/" and body["display"] == "standalone"
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}


def test_a_page_kept_in_the_background_leaves_the_message_for_the_next_page(
        town, client, login):
    login(town.courier)
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Đã giao X cho Y.")]
    kept = client.get("/courier/", headers={"X-Postal-Prefetch": "1"}).get_data(as_text=True)
    assert "Đã giao X cho Y." not in kept
    assert "Đã giao X cho Y." in client.get("/courier/").get_data(as_text=True)


def test_the_vendored_libraries_ship_with_their_licences():
    from pathlib import Path

    vendor = Path(__file__).resolve().parent.parent / "postal" / "static" / "vendor"
    for folder, script in (("signature_pad", "signature_pad.umd.min.js"),
                           ("zxing", "zxing-browser.min.js")):
        assert (vendor / folder / script).stat().st_size > 1000
        assert (vendor / folder / "LICENSE").read_text().strip()
    assert (vendor / "zxing" / "LICENSE.zxing-library").exists()
