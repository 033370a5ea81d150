"""A run killed with SIGKILL in the middle leaves the published outputs byte-identical and
the next run succeeds (leftovers of the killed run are cleaned up)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.delivery_builder import write_delivery
from tests.test_cli import snapshot

REPO = Path(__file__).resolve().parents[1]


def run_cli(folder: Path, out: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, MYELOMA_AUDIT_KEY="kill-key-of-at-least-thirty-two-bytes")
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--extract", str(folder), "--out", str(out)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen)


def test_sigkill_mid_run_leaves_previous_outputs_and_next_run_succeeds(tmp_path):
    out = tmp_path / "out"
    first = run_cli(write_delivery(tmp_path / "first"), out)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    before = snapshot(out)

    second = run_cli(write_delivery(tmp_path / "second", {"labs": ["1203614417;04-09-2024;ldh;200;U/L"]}), out)
    # wait until the run is inside the pipeline (its incoming folder exists), then kill it
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.myeloma-audit/incoming-*/audit.duckdb")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.myeloma-audit/incoming-*")), "the second run never started writing"
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=30)
    assert snapshot(out) == before

    third = run_cli(write_delivery(tmp_path / "third"), out)
    assert third.wait(timeout=300) == 0, third.stderr.read()
    assert not list(tmp_path.glob(".out.myeloma-audit/incoming-*"))
    assert (out / "patient_results.csv").read_bytes() == before["patient_results.csv"]
