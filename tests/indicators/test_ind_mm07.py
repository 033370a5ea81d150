"""MM07 Lenalidomide maintenance dose: 10 mg, days 1-21, 28-day cycles."""

from __future__ import annotations

from staging_rows import Deck, outcomes, row


def maintained(deck, name, dose=10, unit="mg", days="1-21", cycle_length=28):
    deck.patient(name)
    deck.course(name, "vedligehold", "2025-05-01", [("lenalidomide", dose, unit, days)], cycle_length=cycle_length)


def test_mm07_rules(tmp_path):
    deck = Deck()
    maintained(deck, "standard")
    maintained(deck, "dose_15", dose=15)
    maintained(deck, "dose_per_m2", unit="mg/m2")
    maintained(deck, "days_1_28", days="1-28")
    maintained(deck, "cycle_21", cycle_length=21)
    maintained(deck, "dose_and_schedule_wrong", dose=15, days="1-28")
    maintained(deck, "dose_missing", dose=None)
    maintained(deck, "dose_missing_schedule_wrong", dose=None, days="1-28")
    maintained(deck, "days_missing", days=None)
    maintained(deck, "days_missing_cycle_wrong", days=None, cycle_length=21)
    maintained(deck, "cycle_length_missing", cycle_length=None)
    maintained(deck, "dose_wrong_schedule_missing", dose=5, days=None)
    deck.patient("first_course")
    deck.course("first_course", "vedligehold", "2025-05-01", [("lenalidomide", 15, "mg", "1-21")])
    deck.course("first_course", "vedligehold", "2025-08-01", [("lenalidomide", 10, "mg", "1-21")])
    deck.patient("dual")
    deck.course("dual", "vedligehold", "2025-05-01", "DR")
    deck.patient("no_lenalidomide")
    deck.course("no_lenalidomide", "vedligehold", "2025-05-01", "Dara")
    deck.patient("induction_lenalidomide")
    deck.course("induction_lenalidomide", "induktion", "2025-01-01", "R")
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM07",))
    expected = {
        "standard": ("met", "MET"),
        "dose_15": ("not_met", "DOSE"),
        "dose_per_m2": ("not_met", "DOSE"),
        "days_1_28": ("not_met", "SCHEDULE"),
        "cycle_21": ("not_met", "SCHEDULE"),
        "dose_and_schedule_wrong": ("not_met", "DOSE"),
        "dose_missing": ("unknown", "DOSE_UNKNOWN"),
        "dose_missing_schedule_wrong": ("unknown", "DOSE_UNKNOWN"),     # the dose is judged first
        "days_missing_cycle_wrong": ("not_met", "SCHEDULE"),
        "days_missing": ("unknown", "SCHEDULE_UNKNOWN"),
        "cycle_length_missing": ("unknown", "SCHEDULE_UNKNOWN"),
        "dose_wrong_schedule_missing": ("not_met", "DOSE"),
        "first_course": ("not_met", "DOSE"),
        "dual": ("met", "MET"),
        "no_lenalidomide": None,
        "induction_lenalidomide": None,
    }
    assert outcomes(con, "MM07", expected) == expected
    assert row(con, "MM07", "dose_15")["reason_text"] == (
        "Rec 5 (A): lenalidomide 15 mg, days 1-21, 28-day cycles (course K0002 started 2025-05-01); "
        "10 mg, days 1-21, 28-day cycles expected")
