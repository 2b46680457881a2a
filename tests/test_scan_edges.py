"""Scans the record must not take: impossible times, and hand-overs that name nobody."""

from __future__ import annotations

import uuid
from datetime import timedelta

import delivery_support
import pytest
from custody_support import RECEIVED, committing_client
from sqlalchemy import func, select

from postal.extensions import db
from postal.models import Event, utcnow

pytest_plugins = ["custody_factories"]
town = delivery_support.town


@pytest.fixture
def client(app):
    return committing_client(app)


def _send(client, headers, barcode, event="pickup", at=None, **extra):
    row = {"id": str(uuid.uuid4()), "barcode": barcode, "event": event,
           "at": at if isinstance(at, str) else (at or utcnow()).isoformat(), **extra}
    answer = client.post("/api/v1/scans", json=[row], headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()[0]


def _events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Event))


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-12:00",
                                    "1970-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00"])
def test_a_scan_at_an_impossible_moment_is_refused_with_a_reason(client, api_token, world,
                                                                moment):
    folder = world.folder(world.dossier()).number
    db.session.commit()
    before = _events()
    answer = _send(client, api_token(world.courier), folder, at=moment)
    assert answer["status"] == "rejected"
    assert answer["error"]["code"] in ("bad_time", "future_time", "before_existence")
    assert answer["error"]["message"]
    assert _events() == before


def test_a_scan_dated_before_its_dossier_was_accepted_is_refused(client, api_token, world):
    folder = world.folder(world.dossier()).number
    db.session.commit()
    headers = api_token(world.courier)
    early = _send(client, headers, folder, at=RECEIVED - timedelta(days=1))
    assert early["status"] == "rejected" and early["error"]["code"] == "before_existence"
    # a phone's clock a couple of minutes behind is still believed
    assert _send(client, headers, folder, at=RECEIVED - timedelta(minutes=2))["status"] \
        == "accepted"


def test_a_scan_more_than_a_few_minutes_ahead_is_refused(client, api_token, world):
    folder = world.folder(world.dossier()).number
    db.session.commit()
    headers = api_token(world.courier)
    ahead = _send(client, headers, folder, at=utcnow() + timedelta(minutes=30))
    assert ahead["error"]["code"] == "future_time"
    assert _send(client, headers, folder, at=utcnow() + timedelta(minutes=2))["status"] \
        == "accepted"


def test_a_result_scanned_before_it_was_decided_is_refused(client, api_token, town):
    d = town.dossier()
    db.session.commit()
    result = town.result(d)
    answer = _send(client, api_token(town.courier), result.number, "out_for_delivery",
                   at=result.created_at - timedelta(hours=1))
    assert answer["error"]["code"] == "before_existence"


@pytest.mark.parametrize("recipient", [None, "", "   ", "x" * 201])
def test_a_delivered_scan_must_name_its_recipient(client, api_token, town, recipient):
    d = town.dossier()
    db.session.commit()
    headers = api_token(town.courier)
    number = town.result(d).number
    assert _send(client, headers, number, "out_for_delivery",
                 at=utcnow() - timedelta(minutes=10))["status"] == "accepted"
    extra = {} if recipient is None else {"recipient": recipient}
    if len(recipient or "") > 200:
        answer = client.post("/api/v1/scans", headers=headers, json=[{
            "id": str(uuid.uuid4()), "barcode": number, "event": "delivered",
            "at": utcnow().isoformat(), **extra}])
        assert answer.status_code == 422  # refused by the body's own limits
        return
    answer = _send(client, headers, number, "delivered", **extra)
    assert answer["status"] == "rejected" and answer["error"]["code"] == "proof_required"
    db.session.expire_all()
    assert db.session.get(type(d), d.id).state.value == "out_for_delivery"
    named = _send(client, headers, number, "delivered", recipient="Nguyễn Thị Hồng Nhung")
    assert named["status"] == "accepted"


def test_a_counter_collection_by_scan_must_name_who_took_it(client, api_token, town):
    d = town.dossier(return_method="counter")
    db.session.commit()
    headers = api_token(town.clerk)
    number = town.result(d).number
    assert _send(client, headers, number, "collected")["error"]["code"] == "proof_required"
    assert _send(client, headers, number, "collected", recipient="Nguyễn Thị Hồng Nhung")[
        "status"] == "accepted"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "1999-12-31T23:00:00+00:00",
                                    "9999-12-31T23:59:59-12:00"])
def test_the_door_refuses_an_impossible_moment_with_the_field_named(client, api_token, town,
                                                                    moment):
    from delivery_support import data_url, png, today

    from postal.delivery import runs

    d = town.dossier()
    run = runs.plan_run(db.session, town.clerk, courier="courier1", day=today(), now=utcnow(),
                        config={}, codes=[d.code])
    runs.start_run(db.session, town.courier, run, utcnow())
    db.session.commit()
    for suffix, body in (("delivery", {"recipient_name": "A", "relation": "self",
                                       "signature": data_url(png())}),
                         ("delivery-attempts", {"reason": "not_home"})):
        answer = client.post(f"/api/v1/dossiers/{d.code}/{suffix}", headers=api_token(
            town.courier), json={**body, "at": moment})
        assert answer.status_code == 422, answer.get_data(as_text=True)
        assert answer.get_json()["error"]["field"] == "at"
