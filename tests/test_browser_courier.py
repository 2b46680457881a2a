"""The courier's phone page in headless Chromium: scanning offline, syncing back online.

Playwright's sync API runs one instance per thread; other browser tests keep theirs open for
the whole session in the main thread, so this one drives its own Chromium in a thread of its
own (and reads the database in an app context of that thread).
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

from postal.extensions import db
from postal.models import Event
from tests import browser_support
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
pytest_plugins = ["custody_factories"]



def _pickups(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "pickup", Event.user_id == user_id))


def _in_a_thread_with_chromium(scenario) -> None:
    if not os.path.exists(browser_support.CHROMIUM):
        pytest.fail(f"Chromium not found at {browser_support.CHROMIUM}")
    failure = []

    def run():
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=browser_support.CHROMIUM,
                                                     args=browser_support.CHROMIUM_ARGS)
                try:
                    context = browser.new_context(locale="vi-VN",
                                                  timezone_id="Asia/Ho_Chi_Minh")
                    context.set_default_timeout(15_000)
                    scenario(context.new_page())
                finally:
                    browser.close()
        except BaseException as exc:  # noqa: B036 - handed to the test's own thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="courier-browser")
    thread.start()
    thread.join(timeout=240)
    assert not thread.is_alive(), "the browser scenario did not finish"
    if failure:
        raise failure[0]


def test_twenty_scans_made_offline_reach_the_server_exactly_once(app, world, live_server):
    w = world
    numbers = [w.folder(w.dossier()).number for _ in range(21)]
    courier_id, username = w.courier.id, w.courier.username
    db.session.commit()
    base = live_server

    def scenario(page):
        context = page.context
        page.goto(f"{base}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url(f"{base}/courier/")
        assert page.is_checked('input[name="mode"][value="pickup:folder"]')

        def scan(code: str) -> None:
            page.fill("#barcode", code)
            page.press("#barcode", "Enter")

        def settled() -> None:
            page.wait_for_function("() => document.getElementById('pending').textContent === '0'")

        context.set_offline(True)
        page.wait_for_function("() => !navigator.onLine")
        for number in numbers[:20]:
            scan(number)
        scan(numbers[0])  # the same item again: not a second scan
        assert "vừa quét" in page.text_content("#feedback-text")
        scan("NOT-A-BARCODE")
        assert page.text_content("#feedback-mark") == "✗"
        assert page.text_content("#pending") == "20"
        assert page.evaluate("() => JSON.parse(localStorage.getItem('postal.scans.' + "
                             "document.getElementById('scanner').dataset.user)).queue.length") == 20
        assert "offline" in page.get_attribute("#net", "class")
        assert _pickups(app, courier_id) == 0

        context.set_offline(False)
        settled()
        assert page.text_content("#count-ok") == "20"
        assert _pickups(app, courier_id) == 20

        # the server stores a scan but its answer is lost: the phone sends it again, stored once
        def lose_the_answer(route):
            route.fetch()
            route.abort()

        page.route("**/api/v1/scans", lose_the_answer)
        scan(numbers[20])
        page.wait_for_function(
            "() => document.getElementById('feedback').className.includes('queued')")
        page.wait_for_timeout(500)
        assert page.text_content("#pending") == "1"
        page.unroute("**/api/v1/scans")
        page.click("#sync-now")
        settled()
        assert "Đã ghi nhận trước đó" in page.text_content("#feedback-text")
        assert _pickups(app, courier_id) == 21

        page.reload()
        page.wait_for_selector("#scanner")
        assert page.text_content("#pending") == "0"
        assert page.text_content("#count-ok") == "21"

    _in_a_thread_with_chromium(scenario)
    assert _pickups(app, courier_id) == 21
