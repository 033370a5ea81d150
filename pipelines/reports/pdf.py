"""Report pages to PDF with headless Chromium (Playwright driving the system's ``chromium``).

``write_pdfs([(page.html, page.pdf), ...])`` prints each page as a person would print it
from the browser: the page's print stylesheet decides A4, margins, page breaks and the
running header (``@page`` margin boxes), backgrounds are kept. Chromium runs offline: every
request that is not a local file is refused and reported, as is an error in the page, so a
PDF is never made of a page that tried to reach the network.

The browser is the Debian package ``chromium`` (``MYELOMA_AUDIT_CHROMIUM`` names another
binary); Playwright does not download one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.lib.errors import AuditError

CHROMIUM_ENV = "MYELOMA_AUDIT_CHROMIUM"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND"]
TIMEOUT_MS = 120_000


class PdfError(AuditError):
    """No PDF could be made (no browser, or the page did not render offline)."""


def chromium_path() -> str:
    """The Chromium binary: ``MYELOMA_AUDIT_CHROMIUM``, else ``chromium`` on the PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    found = given or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        raise PdfError("--pdf needs Chromium: install the package 'chromium' (apt-get install chromium) "
                       f"or set {CHROMIUM_ENV} to a Chromium binary")
    return found


def write_pdfs(pages: list[tuple[Path, Path]]) -> list[Path]:
    """Print every (HTML page, PDF path) pair; returns the PDFs written.

    Playwright's synchronous API refuses a thread with a running event loop (a caller that
    drives a browser itself, or an async host): the printing runs in a thread of its own."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf") as pool:
        return pool.submit(_write_pdfs, pages).result()


def _write_pdfs(pages: list[tuple[Path, Path]]) -> list[Path]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
            try:
                context = browser.new_context(locale="da-DK")
                outside: list[str] = []

                def route(request_route) -> None:
                    url = request_route.request.url
                    if url.startswith(("file:", "data:", "about:", "blob:")):
                        request_route.continue_()
                    else:
                        outside.append(url)
                        request_route.abort()

                context.route("**/*", route)
                for source, target in pages:
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    page.goto(Path(source).resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
                    if outside or errors:
                        raise PdfError(f"{Path(source).name} did not render offline: "
                                       + "; ".join(outside[:3] + errors[:3]))
                    page.emulate_media(media="print")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    page.pdf(path=str(target), prefer_css_page_size=True, print_background=True,
                             outline=True, tagged=True)
                    page.close()
                    written.append(target)
            finally:
                browser.close()
    except PlaywrightError as err:
        raise PdfError(f"Chromium could not print the reports: {str(err).splitlines()[0]}") from None
    return written
