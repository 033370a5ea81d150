"""Assembles the Dagster definitions: assets, checks, resources and the executor."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.indicators.assets import INDICATOR_ASSETS
from pipelines.ingest.assets import raw_delivery, staging_tables
from pipelines.reports.contract import results_contract
from pipelines.resources import AuditConfig

ASSETS = [raw_delivery, staging_tables, *INDICATOR_ASSETS, results_contract]

_SAMPLE = Path(__file__).resolve().parents[1] / "data_samples" / "sample_delivery"


def build_resources(database: Path, audit: AuditConfig) -> dict:
    return {"duckdb": DuckDBResource(database=str(database)), "audit": audit}


defs = dg.Definitions(
    assets=ASSETS,
    resources=build_resources(
        Path("out/dagster/audit.duckdb"),
        AuditConfig(extract_path=str(_SAMPLE), extract_date="", output_dir="out/dagster"),
    ),
    executor=dg.in_process_executor,
)
