"""MM06 Lenalidomide maintenance started day 60–120 after the last asct, or after consolidation
from the first consolidation start to 60 days after its end (indicators.md v2 §2 MM06)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from staging_rows import Deck, assert_clinician_texts, outcomes, row

ASCT = date(2025, 2, 1)
EXTRACT = "2026-11-01"


def day(n: int, start: date = ASCT) -> str:
    return (start + timedelta(days=n)).isoformat()


def transplanted(deck, name, maintenance=None, start_day=None, death_day=None, asct=ASCT, consolidation=()):
    """An asct on ``asct``; consolidation courses (day, cycles, cycle length) of VRd; a maintenance
    course on ``start_day``; days count from the asct."""
    deck.patient(name, death=day(death_day, asct) if death_day is not None else None)
    deck.procedure(name, asct.isoformat(), "asct")
    for start, cycles, length in consolidation:
        deck.course(name, "konsolidering", day(start, asct), "VRd", cycles=cycles, cycle_length=length)
    if maintenance:
        deck.course(name, "vedligehold", day(start_day, asct), maintenance)


def test_mm06_window_day_60_to_120(tmp_path):
    deck = Deck()
    transplanted(deck, "len_day_90", "R", 90)
    transplanted(deck, "len_day_60", "R", 60)
    transplanted(deck, "len_day_120", "R", 120)
    transplanted(deck, "dual_day_90", "DR", 90)
    transplanted(deck, "len_day_59", "R", 59)
    transplanted(deck, "len_day_121", "R", 121)
    transplanted(deck, "dara_day_90", "Dara", 90)
    transplanted(deck, "dara_day_130", "Dara", 130)
    transplanted(deck, "thal_day_90", "Thal", 90)
    transplanted(deck, "thal_day_40", "Thal", 40)
    transplanted(deck, "none")
    transplanted(deck, "maintenance_only_before_asct", "R", -30)
    transplanted(deck, "maintenance_on_asct_day", "R", 0)               # not after the index date
    transplanted(deck, "first_course_judged", "R", 30)
    deck.course("first_course_judged", "vedligehold", day(90), "R")
    transplanted(deck, "tandem")
    deck.procedure("tandem", day(100), "asct")                  # the last asct: the index
    deck.course("tandem", "vedligehold", day(190), "R")         # day 90 after the tandem
    deck.patient("no_asct")
    deck.course("no_asct", "vedligehold", day(90), "R")
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {
        "len_day_90": ("met", "MET"),
        "len_day_60": ("met", "MET"),
        "len_day_120": ("met", "MET"),
        "dual_day_90": ("met", "MET"),
        "len_day_59": ("not_met", "EARLY_START"),
        "len_day_121": ("not_met", "LATE_START"),
        "dara_day_90": ("justified", "LENALIDOMIDE_ALTERNATIVE"),
        "dara_day_130": ("not_met", "LATE_START"),
        "thal_day_90": ("not_met", "OTHER_MAINTENANCE"),
        "thal_day_40": ("not_met", "EARLY_START"),
        "none": ("not_met", "NO_MAINTENANCE"),
        "maintenance_only_before_asct": ("not_met", "NO_MAINTENANCE"),
        "maintenance_on_asct_day": ("not_met", "NO_MAINTENANCE"),
        "first_course_judged": ("not_met", "EARLY_START"),
        "tandem": ("met", "MET"),
        "no_asct": None,
    }
    assert outcomes(con, "MM06", expected) == expected
    late = row(con, "MM06", "len_day_121")
    assert "dag 121" in late["reason_text"] and "efter vinduet" in late["reason_text"]   # say the day
    assert "(dag 60–120 efter sidste HDT 01-02-2025)" in late["reason_text"]
    assert "day 121" in late["reason_text_en"]
    assert "dag 59" in row(con, "MM06", "len_day_59")["reason_text"]
    # the guideline's reason for the alternative, not a claim about this patient
    assert row(con, "MM06", "dara_day_90")["reason_text"].endswith(
        ": CD38-antistof uden lenalidomid (retningslinjen: daratumumab ved intolerans over for lenalidomid)")
    # a course on the transplant day is not "after" it: the text does not say that none started at all
    on_asct_day = row(con, "MM06", "maintenance_on_asct_day")["reason_text"]
    assert "ingen vedligeholdelse startet efter sidste HDT; vindue " in on_asct_day
    assert str(row(con, "MM06", "tandem")["index_date"]) == day(100)
    assert_clinician_texts(con, "MM06")


def test_mm06_died_or_progressed_before_the_window_end(tmp_path):
    deck = Deck()
    transplanted(deck, "died_day_0", death_day=0)
    transplanted(deck, "died_day_100", death_day=100)
    transplanted(deck, "died_day_119", death_day=119)
    transplanted(deck, "died_day_120", death_day=120)          # not before the window's end
    transplanted(deck, "died_day_130", death_day=130)
    transplanted(deck, "died_after_start", "R", 70, death_day=100)
    transplanted(deck, "died_on_start_day", "R", 70, death_day=70)   # nothing started before the death
    transplanted(deck, "pd_day_80")
    deck.response("pd_day_80", day(80), "efter_asct", "PD")
    transplanted(deck, "pd_on_index_day")
    deck.response("pd_on_index_day", day(0), "efter_asct", "PD")
    transplanted(deck, "pd_then_late_start", "R", 130)
    deck.response("pd_then_late_start", day(80), "efter_asct", "PD")
    transplanted(deck, "pd_after_start", "R", 70)
    deck.response("pd_after_start", day(80), "efter_asct", "PD")
    transplanted(deck, "pd_before_asct")
    deck.response("pd_before_asct", day(-20), "efter_induktion", "PD")
    transplanted(deck, "pd_day_120")
    deck.response("pd_day_120", day(120), "efter_asct", "PD")
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {
        "died_day_0": ("excluded", "DIED"),
        "died_day_100": ("excluded", "DIED"),
        "died_day_119": ("excluded", "DIED"),
        "died_day_120": ("not_met", "NO_MAINTENANCE"),
        "died_day_130": ("not_met", "NO_MAINTENANCE"),
        "died_after_start": ("met", "MET"),
        "died_on_start_day": ("excluded", "DIED"),
        "pd_day_80": ("excluded", "PROGRESSION"),
        "pd_on_index_day": ("excluded", "PROGRESSION"),
        "pd_then_late_start": ("excluded", "PROGRESSION"),
        "pd_after_start": ("met", "MET"),
        "pd_before_asct": ("not_met", "NO_MAINTENANCE"),
        "pd_day_120": ("not_met", "NO_MAINTENANCE"),
    }
    assert outcomes(con, "MM06", expected) == expected
    died = row(con, "MM06", "died_day_100")["reason_text"]
    assert "død 12-05-2025, dag 100 efter sidste HDT" in died and died.endswith("ekskluderet")
    assert "progression (PD)" in row(con, "MM06", "pd_day_80")["reason_text"]
    assert_clinician_texts(con, "MM06")


def test_mm06_died_is_listed_before_progression(tmp_path):
    """§1 Statuses: "When several reason codes of one status apply, the first listed in the
    indicator's text is given"; MM06 lists `DIED`, `PROGRESSION`. PD on day 50 and death on
    day 100, nothing started: both exclusions apply → DIED."""
    deck = Deck()
    transplanted(deck, "pd_day_50_died_day_100", death_day=100)
    deck.response("pd_day_50_died_day_100", day(50), "efter_asct", "PD")
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {"pd_day_50_died_day_100": ("excluded", "DIED")}
    assert outcomes(con, "MM06", expected) == expected


def test_mm06_after_consolidation(tmp_path):
    """Consolidation VRd 2 × 28 days from day 30 ends on day 86: the window is day 30–146."""
    deck = Deck()
    cons = ((30, 2, 28),)
    transplanted(deck, "cons_len_day_140", "R", 140, consolidation=cons)
    transplanted(deck, "cons_len_day_50", "R", 50, consolidation=cons)       # before day 60, after consolidation start
    transplanted(deck, "cons_len_day_146", "R", 146, consolidation=cons)
    transplanted(deck, "cons_len_day_147", "R", 147, consolidation=cons)
    transplanted(deck, "cons_dara_day_140", "Dara", 140, consolidation=cons)
    transplanted(deck, "cons_thal_day_100", "Thal", 100, consolidation=cons)
    transplanted(deck, "cons_none", consolidation=cons)
    transplanted(deck, "cons_died_day_140", death_day=140, consolidation=cons)
    transplanted(deck, "cons_died_day_146", death_day=146, consolidation=cons)
    transplanted(deck, "cons_pd_day_130", consolidation=cons)
    deck.response("cons_pd_day_130", day(130), "efter_konsolidering", "PD")
    # the latest consolidation course ends it: day 70 + 2 × 21 = day 112, window day 30–172
    transplanted(deck, "two_courses_len_day_170", "R", 170, consolidation=((30, 1, 28), (70, 2, 21)))
    # a short consolidation replaces the usual window too: day 20 + 21 = 41, window day 20–101
    transplanted(deck, "short_cons_len_day_110", "R", 110, consolidation=((20, 1, 21),))
    # consolidation on the asct day is not after the index date
    transplanted(deck, "cons_on_asct_day_len_day_130", "R", 130, consolidation=((0, 2, 28),))
    # a konsolidering course after the judged maintenance course is not consolidation
    transplanted(deck, "cons_after_maintenance", "R", 50)
    deck.course("cons_after_maintenance", "konsolidering", day(60), "VRd", cycles=2, cycle_length=28)
    # a konsolidering course between tandem transplants is before the index date
    transplanted(deck, "cons_between_tandem", consolidation=((40, 2, 28),))
    deck.procedure("cons_between_tandem", day(100), "asct")
    deck.course("cons_between_tandem", "vedligehold", day(230), "R")        # day 130 after the tandem
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {
        "cons_len_day_140": ("met", "MET"),
        "cons_len_day_50": ("met", "MET"),
        "cons_len_day_146": ("met", "MET"),
        "cons_len_day_147": ("not_met", "LATE_START"),
        "cons_dara_day_140": ("justified", "LENALIDOMIDE_ALTERNATIVE"),
        "cons_thal_day_100": ("not_met", "OTHER_MAINTENANCE"),
        "cons_none": ("not_met", "NO_MAINTENANCE"),
        "cons_died_day_140": ("excluded", "DIED"),                 # after day 120, before the consolidation window's end
        "cons_died_day_146": ("not_met", "NO_MAINTENANCE"),
        "cons_pd_day_130": ("excluded", "PROGRESSION"),
        "two_courses_len_day_170": ("met", "MET"),
        "short_cons_len_day_110": ("not_met", "LATE_START"),
        "cons_on_asct_day_len_day_130": ("not_met", "LATE_START"),
        "cons_after_maintenance": ("not_met", "EARLY_START"),
        "cons_between_tandem": ("not_met", "LATE_START"),
    }
    assert outcomes(con, "MM06", expected) == expected
    late = row(con, "MM06", "cons_len_day_147")["reason_text"]       # the texts say so
    assert "konsolidering fra 03-03-2025 til 28-04-2025" in late
    assert "vindue 03-03-2025–27-06-2025" in late and "dag 147" in late
    assert "consolidation from 2025-03-03 to 2025-04-28" in row(con, "MM06", "cons_len_day_147")["reason_text_en"]
    assert_clinician_texts(con, "MM06")


def test_mm06_consolidation_end_unknown(tmp_path):
    """Cycles or cycle length missing on the last consolidation course: a course started by day
    120 is judged with the window from the first consolidation start to day 120; otherwise
    CONSOLIDATION_END_UNKNOWN; excluded uses the earliest end (latest start + 1 + 60).

    Ambiguity: a course started after day 120 that cannot be `met` whatever the end (thalidomide)
    is still CONSOLIDATION_END_UNKNOWN: MM06's own text ("otherwise the row is unknown") against
    the shared "known values decide not_met", which could not name the code here (LATE_START or
    OTHER_MAINTENANCE depends on the unknown end). The SQL header's reading (unknown) is followed."""
    deck = Deck()
    cycles_missing = ((40, None, 28),)
    transplanted(deck, "end_unknown_len_day_100", "R", 100, consolidation=cycles_missing)
    transplanted(deck, "end_unknown_len_day_120", "R", 120, consolidation=cycles_missing)
    transplanted(deck, "end_unknown_len_day_50", "R", 50, consolidation=cycles_missing)
    transplanted(deck, "end_unknown_thal_day_100", "Thal", 100, consolidation=cycles_missing)
    transplanted(deck, "end_unknown_len_day_150", "R", 150, consolidation=cycles_missing)
    transplanted(deck, "end_unknown_thal_day_150", "Thal", 150, consolidation=cycles_missing)
    transplanted(deck, "length_missing_len_day_150", "R", 150, consolidation=((40, 2, None),))
    transplanted(deck, "end_unknown_nothing", consolidation=cycles_missing)
    transplanted(deck, "end_unknown_died_day_100", death_day=100, consolidation=cycles_missing)   # < day 101
    transplanted(deck, "end_unknown_died_day_101", death_day=101, consolidation=cycles_missing)
    # only the latest course's end matters: an earlier course without cycles does not hide it
    transplanted(deck, "earlier_course_cycles_missing", "R", 150, consolidation=((30, None, 28), (60, 2, 28)))
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {
        "end_unknown_len_day_100": ("met", "MET"),
        "end_unknown_len_day_120": ("met", "MET"),
        "end_unknown_len_day_50": ("met", "MET"),
        "end_unknown_thal_day_100": ("not_met", "OTHER_MAINTENANCE"),
        "end_unknown_len_day_150": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "end_unknown_thal_day_150": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "length_missing_len_day_150": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "end_unknown_nothing": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "end_unknown_died_day_100": ("excluded", "DIED"),
        "end_unknown_died_day_101": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "earlier_course_cycles_missing": ("met", "MET"),       # day 60 + 56 = 116, window to day 176
    }
    assert outcomes(con, "MM06", expected) == expected
    assert "afslutning ukendt" in row(con, "MM06", "end_unknown_len_day_150")["reason_text"]
    # why it cannot be judged: the course started after day 120
    assert row(con, "MM06", "end_unknown_len_day_150")["reason_text"].endswith(
        ", dag 150, efter dag 120, så vurderingen afhænger af, hvornår konsolideringen sluttede")
    assert_clinician_texts(con, "MM06")


