"""The counter pages: intake form with its three outcomes, look-ups, dossier page, calendar page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from postal.extensions import db
from postal.models import CalendarOverride, Dossier, Event, UnitKind
from tests.conftest import csrf_from
from tests.intake_factories import ID_NUMBER, NAME, PHONE, accept, committing_client

CCCD = f"{ID_NUMBER}|183456789|{NAME}|15031990|Nữ|Thôn Trung Sơn, Xã Đức Đồng, Hà Tĩnh|20042021"


@pytest.fixture
def client(app):
    return committing_client(app)


@pytest.fixture
def clerk(make_user):
    return make_user("clerk")


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="1.000001", processing_days=3, fee=8000)


@pytest.fixture
def page(client, login, clerk, procedure):
    login(clerk)
    return client.get("/counter/")


def form(page, **overrides):
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.get_data(as_text=True))
    data = {
        "csrf_token": csrf_from(page), "idempotency_key": key.group(1),
        "procedure_code": "1.000001", "documents": ["d1"], "full_name": NAME,
        "id_number": ID_NUMBER, "phone": PHONE, "street": "Thôn Trung Sơn", "ward_code": "18304",
        "return_method": "counter", "delivery_same": "1", "outcome": "accept",
    }
    data.update(overrides)
    return data


def dossiers():
    return db.session.scalar(select(func.count()).select_from(Dossier))


def test_the_counter_page_has_the_intake_form(page):
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="proc-q"' in html and 'name="idempotency_key"' in html
    assert 'name="csrf_token"' in html and "counter.js" in html
    for outcome in ("accept", "supplement", "refuse"):
        assert f'value="{outcome}"' in html


def test_accepting_redirects_to_a_fresh_form_that_prints_the_receipt(client, page):
    response = client.post("/counter/", data=form(page))
    assert response.status_code == 303, response.get_data(as_text=True)
    code = db.session.scalar(select(Dossier.code))
    assert f"done={code}" in response.headers["Location"]
    after = client.get(response.headers["Location"])
    html = after.get_data(as_text=True)
    assert code in html and 'id="print-frame"' in html
    print_url = re.search(r'data-print="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert print_url == f"/counter/d/{code}/receipt.pdf?page=A4"
    pdf = client.get(print_url)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    new_key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    assert new_key != form(page)["idempotency_key"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"id_number": "0421900"}, "id_number", "12 chữ số"),
    ({"phone": "0241234567"}, "phone", "điện thoại"),
    ({"ward_code": ""}, "ward_code", "xã/phường"),
    ({"documents": []}, "documents", "thiếu giấy tờ"),
    ({"procedure_code": "9.9"}, "procedure_code", "không có thủ tục"),
    ({"return_method": "home", "delivery_same": "", "delivery_street": "Số 1",
      "delivery_ward_code": "424242"}, "delivery_ward_code", "không có xã/phường"),
])
def test_bad_input_is_shown_on_its_field_and_writes_nothing(client, page, change, field,
                                                           message):
    response = client.post("/counter/", data=form(page, **change))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert 'aria-invalid="true"' in html
    assert NAME in html  # what was typed stays in the form
    assert dossiers() == 0


def test_home_return_refused_for_a_counter_only_procedure(client, page, make_procedure):
    make_procedure(code="1.000002", home_return=False)
    response = client.post("/counter/", data=form(page, procedure_code="1.000002",
                                                 return_method="home"))
    assert response.status_code == 422
    assert 'id="return_method-error"' in response.get_data(as_text=True)
    assert dossiers() == 0


def test_a_double_submit_of_the_same_form_makes_one_dossier(client, page):
    data = form(page)
    first = client.post("/counter/", data=data)
    second = client.post("/counter/", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert dossiers() == 1


def test_a_post_without_the_csrf_token_is_refused(client, page):
    response = client.post("/counter/", data=form(page, csrf_token=""))
    assert response.status_code == 400 and dossiers() == 0


def test_asking_for_supplements_prints_the_supplement_slip(client, page):
    response = client.post("/counter/", data=form(
        page, outcome="supplement", documents=[], extra_missing="Bản sao sổ hộ khẩu\n"))
    assert response.status_code == 303
    assert "paper=supplement-slip" in response.headers["Location"]
    dossier = db.session.scalar(select(Dossier))
    assert dossier.code is None and dossier.missing_documents == ["Tờ khai", "Bản sao sổ hộ khẩu"]
    slip = client.get(f"/counter/d/{dossier.id}/supplement-slip.pdf")
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")


def test_refusing_needs_a_reason(client, page):
    response = client.post("/counter/", data=form(page, outcome="refuse", reason=""))
    assert response.status_code == 422 and 'id="reason-error"' in response.get_data(as_text=True)
    response = client.post("/counter/", data=form(page, outcome="refuse", reason="Sai thẩm quyền"))
    assert response.status_code == 303 and "paper=refusal-slip" in response.headers["Location"]
    assert db.session.scalar(select(Event.kind)) == "rejected"


def test_a_scanned_dossier_code_or_folder_number_opens_the_dossier(client, page, clerk, procedure):
    dossier = accept(clerk, procedure)
    code, number = dossier.code, dossier.items[0].number
    found = client.get(f"/counter/find?q={code}")
    assert found.status_code == 302 and found.headers["Location"] == f"/counter/d/{code}"
    by_item = client.get(f"/counter/find?q={number.lower()}")
    assert by_item.headers["Location"] == f"/counter/d/{code}"
    missing = client.get("/counter/find?q=000.00.42.H26-260101-9999")
    assert missing.status_code == 404 and "Không tìm thấy" in missing.get_data(as_text=True)


def test_the_dossier_page_shows_data_timeline_and_reprints(client, page, clerk, procedure):
    code = accept(clerk, procedure, return_method="home").code
    html = client.get(f"/counter/d/{code}").get_data(as_text=True)
    assert NAME in html and code in html and "Tiếp nhận hồ sơ" in html
    for paper in ("receipt.pdf?page=A4", "receipt.pdf?page=A5", "sticker.pdf?page=A6"):
        assert f"/counter/d/{code}/{paper}" in html
    assert client.get(f"/counter/d/{code}/sticker.pdf").data.startswith(b"%PDF")


def test_another_units_dossier_is_not_found(client, login, make_user, make_unit, procedure, clerk):
    code = accept(clerk, procedure).code
    login(make_user("clerk", unit=make_unit(UnitKind.CENTRE, code="C7")))
    assert client.get(f"/counter/d/{code}").status_code == 404
    assert client.get(f"/counter/d/{code}/receipt.pdf").status_code == 404
    assert client.get(f"/counter/find?q={code}").status_code == 404


def test_the_checklist_fragment_and_its_errors(client, page):
    html = client.get("/counter/procedures/1.000001/checklist").get_data(as_text=True)
    assert 'value="d1"' in html and 'data-required="true"' in html and "Tờ khai" in html
    assert client.get("/counter/procedures/9.9/checklist").status_code == 422


def test_ward_search_ignores_accents_and_puts_the_own_province_first(client, page):
    wards = client.get("/counter/wards?q=huong son").get_json()
    assert wards[0]["code"] == "18133" and wards[0]["province"] == "Hà Tĩnh"
    assert any(w["code"] == "10489" for w in wards)  # Hà Nội's Hương Sơn too
    assert client.get("/counter/wards?q=Đức Đồng").get_json()[0]["code"] == "18304"
    assert client.get("/counter/wards?q=").get_json() == []


def test_the_cccd_qr_fills_the_applicant_and_splits_the_address(client, page):
    response = client.post("/counter/cccd", json={"text": CCCD},
                           headers={"X-CSRFToken": csrf_from(page), "Accept": "application/json"})
    card = response.get_json()
    assert card["full_name"] == NAME and card["id_number"] == ID_NUMBER
    assert card["street"] == "Thôn Trung Sơn" and card["ward"]["code"] == "18304"
    assert card["birth_date"] == "1990-03-15"


def test_a_bad_cccd_text_is_a_422_and_needs_csrf(client, page):
    bad = client.post("/counter/cccd", json={"text": "not|a|card"},
                      headers={"X-CSRFToken": csrf_from(page), "Accept": "application/json"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "cccd"
    assert client.post("/counter/cccd", json={"text": CCCD}).status_code == 400


@pytest.mark.parametrize("role", ["courier", "agency"])
def test_other_roles_cannot_use_the_counter(client, login, make_user, role):
    login(make_user(role))
    assert client.get("/counter/").status_code == 403


# -- the manager's calendar page ---------------------------------------------------------------


@pytest.fixture
def manager_page(app, client, login, make_user):
    if "calendar_admin" not in app.blueprints:  # until the lead registers it
        from postal.web.calendar_admin import bp

        app.register_blueprint(bp)
    login(make_user("manager"))
    return client.get("/office/calendar/?year=2027")


def test_the_calendar_page_lists_the_public_holidays_and_make_up_days(manager_page):
    html = manager_page.get_data(as_text=True)
    assert manager_page.status_code == 200
    assert "Tết Nguyên Đán" in html and "06/02/2027" in html


def test_a_manager_adds_and_removes_an_extra_day_off(client, manager_page):
    token = csrf_from(manager_page)
    added = client.post("/office/calendar/", data={
        "csrf_token": token, "day": "2027-03-03", "kind": "day_off", "note": "Bầu cử"})
    assert added.status_code == 303
    row = db.session.scalar(select(CalendarOverride))
    assert row.note == "Bầu cử"
    again = client.post("/office/calendar/", data={
        "csrf_token": token, "day": "2027-03-03", "kind": "day_off", "note": ""})
    assert again.status_code == 409 and 'id="day-error"' in again.get_data(as_text=True)
    removed = client.post(f"/office/calendar/{row.id}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0


def test_a_useless_override_is_refused_on_its_field(client, manager_page):
    response = client.post("/office/calendar/", data={
        "csrf_token": csrf_from(manager_page), "day": "2027-02-06", "kind": "day_off"})
    assert response.status_code == 422 and "vốn đã là ngày nghỉ" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0


def test_clerks_cannot_edit_the_calendar(app, client, login, clerk):
    if "calendar_admin" not in app.blueprints:
        from postal.web.calendar_admin import bp

        app.register_blueprint(bp)
    login(clerk)
    assert client.get("/office/calendar/").status_code == 403


def test_the_counter_shows_every_wrong_field_at_once(client, login, make_user, make_procedure):
    """A bad ID number and a bad phone: both errors on the form, not the first only."""
    login(make_user("clerk"))
    page = client.get("/counter/")
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    procedure = make_procedure()
    answer = client.post("/counter/", data={
        "csrf_token": token, "procedure_code": procedure.code, "outcome": "accept",
        "full_name": "Nguyễn Văn An", "id_number": "12345", "phone": "12",
        "street": "12 Trần Phú", "ward_code": "", "documents": []})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "12 chữ số" in html and "số điện thoại" in html.lower()


def test_the_api_lists_every_wrong_field_at_once(client, api_token, make_user, make_procedure):
    answer = client.post("/api/v1/dossiers", headers=api_token(make_user("clerk")), json={
        "procedure_code": make_procedure().code, "outcome": "accept",
        "applicant": {"full_name": "Nguyễn Văn An", "id_number": "12345", "phone": "12",
                      "address": {"street": "12 Trần Phú", "ward_code": ""}}})
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.get_json()["error"]["errors"]}
    assert {"applicant.id_number", "applicant.phone", "applicant.address.ward_code"} <= fields


def test_a_supplement_slip_scanned_at_the_counter_reopens_the_intake_filled_in(client, page):
    from tests.documents_support import scan

    client.post("/counter/", data=form(page, outcome="supplement", documents=[],
                                       extra_missing="Bản sao sổ hộ khẩu\n"))
    dossier = db.session.scalar(select(Dossier))
    slip = client.get(f"/counter/d/{dossier.id}/supplement-slip.pdf").data
    [printed] = scan(slip)[0]["code128"]
    assert printed == f"TN{dossier.id}"
    found = client.get("/counter/find", query_string={"q": printed.lower()})
    assert found.status_code == 302 and f"resume={dossier.id}" in found.headers["Location"]
    again = client.get(found.headers["Location"])
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and 'id="resumed"' in html
    for value in (NAME, ID_NUMBER, PHONE, "Thôn Trung Sơn", "1.000001"):
        assert f'value="{value}"' in html, value
    accepted = client.post("/counter/", data=form(again))  # the papers now complete
    assert accepted.status_code == 303 and dossiers() == 2


def test_the_refusal_slip_carries_its_barcode_too(client, page):
    from tests.documents_support import scan

    client.post("/counter/", data=form(page, outcome="refuse", reason="Sai thẩm quyền"))
    dossier = db.session.scalar(select(Dossier))
    slip = client.get(f"/counter/d/{dossier.id}/refusal-slip.pdf").data
    assert scan(slip)[0]["code128"] == [f"TN{dossier.id}"]
    found = client.get("/counter/find", query_string={"q": f"TN{dossier.id}"})
    assert found.headers["Location"].endswith(f"/counter/d/{dossier.id}")


def test_the_counter_records_a_supplement_received(client, login, make_user, clerk, procedure):
    from datetime import timedelta

    from postal.dossiers import decisions
    from postal.dossiers.lifecycle import State
    from postal.models import utcnow

    login(clerk)
    dossier = accept(clerk, procedure)
    officer = make_user("agency", unit=procedure.agency)
    dossier.state = State.PROCESSING
    decisions.request_supplement(db.session, officer, dossier, reason="Thiếu bản sao",
                                 now=utcnow() - timedelta(days=7))  # a whole week paused
    db.session.commit()
    due_before = dossier.due_at
    page = client.get(f"/counter/d/{dossier.code}")
    assert 'id="supplement-received"' in page.get_data(as_text=True)
    done = client.post(f"/counter/d/{dossier.code}/supplement-received",
                       data={"csrf_token": csrf_from(page), "note": "Đủ giấy"})
    assert done.status_code == 303
    db.session.expire_all()
    fresh = db.session.get(Dossier, dossier.id)
    assert fresh.state == State.PROCESSING and fresh.due_at > due_before
