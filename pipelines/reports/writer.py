"""The reports layer as plain functions on a DuckDB connection (no Dagster; ``assets.py`` wraps
them). ``write_reports`` writes everything; the three parts write what one asset owns.

Output folder:

* ``national_report.html`` — internal national report (unsuppressed), with the comparison
  with the previous audit when one is given;
* ``national_report_publication.html`` and ``indicator_summary_publication.csv`` — the
  publication variant with small-cell suppression;
* ``dashboard.html`` and ``patienter/<indicator>.{html,csv}`` — the national dashboard;
* ``departments/<safe name>/`` per department: ``afvigelser.{csv,xlsx,html}``,
  ``dashboard.html`` and ``patienter/<indicator>.{html,csv}``;
* ``comparison.json`` and ``comparison_base.csv`` — what the department lists were compared
  with (``comparison.py``).

The department lists and dashboards cover the audit period (``period``: ``--period``,
default the 12 months before the extract date) and every row still pending. With
``MYELOMA_AUDIT_REID_KEY`` set, the department outputs carry a CPR column for the
department's own patients (``pipelines/lib/vault.py``); nothing else changes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib import forked, vault
from pipelines.lib.forked import Beside
from pipelines.reports import comments as steering_comments
from pipelines.reports import comparison, dashboard, deviations, national
from pipelines.reports import dashboards_beside as beside
from pipelines.reports.data import ReportData, load
from pipelines.reports.files import safe_names


def _base(con: duckdb.DuckDBPyConnection, previous_results: Path | None) -> tuple[comparison.Base | None,
                                                                                   comparison.ExtractRef | None]:
    current = comparison.current_ref(con)
    return comparison.choose_base(Path(previous_results) if previous_results else None, current), current


def _deviations(data: ReportData, base: comparison.Base | None) -> tuple[pl.DataFrame, bool]:
    return deviations.compare(data, base), base is not None


def department_folders(data: ReportData, deviation_rows: pl.DataFrame) -> dict[str, str]:
    """Department code → safe folder name, for every department with results or resolved deviations."""
    codes = set(data.departments["department_code"].to_list()) | set(deviation_rows["department_code"].to_list())
    return safe_names(codes)


def _cprs(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> dict[str, str] | None:
    """pseudonym → CPR for the patients of the department outputs, when re-identification is
    on (the key set and the vault written at ingest); None otherwise."""
    key = vault.reid_key_from_env()
    if key is None or not vault.has_vault(con):
        return None
    return vault.open_cprs(con, rows.get_column("pseudonym").to_list(), key)


def _national(data: ReportData, out_dir: Path, rows: pl.DataFrame | None, base: comparison.Base | None,
              parameters: dict | None, con: duckdb.DuckDBPyConnection, comments: Path | str | None = None) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = (deviations.comparison_summary(rows, data, base.name_da)
               if base is not None and rows is not None else None)
    counts = national.write_national_reports(data, out_dir, parameters=parameters, comparison=summary,
                                             page_context=data.page_context(),
                                             basis=national.load_basis(con, data.years),
                                             comments=steering_comments.read(comments))
    return {**counts, "years": data.years, "compared": base is not None}


def _departments(data: ReportData, out_dir: Path, rows: pl.DataFrame, folders: dict[str, str],
                 base: comparison.Base | None, current: comparison.ExtractRef | None,
                 cprs: dict[str, str] | None) -> dict:
    comparison.write_base(out_dir, current, base, data.period.as_dict() if data.period else None)
    lists = deviations.write_department_lists(data, out_dir, rows, folders, base is not None,
                                              base.name_da if base else None, dashboard.clinic_context(data), cprs)
    changes = rows["change"].value_counts().to_dicts() if base is not None else []
    return {"departments": len(lists), "deviation_rows": sum(d.rows for d in lists),
            "period": data.period.spec if data.period else "", "reidentified": cprs is not None,
            **{f"changes_{c['change']}": c["count"] for c in changes}}


def write_national(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None = None, *,
                   parameters: dict | None = None, report_year: int | None = None, period: str | None = None,
                   comments: Path | str | None = None) -> dict:
    base, _ = _base(con, previous_results)
    data = load(con, report_year, patients="period" if base else "none", period=period)
    rows = deviations.compare(data, base) if base else None
    return _national(data, out_dir, rows, base, parameters, con, comments)


# The dashboards are written beside only up to this many patients in the period. Measured
# (04-12-2026): at 1M (363,168) the fresh process, measured alone on the database, holds its own
# copy of the report data (1.4 GB) and, sharing the cores with the contract's DuckDB threads,
# takes longer than this process would (15.1 against 12.6 s): memory for nothing. Below that the
# gain is not shown: the paired runs given for a 100k delivery (35,734 patients in the period,
# 0.93 of the time) were started from the project folder, where both sides ran the same code
# (docs/performance-history.md, tenth round). The crossover was not measured; a national
# delivery (10k) has about 3,500.
DASHBOARDS_BESIDE_AT_MOST = 150_000


def write_departments(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None = None, *,
                      report_year: int | None = None, period: str | None = None,
                      dashboards_beside: bool = False) -> dict:
    """With ``dashboards_beside`` the dashboards of the same rows are written for the dashboards
    step to take (``dashboards_beside.take``): started in a fresh process first (on a machine
    with a second core, up to ``DASHBOARDS_BESIDE_AT_MOST`` patients), else written here after
    the lists. Here rather than in the dashboards step, which runs after the steps that wait for
    the data-quality verdict: the validation process judges on the core this work leaves idle,
    and the report data is not read a second time (1M, one run each: the wait for the verdict 6.5 → 2.1 s,
    the run 123.2 → 118.7 s)."""
    base, current = _base(con, previous_results)
    data = load(con, report_year, patients="period", period=period)
    rows, _ = _deviations(data, base)
    folders = department_folders(data, rows)
    fresh_process = forked.more_than_one_core() and data.patients.height <= DASHBOARDS_BESIDE_AT_MOST
    if dashboards_beside and fresh_process:
        started = Beside(dashboard.write_every_dashboard, *_dashboards_of(con, data, out_dir, folders, rows, base),
                         fresh=True)
        beside.keep(out_dir, started.__enter__())
    written = _departments(data, out_dir, rows, folders, base, current, _cprs(con, rows))
    if dashboards_beside and not fresh_process:
        beside.keep(out_dir, dashboard.write_every_dashboard(*_dashboards_of(con, data, out_dir, folders, rows, base)))
    return written


def _dashboards_of(con: duckdb.DuckDBPyConnection, data: ReportData, out_dir: Path, folders: dict[str, str],
                   rows: pl.DataFrame, base: comparison.Base | None) -> tuple:
    """What ``dashboard.write_every_dashboard`` is given, in this process or a fresh one."""
    return data, Path(out_dir), folders, rows, base.name_da if base else None, _cprs(con, data.patients)


def write_dashboards(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None = None, *,
                     report_year: int | None = None, period: str | None = None) -> dict:
    base, _ = _base(con, previous_results)
    data = load(con, report_year, patients="period", period=period)
    rows, _ = _deviations(data, base)
    return dashboard.write_every_dashboard(*_dashboards_of(con, data, out_dir, department_folders(data, rows), rows,
                                                           base))


def write_reports(con: duckdb.DuckDBPyConnection, out_dir: Path, previous_results: Path | None, *,
                  parameters: dict | None = None, report_year: int | None = None, period: str | None = None,
                  comments: Path | str | None = None) -> dict:
    """Every report into ``out_dir``; ``previous_results`` is the previous run's
    ``patient_results.csv`` (or None: no comparison). Returns counts for metadata.

    Reads the inputs once and shares the comparison, the folder names and the dashboard
    index between the three parts (the assets, run apart, each read what they need)."""
    out_dir = Path(out_dir)
    base, current = _base(con, previous_results)
    data = load(con, report_year, patients="period", period=period)
    rows, _ = _deviations(data, base)
    folders = department_folders(data, rows)
    cprs = _cprs(con, pl.concat([rows.select("pseudonym"), data.patients.select("pseudonym")]))
    return {
        **_national(data, out_dir, rows, base, parameters, con, comments),
        **_departments(data, out_dir, rows, folders, base, current, cprs),
        **dashboard.write_every_dashboard(data, out_dir, folders, rows, base.name_da if base else None, cprs),
    }
