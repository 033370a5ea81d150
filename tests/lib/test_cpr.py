"""The one CPR detector (pipelines/lib/cpr.py): every shape of issue 13, nothing that is a date,
a decimal or a course id, and the vectorised form equal to the one-value form."""

import random
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.lib import cpr

FULLWIDTH = "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19"
ARABIC_INDIC = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"


def script(digits: str, zero: str) -> str:
    return "".join(zero[int(d)] for d in digits)


# (text, the ten digits found) — every shape issue 13 names, and variants
SHAPES = [
    ("130647310004-06-2017;gain1q;pos;", "1306473100"),  # separator missing: the CPR touches the date
    ("pt0102031237", "0102031237"),
    ("0102031238x", "0102031238"),
    ("CPR0102031262", "0102031262"),
    ("010203 1236", "0102031236"),
    ("010203\u20131241", "0102031241"),      # en dash
    ("010203\u20141243", "0102031243"),      # em dash
    ("010203\u20111242", "0102031242"),      # non-breaking hyphen
    ("010203/1244", "0102031244"),
    ("010203.1245", "0102031245"),
    ("010203\u00a01246", "0102031246"),      # no-break space
    ("010203 - 1247", "0102031247"),
    ("column 'pt0102031290' appears twice", "0102031290"),
    ("DMDB-0102031249", "0102031249"),
    ("x12010203-1234y", "0102031234"),      # the date part inside a longer run
    (script("0102031250", FULLWIDTH), "0102031250"),
    (script("0102031251", ARABIC_INDIC), "0102031251"),
    ("0102\u200b031252", "0102031252"),      # a zero-width space inside
    ("01020\u00ad31253", "0102031253"),      # a soft hyphen inside
    ("2902001234", "2902001234"),            # 29 Feb: real in 2000 only
    # separators after the day and the month too, and the year in full
    ("0102 03 1234", "0102031234"),
    ("01.02.03-1234", "0102031234"),
    ("01 02 03 1234", "0102031234"),
    ("cpr: 01/02/03 - 1234.", "0102031234"),
    ("01.02.1903-1234", "0102031234"),
    ("01021903 1234", "0102031234"),
    ("31-12-2099\u20131234", "3112991234"),
    ("01\u200b.02.03-1234", "0102031234"),   # a zero-width space beside a separator
    (script("01", ARABIC_INDIC) + " " + script("02", ARABIC_INDIC) + " " + script("031234", ARABIC_INDIC), "0102031234"),
    # any character that is not a letter or a digit separates (found by a privacy review)
    ("010203:1234", "0102031234"), ("010203+1234", "0102031234"), ("0102 03|1234", "0102031234"),
    ("010203\x851234", "0102031234"), ("010203\x001234", "0102031234"),
    ("010203\u28001234", "0102031234"), ("010203\u20261234", "0102031234"), ("010203\u203f1234", "0102031234"),
    ("Rigshospitalet 010203'1234", "0102031234"),
    # digits written as superscripts, subscripts or in circles
    ("\u2070\u00b9\u2070\u00b2\u2070\u00b3\u207b\u00b9\u00b2\u00b3\u2074", "0102031234"),
    ("\u2080\u2081\u2080\u2082\u2080\u2083-\u2081\u2082\u2083\u2084", "0102031234"),
]
NOT_CPR = [
    "01-02-2003", "2003-02-01", "07-04-2026T00:00", "1,5E-06", "0,00001", "3,1", "K1000001", "1301290",
    "12345678901", "3102611234", "0000000000", "2902011234",  # 29 Feb 1901/2001 does not exist
    "1-2-3-4-5-6-7-8-9-10-11-12-13-14", "1,4,8,11", "01.02.03", "SYNTH-2026-2026-11-01",
    "01,02,03,04,05,06,07,08,09,10", "01-02-2003 10:30", "01.02.2003, 12:00", "31-04-03-1234",  # no 31 April
    "01.13.03 1234", "01 02 03 123", "01  02    03 1234",  # month 13; a short serial; four separators
    "P0123456789abcdef;10-11-2019;1780;80", "10-11-2019\n1780",   # a date field, then a four-digit field
]


@pytest.mark.parametrize("text,digits", SHAPES)
def test_every_shape_of_the_issue_is_found_and_replaced(text, digits):
    found = cpr.find(text)
    assert [f.digits for f in found] == [digits]
    replaced = cpr.scrub(text, lambda d: "P" + d[::-1])
    assert "P" + digits[::-1] in replaced
    assert cpr.find(replaced.replace("P" + digits[::-1], "")) == []
    assert not cpr.contains(cpr.scrub(text))


@pytest.mark.parametrize("text", NOT_CPR)
def test_dates_decimals_and_codes_are_left_alone(text):
    assert cpr.scrub(text) == text
    assert cpr.scrub(text, lambda d: "P") == text


