"""Static dashboards: ``dashboard.html`` (national) and ``departments/<safe>/dashboard.html``.

Offline pages (inline SVG, no script): a tile per indicator against its standard for the
current year, the trend over the report's three years (department against Danmark), the
funnel plot with the department's own point highlighted, and the patient list behind every
figure. At most ``EMBED_LIMIT`` patient rows are embedded in one page; every list is also
written as its own pages (``patienter/<indicator>.html``, 2,000 rows a page) and as a
Danish CSV (``patienter/<indicator>.csv``), linked from the dashboard.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.indicators.catalogue import CATALOGUE
from pipelines.reports import charts, html
from pipelines.reports.data import ReportData
from pipelines.reports.deviations import PAGE_ROWS, csv_frame, display_rows
from pipelines.reports.files import child_dir, write_danish_csv
from pipelines.reports.funnel import POSITION_TEXT, position
from pipelines.reports.national import funnel_points, national_value, trend_series

EMBED_LIMIT = 2000


def _state(row: dict | None) -> str:
    if not row or row["standard_met"] is None:
        return "none"
    if row["standard_met"]:
        return "ok"
    return "near" if row["ci_high"] is not None and row["ci_high"] >= row["standard"] else "bad"


def write_patient_pages(frame: pl.DataFrame, folder: Path, indicator_id: str, title: str, description: str,
                        home: str, show_department: bool, page_context: dict) -> tuple[str, str]:
    """``<folder>/patienter/<indicator>.html`` (+ ``-2.html`` …) and ``.csv``; their relative links."""
    target = folder / "patienter"
    target.mkdir(parents=True, exist_ok=True)
    frame = frame.sort("year", "status", "index_date", "pseudonym", descending=[True, False, False, False])
    write_danish_csv(csv_frame(frame), target / f"{indicator_id}.csv")
    rows = display_rows(frame)
    pages = html.page_names(indicator_id, -(-len(rows) // PAGE_ROWS))
    for number, name in enumerate(pages, start=1):
        html.write(target / name, "patients.html", title=title, description=description, csv=f"{indicator_id}.csv",
                   rows=rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS], pages=pages, page=number,
                   show_department=show_department, home=home, **page_context)
    return f"patienter/{pages[0]}", f"patienter/{indicator_id}.csv"


def _period(data: ReportData) -> str:
    return f"{data.years[0]}–{data.years[-1]}" if data.years else "–"


def _tiles(data: ReportData, folder: Path, level: str, unit: str, unit_label: str, home: str,
           page_context: dict) -> list[dict]:
    summary, current, years = data.summary, data.current_year, data.years
    if current is None:  # no results at all
        return []
    patients = data.patients.filter(pl.col("year").is_in(years))
    if level == "department":
        patients = patients.filter(pl.col("department_code") == unit)
    budget = EMBED_LIMIT
    tiles = []
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        own = summary.filter((pl.col("indicator_id") == iid) & (pl.col("year") == current)
                             & (pl.col("level") == level) & (pl.col("unit") == unit))
        row = own.row(0, named=True) if own.height else None
        national = national_value(summary, iid, current)
        theta = national["proportion"] if national else None
        points = funnel_points(summary.filter((pl.col("indicator_id") == iid) & (pl.col("year") == current)))
        where = None
        if level == "department" and row and row["denominator"] and theta is not None:
            where = POSITION_TEXT[position(row["met"], row["denominator"], theta)]
        series = [trend_series(summary, iid, years, level, unit, unit_label, "main")]
        if level != "national":
            series.append(trend_series(summary, iid, years, name="Danmark", style="secondary"))
        listed = patients.filter(pl.col("indicator_id") == iid)
        now = listed.filter(pl.col("year") == current).sort("status", "index_date", "pseudonym")
        embedded = []
        if now.height and now.height <= budget:
            embedded, budget = display_rows(now), budget - now.height
        page, csv = (write_patient_pages(listed, folder, iid, f"{iid} {indicator.title_da} – {unit_label}",
                                         f"Alle patienter i indikatorens population, {_period(data)}, {unit_label}.",
                                         home, level == "national", page_context)
                     if listed.height else (None, None))
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
            "patient_count": now.height, "embedded": embedded, "pages": page, "csv": csv,
        })
    return tiles


def write_department_dashboard(data: ReportData, out_dir: Path, code: str, folder: str, page_context: dict) -> Path:
    target = child_dir(out_dir / "departments", folder)
    info = next((r for r in data.departments.iter_rows(named=True) if r["department_code"] == code),
                {"department_code": code, "department_name": code, "hospital": "ukendt", "region": "ukendt"})
    tiles = _tiles(data, target, "department", code, info["department_name"], "../dashboard.html", page_context)
    return html.write(
        target / "dashboard.html", "dashboard.html", title=f"Dashboard – {info['department_name']}",
        subtitle=f"{info['hospital']} · Region {info['region']} · afdelingskode {code} (internt, ikke diskretioneret)",
        intro=f"Indikatorerne for afdelingen i {data.current_year} mod standarden, udviklingen {_period(data)} "
              "mod Danmark, afdelingens placering i tragtdiagrammet og patienterne bag hvert tal.",
        tiles=tiles, departments=[], current_year=data.current_year, years=data.years, show_department=False,
        links=[{"href": "afvigelser.html", "text": "Afvigelsesliste"}, {"href": "afvigelser.csv", "text": "CSV"},
               {"href": "afvigelser.xlsx", "text": "Excel"}, {"href": "../../dashboard.html", "text": "Nationalt dashboard"}],
        home="../../dashboard.html", **page_context)


def write_national_dashboard(data: ReportData, out_dir: Path, folders: dict[str, str], page_context: dict) -> Path:
    tiles = _tiles(data, out_dir, "national", "Danmark", "Danmark", "../dashboard.html", page_context)
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
