"""The shared formulas (sql/macros/indicator_macros.sql) against published values."""

from __future__ import annotations

import duckdb
import pytest
from statsmodels.stats.proportion import proportion_confint

from pipelines.indicators.build import prepare_session


@pytest.fixture()
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    prepare_session(con, "2026-11-01")
    yield con
    con.close()


def scalar(con, sql: str, params=None):
    return con.execute(f"select {sql}", params or []).fetchone()[0]


def test_cockcroft_gault_woman_25_years_60_kg_creatinine_88_4_umol(con):
    # 88,4 µmol/L = 1,0 mg/dL: (140 − 25) × 60 × 0,85 / 72 = 81,46 ml/min
    value = scalar(con, "crcl_cockcroft_gault(25, 60, 'K', 88.4 / getvariable('creatinine_umol_per_mg_dl'))")
    assert value == pytest.approx(81.4583, abs=1e-4)
    assert round(value, 2) == 81.46


def test_cockcroft_gault_man_60_years_80_kg_creatinine_1_2_mg_dl(con):
    value = scalar(con, "crcl_cockcroft_gault(60, 80, 'M', 1.2)")
    assert round(value, 2) == 74.07


def test_cockcroft_gault_unknown_sex_is_unknown(con):
    assert scalar(con, "crcl_cockcroft_gault(60, 80, null, 1.2)") is None


def test_mosteller_170_cm_75_kg(con):
    assert scalar(con, "bsa_mosteller(170, 75)") == pytest.approx(1.8819, abs=1e-4)


