"""MM08, MM09 and MM12: the v2.0-only indicators, excluded before 2026-04-07."""

from __future__ import annotations

from staging_rows import Deck, outcomes, row


def transplanted(deck, name, induction, risk="high", asct="2026-05-01", maintenance=None, maintenance_start=None):
    deck.patient(name, dx="2025-10-01")
    if risk == "high":
        deck.high_risk(name, "2025-10-05")
    elif risk == "standard":
        deck.standard_risk(name, "2025-10-05")
    if induction:
        deck.course(name, "induktion", "2025-10-15", induction, cycles=4, cycle_length=28)
    deck.procedure(name, "2026-03-01", "leukaferese")
    deck.procedure(name, asct, "asct")
    if maintenance:
        deck.course(name, "vedligehold", maintenance_start or "2026-08-01", maintenance)


def test_mm08_carfilzomib_induction_for_high_risk(tmp_path):
    deck = Deck()
    transplanted(deck, "d_krd", "D-KRd")
    transplanted(deck, "d_vcrd", "D-VCRd")
    transplanted(deck, "old_atc_isa_krd", [("L01XC38", 10, "mg/kg", "1,8,15,22"), ("L01XX45", 56, "mg/m2", "1,8,15"),
                                           ("lenalidomide", 25, "mg", "1-21"), ("dexamethasone", 40, "mg", "1,8,15,22")])
    transplanted(deck, "d_vrd", "D-VRd")
    transplanted(deck, "krd_triplet", "KRd")
    transplanted(deck, "no_induction", None)
    transplanted(deck, "on_v2_0_day", "D-KRd", asct="2026-04-07")
    transplanted(deck, "day_before_v2_0", "D-KRd", asct="2026-04-06")
    transplanted(deck, "standard_risk", "D-KRd", risk="standard")
    transplanted(deck, "unknown_risk", "D-KRd", risk=None)
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM08",))
    expected = {
        "d_krd": ("met", "MET"),
        "d_vcrd": ("met", "MET"),
        "old_atc_isa_krd": ("met", "MET"),
        "d_vrd": ("not_met", "HIGH_RISK_INDUCTION"),
        "krd_triplet": ("not_met", "HIGH_RISK_INDUCTION"),
        "no_induction": ("not_met", "HIGH_RISK_INDUCTION"),
        "on_v2_0_day": ("met", "MET"),
        "day_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "standard_risk": None,
        "unknown_risk": None,
    }
    assert outcomes(con, "MM08", expected) == expected
    assert row(con, "MM08", "on_v2_0_day")["guideline_version"] == "v2.0"
    assert row(con, "MM08", "day_before_v2_0")["guideline_version"] == "v1.5"
    assert "induction quadruplet_cd38 (bortezomib, daratumumab" in row(con, "MM08", "d_vrd")["reason_text"]
    assert row(con, "MM08", "d_krd")["risk_rules"] == "3"


def test_mm09_dual_maintenance_for_high_risk(tmp_path):
    deck = Deck()
    transplanted(deck, "dual", "D-KRd", maintenance="DR")
    transplanted(deck, "lenalidomide_only", "D-KRd", maintenance="R")
    transplanted(deck, "daratumumab_only", "D-KRd", maintenance="Dara")
    transplanted(deck, "before_v2_0", "D-KRd", asct="2025-12-01", maintenance="R", maintenance_start="2026-03-01")
    transplanted(deck, "started_on_v2_0_day", "D-KRd", asct="2025-12-01", maintenance="R",
                 maintenance_start="2026-04-07")
    transplanted(deck, "no_maintenance", "D-KRd")
    transplanted(deck, "standard_risk", "D-KRd", risk="standard", maintenance="R")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM09",))
    expected = {
        "dual": ("met", "MET"),
        "lenalidomide_only": ("not_met", "SINGLE_AGENT_MAINTENANCE"),
        "daratumumab_only": ("not_met", "SINGLE_AGENT_MAINTENANCE"),
        "before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "started_on_v2_0_day": ("not_met", "SINGLE_AGENT_MAINTENANCE"),
        "no_maintenance": None,
        "standard_risk": None,
    }
    assert outcomes(con, "MM09", expected) == expected
    assert str(row(con, "MM09", "dual")["index_date"]) == "2026-08-01"


def test_mm12_cd38_induction_uptake(tmp_path):
    deck = Deck()
    transplanted(deck, "d_vrd", "D-VRd", risk="standard")
    transplanted(deck, "d_vcrd", "D-VCRd", risk=None)
    transplanted(deck, "vrd", "VRd", risk="standard")
    transplanted(deck, "no_induction", None, risk="standard")
    transplanted(deck, "before_v2_0", "D-VRd", risk="standard", asct="2026-01-10")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01")  # the summary too
    expected = {
        "d_vrd": ("met", "MET"),
        "d_vcrd": ("met", "MET"),
        "vrd": ("not_met", "NO_CD38_INDUCTION"),
        "no_induction": ("not_met", "NO_CD38_INDUCTION"),
        "before_v2_0": ("excluded", "GUIDELINE_VERSION"),
    }
    assert outcomes(con, "MM12", expected) == expected
    # informational: no standard in the summary
    standards = con.execute(
        "select distinct standard, standard_met from rpt_indicator_summary where indicator_id = 'MM12'").fetchall()
    assert standards == [(None, None)]
