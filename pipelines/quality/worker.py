"""Great Expectations in a second process, started when a run starts.

Importing Great Expectations costs ≈ 2 s of one core (``lib.deferred_imports``), and the run
needs it only once the staging tables are written. :func:`started` (entered by the destination
when a run starts; the command line starts one even earlier, :func:`prestarted`) launches
``python -m pipelines.quality.worker``, which imports GX on the machine's other core while
this process reads and stages the delivery, then waits. When staging is done the run hands it
the database (``take().submit(..., snapshot=folder)``, from ``verdict.hand_over``): the file is
copied into the run's own folder and the worker judges the copy, with the same
:func:`runner.run_suites` as in this process, while the run goes on writing the database;
``answer()`` waits for the outcomes (pickled) and removes the copy. The worker then writes
the Data Docs and failing-rows files; :func:`pages_written` waits for those pages: the
destination calls it before it publishes the run's folder or keeps a blocked run's quality
report. (``validate`` = ``submit`` without a copy + ``answer``: the worker opens the file
itself, read-only, when this process holds no connection to it.)

Nothing changes in what is judged. Where no worker is waiting (a test materialising the
check, a step in another process), or the worker cannot open the database or stops, the suites
run in the asking process as before. An error of the validation itself
(``QualityEngineError``) is raised there as it would have been.

The worker gets this process's environment without the keys: it never sees a key.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from pipelines.lib import forked

_spare: "_Worker | None" = None     # started by the command line, not yet adopted by a run
_waiting: "_Worker | None" = None    # adopted by the running run, not yet asked
_writing: "_Worker | None" = None    # has answered, is writing the quality report


def _is_key(name: str) -> bool:
    """MYELOMA_AUDIT_KEY, MYELOMA_AUDIT_REID_KEY and any later key variable."""
    return name.startswith("MYELOMA_AUDIT_") and "KEY" in name


class _Worker:
    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not _is_key(k)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(os.getpid())], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.scratch: Path | None = None
        self.snapshot: Path | None = None

    def submit(self, database: Path, tables: list[str], docs_dir: Path, run_name: str,
               snapshot: Path | None = None) -> None:
        """Ask for the validation and return at once (:meth:`answer` waits for it). With
        ``snapshot`` (a folder), the database is copied there first and the copy is validated:
        this process may then write the database again while the worker reads the copy."""
        self.scratch = Path(tempfile.mkdtemp(prefix="myeloma-audit-validation-"))  # 0700: the answer
        if snapshot is not None:
            snapshot.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.snapshot = Path(tempfile.mkdtemp(prefix="validation-", dir=snapshot))
            wal = Path(f"{database}.wal")  # none once the connection closed cleanly; copied if it is there
            if wal.is_file():
                shutil.copyfile(wal, self.snapshot / wal.name)
            database = Path(shutil.copyfile(database, self.snapshot / Path(database).name))
        request = {"database": str(database), "tables": tables, "docs_dir": str(docs_dir),
                   "run_name": run_name, "answer": str(self.scratch / "outcomes.pickle")}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.close()
        except OSError:
            pass  # a stopped worker: answer() says so

    def answer(self):
        """(``"ok"``, outcomes) | (``"error"``, exception) | (``"unavailable"``, why)."""
        global _writing
        answer, reply = self.scratch / "outcomes.pickle", None
        try:
            if self.process.stdout.readline() == b"done\n" and answer.is_file():  # "done": the answer is written
                reply = pickle.loads(answer.read_bytes())
        except OSError:
            pass
        finally:
            self._remove_files()  # the worker has closed the copy before it answers
        if reply is None:
            return "unavailable", f"the validation process stopped (exit code {self.process.wait()})"
        status, value = reply
        if status == "ok":
            _writing = self
        return status, value

    def validate(self, database: Path, tables: list[str], docs_dir: Path, run_name: str):
        """:meth:`submit` and :meth:`answer`: the worker reads ``database`` itself (read-only)."""
        self.submit(database, tables, docs_dir, run_name)
        return self.answer()

    def _remove_files(self) -> None:
        for folder in (self.scratch, self.snapshot):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self.scratch = self.snapshot = None

    def pages_written(self) -> None:
        """Wait until the worker has written the Data Docs and failing-rows files."""
        line = self.process.stdout.readline()
        if line != b"pages\n":
            reason = line.decode(errors="replace").strip() or f"it stopped (exit code {self.process.wait()})"
            from pipelines.quality.runner import QualityEngineError

            raise QualityEngineError(f"the validation process could not write the quality report: {reason}")

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self._remove_files()


@contextlib.contextmanager
def prestarted() -> Iterator[None]:
    """Start a worker now, for the run this process is about to make (the command line starts
    it before importing Dagster: 2-3 s earlier); :func:`started` adopts it."""
    global _spare
    _spare = _Worker()
    try:
        yield
    finally:
        spare, _spare = _spare, None
        if spare is not None:
            spare.discard()


@contextlib.contextmanager
def started() -> Iterator[None]:
    """A worker waits for this run's validation; it is stopped when the run ends."""
    global _spare, _waiting, _writing
    worker, _spare = _spare or _Worker(), None
    _waiting = worker
    try:
        yield
    finally:
        if _waiting is worker:
            _waiting = None
        if _writing is worker:
            _writing = None
        worker.discard()


