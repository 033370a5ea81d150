"""MM06 Lenalidomide maintenance started day 60–120 after the last asct."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, outcomes, row

ASCT = date(2025, 2, 1)


def day(n: int) -> str:
    return (ASCT + timedelta(days=n)).isoformat()


def transplanted(deck, name, maintenance=None, start_day=None, death_day=None, asct=ASCT):
    deck.patient(name, death=day(death_day) if death_day is not None else None)
    deck.procedure(name, asct.isoformat(), "asct")
    if maintenance:
        deck.course(name, "vedligehold", day(start_day), maintenance)


def test_mm06_rules(tmp_path):
    deck = Deck()
    transplanted(deck, "len_day_90", "R", 90)
    transplanted(deck, "len_day_60", "R", 60)
    transplanted(deck, "len_day_120", "R", 120)
    transplanted(deck, "dual_day_90", "DR", 90)
    transplanted(deck, "len_day_59", "R", 59)
    transplanted(deck, "len_day_121", "R", 121)
    transplanted(deck, "dara_day_90", "Dara", 90)
    transplanted(deck, "thal_day_90", "Thal", 90)
    transplanted(deck, "none")
    transplanted(deck, "died_day_100", death_day=100)
    transplanted(deck, "died_day_130", death_day=130)
    transplanted(deck, "died_after_start", "R", 70, death_day=100)
    transplanted(deck, "pd_day_80")
    deck.response("pd_day_80", day(80), "efter_asct", "PD")
    transplanted(deck, "pd_after_start", "R", 70)
    deck.response("pd_after_start", day(80), "efter_asct", "PD")
    transplanted(deck, "pd_before_asct")
    deck.response("pd_before_asct", day(-20), "efter_induktion", "PD")
    transplanted(deck, "first_course_judged", "R", 30)
    deck.course("first_course_judged", "vedligehold", day(90), "R")
    transplanted(deck, "tandem")
    deck.procedure("tandem", day(100), "asct")                  # the last asct: the index
    deck.course("tandem", "vedligehold", day(190), "R")         # day 90 after the tandem
    open_asct = date(2026, 9, 20)                               # 42 days before the extract
    deck.patient("open_nothing")
    deck.procedure("open_nothing", open_asct.isoformat(), "asct")
    deck.patient("open_early")
    deck.procedure("open_early", open_asct.isoformat(), "asct")
    deck.course("open_early", "vedligehold", (open_asct + timedelta(days=30)).isoformat(), "R")
    deck.patient("open_died")
    deck.procedure("open_died", open_asct.isoformat(), "asct")
    deck.rows["stg_patients"][-1]["death_date"] = open_asct + timedelta(days=20)
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM06",))
    expected = {
        "len_day_90": ("met", "MET"),
        "len_day_60": ("met", "MET"),
        "len_day_120": ("met", "MET"),
        "dual_day_90": ("met", "MET"),
        "len_day_59": ("not_met", "EARLY_START"),
        "len_day_121": ("not_met", "LATE_START"),
        "dara_day_90": ("justified", "LENALIDOMIDE_ALTERNATIVE"),
        "thal_day_90": ("not_met", "OTHER_MAINTENANCE"),
        "none": ("not_met", "NO_MAINTENANCE"),
        "died_day_100": ("excluded", "DIED"),
        "died_day_130": ("not_met", "NO_MAINTENANCE"),
        "died_after_start": ("met", "MET"),
        "pd_day_80": ("excluded", "PROGRESSION"),
        "pd_after_start": ("met", "MET"),
        "pd_before_asct": ("not_met", "NO_MAINTENANCE"),
        "first_course_judged": ("not_met", "EARLY_START"),
        "tandem": ("met", "MET"),
        "open_nothing": ("pending", "WINDOW_OPEN"),
        "open_early": ("not_met", "EARLY_START"),
        "open_died": ("excluded", "DIED"),
    }
    assert outcomes(con, "MM06", expected) == expected
    assert "day 121 after asct 2025-02-01, after day 120" in row(con, "MM06", "len_day_121")["reason_text"]
    assert "day 59" in row(con, "MM06", "len_day_59")["reason_text"]
    assert str(row(con, "MM06", "tandem")["index_date"]) == day(100)
