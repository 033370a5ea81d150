"""Dagster asset checks: one per staging asset, reporting its expectation suite as judged by
Great Expectations inside DuckDB (``pipelines/quality/runner.py``). All ten come from one
validation per run (``verdict.py``: one GX context; in the run's validation process while the
derived facts are computed, or else here).

- What an ``error`` expectation guards is publishing: when one fails, the quality flags step
  raises ``QualityBlocked`` (``verdict.refuse_if_blocked``), so no report after it is built and
  nothing is published, and the check fails with severity ERROR. The checks are not Dagster
  ``blocking`` (that would hold the derived facts until the suites are judged, with the other
  core idle); they run late in the run (priority -1) and report the verdict. ``warn``
  expectations fail the check with severity WARN only.
- An engine error (GX could not evaluate a rule, a query failed) raises: the step errors and
  nothing is published; it is never reported as failed data.
- Metadata: per failed expectation its severity, why, count and the failing rows (``_line``
  and pseudonym / course_id / department_code; complete up to ``METADATA_ROW_LIMIT`` per
  expectation, and always complete in ``quality/failing_rows/<table>.csv`` and in the DuckDB
  table ``qa_failing_rows``), plus the Data Docs path ``<output_dir>/quality/index.html``.
- Resources: ``duckdb`` (DuckDBResource) and ``audit`` (AuditConfig).

Wire into the definitions with ``dg.Definitions(..., asset_checks=QUALITY_CHECKS)``; for
``dg.materialize`` pass them among the assets: ``dg.materialize([*ASSETS, *QUALITY_CHECKS])``.
"""


from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import PRIORITY_TAG  # "dagster/priority", not re-exported
from dagster_duckdb import DuckDBResource

from pipelines.asset_keys import STG_KEYS
from pipelines.lib.extract_format import FILES
from pipelines.quality import verdict
from pipelines.quality.suites import expectations, id_column
from pipelines.quality.verdict import quality_dir
from pipelines.resources import AuditConfig

CHECK_NAME = "expectation_suite"
METADATA_ROW_LIMIT = 10_000
STG_KEY_BY_TABLE = {f.stg_table: STG_KEYS[f.name] for f in FILES}


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
        CHECK_NAME, asset=STG_KEY_BY_TABLE[table],
        description=(f"Great Expectations suite expectations/{table}.json, validated inside DuckDB: {len(infos)} "
                     f"expectations, {n_error} stop publishing when they fail (error), {len(infos) - n_error} warn. "
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


@dg.multi_asset_check(
    name="expectation_suites",
    specs=[_check_spec(f.stg_table) for f in FILES],
    description="Every staging table's Great Expectations suite, validated in one Great Expectations context.",
    op_tags={PRIORITY_TAG: "-1"},  # after the steps that overlap with the validation; published comes last
)
def expectation_suites(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, audit: AuditConfig):
    docs = quality_dir(audit)
    for outcome in verdict.judged(context, duckdb, audit).values():
        context.log.info(f"{outcome.summary()} ({outcome.seconds:.1f} s)")
        yield _result(outcome, docs)


QUALITY_CHECKS: list[dg.AssetChecksDefinition] = [expectation_suites]
