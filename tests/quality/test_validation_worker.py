"""The run's validation process (``pipelines/quality/worker.py``): the verdicts, Data Docs and
failing rows of validating in this process; never a key in its environment; an engine error
raised in the run; a database it cannot open, or a stopped worker, reported as unavailable
(the check then validates in this process); nothing left running when the run ends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.extract_format import FILES
from pipelines.quality import worker
from pipelines.quality.runner import QualityEngineError, run_suites
from tests.delivery_builder import EXTRACT_DATE, stage, write_delivery
from tests.processes import running
from tests.quality.quality_violations import NO_PATIENT, PLANTED_LINE

TABLES = [f.stg_table for f in FILES]


def _staged(tmp_path: Path, orphan: bool = False) -> Path:
    """The example delivery staged; with ``orphan``, a diagnosis without its patient planted
    in ``stg_diagnoses`` (an error expectation fails)."""
    db = tmp_path / "audit.duckdb"
    with stage(write_delivery(tmp_path / "delivery"), db) as con:
        con.execute("create table raw_delivery_info as select 'TEST-1' as extract_id, 'delivery' as source, ?::date as extract_date",
                    [EXTRACT_DATE])
        if orphan:
            con.execute("insert into stg_diagnoses select * replace (? as pseudonym, ? as _line) "
                        "from stg_diagnoses order by _line limit 1", [NO_PATIENT, PLANTED_LINE])
    return db


def _verdicts(outcomes) -> dict:
    return {t: [(o.name, o.severity, o.success, o.failing_lines, o.failing_ids, o.observed_value)
                for o in suite.outcomes] for t, suite in outcomes.items()}


def test_the_worker_judges_as_this_process_does(tmp_path):
    db = _staged(tmp_path, orphan=True)
    docs = tmp_path / "docs"
    with worker.started():
        status, outcomes = worker.take().validate(db, TABLES, docs, "run-1")
        worker.pages_written()                          # written after the answer, while the run goes on
    assert status == "ok"
    with duckdb.connect(str(db), read_only=True) as con:
        here = run_suites(con, TABLES)
    assert _verdicts(outcomes) == _verdicts(here)
    assert [o.name for o in outcomes["stg_diagnoses"].errors] == ["patient_exists"]
    assert outcomes["stg_diagnoses"].outcome("patient_exists").failing_lines == [PLANTED_LINE]
    assert "patient_exists" in (docs / "index.html").read_text(encoding="utf-8")
    assert NO_PATIENT in (docs / "failing_rows" / "stg_diagnoses.csv").read_text(encoding="utf-8")


def _environment_after_exec(pid: int) -> list[bytes]:
    """The worker's environment once it runs the worker module (read during the exec, it is empty)."""
    proc = Path(f"/proc/{pid}")
    deadline = time.monotonic() + 30
    while b"pipelines.quality.worker" not in (proc / "cmdline").read_bytes() or not (proc / "environ").read_bytes():
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.01)
    return (proc / "environ").read_bytes().split(b"\0")


def test_the_worker_never_sees_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "k" * 40)
    monkeypatch.setenv("MYELOMA_AUDIT_REID_KEY", "r" * 40)
    monkeypatch.setenv("AN_UNRELATED_SETTING", "kept")
    with worker.started():
        waiting = worker.take()
        environ = _environment_after_exec(waiting.process.pid)
    names = {entry.split(b"=", 1)[0] for entry in environ}
    assert b"AN_UNRELATED_SETTING" in names
    assert not {b"MYELOMA_AUDIT_KEY", b"MYELOMA_AUDIT_REID_KEY"} & names
    assert waiting.process.poll() is not None          # stopped when the run ended


