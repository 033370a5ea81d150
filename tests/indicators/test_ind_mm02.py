"""MM02 Induction regimen and cycles before harvest (indicators.md v2 §2 MM02; shared rule
"Regimen category": the predominant course, cycles summed over the phase)."""

from __future__ import annotations

from staging_rows import Deck, assert_clinician_texts, outcomes, row


def transplanted(deck, name, harvest="2024-06-01", asct="2024-08-01"):
    deck.patient(name)
    if harvest:
        deck.procedure(name, harvest, "leukaferese")
    deck.procedure(name, asct, "asct")


def induction(deck, name, *courses):
    """A transplanted patient with induction courses (start, regimen, cycles, cycle length)."""
    transplanted(deck, name)
    for start, regimen, cycles, length in courses:
        deck.course(name, "induktion", start, regimen, cycles=cycles, cycle_length=length)


def test_mm02_regimen_and_four_cycles(tmp_path):
    deck = Deck()
    induction(deck, "vrd_4x21", ("2024-02-01", "VRd", 4, 21))
    induction(deck, "old_atc_vrd", ("2024-02-01", [("L01XX32", 1.3, "mg/m2", "1,4,8,11"),
                                                   ("lenalidomide", 25, "mg", "1-14"),
                                                   ("dexamethasone", 20, "mg", "1,2")], 4, 21))
    induction(deck, "vcd_4", ("2024-02-01", "VCd", 4, 21))
    induction(deck, "quadruplet_4", ("2024-02-01", "D-VRd", 4, 28))
    induction(deck, "quintuplet_4", ("2024-02-01", "D-VCRd", 4, 28))
    induction(deck, "summed_2_plus_2", ("2024-02-01", "VRd", 2, 21), ("2024-03-15", "VRd", 2, 21))
    induction(deck, "four_length_missing", ("2024-02-01", "VRd", 4, None))      # 4 needs no cycle length
    induction(deck, "six_cycles", ("2024-02-01", "VRd", 6, 21))
    induction(deck, "five_cycles", ("2024-02-01", "VRd", 5, 21))
    induction(deck, "two_cycles", ("2024-02-01", "VRd", 2, 21))
    induction(deck, "dara_rd", ("2024-02-01", "Dara-Rd", 4, 28))
    induction(deck, "other_and_six_cycles", ("2024-02-01", "Dara-Rd", 6, 28))   # first listed: the regimen
    induction(deck, "other_cycles_missing", ("2024-02-01", "Dara-Rd", None, 28))
    deck.patient("no_asct")
    deck.course("no_asct", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    deck.patient("out_of_scope", icd10="DC902")
    deck.procedure("out_of_scope", "2024-08-01", "asct")
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM02",))
    expected = {
        "vrd_4x21": ("met", "MET"),
        "old_atc_vrd": ("met", "MET"),
        "vcd_4": ("met", "MET"),
        "quadruplet_4": ("met", "MET"),
        "quintuplet_4": ("met", "MET"),
        "summed_2_plus_2": ("met", "MET"),
        "four_length_missing": ("met", "MET"),
        "six_cycles": ("not_met", "INDUCTION_CYCLES"),
        "five_cycles": ("not_met", "INDUCTION_CYCLES"),
        "two_cycles": ("not_met", "INDUCTION_CYCLES"),
        "dara_rd": ("not_met", "REGIMEN_NOT_RECOMMENDED"),
        "other_and_six_cycles": ("not_met", "REGIMEN_NOT_RECOMMENDED"),
        "other_cycles_missing": ("not_met", "REGIMEN_NOT_RECOMMENDED"),
        "no_asct": None,
        "out_of_scope": None,
    }
    assert outcomes(con, "MM02", expected) == expected

    six = row(con, "MM02", "six_cycles")
    assert six["reason_text"].startswith("Anbefaling 2 og 6 (A): ")
    assert "6 serier à 21 dage" in six["reason_text"]                       # say how many
    assert "VRd (bortezomib, dexamethason, lenalidomid) – trestofs-regime" in six["reason_text"]
    assert "bortezomib, dexamethason, lenalidomid" in six["reason_text"]    # the drugs given
    assert "01-06-2024" in six["reason_text"]                               # the harvest, dd-mm-åååå
    assert six["reason_text_en"].startswith("Rec 2, 6 (A): ") and "6 cycles of 21 days" in six["reason_text_en"]
    assert str(six["index_date"]) == "2024-08-01"
    assert "D-VRd (bortezomib, daratumumab, dexamethason, lenalidomid) – firstofs-regime med CD38-antistof" \
        in row(con, "MM02", "quadruplet_4")["reason_text"]
    assert "D-VRd (bortezomib, daratumumab, dexamethasone, lenalidomide) – CD38 quadruplet" \
        in row(con, "MM02", "quadruplet_4")["reason_text_en"]
    assert "femstofs-regime" in row(con, "MM02", "quintuplet_4")["reason_text"]
    assert_clinician_texts(con, "MM02")


def test_mm02_three_or_four_cycles_when_every_cycle_is_six_weeks(tmp_path):
    deck = Deck()
    induction(deck, "three_x42", ("2024-02-01", "D-VRd", 3, 42))
    induction(deck, "four_x42", ("2024-02-01", "D-VRd", 4, 42))
    induction(deck, "three_x49", ("2024-02-01", "D-VRd", 3, 49))
    induction(deck, "two_x42", ("2024-02-01", "D-VRd", 2, 42))
    induction(deck, "five_x42", ("2024-02-01", "D-VRd", 5, 42))
    induction(deck, "three_x41", ("2024-02-01", "D-VRd", 3, 41))
    induction(deck, "three_x28", ("2024-02-01", "VRd", 3, 28))
    induction(deck, "three_over_two_long_courses", ("2024-02-01", "D-VRd", 2, 42), ("2024-05-01", "D-VRd", 1, 42))
    induction(deck, "three_one_course_short", ("2024-02-01", "D-VRd", 2, 42), ("2024-05-01", "D-VRd", 1, 21))
    induction(deck, "three_length_missing", ("2024-02-01", "D-VRd", 3, None))
    induction(deck, "three_long_and_length_missing", ("2024-02-01", "D-VRd", 2, 42), ("2024-05-01", "D-VRd", 1, None))
    induction(deck, "three_short_and_length_missing", ("2024-02-01", "D-VRd", 2, 21), ("2024-05-01", "D-VRd", 1, None))
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM02",))
    expected = {
        "three_x42": ("met", "MET"),
        "four_x42": ("met", "MET"),
        "three_x49": ("met", "MET"),
        "two_x42": ("not_met", "INDUCTION_CYCLES"),
        "five_x42": ("not_met", "INDUCTION_CYCLES"),
        "three_x41": ("not_met", "INDUCTION_CYCLES"),
        "three_x28": ("not_met", "INDUCTION_CYCLES"),
        "three_over_two_long_courses": ("met", "MET"),
        "three_one_course_short": ("not_met", "INDUCTION_CYCLES"),
        "three_length_missing": ("unknown", "CYCLES_UNKNOWN"),            # it could still be met
        "three_long_and_length_missing": ("unknown", "CYCLES_UNKNOWN"),
        "three_short_and_length_missing": ("not_met", "INDUCTION_CYCLES"),  # a known 21-day course decides
    }
    assert outcomes(con, "MM02", expected) == expected
    assert "3 serier à 28 dage" in row(con, "MM02", "three_x28")["reason_text"]


def test_mm02_predominant_course(tmp_path):
    deck = Deck()
    # one bridging VCd cycle, then D-VRd: the category is D-VRd's, drugs are not pooled
    induction(deck, "bridging_vcd_then_dvrd", ("2024-02-01", "VCd", 1, 21), ("2024-02-25", "D-VRd", 3, 28))
    induction(deck, "bridging_vcd_then_dara_rd", ("2024-02-01", "VCd", 1, 21), ("2024-02-25", "Dara-Rd", 3, 28))
    induction(deck, "vrd_then_one_dara_rd", ("2024-02-01", "VRd", 3, 21), ("2024-04-10", "Dara-Rd", 1, 28))
    # ties: the later start
    induction(deck, "tie_dara_rd_then_vrd", ("2024-02-01", "Dara-Rd", 2, 28), ("2024-04-01", "VRd", 2, 21))
    induction(deck, "tie_vrd_then_dara_rd", ("2024-02-01", "VRd", 2, 21), ("2024-04-01", "Dara-Rd", 2, 28))
    # same start too: the course whose category is nearer the top of the category table,
    # whichever line of the file it is on
    induction(deck, "same_start_dara_rd_on_top", ("2024-02-01", "Dara-Rd", 2, 28), ("2024-02-01", "VRd", 2, 21))
    induction(deck, "same_start_vrd_on_top", ("2024-02-01", "VRd", 2, 21), ("2024-02-01", "Dara-Rd", 2, 28))
    # missing cycles count 0 for predominance; the choice is final
    induction(deck, "missing_cycles_lose", ("2024-02-01", "VRd", None, 21), ("2024-04-01", "Dara-Rd", 1, 28))
    induction(deck, "missing_cycles_lose_to_vrd", ("2024-02-01", "Dara-Rd", None, 28), ("2024-04-01", "VRd", 1, 21))
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM02",))
    expected = {
        "bridging_vcd_then_dvrd": ("met", "MET"),
        "bridging_vcd_then_dara_rd": ("not_met", "REGIMEN_NOT_RECOMMENDED"),   # pooled: a "quintuplet"
        "vrd_then_one_dara_rd": ("met", "MET"),
        "tie_dara_rd_then_vrd": ("met", "MET"),
        "tie_vrd_then_dara_rd": ("not_met", "REGIMEN_NOT_RECOMMENDED"),
        "same_start_dara_rd_on_top": ("met", "MET"),                      # VRd (triplet) above 'other'
        "same_start_vrd_on_top": ("met", "MET"),
        "missing_cycles_lose": ("not_met", "REGIMEN_NOT_RECOMMENDED"),      # never 'unknown' category
        "missing_cycles_lose_to_vrd": ("unknown", "CYCLES_UNKNOWN"),        # triplet, at least 2 cycles
    }
    assert outcomes(con, "MM02", expected) == expected
    text = row(con, "MM02", "bridging_vcd_then_dvrd")["reason_text"]
    # the predominant course's category (never a pooled "femstofs"), every course with its cycles, the sum
    assert "D-VRd (" in text and "femstofs" not in text
    assert text.endswith("– firstofs-regime med CD38-antistof (dominerende af 2 forløb: 1 × VCd + 3 × D-VRd), "
                         "4 serier à 21–28 dage")


def test_mm02_missing_cycles_count_as_at_least_one(tmp_path):
    deck = Deck()
    induction(deck, "cycles_missing", ("2024-02-01", "VRd", None, 21))
    induction(deck, "four_plus_missing", ("2024-02-01", "VRd", 4, 21), ("2024-05-01", "VRd", None, 21))
    induction(deck, "three_plus_missing", ("2024-02-01", "VRd", 3, 21), ("2024-05-01", "VRd", None, 21))
    induction(deck, "three_plus_two_missing", ("2024-02-01", "VRd", 3, 21), ("2024-04-01", "VRd", None, 21),
              ("2024-05-01", "VRd", None, 21))
    induction(deck, "two_missing", ("2024-02-01", "VRd", None, 21), ("2024-04-01", "VRd", None, 21))
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM02",))
    expected = {
        "cycles_missing": ("unknown", "CYCLES_UNKNOWN"),
        "four_plus_missing": ("not_met", "INDUCTION_CYCLES"),     # 4 + at least 1 > 4
        "three_plus_missing": ("unknown", "CYCLES_UNKNOWN"),      # 3 + at least 1: could be 4
        "three_plus_two_missing": ("not_met", "INDUCTION_CYCLES"),
        "two_missing": ("unknown", "CYCLES_UNKNOWN"),
    }
    assert outcomes(con, "MM02", expected) == expected
    assert "mindst 5 serier givet" in row(con, "MM02", "four_plus_missing")["reason_text"]
    # the cycle length is said apart from the missing number, never "antal serier mangler à 21 dage"
    missing = row(con, "MM02", "cycles_missing")
    assert "antal serier mangler, serielængde 21 dage (forløb " in missing["reason_text"]
    assert "number of cycles missing, cycle length 21 days (courses " in missing["reason_text_en"]
    four_plus = row(con, "MM02", "four_plus_missing")
    assert "4 serier + antal serier mangler for 1 forløb, serielængde 21 dage; mindst 5 serier givet" \
        in four_plus["reason_text"]
    assert "4 cycles + number of cycles missing for 1 course, cycle length 21 days; at least 5 cycles given" \
        in four_plus["reason_text_en"]
    assert "antal serier mangler for 2 forløb" in row(con, "MM02", "two_missing")["reason_text"]
    assert_clinician_texts(con, "MM02")


def test_mm02_induction_ends_at_the_first_harvest_else_the_first_asct(tmp_path):
    deck = Deck()
    induction(deck, "induction_after_harvest", ("2024-06-02", "VRd", 4, 21))
    induction(deck, "induction_on_harvest_day", ("2024-06-01", "VRd", 4, 21))
    induction(deck, "day_before_harvest", ("2024-05-31", "VRd", 4, 21))
    induction(deck, "extra_course_after_harvest", ("2024-02-01", "VRd", 4, 21), ("2024-06-05", "VRd", 2, 21))
    transplanted(deck, "no_courses")
    transplanted(deck, "no_harvest", harvest=None)
    deck.course("no_harvest", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    transplanted(deck, "no_harvest_on_asct_day", harvest=None)
    deck.course("no_harvest_on_asct_day", "induktion", "2024-08-01", "VRd", cycles=4, cycle_length=21)
    transplanted(deck, "second_harvest_ignored")
    deck.procedure("second_harvest_ignored", "2024-07-01", "leukaferese")
    deck.course("second_harvest_ignored", "induktion", "2024-06-10", "VRd", cycles=4, cycle_length=21)
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM02",))
    expected = {
        "induction_after_harvest": ("not_met", "NO_INDUCTION"),
        "induction_on_harvest_day": ("not_met", "NO_INDUCTION"),
        "day_before_harvest": ("met", "MET"),
        "extra_course_after_harvest": ("met", "MET"),
        "no_courses": ("not_met", "NO_INDUCTION"),
        "no_harvest": ("met", "MET"),
        "no_harvest_on_asct_day": ("not_met", "NO_INDUCTION"),
        "second_harvest_ignored": ("not_met", "NO_INDUCTION"),
    }
    assert outcomes(con, "MM02", expected) == expected
    assert "01-08-2024" in row(con, "MM02", "no_harvest")["reason_text"]
    assert "first ASCT 2024-08-01" in row(con, "MM02", "no_harvest")["reason_text_en"]
    assert_clinician_texts(con, "MM02")
