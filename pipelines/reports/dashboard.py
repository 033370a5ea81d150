"""Static dashboards: ``dashboard.html`` (national) and ``departments/<safe>/dashboard.html``.

Offline pages (inline SVG, a small inline script to sort and filter the patient tables). Per
indicator a tile for the audit period (``--period``: the rows whose index date lies in it,
and every row still pending — the rows the department's deviation list counts), the trend
over the report's three years (department against Danmark; the current year marked as a
part year), the funnel plot of the departments over the period with the department's own
point highlighted, the definition from the catalogue, and the patient list behind every
figure. At most ``EMBED_LIMIT`` patient rows are embedded in one page; every list is also
written as its own pages (``patienter/<indicator>.html``, 2,000 rows a page) and as a
Danish CSV (``patienter/<indicator>.csv``, every row). A national list gets at most
``NATIONAL_PAGE_LIMIT`` pages: beyond that the pages show the first rows and say so.

Tiles: green, standard met; orange, below the standard but the standard inside the 95 %
interval; red, below it; grey, fewer than ``MIN_PATIENTS`` patients in the denominator ("for
få til at vurdere") or none; blue, an informational indicator (uptake, no standard).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from markupsafe import Markup

from pipelines.indicators.catalogue import CATALOGUE, Indicator
from pipelines.reports import charts, danish, html, tables
from pipelines.reports.charts import FunnelPoint, TrendSeries
from pipelines.reports.comparison import shown_id
from pipelines.reports.data import STATUSES, ReportData
from pipelines.reports.deviations import PAGE_ROWS, in_period
from pipelines.reports.files import child_dir, write_danish_csv
from pipelines.reports.funnel import POSITION_TEXT, position

EMBED_LIMIT = 2000
NATIONAL_PAGE_LIMIT = 10
assert EMBED_LIMIT <= PAGE_ROWS <= NATIONAL_PAGE_LIMIT * PAGE_ROWS  # an embedded list is all on its pages
MIN_PATIENTS = 5
Z95 = 1.959963984540054
STATE_TEXT = {"ok": "standarden opfyldt", "near": "under standarden, men standarden ligger inden for 95 %-KI",
              "bad": "under standarden (hele 95 %-KI under)", "few": "for få til at vurdere (færre end 5 patienter)",
              "none": "ingen patienter i perioden", "info": "informativ indikator: udbredelse, ingen standard"}
LEGEND = ["ok", "near", "bad", "few", "info"]


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    if not n:
        return None, None
    p, z = k / n, Z95
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


def _count(n: int) -> str:
    return danish.tal(n)


def tile_state(indicator: Indicator, denominator: int, proportion: float | None, ci_high: float | None) -> str:
    if indicator.informational:
        return "info"
    if not denominator:
        return "none"
    if denominator < MIN_PATIENTS:
        return "few"
    if proportion is not None and proportion >= indicator.standard:
        return "ok"
    return "near" if ci_high is not None and ci_high >= indicator.standard else "bad"


def year_labels(data: ReportData) -> dict[int, str]:
    """The current year as a part year, ``2026 (til 01-11-2026)``, while it is running."""
    day = data.extract_date or (data.period.extract_date if data.period else None)
    if day is None or data.current_year is None or day.year != data.current_year or (day.month, day.day) == (12, 31):
        return {}
    return {data.current_year: f"{data.current_year} (til {danish.dato(day)})"}


def years_text(data: ReportData) -> str:
    if not data.years:
        return "–"
    labels = year_labels(data)
    return f"{data.years[0]}–{labels.get(data.years[-1], data.years[-1])}"


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Page order: deviations first (ikke opfyldt, uoplyst, begrundet), then pending and the
    rest; newest index date first."""
    return frame.with_columns(_status=pl.col("status").replace_strict(danish.STATUS_ORDER, default=9,
                                                                      return_dtype=pl.Int8)).sort(
        ["indicator_id", "_status", "index_date", "pseudonym"], descending=[False, False, True, False],
        nulls_last=True).drop("_status")