def pages_written() -> None:
    """Wait for the quality report of the run's validation process, if it is still writing it."""
    global _writing
    worker, _writing = _writing, None
    if worker is not None:
        worker.pages_written()


def take() -> "_Worker | None":
    """The waiting worker, if there is one (each validates one run)."""
    global _waiting
    worker, _waiting = _waiting, None
    return worker


# --------------------------------------------------------------------------- the worker side

def _end_with_the_run(run_pid: int) -> None:
    """Linux: killed when the run's process ends, however it ends (a SIGTERM to the run alone
    must not leave the worker writing into a folder the run has removed)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != run_pid:  # the run ended before that took effect
        os._exit(0)


def _serve(run_pid: int) -> None:
    _end_with_the_run(run_pid)
    forked.yield_cores()  # importing GX must not slow the reading of a large delivery beside it
    import great_expectations  # noqa: F401  (the point of the worker: imported before it is asked)

    line = sys.stdin.readline()
    if not line:                  # the run ended without asking
        os._exit(0)
    request = json.loads(line)
    import duckdb

    from pipelines.lib.pseudonym import scrub
    from pipelines.quality.runner import run_suites

    def say(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def answer(reply: tuple) -> None:
        Path(request["answer"]).write_bytes(pickle.dumps(reply))
        say("done")

    answered = False

    def judged(outcomes) -> None:  # the run goes on (and writes the database) while the pages are written
        nonlocal answered
        con.close()
        answer(("ok", outcomes))
        answered = True

    try:
        con = duckdb.connect(request["database"], read_only=True)
    except duckdb.Error as exc:
        answer(("unavailable", f"the validation process could not open the database: {type(exc).__name__}"))
        os._exit(0)
    try:
        run_suites(con, request["tables"], docs_dir=Path(request["docs_dir"]), run_name=request["run_name"],
                   before_docs=judged)
    except Exception as exc:
        if answered:  # the pages failed: said on the line pages_written reads
            say(" ".join(scrub(f"{type(exc).__name__}: {exc}").split())[:500])
        else:         # sent back and raised in the run, as in-process validation would
            answer(("error", exc if _picklable(exc) else RuntimeError(f"{type(exc).__name__}: {exc}")))
        os._exit(0)
    say("pages")
    os._exit(0)  # at once: the interpreter's teardown with GX loaded takes a second or more


def _picklable(exc: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(exc))
        return True
    except Exception:
        return False


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
