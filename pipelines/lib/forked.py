"""Plain Python work on the machine's other core: forked worker processes for CPU-bound work
(small-cell suppression, a workbook written cell by cell, the drill-down texts of a large
patient table) that holds the GIL for a second or more while this process has other work to do.

What runs in a forked process must use only the data it is given and the standard library,
numpy, xlsxwriter, markupsafe or plain Python of this project: not polars or DuckDB, whose thread pools the fork does not copy. Its
arguments and result are pickled. If a forked process dies, the caller does the work itself
(the work is pure, so the result is the same).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable
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


def pool(workers: int, initializer: Callable[[], None] = default_signals) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_in_the_fork, initargs=(initializer,))


def _in_the_fork(initializer: Callable[[], None]) -> None:
    """First thing in a forked process: what it inherited is never walked by its garbage
    collector (``gc.freeze``). Another thread of the parent may have been changing an object
    when it forked (a forked process of the test suite crashed in its collector's walk), and a
    walk would write to every inherited page, copying the parent's memory."""
    gc.freeze()
    initializer()


class Beside:
    """``with Beside(work, *args) as beside:`` starts ``work(*args)`` in a forked process (or,
    with one core, runs it when asked); ``beside.result()`` waits for it and returns its result
    or raises its error. Leaving the block ends the forked process."""

    def __init__(self, work: Callable[..., Any], *args: Any) -> None:
        self._work, self._args = work, args
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future | None = None

    def __enter__(self) -> Beside:
        if more_than_one_core():
            self._pool = pool(1)
            self._future = self._pool.submit(self._work, *self._args)
        return self

    def result(self) -> Any:
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenProcessPool:
                pass  # the forked process died: the work is pure, done here
        return self._work(*self._args)

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
