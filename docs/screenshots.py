"""Take the README's screenshots: start `postal serve` on a scratch SQLite database with demo data,
log in as each role in headless Chromium and save a PNG of its home page.

    python docs/screenshots.py            # writes docs/screenshots/*.png
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--disable-dev-shm-usage"]
PAGES = [  # (file, user, path, viewport)
    ("counter.png", "clerk", "/counter/", (1280, 900)),
    ("dashboard.png", "manager", "/office/", (1280, 1100)),
    ("agency.png", "agency", "/agency/", (1280, 800)),
    ("courier.png", "courier", "/courier/", (390, 844)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/shots.db"}
        server = subprocess.Popen(
            [sys.executable, "-m", "postal.cli", "serve", "--port", str(port),
             "--dossiers", "1500"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"{base}/login", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for name, user, path, (w, h) in PAGES:
                    page = browser.new_page(viewport={"width": w, "height": h})
                    page.goto(f"{base}/login")
                    page.fill("input[name=username]", user)
                    page.fill("input[name=password]", "postal-demo")
                    page.press("input[name=password]", "Enter")
                    page.wait_for_load_state("networkidle")
                    page.goto(f"{base}{path}")
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / name))
                    page.close()
                    print("wrote", OUT / name)
                courier_offline(browser, base)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


def _api(base: str, path: str, body: dict, user: str | None = None, token: str | None = None):
    import json

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


def _a_run_for_the_courier(base: str) -> int | None:
    """The clerk plans today's run from the centre's queue; the courier takes it out."""
    from datetime import date

    try:
        clerk = _api(base, "/api/v1/auth/token", {"username": "clerk",
                                                  "password": "postal-demo"})["token"]
        courier = _api(base, "/api/v1/auth/token", {"username": "courier",
                                                    "password": "postal-demo"})["token"]
        run = _api(base, "/api/v1/runs", {"courier": "courier",
                                          "date": date.today().isoformat()}, token=clerk)
        _api(base, f"/api/v1/runs/{run['id']}/start", {}, token=courier)
        return run["id"]
    except OSError as exc:
        detail = exc.read().decode() if hasattr(exc, "read") else str(exc)
        print("no run for the offline screenshot:", detail[:300])
        return None  # nothing in the queue: the offline home page alone


def courier_offline(browser, base: str) -> None:
    """The courier's phone in a dead zone: the run reloaded with no network, a failed attempt
    recorded at the first stop, waiting to be sent."""
    run_id = _a_run_for_the_courier(base)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", service_workers="allow")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "courier")
    page.fill("input[name=password]", "postal-demo")
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{base}/courier/")
    page.wait_for_function("() => navigator.serviceWorker.controller && "
                           "document.getElementById('phone-bar').dataset.pagesKept === '1'",
                           timeout=60_000)
    context.set_offline(True)
    if run_id is not None:
        page.goto(f"{base}/delivery/runs/{run_id}")
        page.click("#stop-1 a.button")
        page.click("#tab-failed")
        page.check('input[name="reason"][value="not_home"]')
        page.click("#fail")
        page.wait_for_url(f"{base}/delivery/runs/{run_id}")
        page.wait_for_function("() => document.querySelector('#stop-1.queued')")
    else:  # no run today: the results in hand handed back to the counter, offline
        page.reload()
        page.wait_for_function("() => window.PostalPhone && PostalPhone.work()")
        page.check('input[name="mode"][value="handover:result"]')
        for item in page.evaluate("() => PostalPhone.work().holding.slice(0, 3)"):
            page.fill("#barcode", item["number"])
            page.press("#barcode", "Enter")
        page.evaluate("() => document.getElementById('barcode').blur()")
    page.screenshot(path=str(OUT / "courier-offline.png"))
    print("wrote", OUT / "courier-offline.png")
    context.close()


if __name__ == "__main__":
    main()
