"""Schedules, in Europe/Copenhagen time (summer and winter time handled by Dagster):

- ``monthly_department_audit``: 06:00 on the 5th of every month, the departmental adherence
  audit of that month's delivery (extract dated in the month; deliveries are extracted on the
  1st). If the inbox sensor audited exactly that delivery already, the run only confirms it;
  if no complete delivery arrived, the run fails with that message.
- ``yearly_national_report``: 07:00 on 1 March, the national report of the previous calendar
  year from the newest good delivery extracted after the year ended, compared with the
  national report of the year before.

Both fire only under ``dagster dev`` / ``dagster-daemon`` (``myeloma-audit ui`` starts
both); without a daemon, evaluate them with ``dg.build_schedule_context(scheduled_execution_time=…)``
or run the same step with ``myeloma-audit inbox``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.operations.jobs import (OP_MONTHLY, OP_NATIONAL, PERIOD_TAG, RESULTS_TAG, monthly_audit_job,
                                       national_report_job)
from pipelines.operations.settings import NOT_CONFIGURED, configured_paths, is_configured, results_tag, settle_seconds

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


def monthly_request(when: datetime, inbox: Path, results: Path, settle: float) -> dg.RunRequest:
    period = f"{when.year:04d}-{when.month:02d}"
    return dg.RunRequest(
        run_key=f"monthly-{period}",
        run_config={"ops": {OP_MONTHLY: {"config": {"period": period, "inbox": str(inbox), "results": str(results),
                                                    "settle_seconds": int(settle)}}}},
        tags={PERIOD_TAG: period, RESULTS_TAG: results_tag(results)})


def yearly_request(when: datetime, results: Path) -> dg.RunRequest:
    year = when.year - 1
    return dg.RunRequest(
        run_key=f"national-{year}",
        run_config={"ops": {OP_NATIONAL: {"config": {"year": year, "results": str(results)}}}},
        tags={"myeloma-audit/year": str(year), RESULTS_TAG: results_tag(results)})


def make_schedules(inbox: Path | str | None = None, results: Path | str | None = None,
                   default_status: dg.DefaultScheduleStatus | None = None) -> list[dg.ScheduleDefinition]:
    """Both schedules on ``inbox``/``results`` (else the environment's); running by default
    when configured."""
    if default_status is None:
        default_status = (dg.DefaultScheduleStatus.RUNNING if (inbox and results) or is_configured()
                          else dg.DefaultScheduleStatus.STOPPED)

    @dg.schedule(cron_schedule=MONTHLY_CRON, execution_timezone=TIMEZONE, job=monthly_audit_job,
                 name=MONTHLY_SCHEDULE, default_status=default_status,
                 description="Monthly departmental adherence audit, 06:00 on the 5th (Europe/Copenhagen), "
                             "of that month's delivery.")
    def monthly_department_audit(context: dg.ScheduleEvaluationContext):
        paths = configured_paths(inbox, results)
        if paths is None:
            return dg.SkipReason(NOT_CONFIGURED)
        return monthly_request(_local(context), paths[0], paths[1], settle_seconds())

    @dg.schedule(cron_schedule=YEARLY_CRON, execution_timezone=TIMEZONE, job=national_report_job,
                 name=YEARLY_SCHEDULE, default_status=default_status,
                 description="Yearly national report run, 07:00 on 1 March (Europe/Copenhagen), of the "
                             "previous calendar year.")
    def yearly_national_report(context: dg.ScheduleEvaluationContext):
        paths = configured_paths(inbox, results)
        if paths is None:
            return dg.SkipReason(NOT_CONFIGURED)
        return yearly_request(_local(context), paths[1])

    return [monthly_department_audit, yearly_national_report]


SCHEDULES = make_schedules()