def test_an_engine_error_in_the_worker_is_raised_as_it_was(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()                     # no staging table: GX cannot validate
    with worker.started():
        status, error = worker.take().validate(db, ["stg_labs"], tmp_path / "docs", "run-1")
    assert status == "error"
    assert isinstance(error, QualityEngineError) and "stg_labs: GX could not validate the table" in str(error)


def test_a_database_held_by_a_writer_is_unavailable_to_the_worker(tmp_path):
    db = _staged(tmp_path)
    with duckdb.connect(str(db)), worker.started():     # this process writes: the worker cannot open it
        status, why = worker.take().validate(db, TABLES, tmp_path / "docs", "run-1")
    assert status == "unavailable" and "could not open the database" in why


def test_a_stopped_worker_is_unavailable(tmp_path):
    db = _staged(tmp_path)
    with worker.started():
        waiting = worker.take()
        waiting.process.kill()
        waiting.process.wait()
        status, why = waiting.validate(db, TABLES, tmp_path / "docs", "run-1")
    assert status == "unavailable" and "stopped (exit code -9)" in why


def test_a_worker_started_early_is_adopted_by_the_run_and_each_run_asks_once():
    with worker.prestarted():
        spare = worker._spare
        with worker.started():
            assert worker.take() is spare
            assert worker.take() is None
        assert spare.process.poll() is not None
    assert worker._spare is None and worker._waiting is None


def test_the_database_is_free_for_the_run_once_the_worker_has_answered(tmp_path):
    db = _staged(tmp_path)
    with worker.started():
        status, _ = worker.take().validate(db, TABLES, tmp_path / "docs", "run-1")
        with duckdb.connect(str(db)) as con:           # the next step writes while the pages are written
            con.execute("create table written_meanwhile as select 1 as x")
        worker.pages_written()
    assert status == "ok" and (tmp_path / "docs" / "index.html").is_file()


def test_a_submitted_database_is_copied_so_the_run_writes_it_at_once(tmp_path):
    """The staging step's hand-over: the worker judges a copy while the run changes the file
    (even drops a judged table); the copy is gone once the answer is read."""
    db = _staged(tmp_path, orphan=True)
    with duckdb.connect(str(db), read_only=True) as con:
        here = run_suites(con, TABLES)
    spill = tmp_path / "spill"
    with worker.started():
        waiting = worker.take()
        waiting.submit(db, TABLES, tmp_path / "docs", "run-1", snapshot=spill)
        copies = list(spill.glob("validation-*/audit.duckdb"))
        with duckdb.connect(str(db)) as con:           # the next steps write the run's database meanwhile
            con.execute("drop table stg_diagnoses")
        status, outcomes = waiting.answer()
        assert list(spill.iterdir()) == []             # the copy is removed with the answer
        worker.pages_written()
    assert len(copies) == 1 and status == "ok"
    assert _verdicts(outcomes) == _verdicts(here)


def test_a_copy_never_asked_for_is_removed_when_the_run_ends(tmp_path):
    db = _staged(tmp_path)
    spill = tmp_path / "spill"
    with worker.started():
        worker.take().submit(db, TABLES, tmp_path / "docs", "run-1", snapshot=spill)
        assert list(spill.glob("validation-*/audit.duckdb"))
    assert list(spill.iterdir()) == []


def test_pages_that_cannot_be_written_fail_the_run(tmp_path):
    db = _staged(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "failing_rows").write_text("a file where the folder goes", encoding="utf-8")
    with worker.started():
        status, _ = worker.take().validate(db, TABLES, docs, "run-1")
        with pytest.raises(QualityEngineError, match="could not write the quality report: .*Error"):
            worker.pages_written()
    assert status == "ok"


def test_the_worker_ends_when_the_run_process_is_killed(tmp_path):
    """A run stopped by SIGKILL (or SIGTERM to it alone) leaves no worker behind: at once,
    not only when the worker, still importing GX (seconds), would read the end of its input."""
    script = ("import sys, time\nfrom pipelines.quality import worker\n"
              "with worker.started():\n    print(worker._waiting.process.pid, flush=True)\n    time.sleep(60)\n")
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    worker_pid = int(run.stdout.readline())
    time.sleep(1)             # the worker is past its start, importing GX
    run.kill()
    run.wait()
    deadline = time.monotonic() + 2
    while running(worker_pid):
        assert time.monotonic() < deadline, "the worker outlived its run"
        time.sleep(0.05)