def test_mm06_end_unknown_when_the_latest_consolidation_course_lacks_cycles(tmp_path):
    """"the consolidation's end (the latest consolidation course's start + its cycles × cycle
    length)"; "Consolidation end unknown (cycles or cycle length missing)". VRd 2 × 28 from day 30
    (ends day 86), then VRd from day 70 with cycles missing: the end is unknown, the earliest
    possible end day 71, so excluded/pending use day 131. The SQL ends consolidation on day 86
    (window to day 146): met, DIED and NO_MAINTENANCE below."""
    deck = Deck()
    cons = ((30, 2, 28), (70, None, 28))
    transplanted(deck, "latest_lacks_cycles_len_day_140", "R", 140, consolidation=cons)
    transplanted(deck, "latest_lacks_cycles_died_day_140", death_day=140, consolidation=cons)
    transplanted(deck, "latest_lacks_cycles_nothing", consolidation=cons)
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {
        "latest_lacks_cycles_len_day_140": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "latest_lacks_cycles_died_day_140": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
        "latest_lacks_cycles_nothing": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
    }
    assert outcomes(con, "MM06", expected) == expected


def test_mm06_pending_while_the_window_is_open(tmp_path):
    deck = Deck()
    recent = date(2026, 9, 20)                                  # 42 days before the extract
    transplanted(deck, "open_nothing", asct=recent)
    transplanted(deck, "open_early", "R", 30, asct=recent)
    transplanted(deck, "open_died", death_day=20, asct=recent)
    transplanted(deck, "open_met", "R", 70, asct=date(2026, 7, 1))
    day_119 = date(2026, 11, 1) - timedelta(days=119)
    day_120 = date(2026, 11, 1) - timedelta(days=120)
    transplanted(deck, "day_119_at_extract", asct=day_119)
    transplanted(deck, "day_120_at_extract", asct=day_120)
    # asct 2026-06-01; consolidation window closes 60 days after its end
    june = date(2026, 6, 1)
    transplanted(deck, "consolidation_running", asct=june, consolidation=((61, 2, 28),))    # end 2026-09-26
    transplanted(deck, "cons_window_closes_tomorrow", asct=june, consolidation=((66, 1, 28),))   # end 2026-09-03
    transplanted(deck, "cons_window_closed_today", asct=june, consolidation=((65, 1, 28),))     # end 2026-09-02
    transplanted(deck, "cons_end_unknown_open", asct=june, consolidation=((106, None, 28),))    # 2026-09-15
    transplanted(deck, "cons_end_unknown_closed", asct=june, consolidation=((80, None, 28),))   # 2026-08-20
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM06",))
    expected = {
        "open_nothing": ("pending", "WINDOW_OPEN"),
        "open_early": ("not_met", "EARLY_START"),
        "open_died": ("excluded", "DIED"),
        "open_met": ("met", "MET"),
        "day_119_at_extract": ("pending", "WINDOW_OPEN"),
        "day_120_at_extract": ("not_met", "NO_MAINTENANCE"),
        "consolidation_running": ("pending", "WINDOW_OPEN"),
        "cons_window_closes_tomorrow": ("pending", "WINDOW_OPEN"),
        "cons_window_closed_today": ("not_met", "NO_MAINTENANCE"),
        "cons_end_unknown_open": ("pending", "WINDOW_OPEN"),
        "cons_end_unknown_closed": ("unknown", "CONSOLIDATION_END_UNKNOWN"),
    }
    assert outcomes(con, "MM06", expected) == expected
    pending = row(con, "MM06", "consolidation_running")["reason_text"]
    assert pending.startswith("Anbefaling 5 (A): afventer, vinduet lukker 25-11-2026")
    assert "ingen vedligeholdelse startet" in pending
    assert_clinician_texts(con, "MM06")
