"""Auditing one delivery from the inbox into the results folder, and the two scheduled runs
(the monthly departmental audit and the yearly national report), each leaving one record in
``history.json``. Used by the Dagster ops (``jobs.py``) and the ``inbox`` command alike."""

from __future__ import annotations

import inspect
import logging
import os
import time
from datetime import date
from pathlib import Path
from typing import Callable

from pipelines.lib.errors import AuditError, DeliveryRefused, QualityBlocked, RunLocked
from pipelines.operations.history import (FAILED, KIND_DELIVERY, KIND_NATIONAL, PUBLISHED, REFUSED, SKIPPED,
                                          ResultsStore, utc_now)
from pipelines.operations.inbox import (DEFAULT_SETTLE_SECONDS, READY, InboxEntry, candidates, describe,
                                        newest_mtime, peek_period, resolve)

DEFAULT_WAIT_FOR_LOCK_SECONDS = 900
log = logging.getLogger("myeloma_audit")


class OperationFailed(AuditError):
    """A delivery or scheduled run did not publish; ``record`` is what history.json says."""

    def __init__(self, record: dict):
        self.record = record
        super().__init__(record.get("message", "failed"))


def _status_of(err: BaseException) -> str:
    """Refused: the delivery itself is at fault (it will not get better by retrying).
    Failed: the installation is (no key, lock held too long, a bug)."""
    return REFUSED if isinstance(err, (DeliveryRefused, QualityBlocked)) else FAILED


def _message(err: BaseException) -> str:
    from pipelines.lib.errors import shown

    if isinstance(err, AuditError):
        return shown(err, 2000)
    if isinstance(err, OSError):  # a path: permission, read-only file system, disk full …
        return shown(f"cannot use {err.filename or 'a file'}: {err.strerror or type(err).__name__}", 2000)
    return f"internal error ({type(err).__name__}): {shown(err, 500)}"


def run_with_lock_wait(audit_fn: Callable, wait_for_lock_seconds: float, poll_seconds: float = 5.0, **kwargs):
    """``audit_fn(**kwargs)``; while another run holds the output folder's lock, wait for it
    (up to ``wait_for_lock_seconds``) instead of failing at once. Nothing is written before
    the lock is taken, so trying again is safe."""
    deadline = time.monotonic() + wait_for_lock_seconds
    waited = False
    while True:
        try:
            return audit_fn(**kwargs)
        except RunLocked as err:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunLocked(f"{err} (waited {wait_for_lock_seconds:g} s)") from None
            if not waited:
                log.info(f"{err}: waiting up to {wait_for_lock_seconds:g} s")
                waited = True
            time.sleep(min(poll_seconds, remaining))


def takes_previous_results(audit_fn: Callable) -> bool:
    params = inspect.signature(audit_fn).parameters
    return "previous_results" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _call(audit_fn: Callable, previous: Path | None, wait_for_lock_seconds: float, **kwargs):
    """Run the audit, waiting for the output lock; pass the previous results when the audit
    function takes them (the reports layer's audit-to-audit comparison). Returns the
    summary and whether the comparison was made."""
    compared = previous is not None and takes_previous_results(audit_fn)
    if compared:
        kwargs["previous_results"] = previous
    elif previous is not None:
        log.info(f"previous results {previous} found, but this run_audit takes no previous_results: no comparison")
    return run_with_lock_wait(audit_fn, wait_for_lock_seconds, **kwargs), compared


def _default_audit():
    from pipelines.audit import run_audit

    return run_audit


def audit_delivery(path: Path, results: Path, *, entry: InboxEntry | None = None, trigger: str = "manual",
                   wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS,
                   audit_fn: Callable | None = None, now: float | None = None) -> dict:
    """Audit one delivery into ``results/periods/<period>`` and record it. Returns the record
    (status published); raises ``OperationFailed`` (status refused or failed) otherwise."""
    store = ResultsStore(results)
    path = Path(path).absolute()
    entry = entry or describe(path, now if now is not None else time.time(), settle_seconds=0)
    started, t0 = utc_now(), time.monotonic()
    record = {"kind": KIND_DELIVERY, "trigger": trigger, "delivery_key": entry.key, "delivery_id": entry.delivery_id,
              "source": entry.reference, "period": entry.period,
              "extract_date": entry.extract_date.isoformat() if entry.extract_date else "",
              "version": entry.version, "started_at": started}

    def finish(status: str, message: str, **extra) -> dict:
        done = store.add({**record, "status": status, "message": message, **extra,
                          "finished_at": utc_now(), "seconds": round(time.monotonic() - t0, 2)})
        if status != PUBLISHED:
            raise OperationFailed(done)
        return done

    if not entry.complete:
        return finish(REFUSED, f"delivery refused: {entry.reason.removeprefix('incomplete: ')}")
    if entry.extract_date is None:
        return finish(REFUSED, "delivery refused: no extract date — the delivery has no manifest.json with "
                               "extracted_at and its name holds no yyyy-mm-dd date; add a manifest or rename it "
                               "(for example DMDB-2026-11-01)")
    try:
        with store.period_turn(entry.period, wait_for_lock_seconds):
            return _audit_in_turn(store, entry, path, record, finish, wait_for_lock_seconds, audit_fn)
    except RunLocked as err:  # waited too long for another delivery of the same period
        return finish(FAILED, _message(err))


