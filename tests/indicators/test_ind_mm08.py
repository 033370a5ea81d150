"""MM08 Carfilzomib quadruplet or quintuplet induction for high risk (indicators.md v2 §2 MM08):
informational, v2.0 by the decision date = the first induction start (the earliest induktion
course, even a one-cycle bridging course; no induction: the index date = first asct)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from pipelines.indicators.catalogue import BY_ID
from staging_rows import Deck, assert_clinician_texts, outcomes, row

ISA_KRD_OLD_ATC = [("L01XC38", 10, "mg/kg", "1,8,15,22"), ("L01XX45", 56, "mg/m2", "1,8,15"),
                   ("lenalidomide", 25, "mg", "1-21"), ("dexamethasone", 40, "mg", "1,8,15,22")]


def transplanted(deck, name, courses=(("D-KRd", 4),), risk="high", dx="2026-04-01", induction="2026-04-15",
                 harvest="2026-08-20", asct="2026-09-10"):
    """FISH at diagnosis; induction courses (regimen, cycles) of 28-day cycles one after another."""
    deck.patient(name, dx=dx)
    if risk == "high":
        deck.high_risk(name, dx)
    elif risk == "standard":
        deck.standard_risk(name, dx)
    start = date.fromisoformat(induction)
    for regimen, cycles in courses:
        deck.course(name, "induktion", start.isoformat(), regimen, cycles=cycles, cycle_length=28)
        start += timedelta(days=28 * cycles)
    if harvest:
        deck.procedure(name, harvest, "leukaferese")
    if asct:
        deck.procedure(name, asct, "asct")


def test_mm08_carfilzomib_induction_for_high_risk(tmp_path):
    deck = Deck()
    transplanted(deck, "d_krd")
    transplanted(deck, "isa_krd_old_atc", ((ISA_KRD_OLD_ATC, 4),))
    transplanted(deck, "d_vcrd", (("D-VCRd", 4),))
    transplanted(deck, "d_vrd", (("D-VRd", 4),))
    transplanted(deck, "krd_triplet", (("KRd", 4),))
    transplanted(deck, "vcd", (("VCd", 4),))
    transplanted(deck, "no_induction", ())
    transplanted(deck, "induction_after_harvest_only", (("D-KRd", 4),), induction="2026-08-25")
    # predominant course, never pooled: VCd + D-VRd pooled made a "quintuplet"
    transplanted(deck, "bridging_vcd_then_d_krd", (("VCd", 1), ("D-KRd", 3)))
    transplanted(deck, "bridging_vcd_then_d_vrd", (("VCd", 1), ("D-VRd", 3)))
    transplanted(deck, "vcd_then_one_d_krd", (("VCd", 3), ("D-KRd", 1)))
    deck.patient("del17p_34", dx="2026-04-01")
    deck.cyto("del17p_34", "2026-04-02", "del17p", "pos", 34)
    deck.cyto("del17p_34", "2026-04-02", "t4_14", "neg")
    deck.cyto("del17p_34", "2026-04-02", "gain1q", "neg")
    deck.course("del17p_34", "induktion", "2026-04-15", "D-VRd", cycles=4, cycle_length=28)
    deck.procedure("del17p_34", "2026-09-10", "asct")
    transplanted(deck, "standard_risk", risk="standard")
    transplanted(deck, "unknown_risk", risk=None)
    transplanted(deck, "no_asct", asct=None)
    con = deck.build(tmp_path / "t.duckdb", "2026-12-31", indicators=("MM08",))
    expected = {
        "d_krd": ("met", "MET"),
        "isa_krd_old_atc": ("met", "MET"),
        "d_vcrd": ("met", "MET"),
        "d_vrd": ("not_met", "HIGH_RISK_INDUCTION"),
        "krd_triplet": ("not_met", "HIGH_RISK_INDUCTION"),
        "vcd": ("not_met", "HIGH_RISK_INDUCTION"),
        "no_induction": ("not_met", "HIGH_RISK_INDUCTION"),
        "induction_after_harvest_only": ("not_met", "HIGH_RISK_INDUCTION"),
        "bridging_vcd_then_d_krd": ("met", "MET"),
        "bridging_vcd_then_d_vrd": ("not_met", "HIGH_RISK_INDUCTION"),
        "vcd_then_one_d_krd": ("not_met", "HIGH_RISK_INDUCTION"),
        "del17p_34": ("not_met", "HIGH_RISK_INDUCTION"),
        "standard_risk": None,
        "unknown_risk": None,
        "no_asct": None,
    }
    assert outcomes(con, "MM08", expected) == expected
    d_vrd = row(con, "MM08", "d_vrd")
    assert d_vrd["reason_text"].startswith("Anbefaling 9 (B): højrisiko (")
    assert "D-VRd (" in d_vrd["reason_text"] and "firstofs-regime med CD38-antistof" in d_vrd["reason_text"]  # say the regimen
    assert "bortezomib, daratumumab, dexamethason, lenalidomid" in d_vrd["reason_text"]
    assert "D-VRd (bortezomib, daratumumab, dexamethasone, lenalidomide) – CD38 quadruplet" in d_vrd["reason_text_en"]
    assert str(d_vrd["index_date"]) == "2026-09-10" and d_vrd["guideline_version"] == "v2.0"
    assert d_vrd["risk_rules"] == "3"
    assert "del(17p) 34 %" in row(con, "MM08", "del17p_34")["reason_text"]
    assert "carfilzomib-baseret" in row(con, "MM08", "d_krd")["reason_text"]
    # the recommendation as the rule reads: carfilzomib qualifies the quadruplet only
    assert d_vrd["reason_text"].endswith("; anbefalet: firstofs-regime med carfilzomib eller femstofs-regime")
    assert_clinician_texts(con, "MM08")


def test_mm08_guideline_version_by_the_first_induction_start(tmp_path):
    deck = Deck()
    transplanted(deck, "induction_2026_03_asct_2026_06", dx="2026-02-15", induction="2026-03-01",
                 harvest="2026-05-20", asct="2026-06-15")
    transplanted(deck, "induction_on_v2_0_day", induction="2026-04-07")
    transplanted(deck, "induction_day_before_v2_0", dx="2026-03-20", induction="2026-04-06")
    transplanted(deck, "bridging_before_v2_0", (("VCd", 1), ("D-KRd", 3)), dx="2026-03-20", induction="2026-03-25")
    transplanted(deck, "no_induction_asct_before_v2_0", (), dx="2025-12-01", harvest="2026-02-10", asct="2026-03-01")
    transplanted(deck, "no_induction_asct_after_v2_0", (), dx="2026-02-01", harvest="2026-04-01", asct="2026-04-20")
    con = deck.build(tmp_path / "t.duckdb", "2026-12-31", indicators=("MM08",))
    expected = {
        "induction_2026_03_asct_2026_06": ("excluded", "GUIDELINE_VERSION"),
        "induction_on_v2_0_day": ("met", "MET"),
        "induction_day_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "bridging_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "no_induction_asct_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "no_induction_asct_after_v2_0": ("not_met", "HIGH_RISK_INDUCTION"),
    }
    assert outcomes(con, "MM08", expected) == expected
    excluded = row(con, "MM08", "induction_2026_03_asct_2026_06")
    assert excluded["guideline_version"] == "v1.5" and str(excluded["index_date"]) == "2026-06-15"
    assert "01-03-2026" in excluded["reason_text"] and "07-04-2026" in excluded["reason_text"]
    # v2.0 added a part of Rec 9, not the recommendation itself (indicators.md: "Recs 6–9's quadruplet, …
    # parts are new in v2.0")
    assert excluded["reason_text"].endswith(
        "ligger før retningslinje v2.0 (gældende fra 07-04-2026), som indførte den del af anbefalingen, "
        "indikatoren måler: ekskluderet")
    assert row(con, "MM08", "induction_on_v2_0_day")["guideline_version"] == "v2.0"
    assert row(con, "MM08", "bridging_before_v2_0")["guideline_version"] == "v1.5"
    assert row(con, "MM08", "no_induction_asct_after_v2_0")["guideline_version"] == "v2.0"
    # without induction the first asct decides the version: the texts name it, not an "induction start"
    no_induction = row(con, "MM08", "no_induction_asct_before_v2_0")
    assert ": første HDT (ingen induktion registreret) 01-03-2026 ligger før retningslinje v2.0" \
        in no_induction["reason_text"]
    assert "induktionsstart" not in no_induction["reason_text"]
    assert ": first ASCT (no induction recorded) 2026-03-01 is before guideline v2.0" in no_induction["reason_text_en"]
    assert json.loads(no_induction["values_json"])["first_induction_date"] is None
    assert json.loads(excluded["values_json"])["first_induction_date"] == "2026-03-01"
    assert_clinician_texts(con, "MM08")


def test_mm08_is_informational():
    assert BY_ID["MM08"].standard is None and BY_ID["MM08"].informational
    assert BY_ID["MM08"].valid_from_version == "v2.0"
