"""The monthly departmental audit and the yearly national report schedules, evaluated
without a daemon at given times (Europe/Copenhagen), and their run config executed."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.operations import OPERATION_JOBS, SCHEDULES, SENSORS, process
from pipelines.operations.history import ResultsStore
from pipelines.operations.jobs import (MONTHLY_AUDIT_JOB, NATIONAL_REPORT_JOB, OP_MONTHLY, OP_NATIONAL,
                                       monthly_audit_job, national_report_job)
from pipelines.operations.schedules import make_schedules
from tests.operations.ops_helpers import FakeAudit, delivery

CPH = ZoneInfo("Europe/Copenhagen")


def evaluate(schedule, when: datetime):
    return schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when))


def test_schedules_are_monthly_and_yearly_in_copenhagen_time():
    monthly, yearly = make_schedules("/inbox", "/results")
    assert (monthly.name, monthly.cron_schedule, monthly.execution_timezone) == (
        "monthly_department_audit", "0 6 5 * *", "Europe/Copenhagen")
    assert (yearly.name, yearly.cron_schedule, yearly.execution_timezone) == (
        "yearly_national_report", "0 7 1 3 *", "Europe/Copenhagen")
    assert monthly.job_name == MONTHLY_AUDIT_JOB and yearly.job_name == NATIONAL_REPORT_JOB
    assert monthly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert monthly.description and yearly.description
    # the next ticks, in local time (summer and winter time alike)
    from dagster._utils.schedules import cron_string_iterator  # the daemon's own tick arithmetic

    start = datetime(2026, 3, 1, tzinfo=CPH).timestamp()
    it = cron_string_iterator(start, monthly.cron_schedule, "Europe/Copenhagen")
    assert [next(it).strftime("%Y-%m-%d %H:%M %Z") for _ in range(2)] == ["2026-03-05 06:00 CET", "2026-04-05 06:00 CEST"]


def test_monthly_schedule_requests_the_audit_of_that_month(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    monthly, _ = make_schedules(inbox, results)
    [request] = evaluate(monthly, datetime(2026, 12, 5, 6, 0, tzinfo=CPH)).run_requests
    assert request.run_key == "monthly-2026-12"
    assert request.run_config == {"ops": {OP_MONTHLY: {"config": {
        "period": "2026-12", "inbox": str(inbox.absolute()), "results": str(results.absolute()), "settle_seconds": 120}}}}
    assert request.tags["myeloma-audit/period"] == "2026-12"
    assert dg.validate_run_config(monthly_audit_job, request.run_config)
    # the daemon passes UTC: 23:30 UTC on 31 December is already January in Copenhagen
    [january] = evaluate(monthly, datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))).run_requests
    assert january.run_key == "monthly-2027-01"


def test_yearly_schedule_requests_the_national_report_of_the_year_before(tmp_path):
    _, yearly = make_schedules(tmp_path / "inbox", tmp_path / "results")
    [request] = evaluate(yearly, datetime(2027, 3, 1, 6, 0, tzinfo=ZoneInfo("UTC"))).run_requests  # 07:00 CET
    assert request.run_key == "national-2026"
    assert request.run_config == {"ops": {OP_NATIONAL: {"config": {
        "year": 2026, "results": str((tmp_path / "results").absolute())}}}}
    assert dg.validate_run_config(national_report_job, request.run_config)


def test_unconfigured_schedules_skip_with_what_to_set(monkeypatch):
    monkeypatch.delenv("MYELOMA_AUDIT_INBOX", raising=False)
    monkeypatch.delenv("MYELOMA_AUDIT_RESULTS", raising=False)
    monthly, yearly = make_schedules()
    assert monthly.default_status == dg.DefaultScheduleStatus.STOPPED
    for schedule in (monthly, yearly):
        result = evaluate(schedule, datetime(2027, 3, 1, 7, tzinfo=CPH))
        assert not result.run_requests and "MYELOMA_AUDIT_INBOX" in result.skip_message
    # configured through the environment, as myeloma-audit ui --inbox/--results does
    monkeypatch.setenv("MYELOMA_AUDIT_INBOX", "/srv/inbox")
    monkeypatch.setenv("MYELOMA_AUDIT_RESULTS", "/srv/results")
    [request] = evaluate(monthly, datetime(2027, 2, 5, 6, tzinfo=CPH)).run_requests
    assert request.run_config["ops"][OP_MONTHLY]["config"]["inbox"] == "/srv/inbox"


def test_schedule_run_configs_execute_the_jobs(tmp_path, monkeypatch):
    # dates in the past: an extract date in the future is refused (issue 13)
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-01-01", extract_id="DMDB-2026-01-01", extracted_at=date(2026, 1, 1))
    fake = FakeAudit()
    monkeypatch.setattr(process, "_default_audit", lambda: fake)
    monthly, yearly = make_schedules(inbox, results)

    [january] = evaluate(monthly, datetime(2026, 1, 5, 6, tzinfo=CPH)).run_requests
    assert monthly_audit_job.execute_in_process(run_config=january.run_config).success
    [national] = evaluate(yearly, datetime(2026, 3, 1, 7, tzinfo=CPH)).run_requests
    assert national_report_job.execute_in_process(run_config=national.run_config).success
    store = ResultsStore(results)
    assert (store.period_dir("2026-01") / "patient_results.csv").is_file()
    assert (store.national_dir(2025) / "patient_results.csv").is_file()

    [february] = evaluate(monthly, datetime(2026, 2, 5, 6, tzinfo=CPH)).run_requests
    missing = monthly_audit_job.execute_in_process(run_config=february.run_config, raise_on_error=False)
    assert not missing.success
    failure = [e for e in missing.all_events if e.is_step_failure][0]
    assert "no complete delivery for 2026-02" in failure.step_failure_data.error.message


def test_exports_load_together_with_the_audit_definitions():
    from pipelines.definitions import defs

    merged = dg.Definitions.merge(defs, dg.Definitions(jobs=OPERATION_JOBS, schedules=SCHEDULES, sensors=SENSORS))
    dg.Definitions.validate_loadable(merged)
    names = {s.name for s in merged.schedules} | {s.name for s in merged.sensors}
    assert names == {"monthly_department_audit", "yearly_national_report", "inbox_sensor"}
    for job in OPERATION_JOBS:
        assert merged.resolve_job_def(job.name).executor_def.name == "in_process"


@pytest.mark.parametrize("when,period", [(datetime(2026, 11, 5, 6, tzinfo=CPH), "2026-11"),
                                         (datetime(2026, 3, 5, 6, tzinfo=CPH), "2026-03")])
def test_monthly_period_is_the_scheduled_month(tmp_path, when, period):
    monthly, _ = make_schedules(tmp_path / "i", tmp_path / "r")
    assert evaluate(monthly, when).run_requests[0].run_config["ops"][OP_MONTHLY]["config"]["period"] == period
