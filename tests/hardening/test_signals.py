"""Ctrl-C and SIGTERM (issue 13, 7: a 143-line traceback): one line, exit 130 / 143, the
published results byte-identical, the run's unpublished folder removed — also while DuckDB is
in the middle of a query, or Dagster in the middle of a step (it replaces the signal handlers
while it executes). Real processes, real signals (``os.kill``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.lib.publish import incoming_dir, publish
from pipelines.lib.signals import STOPPED
from tests.hardening.conftest import REPO
from tests.processes import descendants, running

KEY = "signal-test-key-of-at-least-32-bytes"
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}

BUSY_IN_DUCKDB = """
import sys
from pathlib import Path
from pipelines.lib import signals
owned = Path(sys.argv[1])
owned.mkdir()
with signals.stop_cleanly(), signals.owned(owned):
    import duckdb
    con = duckdb.connect()
    print("busy", flush=True)
    con.execute("select count(*) from range(20000000000) t(i) where i % 7 = 3").fetchall()
    print("finished", flush=True)
"""


def stop(proc: subprocess.Popen, sig: int) -> tuple[int, float, str]:
    started = time.monotonic()
    os.kill(proc.pid, sig)
    code = proc.wait(timeout=60)
    return code, time.monotonic() - started, proc.stderr.read()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_while_duckdb_is_busy_is_one_line_at_once(tmp_path, sig):
    owned = tmp_path / "staging"
    proc = subprocess.Popen([sys.executable, "-c", BUSY_IN_DUCKDB, str(owned)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "busy"
    time.sleep(1)  # inside the query
    code, seconds, stderr = stop(proc, sig)
    proc.stdout.close()
    proc.stderr.close()
    assert (code, stderr) == (EXIT[sig], STOPPED + "\n")
    assert seconds < 5
    assert not owned.exists()


def start_run(delivery: Path, out: Path, stderr=subprocess.PIPE) -> subprocess.Popen:
    env = dict(os.environ, MYELOMA_AUDIT_KEY=KEY)
    env.pop("MYELOMA_AUDIT_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--extract", str(delivery), "--out", str(out)],
                            cwd=REPO, env=env, text=True, stdout=subprocess.DEVNULL, stderr=stderr)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def larger_delivery(tmp_path_factory) -> Path:
    """Big enough that ingest and validation each take a few seconds on this machine."""
    folder = tmp_path_factory.mktemp("signals") / "delivery"
    subprocess.run([sys.executable, "-m", "pipelines.cli", "synth", "--patients", "4000", "--seed", "5", "--out",
                    str(folder)], check=True, cwd=REPO, capture_output=True)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("sig,moment", [(signal.SIGTERM, "incoming-*/audit.duckdb"),     # ingest: DuckDB loading
                                        # validation: the worker judges its copy while the run goes on
                                        (signal.SIGINT, "incoming-*/.duckdb-spill/validation-*/audit.duckdb")],
                         ids=["SIGTERM-in-ingest", "SIGINT-in-validation"])
def test_a_stopped_run_leaves_the_published_results_and_nothing_else(tmp_path, larger_delivery, sig, moment):
    out = tmp_path / "out"
    previous = incoming_dir(out)
    (previous / "patient_results.csv").write_text("pseudonym,indicator_id,status\n")
    (previous / "run.json").write_text("{}")
    publish(previous, out)
    before = snapshot(out)
    work = tmp_path / ".out.myeloma-audit"

    proc = start_run(larger_delivery, out)
    deadline = time.monotonic() + 240
    while not list(work.glob(moment)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert list(work.glob(moment)), f"the run never reached {moment}: {proc.stderr.read()[-2000:] if proc.poll() is not None else ''}"
    time.sleep(0.5)
    code, seconds, stderr = stop(proc, sig)
    proc.stderr.close()
    assert code == EXIT[sig]
    assert stderr.strip().splitlines()[-1] == STOPPED
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("myeloma-audit:")] == [STOPPED]
    assert seconds < 10
    assert snapshot(out) == before
    assert [p.name for p in work.iterdir()] == ["lock"]  # the unpublished folder is gone


@pytest.mark.slow
def test_a_run_stopped_while_the_dashboards_are_written_beside_ends_them_too(tmp_path, larger_delivery):
    """SIGTERM to the run alone (``kill``, a scheduler) during the reports: the processes it
    started (the suppression's forks, the dashboards' fresh process) end with it, and nothing
    is written into the removed folder afterwards. (Before, they ran on or waited for ever on a
    queue nobody read, holding the run's stderr open.)"""
    out = tmp_path / "out"
    assert start_run(larger_delivery, out).wait(timeout=300) == 0  # a real previous run to compare with
    before = snapshot(out)
    work = tmp_path / ".out.myeloma-audit"

    with open(tmp_path / "stderr.txt", "w") as stderr:  # a file: a process left behind holds no pipe open
        proc = start_run(larger_delivery, out, stderr=stderr)
    deadline = time.monotonic() + 240
    while not list(work.glob("incoming-*/departments")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert list(work.glob("incoming-*/departments")), (tmp_path / "stderr.txt").read_text()[-2000:]
    started = descendants(proc.pid)
    assert started
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == EXIT[signal.SIGTERM]
    time.sleep(1.0)  # a process left behind would write on
    left = [pid for pid in started if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert (tmp_path / "stderr.txt").read_text().strip().splitlines()[-1] == STOPPED
    assert snapshot(out) == before
    assert [p.name for p in work.iterdir()] == ["lock"]


def test_the_inbox_command_stops_the_same_way(tmp_path):
    """``myeloma-audit inbox`` waiting for a delivery without manifest to settle."""
    from tests.delivery_builder import write_delivery

    inbox, results = tmp_path / "inbox", tmp_path / "results"
    write_delivery(inbox / "DMDB-2025-12-01", manifest=False)
    env = dict(os.environ, MYELOMA_AUDIT_KEY=KEY)
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "inbox", "--inbox", str(inbox), "--results",
                             str(results), "--settle", "600"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (results / ".inbox.lock").exists() and time.monotonic() < deadline:  # then it waits to settle
        time.sleep(0.05)
    time.sleep(0.5)
    code, seconds, stderr = stop(proc, signal.SIGTERM)
    proc.stderr.close()
    assert code == 143 and stderr.strip().splitlines()[-1] == STOPPED and "Traceback" not in stderr
    assert seconds < 5
    assert not (results / "history.json").exists()


def test_the_command_called_from_python_restores_the_signal_handlers():
    """Calling ``cli.main`` (tests, a notebook) must not leave the watcher's handlers behind."""
    from pipelines import cli

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert cli.main(["synth", "--patients", "0", "--seed", "1", "--out", "/nonexistent/x"]) == 1
    assert {s: signal.getsignal(s) for s in before} == before
    assert signal.set_wakeup_fd(wakeup) == wakeup