def test_in_a_message_a_number_stays_a_number():
    """The placeholder replaces a free-standing token; inside a number the digits become
    zeros, so a JSON or CSV file that is scrubbed stays readable."""
    assert cpr.scrub('{"v": 0.0102031234, "n": 3}') == '{"v": 0.0000000000, "n": 3}'
    assert cpr.scrub("a 0102031234 b") == "a <cpr> b"
    assert cpr.scrub("expands to 1,073,741,824 bytes") == "expands to 1,073,741,824 bytes"


def test_every_window_of_a_long_run_is_looked_at():
    run = "99" + "0102031234" + "55" + "3112991234"
    assert cpr.find(run) and cpr.scrub(run, lambda d: "<" + d + ">").count("<") == 1  # overlapping: one span
    assert cpr.scrub("ab" + run + "cd") == "ab99" + "0" * 22 + "cd"  # inside a number: zeros, from the first window on
    assert not cpr.contains(cpr.scrub("ab " + run + " cd"))


def test_find_without_the_date_test_sees_every_window():
    assert [f.digits for f in cpr.find("x3102611234y", dated=False)] == ["3102611234"]


def test_real_dates_cover_both_centuries():
    assert "290200" in cpr.REAL_DDMMYY and "290201" not in cpr.REAL_DDMMYY
    assert "311299" in cpr.REAL_DDMMYY and "310499" not in cpr.REAL_DDMMYY and "000000" not in cpr.REAL_DDMMYY
    every_day = (date(1900, 1, 1) + timedelta(days=k) for k in range((date(2100, 1, 1) - date(1900, 1, 1)).days))
    assert cpr.REAL_DDMMYY == {day.strftime("%d%m%y") for day in every_day}


alphabet = st.sampled_from(list("0123456789") * 6 + list("ab -–‑/.;,_\u00a0\u200b:\n\x85\u2800\u203f\u0903")
                           + [FULLWIDTH[3], ARABIC_INDIC[7], "é", "\u00b9", "\u2460"])


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(st.lists(st.text(alphabet, max_size=40), max_size=20))
def test_the_vectorised_form_equals_the_one_value_form(values):
    series = pl.Series(values, dtype=pl.String)
    replace = lambda d: "P" + d  # noqa: E731
    assert cpr.scrub_series(series, replace).to_list() == [cpr.scrub(v, replace) for v in values]
    # the pre-filter never misses a value the one-value form changes
    mask = cpr.candidates(series).to_list()
    assert all(m for v, m in zip(values, mask) if cpr.find(v))
    # and the columns searched side by side are those with a candidate
    frame = pl.DataFrame({"a": series, "b": series.reverse(), "empty": [None] * len(values), "n": range(len(values))},
                         schema={"a": pl.String, "b": pl.String, "empty": pl.String, "n": pl.Int64})
    assert cpr.columns_with_candidates(frame, ["a", "b", "empty", "n"]) == (["a", "b"] if any(mask) else [])


def test_nothing_to_replace_returns_the_same_series_and_nulls_stay_null():
    series = pl.Series(["01-02-2003", None, "K1"], dtype=pl.String)
    assert cpr.scrub_series(series, "x") is series
    mixed = pl.Series(["0102031234", None], dtype=pl.String)
    assert cpr.scrub_series(mixed, lambda d: "P").to_list() == ["P", None]


def test_scrubbing_a_column_runs_python_only_on_candidates(monkeypatch):
    """100,000 dates and one CPR: the one-value form sees the CPR's value alone."""
    rng = random.Random(1)
    values = [f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(1990, 2026)}" for _ in range(100_000)]
    series = pl.Series(values + ["ring 0102031234"], dtype=pl.String)
    seen = []
    one_value = cpr.scrub
    monkeypatch.setattr(cpr, "scrub", lambda text, replace: seen.append(text) or one_value(text, replace))
    assert cpr.scrub_series(series, "x").to_list() == values + ["ring x"]
    assert seen == ["ring 0102031234"]
    assert cpr.columns_with_candidates(series[:-1].to_frame("dates"), ["dates"]) == []


def test_in_data_the_decimals_of_a_number_are_the_numbers():
    """R writes a double with 15 significant digits: 90 µmol/L creatinine in mg/dL is
    1,01809954751131, whose decimals hold 1809954751 (18-09-95). Replaced by a pseudonym the
    value no longer parsed and the patient's MM04 went from met to unknown (a privacy review).
    Ten decimals exactly, a CPR written with a separator, or before any decimal separator, are
    still replaced."""
    pseudonym = lambda d: "P" + d  # noqa: E731
    assert cpr.scrub("1,01809954751131", pseudonym) == "1,01809954751131"
    assert cpr.scrub("0.1203614417", pseudonym) == "0.P1203614417"            # ten decimals exactly: a CPR
    assert cpr.scrub("1.120361-4417", pseudonym) == "1.P1203614417"
    assert cpr.scrub("12036144171", pseudonym) == "P12036144171"
    assert cpr.scrub("3,5 1203614417", pseudonym) == "3,5 P1203614417"
    assert cpr.scrub("1,01809954751131") == "1,00000000000131"     # a message: the digits are zeroed