def _audit_in_turn(store: ResultsStore, entry: InboxEntry, path: Path, record: dict, finish: Callable,
                   wait_for_lock_seconds: float, audit_fn: Callable | None) -> dict:
    current = store.published(entry.period)
    if (current and current["delivery_id"] == entry.delivery_id and current["extract_date"] == record["extract_date"]
            and int(current.get("version", 1)) == entry.version and current.get("delivery_key") != entry.key):
        return finish(REFUSED, f"delivery refused: duplicate of the delivery already published for {entry.period} "
                               f"(same extract_id {entry.delivery_id}, extracted_at {record['extract_date']} and version "
                               f"{entry.version}); it does not replace it. A correction needs a later extracted_at or a "
                               "higher manifest \"version\"", duplicate_of=current.get("delivery_key", ""))
    if current and current["delivery_id"] != entry.delivery_id and \
            (entry.version, record["extract_date"]) < (int(current.get("version", 1)), current["extract_date"]):
        return finish(REFUSED, f"delivery refused: period {entry.period} already has results from the newer delivery "
                               f"{current['delivery_id']} (version {current.get('version', 1)}, extracted "
                               f"{current['extract_date']}); an older delivery never replaces them")

    out_dir = store.period_dir(entry.period)
    previous = store.previous_results(entry.period)
    audit_fn = audit_fn or _default_audit()
    try:
        summary, compared = _call(audit_fn, previous, extract=path, out_dir=out_dir,
                                  extract_date=entry.extract_date, wait_for_lock_seconds=wait_for_lock_seconds)
    except Exception as err:  # AuditError: its message; anything else: a short scrubbed one
        return finish(_status_of(err), _message(err),
                      **({"published_kept": current["delivery_id"]} if current else {}))
    return finish(PUBLISHED, f"published {entry.period} from {entry.delivery_id}", out_dir=str(out_dir),
                  extract_id=entry.delivery_id,  # as run.json has it: checked, CPR-shaped tokens pseudonymised
                  previous_results=str(previous) if previous else "", compared_with_previous=compared)


KIND_MONTHLY = "monthly"


def monthly_audit(period: str, inbox: Path, results: Path, *, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                  wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS, audit_fn: Callable | None = None,
                  now: float | None = None) -> dict:
    """The monthly departmental adherence audit of ``period`` (YYYY-MM): audit the period's
    newest complete delivery in the inbox unless exactly that delivery was audited already
    (by the inbox sensor). A missing or refused delivery fails the run with a clear message:
    a month without a usable delivery is something the registry has to notice."""
    store = ResultsStore(results)
    now = time.time() if now is None else now
    inbox = Path(inbox)
    entries = [describe(p, now, settle_seconds) for p in candidates(inbox) if peek_period(p) == period]
    ready = [e for e in entries if e.state == READY and e.complete]
    if ready:
        best = max(ready, key=lambda e: (e.version, e.extract_date, newest_mtime(e.path)))
        done = store.handled(best.key)
        if done and done["status"] == PUBLISHED:
            return {**done, "status": SKIPPED,
                    "message": f"{period} already audited from {best.delivery_id} ({done.get('trigger')}, "
                               f"{done.get('finished_at')}); results in {done.get('out_dir')}"}
        if done and done["status"] == REFUSED:  # reported again, never run again
            raise OperationFailed({**done, "message": f"the delivery for {period} ({best.delivery_id}) was refused "
                                                      f"and is not retried: {done['message']}"})
        return audit_delivery(best.path, results, entry=best, trigger=KIND_MONTHLY,
                              wait_for_lock_seconds=wait_for_lock_seconds, audit_fn=audit_fn)
    current = store.published(period)
    if current:
        return {**current, "status": SKIPPED,
                "message": f"{period} already audited from {current['delivery_id']}; results in {current['out_dir']}"}
    latest = store.latest_good()
    message = f"no complete delivery for {period} in {inbox}"
    waiting = [f"{e.name} ({e.reason})" for e in entries if e.state != READY]
    if waiting:
        message += "; waiting: " + "; ".join(waiting)
    if latest:
        message += f"; the results of {latest['period']} ({latest['delivery_id']}) stay published"
    raise OperationFailed(store.add({"kind": KIND_MONTHLY, "trigger": KIND_MONTHLY, "period": period,
                                     "status": FAILED, "message": message, "finished_at": utc_now()}))


