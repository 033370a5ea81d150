"""Run the expectation suites on the staging tables, inside DuckDB, through GX's SQL path.

``run_suites(con, tables, docs_dir=...)`` validates each ``stg_`` table against
``expectations/<table>.json`` with Great Expectations on a cursor of ``con`` (see
``gx_duckdb``; one GX context for all tables, one GX pass per table, see ``gx_validation``),
then:

- collects **every** failing row (``_line`` and the table's id column) of each failed
  expectation, not only GX's sample: for a column-map expectation by running GX's own
  ``unexpected_index_query`` in DuckDB; for an ``unexpected_rows_expectation`` they are the
  rows of GX's own evaluation of its query, kept by the engine (``gx_duckdb``). Each list is
  checked against GX's own count, so a disagreement is an error, never a silent truncation;
- raises :class:`QualityEngineError` when GX could not evaluate an expectation (GX reports
  that as ``success=False`` with the cause in ``exception_info``): an engine error must
  never read as "failed data";
- with ``docs_dir``, writes the Data Docs site there once all tables are validated (nothing
  when an engine error stops the run), an offline index page and one CSV of failing rows
  per table.

``record_outcomes`` keeps the results in DuckDB (``qa_expectation_results``,
``qa_failing_rows``) for ``quality_flags``.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import duckdb

from pipelines.lib.formula_safety import neutralise
from pipelines.lib.pseudonym import scrub
from pipelines.lib.sql_loader import run_sql
from pipelines.quality.suites import SUITE_TABLES, ExpectationInfo, suite_json

# GX's result carries up to this many unexpected values per expectation (the Data Docs
# sample); the complete lists of failing rows are fetched separately.
SAMPLE_ROWS = 20
DOCS_SITE = "quality"


class QualityEngineError(RuntimeError):
    """GX (or the database) could not evaluate a rule: the data were not judged."""


@dataclass
class ExpectationOutcome:
    table: str
    name: str
    expectation_type: str
    column: str | None
    severity: str
    why: str
    label: str
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    failing_lines: list[int] = field(default_factory=list)
    failing_ids: list[str] = field(default_factory=list)

    @property
    def failing_count(self) -> int:
        """Rows that fail (for a table-level expectation without rows: 1 if it failed)."""
        if self.success:
            return 0
        return len(self.failing_lines) or (self.unexpected_count or 0)

    def describe(self) -> str:
        what = f"{self.failing_count} row(s)" if self.failing_lines else f"observed {self.observed_value!r}"
        return f"{self.table}.{self.name} [{self.severity}]: {what} — {self.label}"


@dataclass
class SuiteOutcome:
    table: str
    outcomes: list[ExpectationOutcome]
    seconds: float = 0.0
    docs_page: str | None = None       # the GX validation page, relative to docs_dir

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.errors and not self.warnings

    def outcome(self, name: str) -> ExpectationOutcome:
        return next(o for o in self.outcomes if o.name == name)

    def summary(self) -> str:
        if self.passed:
            return f"{self.table}: all {len(self.outcomes)} expectations passed"
        failed = self.errors + self.warnings
        return f"{self.table}: " + "; ".join(
            f"{o.name} ({o.severity}) failed on {o.failing_count} row(s)" if o.failing_lines
            else f"{o.name} ({o.severity}) failed, observed {o.observed_value!r}" for o in failed)


# --------------------------------------------------------------------------- validation

def _engine_error(result: Any) -> str | None:
    """GX's exception_info is either one dict or one dict per metric; any raised exception
    means the expectation was not evaluated."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [e.get("exception_message") or "unknown error" for e in entries if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(messages)) if messages else None


def _rows_query(kwargs: dict, table: str) -> str:
    # GX substitutes {batch} with str.format; a table batch becomes the table name.
    return kwargs["unexpected_rows_query"].format(batch=table)


