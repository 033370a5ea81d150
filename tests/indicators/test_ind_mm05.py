"""MM05 HDT carried out for candidates, including the MRD-guided deferral (Rec 8, v2.0)
(indicators.md v2 §2 MM05: MRD negative at 10⁻⁵ or deeper after at least 4 induction cycles)."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, assert_clinician_texts, outcomes, row


def test_mm05_candidates(tmp_path):
    deck = Deck()                                                     # diagnosis 2024-01-10
    deck.patient("asct_day_164")
    deck.procedure("asct_day_164", "2024-06-22", "asct")
    deck.patient("asct_day_0")
    deck.procedure("asct_day_0", "2024-01-10", "asct")
    deck.patient("asct_day_365")
    deck.procedure("asct_day_365", "2025-01-09", "asct")
    deck.patient("asct_day_366")
    deck.procedure("asct_day_366", "2025-01-10", "asct")
    deck.patient("no_asct")
    deck.patient("died_day_200", death="2024-07-28")
    deck.patient("died_day_365", death="2025-01-09")
    deck.patient("died_day_366", death="2025-01-10")
    deck.patient("died_after_asct", death="2024-09-01")
    deck.procedure("died_after_asct", "2024-06-22", "asct")
    deck.patient("open_no_asct", dx="2026-06-01")
    deck.patient("open_died", dx="2026-06-01", death="2026-09-01")
    deck.patient("open_asct", dx="2026-06-01")
    deck.procedure("open_asct", "2026-10-01", "asct")
    deck.patient("closed_on_day_365", dx="2025-11-01")                # extract − diagnosis = 365
    deck.patient("not_candidate", hdt_candidate=False, hdt_not_candidate_reason="komorbiditet")
    deck.patient("not_candidate_patients_choice", hdt_candidate=False, hdt_not_candidate_reason="patientens_valg")
    deck.patient("candidate_unrecorded", hdt_candidate=None)
    deck.patient("age_70", birth="1953-06-01")
    deck.patient("age_71", birth="1952-06-01")
    deck.procedure("age_71", "2024-06-01", "asct")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM05",))
    expected = {
        "asct_day_164": ("met", "MET"),
        "asct_day_0": ("met", "MET"),
        "asct_day_365": ("met", "MET"),
        "asct_day_366": ("not_met", "NO_HDT"),
        "no_asct": ("not_met", "NO_HDT"),
        "died_day_200": ("excluded", "DIED"),
        "died_day_365": ("excluded", "DIED"),
        "died_day_366": ("not_met", "NO_HDT"),
        "died_after_asct": ("met", "MET"),
        "open_no_asct": ("pending", "WINDOW_OPEN"),
        "open_died": ("excluded", "DIED"),
        "open_asct": ("met", "MET"),
        "closed_on_day_365": ("not_met", "NO_HDT"),
        "not_candidate": None,
        "not_candidate_patients_choice": None,
        "candidate_unrecorded": None,
        "age_70": ("not_met", "NO_HDT"),
        "age_71": None,
    }
    assert outcomes(con, "MM05", expected) == expected
    late = row(con, "MM05", "asct_day_366")
    assert "(første HDT 10-01-2025, dag 366)" in late["reason_text"]
    assert late["reason_text"].startswith("Anbefaling 4 og 8 (A): ")
    assert "(first ASCT 2025-01-10, day 366)" in late["reason_text_en"]
    assert "død 28-07-2024" in row(con, "MM05", "died_day_200")["reason_text"]
    assert_clinician_texts(con, "MM05")


def deferred(deck, name, dx="2026-05-01", courses=(("D-VRd", 4),), risk="standard", mrd=(("neg", 1e-5),),
             response_day=140, asct_day=None, death_day=None):
    """An mrd_strategi patient: FISH at diagnosis, induction courses of 28-day cycles one after
    another from day 14, then efter_induktion MRD results (result, sensitivity) from
    ``response_day`` on, 10 days apart."""
    diagnosed = date.fromisoformat(dx)

    def day(n):
        return (diagnosed + timedelta(days=n)).isoformat()

    deck.patient(name, dx=dx, hdt_candidate=False, hdt_not_candidate_reason="mrd_strategi",
                 death=day(death_day) if death_day is not None else None)
    start = 14
    for regimen, cycles in courses:
        deck.course(name, "induktion", day(start), regimen, cycles=cycles, cycle_length=28)
        start += 28 * (cycles or 1)
    if risk == "standard":
        deck.standard_risk(name, dx)
    elif risk == "high":
        deck.high_risk(name, dx)
    for i, (result, sensitivity) in enumerate(mrd):
        deck.response(name, day(response_day + 10 * i), "efter_induktion", "CR", mrd=result, sensitivity=sensitivity)
    if asct_day is not None:
        deck.procedure(name, day(asct_day), "asct")


def test_mm05_mrd_deferral_conditions(tmp_path):
    deck = Deck()
    deferred(deck, "justified")
    deferred(deck, "justified_quintuplet", courses=(("D-VCRd", 4),))
    deferred(deck, "justified_deeper_1e-6", mrd=(("neg", 1e-6),))
    deferred(deck, "sensitivity_1e-4", mrd=(("neg", 1e-4),))
    deferred(deck, "sensitivity_not_reported", mrd=(("neg", None),))
    deferred(deck, "second_response_deep_enough", mrd=(("neg", 1e-4), ("neg", 1e-5)))
    deferred(deck, "mrd_positive", mrd=(("pos", 1e-5),))
    deferred(deck, "mrd_not_measured", mrd=())
    deferred(deck, "justified_on_v2_0_day", dx="2026-04-07")
    deferred(deck, "diagnosed_before_v2_0", dx="2026-04-06")
    deferred(deck, "high_risk", risk="high")
    deferred(deck, "risk_unknown", risk=None)
    deferred(deck, "triplet", courses=(("VRd", 4),))
    deferred(deck, "everything_wrong", dx="2025-06-01", courses=(("VRd", 4),), mrd=(), risk="high")
    deck.patient("other_timepoint", dx="2026-05-01", hdt_candidate=False, hdt_not_candidate_reason="mrd_strategi")
    deck.course("other_timepoint", "induktion", "2026-05-15", "D-VRd", cycles=4, cycle_length=28)
    deck.standard_risk("other_timepoint", "2026-05-01")
    deck.response("other_timepoint", "2026-09-30", "andet", "CR", mrd="neg")
    con = deck.build(tmp_path / "t.duckdb", "2027-12-31", indicators=("MM05",))
    expected = {
        "justified": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "justified_quintuplet": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "justified_deeper_1e-6": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "sensitivity_1e-4": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "sensitivity_not_reported": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "second_response_deep_enough": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "mrd_positive": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "mrd_not_measured": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "justified_on_v2_0_day": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "diagnosed_before_v2_0": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "high_risk": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "risk_unknown": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "triplet": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "everything_wrong": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "other_timepoint": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
    }
    assert outcomes(con, "MM05", expected) == expected

    def text(name):
        return row(con, "MM05", name)["reason_text"]

    # say which condition failed, in Danish, naming things as clinicians do
    assert "10⁻⁴" in text("sensitivity_1e-4") and "10⁻⁵ eller dybere" in text("sensitivity_1e-4")
    assert "ikke angivet" in text("sensitivity_not_reported")
    assert "v2.0" in text("diagnosed_before_v2_0")
    assert "højrisiko (" in text("high_risk") and "t(4;14)" in text("high_risk") and "gain(1q)" in text("high_risk")
    assert "risiko uoplyst" in text("risk_unknown")
    assert "VRd (bortezomib, dexamethason, lenalidomid) – trestofs-regime" in text("triplet")
    assert "intet MRD-negativt svar" in text("mrd_positive")
    wrong = text("everything_wrong")
    assert all(part in wrong for part in ("v2.0", "højrisiko", "intet MRD-negativt svar"))
    ok = row(con, "MM05", "justified")
    assert ok["reason_text"].startswith("Anbefaling 4 og 8 (A): HDT udskudt (MRD-strategi): standardrisiko")
    assert "MRD-negativ 18-09-2026 ved 10⁻⁵ efter 4 induktionsserier" in ok["reason_text"]
    assert "MRD negative 2026-09-18 at 10⁻⁵ after 4 induction cycles" in ok["reason_text_en"]
    assert row(con, "MM05", "justified")["guideline_version"] == "v2.0"
    assert_clinician_texts(con, "MM05")


def test_mm05_deferral_counts_induction_cycles_before_the_response(tmp_path):
    """The induction = the induktion courses started before that response; a course with
    cycles missing counts 0 towards the 4; its category is its predominant course's."""
    deck = Deck()
    deferred(deck, "three_cycles", courses=(("D-VRd", 3),), response_day=120)
    deferred(deck, "two_plus_two_cycles", courses=(("D-VRd", 2), ("D-VRd", 2)))
    deferred(deck, "three_plus_course_without_cycles", courses=(("D-VRd", 3), ("D-VRd", None)), response_day=150)
    deferred(deck, "only_course_without_cycles", courses=(("D-VRd", None),), response_day=120)
    # 3 cycles from day 14 (to day 98), the 4th course starts on day 98; MRD on day 98 or day 99
    deferred(deck, "fourth_cycle_starts_on_response_day", courses=(("D-VRd", 3), ("D-VRd", 1)), response_day=98)
    deferred(deck, "fourth_cycle_starts_the_day_before", courses=(("D-VRd", 3), ("D-VRd", 1)), response_day=99)
    # MRD negative after 3 cycles, and again after the 4th
    deferred(deck, "later_response_after_four", courses=(("D-VRd", 3), ("D-VRd", 1)),
             mrd=(("neg", 1e-5), ("neg", 1e-5), ("neg", 1e-5), ("neg", 1e-5)), response_day=100)
    deferred(deck, "bridging_vcd_then_dvrd", courses=(("VCd", 1), ("D-VRd", 3)))
    deferred(deck, "vcd_predominant", courses=(("VCd", 3), ("D-VRd", 1)))
    con = deck.build(tmp_path / "t.duckdb", "2027-12-31", indicators=("MM05",))
    expected = {
        "three_cycles": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "two_plus_two_cycles": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "three_plus_course_without_cycles": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "only_course_without_cycles": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "fourth_cycle_starts_on_response_day": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "fourth_cycle_starts_the_day_before": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "later_response_after_four": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "bridging_vcd_then_dvrd": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "vcd_predominant": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
    }
    assert outcomes(con, "MM05", expected) == expected
    assert "efter kun 3 induktionsserier (mindst 4 kræves)" in row(con, "MM05", "three_cycles")["reason_text"]
    assert "efter kun 0 induktionsserier" in row(con, "MM05", "only_course_without_cycles")["reason_text"]
    assert "VCd (bortezomib, cyclophosphamid, dexamethason)" in row(con, "MM05", "vcd_predominant")["reason_text"]
    assert_clinician_texts(con, "MM05")


