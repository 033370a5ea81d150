"""MM03 Cyclophosphamide priming 2 g/m² (indicators.md v2 §2 MM03).

Ambiguity: the spec names only BSA_UNKNOWN for `unknown`; a cyclophosphamide row without its
administration days has no course dose either. The SQL's header reading is followed: it is
`unknown` / DOSE_UNKNOWN (the code MM07 uses for the same gap)."""

from __future__ import annotations

import json

import pytest

from staging_rows import Deck, assert_clinician_texts, outcomes, row

HARVEST = "2024-06-11"


def harvested(deck, name, body=True):
    deck.patient(name)
    deck.procedure(name, HARVEST, "leukaferese")
    if body:
        deck.body(name, "2024-05-25", 180, 80)           # BSA 2,0 m²


def test_mm03_rules(tmp_path):
    deck = Deck()
    harvested(deck, "g_m2")
    deck.course("g_m2", "mobilisering", "2024-06-01", "Cy2")
    harvested(deck, "flat_mg")
    deck.course("flat_mg", "mobilisering", "2024-06-01", [("cyclophosphamide", 4000, "mg", "1")])
    harvested(deck, "mg_kg")
    deck.course("mg_kg", "mobilisering", "2024-06-01", [("cyclophosphamide", 50, "mg/kg", "1")])
    harvested(deck, "two_days")
    deck.course("two_days", "mobilisering", "2024-06-01", [("cyclophosphamide", 1, "g/m2", "1-2")])
    harvested(deck, "minus_10_pct")
    deck.course("minus_10_pct", "mobilisering", "2024-06-01", [("cyclophosphamide", 1800, "mg/m2", "1")])
    harvested(deck, "plus_10_pct")
    deck.course("plus_10_pct", "mobilisering", "2024-06-01", [("cyclophosphamide", 2200, "mg/m2", "1")])
    harvested(deck, "below_tolerance")
    deck.course("below_tolerance", "mobilisering", "2024-06-01", [("cyclophosphamide", 1790, "mg/m2", "1")])
    harvested(deck, "low_dose")
    deck.course("low_dose", "mobilisering", "2024-06-01", [("cyclophosphamide", 1.5, "g/m2", "1")])
    harvested(deck, "gcsf_only")
    deck.course("gcsf_only", "mobilisering", "2024-06-01", [("L03AA02", 10, "mg", "1-5")])
    harvested(deck, "day_30_before")
    deck.course("day_30_before", "mobilisering", "2024-05-12", "Cy2")
    harvested(deck, "day_31_before")
    deck.course("day_31_before", "mobilisering", "2024-05-11", "Cy2")
    harvested(deck, "on_harvest_day")
    deck.course("on_harvest_day", "mobilisering", HARVEST, "Cy2")
    harvested(deck, "induction_only")
    deck.course("induction_only", "induktion", "2024-06-01", "VCd")
    harvested(deck, "bsa_unknown", body=False)
    deck.course("bsa_unknown", "mobilisering", "2024-06-01", [("cyclophosphamide", 4000, "mg", "1")])
    harvested(deck, "bsa_not_needed", body=False)
    deck.course("bsa_not_needed", "mobilisering", "2024-06-01", "Cy2")
    harvested(deck, "days_missing")
    deck.course("days_missing", "mobilisering", "2024-06-01", [("cyclophosphamide", 2, "g/m2", None)])
    harvested(deck, "latest_of_two")
    deck.course("latest_of_two", "mobilisering", "2024-05-20", [("cyclophosphamide", 1, "g/m2", "1")])
    deck.course("latest_of_two", "mobilisering", "2024-06-01", "Cy2")
    harvested(deck, "neither_has_cyclophosphamide")
    deck.course("neither_has_cyclophosphamide", "mobilisering", "2024-05-20", [("L03AA02", 10, "mg", "1-5")])
    deck.course("neither_has_cyclophosphamide", "mobilisering", "2024-06-01", [("L03AA02", 10, "mg", "1-3")])
    harvested(deck, "gcsf_course_after_priming")
    deck.course("gcsf_course_after_priming", "mobilisering", "2024-06-01", "Cy2")
    deck.course("gcsf_course_after_priming", "mobilisering", "2024-06-05", [("L03AA02", 10, "mg", "1-5")])
    deck.patient("no_harvest")
    deck.course("no_harvest", "mobilisering", "2024-06-01", "Cy2")
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM03",))
    expected = {
        "g_m2": ("met", "MET"),
        "flat_mg": ("met", "MET"),
        "mg_kg": ("met", "MET"),
        "two_days": ("met", "MET"),
        "minus_10_pct": ("met", "MET"),
        "plus_10_pct": ("met", "MET"),
        "below_tolerance": ("not_met", "PRIMING_DOSE"),
        "low_dose": ("not_met", "PRIMING_DOSE"),
        "gcsf_only": ("not_met", "PRIMING_WITHOUT_CYCLOPHOSPHAMIDE"),
        "day_30_before": ("met", "MET"),
        "day_31_before": ("not_met", "NO_PRIMING"),
        "on_harvest_day": ("not_met", "NO_PRIMING"),
        "induction_only": ("not_met", "NO_PRIMING"),
        "bsa_unknown": ("unknown", "BSA_UNKNOWN"),
        "bsa_not_needed": ("met", "MET"),
        "days_missing": ("unknown", "DOSE_UNKNOWN"),
        "latest_of_two": ("met", "MET"),
        "neither_has_cyclophosphamide": ("not_met", "PRIMING_WITHOUT_CYCLOPHOSPHAMIDE"),
        "gcsf_course_after_priming": ("met", "MET"),
        "no_harvest": None,
    }
    assert outcomes(con, "MM03", expected) == expected
    low = row(con, "MM03", "low_dose")
    assert low["reason_text"].startswith("Anbefaling 3 (A): ")
    assert "cyclophosphamid 1.500 mg/m² givet" in low["reason_text"]          # thousands with a dot
    assert "2.000 mg/m² ± 10 % forventet" in low["reason_text"]
    assert "01-06-2024" in low["reason_text"] and "11-06-2024" in low["reason_text"]
    assert "cyclophosphamide 1500 mg/m² given" in low["reason_text_en"]
    assert "2000 mg/m² ± 10 % expected" in low["reason_text_en"]
    assert "BSA" in row(con, "MM03", "bsa_unknown")["reason_text"]
    # a dose in mg or mg/kg is shown with the BSA (and weight) its dose per m² was made with
    assert "cyclophosphamid 2.000 mg/m² (4.000 mg × 1 dag; BSA 2 m² 25-05-2024)" in row(con, "MM03", "flat_mg")["reason_text"]
    assert "(50 mg/kg × 1 dag; BSA 2 m² 25-05-2024, vægt 80 kg)" in row(con, "MM03", "mg_kg")["reason_text"]
    assert "BSA" not in row(con, "MM03", "low_dose")["reason_text"]                  # given in mg/m²: nothing to show
    values = json.loads(row(con, "MM03", "flat_mg")["values_json"])
    assert values["bsa_m2"] == pytest.approx(2.0)
    assert values["cyclophosphamide_mg_m2_given"] == pytest.approx(2000)
    assert values["days_before_harvest"] == 10
    assert_clinician_texts(con, "MM03")


