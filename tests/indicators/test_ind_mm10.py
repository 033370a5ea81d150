"""MM10 Tandem transplant only with benefit but without CR: the ordered rules (indicators.md v2
§2 MM10; the response after the first asct is the latest efter_asct response from the first
transplant up to the second, both days included)."""

from __future__ import annotations

from staging_rows import Deck, assert_clinician_texts, outcomes, row


def tandem(deck, name, response=None, risk="high", response_date="2025-03-01", second="2025-05-01"):
    deck.patient(name)
    if risk == "high":
        deck.high_risk(name)
    elif risk == "standard":
        deck.standard_risk(name)
    deck.procedure(name, "2025-01-10", "asct")
    deck.procedure(name, second, "asct")
    if response:
        deck.response(name, response_date, "efter_asct", response)


def test_mm10_rules(tmp_path):
    deck = Deck()
    tandem(deck, "high_pr", "PR")
    tandem(deck, "high_vgpr", "VGPR")
    tandem(deck, "high_cr", "CR")
    tandem(deck, "high_scr", "sCR")
    tandem(deck, "high_sd", "SD")
    tandem(deck, "high_pd", "PD")
    tandem(deck, "standard_vgpr", "VGPR", risk="standard")
    tandem(deck, "standard_cr", "CR", risk="standard")                    # first listed: despite CR
    tandem(deck, "standard_sd", "SD", risk="standard")
    tandem(deck, "standard_no_response", risk="standard")                 # known values decide
    tandem(deck, "high_no_response")
    tandem(deck, "unknown_risk_vgpr", "VGPR", risk=None)
    tandem(deck, "unknown_risk_cr", "CR", risk=None)
    tandem(deck, "unknown_risk_pd", "PD", risk=None)
    tandem(deck, "unknown_risk_no_response", risk=None)                   # first listed: RESPONSE_UNKNOWN
    tandem(deck, "response_on_first_transplant_day", "PR", response_date="2025-01-10")
    tandem(deck, "response_on_second_transplant_day", "PR", response_date="2025-05-01")
    tandem(deck, "response_day_before_first", "PR", response_date="2025-01-09")
    tandem(deck, "response_day_after_second", "PR", response_date="2025-05-02")
    tandem(deck, "latest_response_counts", "PR", response_date="2025-02-20")
    deck.response("latest_response_counts", "2025-04-01", "efter_asct", "CR")
    tandem(deck, "latest_is_pr", "CR", response_date="2025-02-20")
    deck.response("latest_is_pr", "2025-04-01", "efter_asct", "PR")
    tandem(deck, "other_timepoint_ignored")
    deck.response("other_timepoint_ignored", "2025-03-01", "andet", "PR")
    tandem(deck, "tandem_at_180_days", "PR", second="2025-07-09")
    tandem(deck, "no_tandem", "PR", second="2025-07-10")            # 181 days: not a tandem
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM10",))
    expected = {
        "high_pr": ("met", "MET"),
        "high_vgpr": ("met", "MET"),
        "high_cr": ("not_met", "TANDEM_DESPITE_CR"),
        "high_scr": ("not_met", "TANDEM_DESPITE_CR"),
        "high_sd": ("not_met", "TANDEM_WITHOUT_BENEFIT"),
        "high_pd": ("not_met", "TANDEM_WITHOUT_BENEFIT"),
        "standard_vgpr": ("not_met", "TANDEM_STANDARD_RISK"),
        "standard_cr": ("not_met", "TANDEM_DESPITE_CR"),
        "standard_sd": ("not_met", "TANDEM_WITHOUT_BENEFIT"),
        "standard_no_response": ("not_met", "TANDEM_STANDARD_RISK"),
        "high_no_response": ("unknown", "RESPONSE_UNKNOWN"),
        "unknown_risk_vgpr": ("unknown", "RISK_UNKNOWN"),
        "unknown_risk_cr": ("not_met", "TANDEM_DESPITE_CR"),
        "unknown_risk_pd": ("not_met", "TANDEM_WITHOUT_BENEFIT"),
        "unknown_risk_no_response": ("unknown", "RESPONSE_UNKNOWN"),
        "response_on_first_transplant_day": ("met", "MET"),
        "response_on_second_transplant_day": ("met", "MET"),
        "response_day_before_first": ("unknown", "RESPONSE_UNKNOWN"),
        "response_day_after_second": ("unknown", "RESPONSE_UNKNOWN"),
        "latest_response_counts": ("not_met", "TANDEM_DESPITE_CR"),
        "latest_is_pr": ("met", "MET"),
        "other_timepoint_ignored": ("unknown", "RESPONSE_UNKNOWN"),
        "tandem_at_180_days": ("met", "MET"),
        "no_tandem": None,
    }
    assert outcomes(con, "MM10", expected) == expected
    met = row(con, "MM10", "high_pr")
    assert str(met["index_date"]) == "2025-05-01"
    assert met["reason_text"].startswith("Anbefaling 9 (A/B): ")
    assert "01-05-2025" in met["reason_text"] and "10-01-2025" in met["reason_text"]
    assert "PR 01-03-2025" in met["reason_text"]
    assert "højrisiko (" in met["reason_text"] and "t(4;14)" in met["reason_text"]
    assert met["reason_text_en"].startswith("Rec 9 (A/B): tandem ASCT 2025-05-01 after ASCT 2025-01-10")
    assert "CR" in row(con, "MM10", "high_cr")["reason_text"]
    assert "standardrisiko" in row(con, "MM10", "standard_vgpr")["reason_text"]
    assert_clinician_texts(con, "MM10")
