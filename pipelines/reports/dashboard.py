"""Static dashboards: ``dashboard.html`` (national) and ``departments/<safe>/dashboard.html``.

Offline pages (inline SVG, no script): a tile per indicator against its standard for the
current year, the trend over the report's three years (department against Danmark), the
funnel plot with the department's own point highlighted, and the patient list behind every
figure. At most ``EMBED_LIMIT`` patient rows are embedded in one page; every list is also
written as its own pages (``patienter/<indicator>.html``, 2,000 rows a page) and as a
Danish CSV (``patienter/<indicator>.csv``), linked from the dashboard. A national list (all
patients of an indicator) gets at most ``NATIONAL_PAGE_LIMIT`` pages: beyond that the pages
show the first rows (newest year first) and say so, and the CSV holds every row.

Everything the dashboards look up is indexed once (``DashboardIndex``): the summary rows by
indicator, level and unit, the funnel points per indicator, and the patients of the report
years with their CSV columns, sorted once and split by department and indicator. A
dashboard's table rows are made in one go for all its indicators, and the lists' CSV files
and pages are written by a second thread while the next are made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipelines.indicators.catalogue import CATALOGUE
from pipelines.reports import charts, html, templates
from pipelines.reports.charts import TrendSeries
from pipelines.reports.data import ReportData
from pipelines.reports.deviations import CSV_COLUMNS, PAGE_ROWS, csv_frame
from pipelines.reports.files import child_dir, neutralise_frame, write_neutralised_csv
from pipelines.reports.funnel import POSITION_TEXT, position
from pipelines.reports.national import funnel_points

EMBED_LIMIT = 2000
NATIONAL_PAGE_LIMIT = 10
PAGE_ORDER = (["year", "status", "index_date", "pseudonym"], [True, False, False, False])


def _state(row: dict | None) -> str:
    if not row or row["standard_met"] is None:
        return "none"
    if row["standard_met"]:
        return "ok"
    return "near" if row["ci_high"] is not None and row["ci_high"] >= row["standard"] else "bad"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _now(write: Callable[..., object], *args) -> None:
    write(*args)


def write_patient_pages(listed: pl.DataFrame, rows: list[str], folder: Path, indicator_id: str, title: str,
                        description: str, home: str, show_department: bool, page_context: dict,
                        beside: Callable[..., None] = _now) -> tuple[str, str]:
    """``<folder>/patienter/<indicator>.html`` (+ ``-2.html`` …) and ``.csv``; their relative links.

    ``listed``: the patients in page order, with their CSV columns (``DashboardIndex``);
    ``rows``: the table rows of the first of them, as many as the pages show. A longer list
    is shown on fewer pages (the first rows) and each page says so; the CSV holds every row.
    ``beside(write, *args)`` writes a file (``DashboardIndex.beside``: by a second thread)."""
    target = folder / "patienter"
    target.mkdir(parents=True, exist_ok=True)
    beside(write_neutralised_csv, csv_columns(listed), target / f"{indicator_id}.csv")
    note = None
    if len(rows) < listed.height:
        note = (f"Listen har {_count(listed.height)} patienter. Siderne her viser de første {_count(len(rows))} "
                f"(nyeste år først, derefter status, indeksdato og pseudonym); hele listen står i "
                f"{indicator_id}.csv.")
    pages = html.page_names(indicator_id, -(-len(rows) // PAGE_ROWS))
    for number, name in enumerate(pages, start=1):
        table = templates.patient_table(rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS],
                                        show_department=show_department)
        beside(html.save, target / name,
               html.render("patients.html", title=title, description=description, csv=f"{indicator_id}.csv",
                           table=table, note=note, pages=pages, page=number, show_department=show_department,
                           home=home, **page_context))
    return f"patienter/{pages[0]}", f"patienter/{indicator_id}.csv"


CSV_PREFIX = "csv: "  # the CSV's columns beside the patient rows in ``DashboardIndex``


def csv_columns(listed: pl.DataFrame) -> pl.DataFrame:
    """The CSV of patients from ``DashboardIndex`` (neutralised already)."""
    return listed.select(pl.col(CSV_PREFIX + c).alias(c) for c in CSV_COLUMNS.values())


def _period(data: ReportData) -> str:
    return f"{data.years[0]}–{data.years[-1]}" if data.years else "–"


class DashboardIndex:
    """What every dashboard looks up, computed once for all of them."""

    def __init__(self, data: ReportData):
        self.data = data
        current, years = data.current_year, data.years
        self.rows: dict[tuple, dict] = {}          # (indicator, year, level, unit) -> first summary row
        self.national: dict[tuple, dict] = {}      # (indicator, year) -> first national row
        self.series: dict[tuple, list[dict]] = {}  # (indicator, level, unit) -> its rows, in order
        for r in data.summary.iter_rows(named=True):
            self.rows.setdefault((r["indicator_id"], r["year"], r["level"], r["unit"]), r)
            if r["level"] == "national":
                self.national.setdefault((r["indicator_id"], r["year"]), r)
            self.series.setdefault((r["indicator_id"], r["level"], r["unit"]), []).append(r)
        now = data.summary.filter(pl.col("year") == current) if current is not None else data.summary.clear()
        by_indicator = now.partition_by("indicator_id", as_dict=True, maintain_order=True)
        self.points = {i.indicator_id: funnel_points(by_indicator.get((i.indicator_id,), now.clear()))
                       for i in CATALOGUE}
        self.departments = {r["department_code"]: r for r in data.departments.iter_rows(named=True)}
        patients = templates.values_columns(data.patients.filter(pl.col("year").is_in(years))).sort(
            *PAGE_ORDER[0], descending=PAGE_ORDER[1])
        # every list's CSV rows made once (each patient is in Danmark's list and a department's)
        csv = neutralise_frame(csv_frame(patients))
        patients = pl.concat([patients, csv.rename(lambda c: CSV_PREFIX + c)], how="horizontal")
        self.empty = patients.clear()
        self.by_indicator = patients.partition_by("indicator_id", as_dict=True, maintain_order=True)
        self.by_department = patients.partition_by("department_code", "indicator_id", as_dict=True,
                                                   maintain_order=True)
        self._files: ThreadPoolExecutor | None = None
        self._written: list[Future] = []

    def beside(self, write: Callable[..., object], *args) -> None:
        """``write(*args)``: a list's file, written now, or by the second thread of ``writing_beside``."""
        if self._files is None:
            write(*args)
        else:
            self._written.append(self._files.submit(write, *args))

    @contextmanager
    def writing_beside(self) -> Iterator[DashboardIndex]:
        """Meanwhile the lists' CSV files and pages are written by a second thread, while the
        next are made (polars and the file system work without holding the GIL)."""
        with ThreadPoolExecutor(max_workers=1) as files:
            self._files, self._written = files, []
            try:
                yield self
            finally:
                self._files = None
        for written in self._written:
            written.result()  # an error in a CSV file stops the run here

    def listed(self, level: str, unit: str, indicator: str) -> pl.DataFrame:
        """The indicator's patients of the report years (page order) for Danmark or a department."""
        if level == "department":
            return self.by_department.get((unit, indicator), self.empty)
        return self.by_indicator.get((indicator,), self.empty)

    def page_rows(self, level: str, unit: str, limit: int | None) -> dict[str, list[str]]:
        """Per indicator the table rows of the first ``limit`` (None: all) listed patients, made in one go."""
        listed = {i.indicator_id: self.listed(level, unit, i.indicator_id) for i in CATALOGUE}
        shown = {iid: frame if limit is None else frame.head(limit) for iid, frame in listed.items()}
        rows = templates.patient_rows(pl.concat(list(shown.values())), show_department=level == "national")
        out, start = {}, 0
        for iid, frame in shown.items():
            out[iid], start = rows[start:start + frame.height], start + frame.height
        return out

    def trend(self, indicator: str, years: list[int], level: str = "national", unit: str = "Danmark",
              name: str = "Danmark", style: str = "main") -> TrendSeries:
        """``national.trend_series`` from the index."""
        points = {}
        for r in self.series.get((indicator, level, unit), []):
            if r["year"] in years and r["proportion"] is not None:
                points[r["year"]] = (r["proportion"], r["ci_low"], r["ci_high"])
        return TrendSeries(name, points, style)


