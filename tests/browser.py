"""Headless Chromium (Debian's ``chromium`` package) through Playwright, for the console's browser tests and
its screenshots. Playwright's own browser download is never used: the browser is the system's."""
from __future__ import annotations

import os
import shutil

#: Where Debian's package puts the browser (``apt-get install chromium``).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (it is in the test extra: requirements-test.txt)"
    return None


def launch(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