@pytest.mark.parametrize("k, n, low, high", [(7, 50, 0.0695, 0.2619), (0, 10, 0.0, 0.2775)])
def test_wilson_published_values(con, k, n, low, high):
    got_low, got_high = con.execute("select wilson_low(?, ?), wilson_high(?, ?)", [k, n, k, n]).fetchone()
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_matches_statsmodels_on_a_grid(con):
    grid = [(k, n) for n in (1, 2, 3, 5, 10, 17, 50, 99, 350, 1000) for k in sorted({0, 1, n // 3, n // 2, n - 1, n})]
    got = con.execute(
        "select k, n, wilson_low(k, n), wilson_high(k, n) from unnest(?) as g(p), "
        "lateral (select p[1] as k, p[2] as n)", [[list(p) for p in grid]]).fetchall()
    assert len(got) == len(grid)
    for k, n, low, high in got:
        ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert low == pytest.approx(ref_low, abs=1e-12), (k, n)
        assert high == pytest.approx(ref_high, abs=1e-12), (k, n)


def test_wilson_all_or_none_met_is_exactly_0_and_1(con):
    """16 of 16 met gave ci_high 0.9999999999999998 (found by an independent reviewer)."""
    rows = con.execute("select n, wilson_low(0, n), wilson_high(n, n) from range(1, 2001) as r(n)").fetchall()
    assert {(low, high) for _, low, high in rows} == {(0.0, 1.0)}


def test_wilson_without_denominator_is_null(con):
    assert con.execute("select wilson_low(0, 0), wilson_high(0, 0)").fetchone() == (None, None)


@pytest.mark.parametrize("birth, on, age", [
    ("1960-02-29", "2030-02-28", 69),   # non-leap year: still the younger age on 28 Feb
    ("1960-02-29", "2030-03-01", 70),
    ("1960-02-29", "2028-02-29", 68),   # leap year: the birthday itself
    ("1956-05-10", "2026-05-10", 70),   # exactly 70 on the birthday
    ("1956-05-10", "2026-05-09", 69),
    ("1956-05-10", "2027-05-09", 70),
])
def test_age_in_completed_years(con, birth, on, age):
    assert scalar(con, "age_years(?::date, ?::date)", [birth, on]) == age


@pytest.mark.parametrize("value, digits, danish, english", [
    (89.94, 1, "89,9", "89.9"), (2000.0, 0, "2.000", "2000"), (1.8819, 2, "1,88", "1.88"), (80.0, 1, "80", "80"),
    (199.96, 1, "200", "200"), (1234.56, 1, "1.234,6", "1234.6"), (0.5, 1, "0,5", "0.5"),
])
def test_numbers_in_reason_texts(con, value, digits, danish, english):
    assert scalar(con, "num_da(?, ?)", [value, digits]) == danish
    assert scalar(con, "num_en(?, ?)", [value, digits]) == english


@pytest.mark.parametrize("value, danish, english", [
    (0.00001, "10⁻⁵", "10⁻⁵"), (1e-4, "10⁻⁴", "10⁻⁴"), (1.5e-06, "1,5 × 10⁻⁶", "1.5 × 10⁻⁶"),
])
def test_mrd_sensitivities_in_reason_texts(con, value, danish, english):
    assert scalar(con, "sci_da(?)", [value]) == danish
    assert scalar(con, "sci_en(?)", [value]) == english


def test_dates_in_reason_texts(con):
    assert scalar(con, "dato(date '2025-02-10')") == "10-02-2025"
    assert scalar(con, "iso(date '2025-02-10')") == "2025-02-10"


def test_tolerance_is_inclusive_and_never_rounds(con):
    assert scalar(con, "near(1800, 2000, 0.10)") is True
    assert scalar(con, "near(1799.999, 2000, 0.10)") is False
    assert scalar(con, "near(210, 200, 0.05)") is True
    assert scalar(con, "near(210.0001, 200, 0.05)") is False


@pytest.mark.parametrize("substances, name", [
    (["bortezomib", "dexamethasone", "lenalidomide"], "VRd"),
    (["carfilzomib", "dexamethasone", "lenalidomide"], "KRd"),
    (["bortezomib", "dexamethasone", "thalidomide"], "VTd"),
    (["ixazomib", "dexamethasone", "lenalidomide"], "IRd"),
    (["bortezomib", "cyclophosphamide", "dexamethasone"], "VCd"),
    (["carfilzomib", "cyclophosphamide", "dexamethasone"], "KCd"),
    (["bortezomib", "dexamethasone"], "Vd"),
    (["dexamethasone", "lenalidomide"], "Rd"),
    (["bortezomib", "melphalan", "prednisolone"], "VMP"),
    (["daratumumab", "dexamethasone", "lenalidomide"], "DRd"),               # D hyphenated before three letters
    (["dexamethasone", "isatuximab", "pomalidomide"], "Isa-Pd"),
    (["bortezomib", "daratumumab", "dexamethasone", "lenalidomide"], "D-VRd"),
    (["bortezomib", "daratumumab", "dexamethasone", "thalidomide"], "D-VTd"),
    (["carfilzomib", "dexamethasone", "isatuximab", "lenalidomide"], "Isa-KRd"),
    (["bortezomib", "cyclophosphamide", "daratumumab", "dexamethasone", "lenalidomide"], "D-VCRd"),
    (["lenalidomide"], None),                                    # one drug: named, not abbreviated
    (["daratumumab", "lenalidomide"], None),                     # one drug after the antibody
    (["bortezomib", "carfilzomib", "dexamethasone"], None),      # two of one class
    (["bortezomib", "dexamethasone", "doxorubicin"], None),      # a drug without a letter
    ([], None),
])
def test_regimen_abbreviation_as_clinicians_write_it(con, substances, name):
    assert scalar(con, "regimen_name(?::varchar[])", [substances]) == name


def test_regimen_text_names_the_regimen_the_drugs_and_the_category(con):
    text = "regimen_given_da(?, ?::varchar[])"
    assert scalar(con, text, ["triplet_pi_imid", ["carfilzomib", "dexamethasone", "lenalidomide"]]) == \
        "KRd (carfilzomib, dexamethason, lenalidomid) – trestofs-regime (proteasomhæmmer + IMiD + dexamethason)"
    assert scalar(con, text, ["vcd", ["bortezomib", "cyclophosphamide", "dexamethasone"]]) == \
        "VCd (bortezomib, cyclophosphamid, dexamethason)"
    assert scalar(con, text, ["other", ["bortezomib", "dexamethasone", "doxorubicin"]]) == \
        "andet regime: bortezomib, dexamethason, doxorubicin"
