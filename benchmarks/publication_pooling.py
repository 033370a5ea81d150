"""How much the publication variant shows, without and with pooling (prints, not a test).

    python benchmarks/publication_pooling.py out/audit.duckdb [more …]

For each results database (a run's ``audit.duckdb``; read from a private copy, the published
one stays untouched): the report years' rows, and the published cells that carry a
proportion — the yearly rows of the publication without pooling, then with pooling (the
yearly rows, which pooling leaves as they are, plus the pooled rows), and the unit-years
whose reader sees a figure: their own, their three years together, or the level above.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.reports import national, suppression  # noqa: E402
from pipelines.reports.data import load  # noqa: E402


def counts(database: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "audit.duckdb"
        shutil.copy2(database, copy)
        con = duckdb.connect(str(copy))
        data = load(con, patients="none")
        summary = data.summary.filter(pl.col("year").is_in(data.years))
        started = time.perf_counter()
        plain = suppression.suppress(summary)
        plain_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with national.publishing(data) as table:
            pooled = table()
        pooled_seconds = time.perf_counter() - started
        con.close()
    after = national.published_counts(pooled)
    return {"rows": summary.height, "years": data.years,
            "before": int(plain["proportion"].is_not_null().sum()),
            "after_yearly": after["proportions_yearly"], "after_pooled": after["proportions_pooled"],
            "own": after["unit_years_own"], "pooled": after["unit_years_pooled"], "above": after["unit_years_above"],
            "none": after["unit_years_none"], "seconds": (round(plain_seconds, 1), round(pooled_seconds, 1))}


def main(paths: list[str]) -> None:
    for path in paths:
        c = counts(Path(path))
        print(f"{path}: {c['rows']} rows (indicator × year × unit, {c['years'][0]}–{c['years'][-1]})")
        print(f"  cells with a proportion, without pooling: {c['before']}")
        print(f"  with pooling: {c['after_yearly'] + c['after_pooled']} ({c['after_yearly']} yearly, unchanged, "
              f"+ {c['after_pooled']} pooled)")
        print(f"  unit-years with patients in the denominator: own figure {c['own']}, pooled years {c['pooled']}, "
              f"level above {c['above']}, none {c['none']}")
        print(f"  suppression seconds without / with pooling: {c['seconds'][0]} / {c['seconds'][1]}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["out/audit.duckdb"])
