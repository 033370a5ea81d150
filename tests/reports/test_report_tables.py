"""Patient tables (pipelines/reports/tables.py): the drill-down values rendered once per
distinct text, half of them by a forked process when there are many."""

from __future__ import annotations

import json
import multiprocessing

import polars as pl

from pipelines.lib import forked
from pipelines.reports import danish, tables


def drill_downs(n: int) -> pl.Series:
    values = [json.dumps({"crcl_ml_min": 20 + k % 50 + 0.25, "creatinine_umol_l": 80.0 + k % 7,
                          "creatinine_sample_date": f"2025-02-{1 + k % 28:02d}", "sex": "KM"[k % 2],
                          "hdt_evaluated": k % 3 == 0, "maintenance_drugs": "lenalidomide", "note": "<&>"})
              for k in range(n)]
    return pl.Series("values_json", [*values, None, "", "not json"], dtype=pl.String)


def test_values_rendered_beside_are_those_rendered_here(monkeypatch):
    values = drill_downs(400)
    here = tables._values_lookup(values).sort("values_json", nulls_last=True)
    monkeypatch.setattr(tables, "RENDERED_BESIDE_FROM", 10)
    monkeypatch.setattr(forked.os, "cpu_count", lambda: 2)
    started = []

    class Recorded(forked.Beside):
        def __enter__(self):
            started.append(len(self._args[0]))
            return super().__enter__()

    monkeypatch.setattr(tables, "Beside", Recorded)
    beside = tables._values_lookup(values).sort("values_json", nulls_last=True)
    assert started == [len(here) // 2] and beside.equals(here)
    assert not multiprocessing.active_children()
    row = here.filter(pl.col("values_json") == values[0]).row(0, named=True)
    assert row["values_text"] == danish.values_text(values[0])
    assert "&lt;&amp;&gt;" in row["values_html"] and "<&>" not in row["values_html"]
