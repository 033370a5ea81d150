"""The data-quality flags beside every indicator figure (``rpt_quality_flags``): completeness per
unit and failed blocking expectations of the inputs each indicator reads (from the model graph).

The first step that needs the expectation suites' verdict (``quality/verdict.py``): it waits
for it here, and a failed ``error`` expectation stops the run at this step, before anything is
written for publication."""

import dagster as dg
from dagster._core.storage.tags import PRIORITY_TAG  # "dagster/priority", not re-exported
from dagster_duckdb import DuckDBResource

from pipelines.asset_keys import QUALITY_FLAGS_KEY, SUMMARY_KEY
from pipelines.indicators.build import indicator_inputs
from pipelines.quality import verdict
from pipelines.quality.completeness import quality_flags
from pipelines.resources import AuditConfig


# late among the steps that are ready (the lists and dashboards do not need the verdict): the
# suites have the most time on the other core
@dg.asset(key=QUALITY_FLAGS_KEY, group_name="reports", deps=[SUMMARY_KEY], op_tags={PRIORITY_TAG: "-1"})
def rpt_quality_flags(context: dg.AssetExecutionContext, duckdb: DuckDBResource, audit: AuditConfig) -> dg.MaterializeResult:
    """Per indicator × unit: inputs that failed a blocking expectation, and variables the
    indicator needs that are present in fewer than `completeness_threshold` of patients."""
    verdict.refuse_if_blocked(verdict.judged(context, duckdb, audit))
    with duckdb.get_connection() as con:
        table = quality_flags(con, indicator_inputs(), threshold=audit.parameter_values()["completeness_threshold"])
        flagged, total = con.execute(f"select count(*) filter (where quality_flag), count(*) from {table}").fetchone()
    return dg.MaterializeResult(metadata={"rows": total, "flagged": flagged})
