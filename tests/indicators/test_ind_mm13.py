"""MM13 Consolidation: at most 2 cycles (high risk 12, unknown risk 2) with the induction's
regimen (indicators.md v2 §2 MM13). The consolidation = the konsolidering courses after the last
asct and before the first vedligehold course after it; category and cycles as for a phase."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, assert_clinician_texts, outcomes, row


def consolidated(deck, name, consolidation=(("VRd", 2),), induction=(("VRd", 4),), risk="standard",
                 start="2024-10-01", maintenance=None, asct="2024-08-01"):
    """FISH 2024-01-12; induction (regimen, cycles) from 2024-02-01 and consolidation (regimen,
    cycles) from ``start``, 28-day cycles one after another; harvest 2024-06-01; asct."""
    deck.patient(name)
    if risk == "standard":
        deck.standard_risk(name)
    elif risk == "high":
        deck.high_risk(name)
    for phase, courses, first in (("induktion", induction, "2024-02-01"), ("konsolidering", consolidation, start)):
        when = date.fromisoformat(first)
        for regimen, cycles in courses:
            deck.course(name, phase, when.isoformat(), regimen, cycles=cycles, cycle_length=28)
            when += timedelta(days=28 * (cycles or 1))
    deck.procedure(name, "2024-06-01", "leukaferese")
    if asct:
        deck.procedure(name, asct, "asct")
    if maintenance:
        deck.course(name, "vedligehold", maintenance, "R")


def test_mm13_cycle_limit(tmp_path):
    deck = Deck()
    consolidated(deck, "two_cycles")
    consolidated(deck, "one_cycle", (("VRd", 1),))
    consolidated(deck, "three_cycles", (("VRd", 3),))
    consolidated(deck, "three_cycles_unknown_risk", (("VRd", 3),), risk=None)
    consolidated(deck, "two_cycles_unknown_risk", (("VRd", 2),), risk=None)
    consolidated(deck, "high_risk_12", (("VRd", 12),), risk="high")
    consolidated(deck, "high_risk_13", (("VRd", 13),), risk="high")
    consolidated(deck, "high_risk_3", (("VRd", 3),), risk="high")
    consolidated(deck, "high_risk_6_plus_6", (("VRd", 6), ("VRd", 6)), risk="high")
    consolidated(deck, "one_plus_one", (("VRd", 1), ("VRd", 1)))
    consolidated(deck, "two_plus_one", (("VRd", 2), ("VRd", 1)))
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM13",))
    expected = {
        "two_cycles": ("met", "MET"),
        "one_cycle": ("met", "MET"),
        "three_cycles": ("not_met", "CONSOLIDATION_CYCLES"),
        "three_cycles_unknown_risk": ("not_met", "CONSOLIDATION_CYCLES"),
        "two_cycles_unknown_risk": ("met", "MET"),
        "high_risk_12": ("met", "MET"),
        "high_risk_13": ("not_met", "CONSOLIDATION_CYCLES"),
        "high_risk_3": ("met", "MET"),
        "high_risk_6_plus_6": ("met", "MET"),
        "one_plus_one": ("met", "MET"),
        "two_plus_one": ("not_met", "CONSOLIDATION_CYCLES"),
    }
    assert outcomes(con, "MM13", expected) == expected
    three = row(con, "MM13", "three_cycles")
    assert three["reason_text"].startswith("Anbefaling 2 og 6 (A): ")
    assert "3 serier" in three["reason_text"] and "højst 2 serier" in three["reason_text"]   # how many, the limit
    assert "at most 2 cycles" in three["reason_text_en"]
    assert "højst 12 serier ved højrisiko" in row(con, "MM13", "high_risk_13")["reason_text"]
    # the limit for unknown risk says why it is the standard-risk one
    assert row(con, "MM13", "three_cycles_unknown_risk")["reason_text"].endswith(
        ": højst 2 serier (risiko uoplyst: grænsen for standardrisiko)")
    assert "risiko uoplyst" not in three["reason_text"]
    assert str(three["index_date"]) == "2024-10-01"
    assert_clinician_texts(con, "MM13")


def test_mm13_regimen_of_the_induction(tmp_path):
    deck = Deck()
    consolidated(deck, "vcd_after_vrd", (("VCd", 2),))
    consolidated(deck, "vcd_5_after_vrd", (("VCd", 5),))                 # the regimen is judged first
    consolidated(deck, "vcd_cycles_missing_after_vrd", (("VCd", None),))
    consolidated(deck, "other_after_other", (("R", 2),), induction=(("Dara-Rd", 4),))   # codes: other = other
    consolidated(deck, "d_krd_after_d_vrd", (("D-KRd", 2),), induction=(("D-VRd", 4),))  # both quadruplet_cd38
    consolidated(deck, "krd_after_vrd", (("KRd", 2),))                   # both triplet_pi_imid
    consolidated(deck, "d_vrd_after_vrd", (("D-VRd", 2),))
    # predominant course of each phase
    consolidated(deck, "tie_vcd_then_vrd", (("VCd", 1), ("VRd", 1)))     # tie: the later start, VRd
    consolidated(deck, "tie_vrd_then_vcd", (("VRd", 1), ("VCd", 1)))
    consolidated(deck, "bridging_induction", (("VRd", 2),), induction=(("VCd", 1), ("VRd", 3)))
    consolidated(deck, "bridging_induction_vcd_consolidation", (("VCd", 2),), induction=(("VCd", 1), ("VRd", 3)))
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM13",))
    expected = {
        "vcd_after_vrd": ("not_met", "CONSOLIDATION_REGIMEN"),
        "vcd_5_after_vrd": ("not_met", "CONSOLIDATION_REGIMEN"),
        "vcd_cycles_missing_after_vrd": ("not_met", "CONSOLIDATION_REGIMEN"),
        "other_after_other": ("met", "MET"),
        "d_krd_after_d_vrd": ("met", "MET"),
        "krd_after_vrd": ("met", "MET"),
        "d_vrd_after_vrd": ("not_met", "CONSOLIDATION_REGIMEN"),
        "tie_vcd_then_vrd": ("met", "MET"),
        "tie_vrd_then_vcd": ("not_met", "CONSOLIDATION_REGIMEN"),
        "bridging_induction": ("met", "MET"),
        "bridging_induction_vcd_consolidation": ("not_met", "CONSOLIDATION_REGIMEN"),
    }
    assert outcomes(con, "MM13", expected) == expected
    text = row(con, "MM13", "vcd_after_vrd")["reason_text"]           # name both regimens
    assert "konsolidering: VCd (bortezomib, cyclophosphamid, dexamethason), " in text
    assert "induktion: VRd (bortezomib, dexamethason, lenalidomid) – trestofs-regime" in text
    assert "induction: VRd (bortezomib, dexamethasone, lenalidomide) – PI + IMiD + dex triplet" \
        in row(con, "MM13", "vcd_after_vrd")["reason_text_en"]
    assert_clinician_texts(con, "MM13")


def test_mm13_missing_cycles_and_missing_induction(tmp_path):
    deck = Deck()
    consolidated(deck, "cycles_missing", (("VRd", None),))
    consolidated(deck, "two_plus_missing", (("VRd", 2), ("VRd", None)))
    consolidated(deck, "one_plus_missing", (("VRd", 1), ("VRd", None)))
    consolidated(deck, "unknown_risk_two_plus_missing", (("VRd", 2), ("VRd", None)), risk=None)
    consolidated(deck, "high_risk_11_plus_missing", (("VRd", 11), ("VRd", None)), risk="high")
    consolidated(deck, "high_risk_12_plus_missing", (("VRd", 12), ("VRd", None)), risk="high")
    consolidated(deck, "no_induction", induction=())
    consolidated(deck, "no_induction_three_cycles", (("VRd", 3),), induction=())     # known values decide
    consolidated(deck, "no_induction_cycles_missing", (("VRd", None),), induction=())  # first listed unknown
    consolidated(deck, "induction_after_harvest_only", induction=())
    deck.course("induction_after_harvest_only", "induktion", "2024-06-10", "VRd", cycles=1, cycle_length=28)
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM13",))
    expected = {
        "cycles_missing": ("unknown", "CYCLES_UNKNOWN"),
        "two_plus_missing": ("not_met", "CONSOLIDATION_CYCLES"),
        "one_plus_missing": ("unknown", "CYCLES_UNKNOWN"),
        "unknown_risk_two_plus_missing": ("not_met", "CONSOLIDATION_CYCLES"),
        "high_risk_11_plus_missing": ("unknown", "CYCLES_UNKNOWN"),
        "high_risk_12_plus_missing": ("not_met", "CONSOLIDATION_CYCLES"),
        "no_induction": ("unknown", "INDUCTION_UNKNOWN"),
        "no_induction_three_cycles": ("not_met", "CONSOLIDATION_CYCLES"),
        "no_induction_cycles_missing": ("unknown", "CYCLES_UNKNOWN"),
        "induction_after_harvest_only": ("unknown", "INDUCTION_UNKNOWN"),
    }
    assert outcomes(con, "MM13", expected) == expected
    two_plus = row(con, "MM13", "two_plus_missing")["reason_text"]
    assert "konsolidering: VRd" in two_plus and "2 serier + antal serier mangler for 1 forløb" in two_plus
    assert "mindst 3 konsolideringsserier givet: højst 2 serier" in two_plus
    # the missing number is the consolidation's, not the induction's (found by an independent reviewer)
    assert row(con, "MM13", "one_plus_missing")["reason_text"].endswith(": antal konsolideringsserier mangler (højst 2 serier)")
    assert "ingen induktion registreret" in row(con, "MM13", "no_induction")["reason_text"]
    assert_clinician_texts(con, "MM13")


def test_mm13_population_consolidation_before_maintenance(tmp_path):
    deck = Deck()
    consolidated(deck, "consolidation_then_maintenance", maintenance="2025-02-01")
    consolidated(deck, "konsolidering_after_maintenance_only", maintenance="2024-09-15")
    consolidated(deck, "konsolidering_on_maintenance_day", maintenance="2024-10-01")
    consolidated(deck, "two_before_two_after_maintenance", (("VRd", 2),), maintenance="2024-12-01")
    deck.course("two_before_two_after_maintenance", "konsolidering", "2025-03-01", "VRd", cycles=2, cycle_length=28)
    consolidated(deck, "konsolidering_on_asct_day", start="2024-08-01")
    consolidated(deck, "konsolidering_between_tandem", start="2024-08-20")
    deck.procedure("konsolidering_between_tandem", "2024-12-01", "asct")
    consolidated(deck, "no_asct", asct=None)
    # no window: a consolidation started a week before the extract is judged as recorded
    consolidated(deck, "started_a_week_ago", (("VRd", 1),), start="2026-10-25", asct="2026-08-01")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM13",))
    expected = {
        "consolidation_then_maintenance": ("met", "MET"),
        "konsolidering_after_maintenance_only": None,
        "konsolidering_on_maintenance_day": None,
        "two_before_two_after_maintenance": ("met", "MET"),
        "konsolidering_on_asct_day": None,
        "konsolidering_between_tandem": None,
        "no_asct": None,
        "started_a_week_ago": ("met", "MET"),
    }
    assert outcomes(con, "MM13", expected) == expected
    assert str(row(con, "MM13", "two_before_two_after_maintenance")["index_date"]) == "2024-10-01"
