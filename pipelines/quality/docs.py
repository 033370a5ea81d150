"""Data Docs for the staging suites: a static site in ``<output_dir>/quality/``, readable offline.

- The site is GX's own (``SiteBuilder``), configured through GX's documented site config.
  Its views are GX's page views with one addition: a jinja bytecode cache shared by all
  renders in the process. GX builds a new jinja ``Environment`` for every page and so
  recompiles ~50 templates per page; with the cache a site build takes a fraction of that.
  The runner builds the site once per run, for all suites (``gx_validation.write_docs``).
- Offline: GX's pages load jQuery, Bootstrap, bootstrap-table, Vega, Font Awesome … from
  CDNs (GX's index draws its table with them) and its logo from a web address carrying the
  context id. The exact files those addresses name are shipped in ``gx_static/vendor/``
  (fetched once from the npm registry, licences in ``LICENSES.txt``; the two files GX pins
  with a sha384 are the files with that digest). :func:`finish_docs` copies them into the
  site's ``static/vendor/`` and points every page at its local copy (``CDN_ASSETS``), the logo
  at GX's own ``static/images/logo-long.png``, drops GX's newsletter footer, adds a Danish
  bar with the way back to the quality index and the reports, keeps GX's index as
  ``gx_index.html`` and writes ``index.html``: the data managers' quality index, in Danish.
  A page that still names anything outside the site is an error (a GX upgrade that adds
  an asset must add it here), never silently stripped.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from great_expectations.render.view.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache

from pipelines.lib import cpr
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


VENDOR_DIR = Path(__file__).resolve().parent / "gx_static" / "vendor"

# Every CDN address in GX 1.24's page templates → the same file under static/vendor/
CDN_ASSETS = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/umd/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}
LOGO_HOST = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"

_ASSET_TAG = re.compile(r'<(script|link|img)\b[^>]*>', re.IGNORECASE)
_URL_ATTR = re.compile(r'\b(src|href)="([^"]*)"')
_SRI_ATTRS = re.compile(r'\s+(integrity|crossorigin)="[^"]*"')
_NEWSLETTER = re.compile(r'<footer>\s*<p>Stay current on everything GX with our newsletter.*?</footer>', re.S)
NAV_MARK = 'class="myeloma-audit-nav"'


class OfflineDocsError(RuntimeError):
    """A Data Docs page names a resource outside the site that has no local copy."""


def _local(tag: str, prefix: str) -> str:
    """``tag`` (a script, link or img element) pointing at the site's own copy of its resource."""
    match = _URL_ATTR.search(tag)
    if not match or not re.match(r"(https?:)?//", match.group(2)):
        return tag
    attr, url = match.groups()
    if url in CDN_ASSETS:
        local = f"{prefix}static/vendor/{CDN_ASSETS[url]}"
    elif url.startswith(LOGO_HOST):
        local = f"{prefix}static/images/{url[len(LOGO_HOST):].split('?')[0]}"
    else:
        raise OfflineDocsError(f"Data Docs page loads {url}, which has no local copy (pipelines/quality/docs.py CDN_ASSETS)")
    # a file:// page cannot fetch with CORS; the local copies are the files GX pins (tests check the sha384)
    return _SRI_ATTRS.sub("", tag.replace(f'{attr}="{url}"', f'{attr}="{local}"'))


def _nav(prefix: str) -> str:
    return (f'<div {NAV_MARK} lang="da" style="background:#18324f;color:#fff;padding:6px 16px;font:14px system-ui,'
            f'sans-serif"><a style="color:#fff" href="{prefix}index.html">← Datakvalitet (oversigt)</a> · '
            f'<a style="color:#fff" href="{prefix}../national_report.html">National rapport</a> · '
            f'<a style="color:#fff" href="{prefix}../dashboard.html">Dashboard</a> · '
            'Great Expectations\' egen side (på engelsk)</div>')


_FAVICON = re.compile(r'(<link rel="shortcut icon" href=")[^"]*(static/images/favicon\.ico")')


def offline_page(text: str, prefix: str) -> str:
    """A GX page with every outside resource replaced by the site's copy, without the
    newsletter footer, with the Danish way back; ``prefix`` leads from the page to the site root.
    (GX's validation pages also point their icon one folder too high: it is pointed home.)"""
    text = _ASSET_TAG.sub(lambda m: _local(m.group(0), prefix), text)
    text = _FAVICON.sub(lambda m: m.group(1) + prefix + m.group(2), text)
    text = _NEWSLETTER.sub("", text)
    if NAV_MARK not in text:
        text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav(prefix), text, count=1)
    return text


