"""The vectorised CPR check used at ingest agrees with the one-value rule everywhere,
including leap days that exist in one century only and digits of other scripts."""

import random

import polars as pl

from pipelines.ingest.raw_reader import cpr_status, cpr_statuses

EDGE_CASES = [
    "", " ", "1203614417", "120361-4417", " 1203614417 ", "2902004417", "2902014417", "3102614417", "0000000000",
    "12036144", "12036144170", "120361--4417", "12036a4417", "1203614417\n", "-1203614417", "291299-1234",
    "310499-0000", "0101001234", "3112991234", "1213614417",
    "\uff11\uff12\uff10\uff13\uff16\uff11\uff14\uff14\uff11\uff17",  # full-width digits
    "NA", "na", " . ", "uoplyst", "Uoplyst", "N/A",                 # the format's spellings of missing (not N/A)
]


def test_vectorised_check_matches_the_rule_value_by_value():
    rng = random.Random(7)
    cases = list(EDGE_CASES)
    for _ in range(5000):
        digits = "".join(rng.choice("0123456789") for _ in range(10))
        cases += [digits, f"{digits[:6]}-{digits[6:]}"]
    got = cpr_statuses(pl.Series(cases, dtype=pl.String))
    expected = [cpr_status(c) for c in cases]
    assert list(zip(got["normalised"], got["status"])) == expected
    statuses = {status for _, status in expected}
    assert statuses == {"valid", "invalid", "missing"}  # every branch exercised


def test_leap_day_valid_in_one_century_only():
    got = cpr_statuses(pl.Series(["2902004417", "2902014417", "290200-4417"]))
    assert got["status"].to_list() == ["valid", "invalid", "valid"]
    assert got["normalised"].to_list()[2] == "2902004417"


def test_the_formats_missing_spellings_are_a_missing_cpr():
    """extract-format.md: "the literal values NA, . (SAS export) and uoplyst also mean missing";
    a cpr so written is MISSING_REQUIRED, not INVALID_CPR (found by a review of the format)."""
    assert [cpr_status(v)[1] for v in ("NA", " . ", "uoplyst", "UOPLYST", "N/A")] == \
        ["missing", "missing", "missing", "missing", "invalid"]
