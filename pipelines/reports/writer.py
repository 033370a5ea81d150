"""The reports layer as plain functions on a DuckDB connection (no Dagster; ``assets.py`` wraps
them). ``write_reports`` writes everything; the three parts write what one asset owns.

Output folder:

* ``national_report.html`` — internal national report (unsuppressed), with the comparison
  with the previous audit when one is given;
* ``national_report_publication.html`` and ``indicator_summary_publication.csv`` — the
  publication variant with small-cell suppression;
* ``dashboard.html`` and ``patienter/<indicator>.{html,csv}`` — the national dashboard;
* ``departments/<safe name>/`` per department: ``afvigelser.{csv,xlsx,html}``,
  ``dashboard.html`` and ``patienter/<indicator>.{html,csv}``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.reports import comments as steering_comments
from pipelines.reports import dashboard, deviations, national, templates
from pipelines.reports.data import ReportData, load
from pipelines.reports.files import safe_names


def _context(data: ReportData) -> dict:
    return {"extract_id": data.extract_id,
            "extract_date": data.extract_date.isoformat() if data.extract_date else None}


def _deviations(data: ReportData, previous_results: Path | None) -> tuple[pl.DataFrame, bool]:
    previous = deviations.read_previous(Path(previous_results)) if previous_results else None
    return deviations.compare(data, previous), previous is not None


def _scope(previous_results: Path | None, report: str) -> str:
    """The patient rows to load: a comparison needs them all, else what the report uses."""
    return "all" if previous_results else report


def department_folders(data: ReportData, deviation_rows: pl.DataFrame) -> dict[str, str]:
    """Department code → safe folder name, for every department with results or resolved deviations."""
    codes = set(data.departments["department_code"].to_list()) | set(deviation_rows["department_code"].to_list())
    return safe_names(codes)


def _national(data: ReportData, out_dir: Path, rows: pl.DataFrame | None, compared: bool,
              previous_results: Path | None, parameters: dict | None, con: duckdb.DuckDBPyConnection,
              comments: Path | str | None = None) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    comparison = (deviations.comparison_summary(rows, data, Path(previous_results).name)
                  if compared and rows is not None else None)
    counts = national.write_national_reports(data, out_dir, parameters=parameters, comparison=comparison,
                                             page_context=_context(data), basis=national.load_basis(con, data.years),
                                             comments=steering_comments.read(comments))
    return {**counts, "years": data.years, "compared": compared}


def _departments(data: ReportData, out_dir: Path, rows: pl.DataFrame, folders: dict[str, str], compared: bool,
                 previous_results: Path | None) -> dict:
    lists = deviations.write_department_lists(data, out_dir, rows, folders, compared,
                                              Path(previous_results).name if compared else None, _context(data))
    changes = rows["change"].value_counts().to_dicts() if compared else []
    return {"departments": len(lists), "deviation_rows": sum(d.rows for d in lists),
            **{f"changes_{c['change']}": c["count"] for c in changes}}


def _dashboards(data: ReportData, out_dir: Path, folders: dict[str, str]) -> dict:
    context = _context(data)
    index = dashboard.DashboardIndex(data)
    with index.writing_beside():
        dashboard.write_national_dashboard(data, out_dir, folders, context, index)
        for code in data.departments["department_code"].to_list():
            dashboard.write_department_dashboard(data, out_dir, code, folders[code], context, index)
    return {"dashboards": 1 + data.departments.height}


def write_national(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None = None, *,
                   parameters: dict | None = None, report_year: int | None = None,
                   comments: Path | str | None = None) -> dict:
    data = load(con, report_year, patients=_scope(previous_results, "none"))
    rows, compared = _deviations(data, previous_results) if previous_results else (None, False)
    return _national(data, out_dir, rows, compared, previous_results, parameters, con, comments)


def write_departments(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None = None, *,
                      report_year: int | None = None) -> dict:
    data = load(con, report_year, patients=_scope(previous_results, "deviations"))
    rows, compared = _deviations(data, previous_results)
    return _departments(data, out_dir, rows, department_folders(data, rows), compared, previous_results)


def write_dashboards(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None = None, *,
                     report_year: int | None = None) -> dict:
    data = load(con, report_year, patients=_scope(previous_results, "current"))
    # without a comparison every department with a deviation has results: the folders need no deviation rows
    rows = _deviations(data, previous_results)[0] if previous_results else data.patients.clear()
    return _dashboards(data, out_dir, department_folders(data, rows))


def write_reports(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None, *,
                  parameters: dict | None = None, report_year: int | None = None,
                  comments: Path | str | None = None) -> dict:
    """Every report into ``out_dir``; ``previous_results`` is the previous run's
    ``patient_results.csv`` (or None: no comparison). Returns counts for metadata.

    Reads the inputs once and shares the comparison, the folder names and the dashboard
    index between the three parts (the assets, run apart, each read what they need)."""
    out_dir = Path(out_dir)
    data = load(con, report_year, patients=_scope(previous_results, "report"))
    if not previous_results:  # every row loaded is used: render the drill-down values once for all parts
        data.patients = templates.values_columns(data.patients)
    rows, compared = _deviations(data, previous_results)
    folders = department_folders(data, rows)
    return {
        **_national(data, out_dir, rows, compared, previous_results, parameters, con, comments),
        **_departments(data, out_dir, rows, folders, compared, previous_results),
        **_dashboards(data, out_dir, folders),
    }
