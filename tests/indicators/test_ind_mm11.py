"""MM11 Rehabilitation referral within 90 days after the first asct."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, outcomes

ASCT = date(2025, 2, 1)


def day(n: int, start: date = ASCT) -> str:
    return (start + timedelta(days=n)).isoformat()


def test_mm11_rules(tmp_path):
    deck = Deck()
    cases = {"day_35": 35, "day_0": 0, "day_90": 90, "day_91": 91, "before_asct": -5, "none": None}
    for name, referral in cases.items():
        deck.patient(name)
        deck.procedure(name, day(0), "asct")
        if referral is not None:
            deck.procedure(name, day(referral), "rehabilitering")
    deck.patient("died_day_50", death=day(50))
    deck.procedure("died_day_50", day(0), "asct")
    deck.patient("died_after_referral", death=day(50))
    deck.procedure("died_after_referral", day(0), "asct")
    deck.procedure("died_after_referral", day(20), "rehabilitering")
    deck.patient("died_day_91", death=day(91))
    deck.procedure("died_day_91", day(0), "asct")
    deck.patient("tandem_uses_first")
    deck.procedure("tandem_uses_first", day(0), "asct")
    deck.procedure("tandem_uses_first", day(100), "asct")
    deck.procedure("tandem_uses_first", day(120), "rehabilitering")
    recent = date(2026, 9, 1)                                     # 61 days before the extract
    deck.patient("open_none")
    deck.procedure("open_none", recent.isoformat(), "asct")
    deck.patient("open_died", death=day(10, recent))
    deck.procedure("open_died", recent.isoformat(), "asct")
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM11",))
    expected = {
        "day_35": ("met", "MET"),
        "day_0": ("met", "MET"),
        "day_90": ("met", "MET"),
        "day_91": ("not_met", "NO_REHABILITATION"),
        "before_asct": ("not_met", "NO_REHABILITATION"),
        "none": ("not_met", "NO_REHABILITATION"),
        "died_day_50": ("excluded", "DIED"),
        "died_after_referral": ("met", "MET"),
        "died_day_91": ("not_met", "NO_REHABILITATION"),
        "tandem_uses_first": ("not_met", "NO_REHABILITATION"),
        "open_none": ("pending", "WINDOW_OPEN"),
        "open_died": ("excluded", "DIED"),
    }
    assert outcomes(con, "MM11", expected) == expected
