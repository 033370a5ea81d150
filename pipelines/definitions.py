"""Assembles the Dagster definitions: assets, checks, resources, jobs, schedules, sensors
and the executor."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.indicators.assets import INDICATOR_ASSETS
from pipelines.operations import OPERATION_JOBS, SCHEDULES, SENSORS
from pipelines.ingest.assets import raw_delivery, staging_tables
from pipelines.quality.assets import rpt_quality_flags
from pipelines.quality.checks import QUALITY_CHECKS
from pipelines.reports.assets import REPORT_ASSETS
from pipelines.reports.contract import results_contract
from pipelines.resources import AuditConfig

ASSETS = [raw_delivery, staging_tables, *INDICATOR_ASSETS, rpt_quality_flags, results_contract, *REPORT_ASSETS]
audit_job = dg.define_asset_job("audit_job", selection=dg.AssetSelection.all(),
                                description="The whole audit of one delivery, ingest to results.")

_SAMPLE = Path(__file__).resolve().parents[1] / "data_samples" / "sample_delivery"


# DuckDB's buffer memory: its default (80 % of the machine) unless set. A limit makes DuckDB
# spill to disk, but some operators cannot: at 1M patients 2GB failed with "Out of Memory".
DUCKDB_MEMORY_LIMIT = os.environ.get("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "")


def build_definitions(database: Path, audit: AuditConfig, progress: dg.LoggerDefinition | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=QUALITY_CHECKS,
        jobs=[audit_job],
        resources={"duckdb": DuckDBResource(
            database=str(database), connection_config={"memory_limit": DUCKDB_MEMORY_LIMIT} if DUCKDB_MEMORY_LIMIT else {}), "audit": audit},
        loggers={"progress": progress} if progress else None,
        executor=dg.in_process_executor,
    )


defs = dg.Definitions.merge(
    build_definitions(Path("out/dagster/audit.duckdb"), AuditConfig(extract_path=str(_SAMPLE), output_dir="out/dagster")),
    dg.Definitions(jobs=OPERATION_JOBS, schedules=SCHEDULES, sensors=SENSORS),
)
