"""The courier's phone in headless Chromium with its service worker: a day in a dead zone.

Pages visited once online open and reload with the network cut; scans, a delivery (signature
and photo) and a failed attempt recorded offline survive closing the page; back online the
server holds each exactly once, with the photo's very bytes. A session that expires while
things wait sends them once after logging in again; the same proof sent from two tabs is
stored once.
"""

from __future__ import annotations

import hashlib
import json

import delivery_support
import pytest
from delivery_support import now, today
from sqlalchemy import func, select

from postal.delivery import runs
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import (
    DeliveryAttempt,
    Dossier,
    Event,
    Item,
    Leg,
    LoginSession,
    Outcome,
    PhotoUpload,
    ReturnMethod,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

town = delivery_support.town
GPS = {"latitude": 18.3512, "longitude": 105.8893, "accuracy": 8}
PART = 128 * 1024  # phone/outbox.js sends photos in parts of this size


@pytest.fixture
def phone(browser):
    """A phone-sized context whose service worker runs and whose GPS reports a fixed fix."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", geolocation=GPS,
                                  permissions=["geolocation"], service_workers="allow")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def _run(t, *dossiers):
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code for d in dossiers])
    runs.start_run(db.session, t.courier, run, now())
    db.session.commit()
    return run


def _log_in(page, base, *, go=True, lands="/courier/"):
    if go:
        page.goto(f"{base}/login")
    page.fill("#username", "courier1")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}{lands}")


def _ready_offline(page):
    """The service worker controls the page and the courier's pages are kept."""
    page.wait_for_function("() => navigator.serviceWorker.controller && "
                           "document.getElementById('phone-bar').dataset.pagesKept === '1'")


def _settled(page):
    page.wait_for_function("() => document.getElementById('pending').textContent === '0'",
                           timeout=30_000)


def _shows(page, selector, text):
    page.wait_for_function("([s, t]) => (document.querySelector(s) || {}).textContent"
                           ".includes(t)", arg=[selector, text])


def _until(page, script, arg=None, seconds=20):
    """Poll an async predicate in the page (wait_for_function takes a promise as truthy)."""
    import time

    end = time.monotonic() + seconds
    while not page.evaluate(script, arg):
        assert time.monotonic() < end, f"still false: {script}"
        page.wait_for_timeout(100)


def _scan(page, code):
    page.fill("#barcode", code)
    page.press("#barcode", "Enter")


def _sign(page):
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + 120)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + 20 + step * 10, y + 120 - (step % 6) * 15, steps=2)
    page.mouse.up()


def _camera_photo(path):
    """A phone camera's photo: large, detailed, far above what the phone should send."""
    from PIL import Image, ImageDraw

    image = Image.effect_noise((2000, 1500), 40).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(0, 2000, 50):
        draw.line([(i, 0), (2000 - i, 1500)], fill=(i % 255, 90, 200), width=9)
    image.save(path, format="JPEG", quality=95)
    return path


def _count(model, *where):
    db.session.commit()  # a fresh snapshot: SQLite reads as of the transaction's first read
    db.session.expire_all()
    n = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.commit()  # hold no lock while the browser goes on
    return n


PHONE_DIGEST = """async () => {
  const bar = document.getElementById('phone-bar');
  const list = await PostalOutbox.list(bar.dataset.user);
  const p = list.find((x) => x.outcome === 'delivered');
  return p && p.photo ? await PostalOutbox.sha256(p.photo) : null;
}"""


