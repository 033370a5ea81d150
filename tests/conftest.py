"""Fixtures every test folder shares.

``browser``: one headless Chromium for the session (the Debian package ``chromium``,
driven by Playwright with ``executable_path``; no browser download), skipped where it is not
installed. ``offline_page`` opens a page with the network cut off: every request that is not
a local file fails and is recorded, as are console errors and uncaught exceptions, so a test
can assert that a page works offline.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 # no host name resolves; the loopback address does (the Dagster UI under test listens there;
                 # offline_page still refuses every request that is not a local file)
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium): no browser test")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class OfflinePage:
    """A page whose outside requests, console errors and page errors are recorded."""

    page: object
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return ([f"request left the machine: {u}" for u in self.blocked] + [f"console: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors])

    def open(self, path: Path, wait_until: str = "load") -> object:
        self.page.goto(Path(path).resolve().as_uri(), wait_until=wait_until)
        return self.page


@pytest.fixture
def offline_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="da-DK")
    page = context.new_page()
    recorded = OfflinePage(page)

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            recorded.blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: recorded.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: recorded.page_errors.append(str(e)))
    yield recorded
    context.close()
