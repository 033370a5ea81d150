"""Deliveries over time, decided here and run as ``audit_job``: which delivery a monthly
audit and a yearly national report take, and one pass over the inbox without a daemon.

The sensor and the schedules turn these decisions into ``RunRequest``s; ``myeloma-audit
inbox`` runs the job itself, in this process, once per new delivery. Either way the run's
destination (``operations/resources.py``) writes the record in ``history.json``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pipelines.lib.errors import RunLocked
from pipelines.lib.publish import lock_file
from pipelines.operations import run_config
from pipelines.operations.history import FAILED, KIND_DELIVERY, PUBLISHED, REFUSED, ResultsStore, utc_now
from pipelines.operations.inbox import (DEFAULT_GIVE_UP_SECONDS, DEFAULT_SETTLE_SECONDS, READY, InboxEntry, candidates,
                                        describe, newest_mtime, peek_period, resolve, scan)
from pipelines.operations.resources import OperationFailed
from pipelines.operations.settings import DEFAULT_WAIT_FOR_LOCK_SECONDS, results_tag

if TYPE_CHECKING:  # only for annotations: this module runs a job it is given
    import dagster as dg

log = logging.getLogger("myeloma_audit")
INBOX_STATE = ".inbox-state.json"
RUN, SKIP, FAIL = "run", "skip", "fail"


@dataclass
class Decision:
    """What a schedule does: run the audit of ``entry`` (or of the delivery behind ``source``,
    a history.json record), skip with ``message``, or start a run that fails with ``message``
    (recorded in history.json when ``recorded``)."""

    action: str
    message: str = ""
    entry: InboxEntry | None = None
    source: dict | None = None
    recorded: bool = True


def monthly_decision(period: str, inbox: Path, results: Path, *, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                     now: float | None = None, in_progress: Callable[[str], bool] = lambda key: False) -> Decision:
    """The monthly departmental adherence audit of ``period`` (YYYY-MM): the period's newest
    complete delivery in the inbox, unless exactly that delivery was audited already (by the
    inbox sensor) or is being audited (``in_progress(delivery_key)``). A missing or refused
    delivery fails the run with a clear message: a month without a usable delivery is
    something the registry has to notice."""
    store = ResultsStore(results)
    now = time.time() if now is None else now
    inbox = Path(inbox)
    entries = [describe(p, now, settle_seconds) for p in candidates(inbox) if peek_period(p) == period]
    ready = [e for e in entries if e.state == READY and e.complete]
    if ready:
        best = max(ready, key=lambda e: (e.version, e.extract_date, newest_mtime(e.path)))
        done = store.handled(best.key)
        if done and done["status"] == PUBLISHED:
            return Decision(SKIP, f"{period} already audited from {best.delivery_id} ({done.get('trigger')}, "
                                  f"{done.get('finished_at')}); results in {done.get('out_dir')}")
        if done and done["status"] == REFUSED:  # reported again, never run again
            return Decision(FAIL, f"the delivery for {period} ({best.delivery_id}) was refused and is not retried: "
                                  f"{done['message']}", recorded=False)
        if in_progress(best.key):
            return Decision(SKIP, f"{period}: {best.delivery_id} is being audited already (inbox sensor)")
        return Decision(RUN, entry=best)
    current = store.published(period)
    if current:
        return Decision(SKIP, f"{period} already audited from {current['delivery_id']}; results in {current['out_dir']}")
    latest = store.latest_good()
    message = f"no complete delivery for {period} in {inbox}"
    waiting = [f"{e.name} ({e.reason})" for e in entries if e.state != READY]
    if waiting:
        message += "; waiting: " + "; ".join(waiting)
    if latest:
        message += f"; the results of {latest['period']} ({latest['delivery_id']}) stay published"
    return Decision(FAIL, message)


def national_decision(year: int, results: Path) -> Decision:
    """The yearly national report for ``year``: the newest good delivery extracted after the
    year ended is audited again into ``results/national/<year>``, compared with the national
    report of the year before (year-on-year rather than month-on-month)."""
    store = ResultsStore(results)
    covering = [r for r in store.good() if r.get("extract_date", "") > f"{year}-12-31"]
    if not covering:
        latest = store.latest_good()
        return Decision(FAIL, f"no good results from a delivery extracted after 31-12-{year} yet, so {year} is not "
                              "complete in any audited delivery" + (f" (newest: {latest['delivery_id']}, extracted "
                                                                    f"{latest['extract_date']})" if latest else ""))
    source = max(covering, key=lambda r: (r["extract_date"], r["period"]))
    if not resolve(source["source"]).exists():
        return Decision(FAIL, f"the delivery {source['delivery_id']} behind the results of {source['period']} is no "
                              f"longer at {source['source']}; put it back to run the national report for {year}",
                        source=source)
    return Decision(RUN, source=source)


def delivery_tags(entry: InboxEntry, results: Path) -> dict[str, str]:
    return {run_config.RESULTS_TAG: results_tag(results), run_config.PERIOD_TAG: entry.period or "unknown",
            run_config.DELIVERY_TAG: entry.delivery_id[:60]}


def _records_of(store: ResultsStore, key: str) -> list[dict]:
    return [r for r in store.records() if r.get("delivery_key") == key and r.get("kind") == KIND_DELIVERY]


def audit_delivery(path: Path, results: Path, *, job: dg.JobDefinition, entry: InboxEntry | None = None,
                   trigger: str = "manual", wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS,
                   instance: dg.DagsterInstance | None = None, now: float | None = None, progress: bool = False) -> dict:
    """Run ``job`` (``audit_job``) in this process on one delivery into ``results/periods/<period>``.
    Returns its record in history.json (status published); raises ``OperationFailed`` (status
    refused or failed) otherwise."""
    store = ResultsStore(results)
    entry = entry or describe(Path(path).absolute(), now if now is not None else time.time(), settle_seconds=0)
    before = len(_records_of(store, entry.key))
    result = job.execute_in_process(
        run_config=run_config.period(entry, store.root, trigger=trigger, wait_for_lock_seconds=wait_for_lock_seconds,
                                     progress=progress),
        instance=instance, tags=delivery_tags(entry, store.root), raise_on_error=False)
    records = _records_of(store, entry.key)
    if len(records) > before:
        record = records[-1]
    else:  # the run ended before its destination could record anything
        record = store.add({"kind": KIND_DELIVERY, "trigger": trigger, "delivery_key": entry.key,
                            "delivery_id": entry.delivery_id, "source": entry.reference, "period": entry.period,
                            "status": FAILED, "message": f"internal error: the run {result.run_id} ended without "
                                                         "publishing or recording why; see its Dagster event log",
                            "finished_at": utc_now()})
    if record["status"] != PUBLISHED:
        raise OperationFailed(record)
    return record


def process_inbox(inbox: Path, results: Path, *, job: dg.JobDefinition, instance: dg.DagsterInstance | None = None,
                  settle_seconds: float = DEFAULT_SETTLE_SECONDS, give_up_seconds: float | None = None,
                  wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS, retry_failed: bool = False,
                  now: Callable[[], float] = time.time, wait_to_settle: bool = True, progress: bool = False) -> dict:
    """One pass over the inbox without a daemon: audit every complete delivery not handled
    before, oldest period first, each as one run of ``job``. Observations are kept in
    ``results/.inbox-state.json``; deliveries without a manifest that are still settling are
    waited for once (at most ``settle_seconds``) when ``wait_to_settle``. Two passes on one
    results folder at once: the second stops with a clear message. Returns {"published": [...],
    "refused": [...], "failed": [...], "waiting": [...], "already": [...]}."""
    give_up_seconds = DEFAULT_GIVE_UP_SECONDS if give_up_seconds is None else give_up_seconds
    store = ResultsStore(results)
    store.root.mkdir(parents=True, exist_ok=True)
    with lock_file(store.root / ".inbox.lock") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another inbox pass is processing into {store.root}; this one stops "
                            "(whatever is left is picked up by the next pass)") from None
        state_path = store.root / INBOX_STATE
        state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
        scanned = scan(inbox, state, now(), settle_seconds, give_up_seconds)
        settling = [e for e in scanned.waiting if e.reason.startswith("no manifest.json")]
        if settling and wait_to_settle:
            log.info(f"waiting {settle_seconds:g} s for {len(settling)} delivery(ies) without manifest to settle")
            time.sleep(settle_seconds)
            scanned = scan(inbox, scanned.state, now(), settle_seconds, give_up_seconds)
        tmp = state_path.with_name(f"{INBOX_STATE}.tmp")
        tmp.write_text(json.dumps(scanned.state, indent=1), encoding="utf-8")
        os.replace(tmp, state_path)
        report = {"published": [], "refused": [], "failed": [], "waiting": [], "already": []}
        report["waiting"] = [{"name": e.name, "reason": e.reason} for e in scanned.waiting]
        for entry in sorted(scanned.ready, key=lambda e: (e.period or "9999", e.version, e.extract_date or date.max)):
            done = store.handled(entry.key)
            if done and not (retry_failed and done["status"] == FAILED):
                report["already"].append({"name": entry.name, **done})
                continue
            try:
                report["published"].append(audit_delivery(entry.path, results, job=job, entry=entry,
                                                          trigger=run_config.TRIGGER_INBOX,
                                                          wait_for_lock_seconds=wait_for_lock_seconds,
                                                          instance=instance, progress=progress))
            except OperationFailed as err:
                report[err.record["status"]].append(err.record)
        return report