def test_a_day_offline_reaches_the_server_exactly_once(town, live_server, phone, tmp_path):
    t = town
    at_agency = [t.dossier(state=State.RESULT_READY) for _ in range(5)]
    numbers = [t.result(d).number for d in at_agency]
    lan, minh = t.dossier(name="Phạm Thị Lan", cod_amount=20000), t.dossier(name="Lê Văn Minh")
    run = _run(t, lan, minh)
    base = live_server
    page = phone.new_page()
    _log_in(page, base)
    assert page.locator("#to-collect li.collect").count() == 5  # results waiting at the agency
    _ready_offline(page)
    page.goto(f"{base}/delivery/runs/{run.id}")  # opened once online, as a courier would

    phone.set_offline(True)
    page.goto(f"{base}/courier/")
    page.wait_for_function("() => !navigator.onLine")
    assert "offline" in page.get_attribute("#net", "class")
    assert "Dữ liệu lúc" in page.text_content("#data-age")

    # five results collected at the agency: four scanned, one picked from the list
    page.check('input[name="mode"][value="pickup:result"]')
    for number in numbers[:4]:
        _scan(page, number)
    page.click(f'#collect-list li[data-barcode="{numbers[4]}"] .collect-scan')
    assert page.text_content("#queue-scans") == "5"
    held = page.text_content("#holding-list")
    assert all(n in held for n in numbers)  # the list follows the queue at once
    assert page.text_content("#holding-count") == "7"  # and the run's two results

    # the first stop: delivered, signed and photographed
    page.goto(f"{base}/delivery/runs/{run.id}")
    page.click("#stop-1 >> text=Giao hồ sơ này")
    page.wait_for_url(f"{base}/delivery/stops/{lan.code}")
    page.fill("#recipient_name", "Lê Văn Minh")
    page.select_option("#relation", "spouse")
    _sign(page)
    assert page.get_attribute("#signature", "value").startswith("data:image/png;base64,")
    page.set_input_files("#photo", str(_camera_photo(tmp_path / "camera.jpg")))
    page.wait_for_function("() => !document.getElementById('photo-preview').classList"
                           ".contains('hidden')")
    page.click("#deliver")
    page.wait_for_url(f"{base}/delivery/runs/{run.id}")
    assert "Đã lưu trên máy" in page.text_content(".flash")
    _shows(page, "#stop-1 .status", "chờ gửi")

    # the second: nobody home
    page.click("#stop-2 >> text=Giao hồ sơ này")
    page.wait_for_url(f"{base}/delivery/stops/{minh.code}")
    page.click("#tab-failed")
    page.check('input[name="reason"][value="not_home"]')
    page.click("#fail")
    page.wait_for_url(f"{base}/delivery/runs/{run.id}")
    _shows(page, "#stop-2 .status", "chờ gửi")
    digest = page.evaluate(PHONE_DIGEST)
    photo_size = page.evaluate("""async () => (await PostalOutbox.list(
        document.getElementById('phone-bar').dataset.user)).find((p) => p.photo).photo.size""")
    assert 2 * PART < photo_size <= 400 * 1024  # made small on the phone, sent in parts

    # the page closed and opened again, still offline: nothing lost
    page.close()
    page = phone.new_page()
    page.goto(f"{base}/courier/")
    page.wait_for_function("() => document.getElementById('pending').textContent === '7'")
    assert page.text_content("#queue-proofs") == "2"
    assert page.text_content("#queue-photos") == "1"
    held = page.text_content("#holding-list")
    assert all(n in held for n in numbers) and t.result(lan).number not in held
    assert _count(Event, Event.kind == "pickup") == 0
    assert _count(DeliveryAttempt) == 0

    # back online, the signal weak: the answer to the photo's second part is lost
    offsets = []

    def weak_signal(route):
        offset = int(route.request.url.rsplit("/", 1)[1])
        offsets.append(offset)
        response = route.fetch()  # the server keeps the part...
        if offset == PART and offsets.count(PART) == 1:
            route.abort()  # ...but the phone never hears so
        else:
            route.fulfill(response=response)

    page.route("**/api/v1/uploads/*/*", weak_signal)
    phone.set_offline(False)
    _settled(page)
    assert page.text_content("#refused-count") == "0"
    # the photo resumed where the server stood: no part was sent twice, none from the start
    assert offsets == list(range(0, photo_size, PART))

    # exactly those events and proofs, once each
    db.session.commit()
    db.session.expire_all()
    pickups = db.session.scalars(select(Event).where(Event.kind == "pickup")).all()
    assert sorted(e.item.number for e in pickups) == sorted(numbers)
    attempts = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [(a.dossier_id, a.outcome) for a in attempts] == [(lan.id, Outcome.DELIVERED),
                                                             (minh.id, Outcome.FAILED)]
    delivered, failed = attempts
    assert hashlib.sha256(delivered.photo).hexdigest() == digest
    assert delivered.photo_type == "image/jpeg" and delivered.signature.startswith(b"\x89PNG")
    assert (delivered.recipient_name, delivered.recipient_relation) == ("Lê Văn Minh", "spouse")
    assert delivered.cod_collected == 20000 and delivered.lat == GPS["latitude"]
    assert failed.reason == "not_home" and failed.client_id and delivered.client_id
    assert db.session.scalar(select(func.count()).select_from(PhotoUpload)) == 0  # parts taken

    # and the legs they make: five results in the courier's hands, one delivered, one kept
    for number in numbers:
        item = db.session.scalar(select(Item).where(Item.number == number))
        [leg] = db.session.scalars(select(Leg).where(Leg.item_id == item.id)).all()
        assert (leg.from_unit_id, leg.custodian_id, leg.ended_at) == (t.agency.id,
                                                                     t.courier.id, None)
        assert item.holder_user_id == t.courier.id
    lan_result, minh_result = t.result(lan), t.result(minh)
    [out] = db.session.scalars(select(Leg).where(Leg.item_id == lan_result.id)).all()
    assert out.custodian_id == t.courier.id and out.ended_at == delivered.at
    assert lan_result.holder_user_id is None and minh_result.holder_user_id == t.courier.id
    stored = db.session.get(Dossier, lan.id)
    assert (stored.state, stored.returned_via) == (State.RETURNED, ReturnMethod.HOME)
    assert db.session.get(Dossier, minh.id).delivery_attempts == 1
    db.session.commit()

    # once more online, with nothing to send: the lists come from the server again
    page.reload()
    page.wait_for_function("() => document.getElementById('holding-count').textContent === '6'")


