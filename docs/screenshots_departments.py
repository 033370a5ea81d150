"""The README's screenshots of the clinicians' pages, taken with headless Chromium.

Runs the bundled synthetic sample twice into a scratch folder — first as an earlier extract
(``DMDB-2026-10-01``, 01-10-2026), then as itself (01-11-2026), with re-identification on
(a throw-away ``MYELOMA_AUDIT_REID_KEY``; the sample's CPR numbers are synthetic) — and
photographs the first screen of:

* ``docs/afvigelser.png``: the department list of the department with the most deviations;
* ``docs/dashboard_afdeling.png``: that department's dashboard;
* ``docs/dashboard.png``: the national dashboard.

    python docs/screenshots_departments.py
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def main() -> None:
    from playwright.sync_api import sync_playwright

    from pipelines.audit import DEMO_KEY, SAMPLE_DELIVERY, run_audit

    scratch = Path(tempfile.mkdtemp(prefix="myeloma-screenshots-"))
    try:
        earlier = scratch / "DMDB-2026-10-01"
        shutil.copytree(SAMPLE_DELIVERY, earlier)
        manifest = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
        manifest.update(extract_id="DMDB-2026-10-01", extracted_at="2026-10-01")
        (earlier / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        out = scratch / "out"
        run_audit(earlier, out, key=DEMO_KEY)
        os.environ["MYELOMA_AUDIT_REID_KEY"] = secrets.token_urlsafe(32)
        run_audit(SAMPLE_DELIVERY, out, key=DEMO_KEY)
        lists = sorted((out / "departments").glob("*/afvigelser.csv"),
                       key=lambda p: (p.read_text(encoding="utf-8-sig").count("\n"), p.parent.name))
        department = lists[-1].parent
        shots = [(department / "afvigelser.html", DOCS / "afvigelser.png", 1000),
                 (department / "dashboard.html", DOCS / "dashboard_afdeling.png", 1000),
                 (out / "dashboard.html", DOCS / "dashboard.png", 900)]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="da-DK")
            for source, target, height in shots:
                page.set_viewport_size({"width": 1400, "height": height})
                page.goto(source.as_uri())
                page.screenshot(path=str(target))
                print(f"{target.relative_to(DOCS.parent)} ← {source.relative_to(out)}")
            browser.close()
    finally:
        os.environ.pop("MYELOMA_AUDIT_REID_KEY", None)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
