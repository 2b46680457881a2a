"""POST/GET /api/v1/dossiers and the PDF papers, as in shared/interfaces.md."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from postal.core.codes import is_valid_s10
from postal.extensions import db
from postal.models import Applicant, Dossier, Event, Item, UnitKind
from tests.intake_factories import NAME, applicant, committing_client


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
def headers(clerk, api_token):
    return api_token(clerk)


def body(**overrides):
    data = {"procedure_code": "1.000001", "applicant": applicant(), "channel": "counter",
            "return_method": "counter", "documents": ["d1"]}
    data.update(overrides)
    return data


def rows():
    return [db.session.scalar(select(func.count()).select_from(t))
            for t in (Dossier, Applicant, Event, Item)]


def test_post_accepts_and_answers_code_due_status_barcodes_and_receipt(client, headers, procedure):
    response = client.post("/api/v1/dossiers", json=body(), headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert set(data) >= {"code", "due_at", "status", "item_barcodes", "receipt_url"}
    assert data["code"].startswith("000.00.42.H26-") and data["status"] == "accepted"
    assert data["due_at"] and len(data["item_barcodes"]) == 1
    assert is_valid_s10(data["item_barcodes"][0])
    assert data["receipt_url"] == f"/api/v1/dossiers/{data['code']}/receipt.pdf"
    receipt = client.get(data["receipt_url"], headers=headers)
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert receipt.data.startswith(b"%PDF")
    assert receipt.headers["Content-Disposition"].startswith("inline")


def test_documents_may_be_named_instead_of_ids(client, headers, procedure):
    response = client.post("/api/v1/dossiers", json=body(documents=["tờ khai"]), headers=headers)
    assert response.status_code == 201, response.get_json()


def test_get_shows_the_dossier_with_its_timeline(client, headers, procedure):
    code = client.post("/api/v1/dossiers", json=body(), headers=headers).get_json()["code"]
    data = client.get(f"/api/v1/dossiers/{code}", headers=headers).get_json()
    assert data["code"] == code and data["applicant"]["full_name"] == NAME
    assert data["procedure"]["code"] == "1.000001"
    assert [e["kind"] for e in data["timeline"]] == ["accepted"]
    assert data["legs"] == [] and data["items"][0]["kind"] == "folder"


def test_another_units_dossier_is_404(client, headers, procedure, make_unit, make_user,
                                      api_token):
    code = client.post("/api/v1/dossiers", json=body(), headers=headers).get_json()["code"]
    stranger = api_token(make_user("clerk", unit=make_unit(UnitKind.CENTRE, code="C9")))
    for path in (f"/api/v1/dossiers/{code}", f"/api/v1/dossiers/{code}/receipt.pdf"):
        response = client.get(path, headers=stranger)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("change", "field"), [
    ({"applicant": applicant(id_number="0421900012")}, "applicant.id_number"),
    ({"applicant": applicant(phone="12345")}, "applicant.phone"),
    ({"applicant": applicant(address={"street": "x", "ward_code": "77777"})},
     "applicant.address.ward_code"),
    ({"procedure_code": "9.999999"}, "procedure_code"),
    ({"documents": []}, "documents"),
    ({"return_method": "home", "delivery_address": {"street": "Số 2", "ward_code": "1"}},
     "delivery_address.ward_code"),
    ({"return_method": "teleport"}, "return_method"),
    ({"applicant": "Nguyễn Văn A"}, "applicant"),
    ({"documents": "d1"}, "documents"),
])
def test_bad_input_is_a_422_on_the_field_and_writes_nothing(client, headers, procedure, change,
                                                             field):
    before = rows()
    response = client.post("/api/v1/dossiers", json=body(**change), headers=headers)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert rows() == before


def test_home_return_refused_when_the_procedure_does_not_allow_it(client, headers, make_procedure):
    make_procedure(code="1.000009", home_return=False)
    response = client.post("/api/v1/dossiers", headers=headers,
                           json=body(procedure_code="1.000009", return_method="home"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "return_method"


def test_a_double_submit_with_the_same_key_returns_the_first_dossier(client, headers, procedure):
    key = {"Idempotency-Key": "0b5e7c1e-4d1f-4b7a-9a51-3f8c2f0d9e11"}
    first = client.post("/api/v1/dossiers", json=body(), headers=headers | key)
    before = rows()
    second = client.post("/api/v1/dossiers", json=body(), headers=headers | key)
    assert second.status_code == 201
    assert second.get_json()["code"] == first.get_json()["code"]
    assert rows() == before


def test_home_delivery_with_its_own_address_and_postal_fee(client, headers, procedure):
    response = client.post("/api/v1/dossiers", headers=headers, json=body(
        return_method="home", delivery_address={"street": "Số 5 Hà Huy Tập", "ward_code": "18073"},
        fees={"postal_fee": 25000}))
    assert response.status_code == 201, response.get_json()
    data = client.get(f"/api/v1/dossiers/{response.get_json()['code']}", headers=headers).get_json()
    assert data["delivery_address"]["ward_code"] == "18073" and data["postal_fee"] == 25000


def test_supplement_and_refusal_outcomes_have_their_slips(client, headers, procedure):
    asked = client.post("/api/v1/dossiers", headers=headers, json=body(
        outcome="supplement", documents=[], applicant={"full_name": "Lê Văn Tám"}))
    assert asked.status_code == 201, asked.get_json()
    data = asked.get_json()
    assert data["code"] is None and data["status"] == "incomplete" and data["receipt_url"] is None
    slip = client.get(data["slip_url"], headers=headers)
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")
    assert client.get(f"/api/v1/dossiers/{data['id']}/receipt.pdf",
                      headers=headers).status_code == 409
    refused = client.post("/api/v1/dossiers", headers=headers, json=body(
        outcome="refuse", reason="Không thuộc thẩm quyền")).get_json()
    assert refused["status"] == "rejected"
    assert client.get(refused["slip_url"], headers=headers).data.startswith(b"%PDF")
    no_reason = client.post("/api/v1/dossiers", headers=headers, json=body(outcome="refuse"))
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["field"] == "reason"


def test_receipt_on_a5_and_the_folder_sticker(client, headers, procedure):
    code = client.post("/api/v1/dossiers", json=body(), headers=headers).get_json()["code"]
    a5 = client.get(f"/api/v1/dossiers/{code}/receipt.pdf?page=A5", headers=headers)
    assert a5.status_code == 200 and a5.data.startswith(b"%PDF")
    sticker = client.get(f"/api/v1/dossiers/{code}/sticker.pdf", headers=headers)
    assert sticker.status_code == 200 and sticker.data.startswith(b"%PDF")
    bad = client.get(f"/api/v1/dossiers/{code}/receipt.pdf?page=A3", headers=headers)
    assert bad.status_code == 422
    assert client.get(f"/api/v1/dossiers/{code}/sticker.pdf?page=A4",
                      headers=headers).status_code == 422


def _pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed to read the receipt")
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data,
                            capture_output=True, check=True)
    return result.stdout.decode()


def test_the_receipt_barcode_reads_back_as_the_code_and_the_name_is_exact(client, headers,
                                                                          procedure, tmp_path):
    import zxingcpp
    from PIL import Image

    code = client.post("/api/v1/dossiers", json=body(), headers=headers).get_json()["code"]
    pdf = client.get(f"/api/v1/dossiers/{code}/receipt.pdf", headers=headers).data
    assert NAME in _pdf_text(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", "-", str(tmp_path / "page")],
                   input=pdf, capture_output=True, check=True)
    found = {r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
             if r.format == zxingcpp.BarcodeFormat.Code128}
    assert code in found


def test_posting_needs_a_login_and_the_clerk_role(client, procedure, make_user, api_token):
    assert client.post("/api/v1/dossiers", json=body()).status_code == 401
    courier = api_token(make_user("courier"))
    assert client.post("/api/v1/dossiers", json=body(), headers=courier).status_code == 403


def test_openapi_documents_the_dossier_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/dossiers", "/api/v1/dossiers/{code}",
                 "/api/v1/dossiers/{code}/receipt.pdf", "/api/v1/dossiers/{code}/sticker.pdf",
                 "/api/v1/dossiers/{code}/supplement-slip.pdf",
                 "/api/v1/dossiers/{code}/refusal-slip.pdf"):
        assert path in paths