def national_report(year: int, results: Path, *, wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS,
                    audit_fn: Callable | None = None) -> dict:
    """The yearly national report for ``year``: the newest good delivery extracted after the
    year ended is audited again into ``results/national/<year>``, compared with the national
    run of the year before (year-on-year rather than month-on-month)."""
    store = ResultsStore(results)
    started, t0 = utc_now(), time.monotonic()
    covering = [r for r in store.good() if r.get("extract_date", "") > f"{year}-12-31"]
    record = {"kind": KIND_NATIONAL, "trigger": "yearly", "year": year, "started_at": started}

    def finish(status: str, message: str, **extra) -> dict:
        done = store.add({**record, "status": status, "message": message, **extra,
                          "finished_at": utc_now(), "seconds": round(time.monotonic() - t0, 2)})
        if status != PUBLISHED:
            raise OperationFailed(done)
        return done

    if not covering:
        latest = store.latest_good()
        return finish(FAILED, f"no good results from a delivery extracted after 31-12-{year} yet, so {year} is not "
                              "complete in any audited delivery" + (f" (newest: {latest['delivery_id']}, extracted "
                                                                    f"{latest['extract_date']})" if latest else ""))
    source = max(covering, key=lambda r: (r["extract_date"], r["period"]))
    record.update(delivery_key=source["delivery_key"], delivery_id=source["delivery_id"], source=source["source"],
                  extract_date=source["extract_date"], period=source["period"])
    if not resolve(source["source"]).exists():
        return finish(FAILED, f"the delivery {source['delivery_id']} behind the results of {source['period']} is no "
                              f"longer at {source['source']}; put it back to run the national report for {year}")
    out_dir = store.national_dir(year)
    previous = store.previous_national(year)
    try:
        _, compared = _call(audit_fn or _default_audit(), previous, wait_for_lock_seconds, extract=resolve(source["source"]),
                            out_dir=out_dir, extract_date=date.fromisoformat(source["extract_date"]))
    except Exception as err:
        return finish(_status_of(err), _message(err))
    return finish(PUBLISHED, f"national report {year} from {source['delivery_id']}", out_dir=str(out_dir),
                  previous_results=str(previous) if previous else "", compared_with_previous=compared)


INBOX_STATE = ".inbox-state.json"


def process_inbox(inbox: Path, results: Path, *, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                  give_up_seconds: float | None = None, wait_for_lock_seconds: float = DEFAULT_WAIT_FOR_LOCK_SECONDS,
                  retry_failed: bool = False, audit_fn: Callable | None = None, now: Callable[[], float] = time.time,
                  wait_to_settle: bool = True) -> dict:
    """One pass over the inbox without Dagster: audit every complete delivery not handled
    before, oldest period first. Observations are kept in ``results/.inbox-state.json``;
    deliveries without a manifest that are still settling are waited for once (at most
    ``settle_seconds``) when ``wait_to_settle``. Two passes on one results folder at once:
    the second stops with a clear message. Returns {"published": [...], "refused": [...],
    "failed": [...], "waiting": [...], "already": [...]}."""
    import fcntl
    import json

    from pipelines.operations.inbox import DEFAULT_GIVE_UP_SECONDS, scan

    give_up_seconds = DEFAULT_GIVE_UP_SECONDS if give_up_seconds is None else give_up_seconds
    store = ResultsStore(results)
    store.root.mkdir(parents=True, exist_ok=True)
    from pipelines.lib.publish import lock_file

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
                report["published"].append(audit_delivery(entry.path, results, entry=entry, trigger="inbox",
                                                           wait_for_lock_seconds=wait_for_lock_seconds,
                                                           audit_fn=audit_fn))
            except OperationFailed as err:
                report[err.record["status"]].append(err.record)
        return report
