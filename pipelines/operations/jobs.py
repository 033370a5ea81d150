"""Dagster jobs the sensor and the schedules start: each runs one step of ``process.py``
(which calls ``run_audit``) for the delivery, month or year given in its run config.

A refused or failed delivery fails its Dagster run with the clear message (and the record
in ``history.json``); the sensor and schedules never start it again by themselves."""


import dagster as dg

from pipelines.operations.inbox import DEFAULT_SETTLE_SECONDS
from pipelines.operations.process import (DEFAULT_WAIT_FOR_LOCK_SECONDS, OperationFailed, audit_delivery,
                                          monthly_audit, national_report)

AUDIT_DELIVERY_JOB = "audit_delivery_job"
MONTHLY_AUDIT_JOB = "monthly_department_audit_job"
NATIONAL_REPORT_JOB = "national_report_job"
OP_AUDIT_DELIVERY = "audit_delivery"
OP_MONTHLY = "monthly_department_audit"
OP_NATIONAL = "yearly_national_report"
RESULTS_TAG = "myeloma-audit/results"   # dagster.yaml limits runs to one per value
PERIOD_TAG = "myeloma-audit/period"
DELIVERY_TAG = "myeloma-audit/delivery"
PARENT_RUN_TAG = "myeloma-audit/started-by-run"


class AuditDeliveryConfig(dg.Config):
    delivery: str
    """The delivery folder or .zip (in the inbox), named as ``inbox.reference`` names it (a
    CPR-shaped token in its name replaced; ``inbox.resolve`` finds it)."""
    results: str
    """The results folder (periods/, national/, history.json)."""
    delivery_key: str = ""
    """The delivery's identity as the sensor saw it (id@digest); checked again before the run."""
    wait_for_lock_seconds: int = DEFAULT_WAIT_FOR_LOCK_SECONDS


class MonthlyAuditConfig(dg.Config):
    period: str
    """YYYY-MM: the month whose delivery (extract date in that month) is audited."""
    inbox: str
    results: str
    settle_seconds: int = DEFAULT_SETTLE_SECONDS
    wait_for_lock_seconds: int = DEFAULT_WAIT_FOR_LOCK_SECONDS


class NationalReportConfig(dg.Config):
    year: int
    """The calendar year the national report covers."""
    results: str
    wait_for_lock_seconds: int = DEFAULT_WAIT_FOR_LOCK_SECONDS


def _outcome(context: dg.OpExecutionContext, record: dict) -> dg.Output:
    context.log.info(record.get("message", ""))
    meta = {k: v for k, v in record.items() if isinstance(v, (str, int, float, bool)) and v != ""}
    if record.get("out_dir"):
        meta["out_dir"] = dg.MetadataValue.path(record["out_dir"])
    return dg.Output(record.get("status"), metadata=meta)


def _audit_recorded_on(context: dg.OpExecutionContext):
    """The audit function, recording its audit_job run on this run's instance (so the asset
    graph shows its metadata) and tagged with the run that started it."""
    import inspect
    from functools import partial

    from pipelines.operations import process

    audit_fn = process._default_audit()
    if "instance" not in inspect.signature(audit_fn).parameters:
        return audit_fn
    return partial(audit_fn, instance=context.instance, tags={PARENT_RUN_TAG: context.run_id})


def _fail(err: OperationFailed) -> dg.Failure:
    record = err.record
    meta = {k: v for k, v in record.items() if isinstance(v, (str, int, float, bool)) and v != ""}
    return dg.Failure(description=f"{record.get('status', 'failed')}: {record.get('message')}", metadata=meta,
                      allow_retries=False)


@dg.op(name=OP_AUDIT_DELIVERY, description="Audit one delivery from the inbox into results/periods/<period> "
                                          "(run_audit: atomic publish under the output lock) and record it.")
def audit_delivery_op(context: dg.OpExecutionContext, config: AuditDeliveryConfig):
    import time
    from pathlib import Path

    from pipelines.operations.inbox import describe, resolve

    entry = describe(resolve(config.delivery), time.time(), settle_seconds=0)
    if config.delivery_key and entry.key != config.delivery_key:
        context.log.warning(f"{entry.name} changed since the sensor saw it ({config.delivery_key} → {entry.key}); "
                            "auditing what is there now")
    try:
        record = audit_delivery(entry.path, Path(config.results), entry=entry, trigger=context.run.tags.get(
            "dagster/sensor_name", "manual"), wait_for_lock_seconds=config.wait_for_lock_seconds,
                                audit_fn=_audit_recorded_on(context))
    except OperationFailed as err:
        raise _fail(err) from None
    return _outcome(context, record)


@dg.op(name=OP_MONTHLY, description="Monthly departmental adherence audit: the period's newest complete "
                                   "delivery, unless the inbox sensor audited exactly it already.")
def monthly_audit_op(context: dg.OpExecutionContext, config: MonthlyAuditConfig):
    from pathlib import Path

    try:
        record = monthly_audit(config.period, Path(config.inbox), Path(config.results),
                               settle_seconds=config.settle_seconds, wait_for_lock_seconds=config.wait_for_lock_seconds,
                               audit_fn=_audit_recorded_on(context))
    except OperationFailed as err:
        raise _fail(err) from None
    return _outcome(context, record)


@dg.op(name=OP_NATIONAL, description="Yearly national report: the newest good delivery covering the whole "
                                    "year, audited into results/national/<year>, compared with the year before.")
def national_report_op(context: dg.OpExecutionContext, config: NationalReportConfig):
    from pathlib import Path

    try:
        record = national_report(config.year, Path(config.results), wait_for_lock_seconds=config.wait_for_lock_seconds,
                                 audit_fn=_audit_recorded_on(context))
    except OperationFailed as err:
        raise _fail(err) from None
    return _outcome(context, record)


@dg.job(name=AUDIT_DELIVERY_JOB, description="Audit one delivery dropped into the inbox (started by inbox_sensor).",
        executor_def=dg.in_process_executor)
def audit_delivery_job():
    audit_delivery_op()


@dg.job(name=MONTHLY_AUDIT_JOB, description="Monthly departmental adherence audit (schedule monthly_department_audit).",
        executor_def=dg.in_process_executor)
def monthly_audit_job():
    monthly_audit_op()


@dg.job(name=NATIONAL_REPORT_JOB, description="Yearly national report run (schedule yearly_national_report).",
        executor_def=dg.in_process_executor)
def national_report_job():
    national_report_op()


OPERATION_JOBS = [audit_delivery_job, monthly_audit_job, national_report_job]


def delivery_run_config(delivery: str, results: str, delivery_key: str = "",
                        wait_for_lock_seconds: int = DEFAULT_WAIT_FOR_LOCK_SECONDS) -> dict:
    return {"ops": {OP_AUDIT_DELIVERY: {"config": {"delivery": delivery, "results": results, "delivery_key": delivery_key,
                                                   "wait_for_lock_seconds": wait_for_lock_seconds}}}}
