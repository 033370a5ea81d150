"""MM07 Lenalidomide maintenance dose: 10 mg, days 1-21, 28-day cycles, after an asct; a lower
dose with CrCl < 50 ml/min is a renal dose reduction (indicators.md v2 §2 MM07)."""

from __future__ import annotations

import json

import pytest

from pipelines.reports import danish
from staging_rows import Deck, assert_clinician_texts, outcomes, row

START = "2025-05-01"


def maintained(deck, name, dose=10, unit="mg", days="1-21", cycle_length=28, creatinine=None, weight=90.0,
               creatinine_date="2025-04-28"):
    """A man born 1965-01-01 (60 on the sample day), asct 2025-02-01, lenalidomide maintenance
    from START. With ``creatinine`` (µmol/L): CrCl = 80 × weight × 88,4 / (72 × creatinine)."""
    deck.patient(name, birth="1965-01-01")
    deck.procedure(name, "2025-02-01", "asct")
    deck.course(name, "vedligehold", START, [("lenalidomide", dose, unit, days)], cycle_length=cycle_length)
    if creatinine is not None:
        deck.lab(name, creatinine_date, "kreatinin", creatinine, "µmol/L")
        deck.body(name, "2025-04-25", 180, weight)


def test_mm07_dose_and_schedule(tmp_path):
    deck = Deck()
    maintained(deck, "standard")
    maintained(deck, "dose_15", dose=15)
    maintained(deck, "dose_per_m2", unit="mg/m2")
    maintained(deck, "days_1_28", days="1-28")
    maintained(deck, "cycle_21", cycle_length=21)
    maintained(deck, "dose_and_schedule_wrong", dose=15, days="1-28")          # the dose is judged first
    maintained(deck, "dose_missing", dose=None)
    maintained(deck, "dose_missing_schedule_wrong", dose=None, days="1-28")    # known values decide
    maintained(deck, "dose_and_schedule_missing", dose=None, days=None)
    maintained(deck, "days_missing", days=None)
    maintained(deck, "days_missing_cycle_wrong", days=None, cycle_length=21)
    maintained(deck, "cycle_length_missing", cycle_length=None)
    maintained(deck, "days_1_28_cycle_length_missing", days="1-28", cycle_length=None)   # the spec's example
    maintained(deck, "dose_wrong_schedule_missing", dose=15, days=None)
    deck.patient("first_course")
    deck.procedure("first_course", "2025-02-01", "asct")
    deck.course("first_course", "vedligehold", "2025-05-01", [("lenalidomide", 15, "mg", "1-21")])
    deck.course("first_course", "vedligehold", "2025-08-01", [("lenalidomide", 10, "mg", "1-21")])
    deck.patient("dual")
    deck.procedure("dual", "2025-02-01", "asct")
    deck.course("dual", "vedligehold", "2025-05-01", "DR")
    deck.patient("lenalidomide_after_dara")
    deck.procedure("lenalidomide_after_dara", "2025-02-01", "asct")
    deck.course("lenalidomide_after_dara", "vedligehold", "2025-04-15", "Dara")
    deck.course("lenalidomide_after_dara", "vedligehold", "2025-07-01", "R")
    deck.patient("no_lenalidomide")
    deck.procedure("no_lenalidomide", "2025-02-01", "asct")
    deck.course("no_lenalidomide", "vedligehold", "2025-05-01", "Dara")
    deck.patient("induction_lenalidomide")
    deck.procedure("induction_lenalidomide", "2025-02-01", "asct")
    deck.course("induction_lenalidomide", "induktion", "2025-01-01", "R")
    deck.patient("no_asct")                                        # outside this guideline
    deck.course("no_asct", "vedligehold", "2025-05-01", "R")
    deck.patient("maintenance_before_asct")
    deck.course("maintenance_before_asct", "vedligehold", "2025-01-01", "R")
    deck.procedure("maintenance_before_asct", "2025-02-01", "asct")
    deck.patient("tandem")
    deck.procedure("tandem", "2025-02-01", "asct")
    deck.course("tandem", "vedligehold", "2025-03-01", [("lenalidomide", 15, "mg", "1-21")])   # between: not after the last
    deck.procedure("tandem", "2025-05-01", "asct")
    deck.course("tandem", "vedligehold", "2025-08-01", "R")
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM07",))
    expected = {
        "standard": ("met", "MET"),
        "dose_15": ("not_met", "DOSE"),
        "dose_per_m2": ("not_met", "DOSE"),
        "days_1_28": ("not_met", "SCHEDULE"),
        "cycle_21": ("not_met", "SCHEDULE"),
        "dose_and_schedule_wrong": ("not_met", "DOSE"),
        "dose_missing": ("unknown", "DOSE_UNKNOWN"),
        "dose_missing_schedule_wrong": ("not_met", "SCHEDULE"),
        "dose_and_schedule_missing": ("unknown", "DOSE_UNKNOWN"),
        "days_missing": ("unknown", "SCHEDULE_UNKNOWN"),
        "days_missing_cycle_wrong": ("not_met", "SCHEDULE"),
        "cycle_length_missing": ("unknown", "SCHEDULE_UNKNOWN"),
        "days_1_28_cycle_length_missing": ("not_met", "SCHEDULE"),
        "dose_wrong_schedule_missing": ("not_met", "DOSE"),
        "first_course": ("not_met", "DOSE"),
        "dual": ("met", "MET"),
        "lenalidomide_after_dara": ("met", "MET"),
        "no_lenalidomide": None,
        "induction_lenalidomide": None,
        "no_asct": None,
        "maintenance_before_asct": None,
        "tandem": ("met", "MET"),
    }
    assert outcomes(con, "MM07", expected) == expected
    assert str(row(con, "MM07", "lenalidomide_after_dara")["index_date"]) == "2025-07-01"
    dose = row(con, "MM07", "dose_15")
    assert dose["reason_text"].startswith("Anbefaling 5 (A): lenalidomid 15 mg, dag 1-21, serier à 28 dage")
    assert "01-05-2025" in dose["reason_text"]
    assert "10 mg dag 1-21 i serier à 28 dage forventet" in dose["reason_text"]
    assert dose["reason_text_en"].startswith("Rec 5 (A): lenalidomide 15 mg, days 1-21, 28-day cycles")
    assert "10 mg, days 1-21, 28-day cycles expected" in dose["reason_text_en"]
    assert_clinician_texts(con, "MM07")


