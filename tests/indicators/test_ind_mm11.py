"""MM11 Rehabilitation referral from the diagnosis date up to 90 days after the first asct
(indicators.md v2 §2 MM11: a referral before HDT counts)."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, assert_clinician_texts, outcomes, row

ASCT = date(2025, 2, 1)                     # the deck's diagnosis date is 2024-01-10


def day(n: int, start: date = ASCT) -> str:
    return (start + timedelta(days=n)).isoformat()


def test_mm11_rules(tmp_path):
    deck = Deck()
    cases = {"day_35": 35, "day_0": 0, "day_90": 90, "day_91": 91, "before_asct": -5,
             "on_diagnosis_day": -388, "day_before_diagnosis": -389, "none": None}
    assert day(-388) == "2024-01-10"
    for name, referral in cases.items():
        deck.patient(name)
        deck.procedure(name, day(0), "asct")
        if referral is not None:
            deck.procedure(name, day(referral), "rehabilitering")
    deck.patient("died_day_50", death=day(50))
    deck.procedure("died_day_50", day(0), "asct")
    deck.patient("died_day_90", death=day(90))
    deck.procedure("died_day_90", day(0), "asct")
    deck.patient("died_after_referral", death=day(50))
    deck.procedure("died_after_referral", day(0), "asct")
    deck.procedure("died_after_referral", day(20), "rehabilitering")
    deck.patient("died_referred_before_asct", death=day(30))
    deck.procedure("died_referred_before_asct", day(0), "asct")
    deck.procedure("died_referred_before_asct", day(-30), "rehabilitering")
    deck.patient("died_day_91", death=day(91))
    deck.procedure("died_day_91", day(0), "asct")
    deck.patient("tandem_uses_first")
    deck.procedure("tandem_uses_first", day(0), "asct")
    deck.procedure("tandem_uses_first", day(100), "asct")
    deck.procedure("tandem_uses_first", day(120), "rehabilitering")
    deck.patient("no_asct")
    deck.procedure("no_asct", day(0), "rehabilitering")
    recent = date(2026, 9, 1)                                     # 61 days before the extract
    deck.patient("open_none")
    deck.procedure("open_none", recent.isoformat(), "asct")
    deck.patient("open_referred_before_asct")
    deck.procedure("open_referred_before_asct", recent.isoformat(), "asct")
    deck.procedure("open_referred_before_asct", day(-10, recent), "rehabilitering")
    deck.patient("open_died", death=day(10, recent))
    deck.procedure("open_died", recent.isoformat(), "asct")
    deck.patient("closed_on_day_90")
    deck.procedure("closed_on_day_90", day(-90, date(2026, 11, 1)), "asct")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM11",))
    expected = {
        "day_35": ("met", "MET"),
        "day_0": ("met", "MET"),
        "day_90": ("met", "MET"),
        "day_91": ("not_met", "NO_REHABILITATION"),
        "before_asct": ("met", "MET"),
        "on_diagnosis_day": ("met", "MET"),
        "day_before_diagnosis": ("not_met", "NO_REHABILITATION"),
        "none": ("not_met", "NO_REHABILITATION"),
        "died_day_50": ("excluded", "DIED"),
        "died_day_90": ("excluded", "DIED"),
        "died_after_referral": ("met", "MET"),
        "died_referred_before_asct": ("met", "MET"),
        "died_day_91": ("not_met", "NO_REHABILITATION"),
        "tandem_uses_first": ("not_met", "NO_REHABILITATION"),
        "no_asct": None,
        "open_none": ("pending", "WINDOW_OPEN"),
        "open_referred_before_asct": ("met", "MET"),
        "open_died": ("excluded", "DIED"),
        "closed_on_day_90": ("not_met", "NO_REHABILITATION"),
    }
    assert outcomes(con, "MM11", expected) == expected
    before = row(con, "MM11", "before_asct")
    assert before["reason_text"].startswith("Anbefaling 10 (D): henvisning til rehabilitering 27-01-2025")
    none = row(con, "MM11", "none")["reason_text"]
    assert "ingen henvisning til rehabilitering" in none and "10-01-2024" in none and "01-02-2025" in none
    assert "no rehabilitation referral" in row(con, "MM11", "none")["reason_text_en"]
    assert_clinician_texts(con, "MM11")
