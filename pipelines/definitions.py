"""The code location (``dagster dev -m pipelines.definitions``): assets, checks, the one job,
resources, schedules, sensor, loggers and the executor, assembled. Nothing here reads the
environment or touches a file: every run is configured when it is launched.

``audit_job`` is every asset, from reading the delivery to publishing the results. The UI's
"Materialize all", the inbox sensor, the two schedules, ``myeloma-audit run`` / ``inbox`` and
``run_audit`` in Python all run it, configured per run through two resources:
``audit_settings`` (which delivery, extract date, parameters) and ``destination`` (an output
folder, or a registry's results folder). With no configuration it audits the bundled
synthetic sample into ``./out``.
"""

import dagster as dg

from pipelines.indicators.assets import INDICATOR_ASSETS, REPORTS_LAYER
from pipelines.ingest.assets import raw_delivery, staging_tables
from pipelines.lib.progress import progress_logger
from pipelines.operations.assets import published, step_memory
from pipelines.operations.resources import Destination, RunAudit, RunDatabase
from pipelines.operations.run_config import AUDIT_JOB, DESTINATION, SETTINGS
from pipelines.operations.schedules import monthly_department_audit, yearly_national_report
from pipelines.operations.sensors import inbox_sensor
from pipelines.reports.quality_flags import rpt_quality_flags
from pipelines.quality.checks import QUALITY_CHECKS
from pipelines.quality.verdict import staged_hand_over
from pipelines.reports.assets import REPORT_ASSETS, suppression_ahead
from pipelines.reports.contract import results_contract
from pipelines.resources import AuditConfig, KeyFromEnvironment

ASSETS = [raw_delivery, staging_tables, *INDICATOR_ASSETS, rpt_quality_flags, results_contract, *REPORT_ASSETS,
          published]

# work handed to the other core when a step ends: the staging tables to validation, the indicator
# summary to the publication's suppression (the national report takes it later)
HOOKS_OF = {staging_tables: {staged_hand_over}, REPORTS_LAYER: {suppression_ahead}}

# configured per run (every field has a default: the bundled sample into ./out)
audit_settings = AuditConfig.configure_at_launch()
destination = Destination.configure_at_launch(audit_settings=audit_settings)
RESOURCES = {
    SETTINGS: audit_settings,
    DESTINATION: destination,
    # what the assets use, made for the run's own folder when the run starts
    "audit": RunAudit(audit_settings=audit_settings, destination=destination),
    "duckdb": RunDatabase(destination=destination),
    "pseudonym_key": KeyFromEnvironment(audit_settings=audit_settings),
}

audit_job = dg.define_asset_job(AUDIT_JOB, selection=dg.AssetSelection.all(),
                                description="The whole audit of one delivery: ingest to published results.")

defs = dg.Definitions(
    # every step records its peak memory for run.json, in whichever job runs it
    assets=[asset.with_hooks({step_memory, *HOOKS_OF.get(asset, ())}) for asset in ASSETS],
    asset_checks=[check.with_hooks({step_memory}) for check in QUALITY_CHECKS],
    jobs=[audit_job],
    schedules=[monthly_department_audit, yearly_national_report],
    sensors=[inbox_sensor],
    resources=RESOURCES,
    loggers={"progress": progress_logger},
    # DuckDB allows one writing process: every step of a run in the run's own process
    executor=dg.in_process_executor,
)
