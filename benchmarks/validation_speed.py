"""Validation speed of the staging suites: Great Expectations (SQL path, inside DuckDB) versus
the same rules as plain DuckDB SQL, on synthetic deliveries.

    python benchmarks/validation_speed.py                    # 100k and 1M patients
    python benchmarks/validation_speed.py --sizes 100000     # one size
    python benchmarks/validation_speed.py --workdir /tmp/vs  # keep/reuse generated data there
    python benchmarks/validation_speed.py --db out/audit.duckdb --repeat 3   # an existing staging DB

Per size: a delivery from ``pipelines.synth.generator.write_delivery`` (dirty rows included,
so some rules fail and failing rows are listed), staged with the pipeline's own raw and
staging code into one DuckDB file. Each measurement runs in a fresh Python process so its
peak memory (VmHWM, which includes DuckDB's allocations) is its own:
- ``gx``: ``run_suites`` over all 10 suites, failing rows listed completely, no Data Docs;
- ``gx+docs``: the same plus the Data Docs site (what the asset checks do);
- ``sql``: one ``count(*)`` query per expectation (``pipelines.quality.plain_sql``).
``import`` time and memory of each process are reported separately (GX alone is ~2-3 s).
``--db`` times an existing database instead (e.g. the ``audit.duckdb`` of a whole run; opened
read-only). ``--repeat`` runs each measurement that many times and reports the median
(the machine may be shared: ``cpu s``, the process's CPU time, is less sensitive to load).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EXTRACT_DATE = date(2026, 11, 1)
KEY = b"benchmark-key"


def _rss_mb() -> float:
    """Peak resident memory of this process. VmHWM (Linux) belongs to the process image, unlike
    ru_maxrss, which a child inherits from the parent it was forked from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(workdir: Path, n: int) -> tuple[Path, dict]:
    """Generate and stage a delivery of ``n`` patients (reused when already there)."""
    import duckdb

    from pipelines.lib.extract_format import FILES
    from pipelines.synth.generator import write_delivery
    from tests.delivery_builder import stage  # raw + staging exactly as the pipeline does, no Dagster

    folder, db = workdir / f"n{n}" / "delivery", workdir / f"n{n}" / "audit.duckdb"
    facts: dict = {}
    if not (folder / "manifest.json").is_file():
        started = time.perf_counter()
        write_delivery(folder, n, seed=7, extract_date=EXTRACT_DATE)
        facts["generate_s"] = round(time.perf_counter() - started, 1)
    if not db.is_file():
        started = time.perf_counter()
        tmp = db.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        con = stage(folder, tmp, extract_date=EXTRACT_DATE, key=KEY)
        con.execute("create table raw_delivery_info (extract_id varchar, source varchar, extract_date date)")
        con.execute("insert into raw_delivery_info values (?, ?, ?)", [f"SYNTH-{n}", "benchmark", EXTRACT_DATE])
        con.close()
        tmp.rename(db)
        facts["stage_s"] = round(time.perf_counter() - started, 1)
    con = duckdb.connect(str(db), read_only=True)
    facts["rows"] = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in [f.stg_table for f in FILES]}
    con.close()
    return db, facts


def measure(mode: str, db: Path) -> dict:
    """Runs in a child process: one mode on one database."""
    started = time.perf_counter()
    import duckdb

    from pipelines.quality.suites import SUITE_TABLES, expectations
    if mode.startswith("gx"):
        import great_expectations  # noqa: F401 - timed as import
        from pipelines.quality.runner import run_suites
    else:
        from pipelines.quality.plain_sql import violation_query
    imported, base_mb = time.perf_counter() - started, _rss_mb()
    con = duckdb.connect(str(db), read_only=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    if mode.startswith("gx"):
        docs = Path(tempfile.mkdtemp(prefix="vs-docs-")) if mode == "gx+docs" else None
        outcomes = run_suites(con, docs_dir=docs)
        failing = sum(len(o.failing_lines) for s in outcomes.values() for o in s.outcomes)
        failed = sum(not o.success for s in outcomes.values() for o in s.outcomes)
    else:
        counts = [con.execute(violation_query(t, e)).fetchone()[0] for t in SUITE_TABLES for e in expectations(t)]
        failing, failed = sum(counts), sum(c > 0 for c in counts)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {"mode": mode, "import_s": round(imported, 2), "validate_s": round(seconds, 2), "cpu_s": round(cpu_seconds, 2),
            "import_mb": round(base_mb), "peak_mb": round(_rss_mb()), "failed_expectations": failed,
            "failing_rows": failing}


def run_child(mode: str, db: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(db)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_median(mode: str, db: Path, repeat: int) -> dict:
    """The run with the median validation time of ``repeat`` runs (all times kept)."""
    runs = sorted((run_child(mode, db) for _ in range(repeat)), key=lambda r: r["validate_s"])
    return {**runs[len(runs) // 2], "all_validate_s": [r["validate_s"] for r in runs]}


def staged_rows(db: Path) -> dict[str, int]:
    import duckdb

    from pipelines.quality.suites import SUITE_TABLES

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in SUITE_TABLES}
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--modes", nargs="+", default=["sql", "gx", "gx+docs"])
    parser.add_argument("--db", type=Path, nargs="+", default=None, help="existing staging database(s) to time")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="validation-speed-"))
    print(f"work folder: {workdir}")
    header = (f"{'patients':>9} {'mode':>8} {'validate s':>10} {'cpu s':>6} {'peak MB':>8} {'import s':>8} {'import MB':>9} "
              f"{'failed exp':>10} {'failing rows':>12}")
    results = []
    if args.db:
        targets = [(db, staged_rows(db), {}) for db in args.db]
    else:
        targets = [(db, facts["rows"], facts) for db, facts in (prepare(workdir, n) for n in args.sizes)]
    for db, rows, facts in targets:
        patients = rows["stg_patients"]
        print(f"\n{db}: {patients:,} patients, {sum(rows.values()):,} staged rows "
              f"({', '.join(f'{t[4:]} {c:,}' for t, c in rows.items())})"
              + (f"; generated in {facts['generate_s']} s" if "generate_s" in facts else "")
              + (f", staged in {facts['stage_s']} s" if "stage_s" in facts else ""))
        print(header)
        for mode in args.modes:
            r = run_median(mode, db, args.repeat)
            results.append({"patients": patients, "db": str(db), **r})
            print(f"{patients:>9,} {mode:>8} {r['validate_s']:>10} {r['cpu_s']:>6} {r['peak_mb']:>8} {r['import_s']:>8} "
                  f"{r['import_mb']:>9} {r['failed_expectations']:>10} {r['failing_rows']:>12}"
                  + (f"   (runs: {r['all_validate_s']})" if args.repeat > 1 else ""))
    (workdir / "validation_speed.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
