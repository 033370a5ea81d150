"""Run configuration of ``audit_job``, one way for every entry point: what is audited
(``audit_settings``) and where it goes (``destination``). Paths of deliveries are given as
``inbox.reference`` names them: a CPR-shaped part of a delivery's name never reaches run
configuration (which Dagster stores with the run). The pseudonym key never appears here."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pipelines.operations.inbox import InboxEntry, reference, resolve
from pipelines.operations.settings import DEFAULT_WAIT_FOR_LOCK_SECONDS

AUDIT_JOB = "audit_job"
SETTINGS = "audit_settings"
DESTINATION = "destination"
RESULTS_TAG = "myeloma-audit/results"   # dagster.yaml limits runs to one per value
PERIOD_TAG = "myeloma-audit/period"
DELIVERY_TAG = "myeloma-audit/delivery"
YEAR_TAG = "myeloma-audit/year"
# what started a run, as history.json records it (the sensor records its own name)
TRIGGER_INBOX, TRIGGER_MONTHLY, TRIGGER_YEARLY = "inbox", "monthly", "yearly"


def _run_config(settings: dict, destination: dict, progress: bool) -> dict:
    config = {"resources": {SETTINGS: {"config": settings}, DESTINATION: {"config": destination}}}
    if progress:  # one line per finished step on the terminal (lib/progress.py), instead of Dagster's console log
        config["loggers"] = {"progress": {}}
    return config


def delivery_reference(delivery: Path | str) -> str:
    """The delivery as run configuration names it (``inbox.reference``); the path itself when
    that name would not find it again (a name the inbox ignores, such as ``.x`` or ``x.part``)."""
    path = Path(delivery).absolute()
    named = reference(path)
    return named if resolve(named) == path else str(path)


def _settings(delivery: Path | str, extract_date: date | str | None = None, parameters: dict | None = None,
              previous_results: Path | str | None = None, audit_period: str | None = None,
              comments: Path | str | None = None, pdf: bool = False) -> dict:
    settings = {"extract_path": delivery_reference(delivery)}
    if comments:
        settings["comments_dir"] = str(Path(comments).absolute())
    if pdf:
        settings["pdf"] = True
    if audit_period:
        settings["period"] = audit_period
    if extract_date:
        settings["extract_date"] = extract_date if isinstance(extract_date, str) else extract_date.isoformat()
    if parameters:
        settings["parameters"] = json.dumps(parameters)
    if previous_results:
        settings["previous_results"] = str(Path(previous_results).absolute())
    return settings


def output_folder(delivery: Path, out_dir: Path, *, extract_date: date | None = None, parameters: dict | None = None,
                  previous_results: Path | None = None, audit_period: str | None = None,
                  comments: Path | None = None, pdf: bool = False, progress: bool = False) -> dict:
    """One delivery into one output folder (``myeloma-audit run``, ``run_audit``)."""
    return _run_config(_settings(delivery, extract_date, parameters, previous_results, audit_period, comments, pdf),
                       {"out_dir": str(Path(out_dir).absolute())}, progress)


def period(entry: InboxEntry, results: Path, *, trigger: str,
           wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS, progress: bool = False) -> dict:
    """A delivery from the inbox into ``results/periods/<its period>`` (sensor, monthly
    schedule, ``myeloma-audit inbox``)."""
    return _run_config(_settings(entry.path, entry.extract_date),
                       {"results": str(Path(results).absolute()), "delivery_key": entry.key, "trigger": trigger,
                        "wait_for_lock_seconds": float(wait_for_lock_seconds)}, progress)


def national(source: dict, year: int, results: Path, *,
             wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS) -> dict:
    """The national report of ``year`` from the delivery behind the published results
    ``source`` (a history.json record) into ``results/national/<year>``."""
    return _run_config({"extract_path": source["source"], "extract_date": source["extract_date"]},
                       {"results": str(Path(results).absolute()), "national_year": int(year), "trigger": TRIGGER_YEARLY,
                        "delivery_key": source["delivery_key"], "wait_for_lock_seconds": float(wait_for_lock_seconds)},
                       progress=False)


def failure(message: str, results: Path, *, trigger: str, period: str = "", year: int = 0, delivery_key: str = "",
            recorded: bool = True) -> dict:
    """A run that fails at once with ``message`` (recorded in history.json unless not
    ``recorded``): a schedule's way of making a missing delivery a failed, visible run."""
    destination = {"results": str(Path(results).absolute()), "failure": message, "trigger": trigger,
                   "record_failure": recorded}
    if period:
        destination["period"] = period
    if year:
        destination["national_year"] = int(year)
    if delivery_key:
        destination["delivery_key"] = delivery_key
    return _run_config({}, destination, progress=False)