def copy_assets(docs_dir: Path) -> None:
    """The shipped copies of GX's CDN files into ``<docs_dir>/static/vendor/``, created with
    the run's own permissions (outputs are the owner's only), not the package's."""
    target = Path(docs_dir) / "static" / "vendor"
    for source in sorted(VENDOR_DIR.rglob("*")):
        copy = target / source.relative_to(VENDOR_DIR)
        if source.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)


def finish_docs(docs_dir: Path, pages: list[str] | None = None, facts: dict | None = None) -> None:
    """Make the site readable offline (see module doc) and mask anything shaped like a CPR
    number (GX shows sample values: a clear CPR caught by the pseudonym rule must not be
    published). ``pages``: the pages written by this run, relative to ``docs_dir`` (default:
    every page); a validation page's stored result JSON is masked with it. ``facts``: what
    the quality index says about the delivery besides the suites (``index_html``)."""
    docs_dir = Path(docs_dir)
    copy_assets(docs_dir)
    gx_index = docs_dir / "index.html"
    if gx_index.is_file() and "ge-index-page" in gx_index.read_text(encoding="utf-8"):
        gx_index.replace(docs_dir / "gx_index.html")
    if pages is None:
        targets = [p for p in docs_dir.rglob("*.html") if "vendor" not in p.parts]
        targets += list((docs_dir / "_store" / "validations").rglob("*.json"))
    else:
        targets = [docs_dir / p for p in pages]
        targets += [(docs_dir / "_store" / p).with_suffix(".json") for p in pages if p.startswith("validations/")]
    for page in targets + [docs_dir / "gx_index.html"]:
        if not page.is_file() or page.name == "index.html" and page.parent == docs_dir:
            continue
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".html":
            prefix = "../" * (len(page.relative_to(docs_dir).parts) - 1)
            cleaned = scrub(offline_page(text, prefix))
        else:
            cleaned = scrub_json(text)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")
    (docs_dir / "index.html").write_text(index_html(docs_dir, facts), encoding="utf-8")