def test_what_waits_when_the_session_expires_is_sent_once_after_logging_in_again(
        town, live_server, phone):
    t = town
    numbers = [t.result(t.dossier(state=State.RESULT_READY)).number for _ in range(3)]
    d = t.dossier()
    run = _run(t, d)
    base = live_server
    page = phone.new_page()
    _log_in(page, base)
    _ready_offline(page)

    phone.set_offline(True)
    page.check('input[name="mode"][value="pickup:result"]')
    for number in numbers:
        _scan(page, number)
    page.goto(f"{base}/delivery/stops/{d.code}")
    page.click("#tab-failed")
    page.check('input[name="reason"][value="unreachable"]')
    page.click("#fail")
    page.wait_for_url(f"{base}/delivery/runs/{run.id}")

    # meanwhile the session ends on the server (expired, or closed from the office)
    for row in db.session.scalars(select(LoginSession).where(
            LoginSession.user_id == t.courier.id)):
        row.revoked_at = now()
    db.session.commit()

    phone.set_offline(False)  # the page stays open: its sync hears "log in again"
    page.wait_for_selector("#login-needed:not(.hidden)")
    assert page.text_content("#pending") == "4"
    assert _count(Event, Event.kind == "pickup") == 0 and _count(DeliveryAttempt) == 0

    page.click("#login-needed a")
    page.wait_for_url(f"{base}/login**")
    _log_in(page, base, go=False, lands=f"/delivery/runs/{run.id}")
    _settled(page)
    assert _count(Event, Event.kind == "pickup") == 3
    assert _count(DeliveryAttempt) == 1
    page.reload()  # a later sync sends nothing again
    page.wait_for_function("() => document.getElementById('phone-bar').dataset.pagesKept")
    page.click("#sync-now")
    page.wait_for_timeout(500)
    assert _count(Event, Event.kind == "pickup") == 3 and _count(DeliveryAttempt) == 1


def test_the_same_proof_sent_from_two_tabs_at_once_is_stored_once(town, live_server, phone,
                                                                  tmp_path):
    t = town
    d = t.dossier()
    _run(t, d)
    base = live_server
    first = phone.new_page()
    _log_in(first, base)
    second = phone.new_page()
    second.goto(f"{base}/courier/")
    for page in (first, second):
        page.wait_for_function("() => window.PostalPhone")
    proof = {"id": "5f0c1c9e-8a61-4b8e-9a55-3f1e2c7d9b10", "code": d.code,
             "outcome": "delivered", "recipient_name": "Nguyễn Thị Hồng Nhung",
             "relation": "self", "at": now().isoformat(),
             "signature": delivery_support.data_url(delivery_support.png())}
    send = """async (proof) => {
      const s = await PostalOutbox.session();
      const r = await fetch('/api/v1/proofs', {method: 'POST', credentials: 'same-origin',
        headers: PostalOutbox.headers(s.csrf, 'application/json'),
        body: JSON.stringify({proofs: [proof]})});
      return [r.status, await r.json()];
    }"""
    # both tabs send at the same moment, each its own request
    first.evaluate("(p) => { window.__sent = (" + send + ")(p); }", proof)
    second.evaluate("(p) => { window.__sent = (" + send + ")(p); }", proof)
    answers = [page.evaluate("() => window.__sent") for page in (first, second)]
    assert [status for status, _ in answers] == [200, 200]
    statuses = sorted(body[0]["status"] for _, body in answers)
    assert statuses == ["accepted", "duplicate"]
    attempts = {body[0]["attempt"]["attempt"] for _, body in answers}
    assert len(attempts) == 1  # the duplicate answers the stored attempt
    assert _count(DeliveryAttempt) == 1
    assert _count(Event, Event.kind == "delivered") == 1

    # and through the phone's own outbox, syncing in both tabs at once: sent once
    d2 = t.dossier()
    _run(t, d2)
    phone.set_offline(True)
    second.evaluate("""(code) => PostalPhone.addProof({code, outcome: 'failed',
        reason: 'not_home', at: new Date().toISOString()})""", d2.code)
    phone.set_offline(False)
    first.evaluate("() => { PostalPhone.sync(); }")
    second.evaluate("() => { PostalPhone.sync(); }")
    for page in (first, second):
        _until(page, """async () => (await PostalOutbox.list(PostalPhone.user))
            .every((p) => p.state !== 'queued')""")
    assert _count(DeliveryAttempt, DeliveryAttempt.dossier_id == d2.id) == 1
    answers = second.evaluate("""async () => (await PostalOutbox.list(PostalPhone.user))
        .map((p) => p.answer.status)""")
    assert answers == ["accepted"]