def test_mm03_dose_shown_on_its_side_of_the_tolerance(tmp_path):
    """2.200,08 mg/m² is not ≈ 2.000 ± 10 %: shown "2.200" it would read as if it were."""
    deck = Deck()
    harvested(deck, "just_above_2200")
    deck.course("just_above_2200", "mobilisering", "2024-06-01", [("cyclophosphamide", 2200.08, "mg/m2", "1")])
    harvested(deck, "just_below_1800")
    deck.course("just_below_1800", "mobilisering", "2024-06-01", [("cyclophosphamide", 1799.6, "mg/m2", "1")])
    harvested(deck, "inside_2199_6")
    deck.course("inside_2199_6", "mobilisering", "2024-06-01", [("cyclophosphamide", 2199.6, "mg/m2", "1")])
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM03",))
    expected = {
        "just_above_2200": ("not_met", "PRIMING_DOSE"),
        "just_below_1800": ("not_met", "PRIMING_DOSE"),
        "inside_2199_6": ("met", "MET"),
    }
    assert outcomes(con, "MM03", expected) == expected
    assert "cyclophosphamid 2.200,08 mg/m² givet" in row(con, "MM03", "just_above_2200")["reason_text"]
    assert "cyclophosphamide 2200.08 mg/m² given" in row(con, "MM03", "just_above_2200")["reason_text_en"]
    assert "cyclophosphamid 1.799,6 mg/m² givet" in row(con, "MM03", "just_below_1800")["reason_text"]
    assert "cyclophosphamid 2.200 mg/m² (" in row(con, "MM03", "inside_2199_6")["reason_text"]
    given = {name: json.loads(row(con, "MM03", name)["values_json"])["cyclophosphamide_mg_m2_given"]
             for name in expected}
    assert given == {"just_above_2200": 2200.08, "just_below_1800": 1799.6, "inside_2199_6": 2199.6}
    assert_clinician_texts(con, "MM03")
