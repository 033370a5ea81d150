"""Plain Python work on the machine's other core: forked worker processes for CPU-bound work
(small-cell suppression, the drill-down texts of a large patient table) that holds the GIL for
a second or more while this process has other work to do. A process ends as soon as its work
is done.

What runs in a forked process must use only the data it is given and the standard library,
numpy, xlsxwriter, markupsafe or plain Python of this project: not polars or DuckDB, whose thread pools the fork does not copy. Its
arguments and result are pickled. If a forked process dies, the caller does the work itself
(the work is pure, so the result is the same).

Work that needs polars, or that runs while this process rewrites much of its memory (a fork
keeps the pages this process writes to as they were), runs in a *fresh* process instead
(``fresh=True``: spawned, a new interpreter that imports what the work needs, ≈ 0.3-0.6 s of
the other core before it starts; started with the environment minus the key variables, as the
validation process is): the dashboards, the summary's workbook.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def default_signals() -> None:
    """A forked worker is stopped by Ctrl-C or SIGTERM itself: the command's stop handling
    (``lib.signals``: a watcher thread, which the fork did not copy) is the parent's."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


LOW_PRIORITY = 10


def yield_cores() -> None:
    """This process runs only where the run's own work leaves a core free (``nice``): the
    forked processes started ahead and the validation process (``quality/worker.py``)."""
    with contextlib.suppress(OSError):
        os.nice(LOW_PRIORITY)


def more_than_one_core() -> bool:
    return (os.cpu_count() or 1) > 1


def pool(workers: int, initializer: Callable[[], None] = default_signals, *, fresh: bool = False) -> ProcessPoolExecutor:
    if fresh:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=initializer)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_in_the_fork, initargs=(initializer,))


QUIET_RESOURCE_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


@contextlib.contextmanager
def _started_fresh() -> Iterator[None]:
    """While a fresh process is started (``submit`` starts it): the work is given what it needs
    and never sees a key (MYELOMA_AUDIT_KEY, MYELOMA_AUDIT_REID_KEY, any later key variable),
    and the new interpreter does not run this program's main script again. Multiprocessing's
    spawn imports the parent's ``__main__`` in the child; a caller's own script without an
    ``if __name__ == "__main__"`` guard would start a second audit there. A bare module stands
    in for ``__main__`` for the moment of the start (the work functions live in this package).

    Multiprocessing's resource tracker, started with the first fresh process, outlives a run
    that is stopped (``lib.signals`` ends the run's processes) and would then print a warning
    about the pool's semaphores, which it removes, after the run's one line: it is started
    with that warning ignored (``PYTHONWARNINGS``, added to the caller's own)."""
    keys = {name: os.environ.pop(name) for name in list(os.environ)
            if name.startswith("MYELOMA_AUDIT_") and "KEY" in name}
    warnings_before = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [warnings_before, QUIET_RESOURCE_TRACKER]))
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
        if warnings_before is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = warnings_before
        os.environ.update(keys)


def end_resource_tracker() -> None:
    """End multiprocessing's resource tracker, if a fresh process started it, and wait for it:
    for a command that ends with ``os._exit``. Left to itself it ends just after the command
    (on the end of its pipe), as a child nobody waits for; where the first process of a
    container does not reap orphans (no init), each run would leave one defunct process.
    Not while a process started here still runs: it holds the tracker's pipe open, so the
    tracker would not end and the wait would last as long as that process."""
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    if tracker is not None and not multiprocessing.active_children():
        with contextlib.suppress(Exception):
            tracker._resource_tracker._stop()  # noqa: SLF001 - the standard library's own way to end it


def _in_the_fork(initializer: Callable[[], None]) -> None:
    """First thing in a forked process: what it inherited is never walked by its garbage
    collector (``gc.freeze``). Another thread of the parent may have been changing an object
    when it forked (a forked process of the test suite crashed in its collector's walk), and a
    walk would write to every inherited page, copying the parent's memory."""
    gc.freeze()
    initializer()


class Beside:
    """``with Beside(work, *args) as beside:`` starts ``work(*args)`` in a forked process (a
    fresh one with ``fresh=True``; with one core, the work runs when asked);
    ``beside.result()`` waits for it and returns its result or raises its error. Leaving the
    block ends the process."""

    def __init__(self, work: Callable[..., Any], *args: Any, fresh: bool = False) -> None:
        self._work, self._args, self._fresh = work, args, fresh
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future | None = None
        self._ending: threading.Thread | None = None
        self._shutting_down = threading.Lock()

    def __enter__(self) -> Beside:
        if more_than_one_core():
            with _started_fresh() if self._fresh else contextlib.nullcontext():
                self._pool = pool(1, fresh=self._fresh)  # (starts the resource tracker, for a fresh one)
                self._future = self._pool.submit(self._work, *self._args)  # starts the process
            self._future.add_done_callback(self._end_when_done)
        return self

    def _end_when_done(self, _: Future) -> None:
        """The process ends as soon as its work is done, not when the result is taken: a forked
        process kept alive holds on to every page of this process's memory as it was at the
        fork that this process has written to since (at 1M the summary's workbook process, idle
        until publishing, grew to 3.4 GB). Its result stays in the future. The pool is shut down
        from a thread of its own: this callback runs in the pool's own management thread."""
        self._ending = threading.Thread(target=self._shut_down, name="beside-ending")
        self._ending.start()

    def _shut_down(self, cancel: bool = False) -> None:
        with self._shutting_down:  # the pool's shutdown is not safe from two threads at once
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=cancel)

    def result(self) -> Any:
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenProcessPool:
                pass  # the forked process died: the work is pure, done here
        return self._work(*self._args)

    def __exit__(self, *exc: object) -> None:
        self._shut_down(cancel=True)
        if self._ending is not None:
            self._ending.join()
