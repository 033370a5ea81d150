"""Safe folder names, formula-injection neutralising, Danish CSV, sheet names (the Excel
workbooks themselves: ``test_report_xlsx.py``)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import polars as pl
import pytest

from pipelines.lib.formula_safety import neutralise
from pipelines.reports.files import child_dir, safe_names, sheet_name, write_danish_csv

HOSTILE_CODES = ["../../etc/passwd", "..", ".", "", None, "CON", "con", "nul.txt", "LPT1", "a/b", "a\\b", "A B",
                 "ab", "AB", "Ab", "æøå", "=cmd|' /C calc'!A0", "x" * 300, "1301011", "-rf", "\x00evil", "COM1.csv"]


def test_safe_names_are_distinct_safe_and_stay_inside(tmp_path):
    names = safe_names(HOSTILE_CODES)
    assert set(names) == set(HOSTILE_CODES)
    folders = list(names.values())
    assert len({f.lower() for f in folders}) == len(folders), "distinct even on case-insensitive file systems"
    reserved = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
    for folder in folders:
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,80}", folder), folder
        assert folder.split(".")[0].upper() not in reserved
        path = child_dir(tmp_path, folder)
        assert path.parent == tmp_path and path.is_dir()
    assert names["1301011"] == "1301011", "a plain code keeps its spelling"
    assert names["AB"] != names["ab"]
    assert safe_names(reversed(HOSTILE_CODES)) == names, "deterministic"


def test_child_dir_refuses_traversal(tmp_path):
    for bad in ("..", "../x", "a/b", "", ".hidden"):
        with pytest.raises(ValueError):
            child_dir(tmp_path, bad)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "  =1+1"])
def test_formula_like_text_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Rec 3 (A/B): 200 mg/m²", "P0123abcd", "", "a=b", "<5"])
def test_plain_text_is_left_alone(text):
    assert neutralise(text) == text
    assert neutralise(5) == 5


def test_danish_csv_has_bom_semicolons_decimal_comma_and_no_formulas(tmp_path):
    frame = pl.DataFrame({"tekst": ["=HYPERLINK(\"x\")", "-2 dage", "a;b", "Æblegrød"], "tal": [1.5, None, 2.25, 3.0],
                          "dato": [date(2026, 4, 7)] * 4})
    path = tmp_path / "x.csv"
    write_danish_csv(frame, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("utf-8")
    assert text.splitlines()[0] == "tekst;tal;dato"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1] == ["'=HYPERLINK(\"x\")", "1,5", "07-04-2026"]
    assert rows[2] == ["'-2 dage", "", "07-04-2026"]
    assert rows[3] == ["a;b", "2,25", "07-04-2026"]
    assert rows[4][0] == "Æblegrød"


def test_sheet_names_are_unique_and_short():
    taken: set[str] = set()
    assert sheet_name("x" * 40, taken) == "x" * 31
    assert sheet_name("x" * 40, taken) == "x" * 27 + " (2)"
    assert sheet_name("Oversigt", taken) == "Oversigt"
