"""Dagster assets for the reference, intermediate, indicator and report tables.

One asset per table, made from ``build.models()``: key ``[layer, table]``, group = layer,
dependencies = the tables its SQL reads (staging tables as ``["staging", "stg_<file>"]``),
description = the SQL file's leading comment. Each layer is one multi-asset (one step): it
opens the ``duckdb`` resource (``dagster_duckdb.DuckDBResource``), prepares the session from
the ``audit`` resource (``extract_date`` ISO string, ``parameters`` JSON object of overrides)
and builds the layer's tables in dependency order, two at a time on a machine with more than
one core (``lib.side_by_side``: each table after the tables it reads).
``INDICATOR_ASSETS`` lists them all for ``definitions.py``.
"""

# No "from __future__ import annotations": Dagster reads the context annotation at runtime.
import time

from dagster import AssetExecutionContext, AssetsDefinition, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from pipelines.asset_keys import table_key as asset_key
from pipelines.indicators.build import (
    LAYERS,
    Model,
    build_model,
    models,
    national_proportion,
    prepare_session,
    status_counts,
)
from pipelines.ingest.assets import extract_day
from pipelines.lib import side_by_side


def _metadata(con, model: Model, rows: int) -> dict[str, object]:
    metadata: dict[str, object] = {"rows": MetadataValue.int(rows), "sql": MetadataValue.path(f"sql/{model.relpath}")}
    if model.layer == "indicators":
        counts = status_counts(con, model.table)
        metadata["status_counts"] = MetadataValue.json(counts)
        metadata["status_table"] = MetadataValue.md(
            "| status | patients |\n|---|---|\n" + "\n".join(f"| {s} | {n} |" for s, n in counts.items())
        )
        proportion = national_proportion(counts)
        if proportion is not None:
            metadata["national_proportion"] = MetadataValue.float(proportion)
    return metadata


def _built(con, model: Model) -> dict[str, object]:
    started = time.perf_counter()
    rows = build_model(con, model)
    # the seconds of the table's own build (with two at a time, another table is built beside it)
    return _metadata(con, model, rows) | {"seconds": round(time.perf_counter() - started, 3)}


def _layer_asset(layer: str, layer_models: list[Model]) -> AssetsDefinition:
    """One step builds a whole layer (one session per connection), each table after the tables
    it reads; each table stays its own asset with its own metadata. One step per table cost
    more in Dagster's per-step overhead than most tables take to build."""

    @multi_asset(
        name=f"{layer}_layer",
        specs=[AssetSpec(asset_key(m.table), group_name=layer, deps=[asset_key(d) for d in m.deps],
                         description=m.description, kinds={"duckdb", "sql"}) for m in layer_models],
        required_resource_keys={"duckdb", "audit"},
        can_subset=True,  # "materialize selected" in the UI builds only the chosen tables
    )
    def _layer(context: AssetExecutionContext):
        audit = context.resources.audit
        selected = context.selected_asset_keys

        def prepare(con) -> None:
            prepare_session(con, extract_day(audit), audit.parameters)

        with context.resources.duckdb.get_connection() as con:
            prepare(con)
            chosen = [m for m in layer_models if asset_key(m.table) in selected]
            for model, metadata in side_by_side.build(con, chosen, _built, prepare):
                yield MaterializeResult(asset_key=asset_key(model.table), metadata=metadata)

    return _layer


INDICATOR_ASSETS: list[AssetsDefinition] = [
    _layer_asset(layer, [m for m in models() if m.layer == layer]) for layer in LAYERS]
REPORTS_LAYER = INDICATOR_ASSETS[LAYERS.index("reports")]