class DashboardIndex:
    """What every dashboard looks up, computed once for all of them: the period's counts per
    department and Danmark, the funnel points, the trend series and the patient lists."""

    def __init__(self, data: ReportData, cprs: dict[str, str] | None = None,
                 deviations: pl.DataFrame | None = None):
        self.data, self.cprs = data, cprs
        rows = data.patients.filter(in_period(data, pl.col("index_date"), pl.col("status")))
        self.counts: dict[tuple, dict] = {}
        for r in rows.group_by("department_code", "indicator_id", "status").len().iter_rows(named=True):
            self.counts.setdefault(("department", r["department_code"], r["indicator_id"]), {})[r["status"]] = r["len"]
            national = self.counts.setdefault(("national", "Danmark", r["indicator_id"]), {})
            national[r["status"]] = national.get(r["status"], 0) + r["len"]
        self.departments = {r["department_code"]: r for r in data.departments.iter_rows(named=True)}
        self.theta, self.points = {}, {}
        for indicator in CATALOGUE:
            iid = indicator.indicator_id
            met, denominator = self.fraction("national", "Danmark", iid)
            self.theta[iid] = met / denominator if denominator else None
            points = []
            for (level, unit, key), _ in self.counts.items():
                if level == "department" and key == iid:
                    k, n = self.fraction(level, unit, iid)
                    if n:
                        points.append(FunnelPoint(unit, self.departments.get(unit, {}).get("department_name", unit), k, n))
            self.points[iid] = sorted(points, key=lambda p: p.unit)
        self.series: dict[tuple, list[dict]] = {}
        for r in data.summary.iter_rows(named=True):
            self.series.setdefault((r["indicator_id"], r["level"], r["unit"]), []).append(r)
        listed = tables.listing(_ordered(rows))
        self.empty = listed.clear()
        self.by_indicator = listed.partition_by("indicator_id", as_dict=True, maintain_order=True)
        self.by_department = listed.partition_by("department_code", "indicator_id", as_dict=True, maintain_order=True)
        self.changes: dict[str, dict] = {}
        if deviations is not None and "change" in deviations.columns:
            for r in deviations.group_by("department_code", "change").len().iter_rows(named=True):
                self.changes.setdefault(r["department_code"], {})[r["change"]] = r["len"]
        self._files: ThreadPoolExecutor | None = None
        self._written: list[Future] = []

    def status_counts(self, level: str, unit: str, indicator: str) -> dict[str, int]:
        found = self.counts.get((level, unit, indicator), {})
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def fraction(self, level: str, unit: str, indicator: str) -> tuple[int, int]:
        c = self.status_counts(level, unit, indicator)
        return c["met"], c["met"] + c["not_met"] + c["unknown"]

    def listed(self, level: str, unit: str, indicator: str) -> pl.DataFrame:
        if level == "department":
            return self.by_department.get((unit, indicator), self.empty)
        return self.by_indicator.get((indicator,), self.empty)

    def trend(self, indicator: str, years: list[int], level: str = "national", unit: str = "Danmark",
              name: str = "Danmark", style: str = "main") -> TrendSeries:
        points = {}
        for r in self.series.get((indicator, level, unit), []):
            if r["year"] in years and r["proportion"] is not None:
                points[r["year"]] = (r["proportion"], r["ci_low"], r["ci_high"])
        return TrendSeries(name, points, style)

    def beside(self, write: Callable[..., object], *args) -> None:
        """``write(*args)``: a list's file, written now, or by the second thread of ``writing_beside``."""
        if self._files is None:
            write(*args)
        else:
            self._written.append(self._files.submit(write, *args))

    @contextmanager
    def writing_beside(self) -> Iterator[DashboardIndex]:
        """Meanwhile the lists' CSV files and pages are written by a second thread."""
        with ThreadPoolExecutor(max_workers=1) as files:
            self._files, self._written = files, []
            try:
                yield self
            finally:
                self._files = None
        for written in self._written:
            written.result()  # an error in a file stops the run here


