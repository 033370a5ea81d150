"""Benchmark: the whole `myeloma-audit run` on synthetic deliveries of growing size.

Prints, per size: rows in the delivery, wall time of the command from process start to
exit, rows per second, the CPU time of the run's processes together (user + system, every
process the run started included) and the cores they kept busy on average (CPU / wall), peak
RSS of the run (its largest single process: the command or one it started) and the peak
memory of all its processes together (their proportional set sizes summed, sampled every
half second; Linux only), the time DuckDB needs only to parse the same
CSV files (the floor, timed in the same invocation), wall / floor, the time per phase, the
five slowest steps (from run.json) and, with ``--hashes FILE``, a SHA-256 of every output
file except those that record timings or the run's database (``run.json``,
``audit.duckdb``), to show that two versions of the code publish the same bytes. Numbers
only: this is not a test.

    python benchmarks/run_scale.py --patients 10000 100000 1000000 [--workdir /tmp/bench] [--hashes h.txt]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from pipelines.lib.extract_format import FILES
from pipelines.synth.generator import write_delivery


def parse_floor(folder: Path) -> float:
    """DuckDB reading every file as text columns: a lower bound for any ingest."""
    con = duckdb.connect()
    started = time.monotonic()
    for dfile in FILES:
        path = folder / dfile.filename
        con.execute(f"select count(*) from read_csv('{path}', delim=';', header=true, all_varchar=true, "
                    f"encoding='latin-1', strict_mode=false, null_padding=true)").fetchone()
    return time.monotonic() - started


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def _pss_bytes(pid: int) -> int:
    """Proportional set size: pages shared with a forked process count half to each."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _sample_tree_memory(proc: subprocess.Popen, peak: list[int]) -> None:
    while proc.poll() is None:
        peak[0] = max(peak[0], sum(_pss_bytes(pid) for pid in _process_tree(proc.pid)))
        time.sleep(0.5)


def _children_cpu() -> float:
    """CPU seconds of this process's ended children and, through them, of every process they
    waited for (the run waits for each process it starts)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_audit_process(folder: Path, out: Path) -> tuple[float, float, float, float | None, dict]:
    """Wall seconds, CPU seconds, peak RSS (MB) of the largest process, peak of all processes
    together (MB, None off Linux) and run.json of one ``myeloma-audit run``."""
    env = dict(os.environ, MYELOMA_AUDIT_KEY="benchmark-key-of-at-least-32-bytes")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu_before = _children_cpu()
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--extract", str(folder), "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tree_peak = [0]
    sampler = None
    if Path("/proc/self/smaps_rollup").exists():
        sampler = threading.Thread(target=_sample_tree_memory, args=(proc, tree_peak), daemon=True)
        sampler.start()
    _, stderr = proc.communicate()
    wall = time.monotonic() - started
    if sampler is not None:
        sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"run failed:\n{stderr[-2000:]}")
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    tree_mb = tree_peak[0] / 2**20 if sampler is not None else None
    return wall, _children_cpu() - cpu_before, peak_kb / 1024, tree_mb, json.loads((out / "run.json").read_text())


NOT_HASHED = {"run.json", "audit.duckdb"}  # timings; the database file's pages are not deterministic


def output_hashes(out: Path) -> list[str]:
    lines = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name not in NOT_HASHED):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(out)}")
    return lines


PHASES = {"ingest": ("raw_delivery", "staging_tables"), "validation": ("expectation_suites",),
          "derived facts": ("reference_layer", "intermediate_layer"), "indicators": ("indicators_layer",),
          "reports": ("reports_layer", "reports__")}


def phase_seconds(steps: dict[str, float], wall: float) -> dict[str, float]:
    """Step timings summed per phase; "start-up" is Python, imports and Dagster before the
    first step and publishing after the last (wall time minus the steps)."""
    phases = {name: sum(v for k, v in steps.items() if any(k == p or (p.endswith("__") and k.startswith(p))
                                                             for p in prefixes))
              for name, prefixes in PHASES.items()}
    phases["start-up/other"] = wall - sum(steps.values())
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--hashes", type=Path, default=None, help="write the output files' SHA-256 here")
    args = parser.parse_args()
    hashes: list[str] = []
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="myeloma-bench-"))
    print(f"{'patients':>9} {'rows':>10} {'wall s':>7} {'rows/s':>9} {'cpu s':>7} {'cores':>5} {'peak MB':>8} {'tree MB':>8} {'parse s':>8} {'ratio':>6}  "
          + "  ".join(f"{p:>10}" for p in [*PHASES, "start-up/other"]))
    for n in args.patients:
        folder = workdir / f"delivery-{n}"
        if not folder.exists():
            write_delivery(folder, n, args.seed)
        shutil.rmtree(workdir / f"out-{n}", ignore_errors=True)  # a fresh folder: no comparison with an earlier run
        wall, cpu, peak_mb, tree_mb, record = run_audit_process(folder, workdir / f"out-{n}")
        floor = parse_floor(folder)
        rows = record["rows"]["in"]
        steps = record.get("step_seconds", {})
        phases = phase_seconds(steps, wall)
        print(f"{n:>9} {rows:>10} {wall:>7.1f} {rows / wall:>9.0f} {cpu:>7.1f} {cpu / wall:>5.2f} {peak_mb:>8.0f} {tree_mb if tree_mb is not None else float('nan'):>8.0f} {floor:>8.2f} {wall / floor:>6.1f}  "
              + "  ".join(f"{v:>10.1f}" for v in phases.values()))
        slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:5]
        print("          five slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
        hashes += [f"{n} {line}" for line in output_hashes(workdir / f"out-{n}")]
    if args.hashes:
        args.hashes.write_text("\n".join(hashes) + "\n", encoding="utf-8")
        print(f"hashes of {len(hashes)} output files: {args.hashes}")


if __name__ == "__main__":
    main()
