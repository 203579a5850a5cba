"""Pieces for browser tests: Debian's Chromium through Playwright, the test app on a live port.

Never a browser download: ``executable_path`` points at Debian's Chromium, and a test that
needs it skips with the reason when it is missing.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from consult_hub.config import PROJECT_ROOT

# Debian's headless shell (package chromium-headless-shell) where installed, else the whole
# browser. The shell is the same Blink without the browser's own user interface: the browser
# journeys' Chromium processes took 5.3 s of CPU instead of 11.1 and the axe-core audits 19 s
# instead of 29, and the tests read what the page lays out, never the browser's own window.
CHROMIUM = next((found for found in map(shutil.which, ("chromium-headless-shell", "chromium"))
                 if found), "/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Screenshots of browser tests: kept as artefacts (artifacts/ is ignored by git).
ARTIFACTS = PROJECT_ROOT / "artifacts"

# A phone as a coordinator or a resident holds it (the size of an iPhone 12–15), in Chinese.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
    "is_mobile": True, "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
}
DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 800}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
}


def chromium_missing() -> str | None:
    """Why a browser test cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return (f"Chromium not found at {CHROMIUM} (apt-get install chromium-headless-shell; "
                "`make test` does)")
    return None


@contextmanager
def chromium(sync_api: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright's sync API."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free port of 127.0.0.1, for the browser.

    Absolute links (feeds, receipts) are built from ``SITE_URL``, so while it serves, that is
    this address, as a deployment's ``SITE_URL`` is its public one.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    address = f"http://127.0.0.1:{server.server_port}"
    site_url = app.config["SITE_URL"]
    app.config["SITE_URL"] = address
    thread.start()
    try:
        yield address
    finally:
        app.config["SITE_URL"] = site_url
        server.shutdown()
        thread.join()
        server.server_close()


def sideways_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the screen (a phone user must scroll sideways).

    Measured against the device's width, not ``window.innerWidth``: a mobile browser widens its
    layout viewport to fit content that overflows, so innerWidth grows with the overflow.
    """
    return int(page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        - page.viewport_size["width"])


def shoot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot ``folder/name.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def on_phone(page: Any) -> None:
    """What a phone user would notice at once: nothing makes the page scroll sideways.

    Measured once the page has loaded: a click's navigation can show its text before the
    stylesheet applies, and an unstyled report's tables are 1,184 px too wide (seen once, on
    a loaded machine).
    """
    page.wait_for_load_state("load")
    overflow = sideways_overflow(page)
    assert overflow <= 0, f"{page.url}: page is {overflow}px wider than the phone's screen"


# How long a step may wait for the page: a missing element fails in seconds, not after
# Playwright's default half-minute; but `make test` runs four test processes, PostgreSQL and the
# browsers on two cores, and a step of a journey that takes ~1 s alone once took over 10 s there.
STEP_TIMEOUT_MS = 20_000


def flash(page: Any) -> Any:
    """The flashed messages of a page."""
    return page.locator(".flashes")


def new_page(browser: Any, device: dict[str, Any]) -> tuple[Any, Any]:
    """A fresh browser profile (no cookies) on ``device``, and a page in it."""
    context = browser.new_context(**device)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context, context.new_page()
