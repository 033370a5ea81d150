"""MM04 Melphalan dose by renal function, unknown precedence, never-rounded CrCl
(indicators.md v2 §2 MM04, shared rule "Creatinine clearance").

Ambiguity: `unknown` names CRCL_UNKNOWN and BSA_UNKNOWN only; a melphalan row without its
administration days has no course dose. The SQL header's reading is followed: DOSE_UNKNOWN,
after CRCL_UNKNOWN."""

from __future__ import annotations

import json

import pytest

from pipelines.reports import danish
from staging_rows import Deck, assert_clinician_texts, outcomes, row

START = "2025-03-10"


def conditioned(deck, name, melphalan, creatinine_mg_dl=None, body=(180, 80), birth="1965-01-01"):
    """Conditioning on START; a man aged 60 on the sample day, 80 kg unless told otherwise."""
    deck.patient(name, birth=birth)
    deck.course(name, "konditionering", START, melphalan)
    if creatinine_mg_dl is not None:
        deck.lab(name, "2025-03-08", "kreatinin", creatinine_mg_dl, "mg/dL")
    if body is not None:
        deck.body(name, "2025-03-01", *body)


# (140 − 60) × 80 / (72 × c): c = 1,0 → 88,9 ml/min; c = 4,0 → 22,2 ml/min
NORMAL, LOW = 1.0, 4.0


def test_mm04_rules(tmp_path):
    deck = Deck()
    conditioned(deck, "full_normal", "Mel200", NORMAL)
    conditioned(deck, "reduced_low", "Mel140", LOW)
    conditioned(deck, "full_low", "Mel200", LOW)
    conditioned(deck, "reduced_normal", "Mel140", NORMAL)
    conditioned(deck, "other_dose", [("melphalan", 170, "mg/m2", "1")], NORMAL)
    conditioned(deck, "other_dose_crcl_unknown", [("melphalan", 170, "mg/m2", "1")], None)
    conditioned(deck, "within_5_pct", [("melphalan", 95, "mg/m2", "1-2")], NORMAL)           # 190
    conditioned(deck, "outside_5_pct", [("melphalan", 94.9, "mg/m2", "1-2")], NORMAL)        # 189,8
    conditioned(deck, "reduced_plus_5_pct", [("melphalan", 147, "mg/m2", "1")], LOW)
    conditioned(deck, "reduced_minus_5_pct", [("melphalan", 133, "mg/m2", "1")], LOW)
    conditioned(deck, "crcl_unknown", "Mel200", None)
    conditioned(deck, "reduced_crcl_unknown", "Mel140", None)                                 # could still be met
    conditioned(deck, "bsa_unknown", [("melphalan", 400, "mg", "1")], NORMAL, body=(None, 80))
    conditioned(deck, "both_unknown", [("melphalan", 400, "mg", "1")], None, body=None)
    conditioned(deck, "flat_mg_known_bsa", [("melphalan", 400, "mg", "1")], NORMAL)          # 200 mg/m²
    conditioned(deck, "days_missing", [("melphalan", 200, "mg/m2", None)], NORMAL)
    conditioned(deck, "days_missing_crcl_unknown", [("melphalan", 200, "mg/m2", None)], None)
    # (140 − 60) × 80 / (72 × 2,966) = 29,97 ml/min: shown "29,9", compared unrounded: < 30
    conditioned(deck, "crcl_29_97", "Mel200", 2.966)
    deck.patient("no_melphalan")
    deck.course("no_melphalan", "konditionering", START, [("L01AD01", 300, "mg/m2", "1")])    # BEAM-like carmustine
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM04",))
    expected = {
        "full_normal": ("met", "MET"),
        "reduced_low": ("met", "MET"),
        "full_low": ("not_met", "FULL_DOSE_DESPITE_LOW_CRCL"),
        "reduced_normal": ("not_met", "REDUCED_WITHOUT_RENAL_INDICATION"),
        "other_dose": ("not_met", "MELPHALAN_DOSE_OTHER"),
        "other_dose_crcl_unknown": ("not_met", "MELPHALAN_DOSE_OTHER"),
        "within_5_pct": ("met", "MET"),
        "outside_5_pct": ("not_met", "MELPHALAN_DOSE_OTHER"),
        "reduced_plus_5_pct": ("met", "MET"),
        "reduced_minus_5_pct": ("met", "MET"),
        "crcl_unknown": ("unknown", "CRCL_UNKNOWN"),
        "reduced_crcl_unknown": ("unknown", "CRCL_UNKNOWN"),
        "bsa_unknown": ("unknown", "BSA_UNKNOWN"),
        "both_unknown": ("unknown", "CRCL_UNKNOWN"),
        "flat_mg_known_bsa": ("met", "MET"),
        "days_missing": ("unknown", "DOSE_UNKNOWN"),
        "days_missing_crcl_unknown": ("unknown", "CRCL_UNKNOWN"),
        "crcl_29_97": ("not_met", "FULL_DOSE_DESPITE_LOW_CRCL"),
        "no_melphalan": None,
    }
    assert outcomes(con, "MM04", expected) == expected

    # the spec's own example: "Anbefaling 3 (A/B): CrCl 24 ml/min < 30 → melphalan 140 mg/m² forventet; 200 mg/m² givet"
    full_low = row(con, "MM04", "full_low")
    text = full_low["reason_text"]
    assert text.startswith("Anbefaling 3 (A/B): CrCl 22,2 ml/min < 30")
    assert "kreatinin 353,6 µmol/L 08-03-2025" in text                       # 4 mg/dL in µmol/L, not mg/dL
    assert "→ melphalan 140 mg/m² forventet" in text and "200 mg/m² givet" in text
    assert full_low["reason_text_en"].startswith("Rec 3 (A/B): CrCl 22.2 ml/min < 30")
    assert "→ melphalan 140 mg/m² expected" in full_low["reason_text_en"]
    assert "200 mg/m² given" in full_low["reason_text_en"]
    assert "mg/m² givet (400 mg × 1 dag; BSA 2 m² " in row(con, "MM04", "flat_mg_known_bsa")["reason_text"]
    # an unknown CrCl decides, but the text also says why the dose per m² is unknown
    both = row(con, "MM04", "both_unknown")
    assert both["reason_text"].endswith("melphalan 400 mg × 1 dag, men ingen måling med både højde og vægt "
                                        "inden for 30 dage før forløbet: legemsoverfladeareal (BSA) ukendt")
    assert both["reason_text_en"].endswith("and no measurement of both height and weight within 30 days "
                                           "before the course: BSA unknown")
    assert row(con, "MM04", "days_missing_crcl_unknown")["reason_text"].endswith(
        "melphalan 200 mg/m² × (dage mangler): dosis pr. m² ukendt")
    edge = row(con, "MM04", "crcl_29_97")
    assert "CrCl 29,9 ml/min < 30" in edge["reason_text"]
    values = json.loads(edge["values_json"])
    assert values["crcl_ml_min"] == pytest.approx(80 * 80 / (72 * 2.966))
    assert values["melphalan_mg_m2_expected"] == 140
    assert values["creatinine_sample_date"] == "2025-03-08"
    assert values["weight_kg"] == 80
    assert_clinician_texts(con, "MM04")


