"""The Dagster asset checks: one per staging asset, all reported from one validation per run
(``quality/verdict.py``), late in the run. The first step that needs the verdict stops the run
when an error expectation failed (what is downstream of it is not built; every table still gets
its verdict); steps that do not need it (the derived facts) go on beside the validation; an
engine error errors every step that asks (it is not a failed-data verdict); failing rows and
Data Docs are reported."""

from __future__ import annotations

import contextlib

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.ingest.assets import STG_KEYS, raw_delivery, staging_tables
from pipelines.lib.errors import QualityBlocked
from pipelines.lib.sql_loader import run_sql
from pipelines.quality import verdict, worker
from pipelines.quality.checks import CHECK_NAME, QUALITY_CHECKS
from pipelines.quality.runner import QualityEngineError
from pipelines.quality.suites import SUITE_TABLES
from pipelines.quality.verdict import staged_hand_over
from pipelines.resources import AuditConfig, PseudonymKey
from tests.delivery_builder import EXTRACT_DATE, KEY, write_delivery
from tests.quality.quality_violations import NO_PATIENT, PLANTED_LINE, plant_orphan_diagnosis

@dg.asset(deps=[STG_KEYS["diagnoses"]])
def uses_diagnoses() -> int:
    return 1


@dg.asset(deps=[STG_KEYS["labs"]])
def uses_labs() -> int:
    return 1


@dg.asset(deps=[STG_KEYS["diagnoses"], STG_KEYS["labs"]])
def needs_verdict(context, duckdb: DuckDBResource, audit: AuditConfig) -> int:
    """As the quality flags step does."""
    verdict.refuse_if_blocked(verdict.judged(context, duckdb, audit))
    return 1


@dg.asset(deps=[needs_verdict])
def after_verdict() -> int:
    return 1


