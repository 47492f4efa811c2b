"""The explorer in headless Chromium: serving a store, launching the browser, driving pickers.

Shared by the browser test (tests/app/test_browser.py) and the README gallery's tool
(tests/tools/gallery.py). Debian's /usr/bin/chromium, driven by Playwright (never
``playwright install``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from pathways.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WINDOW = {"width": 1400, "height": 1000}
"""The window every screenshot is taken at."""


@contextmanager
def serving(store: Path) -> Iterator[str]:
    """The explorer over ``store`` on a free port of 127.0.0.1; yields its address. Requests
    are not logged (werkzeug's log shows errors only)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    httpd = make_server("127.0.0.1", 0, create_app(store).server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def pick(page, dropdown: str, option: str) -> None:
    """Choose ``option`` in the Dash dropdown ``dropdown`` (an id)."""
    page.click(f"#{dropdown}")
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")


def open_tab(page, label: str) -> None:
    page.get_by_text(label, exact=True).first.click()


def title(page, graph: str) -> str:
    """The title of the graph ``graph`` (an id)."""
    return page.text_content(f"#{graph} .gtitle") or ""


def wait_for_title(page, graph: str, text: str, timeout: int = 30_000) -> None:
    """Wait until the graph's title holds ``text``."""
    page.wait_for_function(
        f"document.querySelector('#{graph} .gtitle')?.textContent.includes({json.dumps(text)})",
        timeout=timeout,
    )
