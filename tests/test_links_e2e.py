"""End to end: a dossier accepted at the counter reaches the national portal, a webhook
subscriber and the SMS gateway in order, through `postal notify-worker` processes; a worker
killed (SIGKILL) in the middle of a delivery loses and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from postal.extensions import db
from postal.models import (
    DeliveryStatus,
    LinkDelivery,
    LinkEvent,
    Notification,
    NotificationStatus,
)
from postal.outbox import webhooks
from tests.intake_factories import PHONE, applicant, committing_client
from tests.links_support import FakeServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "e2e-subscriber-secret-42"


@pytest.fixture
def client(app):
    return committing_client(app)


@pytest.fixture
def fakes():
    log: list = []
    found = {
        "portal": FakeServer(answers=["hang", (200, {"error_code": 0})], log=log, name="portal"),
        "subscriber": FakeServer(answers=[(200, {})], log=log, name="subscriber"),
        "sms": FakeServer(answers=[(200, {"id": "sms-1", "status": "accepted"})], log=log,
                          name="sms"),
    }
    yield found, log
    for server in found.values():
        server.close()


def worker(database_url, fakes, *args):
    environment = {**os.environ, "POSTAL_ENV": "test", "TEST_DATABASE_URL": database_url,
                   "NOTIFY_SENDER": "http", "SMS_URL": fakes["sms"].url + "/sms",
                   "PORTAL_SYNC_URL": fakes["portal"].url + "/sync",
                   "PORTAL_SYNC_TOKEN": "tok", "LINK_LEASE": "1", "LINK_TIMEOUT": "60"}
    environment.pop("POSTAL_TEST_CREATE_ALL", None)
    command = str(Path(sys.executable).parent / "postal")
    return subprocess.Popen([command, "notify-worker", "--interval", "0.2", *args], cwd=ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def test_a_counter_intake_reaches_portal_subscriber_and_sms_in_order_despite_a_kill(
        client, app, database_url, make_user, make_procedure, agency, api_token, fakes):
    servers, log = fakes
    agency.results_without_folder = True
    make_procedure(code="1.000001", processing_days=3)
    db.session.commit()
    admin, clerk = api_token(make_user("admin")), api_token(make_user("clerk"))
    officer = api_token(make_user("agency", unit=agency))
    assert client.post("/api/v1/webhooks", headers=admin, json={
        "url": servers["subscriber"].url + "/in", "secret": SECRET,
        "events": ["dossier.accepted", "dossier.result_ready"]}).status_code == 201
    answer = client.post("/api/v1/dossiers", headers=clerk, json={
        "procedure_code": "1.000001", "applicant": applicant(), "channel": "counter",
        "return_method": "counter", "documents": ["d1"]})
    assert answer.status_code == 201, answer.get_json()
    code = answer.get_json()["code"]
    assert client.post(f"/api/v1/dossiers/{code}/result", headers=officer,
                       json={}).status_code == 200
    assert log == []  # nothing leaves in the request

    dying = worker(database_url, servers)
    try:
        deadline = time.monotonic() + 60
        while not servers["portal"].seen:  # the worker is in the middle of the first push
            assert dying.poll() is None, dying.communicate()
            assert time.monotonic() < deadline, "the worker never reached the portal"
            time.sleep(0.05)
    finally:
        os.killpg(dying.pid, signal.SIGKILL)
        dying.communicate(timeout=30)
    servers["portal"].release()
    db.session.rollback()
    assert db.session.scalars(select(LinkDelivery.status)).all() == [DeliveryStatus.PENDING] * 4
    assert db.session.scalars(select(Notification.status)).all() == [NotificationStatus.PENDING]
    db.session.commit()
    time.sleep(1.3)  # the dead worker's lease runs out

    again = worker(database_url, servers, "--once")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert "5 sent" in out.decode(), out.decode() + err.decode()

    # in the database: every delivery and the message sent, none twice
    db.session.rollback()
    deliveries = db.session.scalars(select(LinkDelivery).order_by(LinkDelivery.id)).all()
    assert [(d.target, d.event.event, d.status) for d in deliveries] == [
        ("portal", "dossier.accepted", DeliveryStatus.SENT),
        ("webhook", "dossier.accepted", DeliveryStatus.SENT),
        ("portal", "dossier.result_ready", DeliveryStatus.SENT),
        ("webhook", "dossier.result_ready", DeliveryStatus.SENT)]
    [message] = db.session.scalars(select(Notification)).all()
    assert message.status == NotificationStatus.SENT and message.provider_ref == "sms-1"
    assert len(db.session.scalars(select(LinkEvent)).all()) == 2

    # on the wire, each receiver's deliveries counted once by X-Postal-Delivery (the push cut
    # by the kill came again with the same key): in order, none lost, none doubled
    first_seen, arrivals = set(), []
    for name, seen in log:
        key = seen.headers.get("X-Postal-Delivery") or seen.json().get("ref")
        if (name, key) not in first_seen:
            first_seen.add((name, key))
            arrivals.append((name, key))
    keys = {d.key: d for d in deliveries}
    assert [(name, keys[key].event.event if key in keys else "sms") for name, key in arrivals] == [
        ("portal", "dossier.accepted"), ("subscriber", "dossier.accepted"),
        ("portal", "dossier.result_ready"), ("subscriber", "dossier.result_ready"),
        ("sms", "sms")]
    assert len(servers["portal"].seen) == 3  # the cut push, then two: at least once
    for seen in servers["subscriber"].seen:
        signature = seen.headers["X-Postal-Signature"]
        t = int(signature.split(",")[0].removeprefix("t="))
        assert abs(t - time.time()) < 300
        assert webhooks.verify(SECRET, signature, seen.body, now=time.time())
        assert seen.json()["dossier"]["code"] == code
    assert len(servers["subscriber"].seen) == 2
    [sms] = servers["sms"].seen
    assert sms.json()["to"] == PHONE and code in sms.json()["text"]
