"""Screenshots of the operator console for the README, from the demo: ``python tools/screenshots.py``.

Starts ``executor demo`` (its own Redis, the simulator, a worker and the web process, on loopback), sends a
few alerts (performed, failed, refused), signs in with headless Chromium (Debian's ``chromium``) and writes
PNGs under ``docs/``: the console at desktop and phone width, a failed job's detail with the replay
confirmation, and the sign-in form. Needs the test extra (Playwright) and ``apt-get install chromium``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from executor.demo import DEMO_ADMIN_TOKEN, DEMO_SECRET  # noqa: E402
from executor.localredis import free_port  # noqa: E402
from tests.browser import DESKTOP, PHONE, chromium_missing, launch  # noqa: E402

DOCS = ROOT / "docs"
ALERTS = [
    {"venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P", "id": "ema-cross-1"},
    {"venue": "bitget", "action": "reverse", "symbol": "BITGET:BTCUSDT.P", "id": "ema-cross-2"},
    {"venue": "crosstrade", "action": "close", "symbol": "ES1!", "qty": 1, "id": "es-scale-out"},
    {"venue": "coinw", "action": "reverse", "symbol": "ETHUSDT.P", "id": "eth-flip"},  # no ETH position: fails
    {"venue": "coinw", "action": "close", "symbol": "BTC", "ratio": "0.5", "id": "btc-half"},
]
REFUSED = [
    {"secret": "last-years-secret", "venue": "coinw", "action": "reverse", "symbol": "BTC"},
    {"venue": "coinw", "action": "reverse", "symbol": "{{ticker}}"},
]


def main() -> int:
    missing = chromium_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 1
    port, simulator_port = free_port(), free_port()
    demo = subprocess.Popen([sys.executable, "-m", "executor", "demo", "--port", str(port), "--simulator-port",
                             str(simulator_port)], cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True,
                            env={key: value for key, value in os.environ.items() if key != "REDIS_URL"})
    try:
        web = f"http://127.0.0.1:{port}"
        _wait_for(f"{web}/healthz")
        _send_alerts(web)
        _shoot(web)
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)
    print(f"screenshots written to {DOCS}")
    return 0


def _wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the demo did not answer {url} within {seconds:.0f} s")


def _send_alerts(web: str) -> None:
    for body in ALERTS:
        requests.post(f"{web}/webhook", json={"secret": DEMO_SECRET, **body}, timeout=5)
        time.sleep(0.4)
    for body in REFUSED:
        requests.post(f"{web}/webhook", json={"secret": DEMO_SECRET, **body}, timeout=5)
    deadline = time.monotonic() + 30
    auth = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
    while time.monotonic() < deadline:  # every job done (finished or failed) before the pictures
        jobs = requests.get(f"{web}/jobs", headers=auth, timeout=5).json()["jobs"]
        if jobs and all(job["status"] in ("finished", "failed") for job in jobs):
            return
        time.sleep(0.3)


def _shoot(web: str) -> None:
    from playwright.sync_api import sync_playwright

    DOCS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        desktop = browser.new_context(viewport=DESKTOP)
        page = desktop.new_page()
        page.goto(f"{web}/dashboard")
        page.screenshot(path=DOCS / "console-sign-in.png")
        _sign_in(page)
        page.screenshot(path=DOCS / "console-desktop.png", full_page=True)
        page.locator("#jobs-body tr.failed button").first.click()
        page.locator("#detail").wait_for()
        page.get_by_role("button", name="Replay", exact=True).click()
        page.locator("dialog#confirm").wait_for()
        page.screenshot(path=DOCS / "console-replay.png")
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        page = phone.new_page()
        page.goto(f"{web}/dashboard")
        _sign_in(page)
        page.screenshot(path=DOCS / "console-phone.png")
        browser.close()


def _sign_in(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Admin token").fill(DEMO_ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#jobs-body tr").first.wait_for()
    page.locator("#h-limits li").first.wait_for()
    page.wait_for_timeout(600)  # the health panel and both lists drawn


if __name__ == "__main__":
    sys.exit(main())
