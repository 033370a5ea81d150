"""int_treatment_phases: a phase of several courses (indicators.md v2 §1 "Regimen category"):
the category of its predominant course (most cycles, missing = 0; ties the later start; same
start the row nearer the top of the category table, then of the file), never the drugs pooled;
cycles summed over its courses.
Phases: induction (MM02's cut-off), consolidation (MM06, MM13), induction before each
MRD-negative efter_induktion response (MM05)."""

from __future__ import annotations

import pytest

from staging_rows import Deck, pseudonym_of

COLUMNS = ("predominant_course_id, regimen_category, n_courses, cycles_total, cycles_known, cycles_at_least, "
           "cycle_length_min, cycle_length_max, cycle_length_missing")


def phases(con, phase, columns=COLUMNS):
    return {r[0]: r[1:] for r in con.execute(
        f"select pseudonym, {columns} from int_treatment_phases where phase = ? order by anchor_date",
        [phase]).fetchall()}


def test_induction_predominant_course(tmp_path):
    deck = Deck()
    deck.patient("bridging")                               # VCd 1 cycle, then D-VRd 4: D-VRd's category
    deck.course("bridging", "induktion", "2024-02-01", "VCd", cycles=1, cycle_length=21, course_id="b-vcd")
    deck.course("bridging", "induktion", "2024-02-22", "D-VRd", cycles=4, cycle_length=28, course_id="b-dvrd")
    deck.patient("tie_later_start")
    deck.course("tie_later_start", "induktion", "2024-02-01", "D-VRd", cycles=2, cycle_length=28, course_id="t-dvrd")
    deck.course("tie_later_start", "induktion", "2024-04-01", "VCd", cycles=2, cycle_length=21, course_id="t-vcd")
    # same start: the category nearer the top of the category table, wherever its line is
    for name, first in (("same_start_vcd_first", "VCd"), ("same_start_dvrd_first", "D-VRd")):
        deck.patient(name)
        for regimen in (first, "D-VRd" if first == "VCd" else "VCd"):
            deck.course(name, "induktion", "2024-02-01", regimen, cycles=2, cycle_length=21 if regimen == "VCd" else 28,
                        course_id=f"{name}-{regimen}")
    # same start and category: the line nearer the top of the file
    for name, first in (("same_category_krd_first", "KRd"), ("same_category_vrd_first", "VRd")):
        deck.patient(name)
        for regimen in (first, "VRd" if first == "KRd" else "KRd"):
            deck.course(name, "induktion", "2024-02-01", regimen, cycles=2, cycle_length=28, course_id=f"{name}-{regimen}")
    deck.patient("missing_counts_zero")
    deck.course("missing_counts_zero", "induktion", "2024-02-01", "D-VRd", cycles=None, cycle_length=28,
                course_id="m-dvrd")
    deck.course("missing_counts_zero", "induktion", "2024-01-20", "VCd", cycles=1, cycle_length=None, course_id="m-vcd")
    deck.patient("all_missing_later_start")
    deck.course("all_missing_later_start", "induktion", "2024-02-01", "VCd", cycles=None, course_id="a-vcd")
    deck.course("all_missing_later_start", "induktion", "2024-03-01", "VRd", cycles=None, course_id="a-vrd")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = phases(con, "induction")
    p = pseudonym_of
    assert got[p("bridging")] == ("b-dvrd", "quadruplet_cd38", 2, 5, 5, 5, 21, 28, False)    # not a "quintuplet"
    assert got[p("tie_later_start")] == ("t-vcd", "vcd", 2, 4, 4, 4, 21, 28, False)
    assert got[p("same_start_vcd_first")] == ("same_start_vcd_first-D-VRd", "quadruplet_cd38", 2, 4, 4, 4, 21, 28, False)
    assert got[p("same_start_dvrd_first")] == ("same_start_dvrd_first-D-VRd", "quadruplet_cd38", 2, 4, 4, 4, 21, 28, False)
    assert got[p("same_category_krd_first")][:2] == ("same_category_krd_first-KRd", "triplet_pi_imid")
    assert got[p("same_category_vrd_first")][:2] == ("same_category_vrd_first-VRd", "triplet_pi_imid")
    carfilzomib = dict(con.execute("select pseudonym, carfilzomib_based from int_treatment_phases where phase = 'induction'").fetchall())
    assert carfilzomib[p("same_category_krd_first")] is True and carfilzomib[p("same_category_vrd_first")] is False
    assert got[p("missing_counts_zero")] == ("m-vcd", "vcd", 2, None, 1, 2, 28, 28, True)
    assert got[p("all_missing_later_start")][:2] == ("a-vrd", "triplet_pi_imid")
    bridging = con.execute("select regimen_text_da, regimen_text_en, cycles_text_da from int_treatment_phases "
                           "where pseudonym = ?", [p("bridging")]).fetchone()
    # the regimen as clinicians abbreviate it, the drugs given, and the category; of several
    # courses, every course with its cycles (the category is the predominant one's, the cycles summed)
    assert bridging[0] == ("D-VRd (bortezomib, daratumumab, dexamethason, lenalidomid) – "
                           "firstofs-regime med CD38-antistof (dominerende af 2 forløb: 1 × VCd + 4 × D-VRd)")
    assert bridging[1] == ("D-VRd (bortezomib, daratumumab, dexamethasone, lenalidomide) – CD38 quadruplet "
                           "(predominant of 2 courses: 1 × VCd + 4 × D-VRd)")
    # the same courses in another line order give the same text (courses of one start: by the category table)
    texts = dict(con.execute("select pseudonym, regimen_text_da from int_treatment_phases").fetchall())
    assert texts[p("same_start_vcd_first")] == texts[p("same_start_dvrd_first")]
    assert texts[p("same_start_vcd_first")].endswith("(dominerende af 2 forløb: 2 × D-VRd + 2 × VCd)")
    missing = con.execute("select regimen_text_da from int_treatment_phases where pseudonym = ?",
                          [p("missing_counts_zero")]).fetchone()[0]
    assert missing.endswith("(dominerende af 2 forløb: 1 × VCd + D-VRd (antal serier mangler))")
    assert bridging[2] == "5 serier à 21–28 dage"