def _failing_rows(con: duckdb.DuckDBPyConnection, table: str, id_col: str, info: ExpectationInfo,
                  result: dict, kept: Any) -> tuple[list[int], list[str]]:
    """Every failing row of a failed expectation, as (_line list, id list). ``kept``: the rows
    of the queries GX ran for this table (``gx_duckdb.keeping_query_rows``)."""
    if info.type == "unexpected_rows_expectation":
        # The rows of GX's own evaluation of the query (it selects _line and the id column);
        # if they cannot be told apart from another query's, the query is run again.
        listed = kept.rows_of(info.kwargs["unexpected_rows_query"])
        if listed is None:
            listed = con.execute(f"select _line, {id_col}::varchar from ({_rows_query(info.kwargs, table)}) as q").fetchall()
        rows = sorted(((r[0], None if r[1] is None else str(r[1])) for r in listed), key=_line_then_id)
        expected = result.get("observed_value")
    elif info.type == "expect_column_proportion_of_non_null_values_to_be_between":
        rows = con.execute(f"select _line, {id_col}::varchar from {table} where {info.column} is null order by _line").fetchall()
        expected = len(rows)
    elif "unexpected_count" in result and result.get("unexpected_index_query"):
        # GX's query selects the index columns (_line, id) first, then the expectation's columns.
        try:
            listed = con.execute(result["unexpected_index_query"]).fetchall()
        except duckdb.Error as exc:
            raise QualityEngineError(f"{table}.{info.name}: GX's query of the failing rows failed: {exc}") from exc
        rows = sorted(((r[0], None if r[1] is None else str(r[1])) for r in listed), key=_line_then_id)
        expected = result["unexpected_count"]
    else:
        return [], []
    if expected is not None and len(rows) != expected:
        raise QualityEngineError(
            f"{table}.{info.name}: GX counted {expected} failing rows but {len(rows)} were listed; results not trusted")
    # A "pseudonym" that is a clear CPR number (caught by pseudonym_format) must not be
    # reported as such: mask CPR-shaped ids (pseudonyms themselves never match).
    ids = [scrub(r[1]) if r[1] is not None and id_col == "pseudonym" else r[1] for r in rows]
    return [r[0] for r in rows], ids


def _line_then_id(row: tuple[int, str | None]) -> tuple:
    return row[0], row[1] is not None, row[1] or ""


def _suite_spec(table: str, suites: dict[str, dict] | None) -> dict:
    spec = suites[table] if suites and table in suites else suite_json(table)
    for exp in spec["expectations"]:  # shown on the Data Docs suite page
        exp.setdefault("notes", f"**{exp['meta']['severity']}** — {exp['meta']['why']}")
    return spec


def _outcomes(con: duckdb.DuckDBPyConnection, table: str, spec: dict, validation_result: Any,
              kept: Any) -> list[ExpectationOutcome]:
    """The outcome of each expectation; raises QualityEngineError if GX could not judge one."""
    errors = [f"{r.expectation_config.meta.get('name', r.expectation_config.type)}: {_engine_error(r)}"
              for r in validation_result.results if _engine_error(r)]
    if errors:
        raise QualityEngineError(f"{table}: GX could not evaluate {len(errors)} expectation(s): " + " | ".join(errors))
    id_col = spec["meta"]["id_column"]
    infos = {e["meta"]["name"]: ExpectationInfo(e["meta"]["name"], e["type"], e["kwargs"], e["meta"]["severity"], e["meta"]["why"])
             for e in spec["expectations"]}
    outcomes = []
    for r in validation_result.results:
        info = infos[r.expectation_config.meta["name"]]
        result = dict(r.result or {})
        outcome = ExpectationOutcome(
            table=table, name=info.name, expectation_type=info.type, column=info.column,
            severity=info.severity, why=info.why, label=info.label, success=bool(r.success),
            element_count=result.get("element_count"),
            unexpected_count=result.get("unexpected_count", result.get("observed_value") if info.type == "unexpected_rows_expectation" else None),
            observed_value=result.get("observed_value"),
        )
        if not r.success:
            outcome.failing_lines, outcome.failing_ids = _failing_rows(con, table, id_col, info, result, kept)
        outcomes.append(outcome)
    return outcomes


