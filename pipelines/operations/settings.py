"""Where the inbox and the results folder are, for the sensor and the schedules: from the
environment, read when they are evaluated (so ``myeloma-audit ui --inbox … --results …``,
a systemd unit or a shell profile configures them without code), and the operations' default
waiting times. Standard library only: the command's ``--help`` reads this module."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

INBOX_ENV = "MYELOMA_AUDIT_INBOX"
RESULTS_ENV = "MYELOMA_AUDIT_RESULTS"
SETTLE_ENV = "MYELOMA_AUDIT_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 120          # a delivery without manifest.json: unchanged this long
DEFAULT_GIVE_UP_SECONDS = 6 * 3600    # an incomplete delivery unchanged this long is refused once
DEFAULT_WAIT_FOR_LOCK_SECONDS = 900   # a run waits this long for another one on the same results
NOT_CONFIGURED = (f"not configured: set {INBOX_ENV} (the inbox folder deliveries are dropped into) and "
                  f"{RESULTS_ENV} (the results folder), e.g. with myeloma-audit ui --inbox DIR --results DIR")


def configured_paths(inbox: Path | str | None = None, results: Path | str | None = None) -> tuple[Path, Path] | None:
    """The given folders, else the environment's; None when either is missing."""
    inbox = inbox or os.environ.get(INBOX_ENV)
    results = results or os.environ.get(RESULTS_ENV)
    if not inbox or not results:
        return None
    return Path(inbox).expanduser().absolute(), Path(results).expanduser().absolute()


def settle_seconds(given: float | None = None) -> float:
    if given is not None:
        return given
    return float(os.environ.get(SETTLE_ENV) or DEFAULT_SETTLE_SECONDS)


def results_tag(results: Path) -> str:
    """A short tag value naming one results folder (dagster.yaml allows one run per value)."""
    return f"{Path(results).name[:40]}-{hashlib.sha256(str(results).encode()).hexdigest()[:10]}"
