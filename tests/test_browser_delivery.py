"""The courier's door page in headless Chromium at phone size: a delivery signed with a finger
(a mouse here) on the canvas, with the phone's GPS; and a failed attempt chosen from the list."""

from __future__ import annotations

import io

import delivery_support
import pytest
from delivery_support import now, today
from sqlalchemy import select

from postal.delivery import runs
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import DeliveryAttempt, Dossier, Notification, Outcome, ReturnMethod
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

town = delivery_support.town
GPS = {"latitude": 18.3512, "longitude": 105.8893, "accuracy": 8}


@pytest.fixture
def phone(browser):
    """A phone-sized page whose GPS reports a fixed position."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", geolocation=GPS,
                                  permissions=["geolocation"], has_touch=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _out_for_delivery(t, *dossiers):
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code for d in dossiers])
    runs.start_run(db.session, t.courier, run, now())
    db.session.commit()
    return run


def _log_in(page, base):
    page.goto(f"{base}/login")
    page.fill("#username", "courier1")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}/courier/")


def _reload(dossier):
    db.session.expire_all()
    found = db.session.get(Dossier, dossier.id)
    db.session.commit()  # hold no lock while the browser goes on
    return found


def test_a_courier_records_a_delivery_with_a_signature_drawn_on_the_phone(town, live_server,
                                                                          phone, tmp_path):
    t = town
    d = t.dossier(cod_amount=33000, name="Phạm Thị Lan")
    run = _out_for_delivery(t, d)
    _log_in(phone, live_server)
    phone.goto(f"{live_server}/delivery/runs/{run.id}")
    phone.click("#stop-1 >> text=Giao hồ sơ này")
    phone.wait_for_url(f"{live_server}/delivery/stops/{d.code}")
    phone.wait_for_function("() => document.querySelector('.gps-lat').value !== ''")
    assert "Đã có vị trí GPS" in phone.text_content("#gps")

    # sending without a signature or a photo is stopped on the phone
    phone.click("#deliver")
    assert "Cần chụp ảnh hoặc để người nhận ký" in phone.text_content("#proof-error")
    assert phone.url.endswith(f"/delivery/stops/{d.code}")

    phone.fill("#recipient_name", "Lê Văn Minh")
    phone.select_option("#relation", "spouse")
    box = phone.locator("#signature-pad").bounding_box()
    assert box["width"] <= 390  # fits the phone's screen
    x, y = box["x"], box["y"]
    phone.mouse.move(x + 20, y + 120)
    phone.mouse.down()
    for step in range(1, 25):
        phone.mouse.move(x + 20 + step * 10, y + 120 - (step % 6) * 15, steps=2)
    phone.mouse.up()
    assert phone.get_attribute("#signature", "value").startswith("data:image/png;base64,")
    phone.screenshot(path=str(tmp_path / "door-signed.png"))  # for a person to look at
    phone.click("#deliver")
    phone.wait_for_url(f"{live_server}/delivery/runs/{run.id}")
    assert "Đã giao" in phone.text_content(".flash")

    stored = _reload(d)
    assert (stored.state, stored.returned_via, stored.collected_by) == (
        State.RETURNED, ReturnMethod.HOME, "Lê Văn Minh")
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert attempt.outcome == Outcome.DELIVERED and attempt.recipient_relation == "spouse"
    assert (attempt.lat, attempt.lon, attempt.accuracy_m) == (GPS["latitude"],
                                                             GPS["longitude"], 8)
    assert attempt.cod_collected == 33000 and attempt.photo is None
    from PIL import Image

    with Image.open(io.BytesIO(attempt.signature)) as image:
        assert image.format == "PNG"
        alpha = image.convert("RGBA").getchannel("A")
        assert alpha.getbbox() is not None  # the strokes are in it, not a blank canvas
        inked = sum(alpha.histogram()[1:])  # pixels with any ink
    assert inked > 200
    assert abs(attempt.at - now()).total_seconds() < 120  # the phone's clock at the door
    kinds = db.session.scalars(select(Notification.kind).where(
        Notification.dossier_id == d.id)).all()
    assert sorted(kinds) == ["delivered", "out_for_delivery"]
    db.session.commit()


def test_a_failed_attempt_is_chosen_from_the_list_of_reasons(town, live_server, phone):
    t = town
    d = t.dossier()
    run = _out_for_delivery(t, d)
    _log_in(phone, live_server)
    phone.goto(f"{live_server}/delivery/stops/{d.code}")
    phone.click("#tab-failed")
    assert phone.is_hidden("#done-panel") and phone.is_visible("#failed-panel")
    phone.check('input[name="reason"][value="not_home"]')
    phone.click("#fail")
    phone.wait_for_url(f"{live_server}/delivery/runs/{run.id}")
    stored = _reload(d)
    assert (stored.state, stored.return_method, stored.delivery_attempts) == (
        State.AWAITING_RETURN, ReturnMethod.HOME, 1)
    attempt = db.session.scalars(select(DeliveryAttempt)).one()
    assert (attempt.reason, attempt.lat) == ("not_home", GPS["latitude"])
    db.session.commit()
