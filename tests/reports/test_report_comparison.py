"""Which results a run compares with, and how the page names them: the newest earlier extract
(by extract date, then id); the same extract run again compares with what that run compared
with, never with itself."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.reports import comparison
from pipelines.reports.comparison import ExtractRef, choose_base, write_base

COLUMNS = ["pseudonym", "indicator_id", "status", "reason_code", "reason_text", "index_date", "guideline_version",
           "department_code", "risk", "risk_rules", "reason_text_en"]


def published(folder: Path, extract_id: str | None, day: str | None, statuses: list[str],
              base: tuple[ExtractRef | None, list[str]] | None = None) -> Path:
    """A published run: patient_results.csv, run.json, and (optionally) its own base."""
    folder.mkdir(parents=True)
    rows = [{c: "" for c in COLUMNS} | {"pseudonym": f"P{k:016x}", "indicator_id": "MM01", "status": s,
                                        "department_code": "D1", "index_date": "2026-03-01"}
            for k, s in enumerate(statuses)]
    pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}).write_csv(folder / "patient_results.csv")
    if day is not None:
        (folder / "run.json").write_text(json.dumps({"extract_id": extract_id, "extract_date": day, "files": {
            "patients.csv": {"sha256": "ab" * 32}}}), encoding="utf-8")
    if base is not None:
        ref, base_statuses = base
        old = comparison.Base(pl.DataFrame([{c: "" for c in COLUMNS} | {"pseudonym": f"P{k:016x}", "indicator_id": "MM01",
                                                                        "status": s, "department_code": "D1"}
                                            for k, s in enumerate(base_statuses)],
                                           schema={c: pl.String for c in COLUMNS}).select(comparison.REQUIRED + comparison.OPTIONAL),
                              ref, "patient_results.csv")
        write_base(folder, ExtractRef(extract_id, date.fromisoformat(day)), old)
    return folder / "patient_results.csv"


CURRENT = ExtractRef("DMDB-2026-11-01", date(2026, 11, 1), "2026-11-01 · 12345678")
OCTOBER = ExtractRef("DMDB-2026-10-01", date(2026, 10, 1))


def test_an_earlier_extract_is_the_base_and_is_named(tmp_path):
    previous = published(tmp_path / "oct", "DMDB-2026-10-01", "2026-10-01", ["not_met", "met", "unknown"])
    base = choose_base(previous, CURRENT)
    assert base.ref.extract_id == "DMDB-2026-10-01" and base.rows.height == 3
    assert base.name_da == "udtræk DMDB-2026-10-01 af 01-10-2026"


def test_the_same_extract_again_compares_with_its_own_base_never_with_itself(tmp_path):
    previous = published(tmp_path / "nov", "DMDB-2026-11-01", "2026-11-01", ["not_met", "not_met"],
                         base=(OCTOBER, ["unknown", "met", "not_met"]))
    base = choose_base(previous, CURRENT)
    assert base.ref == OCTOBER and base.name_da == "udtræk DMDB-2026-10-01 af 01-10-2026"
    assert base.rows["status"].to_list() == ["unknown", "not_met"], "the base keeps its deviation rows"
    again = published(tmp_path / "nov-first", "DMDB-2026-11-01", "2026-11-01", ["not_met"])
    (again.parent / "comparison.json").write_text(json.dumps({"compared_with": None}), encoding="utf-8")
    assert choose_base(again, CURRENT) is None, "its first run had nothing to compare with: nor has the rerun"


def test_a_later_extract_is_never_the_base_but_its_earlier_base_can_be(tmp_path):
    later = published(tmp_path / "dec", "DMDB-2026-12-01", "2026-12-01", ["not_met"],
                      base=(OCTOBER, ["unknown"]))
    assert choose_base(later, CURRENT).ref == OCTOBER
    latest = published(tmp_path / "jan", "DMDB-2027-01-01", "2027-01-01", ["not_met"],
                       base=(ExtractRef("DMDB-2026-12-01", date(2026, 12, 1)), ["unknown"]))
    assert choose_base(latest, CURRENT) is None


def test_results_without_a_run_record_are_named_by_their_file(tmp_path):
    previous = published(tmp_path / "bare", None, None, ["not_met"])
    base = choose_base(previous, CURRENT)
    assert base.ref is None and base.name_da == "tidligere resultater (patient_results.csv)"
    assert choose_base(None, CURRENT) is None


def test_an_extract_id_holding_a_pseudonym_is_not_shown():
    ref = ExtractRef("DMDB-P0123456789abcdef", date(2026, 10, 1), "2026-10-01 · 3f9a1c2e")
    assert ref.name_da == "udtræk af 01-10-2026 (kontrolsum 3f9a1c2e)"
    assert comparison.shown_id("DMDB-2026-10-01") == "DMDB-2026-10-01"
