"""The inbox sensor: one run per complete delivery, exactly once across restarts; half-copied
deliveries wait; refused ones are reported and never requested again."""

import json
import shutil
from datetime import date

import dagster as dg
import pytest

from pipelines.lib.errors import DeliveryRefused
from pipelines.operations import process
from pipelines.operations.history import ResultsStore
from pipelines.operations.jobs import AUDIT_DELIVERY_JOB, OP_AUDIT_DELIVERY, audit_delivery_job
from pipelines.operations.sensors import make_inbox_sensor
from tests.operations.ops_helpers import FakeAudit, delivery, zipped


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def tick(sensor, cursor=None):
    """One evaluation in a fresh context, as after a restart of the daemon."""
    result = sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))
    return result.run_requests, result.cursor, (result.skip_message or "")


@pytest.fixture
def folders(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    inbox.mkdir()
    return inbox, results


def test_a_complete_delivery_starts_exactly_one_run_even_after_a_restart(folders):
    inbox, results = folders
    delivery(inbox / "DMDB-2026-11-01")
    clock = Clock()
    requests, cursor, _ = tick(make_inbox_sensor(inbox, results, clock=clock))
    assert len(requests) == 1
    request = requests[0]
    assert request.run_key.startswith("DMDB-2026-11-01@")
    assert request.tags["myeloma-audit/period"] == "2026-11"
    config = request.run_config["ops"][OP_AUDIT_DELIVERY]["config"]
    assert config["delivery"] == str(inbox / "DMDB-2026-11-01") and config["results"] == str(results)
    assert dg.validate_run_config(audit_delivery_job, request.run_config)

    clock.t += 3600
    again = make_inbox_sensor(inbox, results, clock=clock)  # a new sensor object: the daemon restarted
    requests, cursor2, skip = tick(again, cursor)
    assert requests == [] and "no new complete delivery" in skip
    # touching the files (a backup tool, a second copy) does not make it new: same manifest
    for file in (inbox / "DMDB-2026-11-01").iterdir():
        file.touch()
    assert tick(again, cursor2)[0] == []


def test_half_copied_delivery_waits_until_its_manifest_matches(folders):
    inbox, results = folders
    source = delivery(inbox.parent / "source")
    target = inbox / "DMDB-2026-11-01"
    target.mkdir()
    shutil.copy(source / "manifest.json", target)  # manifest first, files still coming
    for name in ["departments.csv", "patients.csv", "diagnoses.csv"]:
        shutil.copy(source / name, target)
    sensor = make_inbox_sensor(inbox, results, clock=Clock())
    requests, cursor, skip = tick(sensor)
    assert requests == [] and "DMDB-2026-11-01: incomplete" in skip and "missing" in skip

    for file in source.iterdir():
        shutil.copy(file, target)
    labs = (target / "labs.csv").read_bytes()
    (target / "labs.csv").write_bytes(labs[: len(labs) // 2])  # truncated in transfer
    requests, cursor, skip = tick(sensor, cursor)
    assert requests == [] and "labs.csv" in skip and "sha256" in skip

    (target / "labs.csv").write_bytes(labs)
    requests, cursor, _ = tick(sensor, cursor)
    assert len(requests) == 1


def test_delivery_without_manifest_waits_until_it_stopped_changing(folders):
    inbox, results = folders
    target = delivery(inbox / "DMDB-2026-11-01", manifest=False)
    clock = Clock()
    sensor = make_inbox_sensor(inbox, results, settle=120, clock=clock)
    requests, cursor, skip = tick(sensor)
    assert requests == [] and "no manifest.json" in skip

    clock.t += 90
    with open(target / "labs.csv", "ab") as growing:  # still being written
        growing.write(b"1203614417;05-09-2024;ldh;180;U/L\n")
    requests, cursor, _ = tick(sensor, cursor)
    assert requests == []
    clock.t += 100  # 100 s since the last change: not yet
    assert tick(sensor, cursor)[0] == []
    clock.t += 30   # 130 s unchanged
    requests, cursor, _ = tick(sensor, cursor)
    assert len(requests) == 1
    assert requests[0].tags["myeloma-audit/period"] == "2026-11"  # from the yyyy-mm-dd in the name
    assert tick(sensor, cursor)[0] == []


def test_zip_is_picked_up_only_when_fully_written_and_partial_names_are_ignored(folders):
    inbox, results = folders
    whole = zipped(delivery(inbox.parent / "DMDB-2026-11-01"), inbox.parent / "whole.zip").read_bytes()
    (inbox / "DMDB-2026-11-01.zip").write_bytes(whole[: len(whole) * 2 // 3])
    (inbox / "DMDB-2026-12-01.zip.part").write_bytes(whole)
    (inbox / ".DMDB-2026-12-01").mkdir()
    sensor = make_inbox_sensor(inbox, results, clock=Clock())
    requests, cursor, skip = tick(sensor)
    assert requests == [] and "DMDB-2026-11-01.zip: incomplete" in skip
    assert "2026-12" not in skip

    (inbox / "DMDB-2026-11-01.zip").write_bytes(whole)
    requests, cursor, _ = tick(sensor, cursor)
    assert [r.run_key.split("@")[0] for r in requests] == ["DMDB-2026-11-01"]


def test_refused_delivery_is_reported_and_never_requested_again(folders, monkeypatch):
    inbox, results = folders
    delivery(inbox / "DMDB-2026-11-01")
    refusing = FakeAudit(fail=DeliveryRefused("labs.csv", "required column unit is missing"))
    monkeypatch.setattr(process, "_default_audit", lambda: refusing)
    sensor = make_inbox_sensor(inbox, results, clock=Clock())
    requests, cursor, _ = tick(sensor)
    assert len(requests) == 1

    run = audit_delivery_job.execute_in_process(run_config=requests[0].run_config, raise_on_error=False)
    assert not run.success
    failure = [e for e in run.all_events if e.is_step_failure][0]
    assert "delivery refused: labs.csv: required column unit is missing" in failure.step_failure_data.error.message
    [record] = ResultsStore(results).records()
    assert record["status"] == "refused" and record["delivery_id"] == "DMDB-2026-11-01"

    for _ in range(3):  # later ticks: reported, not retried
        requests, cursor, skip = tick(sensor, cursor)
        assert requests == []
        assert "DMDB-2026-11-01: refused, not retried" in skip and "column unit is missing" in skip
    assert len(refusing.calls) == 1
    # even with the cursor lost, history keeps it from running again
    requests, _, skip = tick(sensor, None)
    assert requests == [] and "already refused" in skip


def test_incomplete_delivery_unchanged_for_hours_is_handed_over_once_and_refused(folders, monkeypatch):
    inbox, results = folders
    target = delivery(inbox / "DMDB-2026-11-01")
    (target / "responses.csv").unlink()  # the copy died and nobody noticed
    monkeypatch.setattr(process, "_default_audit", lambda: FakeAudit())
    clock = Clock()
    sensor = make_inbox_sensor(inbox, results, give_up=6 * 3600, clock=clock)
    requests, cursor, _ = tick(sensor)
    assert requests == []
    clock.t += 7 * 3600
    requests, cursor, _ = tick(sensor, cursor)
    assert len(requests) == 1
    run = audit_delivery_job.execute_in_process(run_config=requests[0].run_config, raise_on_error=False)
    assert not run.success
    record = ResultsStore(results).records()[-1]
    assert record["status"] == "refused" and "responses.csv" in record["message"]
    clock.t += 3600
    assert tick(sensor, cursor)[0] == []


def test_corrected_redelivery_gets_its_own_run(folders):
    inbox, results = folders
    delivery(inbox / "DMDB-2026-11-01")
    sensor = make_inbox_sensor(inbox, results, clock=Clock())
    first, cursor, _ = tick(sensor)
    delivery(inbox / "DMDB-2026-11-01-rettet", extract_id="DMDB-2026-11-01",
             extra={"labs": ["1203614417;04-09-2024;ldh;200;U/L"]})
    second, cursor, _ = tick(sensor, cursor)
    assert len(first) == len(second) == 1
    assert first[0].run_key != second[0].run_key
    assert second[0].tags["myeloma-audit/period"] == "2026-11"


def test_not_configured_sensor_says_what_to_set(monkeypatch):
    monkeypatch.delenv("MYELOMA_AUDIT_INBOX", raising=False)
    monkeypatch.delenv("MYELOMA_AUDIT_RESULTS", raising=False)
    sensor = make_inbox_sensor()
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    result = sensor.evaluate_tick(dg.build_sensor_context())
    assert result.run_requests == [] and "MYELOMA_AUDIT_INBOX" in result.skip_message


def _check_evaluations(run_id, instance) -> list:
    """The stg_patients asset-check evaluations the run recorded on the instance."""
    events = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = [e.event_log_entry.dagster_event.event_specific_data for e in events]
    return [e for e in found if e.asset_key == dg.AssetKey(["staging", "stg_patients"])]


@pytest.mark.slow
def test_sensor_run_audits_for_real_and_a_refused_delivery_keeps_the_last_good_results(folders, monkeypatch):
    """End to end with the real run_audit: the November delivery is published; the December
    one lacks a column, is refused, publishes nothing, and is not retried."""
    inbox, results = folders
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "sensor-test-key-" + "s" * 32)
    november_delivery = delivery(inbox / "DMDB-2026-11-01")
    clock = Clock()
    sensor = make_inbox_sensor(inbox, results, clock=clock)
    requests, cursor, _ = tick(sensor)
    instance = dg.DagsterInstance.ephemeral()
    run = audit_delivery_job.execute_in_process(run_config=requests[0].run_config, instance=instance,
                                                tags=requests[0].tags)
    assert run.success
    run_ids = [run.run_id]
    store = ResultsStore(results)
    november = store.period_dir("2026-11")
    assert (november / "patient_results.csv").is_file()
    assert json.loads((november / "run.json").read_text())["extract_id"] == "DMDB-2026-11-01"
    assert (results / "latest").resolve() == november.resolve()
    before = {p.name: p.read_bytes() for p in november.iterdir() if p.is_file()}

    december = delivery(inbox / "DMDB-2026-12-01", extract_id="DMDB-2026-12-01", extracted_at=date(2026, 12, 1))
    labs = (december / "labs.csv").read_text(encoding="utf-8").replace("cpr;sample_date;analysis;value;unit",
                                                                      "cpr;sample_date;analysis;value")
    (december / "labs.csv").write_text(labs, encoding="utf-8")
    (december / "manifest.json").unlink()  # a delivery without manifest, dated by its name
    clock.t += 600
    requests, cursor, _ = tick(sensor, cursor)
    assert requests == []  # settling
    clock.t += 600
    requests, cursor, _ = tick(sensor, cursor)
    assert len(requests) == 1
    run = audit_delivery_job.execute_in_process(run_config=requests[0].run_config, instance=instance,
                                                raise_on_error=False)
    assert not run.success
    refused = store.records()[-1]
    assert refused["status"] == "refused" and "labs.csv" in refused["message"] and "unit" in refused["message"]
    assert not store.period_dir("2026-12").exists()
    assert {p.name: p.read_bytes() for p in november.iterdir() if p.is_file()} == before
    assert (results / "latest").resolve() == november.resolve()
    assert store.latest_good()["delivery_id"] == "DMDB-2026-11-01"
    requests, _, skip = tick(sensor, cursor)
    assert requests == [] and "refused, not retried" in skip
    jobs = [r.job_name for r in instance.get_runs()]
    assert jobs.count(AUDIT_DELIVERY_JOB) == 2
    # the audit the sensor's run started is recorded on the same instance, so the asset graph
    # shows its metadata: row counts, check results and national proportions
    # (the refused December audit is there too, failed at ingest, and materialised nothing downstream)
    audits = sorted((r for r in instance.get_runs() if r.job_name == "audit_job"),
                    key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)
    assert [r.status for r in audits] == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    assert audits[0].tags["myeloma-audit/started-by-run"] == run_ids[0]
    summary = instance.get_latest_materialization_event(dg.AssetKey(["reports", "rpt_indicator_summary"]))
    assert summary is not None and summary.run_id == audits[0].run_id
    staged = instance.get_latest_materialization_event(dg.AssetKey(["staging", "stg_patients"])).asset_materialization
    assert staged.metadata["rows"].value == len((november_delivery / "patients.csv").read_text(
        encoding="utf-8").strip().splitlines()) - 1
    mm01 = instance.get_latest_materialization_event(dg.AssetKey(["indicators", "ind_mm01"])).asset_materialization
    assert 0 <= mm01.metadata["national_proportion"].value <= 1
    evaluations = _check_evaluations(audits[0].run_id, instance)
    assert evaluations and all(e.passed for e in evaluations)
