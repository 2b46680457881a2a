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
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
