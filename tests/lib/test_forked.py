"""Work beside the run in a forked process (``pipelines/lib/forked.py``): its result or its
error comes back; a forked process that dies leaves the work to this one; with one core the
work is done here."""

from __future__ import annotations

import os

import pytest

from pipelines.lib import forked
from pipelines.lib.forked import Beside


def _where(x: int) -> tuple[int, int]:
    return x * 2, os.getpid()


def _fails() -> None:
    raise OSError(28, "No space left on device")


def _dies() -> None:
    if os.environ.get("FORKED_TEST_PARENT") != str(os.getpid()):
        os._exit(1)


def test_the_work_runs_in_another_process_and_its_result_comes_back():
    with Beside(_where, 21) as beside:
        value, pid = beside.result()
    assert value == 42 and pid != os.getpid()


def test_the_process_ends_when_its_work_is_done_before_the_result_is_taken():
    """A forked process left idle would keep every page this process writes to since the fork
    (the summary's workbook process grew to 3.4 GB at 1M while waiting for publishing)."""
    import multiprocessing
    import time

    before = set(multiprocessing.active_children())
    with Beside(_where, 21) as beside:
        deadline = time.monotonic() + 30
        while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not set(multiprocessing.active_children()) - before, "the process outlived its work"
        value, pid = beside.result()  # the result is still there
    assert value == 42 and pid != os.getpid()


def _key_variables() -> list[str]:
    return [name for name in os.environ if name.startswith("MYELOMA_AUDIT_") and "KEY" in name]


def test_a_fresh_process_is_started_without_the_key_variables(monkeypatch):
    """What a fresh process does (the dashboards, the summary's workbook) never needs a key."""
    if not forked.more_than_one_core():
        pytest.skip("one core: the work is done here")
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "a-key-a-fresh-process-never-sees-0123456789")
    monkeypatch.setenv("MYELOMA_AUDIT_REID_KEY", "another-key-it-never-sees-0123456789abcdef")
    with Beside(_key_variables, fresh=True) as beside:
        assert beside.result() == []
    assert sorted(_key_variables()) == ["MYELOMA_AUDIT_KEY", "MYELOMA_AUDIT_REID_KEY"]  # back here


def test_an_error_of_the_work_is_raised_here():
    with Beside(_fails) as beside, pytest.raises(OSError, match="No space left"):
        beside.result()


def test_a_forked_process_that_dies_leaves_the_work_to_this_one(monkeypatch):
    monkeypatch.setenv("FORKED_TEST_PARENT", str(os.getpid()))
    with Beside(_dies) as beside:
        assert beside.result() is None     # done here: this process is the parent


def test_with_one_core_the_work_is_done_here(monkeypatch):
    monkeypatch.setattr(forked.os, "cpu_count", lambda: 1)
    with Beside(_where, 1) as beside:
        assert beside.result() == (2, os.getpid())


def _collector_state() -> tuple[int, bool, bool]:
    import gc
    import signal

    return gc.get_freeze_count(), gc.isenabled(), signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_forked_process_never_walks_what_it_inherited_and_runs_its_initializer():
    """Everything a forked process inherits is frozen for its garbage collector (the collector
    stays on for what the process itself makes), and the pool's initializer still runs."""
    import gc

    before = gc.get_freeze_count()
    workers = forked.pool(1)
    try:
        frozen, enabled, default_sigterm = workers.submit(_collector_state).result()
    finally:
        workers.shutdown(wait=True)
    assert frozen > 1000 and enabled and default_sigterm
    assert gc.get_freeze_count() == before  # this process is left as it was


UNGUARDED_SCRIPT = """
import sys
from pathlib import Path
from pipelines.lib.forked import Beside
from pipelines.reports.summary_workbook import write_summary_xlsx

Path(sys.argv[1]).open("a").write("ran\\n")  # no __main__ guard, as a caller's quick script may be
with Beside(write_summary_xlsx, [("MM01", 2026)], ["indicator_id", "year"], Path(sys.argv[2]), fresh=True) as beside:
    beside.result()
"""


def test_a_fresh_process_does_not_run_the_callers_script_again(tmp_path):
    """Multiprocessing's spawn imports the parent's main script in the child; a script without
    a ``__main__`` guard would run a second time there (a second audit, for a script that
    runs one)."""
    import subprocess
    import sys

    if not forked.more_than_one_core():
        pytest.skip("one core: the work is done here")
    script, log, workbook = tmp_path / "audit_script.py", tmp_path / "ran.txt", tmp_path / "summary.xlsx"
    script.write_text(UNGUARDED_SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(log), str(workbook)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert log.read_text() == "ran\n"
    assert workbook.stat().st_size > 0
    assert "Traceback" not in done.stderr


def test_the_resource_tracker_of_the_fresh_processes_is_ended_and_waited_for():
    """The command ends with ``os._exit``: multiprocessing's resource tracker, started with the
    first fresh process, would end just after it, unwaited for (a defunct process per run in a
    container whose first process does not reap orphans)."""
    from multiprocessing import resource_tracker

    if not forked.more_than_one_core():
        pytest.skip("one core: no fresh process, no tracker")
    with Beside(_where, 21, fresh=True) as beside:
        beside.result()
    tracker = resource_tracker._resource_tracker._pid
    assert tracker is not None, "a fresh process starts the tracker"
    forked.end_resource_tracker()
    with pytest.raises(ChildProcessError):  # already ended and waited for: no longer a child
        os.waitpid(tracker, os.WNOHANG)
    forked.end_resource_tracker()  # again: nothing to end


def _sleeps(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_the_resource_tracker_is_left_alone_while_a_process_started_here_runs():
    """A process still running holds the tracker's pipe open: ending the tracker then would
    wait as long as that process does."""
    import time
    from multiprocessing import resource_tracker

    if not forked.more_than_one_core():
        pytest.skip("one core: no fresh process, no tracker")
    with Beside(_sleeps, 3, fresh=True) as beside:
        started = time.monotonic()
        forked.end_resource_tracker()
        assert time.monotonic() - started < 1, "it waited for the running process"
        assert resource_tracker._resource_tracker._pid is not None
        assert beside.result() == 3
    forked.end_resource_tracker()
    assert resource_tracker._resource_tracker._pid is None