def test_mm04_index_is_the_first_conditioning_with_melphalan(tmp_path):
    deck = Deck()
    conditioned(deck, "tandem", "Mel200", NORMAL)
    deck.course("tandem", "konditionering", "2025-06-10", "Mel140")
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM04",))
    result = row(con, "MM04", "tandem")
    assert (result["status"], str(result["index_date"])) == ("met", START)


def test_mm04_dose_shown_on_its_side_of_the_tolerance(tmp_path):
    """A dose whose whole number would sit inside 140 ± 5 % (133–147) or 200 ± 5 % while the dose
    does not is shown with the decimals that keep it outside (found by an independent reviewer:
    147,1 read "147" beside "hverken ≈ 200 eller ≈ 140")."""
    deck = Deck()
    conditioned(deck, "just_above_147", [("melphalan", 147.08, "mg/m2", "1")], LOW)
    conditioned(deck, "just_below_190", [("melphalan", 189.996, "mg/m2", "1")], NORMAL)
    conditioned(deck, "inside_146_6", [("melphalan", 146.6, "mg/m2", "1")], LOW)
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM04",))
    expected = {
        "just_above_147": ("not_met", "MELPHALAN_DOSE_OTHER"),
        "just_below_190": ("not_met", "MELPHALAN_DOSE_OTHER"),
        "inside_146_6": ("met", "MET"),
    }
    assert outcomes(con, "MM04", expected) == expected
    assert "melphalan 147,08 mg/m² givet" in row(con, "MM04", "just_above_147")["reason_text"]
    assert "melphalan 147.08 mg/m² given" in row(con, "MM04", "just_above_147")["reason_text_en"]
    assert "melphalan 189,996 mg/m² givet" in row(con, "MM04", "just_below_190")["reason_text"]
    assert "melphalan 147 mg/m² givet" in row(con, "MM04", "inside_146_6")["reason_text"]  # whole where it keeps its side
    # the drill-down's dose the same: 189,996 stays below 190 there too (2 decimals would read 190)
    given = {name: json.loads(row(con, "MM04", name)["values_json"])["melphalan_mg_m2_given"]
             for name in expected}
    assert given == {"just_above_147": 147.08, "just_below_190": 189.996, "inside_146_6": 146.6}
    assert danish.shown("melphalan_mg_m2_given", given["just_below_190"]) == "189,996 mg/m²"
    assert_clinician_texts(con, "MM04")
