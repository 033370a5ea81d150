"""Ctrl-C and SIGTERM: one line, exit 130 / 143, the published results unchanged.

A Python signal handler runs only in the main thread between two bytecodes, so a run busy in
native code (a DuckDB query, a polars operation) would hear of the signal only when that
call returns, and Dagster replaces the handlers while it executes a run. Instead the signal
is delivered through ``signal.set_wakeup_fd`` (written by the interpreter's C-level handler
whatever Python handler is installed) to a watcher thread, which

1. silences the process's stdout and stderr (a thread failing while its folder disappears
   must not print a traceback), waits for a publishing swap in progress to finish (``critical``),
2. ends the processes the run started (the forked and fresh ones of ``lib.forked``, the
   validation process) and removes the folders the run created and has not published
   (``owned``; renamed first, since the run's other threads go on until the process ends and
   a step that opens the database by its path would make the file again),
3. prints ``myeloma-audit: stopped; previous results unchanged`` (or, when the swap had just
   been made, that the new results were published) and ends the process with 128 + signal.

Used by the command (``pipelines.cli``) around everything it does; ``stop_cleanly`` restores
the previous handlers afterwards, so calling the command from Python (tests) leaves no trace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

STOPPED = "myeloma-audit: stopped; previous results unchanged"
STOPPED_AFTER_PUBLISHING = "myeloma-audit: stopped after the new results had been published"
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_critical = threading.RLock()
_state = {"owned": [], "published": False, "stopping": False, "active": False}


@contextmanager
def critical():
    """A step a stop must not cut in two (the swap of the output folder)."""
    with _critical:
        yield


def mark_published() -> None:
    _state["published"] = True


@contextmanager
def owned(path: Path):
    """``path`` is removed if the process is stopped while inside this block."""
    _state["owned"].append(Path(path))
    try:
        yield
    finally:
        try:
            _state["owned"].remove(Path(path))
        except ValueError:
            pass


def stopping() -> bool:
    return _state["stopping"]


def wait_if_stopping(grace: float = 0.2) -> None:
    """On an error path: if a stop signal is being handled, give the watcher the moment it
    needs and never return (it ends the process), so no second message is printed."""
    if not _state["active"]:
        return
    deadline = time.monotonic() + grace
    while not _state["stopping"] and time.monotonic() < deadline:
        time.sleep(0.01)
    while _state["stopping"]:
        time.sleep(1)


def _stop(signum: int) -> None:
    _state["stopping"] = True
    # from now on the process says nothing else: whatever the other threads print while their
    # folders disappear (a traceback of a failing background thread) goes nowhere
    stderr = os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    with _critical:  # a swap in progress finishes first
        _end_children()  # first: a child still writing could make a removed folder again
        for path in list(_state["owned"]):
            _remove(path)
        message = STOPPED_AFTER_PUBLISHING if _state["published"] else STOPPED
        try:
            os.write(stderr, (message + "\n").encode())
        finally:
            os._exit(128 + signum)


def _end_children() -> None:
    """The processes this one started end with it, and are waited for (up to a second) before
    the run's folders go: the suppression's forks, the dashboards' and the workbook's fresh
    processes, and the validation process, which would otherwise end only with this one and
    may be writing the quality report meanwhile (making the run's folder again). A stop sent to
    this process alone (``kill``, a scheduler) does not reach them."""
    import multiprocessing

    with contextlib.suppress(Exception):  # the process ends anyway; nothing to say
        for child in multiprocessing.active_children():
            child.kill()
    children = _child_pids()
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 1.0
    for pid in children:
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:  # waited for already (multiprocessing's own)
                break
            time.sleep(0.01)


def _child_pids() -> list[int]:
    """The processes whose parent this one is (Linux: read from /proc; elsewhere none)."""
    me, pids = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                pids.append(int(stat.parent.name))
    return pids


def _remove(path: Path) -> None:
    """An owned folder, while this process's other threads may still write into it: renamed
    first, so that a file made by its path afterwards (a step opening the database) has no
    folder to go into, then removed; removed again if a folder maker made it anew meanwhile."""
    doomed = path.with_name(f".{path.name}.stopped")
    try:
        os.rename(path, doomed)
    except OSError:  # gone already, or not to be renamed: removed where it is
        doomed = path
    shutil.rmtree(doomed, ignore_errors=True)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _watch(read_fd: int) -> None:
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:  # stop_cleanly closed the pipe
            return
        for signum in data:
            if signum in SIGNALS:
                _stop(signum)


def _ignore(signum, frame) -> None:  # the watcher acts; the main thread goes on until it does
    pass


@contextmanager
def stop_cleanly():
    """Install the watcher (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous = {s: signal.signal(s, _ignore) for s in SIGNALS}
    watcher = threading.Thread(target=_watch, args=(read_fd,), name="myeloma-audit-signals", daemon=True)
    watcher.start()
    _state.update(owned=[], published=False, stopping=False, active=True)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_fd)
        _state["active"] = False
        os.close(write_fd)
        watcher.join(timeout=5)
        os.close(read_fd)