def test_a_refused_proof_comes_back_with_its_reason_and_what_to_do(town, live_server, phone):
    t = town
    d = t.dossier()
    run = _run(t, d)
    base = live_server
    page = phone.new_page()
    _log_in(page, base)
    _ready_offline(page)
    phone.set_offline(True)
    page.goto(f"{base}/delivery/stops/{d.code}")
    page.click("#tab-failed")
    page.check('input[name="reason"][value="moved"]')
    page.click("#fail")
    page.wait_for_url(f"{base}/delivery/runs/{run.id}")
    # meanwhile the citizen collected the result at the counter
    stored = db.session.get(Dossier, d.id)
    stored.return_method = ReturnMethod.COUNTER
    stored.state = State.RETURNED
    db.session.commit()
    phone.set_offline(False)
    _settled(page)
    page.wait_for_selector("#refused:not(.hidden)")
    assert page.text_content("#refused-count") == "1"
    text = page.text_content("#refused-list")
    assert d.code in text and "tại quầy" in text  # why, and what to do: take it back
    assert _count(DeliveryAttempt) == 0
    body = json.loads(page.evaluate("""async () => JSON.stringify((await PostalOutbox.list(
        PostalPhone.user))[0].answer)"""))
    assert body["status"] == "rejected" and body["error"]["hint"]


def test_scans_whose_sending_a_reload_cut_short_show_as_recorded_not_as_recorded_before(
        town, live_server, phone):
    from postal.core.time import parse_moment
    from postal.custody import Scan, record_batch

    t = town
    numbers = [t.result(t.dossier(state=State.RESULT_READY)).number for _ in range(2)]
    db.session.commit()
    base = live_server
    page = phone.new_page()
    _log_in(page, base)
    _ready_offline(page)
    phone.set_offline(True)
    page.check('input[name="mode"][value="pickup:result"]')
    for number in numbers:
        _scan(page, number)
    key = "'postal.scans.' + PostalPhone.user"
    queue = page.evaluate(f"() => JSON.parse(localStorage.getItem({key})).queue")
    # the phone had sent them and the server stored them, when the page went away mid-answer
    results = record_batch(db.session, t.courier, [
        Scan(id=s["id"], barcode=s["barcode"], event=s["event"], item_kind=s["item_kind"],
             at=parse_moment(s["at"])) for s in queue], now())
    assert {r.status for r in results} == {"accepted"}
    db.session.commit()
    page.evaluate(f"""() => {{
      const s = JSON.parse(localStorage.getItem({key}));
      s.queue.forEach((e) => {{ e.inflight = true; }});
      localStorage.setItem({key}, JSON.stringify(s));
    }}""")
    page.reload()  # the page that was sending goes away; offline, the kept copy opens
    page.wait_for_function("() => window.PostalPhone")
    phone.set_offline(False)
    _settled(page)
    log = page.text_content("#log")
    assert log.count("Đã ghi nhận") == 2 and "trước đó" not in log
    assert page.text_content("#count-ok") == "2"
    assert _count(Event, Event.kind == "pickup") == 2


def test_logging_out_forgets_the_pages_and_the_work_kept_on_the_phone(town, live_server,
                                                                       phone):
    base = live_server
    page = phone.new_page()
    _log_in(page, base)
    _ready_offline(page)
    kept = """async () => [(await (await caches.open('postal-pages')).keys()).length,
        !!(await PostalOutbox.meta('work:' + PostalPhone.user))]"""
    pages, work = page.evaluate(kept)
    assert pages >= 3 and work
    user = page.evaluate("() => PostalPhone.user")
    page.click("header .who button")  # Đăng xuất
    page.wait_for_url(f"{base}/login**")
    # the login page has no outbox script: read what is left straight from the phone's stores
    _until(page, """async (user) => {
      const pages = (await (await caches.open('postal-pages')).keys()).length;
      const db = await new Promise((ok) => { const r = indexedDB.open('postal-phone');
                                             r.onsuccess = () => ok(r.result); });
      const work = await new Promise((ok) => {
        const r = db.transaction('meta').objectStore('meta').get('work:' + user);
        r.onsuccess = () => ok(r.result); });
      db.close();
      return pages === 0 && !work;
    }""", user)
