"""MM05 HDT carried out for candidates, including the MRD-guided deferral (Rec 8, v2.0)."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, outcomes, row


def test_mm05_candidates(tmp_path):
    deck = Deck()                                                     # diagnosis 2024-01-10
    deck.patient("asct_day_164")
    deck.procedure("asct_day_164", "2024-06-22", "asct")
    deck.patient("asct_day_365")
    deck.procedure("asct_day_365", "2025-01-09", "asct")
    deck.patient("asct_day_366")
    deck.procedure("asct_day_366", "2025-01-10", "asct")
    deck.patient("no_asct")
    deck.patient("died_day_200", death="2024-07-28")
    deck.patient("died_after_window", death="2025-03-01")
    deck.patient("open_no_asct", dx="2026-06-01")
    deck.patient("open_died", dx="2026-06-01", death="2026-09-01")
    deck.patient("open_asct", dx="2026-06-01")
    deck.procedure("open_asct", "2026-10-01", "asct")
    deck.patient("not_candidate", hdt_candidate=False, hdt_not_candidate_reason="komorbiditet")
    deck.patient("candidate_unrecorded", hdt_candidate=None)
    deck.patient("age_71", birth="1952-06-01")
    deck.procedure("age_71", "2024-06-01", "asct")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM05",))
    expected = {
        "asct_day_164": ("met", "MET"),
        "asct_day_365": ("met", "MET"),
        "asct_day_366": ("not_met", "NO_HDT"),
        "no_asct": ("not_met", "NO_HDT"),
        "died_day_200": ("excluded", "DIED"),
        "died_after_window": ("not_met", "NO_HDT"),
        "open_no_asct": ("pending", "WINDOW_OPEN"),
        "open_died": ("excluded", "DIED"),
        "open_asct": ("met", "MET"),
        "not_candidate": None,
        "candidate_unrecorded": None,
        "age_71": None,
    }
    assert outcomes(con, "MM05", expected) == expected
    assert "(first asct 2025-01-10, day 366)" in row(con, "MM05", "asct_day_366")["reason_text"]


def deferred(deck, name, dx="2026-05-01", regimen="D-VRd", mrd="neg", risk="standard"):
    """An mrd_strategi patient: tested at diagnosis, induction from day 14, MRD on day 120."""
    diagnosed = date.fromisoformat(dx)
    deck.patient(name, dx=dx, hdt_candidate=False, hdt_not_candidate_reason="mrd_strategi")
    deck.course(name, "induktion", (diagnosed + timedelta(days=14)).isoformat(), regimen, cycles=4, cycle_length=28)
    if risk == "standard":
        deck.standard_risk(name, dx)
    elif risk == "high":
        deck.high_risk(name, dx)
    if mrd:
        deck.response(name, (diagnosed + timedelta(days=120)).isoformat(), "efter_induktion", "CR", mrd=mrd)


def test_mm05_mrd_guided_deferral(tmp_path):
    deck = Deck()
    deferred(deck, "justified")
    deferred(deck, "justified_quintuplet", regimen="D-VCRd")
    deferred(deck, "justified_on_v2_0_day", dx="2026-04-07")
    deferred(deck, "before_v2_0", dx="2026-04-06")
    deferred(deck, "high_risk", risk="high")
    deferred(deck, "risk_unknown", risk=None)
    deferred(deck, "triplet", regimen="VRd")
    deferred(deck, "mrd_positive", mrd="pos")
    deferred(deck, "mrd_not_measured", mrd=None)
    deferred(deck, "everything_wrong", dx="2025-06-01", regimen="VRd", mrd=None, risk="high")
    deferred(deck, "deferral_but_transplanted")
    deck.procedure("deferral_but_transplanted", "2026-12-01", "asct")
    deferred(deck, "open_not_supported", dx="2027-09-01", regimen="VRd")
    deferred(deck, "open_justified", dx="2027-09-01")
    con = deck.build(tmp_path / "t.duckdb", "2027-12-31", indicators=("MM05",))
    expected = {
        "justified": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "justified_quintuplet": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "justified_on_v2_0_day": ("justified", "MRD_NEGATIVE_DEFERRAL"),
        "before_v2_0": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "high_risk": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "risk_unknown": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "triplet": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "mrd_positive": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "mrd_not_measured": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "everything_wrong": ("not_met", "DEFERRAL_NOT_SUPPORTED"),
        "deferral_but_transplanted": ("met", "MET"),
        "open_not_supported": ("pending", "WINDOW_OPEN"),
        "open_justified": ("justified", "MRD_NEGATIVE_DEFERRAL"),
    }
    assert outcomes(con, "MM05", expected) == expected

    def text(name):
        return row(con, "MM05", name)["reason_text"]

    assert "guideline v2.0 not in force at diagnosis 2026-04-06" in text("before_v2_0")
    assert "risk high, not standard" in text("high_risk")
    assert "risk unknown, not standard" in text("risk_unknown")
    assert "induction triplet_pi_imid" in text("triplet") and "not quadruplet_cd38 or quintuplet_cd38" in text("triplet")
    assert "no efter_induktion response with MRD negative" in text("mrd_positive")
    wrong = text("everything_wrong")
    assert all(part in wrong for part in ("v2.0 not in force", "risk high", "triplet_pi_imid", "MRD negative"))
    assert "so far DEFERRAL_NOT_SUPPORTED" in text("open_not_supported")
    assert text("justified").startswith("Rec 4, 8 (A): HDT deferred (mrd_strategi): risk standard, induction quadruplet_cd38")
