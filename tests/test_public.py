"""The citizen's status page and GET /api/v1/public/status: found by QR token or code + phone
digits, stage and dates only, one answer for every miss."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from postal.dossiers import public_status
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import AuditEntry, DeliveryRun, Event, RunStatus, RunStop
from tests.factories import local, make_dossier

PERSONAL = ("Nguyễn Văn An", "12 Trần Phú", "0905123456", "905123456")


@pytest.fixture
def dossier(centre, make_procedure):
    return make_dossier(centre, make_procedure(), code="000.00.42.H26-250303-0007",
                        state=State.PROCESSING)


def page(client, **query):
    return client.get("/public/status", query_string=query)


def api(client, **query):
    return client.get("/api/v1/public/status", query_string=query)


def normalised(response, query: dict) -> str:
    """The page without its CSRF token and with the submitted values blanked (they are echoed
    in the form and in the language links)."""
    html = re.sub(r'<meta name="csrf-token" content="[^"]*">', "",
                  response.get_data(as_text=True))
    for value in query.values():
        html = html.replace(quote(value, safe=""), "X").replace(value, "X")
    return html


def test_the_qr_token_opens_the_status_with_stage_due_date_and_return_method(client, dossier):
    response = page(client, token=dossier.token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-stage="processing"' in html
    assert "Cơ quan chuyên môn đang giải quyết" in html
    assert '<dd id="due-at">06/03/2025 17:00</dd>' in html
    assert "Nhận tại quầy: Trung tâm Phục vụ HCC Thành Sen" in html
    assert '<dd id="received-on">03/03/2025</dd>' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # no session for a citizen: nothing to track


def test_the_code_and_the_phones_last_four_digits_open_the_same_status(client, dossier):
    by_token = api(client, token=dossier.token).get_json()
    by_code = api(client, code=dossier.code, phone_last4="3456")
    assert by_code.status_code == 200
    assert by_code.get_json() == by_token
    assert by_token["code"] == dossier.code and by_token["stage"] == "processing"
    assert by_token["due_at"] == "2025-03-06T10:00:00+00:00"
    # typed in lower case on a phone keyboard, with spaces around
    lower = api(client, code=f"  {dossier.code.lower()} ", phone_last4="3456")
    assert lower.status_code == 200 and lower.get_json()["code"] == dossier.code


def test_the_page_and_the_api_show_the_one_domain_answer(client, dossier):
    body = api(client, token=dossier.token).get_json()
    expected = public_status.lookup(db.session, token=dossier.token)
    assert set(body) == set(expected)
    assert body["stage_text"] == expected["stage_text"]
    assert body["return_place"] == expected["return_place"] == "Trung tâm Phục vụ HCC Thành Sen"
    html = page(client, code=dossier.code, phone_last4="3456").get_data(as_text=True)
    assert expected["stage_text"] in html and dossier.code in html


def test_no_personal_data_appears_on_the_page_or_in_the_api(client, dossier):
    for response in (page(client, token=dossier.token), api(client, token=dossier.token),
                     page(client, code=dossier.code, phone_last4="3456")):
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        for secret in PERSONAL:
            assert secret not in text
    assert not {"full_name", "phone", "address", "applicant", "token"} & set(
        api(client, token=dossier.token).get_json())


@pytest.mark.parametrize("query", [
    {"code": "000.00.42.H26-250303-0007", "phone_last4": "0000"},  # the wrong phone
    {"code": "000.00.42.H26-250303-9999", "phone_last4": "3456"},  # an unknown code
    {"token": "a" * 22},  # an unknown token
])
def test_every_miss_gets_the_same_answer_so_codes_cannot_be_probed(client, dossier, query):
    reference = api(client, code="000.00.42.H26-250303-9999", phone_last4="0000")
    answer = api(client, **query)
    assert answer.status_code == reference.status_code == 404
    assert answer.get_json() == reference.get_json()
    assert answer.get_json()["error"]["code"] == "not_found"
    reference_query = {"code": "000.00.42.H26-250303-9999", "phone_last4": "0000"}
    html_ref = page(client, **reference_query)
    html = page(client, **query)
    assert html.status_code == 404
    if "token" not in query:
        assert normalised(html, query) == normalised(html_ref, reference_query)
    assert "Không tìm thấy hồ sơ" in html.get_data(as_text=True)


def test_a_phone_without_four_digits_never_matches(client, centre, make_procedure):
    d = make_dossier(centre, make_procedure(), phone=None)
    assert api(client, code=d.code, phone_last4="0000").status_code == 404
    assert api(client, token=d.token).status_code == 200


@pytest.mark.parametrize(("query", "field"), [
    ({}, "code"),
    ({"code": "X-1"}, "phone_last4"),
    ({"code": "X-1", "phone_last4": "12a4"}, "phone_last4"),
    ({"code": "X-1", "phone_last4": "123"}, "phone_last4"),
    ({"code": "<script>", "phone_last4": "1234"}, "code"),
    ({"token": "short"}, "token"),
    ({"token": "bad token with spaces"}, "token"),
    ({"code": "x" * 61, "phone_last4": "1234"}, "code"),
    ({"code": "X-1", "phone_last4": "12345"}, "phone_last4"),
])
def test_malformed_input_is_a_422_naming_the_field_and_writes_nothing(client, dossier, query,
                                                                       field):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    answer = api(client, **query)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["field"] == field
    if query:
        html = page(client, **query)
        assert html.status_code == 422
        assert 'aria-invalid="true"' in html.get_data(as_text=True) or \
            'id="token-error"' in html.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_the_bare_page_shows_the_lookup_form(client):
    response = client.get("/public/status")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="lookup-form"' in html and 'name="phone_last4"' in html
    assert 'name="viewport"' in html  # phone first


def test_home_delivery_shows_the_day_the_result_went_out(client, centre, make_procedure):
    d = make_dossier(centre, make_procedure(), state=State.OUT_FOR_DELIVERY,
                     return_method="home", resolved=local(3, 5, 10), attempts=1)
    db.session.add(Event(kind="out_for_delivery", dossier_id=d.id, at=local(3, 7, 8),
                         recorded_at=local(3, 7, 8), data={}))
    db.session.add(Event(kind="out_for_delivery", dossier_id=d.id, at=local(3, 10, 8),
                         recorded_at=local(3, 10, 8), data={}))
    db.session.commit()
    body = api(client, token=d.token).get_json()
    assert body["return_method"] == "home" and body["return_place"] is None
    assert body["delivery_day"] == "2025-03-10"  # the latest attempt
    assert body["delivery_attempts"] == 1
    html = page(client, token=d.token).get_data(as_text=True)
    assert '<dd id="delivery-day">10/03/2025</dd>' in html
    assert "12 Trần Phú" not in html  # the delivery address stays private too


def test_home_delivery_shows_the_day_of_the_run_it_is_planned_on(client, centre,
                                                                 make_procedure, make_user):
    d = make_dossier(centre, make_procedure(), state=State.AWAITING_RETURN,
                     return_method="home", resolved=local(3, 5, 10))
    courier = make_user("courier")
    for day, status in ((date(2025, 3, 11), RunStatus.PLANNED),
                        (date(2025, 3, 12), RunStatus.CANCELLED)):
        run = DeliveryRun(unit_id=centre.id, courier_id=courier.id, day=day, status=status,
                          depot_lat=18.34, depot_lon=105.9)
        run.stops.append(RunStop(dossier_id=d.id, position=1, lat=18.35, lon=105.91,
                                 geo_source="ward"))
        db.session.add(run)
    # an older scan loses to the run
    db.session.add(Event(kind="out_for_delivery", dossier_id=d.id, at=local(3, 7, 8),
                         recorded_at=local(3, 7, 8), data={}))
    db.session.commit()
    assert api(client, token=d.token).get_json()["delivery_day"] == "2025-03-11"


def test_an_extended_dossier_shows_the_new_appointment(client, centre, make_procedure):
    d = make_dossier(centre, make_procedure(), appointment=local(3, 12, 17))
    body = api(client, token=d.token).get_json()
    assert body["appointment_at"] == "2025-03-12T10:00:00+00:00"
    html = page(client, token=d.token).get_data(as_text=True)
    assert '<dd id="appointment-at">12/03/2025 17:00</dd>' in html


def test_a_returned_dossier_shows_when_it_was_returned(client, centre, make_procedure):
    d = make_dossier(centre, make_procedure(), state=State.RETURNED, resolved=local(3, 5),
                     returned=local(3, 6, 15))
    body = api(client, token=d.token).get_json()
    assert body["stage"] == "returned" and body["step"] == 5
    assert body["returned_on"] == "2025-03-06"


def test_a_dossier_sent_back_at_intake_has_no_code_but_its_token_works(client, centre,
                                                                       make_procedure):
    d = make_dossier(centre, make_procedure(), state=State.INCOMPLETE)
    d.code, d.received_at, d.due_at = None, None, None
    db.session.commit()
    body = api(client, token=d.token).get_json()
    assert body["code"] is None and body["stage"] == "incomplete" and body["step"] == 0


def test_every_lifecycle_state_has_words_for_citizens():
    assert set(public_status.STAGE_WORDS) == set(State)
    assert all(public_status.STAGE_WORDS.values())


def test_the_page_follows_the_language_switch(client, dossier):
    client.get("/lang/en")
    html = page(client, token=dossier.token).get_data(as_text=True)
    assert '<html lang="en">' in html
    client.get("/lang/vi")
    assert '<html lang="vi">' in page(client, token=dossier.token).get_data(as_text=True)


def test_the_lookup_is_documented_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/public/status"]["get"]
    assert {"200", "404", "422", "429"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"token", "code", "phone_last4"}
