"""The scrub of issue 13 changes nothing but CPR-shaped tokens: the bundled sample and the deck
give the same raw and staging tables with and without it, except cells that held a CPR-shaped
token: in the bundled sample only the records of malformed lines (whole lines whose CPR was not
split off; seven of them touch the next field and were clear in ``raw_*`` and
``stg_quarantine`` on the branch point), in the deck none. Dates (``01-02-2003``), decimals,
course ids and department codes keep working."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipelines.ingest import raw_reader
from pipelines.lib import cpr
from tests.delivery_builder import stage

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


def tables(folder: Path, key: bytes) -> dict[str, list[tuple]]:
    day = date.fromisoformat(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["extracted_at"][:10])
    con = stage(folder, Path(":memory:"), extract_date=day, key=key)
    try:
        return {t: con.execute(f"select * from {t} order by all").fetchall()
                for (t,) in con.execute("select table_name from information_schema.tables order by 1").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("name,key", [("sample_delivery", b"demo-key"), ("deck", b"deck-key")])
def test_scrubbing_changes_only_cells_that_held_a_cpr(monkeypatch, name, key):
    after = tables(SAMPLES / name, key)
    with monkeypatch.context() as mp:
        mp.setattr(cpr, "scrub_series", lambda series, replace: series)  # the ingest without the scrub
        mp.setattr(raw_reader, "_cpr_field_replaced", lambda line, delivered, index, pseudonymise: line)
        before = tables(SAMPLES / name, key)
    assert before.keys() == after.keys()
    changed = []
    for table in before:
        assert len(before[table]) == len(after[table]), table
        for old, new in zip(before[table], after[table]):
            for a, b in zip(old, new):
                if a != b:
                    changed.append((table, a, b))
    for table, old, new in changed:
        tokens = cpr.find(str(old))
        assert tokens, f"{table}: {old!r} became {new!r} without a CPR-shaped token in it"
        assert all(t.digits not in {f.digits for f in cpr.find(str(new), dated=False)} for t in tokens), new
    # only records of malformed lines: in their raw table and the quarantine, nothing typed
    assert {table for table, _, _ in changed} <= {"stg_quarantine"} | {t for t in before if t.startswith("raw_")}
    if name == "sample_delivery":
        assert changed
