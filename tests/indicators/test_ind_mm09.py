"""MM09 Dual maintenance for high risk (indicators.md v2 §2 MM09): informational, v2.0 by the
index date = the start of the first vedligehold course after the last asct."""

from __future__ import annotations

from pipelines.indicators.catalogue import BY_ID
from staging_rows import Deck, assert_clinician_texts, outcomes, row


def transplanted(deck, name, maintenance="DR", start="2026-06-01", risk="high", asct="2026-03-01"):
    deck.patient(name, dx="2025-10-01")
    if risk == "high":
        deck.high_risk(name, "2025-10-05")
    elif risk == "standard":
        deck.standard_risk(name, "2025-10-05")
    deck.course(name, "induktion", "2025-10-15", "D-KRd", cycles=4, cycle_length=28)
    deck.procedure(name, "2026-02-01", "leukaferese")
    deck.procedure(name, asct, "asct")
    if maintenance:
        deck.course(name, "vedligehold", start, maintenance)


def test_mm09_dual_maintenance_for_high_risk(tmp_path):
    deck = Deck()
    transplanted(deck, "dual")
    transplanted(deck, "lenalidomide_only", "R")
    transplanted(deck, "daratumumab_only", "Dara")
    transplanted(deck, "thalidomide", "Thal")
    transplanted(deck, "first_course_judged", "R")
    deck.course("first_course_judged", "vedligehold", "2026-09-01", "DR")
    transplanted(deck, "started_before_v2_0", "DR", start="2026-04-06")
    transplanted(deck, "started_on_v2_0_day", "R", start="2026-04-07")
    transplanted(deck, "tandem", None)
    deck.course("tandem", "vedligehold", "2026-04-20", "R")                   # between the transplants
    deck.procedure("tandem", "2026-05-01", "asct")
    deck.course("tandem", "vedligehold", "2026-08-01", "DR")
    transplanted(deck, "no_maintenance", None)
    transplanted(deck, "maintenance_before_asct_only", "DR", start="2026-02-20")
    transplanted(deck, "standard_risk", "R", risk="standard")
    transplanted(deck, "unknown_risk", "R", risk=None)
    con = deck.build(tmp_path / "t.duckdb", "2026-11-01", indicators=("MM09",))
    expected = {
        "dual": ("met", "MET"),
        "lenalidomide_only": ("not_met", "NO_DUAL_MAINTENANCE"),
        "daratumumab_only": ("not_met", "NO_DUAL_MAINTENANCE"),
        "thalidomide": ("not_met", "NO_DUAL_MAINTENANCE"),
        "first_course_judged": ("not_met", "NO_DUAL_MAINTENANCE"),
        "started_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "started_on_v2_0_day": ("not_met", "NO_DUAL_MAINTENANCE"),
        "tandem": ("met", "MET"),
        "no_maintenance": None,
        "maintenance_before_asct_only": None,
        "standard_risk": None,
        "unknown_risk": None,
    }
    assert outcomes(con, "MM09", expected) == expected
    dual = row(con, "MM09", "dual")
    assert str(dual["index_date"]) == "2026-06-01" and dual["guideline_version"] == "v2.0"
    single = row(con, "MM09", "lenalidomide_only")
    assert single["reason_text"].startswith("Anbefaling 7 (B): højrisiko (")
    assert ": lenalidomid;" in single["reason_text"]                         # say the drugs given
    assert "01-06-2026" in single["reason_text"]
    assert ": lenalidomide;" in single["reason_text_en"]
    assert "daratumumab" in row(con, "MM09", "daratumumab_only")["reason_text"]
    assert row(con, "MM09", "started_before_v2_0")["guideline_version"] == "v1.5"
    assert row(con, "MM09", "started_on_v2_0_day")["guideline_version"] == "v2.0"
    assert str(row(con, "MM09", "tandem")["index_date"]) == "2026-08-01"
    assert_clinician_texts(con, "MM09")


def test_mm09_is_informational():
    assert BY_ID["MM09"].standard is None and BY_ID["MM09"].informational
    assert BY_ID["MM09"].valid_from_version == "v2.0"
