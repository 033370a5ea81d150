"""MM15 Cytogenetic risk assessed before induction (indicators.md v2 §2 MM15): del17p, t4_14 and
gain1q or amp1q each with a result sampled up to the first induktion start (inclusive).
Population: MM01's population less its exclusions, first induktion on or after diagnosis."""

from __future__ import annotations

from staging_rows import Deck, assert_clinician_texts, outcomes, row

INDUCTION = "2024-02-01"                    # the deck's diagnosis date is 2024-01-10


def treated(deck, name, tested=(), when=INDUCTION, induction=INDUCTION, result="neg", **patient):
    deck.patient(name, **patient)
    if induction:
        deck.course(name, "induktion", induction, "VRd", cycles=4, cycle_length=21)
    for aberration in tested:
        deck.cyto(name, when, aberration, result)


CORE = ("del17p", "t4_14", "gain1q")


def test_mm15_rules(tmp_path):
    deck = Deck()
    treated(deck, "all_on_induction_day", CORE)
    treated(deck, "all_before", CORE, when="2024-01-12")
    treated(deck, "all_positive", CORE, result="pos")
    treated(deck, "amp1q_for_1q", ("del17p", "t4_14", "amp1q"))
    treated(deck, "sampled_before_diagnosis", CORE, when="2023-12-20")
    treated(deck, "all_the_day_after", CORE, when="2024-02-02")
    treated(deck, "t4_14_the_day_after", ("del17p", "gain1q"), when="2024-01-12")
    deck.cyto("t4_14_the_day_after", "2024-02-02", "t4_14", "neg")
    treated(deck, "only_del17p", ("del17p",))
    treated(deck, "no_1q", ("del17p", "t4_14"))
    treated(deck, "nothing")
    treated(deck, "other_aberrations_only", ("t14_16", "tp53_mut", "del1p"))
    # the index is the earliest induktion course, even a bridging one
    treated(deck, "bridging_course_first", CORE, when="2024-01-25", induction="2024-01-20")
    deck.course("bridging_course_first", "induktion", INDUCTION, "D-VRd", cycles=4, cycle_length=28)
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM15",))
    expected = {
        "all_on_induction_day": ("met", "MET"),
        "all_before": ("met", "MET"),
        "all_positive": ("met", "MET"),
        "amp1q_for_1q": ("met", "MET"),
        "sampled_before_diagnosis": ("met", "MET"),
        "all_the_day_after": ("not_met", "RISK_NOT_ASSESSED"),
        "t4_14_the_day_after": ("not_met", "RISK_PARTIALLY_ASSESSED"),
        "only_del17p": ("not_met", "RISK_PARTIALLY_ASSESSED"),
        "no_1q": ("not_met", "RISK_PARTIALLY_ASSESSED"),
        "nothing": ("not_met", "RISK_NOT_ASSESSED"),
        "other_aberrations_only": ("not_met", "RISK_NOT_ASSESSED"),
        "bridging_course_first": ("not_met", "RISK_NOT_ASSESSED"),
    }
    assert outcomes(con, "MM15", expected) == expected
    partial = row(con, "MM15", "t4_14_the_day_after")
    assert partial["reason_text"].startswith("Anbefaling 9 (B): ")
    assert "t(4;14)" in partial["reason_text"].split("mangler")[-1]           # say which
    assert "del(17p)" not in partial["reason_text"].split("mangler")[-1]
    assert "01-02-2024" in partial["reason_text"]
    assert "missing: t(4;14)" in partial["reason_text_en"]
    assert str(row(con, "MM15", "bridging_course_first")["index_date"]) == "2024-01-20"
    assert_clinician_texts(con, "MM15")


def test_mm15_population(tmp_path):
    deck = Deck()
    treated(deck, "induction_on_diagnosis_day", CORE, induction="2024-01-10", when="2024-01-10")
    treated(deck, "induction_before_diagnosis", CORE, induction="2024-01-09", when="2024-01-05")
    treated(deck, "no_induction", CORE, induction=None, when="2024-01-12")
    treated(deck, "age_70", CORE, birth="1953-06-01")
    treated(deck, "age_71", CORE, birth="1952-06-01")
    treated(deck, "ps_2", CORE, ecog_ps=2)
    treated(deck, "ps_missing", CORE, ecog_ps=None)
    treated(deck, "significant_comorbidity", CORE, comorbidity="betydelig")
    treated(deck, "comorbidity_missing", CORE, comorbidity=None)
    treated(deck, "not_hdt_candidate", CORE, hdt_candidate=False, hdt_not_candidate_reason="alder")
    treated(deck, "not_evaluated", CORE, hdt_evaluated=False)
    treated(deck, "leukaemia", CORE, icd10="DC901")
    treated(deck, "other_code", CORE, icd10="DC902")
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM15",))
    expected = {
        "induction_on_diagnosis_day": ("met", "MET"),
        "induction_before_diagnosis": None,
        "no_induction": None,
        "age_70": ("met", "MET"),
        "age_71": None,
        "ps_2": None,
        "ps_missing": ("met", "MET"),
        "significant_comorbidity": None,
        "comorbidity_missing": ("met", "MET"),
        "not_hdt_candidate": ("met", "MET"),
        "not_evaluated": ("met", "MET"),
        "leukaemia": ("met", "MET"),
        "other_code": None,
    }
    assert outcomes(con, "MM15", expected) == expected
