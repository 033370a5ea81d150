"""The inbox sensor: one run per complete delivery, exactly once across restarts; half-copied
deliveries wait; refused ones are reported and never requested again."""

import json
import shutil
from datetime import date

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.lib.errors import DeliveryRefused
from pipelines.operations.history import ResultsStore
from pipelines.operations.sensors import make_inbox_sensor
from tests.operations.ops_helpers import FakeAudit, delivery, failure_message, zipped

audit_job = defs.resolve_job_def("audit_job")


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
    assert request.run_key.startswith("DMDB-2026-11-01@") and request.job_name in (None, "audit_job")
    assert request.tags["myeloma-audit/period"] == "2026-11"
    resources = request.run_config["resources"]
    assert resources["audit_settings"]["config"] == {"extract_path": str(inbox / "DMDB-2026-11-01"),
                                                     "extract_date": "2026-11-01"}
    assert resources["destination"]["config"] == {"results": str(results), "delivery_key": request.run_key,
                                                  "trigger": "inbox_sensor", "wait_for_lock_seconds": 900}
    assert dg.validate_run_config(audit_job, request.run_config)

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


def test_refused_delivery_is_reported_and_never_requested_again(folders):
    inbox, results = folders
    delivery(inbox / "DMDB-2026-11-01")
    refusing = FakeAudit(fail=DeliveryRefused("labs.csv", "required column unit is missing"))
    sensor = make_inbox_sensor(inbox, results, clock=Clock())
    requests, cursor, _ = tick(sensor)
    assert len(requests) == 1

    run = refusing.run(requests[0])
    assert not run.success
    assert "delivery refused: labs.csv: required column unit is missing" in failure_message(run)
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


def test_incomplete_delivery_unchanged_for_hours_is_handed_over_once_and_refused(folders):
    inbox, results = folders
    target = delivery(inbox / "DMDB-2026-11-01")
    (target / "responses.csv").unlink()  # the copy died and nobody noticed
    fake = FakeAudit()
    clock = Clock()
    sensor = make_inbox_sensor(inbox, results, give_up=6 * 3600, clock=clock)
    requests, cursor, _ = tick(sensor)
    assert requests == []
    clock.t += 7 * 3600
    requests, cursor, _ = tick(sensor, cursor)
    assert len(requests) == 1
    run = fake.run(requests[0])
    assert not run.success and fake.calls == []  # refused when the run started: nothing audited
    assert "responses.csv" in failure_message(run)
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
    """The folders are read when the sensor is evaluated, never when the code is loaded: it runs
    by default and says what to set while they are missing."""
    monkeypatch.delenv("MYELOMA_AUDIT_INBOX", raising=False)
    monkeypatch.delenv("MYELOMA_AUDIT_RESULTS", raising=False)
    sensor = make_inbox_sensor()
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    result = sensor.evaluate_tick(dg.build_sensor_context())
    assert result.run_requests == [] and "MYELOMA_AUDIT_INBOX" in result.skip_message


def _check_evaluations(run_id, instance) -> list:
    """The stg_patients asset-check evaluations the run recorded on the instance."""
    events = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = [e.event_log_entry.dagster_event.event_specific_data for e in events]
    return [e for e in found if e.asset_key == dg.AssetKey(["staging", "stg_patients"])]


@pytest.mark.slow
def test_sensor_run_audits_for_real_and_a_refused_delivery_keeps_the_last_good_results(folders, monkeypatch):
    """End to end with the real audit job: the November delivery is published; the December
    one lacks a column, is refused, publishes nothing, and is not retried. Each request is one
    run of audit_job, recorded on the instance, so the asset graph shows its figures."""
    inbox, results = folders
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "sensor-test-key-" + "s" * 32)
    november_delivery = delivery(inbox / "DMDB-2026-11-01")
    clock = Clock()
    sensor = make_inbox_sensor(inbox, results, clock=clock)
    requests, cursor, _ = tick(sensor)
    instance = dg.DagsterInstance.ephemeral()
    run = audit_job.execute_in_process(run_config=requests[0].run_config, instance=instance, tags=requests[0].tags)
    assert run.success
    store = ResultsStore(results)
    november = store.period_dir("2026-11")
    assert (november / "patient_results.csv").is_file()
    assert json.loads((november / "run.json").read_text())["extract_id"] == "DMDB-2026-11-01"
    assert (results / "latest").resolve() == november.resolve()
    assert store.latest_good()["trigger"] == "inbox_sensor"
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
    run = audit_job.execute_in_process(run_config=requests[0].run_config, instance=instance, tags=requests[0].tags,
                                       raise_on_error=False)
    assert not run.success
    refused = store.records()[-1]
    assert refused["status"] == "refused" and "labs.csv" in refused["message"] and "unit" in refused["message"]
    assert instance.get_run_by_id(run.run_id).tags["myeloma-audit/outcome"] == "refused"
    assert not store.period_dir("2026-12").exists()
    assert {p.name: p.read_bytes() for p in november.iterdir() if p.is_file()} == before
    assert (results / "latest").resolve() == november.resolve()
    assert store.latest_good()["delivery_id"] == "DMDB-2026-11-01"
    requests, _, skip = tick(sensor, cursor)
    assert requests == [] and "refused, not retried" in skip
    runs = sorted(instance.get_runs(), key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)
    assert [(r.job_name, r.status) for r in runs] == [("audit_job", dg.DagsterRunStatus.SUCCESS),
                                                      ("audit_job", dg.DagsterRunStatus.FAILURE)]
    summary = instance.get_latest_materialization_event(dg.AssetKey(["reports", "rpt_indicator_summary"]))
    assert summary is not None and summary.run_id == runs[0].run_id
    staged = instance.get_latest_materialization_event(dg.AssetKey(["staging", "stg_patients"])).asset_materialization
    assert staged.metadata["rows"].value == len((november_delivery / "patients.csv").read_text(
        encoding="utf-8").strip().splitlines()) - 1
    mm01 = instance.get_latest_materialization_event(dg.AssetKey(["indicators", "ind_mm01"])).asset_materialization
    assert 0 <= mm01.metadata["national_proportion"].value <= 1
    evaluations = _check_evaluations(runs[0].run_id, instance)
    assert evaluations and all(e.passed for e in evaluations)
