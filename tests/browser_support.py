"""Fixtures for browser tests: the app served on a loopback port, and headless Chromium.

tests/conftest.py imports them, so every test module simply asks for `live_server`, `browser`
(Chromium, launched once a session) or `browser_page` (a page in a fresh context); defining
them once matters: two session-scoped copies would start Playwright twice in one thread.

A missing browser fails the test (never skips it): the browser tests are part of the suite.
Commit what the test prepared before browsing: the server answers in its own threads, and on
SQLite a transaction left open by the test holds the write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from postal.extensions import db

CHROMIUM = os.environ.get("POSTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def live_server(app):
    """The test app served by werkzeug on 127.0.0.1 (a free port) in a thread; yields its URL."""
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Playwright's sync API), launched once for the session."""
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
                    "or set POSTAL_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(browser):
    """A page in a fresh browser context (own cookies, Vietnamese locale and time zone)."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
