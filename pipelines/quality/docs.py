"""Data Docs for the staging suites: a static site in ``<output_dir>/quality/``, readable offline.

- The site is GX's own (``SiteBuilder``), configured through GX's documented site config.
  Its views are GX's page views with one addition: a jinja bytecode cache shared by all
  renders in the process. GX builds a new jinja ``Environment`` for every page and so
  recompiles ~50 templates per page; with the cache a site build takes a fraction of that.
  The runner builds the site once per run, for all suites (``gx_validation.write_docs``).
- Offline: GX's pages pull CSS/JS from CDNs (and a logo URL carrying the context id) and
  GX's index renders its table with that JS. :func:`finish_docs` removes the remote
  references (the pages' content is static HTML), keeps GX's index as ``gx_index.html``
  and writes ``index.html`` as a plain page from the stored validation results.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from great_expectations.render.view.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache

from pipelines.lib.pseudonym import scrub


class _MemoryBytecodeCache(BytecodeCache):
    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Any) -> None:
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Any) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CACHE = _MemoryBytecodeCache()


class CachedPageView(DefaultJinjaPageView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _TEMPLATE_CACHE


class CachedIndexPageView(DefaultJinjaIndexPageView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _TEMPLATE_CACHE


def site_config(docs_dir: str) -> dict:
    view = lambda cls: {"module_name": __name__, "class_name": cls}  # noqa: E731
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": view("CachedIndexPageView")},
        "site_section_builders": {
            "expectations": {"view": view("CachedPageView")},
            "validations": {"view": view("CachedPageView")},
            "profiling": "None",  # we never profile
        },
    }


_REMOTE = re.compile(
    r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>'
    r'|<link[^>]*\bhref="https?://[^"]*"[^>]*>'
    r'|<img[^>]*\bsrc="https?://[^"]*"[^>]*>',
    re.IGNORECASE)


def finish_docs(docs_dir: Path, pages: list[str] | None = None) -> None:
    """Make the site readable offline (see module doc) and mask anything shaped like a CPR
    number (GX shows sample values: a clear CPR caught by the pseudonym rule must not be
    published). ``pages``: the pages written by this run, relative to ``docs_dir`` (default:
    every page); a validation page's stored result JSON is masked with it."""
    docs_dir = Path(docs_dir)
    gx_index = docs_dir / "index.html"
    if gx_index.is_file() and "ge-index-page" in gx_index.read_text(encoding="utf-8"):
        gx_index.replace(docs_dir / "gx_index.html")
    if pages is None:
        targets = list(docs_dir.rglob("*.html")) + list((docs_dir / "_store" / "validations").rglob("*.json"))
    else:
        targets = [docs_dir / p for p in pages]
        targets += [(docs_dir / "_store" / p).with_suffix(".json") for p in pages if p.startswith("validations/")]
    for page in targets + [docs_dir / "gx_index.html"]:
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        cleaned = scrub(_REMOTE.sub("", text) if page.suffix == ".html" else text)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")
    (docs_dir / "index.html").write_text(index_html(docs_dir), encoding="utf-8")


def _latest_results(docs_dir: Path) -> dict[str, tuple[Path, dict]]:
    latest: dict[str, tuple[str, Path, dict]] = {}
    for path in (docs_dir / "_store" / "validations").rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        when = data.get("meta", {}).get("run_id", {}).get("run_time") or ""
        suite = data.get("suite_name")
        if suite and (suite not in latest or when > latest[suite][0]):
            latest[suite] = (when, path, data)
    return {suite: (path, data) for suite, (_, path, data) in latest.items()}


def index_html(docs_dir: Path) -> str:
    """A plain HTML index of the latest result of every suite validated into ``docs_dir``."""
    e = html.escape
    rows, details = [], []
    for suite, (path, data) in sorted(_latest_results(docs_dir).items()):
        failed = [r for r in data["results"] if not r["success"]]
        errors = [r for r in failed if r["expectation_config"]["meta"].get("severity") == "error"]
        status = "ERROR" if errors else ("warnings" if failed else "passed")
        page = path.relative_to(docs_dir / "_store").with_suffix(".html").as_posix()
        when = data["meta"].get("run_id", {}).get("run_time", "")
        rows.append(
            f"<tr class='{status.lower()}'><td>{e(suite)}</td><td>{status}</td><td>{len(data['results'])}</td>"
            f"<td>{len(errors)}</td><td>{len(failed) - len(errors)}</td><td>{e(str(when))}</td>"
            f"<td><a href='{e(page)}'>results</a> · <a href='expectations/{e(suite)}.html'>suite</a> · "
            f"<a href='failing_rows/{e(suite)}.csv'>failing rows (CSV)</a></td></tr>")
        for r in failed:
            meta = r["expectation_config"]["meta"]
            result = r.get("result") or {}
            count = result.get("unexpected_count", result.get("observed_value"))
            details.append(
                f"<tr class='{'error' if meta.get('severity') == 'error' else 'warnings'}'><td>{e(suite)}</td>"
                f"<td>{e(meta.get('name', ''))}</td><td>{e(meta.get('severity', ''))}</td>"
                f"<td>{e(str(count))}</td><td>{e(meta.get('why', ''))}</td></tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality: staging suites</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
tr.error td{{background:#fdd}}tr.warnings td{{background:#ffd}}tr.passed td{{background:#dfd}}</style></head><body>
<h1>Data quality: staging suites</h1>
<p>Great Expectations suites from <code>expectations/</code>, validated inside DuckDB. Severity <b>error</b> blocks the
indicators; <b>warn</b> does not. Every failing row (its line in the delivery file and its pseudonymised id) is in the
CSV files. GX's own index (it needs internet for its scripts): <a href="gx_index.html">gx_index.html</a>.</p>
<table><tr><th>suite</th><th>status</th><th>expectations</th><th>errors</th><th>warnings</th><th>validated</th><th>pages</th></tr>
{''.join(rows)}</table>
<h2>Failed expectations</h2>
<table><tr><th>suite</th><th>expectation</th><th>severity</th><th>failing rows / observed</th><th>why it matters</th></tr>
{''.join(details) or '<tr><td colspan=5>none</td></tr>'}</table>
</body></html>
"""