def test_induction_cutoff_at_the_first_harvest_else_the_first_asct(tmp_path):
    deck = Deck()
    deck.patient("harvest")
    deck.course("harvest", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    deck.course("harvest", "induktion", "2024-06-01", "D-VRd", cycles=6, cycle_length=28)   # on the harvest day: after
    deck.procedure("harvest", "2024-06-01", "leukaferese")
    deck.procedure("harvest", "2024-08-01", "asct")
    deck.patient("asct_only")
    deck.course("asct_only", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    deck.course("asct_only", "induktion", "2024-07-01", "D-VRd", cycles=6, cycle_length=28)   # on the asct day
    deck.procedure("asct_only", "2024-07-01", "asct")
    deck.patient("neither")
    deck.course("neither", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    deck.course("neither", "induktion", "2024-07-01", "VRd", cycles=2, cycle_length=21)
    deck.patient("only_after_harvest")
    deck.course("only_after_harvest", "induktion", "2024-06-10", "VRd", cycles=4, cycle_length=21)
    deck.procedure("only_after_harvest", "2024-06-01", "leukaferese")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = phases(con, "induction", "cutoff_event, cutoff_date::varchar, n_courses, cycles_total, regimen_category")
    p = pseudonym_of
    assert got[p("harvest")] == ("leukaferese", "2024-06-01", 1, 4, "triplet_pi_imid")
    assert got[p("asct_only")] == ("asct", "2024-07-01", 1, 4, "triplet_pi_imid")
    assert got[p("neither")][2:] == (2, 6, "triplet_pi_imid")
    assert p("only_after_harvest") not in got
    first = con.execute("select first_induction_date::varchar from int_first_induction where pseudonym = ?",
                        [p("only_after_harvest")]).fetchone()[0]
    assert first == "2024-06-10"            # MM08/MM12's decision date is any first induktion course


def test_consolidation_between_the_last_asct_and_maintenance(tmp_path):
    deck = Deck()
    deck.patient("two_courses")
    deck.procedure("two_courses", "2025-01-10", "asct")
    deck.course("two_courses", "konsolidering", "2025-01-10", "VRd", cycles=2, cycle_length=28)   # asct day: not after
    deck.course("two_courses", "konsolidering", "2025-02-10", "VRd", cycles=1, cycle_length=28, course_id="c1")
    deck.course("two_courses", "konsolidering", "2025-03-15", "VCd", cycles=2, cycle_length=21, course_id="c2")
    deck.course("two_courses", "vedligehold", "2025-06-01", "R")
    deck.course("two_courses", "konsolidering", "2025-08-01", "VRd", cycles=4, cycle_length=28)   # after maintenance
    deck.patient("end_unknown")
    deck.procedure("end_unknown", "2025-01-10", "asct")
    deck.course("end_unknown", "konsolidering", "2025-02-10", "VRd", cycles=2, cycle_length=None)
    deck.patient("tandem")
    deck.procedure("tandem", "2025-01-10", "asct")
    deck.course("tandem", "konsolidering", "2025-02-10", "VRd", cycles=2, cycle_length=28)        # before the last asct
    deck.procedure("tandem", "2025-05-10", "asct")
    deck.patient("maintenance_first")
    deck.procedure("maintenance_first", "2025-01-10", "asct")
    deck.course("maintenance_first", "vedligehold", "2025-03-01", "R")
    deck.course("maintenance_first", "konsolidering", "2025-04-01", "VRd", cycles=2, cycle_length=28)
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = phases(con, "consolidation", "n_courses, course_ids, first_start_date::varchar, phase_end_date::varchar, "
                                       "cycles_total, predominant_course_id, regimen_category")
    p = pseudonym_of
    # the latest course's start + its cycles × cycle length: 2025-03-15 + 42 days
    assert got[p("two_courses")] == (2, "c1, c2", "2025-02-10", "2025-04-26", 3, "c2", "vcd")
    assert got[p("end_unknown")][2:5] == ("2025-02-10", None, 2)
    assert p("tandem") not in got
    assert p("maintenance_first") not in got


def test_consolidation_end_unknown_when_the_latest_course_lacks_cycles(tmp_path):
    """MM06: "the consolidation's end (the latest consolidation course's start + its cycles ×
    cycle length, in days)"; "Consolidation end unknown (cycles or cycle length missing)"."""
    deck = Deck()
    deck.patient("latest_lacks_cycle_length")
    deck.procedure("latest_lacks_cycle_length", "2025-01-10", "asct")
    deck.course("latest_lacks_cycle_length", "konsolidering", "2025-02-10", "VRd", cycles=2, cycle_length=28)
    deck.course("latest_lacks_cycle_length", "konsolidering", "2025-04-10", "VRd", cycles=2, cycle_length=None)
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = phases(con, "consolidation", "last_start_date::varchar, phase_end_date::varchar")
    assert got[pseudonym_of("latest_lacks_cycle_length")] == ("2025-04-10", None)


def test_induction_before_each_mrd_negative_response(tmp_path):
    deck = Deck()
    deck.patient("a")
    deck.course("a", "induktion", "2026-05-01", "D-VRd", cycles=3, cycle_length=28)
    deck.course("a", "induktion", "2026-07-24", "D-VRd", cycles=None, cycle_length=28)
    deck.response("a", "2026-07-24", "efter_induktion", "CR", mrd="neg")          # course on that day: not before
    deck.response("a", "2026-08-25", "efter_induktion", "CR", mrd="neg")
    deck.response("a", "2026-09-25", "efter_induktion", "CR", mrd="pos")          # positive: no anchor
    deck.response("a", "2026-09-26", "andet", "CR", mrd="neg")                    # other timepoint: no anchor
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = con.execute("select anchor_date::varchar, n_courses, cycles_known, cycles_total, regimen_category "
                      "from int_treatment_phases where phase = 'induction_before_response' order by anchor_date"
                      ).fetchall()
    assert got == [("2026-07-24", 1, 3, 3, "quadruplet_cd38"), ("2026-08-25", 2, 3, None, "quadruplet_cd38")]


def test_consolidation_end_of_courses_starting_the_same_day(tmp_path):
    """On the same start the latest consolidation course is the one the predominant course's tie
    rule prefers: the category nearer the top of the category table, wherever its line is."""
    deck = Deck()
    for name, first in (("vcd_first", "VCd"), ("vrd_first", "VRd")):
        deck.patient(name)
        deck.procedure(name, "2025-01-10", "asct")
        for regimen in (first, "VRd" if first == "VCd" else "VCd"):   # VRd 2 × 28 days, VCd 2 × 21 days
            deck.course(name, "konsolidering", "2025-02-10", regimen, cycles=2, cycle_length=28 if regimen == "VRd" else 21)
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = phases(con, "consolidation", "phase_end_date::varchar, regimen_category")
    assert got[pseudonym_of("vcd_first")] == ("2025-04-07", "triplet_pi_imid")   # 2025-02-10 + 56 days
    assert got[pseudonym_of("vrd_first")] == ("2025-04-07", "triplet_pi_imid")
