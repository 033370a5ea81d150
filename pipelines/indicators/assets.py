"""Dagster assets for the reference, intermediate, indicator and report tables.

One asset per table, made from ``build.models()``: key ``[layer, table]``, group = layer,
dependencies = the tables its SQL reads (staging tables as ``["staging", "stg_<file>"]``),
description = the SQL file's leading comment. Each asset opens the ``duckdb`` resource
(``dagster_duckdb.DuckDBResource``), prepares the session from the ``audit`` resource
(``extract_date`` ISO string, ``parameters`` JSON object of overrides) and builds its table.
``INDICATOR_ASSETS`` lists them all for ``definitions.py``.
"""

# No "from __future__ import annotations": Dagster reads the context annotation at runtime.
from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from pipelines.indicators.build import (
    Model,
    build_model,
    models,
    national_proportion,
    prepare_session,
    status_counts,
)

_LAYER_OF_PREFIX = {"stg": "staging", "ref": "reference", "int": "intermediate", "ind": "indicators", "rpt": "reports"}


def asset_key(table: str) -> AssetKey:
    """``int_risk`` → ``AssetKey(["intermediate", "int_risk"])``."""
    return AssetKey([_LAYER_OF_PREFIX[table.split("_", 1)[0]], table])


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


def _asset_for(model: Model) -> AssetsDefinition:
    @asset(
        key=asset_key(model.table),
        group_name=model.layer,
        deps=[asset_key(d) for d in model.deps],
        description=model.description,
        required_resource_keys={"duckdb", "audit"},
        kinds={"duckdb", "sql"},
    )
    def _table(context: AssetExecutionContext) -> MaterializeResult:
        audit = context.resources.audit
        with context.resources.duckdb.get_connection() as con:
            prepare_session(con, audit.extract_day(), audit.parameters)
            rows = build_model(con, model)
            metadata = _metadata(con, model, rows)
        return MaterializeResult(metadata=metadata)

    return _table


INDICATOR_ASSETS: list[AssetsDefinition] = [_asset_for(m) for m in models()]
