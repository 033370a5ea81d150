"""The words and numbers of the clinicians' pages: every drill-down value the indicators write
has a Danish label (and unit), dates dd-mm-åååå, decimal comma, thousands with a dot, codes
named as a clinician names them."""

from __future__ import annotations

import json
import re

import pytest

from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.sql_loader import SQL_DIR
from pipelines.reports import danish


def drill_down_keys() -> dict[str, list[str]]:
    keys = {}
    for indicator in CATALOGUE:
        text = (SQL_DIR / indicator.sql_file).read_text(encoding="utf-8")
        struct = text[:text.index("as drill_down")]
        struct = struct[struct.rindex("{"):]
        keys[indicator.indicator_id] = re.findall(r"'([a-z0-9_]+)'\s*:", struct)
    return keys


def test_every_drill_down_value_of_every_indicator_has_a_danish_label():
    keys = drill_down_keys()
    assert all(keys.values()) and len(keys) == len(CATALOGUE)
    missing = sorted({k for ks in keys.values() for k in ks} - set(danish.VALUES))
    assert missing == []


def test_values_read_as_a_clinician_writes_them():
    values = {"crcl_ml_min": 24.456, "creatinine_umol_l": 91.0, "creatinine_sample_date": "2025-02-10",
              "melphalan_mg_m2_given": 199.75, "dose_given": "1000 mg/m² × 2 d", "sex": "K",
              "category": "quadruplet_cd38", "maintenance_drugs": "daratumumab, lenalidomide",
              "mrd_sensitivity": 1e-05, "hdt_evaluated": False, "risk": "high", "bsa_m2": 1.8449,
              "bsa_measure_date": None, "death_date": None, "days": "1-21"}
    assert danish.value_items(values) == [
        ("Kreatininclearance (CrCl)", "24,45 ml/min"), ("Kreatinin", "91 µmol/L (10-02-2025)"),
        ("Melphalan givet", "199,75 mg/m²"), ("Dosis givet", "1.000 mg/m² × 2 dage"), ("Køn", "kvinde"),
        ("Regimekategori", "firstofs-regime med CD38-antistof"), ("Lægemidler i vedligeholdelsen", "daratumumab, lenalidomid"),
        ("MRD-sensitivitet", "10⁻⁵"), ("Vurderet med henblik på HDT", "nej"),
        ("Legemsoverfladeareal (BSA)", "1,84 m²"), ("Doseringsdage", "dag 1-21")]
    assert danish.values_text(json.dumps(values)).startswith("Kreatininclearance (CrCl): 24,45 ml/min; Kreatinin: 91 µmol/L")
    assert danish.values_text("not json") == "" and danish.values_text(None) == ""


@pytest.mark.parametrize(("key", "value", "text"), [
    ("crcl_ml_min", 29.996, "29,99 ml/min"),          # below 30: cut, never "30"
    ("crcl_ml_min", 49.999, "49,99 ml/min"),
    ("crcl_ml_min", 0.29 * 100, "29 ml/min"),         # 28.999999999999996 is 29 as delivered
    ("crcl_ml_min", 30.0, "30 ml/min"),
    ("melphalan_mg_m2_given", 147.08, "147,08 mg/m²"),  # outside 140 ± 5 %: "147" would be inside
    ("cyclophosphamide_mg_m2_given", 2200.08, "2.200,08 mg/m²"),
    ("melphalan_mg_m2_given", 189.996, "189,996 mg/m²"),  # as rounded by ind_mm04.sql: below 190
    ("melphalan_mg_m2_given", 152.17, "152,17 mg/m²"),
    ("weight_kg", 53.99, "53,99 kg"),
    ("creatinine_umol_l", 176.8, "176,8 µmol/L"),
])
def test_a_measurement_judged_against_a_limit_is_shown_on_its_side(key, value, text):
    """Found by an independent reviewer: CrCl 29,96 beside "30", 147,1 mg/m² as "147"."""
    assert danish.shown(key, value) == text


def test_items_kept_for_later_patients_are_those_made_anew():
    """``value_items(..., memo)``: an item is kept by its key, value, date and their types, so
    1, 1.0 and True, or a value with and without its date, never share an item."""
    patients = [{"ecog_ps": 1, "creatinine_umol_l": 91.0, "creatinine_sample_date": "2025-02-10"},
                {"ecog_ps": 1.0, "creatinine_umol_l": 91.0, "creatinine_sample_date": None},
                {"ecog_ps": True, "creatinine_umol_l": 91, "creatinine_sample_date": "2025-02-11"},
                {"ecog_ps": 1, "creatinine_umol_l": 91.0, "creatinine_sample_date": "2025-02-10",
                 "maintenance_drugs": ["lenalidomide"], "hdt_evaluated": False}]
    memo: dict = {}
    kept = [danish.value_items(values, memo) for values in patients * 2]
    assert kept == [danish.value_items(values) for values in patients * 2]
    assert kept[0] != kept[1] != kept[2] and memo


@pytest.mark.parametrize("value, digits, text", [(1234567.891, 1, "1.234.567,9"), (24.5, 1, "24,5"), (0.5, 2, "0,5"),
                                                 (200.0, 0, "200"), (-3, 0, "-3"), (None, 0, "")])
def test_numbers_have_a_decimal_comma_and_a_thousands_dot(value, digits, text):
    assert danish.tal(value, digits) == text


def test_statuses_and_informational_uptake():
    assert danish.status_da("not_met", "MM01") == "ikke opfyldt"
    assert danish.status_da("not_met", "MM12") == "ikke givet" and danish.status_da("met", "MM08") == "givet"
    assert danish.status_da("unknown", "MM12") == "uoplyst"
    assert danish.dato("2026-11-01") == "01-11-2026" and danish.risk_da("high") == "højrisiko"
    assert danish.risk_da("high", "højrisiko (del(17p) 34 %)") == "højrisiko (del(17p) 34 %)"


def test_a_dose_given_reads_with_decimal_comma_and_danish_days():
    """The dose text of the drill-down is the course's English one (decimal point, 'd'): every
    number of it, not only the first, is written as a Danish page writes it (found by a review)."""
    shown = dict(danish.value_items({"dose_given": "1000 mg/m² × 2 d + 1.5 g/m² × 1 d"}))
    assert shown == {"Dosis givet": "1.000 mg/m² × 2 dage + 1,5 g/m² × 1 dag"}
    assert dict(danish.value_items({"dose_given": "12.25 mg/kg × (days missing)"})) == \
        {"Dosis givet": "12,25 mg/kg × (dage mangler)"}


def test_a_count_takes_its_noun_in_the_number_it_needs():
    assert danish.antal(1, "række", "rækker") == "1 række"
    assert danish.antal(0, "række", "rækker") == "0 rækker"
    assert danish.antal(1234, "patient", "patienter") == "1.234 patienter"
    assert danish.antal("<5", "patient", "patienter") == "<5 patienter"      # suppressed: shown as it is


def test_files_and_encodings_are_named_in_danish():
    assert danish.fil("labs.csv") == "laboratorieprøver" and danish.fil("treatment_courses.csv") == "behandlingsforløb"
    assert danish.fil("extra.csv") == "extra.csv"
    assert danish.tegnsaet("cp1252") == "Windows-1252" and danish.tegnsaet("utf-8-sig") == "UTF-8 med BOM"
