"""The one CPR detector: what counts as a CPR number wherever text leaves ingest.

A *CPR-shaped token* is ten digits whose first six are a real date ``DDMMYY`` (in 19YY or
20YY), found

- in any run of digits, however long and whatever touches it (``pt0102031237``,
  ``0102031238x``, ``130647310004-06-2017``): every ten-digit window of the run is checked;
- written with separators after the day, the month and the year (one to three at each
  place: ``010203 - 1234``, ``0102 03 1234``, ``01.02.03-1234``, ``010203:1234``): any
  character that is not a letter or a digit (spaces of every kind, dashes, dots, slashes,
  colons, quotes and control characters, a CSV line quoting half of it), but the field
  separator ``;`` and line ends, which part two values;
- with the year written in full (``01.02.1903-1234``, ``01021903 1234``): the ten digits are
  the day, the month, the year's last two digits and the serial number;
- in any script's digits (full-width, Arabic-Indic, Devanagari …: Unicode category Nd) and
  the digits written as superscripts, subscripts or in circles (``¹²⁰³⁶¹``, ``①``);
- with invisible characters (format characters such as zero-width spaces and soft hyphens,
  combining marks) between the characters, which are ignored.

Over-scrubbing a number that is not a CPR is accepted; leaving one clear is not. The modulus-11
check is deliberately not applied (the spec: it does not hold for all numbers since 2007).

Two uses: :func:`scrub` for one text (messages, names, log lines; by default the token becomes
the neutral placeholder ``<cpr>``) and :func:`scrub_series` for a whole polars column (a regular
expression over the column finds the few candidate values in Rust; Python looks only at those).
Both take ``replace``: a function from the ten normalised digits to the replacement text (the
pseudonym, in data, so joins still work). In data, ten plain digits among more than ten
decimals of a number are the number's (``1,01809954751131``), not a CPR.

This is a leaf module: no imports from the project.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

import polars as pl

PLACEHOLDER = "<cpr>"

# What may stand between the date part and the serial number: any character that is not a
# letter or a digit (spaces, dashes, dots, slashes, colons, quotes, control characters …),
# where a person, a program or a file's escaping put it — except the delivery's field
# separator and line ends: a date field followed by a four-digit field ('10-11-2019;1780', a
# height) is two values, not a CPR.
MAX_SEPARATORS = 3

_SEP_CLASS = r"(?:[^\w;\r\n]|_)"
# On normalised text (ASCII digits, invisible characters removed): runs of ten or more digits
# (every 10-digit window of a run is looked at), and the written form: day, month and year
# (two digits, or four from 19xx or 20xx) and the four-digit serial, 0-3 separators between
# them. A lookahead only, so a match may start at every position (overlapping forms).
_SEPS = f"{_SEP_CLASS}{{0,{MAX_SEPARATORS}}}"
_RUN = re.compile(r"[0-9]{10,}")
_WRITTEN = re.compile(rf"(?=(?P<day>[0-9]{{2}}){_SEPS}(?P<month>[0-9]{{2}}){_SEPS}(?:19|20)?(?P<year>[0-9]{{2}})"
                      rf"{_SEPS}(?P<serial>[0-9]{{4}}))")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# The polars (Rust regex) pre-filter on raw text: a superset of what the two patterns find.
# A digit is any script's (Nd, as Python's) or one written otherwise (No: ¹ ₂ ③, and a few
# that are no digit, which only widens the net); _INVISIBLE may sit between any two characters.
_DIGIT = r"[\d\p{No}]"
_INVISIBLE = r"[\p{Cf}\p{Mn}\p{Me}]*"
_PAIR = rf"{_DIGIT}{_INVISIBLE}{_DIGIT}{_INVISIBLE}"
# Rust's \w holds connectors and marks: separators there; the class difference as in _SEP_CLASS
_SEPS_INVISIBLE = rf"(?:[[\W\p{{Pc}}\p{{M}}]--[;\r\n]]{_INVISIBLE}){{0,{MAX_SEPARATORS}}}"
CANDIDATE = (rf"{_PAIR}{_SEPS_INVISIBLE}{_PAIR}{_SEPS_INVISIBLE}(?:{_PAIR})?{_PAIR}{_SEPS_INVISIBLE}"
             rf"{_DIGIT}(?:{_INVISIBLE}{_DIGIT}){{3}}")
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me"}


def _real_ddmmyy() -> frozenset[str]:
    """Every DDMMYY that is a date in 19YY or 20YY: 29 February where YY is divisible by 4
    (2000 was a leap year; 1900 was not, but 2000 gives it to YY = 00)."""
    days = [f"{day:02d}{month:02d}" for month in range(1, 13)
            for day in range(1, calendar.monthrange(2000, month)[1] + 1)]  # 2000: a leap year
    return frozenset(ddmm + f"{yy:02d}" for yy in range(100) for ddmm in days if ddmm != "2902" or yy % 4 == 0)


REAL_DDMMYY = _real_ddmmyy()


@dataclass(frozen=True)
class Found:
    start: int    # span in the original text (separators and invisible characters included)
    end: int
    digits: str   # the ten digits, ASCII, without separator: what the pseudonym is taken of


def _digit(char: str) -> int | None:
    """The digit a character writes: any script's digits, superscripts, subscripts, circled."""
    return unicodedata.digit(char, None)


def _matters(char: str) -> bool:
    return _digit(char) is not None or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """ASCII digits for every script's digits, invisible characters dropped; with the index
    of each kept character in ``text`` (None when nothing changed: the common case, decided
    by looking at the non-ASCII characters only)."""
    if text.isascii() or not any(_matters(c) for run in _NON_ASCII_RUN.findall(text) for c in run):
        return text, None
    out, index = [], []
    for i, char in enumerate(text):
        if not char.isascii():
            if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
                continue
            if (digit := _digit(char)) is not None:
                char = str(digit)
        out.append(char)
        index.append(i)
    index.append(len(text))
    return "".join(out), index


