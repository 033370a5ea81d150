"""Schedules, in Europe/Copenhagen time (summer and winter time handled by Dagster):

- ``monthly_department_audit``: 06:00 on the 5th of every month, the departmental adherence
  audit of that month's delivery (extract dated in the month; deliveries are extracted on the
  1st): a run of ``audit_job`` for it. If the inbox sensor audited exactly that delivery
  already (or is auditing it), the tick is skipped and says so; if no complete delivery
  arrived, the schedule starts a run that fails at once with that message (a failed run to
  notice, and a record in history.json).
- ``yearly_national_report``: 07:00 on 1 March, the national report of the previous calendar
  year: a run of ``audit_job`` on the newest good delivery extracted after the year ended
  (from history.json) into ``results/national/<year>``, compared with the national report of
  the year before.

Both decide what to run when they are evaluated (``process.monthly_decision`` and
``national_decision``) and fire only under ``dagster dev`` / ``dagster-daemon``
(``myeloma-audit ui`` starts both); without a daemon, evaluate them with
``dg.build_schedule_context(scheduled_execution_time=…)``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.operations import run_config
from pipelines.operations.process import FAIL, RUN, SKIP, delivery_tags, monthly_decision, national_decision
from pipelines.operations.settings import NOT_CONFIGURED, configured_paths, results_tag, settle_seconds

TIMEZONE = "Europe/Copenhagen"
MONTHLY_CRON = "0 6 5 * *"
YEARLY_CRON = "0 7 1 3 *"
MONTHLY_SCHEDULE = "monthly_department_audit"
YEARLY_SCHEDULE = "yearly_national_report"


def _local(context: dg.ScheduleEvaluationContext) -> datetime:
    when = context.scheduled_execution_time or datetime.now(tz=ZoneInfo(TIMEZONE))
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    return when.astimezone(ZoneInfo(TIMEZONE))


def _in_progress(instance: dg.DagsterInstance | None):
    """Whether a run for this delivery (the sensor's run key) is queued, running or succeeded."""
    def busy(delivery_key: str) -> bool:
        if instance is None:
            return False
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/run_key": delivery_key}), limit=5)
        return any(r.dagster_run.status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
                   for r in records)
    return busy


def monthly_request(when: datetime, inbox: Path, results: Path, settle: float,
                    instance: dg.DagsterInstance | None = None) -> dg.RunRequest | dg.SkipReason:
    period = f"{when.year:04d}-{when.month:02d}"
    decision = monthly_decision(period, inbox, results, settle_seconds=settle, in_progress=_in_progress(instance))
    tags = {run_config.PERIOD_TAG: period, run_config.RESULTS_TAG: results_tag(results)}
    if decision.action == SKIP:
        return dg.SkipReason(decision.message)
    if decision.action == RUN:
        return dg.RunRequest(run_key=f"monthly-{period}", tags={**delivery_tags(decision.entry, results), **tags},
                             run_config=run_config.period(decision.entry, results, trigger=run_config.TRIGGER_MONTHLY))
    assert decision.action == FAIL
    return dg.RunRequest(run_key=f"monthly-{period}", tags=tags,
                         run_config=run_config.failure(decision.message, results, trigger=run_config.TRIGGER_MONTHLY,
                                                       period=period, recorded=decision.recorded))


def yearly_request(when: datetime, results: Path) -> dg.RunRequest:
    year = when.year - 1
    decision = national_decision(year, results)
    tags = {run_config.YEAR_TAG: str(year), run_config.RESULTS_TAG: results_tag(results)}
    if decision.action == RUN:
        return dg.RunRequest(run_key=f"national-{year}", tags=tags,
                             run_config=run_config.national(decision.source, year, results))
    source_key = (decision.source or {}).get("delivery_key", "")
    return dg.RunRequest(run_key=f"national-{year}", tags=tags,
                         run_config=run_config.failure(decision.message, results, trigger=run_config.TRIGGER_YEARLY,
                                                       year=year, delivery_key=source_key))


def make_schedules(inbox: Path | str | None = None, results: Path | str | None = None,
                   default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING
                   ) -> list[dg.ScheduleDefinition]:
    """Both schedules on ``inbox``/``results`` (else the environment's, read when they are
    evaluated): running by default, they skip with what to set while not configured."""

    @dg.schedule(cron_schedule=MONTHLY_CRON, execution_timezone=TIMEZONE, job_name=run_config.AUDIT_JOB,
                 name=MONTHLY_SCHEDULE, default_status=default_status,
                 description="Monthly departmental adherence audit, 06:00 on the 5th (Europe/Copenhagen), "
                             "of that month's delivery.")
    def monthly_department_audit(context: dg.ScheduleEvaluationContext):
        paths = configured_paths(inbox, results)
        if paths is None:
            return dg.SkipReason(NOT_CONFIGURED)
        instance = context.instance if context.instance_ref is not None else None  # none when tested alone
        return monthly_request(_local(context), paths[0], paths[1], settle_seconds(), instance=instance)

    @dg.schedule(cron_schedule=YEARLY_CRON, execution_timezone=TIMEZONE, job_name=run_config.AUDIT_JOB,
                 name=YEARLY_SCHEDULE, default_status=default_status,
                 description="Yearly national report run, 07:00 on 1 March (Europe/Copenhagen), of the "
                             "previous calendar year.")
    def yearly_national_report(context: dg.ScheduleEvaluationContext):
        paths = configured_paths(inbox, results)
        if paths is None:
            return dg.SkipReason(NOT_CONFIGURED)
        return yearly_request(_local(context), paths[1])

    return [monthly_department_audit, yearly_national_report]


monthly_department_audit, yearly_national_report = make_schedules()
