"""Guessing dossier codes is rate-limited: the page and the API share one budget per address."""

from __future__ import annotations

import pytest

from postal.dossiers.lifecycle import State
from tests.public_factories import make_dossier


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "PUBLIC_RATE_LIMIT": "3 per minute"}


@pytest.fixture
def dossier(centre, make_procedure):
    return make_dossier(centre, make_procedure(), state=State.PROCESSING)


def test_the_fourth_guess_in_a_minute_is_refused_with_429(client, dossier):
    for last4 in ("0001", "0002", "0003"):
        answer = client.get("/api/v1/public/status",
                            query_string={"code": dossier.code, "phone_last4": last4})
        assert answer.status_code == 404
    refused = client.get("/api/v1/public/status",
                         query_string={"code": dossier.code, "phone_last4": "3456"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert "Retry-After" in refused.headers


def test_the_page_and_the_api_draw_on_the_same_budget(client, dossier):
    by_token = {"token": dossier.token}
    assert client.get("/api/v1/public/status", query_string=by_token).status_code == 200
    assert client.get("/public/status", query_string=by_token).status_code == 200
    assert client.get("/public/status",
                      query_string={"code": dossier.code, "phone_last4": "9999"}).status_code == 404
    assert client.get("/public/status", query_string=by_token).status_code == 429
    assert client.get("/api/v1/public/status", query_string=by_token).status_code == 429


def test_showing_the_empty_form_costs_nothing(client, dossier):
    for _ in range(5):
        assert client.get("/public/status").status_code == 200
    assert client.get("/public/status", query_string={"token": dossier.token}).status_code == 200


def test_the_limit_is_per_client_address(client, dossier):
    for _ in range(3):
        client.get("/api/v1/public/status", query_string={"token": dossier.token})
    assert client.get("/api/v1/public/status",
                      query_string={"token": dossier.token}).status_code == 429
    other = client.get("/api/v1/public/status", query_string={"token": dossier.token},
                       environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