def _run(tmp_path, monkeypatch, extra=None, validation_process=False):
    folder = write_delivery(tmp_path / "delivery", extra=extra)
    audit = AuditConfig(extract_path=str(folder), extract_date=EXTRACT_DATE.isoformat(), output_dir=str(tmp_path / "out"))
    with worker.started() if validation_process else contextlib.nullcontext():
        result = dg.materialize(
            # as the definitions wire it: staging hands its tables to the validation process
            [raw_delivery, staging_tables.with_hooks({staged_hand_over}), uses_diagnoses, uses_labs, needs_verdict,
             after_verdict, *QUALITY_CHECKS],
            resources={"duckdb": DuckDBResource(database=str(tmp_path / "audit.duckdb")), "audit": audit,
                       "pseudonym_key": PseudonymKey(KEY)},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
        assert worker.take() is None              # staging handed its tables to the run's worker
        worker.pages_written()                    # as the destination does before it publishes
    return result


def _materialized(result) -> set[str]:
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def test_one_check_per_staging_asset_reported_late_in_the_run():
    specs = [spec for c in QUALITY_CHECKS for spec in c.check_specs]
    assert {s.asset_key for s in specs} == set(STG_KEYS.values())
    # not Dagster-blocking: the derived facts are computed while the suites are judged; the
    # verdict stops the run where it is needed (quality flags) and is checked before publishing
    assert all(s.name == CHECK_NAME and not s.blocking for s in specs)
    assert all("Great Expectations suite expectations/" in (s.description or "") for s in specs)
    assert [c.node_def.tags.get("dagster/priority") for c in QUALITY_CHECKS] == ["-1"]


def _step_failures(result) -> dict[str, str]:
    return {e.step_key: str(e.event_specific_data.error) for e in result.all_events
            if e.event_type_value == "STEP_FAILURE"}


@pytest.mark.parametrize("validation_process", [False, True], ids=["in-process", "validation-process"])
def test_a_failed_error_expectation_stops_the_run_where_the_verdict_is_needed(tmp_path, monkeypatch,
                                                                              validation_process):
    # Staging's guarantee broken (a diagnosis without its patient in stg_diagnoses): the suite blocks.
    if validation_process:  # the verdicts must come from the worker, not from a fallback here
        monkeypatch.setattr(verdict, "run_suites", lambda *a, **k: pytest.fail("validated in the test process"))
    plant_orphan_diagnosis(monkeypatch)
    result = _run(tmp_path, monkeypatch, validation_process=validation_process)
    evaluations = {e.asset_key: e for e in result.get_asset_check_evaluations()}
    diagnoses = evaluations[STG_KEYS["diagnoses"]]
    assert not diagnoses.passed and diagnoses.severity == dg.AssetCheckSeverity.ERROR
    assert "patient_exists (error) failed on 1 row(s)" in diagnoses.description
    rows = diagnoses.metadata["failing_rows"].value["patient_exists"]
    assert rows["_line"] == [PLANTED_LINE] and rows["count"] == 1 and rows["complete"]
    assert rows["pseudonym"] == [NO_PATIENT]
    assert "patient_exists" in diagnoses.metadata["failed_expectations"].value
    labs = evaluations[STG_KEYS["labs"]]
    assert labs.passed
    assert not result.success
    failures = _step_failures(result)
    assert list(failures) == ["needs_verdict"] and "QualityBlocked" in failures["needs_verdict"]
    assert "stg_diagnoses" in failures["needs_verdict"]
    materialized = _materialized(result)
    assert "after_verdict" not in materialized                          # stopped
    assert {"uses_diagnoses", "uses_labs"} <= materialized                # computed beside the validation
    docs = tmp_path / "out" / "quality"
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "stg_diagnoses" in index and "patient_exists" in index
    assert NO_PATIENT in (docs / "failing_rows" / "stg_diagnoses.csv").read_text(encoding="utf-8")
    assert str(docs / "index.html") in diagnoses.metadata["data_docs"].value
    assert not list(tmp_path.glob("validation-*"))                      # the worker's copy of the database is gone
    with duckdb.connect(str(tmp_path / "audit.duckdb"), read_only=True) as con:   # recorded once, for the flags
        assert con.execute("select count(*) from qa_expectation_results where not success and severity = 'error'"
                           ).fetchone() == (1,)
        with pytest.raises(QualityBlocked, match="stg_diagnoses"):
            verdict.refuse_if_recorded_blocked(con)


def test_a_delivery_without_errors_goes_on_past_the_verdict(tmp_path, monkeypatch):
    result = _run(tmp_path, monkeypatch, validation_process=True)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(SUITE_TABLES)
    assert all(e.passed or e.severity == dg.AssetCheckSeverity.WARN for e in evaluations)  # warnings do not stop it
    assert {"needs_verdict", "after_verdict"} <= _materialized(result)
    with duckdb.connect(str(tmp_path / "audit.duckdb"), read_only=True) as con:
        verdict.refuse_if_recorded_blocked(con)                          # publishing may go on

def test_publishing_needs_a_verdict_on_every_suite(tmp_path):
    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:
        with pytest.raises(QualityEngineError, match="no verdict recorded for stg_anthropometrics"):
            verdict.refuse_if_recorded_blocked(con)                      # the suites never ran
        run_sql(con, "quality/create_quality_tables.sql")
        con.execute("insert into qa_expectation_results (table_name, expectation, severity, success) "
                    "select unnest(?), 'x', 'error', true", [[t for t in SUITE_TABLES if t != "stg_labs"]])
        with pytest.raises(QualityEngineError, match="no verdict recorded for stg_labs: "):
            verdict.refuse_if_recorded_blocked(con)


def test_engine_error_errors_every_step_that_asks_and_nothing_after_it(tmp_path, monkeypatch):
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
    failures = _step_failures(result)
    assert set(failures) == {"needs_verdict", "expectation_suites"}
    assert all("QualityEngineError" in error for error in failures.values())
    assert not result.get_asset_check_evaluations()   # no verdict on any table: nothing was judged
    assert "after_verdict" not in _materialized(result)


def test_a_database_that_cannot_be_copied_is_judged_in_this_process(tmp_path, monkeypatch):
    """A full disk when staging hands its tables over: the worker is let go and the suites run
    in the first step that needs the verdict."""
    real_submit, let_go = worker._Worker.submit, []

    def disk_full(self, *args, snapshot=None):
        if snapshot is None:
            return real_submit(self, *args)
        let_go.append(self)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(worker._Worker, "submit", disk_full)
    result = _run(tmp_path, monkeypatch, validation_process=True)
    assert result.success
    assert len(result.get_asset_check_evaluations()) == len(SUITE_TABLES)
    assert {"needs_verdict", "after_verdict"} <= _materialized(result)
    [worker_let_go] = let_go
    assert worker_let_go.process.poll() is not None      # stopped at once, not left waiting
