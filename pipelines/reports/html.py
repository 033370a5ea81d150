"""HTML templating for every report page: one Jinja2 environment, autoescape on.

Pages are self-contained (inline CSS, inline SVG, no external resource), so they open
offline from a file share or an e-mail attachment and print cleanly. Page templates are
``.html.j2`` files in ``pipelines/reports/pages/``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
from markupsafe import Markup

from pipelines import __version__
from pipelines.reports import danish
from pipelines.reports.charts import pct

PAGES_DIR = Path(__file__).resolve().parent / "pages"

CSS = """
:root { --ink:#1d2530; --muted:#5b6573; --line:#d9dee5; --band:#f4f6f9; --ok:#2e7d32; --bad:#b71c1c;
        --warn:#e67e22; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink);
       background:#fff; }
header.page { background:#18324f; color:#fff; padding:18px 28px 14px; }
header.page h1 { margin:0 0 4px; font-size:22px; }
header.page p { margin:2px 0; color:#d6e2f0; }
header.page a { color:#fff; }
nav.toc { padding:10px 28px; background:var(--band); border-bottom:1px solid var(--line); }
nav.toc a { margin-right:14px; white-space:nowrap; }
main { padding:12px 28px 40px; max-width:1500px; }
h2 { margin:34px 0 6px; font-size:19px; border-bottom:2px solid var(--line); padding-bottom:4px; }
h3 { margin:22px 0 6px; font-size:15px; }
.meta { color:var(--muted); margin:2px 0 8px; }
.note { background:#fff8e1; border-left:4px solid #f0b429; padding:8px 12px; margin:10px 0; }
table { border-collapse:collapse; margin:6px 0 14px; font-size:13px; }
th, td { border-bottom:1px solid var(--line); padding:4px 8px; vertical-align:top; }
th { background:var(--band); text-align:left; font-weight:600; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
tr.level-national td { font-weight:700; background:#eef3f9; }
tr.level-region td { font-weight:600; background:#f7f9fc; }
tr.level-hospital td.unit { padding-left:22px; }
tr.level-department td.unit { padding-left:40px; color:#333; }
td.sup { color:#7b4a00; }
.yes { color:var(--ok); font-weight:600; }
.no { color:var(--bad); font-weight:600; }
.flag { color:#7b4a00; font-weight:600; }
.charts { display:flex; flex-wrap:wrap; gap:14px; align-items:flex-start; }
.chart { border:1px solid var(--line); border-radius:4px; max-width:100%; height:auto; }
.tiles { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:12px; margin:10px 0 20px; }
.tile { border:1px solid var(--line); border-left:6px solid #9aa3ad; border-radius:4px; padding:10px 12px; }
.tile.ok { border-left-color:var(--ok); }
.tile.bad { border-left-color:var(--bad); }
.tile.near { border-left-color:var(--warn); }
.tile h3 { margin:0 0 4px; font-size:14px; }
.tile .big { font-size:26px; font-weight:700; }
.tile .small { color:var(--muted); font-size:12px; }
details { margin:6px 0 12px; }
summary { cursor:pointer; color:var(--accent); }
.pager a, .pager span { margin-right:8px; }
.change-ny { color:var(--bad); font-weight:600; }
.change-vedvarende { color:#7b4a00; }
.change-løst { color:var(--ok); }
code { background:var(--band); padding:0 3px; }
dl.values { margin:0; display:grid; grid-template-columns:auto 1fr; column-gap:8px; }
dl.values dt { color:var(--muted); } dl.values dd { margin:0; }
@media print { nav.toc { display:none; } th { position:static; } h2 { break-before:auto; } .chart { break-inside:avoid; } }
"""

def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{int(value):,}".replace(",", ".")


def _ci(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{low * 100:.1f}–{high * 100:.1f}".replace(".", ",")


def _yes_no(value) -> Markup:
    if value is None:
        return Markup("–")
    return Markup('<span class="yes">ja</span>') if value else Markup('<span class="no">nej</span>')


def _date(value) -> str:
    if value is None:
        return "–"
    return value.isoformat() if isinstance(value, date) else str(value)


def _dato(value) -> str:
    """A date as Danish pages write it: dd-mm-åååå (a yyyy-mm-dd text is turned around)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d-%m-%Y")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PAGES_DIR),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, auto_reload=False)  # templates do not change during a run
    env.filters.update(pct=pct, num=_num, ci=_ci, yes_no=_yes_no, isodate=_date, dato=_dato, tal=danish.tal,
                       fil=danish.fil, tegnsaet=danish.tegnsaet, antal=danish.antal)
    env.globals.update(css=Markup(CSS))
    return env


_ENV: jinja2.Environment | None = None


def render(template: str, **context) -> str:
    global _ENV
    if _ENV is None:
        _ENV = environment()
    context.setdefault("code_version", __version__)
    context.setdefault("subtitle", None)
    context.setdefault("home", None)
    context.setdefault("extract_id", None)
    context.setdefault("extract_date", None)
    context.setdefault("extract_line", None)
    context.setdefault("home_text", None)
    return _ENV.get_template(template).render(**context)


def write(path: Path, template: str, **context) -> Path:
    return save(path, render(template, **context))


def save(path: Path, page: str) -> Path:
    """A rendered page, as UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def page_names(stem: str, count: int) -> list[str]:
    """``stem.html``, ``stem-2.html``, … for ``count`` pages (at least one)."""
    return [f"{stem}.html" if k == 0 else f"{stem}-{k + 1}.html" for k in range(max(count, 1))]
