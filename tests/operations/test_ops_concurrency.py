"""Two runs started at once on the same output: one publishes, the other is refused with a
clear message, and the published outputs are whole and readable. Two inbox passes at once:
the second stops with a clear message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.operations.ops_helpers import delivery

REPO = Path(__file__).resolve().parents[2]


def start(args: list[str], **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=REPO, env=dict(os.environ, MYELOMA_AUDIT_KEY="conc-key-" + "c" * 32, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_at_once_on_one_output_never_mix(tmp_path):
    a = delivery(tmp_path / "a", extract_id="CONC-A")
    b = delivery(tmp_path / "b", extract_id="CONC-B", extra={"labs": ["1203614417;04-09-2024;ldh;200;U/L"]})
    out = tmp_path / "out"
    runs = {name: start(["-m", "pipelines.cli", "run", "--extract", str(folder), "--out", str(out)])
            for name, folder in (("CONC-A", a), ("CONC-B", b))}
    finished = {name: (p.wait(timeout=240), p.stderr.read()) for name, p in runs.items()}
    for p in runs.values():
        p.stdout.close()
        p.stderr.close()

    winners = [name for name, (code, _) in finished.items() if code == 0]
    losers = [name for name, (code, _) in finished.items() if code != 0]
    assert len(winners) == 1 and len(losers) == 1, finished
    code, stderr = finished[losers[0]]
    assert code == 1
    assert f"another myeloma-audit run is publishing to {out}" in stderr and "Traceback" not in stderr

    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["extract_id"] == winners[0]
    assert (out / "patient_results.csv").stat().st_size > 0
    with duckdb.connect(str(out / "audit.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from rpt_patient_results").fetchone()[0] > 0
    assert [p.name for p in (tmp_path / ".out.myeloma-audit").iterdir()] == ["lock"]  # no run's leftovers


def test_second_inbox_pass_at_once_stops_with_a_clear_message(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-11-01")
    results.mkdir()
    import fcntl

    with open(results / ".inbox.lock", "a+") as held:  # a first pass is busy
        fcntl.flock(held, fcntl.LOCK_EX)
        second = start(["-m", "pipelines.cli", "inbox", "--inbox", str(inbox), "--results", str(results)])
        code = second.wait(timeout=60)
        stderr = second.stderr.read()
        second.stdout.close()
        second.stderr.close()
    assert code == 1, stderr
    assert f"another inbox pass is processing into {results}" in stderr
    assert not (results / "periods").exists() and not (results / "history.json").exists()