def shown_rows(height: int, max_pages: int | None) -> int:
    """How many of a list's rows its pages show."""
    return height if max_pages is None else min(height, max_pages * PAGE_ROWS)


def write_patient_pages(listed: pl.DataFrame, rows: list[str], folder: Path, indicator: Indicator, unit_label: str,
                        data: ReportData, home: str, show_department: bool, cpr: bool, page_context: dict,
                        beside: Callable[..., None]) -> tuple[str, str]:
    """``<folder>/patienter/<indicator>.html`` (+ ``-2.html`` …) and ``.csv``; their relative links.
    ``rows``: the ``<tr>`` of the rows the pages show (the first ``shown_rows`` of ``listed``)."""
    iid = indicator.indicator_id
    target = folder / "patienter"
    target.mkdir(parents=True, exist_ok=True)
    beside(write_danish_csv, tables.csv_frame(listed, cpr=cpr, department=show_department, compared=False),
           target / f"{iid}.csv")
    note = None
    if len(rows) < listed.height:
        note = (f"Listen har {_count(listed.height)} patienter. Siderne her viser de første {_count(len(rows))} "
                f"(afvigelser først, nyeste indeksdato først); hele listen står i {iid}.csv.")
    cols = tables.columns("patients", cpr=cpr, department=show_department)
    pages = html.page_names(iid, -(-len(rows) // PAGE_ROWS))
    period = data.period.label_da if data.period else years_text(data)
    for number, name in enumerate(pages, start=1):
        part = rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS]
        beside(html.save, target / name,
               html.render("patients.html.j2", title=f"{iid} {indicator.title_da} – {unit_label}",
                           subtitle=f"Patienterne bag tallene, auditperiode {period}",
                           description=data.period.description_da if data.period else "",
                           csv=f"{iid}.csv", columns=cols, rows=Markup("\n".join(part)), total=len(part),
                           note=note, pages=pages, page=number, cpr=cpr, home=home, home_text="til dashboardet",
                           **page_context))
    return f"patienter/{pages[0]}", f"patienter/{iid}.csv"


def _rendered(listings: dict[str, pl.DataFrame], cols: list[tables.Column], max_pages: int | None) -> dict[str, list[str]]:
    """Each list's ``<tr>`` for the rows its pages show, which are also the rows a page may
    embed (``EMBED_LIMIT`` ≤ one page); made in one pass over all the lists of a dashboard."""
    heads = [listed.head(shown_rows(listed.height, max_pages)) for listed in listings.values()]
    rows = tables.html_rows(pl.concat(heads), cols) if heads else []
    rendered, start = {}, 0
    for iid, head in zip(listings, heads):
        rendered[iid] = rows[start:start + head.height]
        start += head.height
    return rendered


def _definition(indicator: Indicator) -> str:
    standard = (f"standard ≥ {charts.pct(indicator.standard, 0)}" if indicator.standard is not None
                else "ingen standard (informativ indikator: behandlingen er ikke anbefalet af Medicinrådet; "
                     "udbredelsen vises)")
    return (f"Anbefaling {indicator.recommendations} (evidensgrad {indicator.grade}) · Indeksdato: "
            f"{indicator.index_date_da} · Population: {indicator.population_da} · {standard[0].upper()}{standard[1:]}")


def _tiles(data: ReportData, folder: Path, level: str, unit: str, unit_label: str, home: str, page_context: dict,
           index: DashboardIndex) -> list[dict]:
    years = data.years
    labels = year_labels(data)
    show_department = level == "national"
    cpr = level == "department" and index.cprs is not None
    max_pages = NATIONAL_PAGE_LIMIT if level == "national" else None
    period = data.period.label_da if data.period else years_text(data)
    budget = EMBED_LIMIT
    listings = {i.indicator_id: index.listed(level, unit, i.indicator_id) for i in CATALOGUE}
    if cpr:
        listings = {iid: tables.with_cprs(listed, index.cprs) for iid, listed in listings.items()}
    cols = tables.columns("patients", cpr=cpr, department=show_department)
    rendered = _rendered(listings, cols, max_pages)
    tiles = []
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        counts = index.status_counts(level, unit, iid)
        met, denominator = index.fraction(level, unit, iid)
        proportion = met / denominator if denominator else None
        low, high = wilson(met, denominator)
        state = tile_state(indicator, denominator, proportion, high)
        theta = index.theta[iid]
        where = None
        if level == "department" and denominator and theta is not None and state not in ("few", "none"):
            where = POSITION_TEXT[position(met, denominator, theta)]
        series = [index.trend(iid, years, level, unit, unit_label, "main")]
        if level != "national":
            series.append(index.trend(iid, years, name="Danmark", style="secondary"))
        listed = listings[iid]
        rows = rendered[iid]
        embedded = None
        if 0 < listed.height <= budget:
            embedded = {"id": f"patienter-{iid}", "columns": cols, "rows": Markup("\n".join(rows)),
                        "total": listed.height}
            budget -= listed.height
        page, csv = ((write_patient_pages(listed, rows, folder, indicator, unit_label, data, home, show_department,
                                          cpr, page_context, index.beside))
                     if listed.height else (None, None))
        note = None
        if len(rows) < listed.height:  # the pages show the first rows only
            note = (f"Siderne viser de første {_count(len(rows))} af {_count(listed.height)} patienter; "
                    "hele listen står i CSV-filen.")
        what = "udbredelse" if indicator.informational else "andel"
        tiles.append({
            "id": iid, "title": indicator.title_da, "definition": _definition(indicator), "state": state,
            "state_text": STATE_TEXT[state], "informational": indicator.informational, "what": what,
            "standard": indicator.standard, "proportion": proportion, "numerator": met, "denominator": denominator,
            "ci_low": low, "ci_high": high, "position": where, **counts,
            "deviations": counts["not_met"] + counts["unknown"] + counts["justified"],
            "trend": charts.trend_svg(series, years, indicator.standard,
                                      f"{iid}: {what} pr. indeksdatoens år",
                                      year_labels=labels),
            "funnel": charts.funnel_svg(index.points[iid], theta, indicator.standard,
                                        f"{iid}: afdelingerne i auditperioden {period}",
                                        highlight=unit if level == "department" else None),
            "patient_count": listed.height, "embedded": embedded, "pages": page, "csv": csv, "note": note,
        })
    return tiles


def _attention(tiles: list[dict], changes: dict | None, compared: bool) -> dict:
    """What the page says first: the period's deviations and, compared with the last extract,
    how many are new, and how many of the list's are resolved or moved to another department."""
    judged = [t for t in tiles if not t["informational"]]
    out = {"not_met": sum(t["not_met"] for t in judged), "unknown": sum(t["unknown"] for t in judged),
           "justified": sum(t["justified"] for t in judged), "pending": sum(t["pending"] for t in judged),
           "below": [t["id"] for t in judged if t["state"] in ("bad", "near")],
           "few": [t["id"] for t in judged if t["state"] == "few"], "since": None}
    if compared:
        changes = changes or {}
        new = changes.get(danish.NEW, 0)
        gone = danish.gone_since(changes.get(danish.RESOLVED, 0), changes.get(danish.MOVED, 0))
        if out["not_met"] + out["unknown"] + out["justified"]:
            out["since"] = ((f"heraf {danish.antal(new, 'ny', 'nye')}" if new else "ingen nye") + " siden forrige udtræk"
                            + ("; " + " og ".join(gone) if gone else ""))
        elif gone:
            out["since"] = "siden forrige udtræk " + " og ".join(gone)
    return out


def extract_line(data: ReportData) -> str | None:
    """How the internal pages name the extract: ``Udtræk SYNTH-2026-11-01 af 01-11-2026 (kontrolsum 26ca3613)``."""
    if data.extract_date is None:
        return None
    checksum = (data.extract_id or "").split("·")[-1].strip()
    shown = shown_id(data.delivered_id)
    name = f"Udtræk {shown} af {danish.dato(data.extract_date)}" if shown else \
        f"Udtræk af {danish.dato(data.extract_date)}"
    return name + (f" (kontrolsum {checksum})" if checksum else "")


def clinic_context(data: ReportData) -> dict:
    """The department pages' and dashboards' header: the extract named in Danish."""
    return {**data.page_context(), "extract_line": extract_line(data)}


def write_every_dashboard(data: ReportData, out_dir: Path, folders: dict[str, str], rows: pl.DataFrame,
                          base_name: str | None, cprs: dict[str, str] | None) -> dict:
    """The national dashboard and every department's. ``base_name``: the compared extract as
    the pages name it (None: no comparison). Also the work of the fresh process the department
    lists' step starts (``writer.write_departments``): this module imports only what the
    dashboards need."""
    context = clinic_context(data)
    index = DashboardIndex(data, cprs, rows if base_name is not None else None)
    with index.writing_beside():
        write_national_dashboard(data, out_dir, folders, context, index)
        for code in data.departments["department_code"].to_list():
            write_department_dashboard(data, out_dir, code, folders[code], context, index, base_name)
    return {"dashboards": 1 + data.departments.height}


def write_department_dashboard(data: ReportData, out_dir: Path, code: str, folder: str, page_context: dict,
                               index: DashboardIndex, comparison: str | None = None) -> Path:
    target = child_dir(out_dir / "departments", folder)
    info = index.departments.get(code) or {"department_code": code, "department_name": code, "hospital": "ukendt",
                                           "region": "ukendt"}
    tiles = _tiles(data, target, "department", code, info["department_name"], "../dashboard.html", page_context,
                   index)
    return html.write(
        target / "dashboard.html", "dashboard.html.j2", title=f"Dashboard – {info['department_name']}",
        subtitle=f"{info['hospital']} · Region {info['region']} · afdelingskode {code} · intern, ikke til "
                 "offentliggørelse",
        period=data.period, years_text=years_text(data), tiles=tiles, departments=[], level="department",
        attention=_attention(tiles, index.changes.get(code), comparison is not None), comparison=comparison,
        legend=[(s, STATE_TEXT[s]) for s in LEGEND], cpr=index.cprs is not None,
        links=[{"href": "afvigelser.html", "text": "Afvigelsesliste"}, {"href": "afvigelser.csv", "text": "CSV"},
               {"href": "afvigelser.xlsx", "text": "Excel"},
               {"href": "../../dashboard.html", "text": "Nationalt dashboard"}],
        home="../../dashboard.html", home_text="til det nationale dashboard", **page_context)


def write_national_dashboard(data: ReportData, out_dir: Path, folders: dict[str, str], page_context: dict,
                             index: DashboardIndex) -> Path:
    tiles = _tiles(data, out_dir, "national", "Danmark", "Danmark", "../dashboard.html", page_context, index)
    departments = [{**r, "dashboard": f"departments/{folders[r['department_code']]}/dashboard.html",
                    "deviations": f"departments/{folders[r['department_code']]}/afvigelser.html"}
                   for r in data.departments.sort("region", "hospital", "department_name").iter_rows(named=True)
                   if r["department_code"] in folders]
    return html.write(
        out_dir / "dashboard.html", "dashboard.html.j2", title="Dashboard – myelomatose, primær behandling",
        subtitle="Nationalt dashboard (internt, ikke til offentliggørelse)",
        period=data.period, years_text=years_text(data), tiles=tiles, departments=departments, level="national",
        attention=None, comparison=None, legend=[(s, STATE_TEXT[s]) for s in LEGEND], cpr=False,
        links=[{"href": "national_report.html", "text": "National rapport"},
               {"href": "national_report_publication.html", "text": "Publikationsudgave"}],
        **page_context)