def scrub_json(text: str) -> str:
    """A stored validation result with every CPR-shaped token masked and still JSON: the
    strings (keys too) are scrubbed one by one, a number that holds a token becomes 0. (The
    text scrubbed as a whole could put the placeholder where a number stands, in a list of
    numbers written ``[1, 2, 3, 4]``.) Written the way GX writes it (two-space indent)."""
    if not cpr.contains(text):
        return text
    return json.dumps(_scrub_value(json.loads(text)), indent=2)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(key): _scrub_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_value(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and cpr.contains(str(value)):
        return type(value)(0)
    return value


def _latest_results(docs_dir: Path) -> dict[str, tuple[Path, dict]]:
    latest: dict[str, tuple[str, Path, dict]] = {}
    for path in (docs_dir / "_store" / "validations").rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        when = data.get("meta", {}).get("run_id", {}).get("run_time") or ""
        suite = data.get("suite_name")
        if suite and (suite not in latest or when > latest[suite][0]):
            latest[suite] = (when, path, data)
    return {suite: (path, data) for suite, (_, path, data) in latest.items()}


SEVERITY_DA = {"error": "blokerende", "warn": "advarsel"}
STATUS_DA = {"error": "FEJL (blokerende)", "warnings": "advarsler", "passed": "bestået"}


def _when(text: str) -> str:
    """A GX run time (ISO, UTC) as dd-mm-åååå tt:mm UTC."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).strftime("%d-%m-%Y %H:%M UTC")
    except ValueError:
        return str(text)


def _n(value: object) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


def index_html(docs_dir: Path, facts: dict | None = None) -> str:
    """The quality index (Danish): the latest result of every suite validated into
    ``docs_dir``, the failed expectations, and ``facts`` (``quarantined`` rows and
    ``files`` {file: (rows in, quarantined)}) with links to the reports and to GX's pages."""
    e = html.escape
    facts = facts or {}
    rows, details = [], []
    for suite, (path, data) in sorted(_latest_results(docs_dir).items()):
        failed = [r for r in data["results"] if not r["success"]]
        errors = [r for r in failed if r["expectation_config"]["meta"].get("severity") == "error"]
        status = "error" if errors else ("warnings" if failed else "passed")
        page = path.relative_to(docs_dir / "_store").with_suffix(".html").as_posix()
        when = data["meta"].get("run_id", {}).get("run_time", "")
        rows.append(
            f"<tr class='{status}' data-suite='{e(suite)}'><td><code>{e(suite)}</code></td><td>{STATUS_DA[status]}</td>"
            f"<td class='num'>{len(data['results'])}</td><td class='num'>{len(errors)}</td>"
            f"<td class='num'>{len(failed) - len(errors)}</td><td>{e(_when(when))}</td>"
            f"<td><a href='{e(page)}'>resultater</a> · <a href='expectations/{e(suite)}.html'>forventninger</a> · "
            f"<a href='failing_rows/{e(suite)}.csv'>fejlende rækker (CSV)</a></td></tr>")
        for r in failed:
            meta = r["expectation_config"]["meta"]
            result = r.get("result") or {}
            count = result.get("unexpected_count", result.get("observed_value"))
            details.append(
                f"<tr class='{'error' if meta.get('severity') == 'error' else 'warnings'}'><td><code>{e(suite)}</code></td>"
                f"<td><code>{e(meta.get('name', ''))}</code></td><td>{SEVERITY_DA.get(meta.get('severity'), '')}</td>"
                f"<td class='num'>{e(_n(count))}</td><td lang='en'>{e(meta.get('why', ''))}</td></tr>")
    quarantine = ""
    if "quarantined" in facts:
        files = "".join(f"<tr><td><code>{e(f)}</code></td><td class='num'>{_n(i)}</td><td class='num'>{_n(q)}</td></tr>"
                        for f, (i, q) in sorted(facts.get("files", {}).items()))
        quarantine = (f"<h2>Rækker i karantæne</h2><p id='karantaene'><strong>{_n(facts['quarantined'])} rækker i karantæne"
                      "</strong> (rækker, der kan læses, men bryder en regel i udtræksformatet: de indgår ikke i "
                      "indikatorerne). Hver række med fil, linje og årsag: <a href='../quarantine.csv'>quarantine.csv</a>; "
                      "fordelt på årsager i den nationale rapports <a href='../national_report.html#datagrundlag'>"
                      "datagrundlag</a>.</p>" + (f"<table><tr><th>Fil</th><th class='num'>Rækker læst</th>"
                                                 f"<th class='num'>I karantæne</th></tr>{files}</table>" if files else ""))
    return f"""<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>Datakvalitet: kontrol af de indlæste tabeller</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2530}}header{{background:#18324f;color:#fff;padding:16px 28px}}
header a{{color:#fff}}main{{padding:8px 28px 30px}}table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}td.num,th.num{{text-align:right}}
tr.error td{{background:#fdd}}tr.warnings td{{background:#ffd}}tr.passed td{{background:#dfd}}</style></head><body>
<header><h1>Datakvalitet: kontrol af de indlæste tabeller</h1>
<p><a href="../national_report.html">National rapport</a> · <a href="../national_report_publication.html">Publikationsudgave</a>
· <a href="../dashboard.html">Dashboard</a> · <a href="../quarantine.csv">Rækker i karantæne (CSV)</a></p></header>
<main>
<p>Hver tabel i udtrækket er kontrolleret med en række forventninger (Great Expectations, kørt i DuckDB; reglerne
står i <code>expectations/</code>). En fejlet forventning med alvorligheden <b>blokerende</b> stopper kørslen, og intet
offentliggøres, fordi indikatorerne ellers ville blive forkerte; en <b>advarsel</b> gør ikke. Alle fejlende rækker (linjenummer i
udtrækkets fil og pseudonym eller id) står i CSV-filerne. Great Expectations' egne sider er på engelsk:
<a href="gx_index.html">oversigt over valideringerne</a>.</p>
<table><tr><th>Tabel</th><th>Status</th><th class="num">Forventninger</th><th class="num">Blokerende fejl</th>
<th class="num">Advarsler</th><th>Valideret</th><th>Sider</th></tr>
{''.join(rows)}</table>
<h2>Fejlede forventninger</h2>
<table><tr><th>Tabel</th><th>Forventning</th><th>Alvorlighed</th><th class="num">Fejlende rækker / observeret</th>
<th>Hvorfor det betyder noget (fra reglen, på engelsk)</th></tr>
{''.join(details) or '<tr><td colspan=5>ingen</td></tr>'}</table>
{quarantine}
</main></body></html>
"""
