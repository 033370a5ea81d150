"""Benchmark: the report layer alone, per step, on the DuckDB file of a finished run.

For every ``--db`` (an ``audit.duckdb`` written by ``myeloma-audit run``, e.g. the
``out-<n>/audit.duckdb`` folders of ``benchmarks/run_scale.py``) the file is copied to a
scratch folder (the reports create ``rpt_report_departments`` in it), then the three report
steps run as the assets run them, each on its own (``write_national``,
``write_departments``, ``write_dashboards``), and then ``write_reports`` (all three in one
call, sharing what they can). Prints per step the wall-clock seconds and, in brackets, the
CPU seconds of the process (all threads; less disturbed by other work on the machine),
and the output size and number of files of the last step. Numbers only: this is not a test.

With ``--repeat N`` every step runs N times and the medians are printed (the machine may be
shared). With ``--keep DIR`` the outputs are kept under ``DIR/<database>/out-<step>``; with
``--compare DIR`` each step's outputs are compared byte for byte with the ones kept there
by an earlier run (e.g. of the code before a change), and the differences are listed.

    python benchmarks/report_speed.py --db /tmp/bench/out-10000/audit.duckdb /tmp/bench/out-100000/audit.duckdb
    python benchmarks/report_speed.py --patients 10000 100000 [--workdir /tmp/bench]
    python benchmarks/report_speed.py ... --profile national   # cProfile of one step (top 25)
    python benchmarks/report_speed.py ... --keep /tmp/before          # then, after a change:
    python benchmarks/report_speed.py ... --repeat 2 --compare /tmp/before
"""

from __future__ import annotations

import argparse
import cProfile
import filecmp
import pstats
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.reports import writer

STEPS = {
    "national": writer.write_national,
    "departments": writer.write_departments,
    "dashboards": writer.write_dashboards,
    "all": writer.write_reports,
}


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != "audit.duckdb"]
    return sum(p.stat().st_size for p in files), len(files)


def differences(before: Path, after: Path) -> list[str]:
    """The files of two output folders that are missing on one side or differ in a byte."""
    files = {side: {p.relative_to(side) for p in side.rglob("*") if p.is_file()} for side in (before, after)}
    missing = [f"only in {side}: {name}" for side in (before, after)
               for name in sorted(files[side] - files[after if side == before else before])]
    return missing + [f"differs: {name}" for name in sorted(files[before] & files[after])
                      if not filecmp.cmp(before / name, after / name, shallow=False)]


def run(db: Path, scratch: Path, steps: list[str], profile: str | None, repeat: int = 1,
        compare: Path | None = None) -> dict[str, float]:
    copy = scratch / "audit.duckdb"
    shutil.copyfile(db, copy)
    out = {}
    con = duckdb.connect(str(copy))
    try:
        for step in steps:
            target = scratch / f"out-{step}"
            function = STEPS[step]
            wall, cpu = [], []
            for _ in range(repeat):
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                args = (con, target, None)
                started, cpu_started = time.perf_counter(), time.process_time()
                if profile == step:
                    profiler = cProfile.Profile()
                    profiler.runcall(function, *args)
                else:
                    function(*args)
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                if profile == step:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            out[step], out[f"{step}_cpu"] = statistics.median(wall), statistics.median(cpu)
            size, files = _size(target)
            out[f"{step}_mb"] = size / 1e6
            out[f"{step}_files"] = files
            if compare is not None:
                found = differences(compare / scratch.name / f"out-{step}", target)
                print(f"  {step}: {files} files compared with {compare / scratch.name / f'out-{step}'}: "
                      + ("byte-identical" if not found else f"{len(found)} differ"), flush=True)
                for line in found[:20]:
                    print("    " + line)
    finally:
        con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, nargs="*", default=[])
    parser.add_argument("--patients", type=int, nargs="*", default=[])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--profile", choices=list(STEPS), default=None)
    parser.add_argument("--keep", type=Path, default=None, help="write the outputs under this folder (kept)")
    parser.add_argument("--repeat", type=int, default=1, help="run every step this often; medians are printed")
    parser.add_argument("--compare", type=Path, default=None,
                        help="compare the outputs byte for byte with those kept (--keep) under this folder")
    args = parser.parse_args()
    dbs = list(args.db) + [args.workdir / f"out-{n}" / "audit.duckdb" for n in args.patients]
    if not dbs:
        dbs = [args.workdir / f"out-{n}" / "audit.duckdb" for n in (10_000, 100_000)]
    header = "".join(f"{s + ' s (cpu)':>22}" for s in args.steps)
    print(f"{'database':<44}{header}   output of the last step")
    for db in dbs:
        if not db.is_file():
            print(f"{str(db):<44} (missing)")
            continue
        name = db.parent.name if db.name == "audit.duckdb" else db.stem
        if args.keep:
            scratch = args.keep / name
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            values = run(db, scratch, args.steps, args.profile, args.repeat, args.compare)
        else:
            with tempfile.TemporaryDirectory(prefix="report-speed-") as tmp:
                scratch = Path(tmp) / name
                scratch.mkdir()
                values = run(db, scratch, args.steps, args.profile, args.repeat, args.compare)
        times = "".join(f"{values[s]:>14.2f} ({values[s + '_cpu']:>5.1f})" for s in args.steps)
        last = args.steps[-1]
        print(f"{str(db):<44}{times}   {values[f'{last}_mb']:.1f} MB / {values[f'{last}_files']} files", flush=True)


if __name__ == "__main__":
    main()