def _inside_digits(normal: str, match: re.Match) -> bool:
    """A written form with separators inside its date part that touches more digits: a
    date's tail and the next number (``2025-12-01 12345``, ``9 01-02-2003``), not a CPR. A
    date part written without separators keeps matching wherever it sits (``x12010203-1234``)."""
    if match.end("year") - match.start() == len(match.group("day") + match.group("month") + match.group("year")):
        return False
    start, end = match.start(), match.end("serial")
    return (start > 0 and normal[start - 1].isdigit()) or (end < len(normal) and normal[end].isdigit())


def find(text: str, *, dated: bool = True) -> list[Found]:
    """Every CPR-shaped token of ``text``, overlapping ones merged (the merged span keeps the
    digits of its first token). ``dated=False`` drops the date test: every ten-digit window
    (for scanning outputs for known numbers)."""
    if not text:
        return []
    normal, index = _normalise(text)
    spans: list[tuple[int, int, str]] = []
    for match in _RUN.finditer(normal):
        run, base = match.group(), match.start()
        for i in range(len(run) - 9):
            digits = run[i:i + 10]
            if not dated or digits[:6] in REAL_DDMMYY:
                spans.append((base + i, base + i + 10, digits))
    for match in _WRITTEN.finditer(normal):
        head = match.group("day") + match.group("month") + match.group("year")
        if (not dated or head in REAL_DDMMYY) and not _inside_digits(normal, match):
            spans.append((match.start(), match.end("serial"), head + match.group("serial")))
    if not spans:
        return []
    spans.sort()
    merged: list[list] = [list(spans[0])]
    for start, end, digits in spans[1:]:
        if start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, digits])
    if index is None:
        return [Found(s, e, d) for s, e, d in merged]
    return [Found(index[s], index[e - 1] + 1, d) for s, e, d in merged]


def contains(text: str) -> bool:
    return bool(find(text))


def _in_a_number(text: str, token: Found) -> bool:
    """The token touches more digits, or follows a decimal point or comma after a digit
    (``0.0102031234``): part of a number in a file a program reads (JSON, CSV)."""
    before = text[token.start - 1] if token.start else ""
    after = text[token.end] if token.end < len(text) else ""
    if before.isdecimal() or after.isdecimal():
        return True
    return before in ".," and token.start >= 2 and text[token.start - 2].isdecimal()


def _in_decimals(text: str, token: Found) -> bool:
    """Ten plain digits among more than ten decimals of a number: ``1,01809954751131`` (90
    µmol/L in mg/dL as R writes it, 15 significant digits) is a creatinine, not a CPR. Ten
    decimals exactly (``0,1203614417``), a token with a separator in it (``1.120361-4417``) or
    before any decimal separator are still taken for a CPR."""
    if not text[token.start:token.end].isdecimal():
        return False
    start, end = token.start, token.end
    while start > 0 and text[start - 1].isdecimal():
        start -= 1
    while end < len(text) and text[end].isdecimal():
        end += 1
    return end - start > 10 and start >= 2 and text[start - 1] in ".," and text[start - 2].isdecimal()


def _zeros(text: str) -> str:
    return "".join("0" if c.isdecimal() else c for c in text)


def scrub(text: str, replace: str | Callable[[str], str] = PLACEHOLDER) -> str:
    """``text`` with every CPR-shaped token replaced: by ``replace(digits)`` (the pseudonym,
    in data), or by the text ``replace`` (the placeholder, in messages) — except inside a
    number, whose digits become zeros so the number stays a number (a JSON or CSV file
    stays readable)."""
    if not isinstance(text, str):
        text = str(text)
    found = find(text)
    if found and callable(replace):  # in data, the decimals of a number are the number's
        found = [token for token in found if not _in_decimals(text, token)]
    if not found:
        return text
    parts, last = [], 0
    for token in found:
        parts.append(text[last:token.start])
        if callable(replace):
            parts.append(replace(token.digits))
        elif _in_a_number(text, token):
            parts.append(_zeros(text[token.start:token.end]))
        else:
            parts.append(replace)
        last = token.end
    parts.append(text[last:])
    return "".join(parts)


def candidates(series: pl.Series) -> pl.Series:
    """Boolean mask of the values that may hold a CPR-shaped token: one pass of a regular
    expression over the column, in Rust (measured: as fast as the plain ASCII pattern)."""
    return series.cast(pl.String).str.contains(CANDIDATE).fill_null(False)


def columns_with_candidates(frame: pl.DataFrame, columns: list[str]) -> list[str]:
    """The text columns of ``frame`` in which some value may hold a CPR-shaped token
    (``candidates``): one plan for all columns, so the columns are searched side by side."""
    text = [c for c in columns if frame.schema[c] == pl.String]
    if not text or frame.height == 0:
        return []
    found = frame.lazy().select(pl.col(c).str.contains(CANDIDATE).any() for c in text).collect().row(0)
    return [c for c, hit in zip(text, found) if hit]


def scrub_series(series: pl.Series, replace: str | Callable[[str], str] = PLACEHOLDER) -> pl.Series:
    """``scrub`` applied to a text column: Python runs only on the candidate values. Returns
    ``series`` itself (the same object) when nothing had to change."""
    if series.dtype != pl.String or series.len() == 0:
        return series
    mask = candidates(series)
    if not mask.any():
        return series
    where = mask.arg_true()
    values = [scrub(v, replace) for v in series.gather(where).to_list()]
    return series.clone().scatter(where, pl.Series(values, dtype=pl.String))
