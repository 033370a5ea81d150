"""The results contract of indicators.md §3, written into the run's output folder, and
``indicator_summary.xlsx``: the same summary for a Danish spreadsheet (numbers as numbers,
proportions as percentages, Danish column names; the CSV stays as the contract says)."""


import json
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import duckdb
import xlsxwriter
from dagster_duckdb import DuckDBResource

from pipelines import __version__
from pipelines.asset_keys import (PATIENT_RESULTS_KEY, QUALITY_FLAGS_KEY, QUARANTINE_KEY, RECONCILIATION_KEY,
                                  RESULTS_CONTRACT_KEY, SUMMARY_KEY)
from pipelines.lib.forked import Beside
from pipelines.lib.formula_safety import neutralise
from pipelines.lib.sql_loader import sql_text
from pipelines.reports.files import FIXED_CREATED
from pipelines.resources import AuditConfig

__all__ = ["PATIENT_RESULTS_KEY", "SUMMARY_KEY", "results_contract", "run_record", "write_contract"]

CONTRACT_FILES = {
    "patient_results": "reports/contract_patient_results.sql",
    "indicator_summary": "reports/contract_indicator_summary.sql",
    "quarantine": "reports/contract_quarantine.sql",
}


def _sql_path(path: Path) -> str:
    """A file path as a SQL string literal (COPY takes no parameters): a quote in the output
    folder's name must neither break the statement nor inject into it."""
    return "'" + str(path).replace("'", "''") + "'"


# the summary's workbook a run's contract step left being written: ``workbook_written`` waits for it
_writing: list[tuple[ExitStack, Beside]] = []


def write_contract(con, out_dir: Path, audit: AuditConfig, *, workbook_later: bool = False) -> dict[str, int]:
    """CSV (UTF-8, comma) and Parquet of each contract table, and ``run.json``; the summary's
    workbook is written by a forked process meanwhile (xlsxwriter, cell by cell: ≈ 1 s). With
    ``workbook_later`` the workbook may still be being written when this returns: the run's
    next steps go on, and publishing waits for it (``workbook_written``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, relpath in CONTRACT_FILES.items():
        tables[name] = table = f"contract_{name}"  # computed once, written twice
        con.execute(f"create or replace temp table {table} as {sql_text(relpath).strip().rstrip(';')}")
    summary_rows, summary_columns = _summary_with_names(con, tables["indicator_summary"])
    with ExitStack() as stack:
        workbook = stack.enter_context(Beside(write_summary_xlsx, summary_rows, summary_columns,
                                              out_dir / "indicator_summary.xlsx"))
        rows = {}
        for name, table in tables.items():
            con.execute(f"copy {table} to {_sql_path(out_dir / (name + '.csv'))} (header, delimiter ',')")
            con.execute(f"copy {table} to {_sql_path(out_dir / (name + '.parquet'))} (format parquet)")
            rows[name] = con.execute(f"select count(*) from {table}").fetchone()[0]
            con.execute(f"drop table {table}")
        (out_dir / "run.json").write_text(json.dumps(run_record(con, audit), indent=2, ensure_ascii=False),
                                          encoding="utf-8")
        if workbook_later:
            _writing.append((stack.pop_all(), workbook))
        else:
            workbook.result()
    return rows


def workbook_written() -> None:
    """Wait for the summary's workbook a contract step left being written (raising its error)."""
    while _writing:
        stack, workbook = _writing.pop()
        with stack:
            workbook.result()


def discard_workbook() -> None:
    """End a workbook still being written: the run stopped before publishing."""
    while _writing:
        _writing.pop()[0].close()


# indicator_summary.csv's columns, as the spreadsheet names them (and what they hold)
SUMMARY_XLSX = {
    "indicator_id": ("Indikator", "indikatorens id (MM01 …)"),
    "year": ("År", "indeksdatoens år"),
    "level": ("Niveau", "Danmark, region, hospital eller afdeling"),
    "unit": ("Enhed", "Danmark, regionens eller hospitalets navn, afdelingens kode"),
    "unit_name": ("Afdelingens navn", "fra udtrækkets departments.csv (ikke en kolonne i CSV-filen)"),
    "met": ("Opfyldt", "patienter med status opfyldt"),
    "not_met": ("Ikke opfyldt", "patienter med status ikke opfyldt"),
    "unknown": ("Uoplyst", "patienter, hvor data til at vurdere mangler"),
    "justified": ("Begrundet afvigelse", "afvigelse med en grund, retningslinjen accepterer (ikke i nævneren)"),
    "excluded": ("Ekskluderet", "udelukket af en regel (ikke i nævneren)"),
    "pending": ("Afventer", "vinduet ikke lukket på udtræksdatoen (ikke i nævneren)"),
    "numerator": ("Tæller", "det samme som opfyldt"),
    "denominator": ("Nævner", "opfyldt + ikke opfyldt + uoplyst"),
    "proportion": ("Andel", "tæller / nævner"),
    "ci_low": ("95 % KI, nedre", "Wilsons 95 %-sikkerhedsinterval, nedre grænse"),
    "ci_high": ("95 % KI, øvre", "Wilsons 95 %-sikkerhedsinterval, øvre grænse"),
    "standard": ("Standard", "indikatorens standard (mål); tom for informative indikatorer"),
    "standard_met": ("Standard opfyldt", "ja/nej; tom uden standard eller uden nævner"),
    "quality_flag": ("Datakvalitetsflag", "ja: en blokerende kontrol fejlede eller en variabel er under komplethedsgrænsen"),
    "quality_note": ("Datakvalitet, note", "hvilken kontrol eller variabel"),
}
PERCENT_COLUMNS = {"proportion", "ci_low", "ci_high", "standard"}
LEVELS_DA = {"national": "Danmark", "region": "region", "hospital": "hospital", "department": "afdeling"}


