"""MM01 Evaluation for HDT (indicators.md v2 §2 MM01): population, exclusions before outcome,
pending window of 30 days after diagnosis."""

from __future__ import annotations

from staging_rows import Deck, assert_clinician_texts, outcomes, row

EXTRACT = "2026-11-01"


def test_mm01_rules(tmp_path):
    deck = Deck()
    deck.patient("evaluated", hdt_evaluated=True, hdt_evaluation_date="2024-01-20")
    deck.patient("not_evaluated", hdt_evaluated=False)
    deck.patient("evaluation_missing", hdt_evaluated=None)
    deck.patient("ps2", ecog_ps=2, hdt_evaluated=True)                    # excluded comes before met
    deck.patient("ps1", ecog_ps=1, hdt_evaluated=True)
    deck.patient("comorbid", comorbidity="betydelig", hdt_evaluated=False)
    deck.patient("mild_comorbidity", comorbidity="let", hdt_evaluated=False)
    deck.patient("ps3_and_comorbid", ecog_ps=3, comorbidity="betydelig")   # first listed: PS_2_OR_MORE
    deck.patient("ps_missing", ecog_ps=None, comorbidity=None, hdt_evaluated=False)
    deck.patient("age_70_on_birthday", birth="1954-01-10", dx="2024-01-10")
    deck.patient("age_70_day_before_71st", birth="1953-01-11", dx="2024-01-10")
    deck.patient("age_71", birth="1953-01-10", dx="2024-01-10")
    deck.patient("leukaemia", icd10="DC901", hdt_evaluated=False)
    deck.patient("other_code", icd10="DC902", hdt_evaluated=False)           # out of scope
    deck.patient("open_not_evaluated", dx="2026-10-03", hdt_evaluated=False)   # day 29 of 30
    deck.patient("open_missing", dx="2026-10-20", hdt_evaluated=None)
    deck.patient("open_but_met", dx="2026-10-20", hdt_evaluated=True)
    deck.patient("open_but_excluded", dx="2026-10-20", ecog_ps=4)
    deck.patient("closed_on_day_30", dx="2026-10-02", hdt_evaluated=False)
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, indicators=("MM01",))
    expected = {
        "evaluated": ("met", "MET"),
        "not_evaluated": ("not_met", "NOT_EVALUATED"),
        "evaluation_missing": ("unknown", "EVALUATION_UNKNOWN"),
        "ps2": ("excluded", "PS_2_OR_MORE"),
        "ps1": ("met", "MET"),
        "comorbid": ("excluded", "SIGNIFICANT_COMORBIDITY"),
        "mild_comorbidity": ("not_met", "NOT_EVALUATED"),
        "ps3_and_comorbid": ("excluded", "PS_2_OR_MORE"),
        "ps_missing": ("not_met", "NOT_EVALUATED"),
        "age_70_on_birthday": ("met", "MET"),
        "age_70_day_before_71st": ("met", "MET"),
        "age_71": None,
        "leukaemia": ("not_met", "NOT_EVALUATED"),
        "other_code": None,
        "open_not_evaluated": ("pending", "WINDOW_OPEN"),
        "open_missing": ("pending", "WINDOW_OPEN"),
        "open_but_met": ("met", "MET"),
        "open_but_excluded": ("excluded", "PS_2_OR_MORE"),
        "closed_on_day_30": ("not_met", "NOT_EVALUATED"),
    }
    assert outcomes(con, "MM01", expected) == expected

    # Danish text: label, dd-mm-åååå, the underlying reason of a pending row, glossary words
    pending = row(con, "MM01", "open_not_evaluated")
    assert pending["reason_text"].startswith("Anbefaling 1 (A): afventer")
    assert "02-11-2026" in pending["reason_text"] and "(dag 29 af 30)" in pending["reason_text"]
    assert "ikke vurderet" in pending["reason_text"]            # the underlying NOT_EVALUATED, in words
    assert pending["reason_text_en"].startswith("Rec 1 (A): pending") and "not evaluated" in pending["reason_text_en"]
    excluded = row(con, "MM01", "ps2")["reason_text"]
    assert "ECOG PS 2" in excluded and "10-01-2024" in excluded and excluded.endswith("ekskluderet")
    assert "vurderet med henblik på HDT" in row(con, "MM01", "evaluated")["reason_text"]
    # the comorbidity as a clinician writes it, not the format's code after the word
    assert ", let komorbiditet" in row(con, "MM01", "mild_comorbidity")["reason_text"]
    assert ", komorbiditet ikke registreret" in row(con, "MM01", "ps_missing")["reason_text"]
    assert row(con, "MM01", "evaluated")["guideline_version"] == "v1.5"
    assert row(con, "MM01", "open_but_met")["guideline_version"] == "v2.0"
    assert_clinician_texts(con, "MM01")


def test_mm01_age_limit_is_a_parameter(tmp_path):
    deck = Deck()
    deck.patient("age_66", birth="1957-06-01", dx="2024-01-10")
    deck.patient("age_65", birth="1958-06-01", dx="2024-01-10")
    con = deck.build(tmp_path / "t.duckdb", EXTRACT, {"hdt_age_limit": 65}, indicators=("MM01",))
    expected = {"age_66": None, "age_65": ("met", "MET")}
    assert outcomes(con, "MM01", expected) == expected
