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


def duckdb_memory_limit() -> str:
    """DuckDB's buffer memory: ``MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT`` (e.g. ``6GB``), else half of
    the machine's memory, leaving the rest to Python and polars (which hold the delivery while it
    is read). Beyond the limit DuckDB spills to its temp directory; a limit below what one
    operator needs fails the run (2GB did at 1M patients)."""
    given = os.environ.get("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "").strip()
    if given:
        return given
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return ""
    return f"{max(total // 2 // 1024**2, 1024)}MB"


def build_definitions(database: Path, audit: AuditConfig, progress: dg.LoggerDefinition | None = None,
                      temp_directory: Path | None = None) -> dg.Definitions:
    """``temp_directory``: where DuckDB spills beyond its memory limit (the run's own folder;
    by default DuckDB's ``<database>.tmp``)."""
    config = {}
    if limit := duckdb_memory_limit():
        config["memory_limit"] = limit
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=QUALITY_CHECKS,
        jobs=[audit_job],
        resources={"duckdb": DuckDBResource(database=str(database), connection_config=config), "audit": audit},
        loggers={"progress": progress} if progress else None,
        executor=dg.in_process_executor,
    )


defs = dg.Definitions.merge(
    build_definitions(Path("out/dagster/audit.duckdb"), AuditConfig(extract_path=str(_SAMPLE), output_dir="out/dagster")),
    dg.Definitions(jobs=OPERATION_JOBS, schedules=SCHEDULES, sensors=SENSORS),
)
