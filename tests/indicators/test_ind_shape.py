"""Every indicator returns the same shape; the catalogue, the SQL files and the guideline
version table stay consistent; a new guideline version is one more CSV row."""

from __future__ import annotations

import json
import re

from pipelines.indicators.build import GUIDELINE_VERSIONS_CSV, build_indicators, build_reference, models
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.sql_loader import SQL_DIR, set_variables
from staging_rows import Deck, outcome, row

CONTRACT = ["pseudonym", "indicator_id", "status", "reason_code", "reason_text", "index_date",
            "guideline_version", "department_code", "risk", "risk_rules"]
INDICATOR_COLUMNS = ["pseudonym", "indicator_id", "status", "reason_code", "reason_text", "index_date",
                     "guideline_version", "department_code", "values_json"]


def full_deck() -> Deck:
    """A patient touching every indicator (v2.0, high risk, tandem, maintenance)."""
    deck = Deck()
    deck.patient("all", dx="2025-10-01")
    deck.high_risk("all", "2025-10-05")
    deck.course("all", "induktion", "2025-10-15", "D-KRd", cycles=4, cycle_length=28)
    deck.body("all", "2026-02-20", 180, 80)
    deck.course("all", "mobilisering", "2026-02-25", "Cy2")
    deck.procedure("all", "2026-03-05", "leukaferese")
    deck.lab("all", "2026-04-08", "kreatinin", 80, "µmol/L")
    deck.course("all", "konditionering", "2026-04-09", "Mel200")
    deck.procedure("all", "2026-04-11", "asct")
    deck.procedure("all", "2026-05-01", "rehabilitering")
    deck.response("all", "2026-06-01", "efter_asct", "VGPR")
    deck.procedure("all", "2026-06-20", "asct")
    deck.course("all", "vedligehold", "2026-09-18", "DR")
    return deck


def test_every_indicator_table_has_the_same_columns_and_valid_values(tmp_path):
    con = full_deck().build(tmp_path / "t.duckdb", "2026-12-31")
    for indicator in CATALOGUE:
        names = [d[0] for d in con.execute(f"select * from {indicator.table_name} limit 0").description]
        assert names == INDICATOR_COLUMNS, indicator.indicator_id
    names = [d[0] for d in con.execute("select * from rpt_patient_results limit 0").description]
    assert names[:len(CONTRACT)] == CONTRACT and names[len(CONTRACT):] == ["values_json"]

    rows = con.execute("select indicator_id, status, reason_code, reason_text, values_json, pseudonym "
                       "from rpt_patient_results").fetchall()
    assert sorted(r[0] for r in rows) == [i.indicator_id for i in CATALOGUE]   # one row per indicator
    for indicator_id, status, code, text, values, pseudonym in rows:
        assert status in ("met", "not_met", "unknown", "justified", "excluded", "pending")
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", code), (indicator_id, code)
        assert (code == "MET") == (status == "met")
        assert text.startswith("Rec ") and "\n" not in text
        assert isinstance(json.loads(values), dict)
        assert re.fullmatch(r"P[0-9a-f]{16}", pseudonym)
    assert outcome(con, "MM10", "all") == ("met", "MET")
    assert outcome(con, "MM08", "all") == ("met", "MET")
    assert row(con, "MM08", "all")["risk_rules"] == "3"


def test_catalogue_and_sql_files_agree():
    ids = [i.indicator_id for i in CATALOGUE]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for indicator in CATALOGUE:
        text = (SQL_DIR / indicator.sql_file).read_text(encoding="utf-8")
        assert indicator.table_name == f"ind_{indicator.indicator_id.lower()}"
        assert f"'{indicator.indicator_id}'" in text          # the file judges the indicator it is listed for
        assert indicator.valid_from_version in ("v1.5", "v2.0")
        assert (indicator.standard is None) == (indicator.indicator_id == "MM12")
    built = [m.table for m in models()]
    assert built.index("int_course_regimens") < built.index("int_induction") < built.index("ind_mm02")
    assert built[-2:] == ["rpt_patient_results", "rpt_indicator_summary"]


def test_a_new_guideline_version_is_one_more_row(tmp_path):
    con = full_deck().build(tmp_path / "t.duckdb", "2026-12-31")
    assert row(con, "MM08", "all")["guideline_version"] == "v2.0"
    v21 = tmp_path / "guideline_versions.csv"
    v21.write_text(GUIDELINE_VERSIONS_CSV.read_text(encoding="utf-8")
                   + 'v2.1,2026-04-10,"a later version"\n', encoding="utf-8")
    set_variables(con, {"guideline_versions_csv": str(v21)})
    build_reference(con)
    build_indicators(con)
    # asct 2026-04-11 falls under v2.1; MM08 (valid from v2.0) still applies
    got = con.execute("select status, guideline_version from ind_mm08").fetchone()
    assert got == ("met", "v2.1")
    conditioning = con.execute("select guideline_version from ind_mm04").fetchone()[0]
    assert conditioning == "v2.0"                                # 2026-04-09: before v2.1
