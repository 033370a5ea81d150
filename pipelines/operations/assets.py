"""The last step of every run: the run's folder published as the results; and the hook that
records each step's peak memory for ``run.json``."""

import dagster as dg
from dagster._core.storage.tags import PRIORITY_TAG  # "dagster/priority", not re-exported
from dagster_duckdb import DuckDBResource

from pipelines.asset_keys import (DASHBOARDS_KEY, DEPARTMENT_LISTS_KEY, NATIONAL_REPORT_KEY, PUBLISH_GROUP,
                                  PUBLISHED_KEY, RESULTS_CONTRACT_KEY)
from pipelines.operations.resources import Destination
from pipelines.quality.verdict import refuse_if_recorded_blocked
from pipelines.resources import PseudonymKey

# every other asset is upstream of these (tests/test_definitions.py checks it), so publishing comes last
LAST_RESULTS = [RESULTS_CONTRACT_KEY, NATIONAL_REPORT_KEY, DEPARTMENT_LISTS_KEY, DASHBOARDS_KEY]


@dg.asset(key=PUBLISHED_KEY, group_name=PUBLISH_GROUP, deps=LAST_RESULTS,
          op_tags={PRIORITY_TAG: "-2"})  # last of all, after the asset checks (priority -1)
def published(context: dg.AssetExecutionContext, destination: Destination, duckdb: DuckDBResource,
              pseudonym_key: dg.ResourceParam[PseudonymKey]) -> dg.MaterializeResult:
    """The run's results published: run.json finished (step and table timings), and the run's
    own folder swapped into place as the output folder in one step, with the list of its files
    (.myeloma-audit-files.json); for a results folder also recorded in history.json. Only a
    run of the whole graph publishes: a selection of assets leaves the published results as
    they are."""
    if not _whole_graph(context):
        raise dg.Failure("only a run of every asset publishes (Materialize all); this run's selection leaves the "
                         "published results as they are", allow_retries=False)
    with duckdb.get_connection() as con:  # the quality flags stopped a blocked run already; checked again here
        refuse_if_recorded_blocked(con)
    record = destination.publish(context, used_demo_key=pseudonym_key.demo)
    return dg.MaterializeResult(metadata={
        "out_dir": dg.MetadataValue.path(str(destination.out)),
        "extract_id": record["extract_id"], "extract_date": record["extract_date"], "rows_in": record["rows"]["in"],
        "seconds": record["seconds"]})


def _whole_graph(context: dg.AssetExecutionContext) -> bool:
    """Whether this run builds everything the results are made of (not a selection of it)."""
    # the job's own assets: a job made of a selection runs with an empty run selection, as the whole job does
    layer = context.job_def.asset_layer
    return layer.asset_graph.get_ancestor_asset_keys(PUBLISHED_KEY) <= layer.selected_asset_keys


@dg.success_hook(name="step_memory", required_resource_keys={"destination"})
def step_memory(context: dg.HookContext) -> None:
    """The process's peak memory after each step, for run.json."""
    context.resources.destination.step_finished(context.step_key)
