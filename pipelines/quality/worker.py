"""Great Expectations in a second process, started when a run starts.

Importing Great Expectations costs ≈ 4 s of one core, and the run needs it only at the
expectation-suites step. :func:`started` (entered by the destination when a run starts;
the command line starts one even earlier, :func:`prestarted`) launches ``python -m pipelines.quality.worker``, which imports GX on the machine's other core
while this process reads and stages the delivery, then waits. The check step hands it the
database (:func:`validate`): this process holds no connection to the file between steps, so
the worker opens it read-only, runs the suites exactly as :func:`runner.run_suites` does here
(Data Docs and failing-rows files included) and sends the outcomes back pickled.

Nothing changes in what is judged: the worker calls the same ``run_suites``. Where no worker
is waiting (a test materialising the check, a step in another process), or the worker cannot
open the database or stops, the suites run in this process as before. An error of the
validation itself (``QualityEngineError``) is raised here as it would have been.

The worker gets this process's environment without the keys: it never sees a key.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

_spare: "_Worker | None" = None     # started by the command line, not yet adopted by a run
_waiting: "_Worker | None" = None    # adopted by the running run, not yet asked


def _is_key(name: str) -> bool:
    """MYELOMA_AUDIT_KEY, MYELOMA_AUDIT_REID_KEY and any later key variable."""
    return name.startswith("MYELOMA_AUDIT_") and "KEY" in name


class _Worker:
    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not _is_key(k)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.quality.worker"], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def validate(self, database: Path, tables: list[str], docs_dir: Path, run_name: str):
        """(``"ok"``, outcomes) | (``"error"``, exception) | (``"unavailable"``, why)."""
        with tempfile.TemporaryDirectory(prefix="myeloma-audit-validation-") as scratch:
            answer = Path(scratch) / "outcomes.pickle"
            request = {"database": str(database), "tables": tables, "docs_dir": str(docs_dir),
                       "run_name": run_name, "answer": str(answer)}
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode())
                self.process.stdin.close()
                done = self.process.stdout.readline() == b"done\n"   # written once the answer is
            except OSError:
                done = False
            if not done or not answer.is_file():
                return "unavailable", f"the validation process stopped (exit code {self.process.wait()})"
            return pickle.loads(answer.read_bytes())

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


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
    global _spare, _waiting
    worker, _spare = _spare or _Worker(), None
    _waiting = worker
    try:
        yield
    finally:
        if _waiting is worker:
            _waiting = None
        worker.discard()


def take() -> "_Worker | None":
    """The waiting worker, if there is one (each validates one run)."""
    global _waiting
    worker, _waiting = _waiting, None
    return worker


# --------------------------------------------------------------------------- the worker side

def _serve() -> int:
    import great_expectations  # noqa: F401  (the point of the worker: imported before it is asked)

    line = sys.stdin.readline()
    if not line:                  # the run ended without asking
        return 0
    request = json.loads(line)
    import duckdb

    from pipelines.quality.runner import run_suites

    try:
        con = duckdb.connect(request["database"], read_only=True)
    except duckdb.Error as exc:
        answer: tuple = ("unavailable", f"the validation process could not open the database: {type(exc).__name__}")
    else:
        try:
            answer = ("ok", run_suites(con, request["tables"], docs_dir=Path(request["docs_dir"]),
                                       run_name=request["run_name"]))
        except Exception as exc:  # sent back and raised in the run, as in-process validation would
            answer = ("error", exc if _picklable(exc) else RuntimeError(f"{type(exc).__name__}: {exc}"))
        finally:
            con.close()
    Path(request["answer"]).write_bytes(pickle.dumps(answer))
    sys.stdout.write("done\n")
    sys.stdout.flush()
    os._exit(0)  # at once: the interpreter's teardown with GX loaded takes a second or more


def _picklable(exc: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(exc))
        return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(_serve())
