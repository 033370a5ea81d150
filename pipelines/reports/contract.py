"""The results contract of indicators.md §3, written into the run's output folder, and
``indicator_summary.xlsx``: the same summary for a Danish spreadsheet (numbers as numbers,
proportions as percentages, Danish column names; the CSV stays as the contract says)."""


import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines import __version__
from pipelines.asset_keys import (PATIENT_RESULTS_KEY, QUALITY_FLAGS_KEY, QUARANTINE_KEY, RECONCILIATION_KEY,
                                  RESULTS_CONTRACT_KEY, SUMMARY_KEY)
from pipelines.lib.forked import Beside
from pipelines.lib.sql_loader import sql_text
from pipelines.reports.summary_workbook import write_summary_xlsx
from pipelines.resources import AuditConfig, duckdb_memory_limit, memory_bytes

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


# DuckDB's memory while the contract's tables are built and written: beyond it the sort and the
# temporary tables of a large delivery spill to the run's temp directory instead of growing the
# process. At 1M patients the largest process of a run was reached in this step (up to 4,269
# MiB); bounded, the step alone takes 2,592-2,604 MiB against 3,484-3,783, and whole runs are no
# slower (docs/performance-history.md, thirteenth round).
CONTRACT_MEMORY = "2.5GB"


@contextmanager
def _memory_bounded(con, limit: str) -> Iterator[None]:
    """DuckDB's memory limit lowered to ``limit`` for the block, then set back to the run's
    (``duckdb_memory_limit``); a run given less keeps its own. The limit is the database's, not
    the connection's: what else runs meanwhile (the national report, beside the files written
    later) reads a few small tables under it."""
    configured = duckdb_memory_limit()
    own = memory_bytes(configured) if configured else None
    if configured and (own is None or own <= memory_bytes(limit)):
        yield
        return
    con.execute(f"set memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute(f"set memory_limit = '{configured}'" if configured else "reset memory_limit")


# the contract's files a run's contract step left being written: ``written`` waits for them
_writing: list["_Later"] = []


def write_contract(con, out_dir: Path, audit: AuditConfig, *, later: ExitStack | None = None) -> dict[str, int]:
    """CSV (UTF-8, comma) and Parquet of each contract table, and ``run.json``; the summary's
    workbook is written by a fresh process meanwhile (xlsxwriter, cell by cell: ≈ 1 s; not a
    fork, which would hold on to the pages of the contract's tables as they were).

    With ``later`` (the stack that closes ``con``, handed over) the files and the workbook may
    still be being written when this returns: a thread writes the files on ``con`` (DuckDB's
    ``COPY``, which leaves the interpreter to the run's next step: the national report, plain
    Python), and publishing waits for both (``written``), then closes the stack. The rows
    counted and ``run.json`` are written before this returns."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as owned:
        if later is not None:
            owned.push(later.pop_all())  # closed last: the connection outlives what uses it
        owned.enter_context(_memory_bounded(con, CONTRACT_MEMORY))  # the tables live until they are written
        tables = {}
        for name, relpath in CONTRACT_FILES.items():
            tables[name] = table = f"contract_{name}"  # computed once, written twice
            con.execute(f"create or replace temp table {table} as {sql_text(relpath).strip().rstrip(';')}")
        rows = {name: con.execute(f"select count(*) from {table}").fetchone()[0] for name, table in tables.items()}
        summary_rows, summary_columns = _summary_with_names(con, tables["indicator_summary"])
        (out_dir / "run.json").write_text(json.dumps(run_record(con, audit), indent=2, ensure_ascii=False),
                                          encoding="utf-8")
        workbook = owned.enter_context(Beside(write_summary_xlsx, summary_rows, summary_columns,
                                              out_dir / "indicator_summary.xlsx", fresh=True))
        if later is None:
            _write_files(con, tables, out_dir)
            workbook.result()
        else:
            _writing.append(_Later(owned.pop_all(), con, tables, out_dir, workbook))
    return rows


def _write_files(con, tables: dict[str, str], out_dir: Path) -> None:
    for name, table in tables.items():
        con.execute(f"copy {table} to {_sql_path(out_dir / (name + '.csv'))} (header, delimiter ',')")
        con.execute(f"copy {table} to {_sql_path(out_dir / (name + '.parquet'))} (format parquet)")
        con.execute(f"drop table {table}")


class _Later:
    """The contract's files written by a thread of their own, and the summary's workbook by its
    process, after the contract step; ``stack`` ends both and closes the step's connection."""

    def __init__(self, stack: ExitStack, con, tables: dict[str, str], out_dir: Path, workbook: Beside) -> None:
        self._stack, self._con, self._workbook = stack, con, workbook
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contract-files")
        self._files = thread.submit(_write_files, con, tables, out_dir)
        thread.shutdown(wait=False)  # the thread ends once the files are written

    def result(self) -> None:
        with self._stack:
            self._files.result()
            self._workbook.result()

    def discard(self) -> None:
        with self._stack:
            while not self._files.done():  # again until it ends: a statement may start after an interrupt
                self._con.interrupt()
                wait([self._files], timeout=0.05)


def written() -> None:
    """Wait for the contract's files and the summary's workbook a contract step left being
    written (raising the first error)."""
    while _writing:
        _writing.pop().result()


def discard() -> None:
    """End the contract's files and workbook still being written: the run stopped before
    publishing (the run's folder, and what was written into it, is removed)."""
    while _writing:
        _writing.pop().discard()


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
    indicator_summary.xlsx (the summary for a Danish spreadsheet). The files and the workbook
    are finished while the national report is written, and waited for before the run is
    published (``written``)."""
    with ExitStack() as stack:
        con = stack.enter_context(duckdb.get_connection())
        rows = write_contract(con, Path(audit.output_dir), audit, later=stack)
    context.log.info("run.json written; writing " + ", ".join(f"{name}.csv ({n} rows)" for name, n in rows.items())
                     + " beside the next steps")
    return dg.MaterializeResult(metadata={f"{name}_rows": n for name, n in rows.items()})
