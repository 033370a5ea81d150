"""The inbox sensor: one run per new, complete delivery, exactly once.

Its cursor (JSON) holds the inbox observations (see ``inbox.scan``) and every delivery it
has requested a run for, keyed by the delivery's identity ``<id>@<digest>`` (the digest of
the manifest, or of names, sizes and times without one). A restarted sensor reads the cursor
back and requests nothing twice; should the cursor be lost, ``history.json`` and Dagster's
run keys still keep a delivery from running twice. A refused delivery is not requested
again: each tick's skip reason lists it with the refusal, until it is removed from the inbox
or replaced by a corrected one (a new identity, so it runs).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import dagster as dg

from pipelines.operations import run_config
from pipelines.operations.history import FAILED, REFUSED, ResultsStore
from pipelines.operations.inbox import scan
from pipelines.operations.process import delivery_tags
from pipelines.operations.settings import DEFAULT_GIVE_UP_SECONDS, NOT_CONFIGURED, configured_paths, settle_seconds

INBOX_SENSOR = "inbox_sensor"
CURSOR_VERSION = 1


def load_cursor(text: str | None) -> dict:
    try:
        cursor = json.loads(text) if text else {}
    except json.JSONDecodeError:
        cursor = {}
    if cursor.get("v") != CURSOR_VERSION:
        cursor = {}
    return {"v": CURSOR_VERSION, "seen": cursor.get("seen", {}), "done": cursor.get("done", {})}


def evaluate_inbox(cursor_text: str | None, inbox: Path, results: Path, now: float, settle: float,
                   give_up: float, log=None) -> dg.SensorResult:
    """One tick of the sensor, as a plain function of the cursor, the inbox and the time."""
    cursor = load_cursor(cursor_text)
    scanned = scan(inbox, cursor["seen"], now, settle, give_up)
    store = ResultsStore(results)
    done = cursor["done"]
    requests, notes = [], []
    for entry in sorted(scanned.ready, key=lambda e: (e.period or "9999", e.version, e.extract_date or datetime.max.date())):
        if entry.key in done:
            earlier = store.handled(entry.key)
            if earlier and earlier["status"] in (REFUSED, FAILED):
                notes.append(f"{entry.name}: {earlier['status']}, not retried — {earlier['message']}")
            continue
        earlier = store.handled(entry.key)
        done[entry.key] = {"name": entry.name, "at": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")}
        if earlier:  # the cursor was lost or reset: history still knows
            notes.append(f"{entry.name}: already {earlier['status']} ({earlier.get('finished_at', '')}), not run again")
            continue
        if log:
            log.info(f"new delivery {entry.name} ({entry.key}, period {entry.period or '?'}): requesting one run"
                     + (f" — {entry.reason}" if entry.reason else ""))
        requests.append(dg.RunRequest(
            run_key=entry.key,
            run_config=run_config.period(entry, results, trigger=INBOX_SENSOR),  # no clear CPR in a name
            tags=delivery_tags(entry, results)))
    notes += [f"{entry.name}: {entry.reason}" for entry in scanned.waiting]
    new_cursor = json.dumps({"v": CURSOR_VERSION, "seen": scanned.state, "done": done}, sort_keys=True)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)
    reason = f"no new complete delivery in {inbox}"
    return dg.SensorResult(skip_reason=dg.SkipReason(reason + ("; " + "; ".join(notes) if notes else "")),
                           cursor=new_cursor)


def make_inbox_sensor(inbox: Path | str | None = None, results: Path | str | None = None, *,
                      settle: float | None = None, give_up: float = DEFAULT_GIVE_UP_SECONDS,
                      name: str = INBOX_SENSOR, minimum_interval_seconds: int = 60,
                      default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
                      clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    """The sensor on ``inbox`` (else ``MYELOMA_AUDIT_INBOX``) publishing into ``results`` (else
    ``MYELOMA_AUDIT_RESULTS``), both read when it is evaluated: running by default, it skips
    with what to set while they are not configured."""

    @dg.sensor(name=name, job_name=run_config.AUDIT_JOB, minimum_interval_seconds=minimum_interval_seconds,
               default_status=default_status,
               description="Starts one audit_job run for each new, complete delivery (folder or .zip) in the inbox, "
                           "into results/periods/<YYYY-MM>; half-copied deliveries wait, refused ones are reported "
                           "and not retried.")
    def _inbox_sensor(context: dg.SensorEvaluationContext):
        paths = configured_paths(inbox, results)
        if paths is None:
            return dg.SkipReason(NOT_CONFIGURED)
        return evaluate_inbox(context.cursor, paths[0], paths[1], clock(), settle_seconds(settle), give_up,
                              log=context.log)

    return _inbox_sensor


inbox_sensor = make_inbox_sensor()
