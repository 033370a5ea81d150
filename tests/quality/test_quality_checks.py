"""The Dagster asset checks: one per staging asset, all evaluated in one step; a failing
blocking check stops what is downstream of the staging layer (every table still gets its
verdict); an engine error errors the checks (it is not a failed-data verdict) and also stops
downstream; failing rows and Data Docs are reported."""

from __future__ import annotations

import contextlib

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.ingest.assets import STG_KEYS, raw_delivery, staging_tables
from pipelines.quality import checks, worker
from pipelines.quality.checks import CHECK_NAME, QUALITY_CHECKS
from pipelines.resources import AuditConfig, PseudonymKey
from tests.delivery_builder import EXTRACT_DATE, KEY, write_delivery

P1_CPR = "1203614417"


@dg.asset(deps=[STG_KEYS["diagnoses"]])
def uses_diagnoses() -> int:
    return 1


@dg.asset(deps=[STG_KEYS["labs"]])
def uses_labs() -> int:
    return 1


def _run(tmp_path, monkeypatch, extra=None, validation_process=False):
    folder = write_delivery(tmp_path / "delivery", extra=extra)
    audit = AuditConfig(extract_path=str(folder), extract_date=EXTRACT_DATE.isoformat(), output_dir=str(tmp_path / "out"))
    with worker.started() if validation_process else contextlib.nullcontext():
        result = dg.materialize(
            [raw_delivery, staging_tables, uses_diagnoses, uses_labs, *QUALITY_CHECKS],
            resources={"duckdb": DuckDBResource(database=str(tmp_path / "audit.duckdb")), "audit": audit,
                       "pseudonym_key": PseudonymKey(KEY)},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
        assert worker.take() is None              # the check step asked the run's worker
        worker.pages_written()                    # as the destination does before it publishes
    return result


def _materialized(result) -> set[str]:
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def test_one_check_per_staging_asset_blocking_where_errors_exist():
    specs = [spec for c in QUALITY_CHECKS for spec in c.check_specs]
    assert {s.asset_key for s in specs} == set(STG_KEYS.values())
    assert all(s.name == CHECK_NAME and s.blocking for s in specs)        # every suite has error expectations
    assert all("Great Expectations suite expectations/" in (s.description or "") for s in specs)


@pytest.mark.parametrize("validation_process", [False, True], ids=["in-process", "validation-process"])
def test_blocking_failure_stops_downstream_and_lists_failing_rows(tmp_path, monkeypatch, validation_process):
    # A diagnosis whose department is not in departments.csv: staging keeps it, the suite blocks.
    if validation_process:  # the verdicts must come from the worker, not from a fallback here
        monkeypatch.setattr(checks, "run_suites", lambda *a, **k: pytest.fail("validated in the test process"))
    result = _run(tmp_path, monkeypatch, extra={
        "diagnoses": [f"{P1_CPR};01-03-2025;DC901;9999999;1;ingen;1;nej;J;;J;"]}, validation_process=validation_process)
    evaluations = {e.asset_key: e for e in result.get_asset_check_evaluations()}
    diagnoses = evaluations[STG_KEYS["diagnoses"]]
    assert not diagnoses.passed and diagnoses.severity == dg.AssetCheckSeverity.ERROR
    assert "department_exists (error) failed on 1 row(s)" in diagnoses.description
    rows = diagnoses.metadata["failing_rows"].value["department_exists"]
    assert rows["_line"] == [4] and rows["count"] == 1 and rows["complete"]
    assert rows["pseudonym"][0].startswith("P") and len(rows["pseudonym"][0]) == 17
    assert "department_exists" in diagnoses.metadata["failed_expectations"].value
    labs = evaluations[STG_KEYS["labs"]]
    assert labs.passed
    assert not result.success
    assert not {"uses_diagnoses", "uses_labs"} & _materialized(result)     # blocked
    docs = tmp_path / "out" / "quality"
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "stg_diagnoses" in index and "department_exists" in index
    assert "department_exists" in (docs / "failing_rows" / "stg_diagnoses.csv").read_text(encoding="utf-8")
    assert str(docs / "index.html") in diagnoses.metadata["data_docs"].value


def test_engine_error_errors_the_check_and_blocks_downstream(tmp_path, monkeypatch):
    import pipelines.quality.runner as runner

    real = runner.suite_json

    def broken_suite(table):
        suite = real(table)
        if table == "stg_labs":   # GX cannot evaluate a regex on DuckDB: an engine error
            suite["expectations"].append({"type": "expect_column_values_to_match_regex",
                                          "kwargs": {"column": "unit", "regex": "^m"},
                                          "meta": {"name": "regex", "severity": "warn", "why": "test"}})
        return suite

    monkeypatch.setattr(runner, "suite_json", broken_suite)
    result = _run(tmp_path, monkeypatch)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1 and "QualityEngineError" in str(failures[0].event_specific_data.error)
    assert not result.get_asset_check_evaluations()   # no verdict on any table: nothing was judged
    assert not {"uses_diagnoses", "uses_labs"} & _materialized(result)
