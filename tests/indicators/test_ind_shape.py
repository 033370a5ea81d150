"""Every indicator returns the same shape (indicators.md v2 §3); the catalogue, the SQL files and
the guideline version table stay consistent; a new guideline version is one more CSV row."""

from __future__ import annotations

import json
import re

from pipelines.indicators.build import GUIDELINE_VERSIONS_CSV, build_indicators, build_reference, models
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.sql_loader import SQL_DIR, set_variables
from staging_rows import Deck, danish_text_problems, outcome, row

CONTRACT = ["pseudonym", "indicator_id", "status", "reason_code", "reason_text", "index_date",
            "guideline_version", "department_code", "risk", "risk_rules", "reason_text_en"]
INDICATOR_COLUMNS = ["pseudonym", "indicator_id", "status", "reason_code", "reason_text", "index_date",
                     "guideline_version", "department_code", "values_json", "reason_text_en"]


def full_deck() -> Deck:
    """A patient touching every indicator under v2.0: high risk, carfilzomib quadruplet induction,
    priming, conditioning, tandem, consolidation with the induction's regimen, dual maintenance."""
    deck = Deck()
    deck.patient("all", dx="2026-04-01")
    deck.high_risk("all", "2026-04-05")
    deck.course("all", "induktion", "2026-04-10", "D-KRd", cycles=4, cycle_length=28)
    deck.body("all", "2026-08-01", 180, 80)
    deck.course("all", "mobilisering", "2026-08-05", "Cy2")
    deck.procedure("all", "2026-08-15", "leukaferese")
    deck.lab("all", "2026-08-25", "kreatinin", 80, "µmol/L")
    deck.course("all", "konditionering", "2026-08-26", "Mel200")
    deck.procedure("all", "2026-08-28", "asct")
    deck.procedure("all", "2026-09-10", "rehabilitering")
    deck.response("all", "2026-10-15", "efter_asct", "VGPR")
    deck.procedure("all", "2026-12-01", "asct")
    deck.course("all", "konsolidering", "2027-01-05", "D-KRd", cycles=2, cycle_length=28)
    deck.course("all", "vedligehold", "2027-03-20", "DR")
    return deck


def test_every_indicator_table_has_the_same_columns_and_valid_values(tmp_path):
    con = full_deck().build(tmp_path / "t.duckdb", "2027-12-31")
    for indicator in CATALOGUE:
        names = [d[0] for d in con.execute(f"select * from {indicator.table_name} limit 0").description]
        assert names == INDICATOR_COLUMNS, indicator.indicator_id
    names = [d[0] for d in con.execute("select * from rpt_patient_results limit 0").description]
    assert names[:len(CONTRACT)] == CONTRACT and names[len(CONTRACT):] == ["values_json"]

    rows = con.execute("select indicator_id, status, reason_code, reason_text, reason_text_en, values_json, "
                       "pseudonym from rpt_patient_results").fetchall()
    assert sorted(r[0] for r in rows) == [i.indicator_id for i in CATALOGUE]   # one row per indicator
    for indicator_id, status, code, text, text_en, values, pseudonym in rows:
        assert status in ("met", "not_met", "unknown", "justified", "excluded", "pending")
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", code), (indicator_id, code)
        assert (code == "MET") == (status == "met")
        assert danish_text_problems(text) == [], (indicator_id, text)
        assert text_en.startswith("Rec ") and "\n" not in text and "\n" not in text_en
        assert isinstance(json.loads(values), dict)
        assert re.fullmatch(r"P[0-9a-f]{16}", pseudonym)
        assert status == "met", (indicator_id, code, text)                   # the deck follows every rule
    assert row(con, "MM08", "all")["risk_rules"] == "3"
    assert row(con, "MM08", "all")["guideline_version"] == "v2.0"
    assert outcome(con, "MM13", "all") == ("met", "MET")


def test_catalogue_and_sql_files_agree():
    ids = [i.indicator_id for i in CATALOGUE]
    assert ids == [f"MM{n:02d}" for n in range(1, 16)]
    for indicator in CATALOGUE:
        text = (SQL_DIR / indicator.sql_file).read_text(encoding="utf-8")
        assert indicator.table_name == f"ind_{indicator.indicator_id.lower()}"
        assert text.startswith(f"-- {indicator.indicator_id} ")   # the file judges the indicator it is listed for
        assert indicator.valid_from_version == ("v2.0" if indicator.indicator_id in ("MM08", "MM09", "MM12") else "v1.5")
        assert (indicator.standard is None) == (indicator.indicator_id in ("MM08", "MM09", "MM12"))
    standards = {i.indicator_id: i.standard for i in CATALOGUE}
    assert standards["MM13"] == 0.90 and standards["MM14"] == 0.97 and standards["MM15"] == 0.90
    built = [m.table for m in models()]
    assert built.index("int_course_regimens") < built.index("int_treatment_phases") < built.index("ind_mm02")
    assert built[-2:] == ["rpt_patient_results", "rpt_indicator_summary"]


def test_a_new_guideline_version_is_one_more_row(tmp_path):
    con = full_deck().build(tmp_path / "t.duckdb", "2027-12-31")
    v21 = tmp_path / "guideline_versions.csv"
    v21.write_text(GUIDELINE_VERSIONS_CSV.read_text(encoding="utf-8")
                   + 'v2.1,2026-08-27,"a later version"\n', encoding="utf-8")
    set_variables(con, {"guideline_versions_csv": str(v21)})
    build_reference(con)
    build_indicators(con)
    version = {i: con.execute(f"select status, guideline_version from ind_mm{i}").fetchone() for i in ("04", "08", "11")}
    assert version["04"] == ("met", "v2.0")          # conditioning 2026-08-26: before v2.1
    assert version["08"] == ("met", "v2.0")          # decided by the induction start 2026-04-10, not the asct
    assert version["11"] == ("met", "v2.1")          # asct 2026-08-28