def test_mm05_mrd_strategy_is_never_no_hdt(tmp_path):
    """A patient with reason mrd_strategi who is not met or justified is DEFERRAL_NOT_SUPPORTED.

    Ambiguity: read literally, "not met or justified" also covers a patient who died within
    365 days; the shared order of rules (excluded first) and the SQL's header keep such a
    patient `excluded` / DIED, which these cases follow."""
    deck = Deck()
    deferred(deck, "not_supported_no_asct", courses=(("VRd", 4),))
    deferred(deck, "not_supported_asct_day_400", courses=(("VRd", 4),), asct_day=400)
    deferred(deck, "justified_asct_day_400", asct_day=400)
    deferred(deck, "deferral_but_transplanted", asct_day=300)
    deferred(deck, "died_day_200", courses=(("VRd", 4),), death_day=200)
    deferred(deck, "justified_but_died_day_200", death_day=200)                # excluded comes first
    deferred(deck, "open_not_supported", dx="2027-09-01", courses=(("VRd", 4),), response_day=100)
    deferred(deck, "open_justified", dx="2027-08-01", response_day=140)
    con = deck.build(tmp_path / "t.duckdb", "2027-12-31", indicators=("MM05",))
    expected = {
        "not_supported_no_asct": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "not_supported_asct_day_400": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "justified_asct_day_400": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "deferral_but_transplanted": ("met", "MET"),
        "died_day_200": ("excluded", "DIED"),
        "justified_but_died_day_200": ("excluded", "DIED"),
        "open_not_supported": ("pending", "WINDOW_OPEN"),
        "open_justified": ("justified", "MRD_NEGATIVE_DEFERRAL"),
    }
    assert outcomes(con, "MM05", expected) == expected
    pending = row(con, "MM05", "open_not_supported")["reason_text"]
    assert pending.startswith("Anbefaling 4 og 8 (A): afventer") and "VRd (bortezomib, dexamethason, lenalidomid) – trestofs-regime" in pending
    assert_clinician_texts(con, "MM05")