def run_suites(con: duckdb.DuckDBPyConnection, tables: Iterable[str] = SUITE_TABLES, *,
               docs_dir: Path | None = None, run_name: str | None = None,
               suites: dict[str, dict] | None = None,
               before_docs: Callable[[dict[str, SuiteOutcome]], None] | None = None) -> dict[str, SuiteOutcome]:
    """Validate ``tables`` (each against its suite, or ``suites[table]`` when given).
    ``before_docs``: called with the outcomes once every table is judged, before the pages
    are written; ``con`` is not used after it (the validation process answers the run then)."""
    from pipelines.quality import gx_duckdb, gx_validation

    tables = list(tables)
    if docs_dir is not None:
        docs_dir = Path(docs_dir).absolute()
        docs_dir.mkdir(parents=True, exist_ok=True)
    context = gx_duckdb.ephemeral_context(str(docs_dir) if docs_dir else None, DOCS_SITE)
    datasource = gx_duckdb.add_datasource(context, con)
    engine = gx_duckdb.execution_engine(datasource)
    run_id = gx_validation.run_identifier(run_name)
    outcomes: dict[str, SuiteOutcome] = {}
    validations = []
    try:
        for table in tables:
            started = time.perf_counter()
            spec = _suite_spec(table, suites)
            fmt = gx_validation.result_format(spec["meta"]["id_column"], SAMPLE_ROWS)
            with engine.keeping_query_rows() as kept:
                try:
                    validation = gx_validation.validate_table(datasource, table, spec, run_id, fmt)
                except Exception as exc:  # GX setup or execution failed: not a verdict on the data
                    raise QualityEngineError(f"{table}: GX could not validate the table: {type(exc).__name__}: {exc}") from exc
                table_outcomes = _outcomes(con, table, spec, validation.result, kept)
            validations.append(validation)
            outcomes[table] = SuiteOutcome(table, table_outcomes, time.perf_counter() - started,
                                           gx_validation.docs_page(validation.identifier) if docs_dir else None)
    finally:
        gx_duckdb.close_datasource(datasource)
    if docs_dir is None:
        return outcomes
    from pipelines.quality.docs import finish_docs

    facts = delivery_facts(con)
    if before_docs is not None:
        before_docs(outcomes)
    gx_validation.write_docs(context, validations, DOCS_SITE)
    for outcome in outcomes.values():
        write_failing_rows_csv(docs_dir, outcome)
    pages = [o.docs_page for o in outcomes.values() if o.docs_page]
    finish_docs(docs_dir, pages + [f"expectations/{t}.html" for t in outcomes], facts)
    return outcomes


def delivery_facts(con: duckdb.DuckDBPyConnection) -> dict:
    """Rows read and quarantined per file (``stg_reconciliation``), for the quality index;
    empty when staging has not written it."""
    try:
        files = con.execute("select file, rows_in, rows_quarantined from stg_reconciliation").fetchall()
    except duckdb.CatalogException:
        return {}
    return {"quarantined": sum(q for _, _, q in files), "files": {f: (i, q) for f, i, q in files}}


def run_suite(con: duckdb.DuckDBPyConnection, table: str, **kwargs: Any) -> SuiteOutcome:
    return run_suites(con, [table], **kwargs)[table]


# --------------------------------------------------------------------------- outputs

def record_outcomes(con: duckdb.DuckDBPyConnection, outcomes: Iterable[SuiteOutcome]) -> None:
    """Replace each table's rows in ``qa_expectation_results`` and ``qa_failing_rows``."""
    import polars as pl  # (a pyarrow table here would make DuckDB import pandas: ≈ 0.3 s)

    run_sql(con, "quality/create_quality_tables.sql")
    for suite in outcomes:
        con.execute("delete from qa_expectation_results where table_name = ?", [suite.table])
        con.execute("delete from qa_failing_rows where table_name = ?", [suite.table])
        con.executemany(
            "insert into qa_expectation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [[o.table, o.name, o.expectation_type, o.column, o.severity, o.label, o.why, o.success,
              o.element_count, o.failing_count, None if o.observed_value is None else json.dumps(o.observed_value, default=str)]
             for o in suite.outcomes])
        failing = [(o.table, o.name, o.severity, line, row_id)
                   for o in suite.outcomes for line, row_id in zip(o.failing_lines, o.failing_ids)]
        if failing:
            frame = pl.DataFrame(failing, orient="row", schema={
                "table_name": pl.String, "expectation": pl.String, "severity": pl.String, "_line": pl.Int64,
                "row_id": pl.String})
            con.register("qa_failing_frame", frame)
            con.execute("insert into qa_failing_rows select table_name, expectation, severity, _line, row_id from qa_failing_frame")
            con.unregister("qa_failing_frame")


def write_failing_rows_csv(docs_dir: Path, outcome: SuiteOutcome) -> Path:
    """``<docs_dir>/failing_rows/<table>.csv``: every failing row (header only when none).
    Ids are as delivered (a course_id may be ``=1+2``), so they are made spreadsheet-safe."""
    path = Path(docs_dir) / "failing_rows" / f"{outcome.table}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["table", "expectation", "severity", "line", "id"])
        for o in outcome.outcomes:
            for line, row_id in zip(o.failing_lines, o.failing_ids):
                writer.writerow([o.table, o.name, o.severity, line, neutralise(row_id)])
    return path
