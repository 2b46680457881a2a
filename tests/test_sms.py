"""The SMS/Zalo gateway plug (NOTIFY_SENDER=http): the wire format from SMS_TEMPLATE, the
gateway's id and delivery status kept, receipts, segments, and text without diacritics."""

from __future__ import annotations

import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import select

from config import ConfigError, load
from postal.core.text import unaccent
from postal.extensions import db
from postal.models import Notification, NotificationStatus, utcnow
from postal.outbox.messages import notify
from postal.outbox.senders import build_sender
from postal.outbox.sms import HttpSmsSender, segments
from postal.outbox.worker import send_due
from tests.factories import make_dossier
from tests.links_support import Clock, FakeServer


@pytest.fixture
def gateway():
    server = FakeServer(answers=[(200, {"id": "gw-1", "status": "queued"})])
    yield server
    server.close()


@pytest.fixture
def queued(centre, make_procedure):
    dossier = make_dossier(centre, make_procedure(), phone="0905123456")
    notify(db.session, dossier, "result_ready")
    db.session.commit()
    return dossier


def test_segments_count_gsm7_and_ucs2_by_their_own_lengths():
    assert segments("a" * 160) == ("gsm7", 1)
    assert segments("a" * 161) == ("gsm7", 2)
    assert segments("a" * 306) == ("gsm7", 2) and segments("a" * 307) == ("gsm7", 3)
    assert segments("{" * 80) == ("gsm7", 1) and segments("{" * 81) == ("gsm7", 2)  # 2 septets
    assert segments("ồ" * 70) == ("ucs2", 1)
    assert segments("ồ" * 71) == ("ucs2", 2)
    assert segments("ồ" * 134) == ("ucs2", 2) and segments("ồ" * 135) == ("ucs2", 3)
    assert segments("Hồ sơ") == ("ucs2", 1)


def test_text_without_diacritics_keeps_its_case():
    assert unaccent("Hồ sơ Đã có KẾT QUẢ, đến nhận") == "Ho so Da co KET QUA, den nhan"
    assert segments(unaccent("Hồ sơ đã có kết quả"))[0] == "gsm7"


def test_the_json_template_carries_recipient_text_and_reference(app, queued, gateway):
    sender = HttpSmsSender(gateway.url + "/send", auth="Bearer k",
                           template='{"msisdn": "{to}", "message": "{text}", "cid": "{ref}",'
                                    ' "parts": "{segments}", "brand": "POSTAL"}')
    assert send_due(db.session, sender, clock=utcnow) == (1, 0)
    [seen] = gateway.seen
    assert seen.path == "/send" and seen.headers["Authorization"] == "Bearer k"
    body = seen.json()
    row = db.session.scalars(select(Notification)).one()
    assert body["msisdn"] == "0905123456" and body["brand"] == "POSTAL"
    assert body["cid"] == str(row.id) and queued.code in body["message"]
    assert "kết quả" in body["message"]  # Unicode by default
    assert body["parts"] == str(segments(body["message"])[1])
    assert row.status == NotificationStatus.SENT and row.provider_ref == "gw-1"
    assert row.delivery_status == "queued" and row.segments == segments(body["message"])[1]


def test_a_form_template_and_sms_ascii_send_text_without_diacritics(app, queued, gateway):
    sender = build_sender({"NOTIFY_SENDER": "http", "SMS_URL": gateway.url,
                           "SMS_TEMPLATE": "to={to}&msg={text}&unicode=0", "SMS_ASCII": True})
    assert send_due(db.session, sender, clock=utcnow) == (1, 0)
    [seen] = gateway.seen
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(urllib.parse.parse_qsl(seen.body.decode()))
    assert form["to"] == "0905123456" and form["unicode"] == "0"
    assert form["msg"] == unaccent(form["msg"]) and "ket qua" in form["msg"]
    row = db.session.scalars(select(Notification)).one()
    assert row.body == form["msg"]


def test_a_gateway_refusing_unicode_gets_the_text_without_diacritics(app, queued, gateway):
    gateway.answers = [(400, {"error": "Unicode not supported"}), (200, {"id": "g2"})]
    sender = HttpSmsSender(gateway.url)
    assert send_due(db.session, sender, clock=utcnow) == (1, 0)
    first, second = (s.json()["text"] for s in gateway.seen)
    assert "kết quả" in first and second == unaccent(first)


@pytest.mark.parametrize("answer", [(502, b"bad gateway"), (200, b"<html>oops"),
                                    (200, {"status": "failed"})])
def test_a_bad_answer_keeps_the_message_for_a_retry(app, queued, gateway, answer):
    gateway.answers = [answer]
    clock = Clock(utcnow())
    assert send_due(db.session, HttpSmsSender(gateway.url), clock=clock) == (0, 1)
    row = db.session.scalars(select(Notification)).one()
    assert row.status == NotificationStatus.PENDING and row.last_error
    gateway.answers = [(200, {"id": "ok"})]
    clock.at += timedelta(minutes=5)
    assert send_due(db.session, HttpSmsSender(gateway.url), clock=clock) == (1, 0)


def test_an_unreachable_gateway_is_a_failure_to_retry(app, queued):
    assert send_due(db.session, HttpSmsSender("http://127.0.0.1:9/x", timeout=1),
                    clock=utcnow) == (0, 1)


def test_delivery_receipts_update_the_status_with_the_gateway_s_token(app, client, queued,
                                                                     gateway):
    send_due(db.session, HttpSmsSender(gateway.url), clock=utcnow)
    row = db.session.scalars(select(Notification)).one()
    url = "/api/v1/sms/receipts"
    assert client.post(url, json={"ref": str(row.id), "status": "DELIVERED"}).status_code == 404
    app.config["SMS_RECEIPT_TOKEN"] = "gw-token-123"
    headers = {"X-Postal-Token": "gw-token-123"}
    assert client.post(url, json={"ref": str(row.id), "status": "x"},
                       headers={"X-Postal-Token": "wrong"}).status_code == 404
    answer = client.post(url, json={"ref": str(row.id), "status": "DELIVERED"}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["status"] == "delivered"
    answer = client.post(url, json={"id": "gw-1", "status": "read"}, headers=headers)
    assert answer.status_code == 200
    db.session.refresh(row)
    assert row.delivery_status == "read"
    assert client.post(url, json={"id": "nope", "status": "read"},
                       headers=headers).status_code == 404
    assert client.post(url, json={}, headers=headers).status_code == 422


def test_the_http_sender_needs_its_url_and_a_valid_template():
    with pytest.raises(ValueError):
        build_sender({"NOTIFY_SENDER": "http"})
    with pytest.raises(ValueError):
        build_sender({"NOTIFY_SENDER": "http", "SMS_URL": "http://x", "SMS_TEMPLATE": "{bad"})


def test_sms_settings_come_from_the_environment():
    settings = load({"TESTING": True}, environ={"SMS_ASCII": "1", "SMS_URL": "http://gw"})
    assert settings["SMS_ASCII"] is True and settings["SMS_URL"] == "http://gw"
    with pytest.raises(ConfigError):
        load({"TESTING": True}, environ={"SMS_ASCII": "maybe"})
