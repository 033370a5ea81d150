"""Generation speed and peak memory of the synthetic-delivery generator.

    python benchmarks/synth_speed.py                  # 100k and 1M patients
    python benchmarks/synth_speed.py 20000 --stats    # other sizes; print the deviation rates too

Each size runs in its own process, so the peak RSS (``ru_maxrss``) is that size's own.
The delivery is written to a temporary folder (removed afterwards) unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(n: int, seed: int, out: Path, stats: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from pipelines.synth.generator import write_delivery, write_delivery_with_stats

    t0 = time.perf_counter()
    if stats:
        rows, st = write_delivery_with_stats(out, n, seed)
    else:
        rows, st = write_delivery(out, n, seed), None
    seconds = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in out.iterdir())
    return {"patients": n, "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rows": sum(rows.values()), "megabytes": round(size / 1e6), "stats": st}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, help="keep the deliveries in OUT/<size>")
    ap.add_argument("--stats", action="store_true", help="print the generator's deviation and dirty-row counts")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.one is not None:            # child process: one size
        print(json.dumps(one(args.one, args.seed, args.out, args.stats), ensure_ascii=False))
        return

    print(f"{'patients':>10} {'seconds':>8} {'peak RSS MB':>12} {'rows':>12} {'MB on disk':>11}   (cpus: {os.cpu_count()})")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = (args.out / str(n)) if args.out else Path(tmp) / "delivery"
            cmd = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed), "--out", str(out)]
            if args.stats:
                cmd.append("--stats")
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        print(f"{res['patients']:>10} {res['seconds']:>8} {res['peak_rss_mb']:>12} {res['rows']:>12} {res['megabytes']:>11}",
              flush=True)
        if args.stats:
            print(json.dumps(res["stats"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
