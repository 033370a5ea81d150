"""Deliveries over time: where each delivery's results live, and what happened to each.

Layout of a results folder::

    results/
      history.json           every delivery handled: id, period, status, message, where its results are
      periods/2026-11/       the published results of the period's current delivery (run_audit's out_dir)
      periods/2026-12/
      national/2025/         the yearly national report run for 2025
      latest -> periods/2026-12   the newest period with good results

A period (the month of the extract date) has one results folder. A corrected re-delivery of
the same period is audited into that same folder and replaces it atomically (no duplicates);
its history record says which delivery it replaced. A refused delivery publishes nothing, so
the last good results stay where they were and ``latest`` keeps pointing at them.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from pipelines.lib.errors import RunLocked
from pipelines.lib.publish import lock_file

HISTORY = "history.json"
PERIODS = "periods"
NATIONAL = "national"
LATEST = "latest"

PUBLISHED, REFUSED, FAILED, SKIPPED = "published", "refused", "failed", "skipped"
KIND_DELIVERY, KIND_NATIONAL, KIND_MONTHLY = "delivery", "national", "monthly"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultsStore:
    """The results folder of one registry installation (safe for several processes)."""

    def __init__(self, root: Path):
        self.root = Path(root).absolute()

    # where things are -----------------------------------------------------------------------
    def period_dir(self, period: str) -> Path:
        return self.root / PERIODS / period

    def national_dir(self, year: int) -> Path:
        return self.root / NATIONAL / str(year)

    @property
    def history_path(self) -> Path:
        return self.root / HISTORY

    # the record ------------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with lock_file(self.root / ".history.lock") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # held for milliseconds only
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def records(self) -> list[dict]:
        try:
            return json.loads(self.history_path.read_text(encoding="utf-8"))["runs"]
        except FileNotFoundError:
            return []

    def _write(self, runs: list[dict]) -> None:
        tmp = self.root / f".{HISTORY}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps({"version": 1, "runs": runs}, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.history_path)

    def add(self, record: dict) -> dict:
        """Append one record (and mark the period's earlier results as replaced)."""
        record = {"recorded_at": utc_now(), **record}
        with self._locked():
            runs = self.records()
            if record.get("status") == PUBLISHED and record.get("kind") == KIND_DELIVERY:
                for old in runs:
                    if (old.get("kind") == KIND_DELIVERY and old.get("period") == record.get("period")
                            and old.get("status") == PUBLISHED and not old.get("replaced_by")):
                        old["replaced_by"] = record.get("delivery_key")
                        record.setdefault("replaced", []).append(old.get("delivery_key"))
            runs.append(record)
            self._write(runs)
        if record.get("status") == PUBLISHED and record.get("kind") == KIND_DELIVERY:
            self.update_latest()
        return record

    @contextmanager
    def period_turn(self, period: str, wait_seconds: float, poll_seconds: float = 1.0):
        """One delivery of a period at a time, from deciding whether it may replace the
        published one until it is published (waits up to ``wait_seconds``)."""
        folder = self.root / PERIODS
        folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        with lock_file(folder / f".{period}.turn") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RunLocked(f"another delivery of {period} is being audited into {folder / period}; "
                                        f"waited {wait_seconds:g} s") from None
                    time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0.01)))
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # questions -------------------------------------------------------------------------------
    def handled(self, delivery_key: str) -> dict | None:
        """The last record of this exact delivery, whatever became of it."""
        found = [r for r in self.records() if r.get("delivery_key") == delivery_key and r.get("kind") == KIND_DELIVERY]
        return found[-1] if found else None

    def published(self, period: str) -> dict | None:
        """The record of the delivery whose results are published for ``period``."""
        found = [r for r in self.records() if r.get("kind") == KIND_DELIVERY and r.get("period") == period
                 and r.get("status") == PUBLISHED and not r.get("replaced_by")]
        return found[-1] if found else None

    def good(self) -> list[dict]:
        """Current published results, one per period, oldest period first."""
        by_period = {}
        for r in self.records():
            if r.get("kind") == KIND_DELIVERY and r.get("status") == PUBLISHED and not r.get("replaced_by"):
                by_period[r["period"]] = r
        return [by_period[p] for p in sorted(by_period)]

    def latest_good(self) -> dict | None:
        good = self.good()
        return good[-1] if good else None

    def previous_results(self, period: str) -> Path | None:
        """``patient_results.csv`` of the newest earlier period with good results: the
        previous audit, for the audit-to-audit comparison."""
        for record in reversed(self.good()):
            if record["period"] < period:
                path = self.period_dir(record["period"]) / "patient_results.csv"
                if path.is_file():
                    return path
        return None

    def previous_national(self, year: int) -> Path | None:
        found = [r for r in self.records() if r.get("kind") == KIND_NATIONAL and r.get("status") == PUBLISHED
                 and int(r.get("year", 0)) < year]
        for record in sorted(found, key=lambda r: int(r["year"]), reverse=True):
            path = self.national_dir(int(record["year"])) / "patient_results.csv"
            if path.is_file():
                return path
        return None

    def update_latest(self) -> None:
        """Point ``latest`` at the newest period with good results (one atomic rename)."""
        newest = self.latest_good()
        if newest is None:
            return
        target = Path(PERIODS) / newest["period"]
        link = self.root / LATEST
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return
        tmp = self.root / f".{LATEST}.{uuid.uuid4().hex[:8]}"
        os.symlink(target, tmp)
        os.replace(tmp, link)
