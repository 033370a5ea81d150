"""Deliveries with chosen ids, dates and versions, and a fast stand-in for the audit: a job
of the real resources and the real ``publish/published`` asset, whose upstream is one small
asset that writes a tiny patient_results.csv and run.json instead of auditing (and records
every expectation suite as passed, as the audit's validation would). Everything a run does
around the audit (the destination's checks, turns and locks, publishing, the record
in history.json) is the product's own."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.definitions import RESOURCES
from pipelines.ingest.delivery import peek_manifest
from pipelines.lib.progress import progress_logger
from pipelines.lib.sql_loader import run_sql
from pipelines.operations.assets import LAST_RESULTS, published, step_memory
from pipelines.operations.run_config import AUDIT_JOB
from pipelines.quality.suites import SUITE_TABLES
from pipelines.resources import AuditConfig
from tests.delivery_builder import write_delivery


def delivery(folder: Path, extract_id: str | None = "DMDB-2026-11-01", extracted_at: date = date(2026, 11, 1),
             version: int | None = None, extra: dict | None = None, manifest: bool = True) -> Path:
    """A small valid delivery (the spec's two patients + ``extra`` lines) with its manifest."""
    write_delivery(folder, extra, manifest=manifest, extract_date=extracted_at)
    if manifest:
        content = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        content["extract_id"] = extract_id
        if version is not None:
            content["version"] = version
        (folder / "manifest.json").write_text(json.dumps(content), encoding="utf-8")
    return folder


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"{folder.name}/{file.name}")
    return target


class FakeAudit:
    """``job``: ``audit_job`` with the audit replaced. Records every run's settings as the
    assets saw them (``calls``); raises ``fail`` (an exception, or a list of them consumed one
    per run) instead of writing results."""

    def __init__(self, fail=None):
        self.calls: list[dict] = []
        self.fail = fail

        @dg.multi_asset(specs=[dg.AssetSpec(key) for key in LAST_RESULTS], name="fake_audit")
        def fake_audit(audit: AuditConfig, duckdb: DuckDBResource):
            self.calls.append({"extract": Path(audit.extract_path), "out_dir": Path(audit.output_dir),
                               "extract_date": audit.extract_date, "previous_results":
                                   Path(audit.previous_results) if audit.previous_results else None})
            failure = self.fail.pop(0) if isinstance(self.fail, list) and self.fail else (
                None if isinstance(self.fail, list) else self.fail)
            if failure is not None:
                raise failure
            extract_id = (peek_manifest(Path(audit.extract_path)) or {}).get("extract_id") or Path(audit.extract_path).name
            with duckdb.get_connection() as con:  # the verdict publishing checks
                run_sql(con, "quality/create_quality_tables.sql")
                con.execute("insert into qa_expectation_results (table_name, expectation, severity, success) "
                            "select unnest(?), 'stand-in', 'error', true", [list(SUITE_TABLES)])
            out = Path(audit.output_dir)
            (out / "patient_results.csv").write_text(f"extract_id\n{extract_id}\n", encoding="utf-8")
            (out / "run.json").write_text(json.dumps({"extract_id": extract_id, "extract_date": audit.extract_date,
                                                      "rows": {"in": 1}}), encoding="utf-8")
            for key in LAST_RESULTS:
                yield dg.MaterializeResult(asset_key=key)

        defs = dg.Definitions(assets=[a.with_hooks({step_memory}) for a in (fake_audit, published)],
                              jobs=[dg.define_asset_job(AUDIT_JOB, selection=dg.AssetSelection.all())],
                              resources=RESOURCES, loggers={"progress": progress_logger}, executor=dg.in_process_executor)
        self.job = defs.resolve_job_def(AUDIT_JOB)

    def run(self, request: dg.RunRequest, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
        """A schedule's or the sensor's request, run as the daemon would (failures in the result)."""
        return self.job.execute_in_process(run_config=request.run_config, tags=request.tags, instance=instance,
                                           raise_on_error=False)


def published_id(folder: Path) -> str:
    return json.loads((folder / "run.json").read_text(encoding="utf-8"))["extract_id"]


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """What the failed run says: its failed step's error, or its failure to start (the
    destination refusing when the run started)."""
    for event in result.all_events:
        if event.is_step_failure:
            return event.step_failure_data.error.to_string()
        if event.event_type == dg.DagsterEventType.RUN_FAILURE or event.is_resource_init_failure:
            data = event.event_specific_data
            error = getattr(data, "error", None)
            if error is not None:
                return error.to_string()
    return ""