def _tiles(data: ReportData, folder: Path, level: str, unit: str, unit_label: str, home: str,
           page_context: dict, index: DashboardIndex | None = None) -> list[dict]:
    current, years = data.current_year, data.years
    if current is None:  # no results at all
        return []
    index = index or DashboardIndex(data)
    max_pages = NATIONAL_PAGE_LIMIT if level == "national" else None
    page_rows = index.page_rows(level, unit, None if max_pages is None else max_pages * PAGE_ROWS)
    budget = EMBED_LIMIT
    tiles = []
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        row = index.rows.get((iid, current, level, unit))
        national = index.national.get((iid, current))
        theta = national["proportion"] if national else None
        points = index.points[iid]
        where = None
        if level == "department" and row and row["denominator"] and theta is not None:
            where = POSITION_TEXT[position(row["met"], row["denominator"], theta)]
        series = [index.trend(iid, years, level, unit, unit_label, "main")]
        if level != "national":
            series.append(index.trend(iid, years, name="Danmark", style="secondary"))
        listed, rows = index.listed(level, unit, iid), page_rows[iid]
        now = int((listed.get_column("year") == current).sum())  # the page order: current year first
        embedded = None
        if now and now <= budget:
            embedded = templates.patient_table(rows[:now] if now <= len(rows) else listed.head(now),
                                               show_department=level == "national")
            budget -= now
        page, csv = (write_patient_pages(listed, rows, folder, iid, f"{iid} {indicator.title_da} – {unit_label}",
                                         f"Alle patienter i indikatorens population, {_period(data)}, {unit_label}.",
                                         home, level == "national", page_context, index.beside)
                     if listed.height else (None, None))
        note = None
        if max_pages is not None and listed.height > max_pages * PAGE_ROWS:
            note = (f"Siderne viser de første {_count(max_pages * PAGE_ROWS)} af {_count(listed.height)} patienter; "
                    "hele listen står i CSV-filen.")
        counts = {s: (row[s] if row else 0) for s in ("met", "not_met", "unknown", "justified", "excluded", "pending")}
        tiles.append({
            "id": iid, "title": indicator.title_da, "recommendations": indicator.recommendations,
            "grade": indicator.grade, "standard": indicator.standard, "state": _state(row),
            "proportion": row["proportion"] if row else None, "numerator": row["numerator"] if row else 0,
            "denominator": row["denominator"] if row else 0, "ci_low": row["ci_low"] if row else None,
            "ci_high": row["ci_high"] if row else None, "standard_met": row["standard_met"] if row else None,
            "position": where, **counts,
            "trend": charts.trend_svg(series, years, indicator.standard, f"{iid}: andel pr. år, {unit_label}"),
            "funnel": charts.funnel_svg(points, theta, indicator.standard, f"{iid}: afdelinger {current}",
                                        highlight=unit if level == "department" else None),
            "patient_count": now, "embedded": embedded, "pages": page, "csv": csv, "note": note,
        })
    return tiles