def test_mm07_renal_dose_reduction(tmp_path):
    """(140 − 60) × weight × 88,4 / (72 × creatinine): 90 kg and 176,8 µmol/L give 50,0 ml/min,
    89,82 kg 49,9 ml/min, 300 µmol/L 29,5 ml/min."""
    deck = Deck()
    maintained(deck, "dose_5_crcl_49_9", dose=5, creatinine=176.8, weight=89.82)
    maintained(deck, "dose_5_crcl_50_0", dose=5, creatinine=176.8, weight=90.0)
    maintained(deck, "dose_5_crcl_unknown", dose=5)
    maintained(deck, "dose_5_creatinine_31_days_before", dose=5, creatinine=300, creatinine_date="2025-03-31")
    maintained(deck, "dose_5_creatinine_on_start_day", dose=5, creatinine=300, creatinine_date=START)
    maintained(deck, "dose_5_low_crcl_days_1_28", dose=5, days="1-28", creatinine=300)    # schedule not judged
    maintained(deck, "dose_5_low_crcl_schedule_missing", dose=5, days=None, cycle_length=None, creatinine=300)
    maintained(deck, "dose_15_low_crcl", dose=15, creatinine=300)
    maintained(deck, "dose_10_low_crcl", dose=10, creatinine=300)
    maintained(deck, "dose_10_low_crcl_days_1_28", dose=10, days="1-28", creatinine=300)
    maintained(deck, "dose_5_unknown_crcl_schedule_missing", dose=5, days=None)
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM07",))
    expected = {
        "dose_5_crcl_49_9": ("justified", "RENAL_DOSE_REDUCTION"),
        "dose_5_crcl_50_0": ("not_met", "DOSE"),
        "dose_5_crcl_unknown": ("not_met", "DOSE"),
        "dose_5_creatinine_31_days_before": ("not_met", "DOSE"),
        "dose_5_creatinine_on_start_day": ("justified", "RENAL_DOSE_REDUCTION"),
        "dose_5_low_crcl_days_1_28": ("justified", "RENAL_DOSE_REDUCTION"),
        "dose_5_low_crcl_schedule_missing": ("justified", "RENAL_DOSE_REDUCTION"),
        "dose_15_low_crcl": ("not_met", "DOSE"),
        "dose_10_low_crcl": ("met", "MET"),
        "dose_10_low_crcl_days_1_28": ("not_met", "SCHEDULE"),
        "dose_5_unknown_crcl_schedule_missing": ("not_met", "DOSE"),
    }
    assert outcomes(con, "MM07", expected) == expected
    reduced = row(con, "MM07", "dose_5_creatinine_on_start_day")
    assert "dosisreduktion pga. nyrefunktion" in reduced["reason_text"]
    assert "CrCl 29,4 ml/min < 50" in reduced["reason_text"]
    assert "kreatinin 300 µmol/L 01-05-2025" in reduced["reason_text"]
    assert "renal dose reduction" in reduced["reason_text_en"]
    edge = row(con, "MM07", "dose_5_crcl_49_9")
    assert "CrCl 49,9 ml/min < 50" in edge["reason_text"] and "kreatinin 176,8 µmol/L 28-04-2025" in edge["reason_text"]
    # the values shown reproduce the decision: 2 mg/dL = 176,8 µmol/L, not "177"; 89,82 kg, not "89,8"
    assert "vægt 89,82 kg" in edge["reason_text"]
    assert json.loads(edge["values_json"])["crcl_ml_min"] == pytest.approx(49.9)
    assert json.loads(row(con, "MM07", "dose_5_crcl_50_0")["values_json"])["crcl_ml_min"] == pytest.approx(50.0)
    # an unknown CrCl says what the lookback counts back from: the course start
    unknown = row(con, "MM07", "dose_5_crcl_unknown")["reason_text"]
    assert "; CrCl ukendt: ingen kreatinin" in unknown and unknown.endswith(" inden for 30 dage før forløbsstart 01-05-2025")
    assert_clinician_texts(con, "MM07")


