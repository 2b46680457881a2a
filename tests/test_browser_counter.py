"""A clerk at the counter with a keyboard and a scanner only, in headless Chromium."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from postal.extensions import db
from postal.models import Dossier
from tests.conftest import PASSWORD
from tests.intake_factories import ID_NUMBER, NAME, PHONE, accept

pytestmark = pytest.mark.browser


CCCD = f"{ID_NUMBER}|183456789|{NAME}|15031990|Nữ|Thôn Trung Sơn, Xã Đức Đồng, Hà Tĩnh|20042021"


@pytest.fixture
def clerk(make_user):
    return make_user("clerk")


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="2.000635", name="Cấp bản sao trích lục hộ tịch", processing_days=3)


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def wait_focus(page, element_id: str) -> None:
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id",
                           arg=element_id)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    wait_focus(page, "username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/counter/")


def test_a_clerk_completes_an_intake_with_the_keyboard_alone(live_server, browser_page, clerk,
                                                            procedure):
    page, base = browser_page, live_server
    username = clerk.username
    db.session.commit()
    log_in(page, base, username)
    wait_focus(page, "proc-q")

    # the procedure, found without accents, picked with the arrow keys
    page.keyboard.type("trich luc ho tich")
    page.wait_for_selector("#proc-list li")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#checklist input[value=d1]")
    assert page.evaluate("document.activeElement.value") == "d1"
    page.keyboard.press("Space")  # the required form is there
    assert page.is_checked("#checklist input[value=d1]")

    # the chip card's QR code, typed by the scanner, fills the applicant
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "f-cccd"
    page.keyboard.type(CCCD)
    page.keyboard.press("Enter")
    wait_focus(page, "f-phone")
    assert page.input_value("#f-full_name") == NAME
    assert page.input_value("#f-id_number") == ID_NUMBER
    assert page.input_value("#f-street") == "Thôn Trung Sơn"
    assert page.input_value("#f-ward_code") == "18304"
    assert page.input_value("#f-cccd") == ""
    page.keyboard.type(PHONE)
    page.keyboard.press("Enter")  # Enter moves on, it never submits half a form
    assert focused(page) == "f-street" and page.url == f"{base}/counter/"

    # accept: the page comes back fresh for the next citizen and prints the receipt
    with page.expect_response(lambda r: "/receipt.pdf" in r.url) as receipt:
        page.keyboard.press("Control+Enter")
    response = receipt.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    code = page.inner_text("#done-code")
    assert re.fullmatch(r"000\.00\.42\.H26-\d{6}-0001", code)
    wait_focus(page, "proc-q")
    pdf = page.request.get(response.url)
    assert pdf.ok and pdf.body().startswith(b"%PDF")

    dossier = db.session.scalar(select(Dossier))
    assert dossier.code == code and dossier.applicant.full_name == NAME
    assert dossier.applicant.phone == PHONE and dossier.applicant.ward.code == "18304"
    assert [d["id"] for d in dossier.documents] == ["d1"]


def test_a_scanned_dossier_code_opens_the_dossier_page(live_server, browser_page, clerk,
                                                       procedure):
    code = accept(clerk, procedure).code
    username = clerk.username
    db.session.commit()
    page, base = browser_page, live_server
    log_in(page, base, username)
    wait_focus(page, "proc-q")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/counter/d/{code}")
    assert page.inner_text("#applicant-name") == NAME
    assert page.locator("#timeline tbody tr").count() == 1


def test_a_refused_field_is_focused_with_its_message(live_server, browser_page, clerk, procedure):
    username = clerk.username
    db.session.commit()
    page, base = browser_page, live_server
    log_in(page, base, username)
    wait_focus(page, "proc-q")
    page.keyboard.type("2.000635")
    page.wait_for_selector("#proc-list li")
    page.keyboard.press("Enter")
    page.wait_for_selector("#checklist input[value=d1]")
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("Tab")
    assert focused(page) == "f-full_name"
    page.keyboard.type("Trần Văn Bình")
    page.keyboard.press("Enter")
    page.keyboard.type("12345")  # not a citizen ID number
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#id_number-error")
    assert focused(page) == "f-id_number"
    assert "12 chữ số" in page.inner_text("#id_number-error")
    assert page.input_value("#f-full_name") == "Trần Văn Bình"
    assert db.session.scalar(select(Dossier)) is None
