"""MM14 Alive 100 days after HDT (indicators.md v2 §2 MM14): index the first asct; died on day
0–100 is not_met at once; alive while the 100-day window is open is pending."""

from __future__ import annotations

from datetime import date, timedelta

from staging_rows import Deck, assert_clinician_texts, outcomes, row

ASCT = date(2025, 2, 1)
EXTRACT = date(2026, 11, 1)


def day(n: int, start: date = ASCT) -> str:
    return (start + timedelta(days=n)).isoformat()


def test_mm14_rules(tmp_path):
    deck = Deck()
    for name, death in {"alive": None, "died_day_0": 0, "died_day_50": 50, "died_day_100": 100,
                        "died_day_101": 101}.items():
        deck.patient(name, death=day(death) if death is not None else None)
        deck.procedure(name, day(0), "asct")
    deck.patient("tandem_uses_first", death=day(150))
    deck.procedure("tandem_uses_first", day(0), "asct")
    deck.procedure("tandem_uses_first", day(100), "asct")          # died day 50 after the second
    deck.patient("no_asct", death=day(10))
    recent = date(2026, 9, 1)                                      # day 61 at the extract
    deck.patient("open_alive")
    deck.procedure("open_alive", recent.isoformat(), "asct")
    deck.patient("open_died", death=day(20, recent))
    deck.procedure("open_died", recent.isoformat(), "asct")
    deck.patient("day_99_at_extract")
    deck.procedure("day_99_at_extract", day(-99, EXTRACT), "asct")
    deck.patient("day_100_at_extract")
    deck.procedure("day_100_at_extract", day(-100, EXTRACT), "asct")
    con = deck.build(tmp_path / "t.duckdb", EXTRACT.isoformat(), indicators=("MM14",))
    expected = {
        "alive": ("met", "MET"),
        "died_day_0": ("not_met", "DIED_WITHIN_100_DAYS"),
        "died_day_50": ("not_met", "DIED_WITHIN_100_DAYS"),
        "died_day_100": ("not_met", "DIED_WITHIN_100_DAYS"),
        "died_day_101": ("met", "MET"),
        "tandem_uses_first": ("met", "MET"),
        "no_asct": None,
        "open_alive": ("pending", "WINDOW_OPEN"),
        "open_died": ("not_met", "DIED_WITHIN_100_DAYS"),
        "day_99_at_extract": ("pending", "WINDOW_OPEN"),
        "day_100_at_extract": ("met", "MET"),
    }
    assert outcomes(con, "MM14", expected) == expected
    died = row(con, "MM14", "died_day_100")
    assert died["reason_text"].startswith("Anbefaling 4 (A): død 12-05-2025, dag 100")   # say the day
    assert "01-02-2025" in died["reason_text"]
    assert "day 100" in died["reason_text_en"]
    assert str(row(con, "MM14", "tandem_uses_first")["index_date"]) == day(0)
    assert row(con, "MM14", "open_alive")["reason_text"].startswith("Anbefaling 4 (A): afventer")
    assert_clinician_texts(con, "MM14")