def _summary_with_names(con, table: str) -> tuple[list[tuple], list[str]]:
    """The summary's rows with each department's name after its code (from stg_departments,
    when there)."""
    con.complete()
    try:
        names = {code: name for code, name in con.execute(
            "select department_code, department_name from stg_departments").fetchall()}
    except duckdb.CatalogException:
        names = {}
    result = con.execute(f"select * from {table}")
    columns = [d[0] for d in result.description]
    at = columns.index("unit") + 1
    rows = [(*row[:at], names.get(row[at - 1]) if row[columns.index("level")] == "department" else None, *row[at:])
            for row in result.fetchall()]
    return rows, [*columns[:at], "unit_name", *columns[at:]]


def write_summary_xlsx(rows: list[tuple], columns: list[str], path: Path) -> Path:
    """``indicator_summary.xlsx``: one sheet with the summary (Danish column names, frozen
    header, filters; proportions as percentages, yes/no as ja/nej, text formula-safe) and one
    that names each column's CSV column and meaning. The file does not depend on when it
    was written."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_urls": False, "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})  # same content, same bytes
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True, "valign": "top"})
        percent = workbook.add_format({"num_format": "0.0 %"})
        sheet = workbook.add_worksheet("Indikatorer")
        sheet.freeze_panes(1, 0)
        for col, name in enumerate(columns):
            sheet.write_string(0, col, SUMMARY_XLSX.get(name, (name,))[0], head)
            sheet.set_column(col, col, 24 if name in ("unit", "unit_name", "quality_note") else 11)
        for r, row in enumerate(rows, start=1):
            for col, (name, value) in enumerate(zip(columns, row)):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_string(r, col, "ja" if value else "nej")
                elif name in PERCENT_COLUMNS:
                    sheet.write_number(r, col, float(value), percent)
                elif isinstance(value, (int, float)):
                    sheet.write_number(r, col, value)
                elif name == "level":
                    sheet.write_string(r, col, LEVELS_DA.get(value, str(value)))
                elif str(value):
                    sheet.write_string(r, col, str(neutralise(str(value))))
        sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
        legend = workbook.add_worksheet("Kolonner")
        for col, title in enumerate(("Kolonne", "Kolonne i indicator_summary.csv", "Indhold")):
            legend.write_string(0, col, title, head)
        for r, name in enumerate(columns, start=1):
            label, meaning = SUMMARY_XLSX.get(name, (name, ""))
            legend.write_string(r, 0, label)
            legend.write_string(r, 1, name if name != "unit_name" else "–")
            legend.write_string(r, 2, meaning)
        legend.set_column(0, 1, 26)
        legend.set_column(2, 2, 80)
    finally:
        workbook.close()
    return path


def run_record(con, audit: AuditConfig) -> dict:
    extract_id, source, extract_date = con.execute("select extract_id, source, extract_date from raw_delivery_info").fetchone()
    files = {}
    for file, sha, encoding, line_ending in con.execute(
            "select file, sha256, encoding, line_ending from raw_file_info order by file").fetchall():
        files[file] = {"sha256": sha, "encoding": encoding, "line_ending": line_ending}
    for file, rows_in, clean, quarantined, duplicates in con.execute("select * from stg_reconciliation").fetchall():
        files[file].update(rows_in=rows_in, rows_clean=clean, rows_quarantined=quarantined,
                           duplicates_collapsed=duplicates)
    return {
        "extract_id": extract_id,
        "delivery": source,
        "extract_date": extract_date.isoformat(),
        "code_version": __version__,
        "parameters": audit.parameter_values(),
        "files": files,
        "rows": {
            "in": sum(f["rows_in"] for f in files.values()),
            "clean": sum(f["rows_clean"] for f in files.values()),
            "quarantined": sum(f["rows_quarantined"] for f in files.values()),
            "duplicates_collapsed": sum(f["duplicates_collapsed"] for f in files.values()),
        },
    }


@dg.asset(
    key=RESULTS_CONTRACT_KEY,
    group_name="reports",
    deps=[PATIENT_RESULTS_KEY, SUMMARY_KEY, QUALITY_FLAGS_KEY, QUARANTINE_KEY, RECONCILIATION_KEY],
)
def results_contract(context: dg.AssetExecutionContext, duckdb: DuckDBResource, audit: AuditConfig) -> dg.MaterializeResult:
    """patient_results.csv, indicator_summary.csv, quarantine.csv (+ Parquet), run.json and
    indicator_summary.xlsx (the summary for a Danish spreadsheet; finished while the national
    report is written, and waited for before the run is published)."""
    with duckdb.get_connection() as con:
        rows = write_contract(con, Path(audit.output_dir), audit, workbook_later=True)
    context.log.info("wrote " + ", ".join(f"{name}.csv ({n} rows)" for name, n in rows.items()) + ", run.json")
    return dg.MaterializeResult(metadata={f"{name}_rows": n for name, n in rows.items()})
