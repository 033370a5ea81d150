"""The results contract of indicators.md §3, written into the run's output folder."""


import json
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines import __version__
from pipelines.asset_keys import (PATIENT_RESULTS_KEY, QUALITY_FLAGS_KEY, QUARANTINE_KEY, RECONCILIATION_KEY,
                                  RESULTS_CONTRACT_KEY, SUMMARY_KEY)
from pipelines.lib.sql_loader import sql_text
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


def write_contract(con, out_dir: Path, audit: AuditConfig) -> dict[str, int]:
    """CSV (UTF-8, comma) and Parquet of each contract table, and ``run.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, relpath in CONTRACT_FILES.items():
        query = sql_text(relpath).strip().rstrip(";")
        table = f"contract_{name}"  # computed once, written twice
        con.execute(f"create or replace temp table {table} as {query}")
        con.execute(f"copy {table} to {_sql_path(out_dir / (name + '.csv'))} (header, delimiter ',')")
        con.execute(f"copy {table} to {_sql_path(out_dir / (name + '.parquet'))} (format parquet)")
        rows[name] = con.execute(f"select count(*) from {table}").fetchone()[0]
        con.execute(f"drop table {table}")
    (out_dir / "run.json").write_text(json.dumps(run_record(con, audit), indent=2, ensure_ascii=False), encoding="utf-8")
    return rows


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
    """patient_results.csv, indicator_summary.csv, quarantine.csv (+ Parquet) and run.json."""
    with duckdb.get_connection() as con:
        rows = write_contract(con, Path(audit.output_dir), audit)
    context.log.info("wrote " + ", ".join(f"{name}.csv ({n} rows)" for name, n in rows.items()) + ", run.json")
    return dg.MaterializeResult(metadata={f"{name}_rows": n for name, n in rows.items()})