def write_department_dashboard(data: ReportData, out_dir: Path, code: str, folder: str, page_context: dict,
                               index: DashboardIndex | None = None) -> Path:
    index = index or DashboardIndex(data)
    target = child_dir(out_dir / "departments", folder)
    info = index.departments.get(code) or {"department_code": code, "department_name": code, "hospital": "ukendt",
                                           "region": "ukendt"}
    tiles = _tiles(data, target, "department", code, info["department_name"], "../dashboard.html", page_context,
                   index)
    return html.write(
        target / "dashboard.html", "dashboard.html", title=f"Dashboard – {info['department_name']}",
        subtitle=f"{info['hospital']} · Region {info['region']} · afdelingskode {code} (internt, ikke diskretioneret)",
        intro=f"Indikatorerne for afdelingen i {data.current_year} mod standarden, udviklingen {_period(data)} "
              "mod Danmark, afdelingens placering i tragtdiagrammet og patienterne bag hvert tal.",
        tiles=tiles, departments=[], current_year=data.current_year, years=data.years, show_department=False,
        links=[{"href": "afvigelser.html", "text": "Afvigelsesliste"}, {"href": "afvigelser.csv", "text": "CSV"},
               {"href": "afvigelser.xlsx", "text": "Excel"}, {"href": "../../dashboard.html", "text": "Nationalt dashboard"}],
        home="../../dashboard.html", **page_context)


def write_national_dashboard(data: ReportData, out_dir: Path, folders: dict[str, str], page_context: dict,
                             index: DashboardIndex | None = None) -> Path:
    tiles = _tiles(data, out_dir, "national", "Danmark", "Danmark", "../dashboard.html", page_context, index)
    departments = [{**r, "dashboard": f"departments/{folders[r['department_code']]}/dashboard.html",
                    "deviations": f"departments/{folders[r['department_code']]}/afvigelser.html"}
                   for r in data.departments.sort("region", "hospital", "department_name").iter_rows(named=True)
                   if r["department_code"] in folders]
    return html.write(
        out_dir / "dashboard.html", "dashboard.html", title="Dashboard – myelomatose, primær behandling",
        subtitle="Nationalt dashboard (internt, ikke diskretioneret)",
        intro=(f"Indikatorerne for Danmark i {data.current_year} mod standarden, udviklingen {_period(data)}, "
               "afdelingerne i tragtdiagrammer og patienterne bag hvert tal." if data.years
               else "Udtrækket har ingen indikatorresultater."),
        tiles=tiles, departments=departments, current_year=data.current_year, years=data.years, show_department=True,
        links=[{"href": "national_report.html", "text": "National rapport"},
               {"href": "national_report_publication.html", "text": "Publikationsudgave"}],
        **page_context)
