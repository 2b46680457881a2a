"""Guessing dossier codes is rate-limited: the page and the API share one budget per address."""

from __future__ import annotations

import pytest

from postal.dossiers.lifecycle import State
from tests.factories import make_dossier


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


class TestTheFailureBudgetOfOneCode:
    """Failed code-and-phone lookups of one code are counted whatever the address."""

    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "PUBLIC_RATE_LIMIT": "100 per minute",
                "PUBLIC_CODE_FAILURES": "3 per hour"}

    def test_guesses_from_many_addresses_spend_one_budget_and_the_token_still_works(
            self, client, dossier):
        for n in range(3):
            answer = client.get("/api/v1/public/status", environ_base={
                "REMOTE_ADDR": f"10.0.0.{n}"},
                query_string={"code": dossier.code, "phone_last4": f"000{n}"})
            assert answer.status_code == 404
        right = {"code": dossier.code.lower(), "phone_last4": "3456"}  # even the right digits
        refused = client.get("/api/v1/public/status", query_string=right,
                             environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert refused.status_code == 429
        assert refused.get_json()["error"]["code"] == "too_many_guesses"
        page = client.get("/public/status", query_string=right,
                          environ_base={"REMOTE_ADDR": "10.0.0.8"})
        assert page.status_code == 429 and "mã QR" in page.get_data(as_text=True)
        by_token = client.get("/api/v1/public/status", query_string={"token": dossier.token},
                              environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert by_token.status_code == 200

    def test_right_answers_cost_nothing(self, client, dossier):
        right = {"code": dossier.code, "phone_last4": "3456"}
        for _ in range(5):
            assert client.get("/api/v1/public/status", query_string=right).status_code == 200
