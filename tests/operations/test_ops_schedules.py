"""The monthly departmental audit and the yearly national report schedules, evaluated
without a daemon at given times (Europe/Copenhagen): each decides what to run and requests
audit_job with run configuration for it, which the test then runs (the audit stood in for)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.lib.errors import DeliveryRefused
from pipelines.operations.history import ResultsStore
from pipelines.operations.process import audit_delivery
from pipelines.operations.schedules import make_schedules
from tests.operations.ops_helpers import FakeAudit, delivery, failure_message, published_id

CPH = ZoneInfo("Europe/Copenhagen")
audit_job = defs.resolve_job_def("audit_job")


def evaluate(schedule, when: datetime, instance=None):
    return schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when, instance=instance))


def test_schedules_are_monthly_and_yearly_in_copenhagen_time():
    monthly, yearly = make_schedules("/inbox", "/results")
    assert (monthly.name, monthly.cron_schedule, monthly.execution_timezone) == (
        "monthly_department_audit", "0 6 5 * *", "Europe/Copenhagen")
    assert (yearly.name, yearly.cron_schedule, yearly.execution_timezone) == (
        "yearly_national_report", "0 7 1 3 *", "Europe/Copenhagen")
    assert monthly.job_name == yearly.job_name == "audit_job"
    assert monthly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert monthly.description and yearly.description
    # the next ticks, in local time (summer and winter time alike)
    from dagster._utils.schedules import cron_string_iterator  # the daemon's own tick arithmetic

    start = datetime(2026, 3, 1, tzinfo=CPH).timestamp()
    it = cron_string_iterator(start, monthly.cron_schedule, "Europe/Copenhagen")
    assert [next(it).strftime("%Y-%m-%d %H:%M %Z") for _ in range(2)] == ["2026-03-05 06:00 CET", "2026-04-05 06:00 CEST"]


def test_monthly_schedule_requests_the_audit_of_that_months_delivery(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-11-01")
    monthly, _ = make_schedules(inbox, results)
    [request] = evaluate(monthly, datetime(2026, 11, 5, 6, 0, tzinfo=CPH)).run_requests
    assert request.run_key == "monthly-2026-11"
    assert request.run_config["resources"]["audit_settings"]["config"]["extract_path"] == str(inbox / "DMDB-2026-11-01")
    destination = request.run_config["resources"]["destination"]["config"]
    assert destination["results"] == str(results.absolute()) and destination["trigger"] == "monthly"
    assert request.tags["myeloma-audit/period"] == "2026-11"
    assert dg.validate_run_config(audit_job, request.run_config)
    fake = FakeAudit()
    assert fake.run(request).success
    assert ResultsStore(results).published("2026-11")["trigger"] == "monthly"


def test_monthly_schedule_picks_the_highest_version_of_the_period(tmp_path):
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "nov-v1", extract_id="NOV", version=1)
    delivery(inbox / "nov-v2", extract_id="NOV-CORR", version=2)
    monthly, _ = make_schedules(inbox, results)
    [request] = evaluate(monthly, datetime(2026, 11, 5, 6, tzinfo=CPH)).run_requests
    assert fake.run(request).success
    assert published_id(ResultsStore(results).period_dir("2026-11")) == "NOV-CORR"


def test_monthly_schedule_skips_a_delivery_audited_already_and_fails_a_missing_one(tmp_path):
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "DMDB-2026-11-01")
    delivery(inbox / "DMDB-2026-12-01", extract_id="DMDB-2026-12-01", extracted_at=date(2026, 12, 1))
    audit_delivery(inbox / "DMDB-2026-12-01", results, job=fake.job, trigger="inbox_sensor")  # the sensor was first
    monthly, _ = make_schedules(inbox, results)
    result = evaluate(monthly, datetime(2026, 12, 5, 6, tzinfo=CPH))
    assert result.run_requests == [] and "2026-12 already audited from DMDB-2026-12-01" in result.skip_message

    [missing] = evaluate(monthly, datetime(2027, 1, 5, 6, tzinfo=CPH)).run_requests
    assert missing.run_key == "monthly-2027-01"
    run = fake.run(missing)
    assert not run.success and len(fake.calls) == 1  # failed at once, nothing audited
    assert "no complete delivery for 2027-01" in failure_message(run)
    assert "results of 2026-12 (DMDB-2026-12-01) stay published" in failure_message(run)
    record = ResultsStore(results).records()[-1]
    assert (record["kind"], record["trigger"], record["period"], record["status"]) == ("monthly", "monthly", "2027-01",
                                                                                       "failed")
    assert record["message"].startswith("no complete delivery for 2027-01")


def test_monthly_schedule_reports_a_refused_delivery_without_running_it_again(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-11-01")
    with pytest.raises(Exception):
        audit_delivery(inbox / "DMDB-2026-11-01", results, trigger="inbox_sensor",
                       job=FakeAudit(fail=DeliveryRefused("labs.csv", "bad")).job)
    monthly, _ = make_schedules(inbox, results)
    [request] = evaluate(monthly, datetime(2026, 11, 5, 6, tzinfo=CPH)).run_requests
    fake = FakeAudit()
    run = fake.run(request)
    assert not run.success and fake.calls == []
    assert "was refused and is not retried: delivery refused: labs.csv: bad" in failure_message(run)
    assert len(ResultsStore(results).records()) == 1  # reported again, not recorded again


def test_monthly_schedule_leaves_a_delivery_the_sensor_is_auditing_to_it(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-11-01")
    monthly, _ = make_schedules(inbox, results)
    with dg.instance_for_test() as instance:  # as the daemon has one (an instance it can refer to)
        [request] = evaluate(monthly, datetime(2026, 11, 5, 6, tzinfo=CPH), instance).run_requests
        key = request.run_config["resources"]["destination"]["config"]["delivery_key"]
        instance.create_run_for_job(audit_job, run_config=request.run_config, tags={"dagster/run_key": key},
                                    status=dg.DagsterRunStatus.STARTED)  # the sensor's run, still going
        result = evaluate(monthly, datetime(2026, 11, 5, 6, tzinfo=CPH), instance)
    assert result.run_requests == [] and "being audited already" in result.skip_message


def test_yearly_schedule_runs_the_national_report_from_history_and_compares_with_last_year(tmp_path):
    # a year earlier than the other tests: an extract date in the future is refused (issue 13)
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    _, yearly = make_schedules(inbox, results)
    [none_yet] = evaluate(yearly, datetime(2026, 3, 1, 7, tzinfo=CPH)).run_requests
    assert none_yet.run_key == "national-2025"
    run = fake.run(none_yet)
    assert not run.success and "no good results from a delivery extracted after 31-12-2025" in failure_message(run)
    assert ResultsStore(results).records()[-1]["kind"] == "national"

    audit_delivery(delivery(tmp_path / "jan25", extract_id="JAN25", extracted_at=date(2025, 1, 1)), results, job=fake.job)
    [y2024] = evaluate(yearly, datetime(2025, 3, 1, 7, tzinfo=CPH)).run_requests
    assert fake.run(y2024).success
    audit_delivery(delivery(tmp_path / "dec25", extract_id="DEC25", extracted_at=date(2025, 12, 1)), results, job=fake.job)
    audit_delivery(delivery(tmp_path / "feb26", extract_id="FEB26", extracted_at=date(2026, 2, 1)), results, job=fake.job)
    # the daemon passes UTC: 06:00 UTC on 1 March is 07:00 in Copenhagen
    [request] = evaluate(yearly, datetime(2026, 3, 1, 6, 0, tzinfo=ZoneInfo("UTC"))).run_requests
    assert request.run_key == "national-2025" and request.tags["myeloma-audit/year"] == "2025"
    destination = request.run_config["resources"]["destination"]["config"]
    assert (destination["national_year"], destination["trigger"]) == (2025, "yearly")
    assert dg.validate_run_config(audit_job, request.run_config)
    assert fake.run(request).success
    store = ResultsStore(results)
    record = store.records()[-1]
    assert (record["kind"], record["year"], record["delivery_id"]) == ("national", 2025, "FEB26")
    assert record["out_dir"] == str(store.national_dir(2025)) and record["compared_with_previous"] is True
    assert fake.calls[-1]["previous_results"] == store.national_dir(2024) / "patient_results.csv"
    assert fake.calls[-1]["extract"] == tmp_path / "feb26"
    assert published_id(store.national_dir(2025)) == "FEB26"


def test_a_national_report_whose_delivery_is_gone_fails_with_where_it_was(tmp_path):
    import shutil

    results, fake = tmp_path / "results", FakeAudit()
    audit_delivery(delivery(tmp_path / "jan25", extract_id="JAN25", extracted_at=date(2025, 1, 1)), results, job=fake.job)
    shutil.rmtree(tmp_path / "jan25")
    _, yearly = make_schedules(tmp_path / "inbox", results)
    [request] = evaluate(yearly, datetime(2025, 3, 1, 7, tzinfo=CPH)).run_requests
    run = fake.run(request)
    assert not run.success and "is no longer at" in failure_message(run)
    record = ResultsStore(results).records()[-1]
    assert (record["kind"], record["status"], record["delivery_id"]) == ("national", "failed", "JAN25")


def test_unconfigured_schedules_skip_with_what_to_set(monkeypatch, tmp_path):
    monkeypatch.delenv("MYELOMA_AUDIT_INBOX", raising=False)
    monkeypatch.delenv("MYELOMA_AUDIT_RESULTS", raising=False)
    monthly, yearly = make_schedules()
    for schedule in (monthly, yearly):
        result = evaluate(schedule, datetime(2027, 3, 1, 7, tzinfo=CPH))
        assert not result.run_requests and "MYELOMA_AUDIT_INBOX" in result.skip_message
    # configured through the environment when evaluated, as myeloma-audit ui --inbox/--results does
    delivery(tmp_path / "inbox" / "DMDB-2026-11-01")
    monkeypatch.setenv("MYELOMA_AUDIT_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("MYELOMA_AUDIT_RESULTS", str(tmp_path / "results"))
    [request] = evaluate(monthly, datetime(2026, 11, 5, 6, tzinfo=CPH)).run_requests
    assert request.run_config["resources"]["destination"]["config"]["results"] == str(tmp_path / "results")


def test_the_code_location_has_one_job_the_schedules_and_the_sensor():
    dg.Definitions.validate_loadable(defs)
    assert {s.name for s in defs.schedules} | {s.name for s in defs.sensors} == {
        "monthly_department_audit", "yearly_national_report", "inbox_sensor"}
    assert [job.name for job in defs.jobs] == ["audit_job"]
    assert defs.resolve_job_def("audit_job").executor_def.name == "in_process"


@pytest.mark.parametrize("when,period", [(datetime(2026, 11, 5, 6, tzinfo=CPH), "2026-11"),
                                         (datetime(2026, 3, 5, 6, tzinfo=CPH), "2026-03"),
                                         (datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC")), "2027-01")])
def test_monthly_period_is_the_scheduled_month_in_copenhagen(tmp_path, when, period):
    monthly, _ = make_schedules(tmp_path / "i", tmp_path / "r")
    [request] = evaluate(monthly, when).run_requests  # no delivery: the run that fails says which month
    assert request.run_key == f"monthly-{period}"
    assert request.run_config["resources"]["destination"]["config"]["period"] == period
