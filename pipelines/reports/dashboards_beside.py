"""The dashboards a run's department-lists step started in a fresh process (``writer.
write_departments(..., dashboards_beside=True)``): they are written on the machine's other
core while this process writes the department lists, the contract and the national report.
Above the size a fresh process is worth (or on one core), that step writes them itself, after
the lists and from the same rows, and keeps their counts. The dashboards step takes them
(``take``: waits, returns the counts, raises their error); a run that stops before that ends
them (``discard``) before its folder is removed."""

from __future__ import annotations

from pathlib import Path

from pipelines.lib.forked import Beside

_started: dict[Path, Beside | dict] = {}  # a process at work, or the counts of dashboards written


def keep(out_dir: Path, dashboards: Beside | dict) -> None:
    """The dashboards' process at work, or the counts of dashboards already written."""
    discard_for(out_dir)
    _started[Path(out_dir)] = dashboards


def take(out_dir: Path) -> dict | None:
    """The counts of the dashboards kept for ``out_dir`` (waited for, where a process writes
    them); None if none were kept."""
    beside = _started.pop(Path(out_dir), None)
    if beside is None or isinstance(beside, dict):
        return beside
    try:
        return beside.result()
    finally:
        beside.__exit__(None, None, None)


def discard_for(out_dir: Path) -> None:
    beside = _started.pop(Path(out_dir), None)
    if isinstance(beside, Beside):
        beside.__exit__(None, None, None)


def discard() -> None:
    """Wait for every dashboards process not taken to end (a stopped run's: Ctrl-C and SIGTERM
    stop it too), so nothing is written into the run's folder once it is removed."""
    for out_dir in list(_started):
        discard_for(out_dir)
