"""The README's pictures of the national report, taken headless (prints nothing else).

    myeloma-audit run --out /tmp/demo --comments docs/kommentarer-eksempel
    python docs/screenshots_national.py /tmp/demo

writes ``docs/national_overview.png`` (the overview table of the internal report),
``docs/national_indicator.png`` (one indicator's page: definition, the steering group's
comment, charts and the current year's table) and ``docs/national_publication_overview.png``
(the publication's overview, with pooled figures), with the system Chromium, offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]


def main(out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        page.goto((out / "national_report.html").resolve().as_uri())
        page.locator("#oversigt").screenshot(path=str(DOCS / "national_overview.png"))
        box, table = page.evaluate("""() => {
            const at = e => { const r = e.getBoundingClientRect();
                              return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; };
            return [at(document.querySelector('section#MM01')),
                    at(document.querySelector('section#MM01 table.summary'))];
        }""")
        page.screenshot(path=str(DOCS / "national_indicator.png"), full_page=True,
                        clip={"x": box["x"] - 8, "y": box["y"] - 8, "width": box["width"] + 16,
                              "height": table["y"] + min(table["height"], 420) - box["y"] + 16})
        page.goto((out / "national_report_publication.html").resolve().as_uri())
        page.locator("#oversigt").screenshot(path=str(DOCS / "national_publication_overview.png"))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
