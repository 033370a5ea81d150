"""The derived-fact and indicator layers built two tables at a time (``lib.side_by_side``, as
the layer steps build them) hold the same rows as one table at a time, on the hand-made deck."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from pipelines.indicators import build
from pipelines.lib import side_by_side
from tests.delivery_builder import stage

DECK = Path(__file__).resolve().parents[2] / "data_samples" / "deck"
EXTRACT_DATE = date.fromisoformat(json.loads((DECK / "manifest.json").read_text())["extracted_at"][:10])


def _layers(con, at_once: int) -> dict[str, int]:
    def prepare(connection) -> None:
        build.prepare_session(connection, EXTRACT_DATE)

    prepare(con)
    chosen = [m for m in build.models() if m.layer in ("reference", "intermediate", "indicators")]
    return {m.table: rows for m, rows in side_by_side.build(con, chosen, build.build_model, prepare, at_once=at_once)}


def test_two_tables_at_a_time_build_the_rows_of_one_at_a_time(tmp_path):
    counts = {}
    for at_once in (1, 2):
        con = stage(DECK, tmp_path / f"{at_once}.duckdb", extract_date=EXTRACT_DATE)
        counts[at_once] = _layers(con, at_once)
        con.close()
    assert counts[1] == counts[2] and counts[2]["ind_mm01"] > 0
    two = duckdb.connect(str(tmp_path / "2.duckdb"))
    two.execute(f"attach '{tmp_path / '1.duckdb'}' as one (read_only)")
    for table in counts[1]:
        for a, b in ((table, f"one.{table}"), (f"one.{table}", table)):
            assert two.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone() == (0,), table