def test_mm07_days_over_several_rows_compare_as_the_set_they_name(tmp_path):
    """One course's lenalidomide in several drug rows: their days together are the schedule
    (overlaps and repeats count once); one row without days leaves it unknown."""
    deck = Deck()
    for name, rows in {
        "split_1_14_and_15_21": [("1-14",), ("15-21",)],
        "overlapping_1_14_and_8_21": [("1-14",), ("8-21",)],
        "same_text_twice": [("1-21",), ("1-21",)],
        "gap_1_7_and_15_21": [("1-7",), ("15-21",)],
        "one_row_without_days": [("1-14",), (None,)],
    }.items():
        deck.patient(name, birth="1965-01-01")
        deck.procedure(name, "2025-02-01", "asct")
        deck.course(name, "vedligehold", START, [("lenalidomide", 10, "mg", days) for (days,) in rows])
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM07",))
    expected = {
        "split_1_14_and_15_21": ("met", "MET"),
        "overlapping_1_14_and_8_21": ("met", "MET"),
        "same_text_twice": ("met", "MET"),
        "gap_1_7_and_15_21": ("not_met", "SCHEDULE"),
        "one_row_without_days": ("unknown", "SCHEDULE_UNKNOWN"),
    }
    assert outcomes(con, "MM07", expected) == expected
    assert json.loads(row(con, "MM07", "split_1_14_and_15_21")["values_json"])["days"] == "1-14,15-21"


def test_mm07_drill_down_dose_is_written_as_a_danish_page_shows_it(tmp_path):
    """The drill-down's dose text is shown the Danish way: 2,5 mg with a decimal comma (it read
    "2.5 mg"), a missing unit in Danish, several rows joined."""
    deck = Deck()
    maintained(deck, "two_and_a_half", dose=2.5)
    deck.patient("two_rows", birth="1965-01-01")
    deck.procedure("two_rows", "2025-02-01", "asct")
    deck.course("two_rows", "vedligehold", START, [("lenalidomide", 10, "mg", "1-14"), ("lenalidomide", 5, "mg", "15-21")])
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM07",))
    doses = {name: json.loads(row(con, "MM07", name)["values_json"])["lenalidomide_dose"]
             for name in ("two_and_a_half", "two_rows")}
    shown = {name: danish.shown("lenalidomide_dose", dose) for name, dose in doses.items()}
    assert shown == {"two_and_a_half": "2,5 mg", "two_rows": "10 mg + 5 mg"}
    assert danish.shown("lenalidomide_dose", "1.25 (unit missing)") == "1,25 (enhed mangler)"
