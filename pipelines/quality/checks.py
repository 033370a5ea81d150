"""Dagster asset checks: one per staging asset, running its expectation suite with Great
Expectations inside DuckDB (``pipelines/quality/runner.py``). All ten are evaluated in one
step with one GX context (GX's start-up is paid once, not per suite).

- ``blocking=True`` for every suite with an ``error`` expectation: when one fails, the check
  fails with severity ERROR and Dagster does not run the assets downstream of that staging
  table (the indicators). ``warn`` expectations fail the check with severity WARN only.
- An engine error (GX could not evaluate a rule, a query failed) raises: the check *errors*
  (the step fails, downstream assets do not run); it is never reported as failed data.
- Metadata: per failed expectation its severity, why, count and the failing rows (``_line``
  and pseudonym / course_id / department_code; complete up to ``METADATA_ROW_LIMIT`` per
  expectation, and always complete in ``quality/failing_rows/<table>.csv`` and in the DuckDB
  table ``qa_failing_rows``), plus the Data Docs path ``<output_dir>/quality/index.html``.
- Resources: ``duckdb`` (DuckDBResource) and ``audit`` (AuditConfig). The run's validation
  process (``worker.py``) validates when it is there (read-only, its own connection, closed
  before it answers); otherwise GX works here on a cursor of the resource's own connection and
  closes it before the check returns.

Wire into the definitions with ``dg.Definitions(..., asset_checks=QUALITY_CHECKS)``; for
``dg.materialize`` pass them among the assets: ``dg.materialize([*ASSETS, *QUALITY_CHECKS])``.
"""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.asset_keys import STG_KEYS
from pipelines.lib.extract_format import FILES
from pipelines.quality import worker
from pipelines.quality.runner import record_outcomes, run_suites
from pipelines.quality.suites import expectations, has_blocking, id_column
from pipelines.resources import AuditConfig

CHECK_NAME = "expectation_suite"
METADATA_ROW_LIMIT = 10_000
STG_KEY_BY_TABLE = {f.stg_table: STG_KEYS[f.name] for f in FILES}


def quality_dir(audit: AuditConfig) -> Path:
    return Path(audit.output_dir) / "quality"


def _failed_table(outcome) -> str:
    lines = ["| expectation | severity | failing rows | why |", "|---|---|---|---|"]
    for o in outcome.errors + outcome.warnings:
        count = o.failing_count if o.failing_lines else f"observed {o.observed_value}"
        lines.append(f"| {o.name} | {o.severity} | {count} | {o.why} |")
    return "\n".join(lines)


def _failing_rows(outcome, id_column: str) -> dict:
    rows = {}
    for o in outcome.errors + outcome.warnings:
        rows[o.name] = {
            "severity": o.severity,
            "count": o.failing_count,
            "_line": o.failing_lines[:METADATA_ROW_LIMIT],
            id_column: o.failing_ids[:METADATA_ROW_LIMIT],
            "complete": len(o.failing_lines) <= METADATA_ROW_LIMIT,
        }
    return rows


def _check_spec(table: str) -> dg.AssetCheckSpec:
    infos = expectations(table)
    n_error = sum(e.severity == "error" for e in infos)
    return dg.AssetCheckSpec(
        CHECK_NAME, asset=STG_KEY_BY_TABLE[table], blocking=has_blocking(table),
        description=(f"Great Expectations suite expectations/{table}.json, validated inside DuckDB: {len(infos)} "
                     f"expectations, {n_error} blocking (error), {len(infos) - n_error} warn. "
                     f"Failing rows: quality/failing_rows/{table}.csv."),
        # No additional_deps on the other staging tables a suite reads: the staging
        # multi-asset writes them all in one step before the checks run.
    )


def _result(outcome, docs: Path) -> dg.AssetCheckResult:
    table = outcome.table
    metadata: dict[str, object] = {
        "expectations": len(outcome.outcomes),
        "failed_error": len(outcome.errors),
        "failed_warn": len(outcome.warnings),
        "seconds": round(outcome.seconds, 2),
        "data_docs": dg.MetadataValue.path(str((docs / "index.html").absolute())),
        "failing_rows_csv": dg.MetadataValue.path(str((docs / "failing_rows" / f"{table}.csv").absolute())),
    }
    if not outcome.passed:
        metadata["failed_expectations"] = dg.MetadataValue.md(_failed_table(outcome))
        metadata["failing_rows"] = dg.MetadataValue.json(_failing_rows(outcome, id_column(table)))
    return dg.AssetCheckResult(
        asset_key=STG_KEY_BY_TABLE[table], check_name=CHECK_NAME,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN,
        description=outcome.summary(),
        metadata=metadata,
    )


def _in_worker(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, tables: list[str], docs: Path):
    """The outcomes from the run's validation process (``quality/worker.py``), or None when
    there is none or it could not validate (the suites then run in this process)."""
    waiting = worker.take()
    if waiting is None:
        return None
    if duckdb.database == ":memory:":  # another process cannot see it
        waiting.discard()
        return None
    status, answer = waiting.validate(Path(duckdb.database), tables, docs, context.run.run_id)
    if status == "error":
        raise answer
    if status == "unavailable":
        context.log.warning(f"{answer}; validating in this process")
        return None
    return answer


@dg.multi_asset_check(
    name="expectation_suites",
    specs=[_check_spec(f.stg_table) for f in FILES],
    description="Every staging table's Great Expectations suite, validated in one Great Expectations context.",
)
def expectation_suites(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, audit: AuditConfig):
    docs = quality_dir(audit)
    tables = [f.stg_table for f in FILES]
    # Raises QualityEngineError when a rule could not be evaluated: the checks error.
    outcomes = _in_worker(context, duckdb, tables, docs)
    with duckdb.get_connection() as con:
        if outcomes is None:
            outcomes = run_suites(con, tables, docs_dir=docs, run_name=context.run.run_id)
        record_outcomes(con, outcomes.values())
    for outcome in outcomes.values():
        context.log.info(f"{outcome.summary()} ({outcome.seconds:.1f} s)")
        yield _result(outcome, docs)


QUALITY_CHECKS: list[dg.AssetChecksDefinition] = [expectation_suites]
