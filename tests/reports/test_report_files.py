"""Safe folder names, formula-injection neutralising, Danish CSV and Excel files."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.reports.files import (child_dir, neutralise, safe_names, sheet_name, values_text, write_danish_csv,
                                     write_xlsx)

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
    assert rows[1] == ["'=HYPERLINK(\"x\")", "1,5", "2026-04-07"]
    assert rows[2] == ["'-2 dage", "", "2026-04-07"]
    assert rows[3] == ["a;b", "2,25", "2026-04-07"]
    assert rows[4][0] == "Æblegrød"


def _xlsx_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name).decode("utf-8") for name in z.namelist() if name.endswith(".xml")}


def test_xlsx_sheets_have_frozen_header_autofilter_and_text_not_formulas(tmp_path):
    path = tmp_path / "x.xlsx"
    write_xlsx(path, [("MM01", ["Pseudonym", "Årsag", "Dosis"], [["P1", "=1+1", 200.0], ["P2", "@x", None]]),
                      ("a/b:c*?[]", ["x"], [])])
    parts = _xlsx_parts(path)
    workbook = parts["xl/workbook.xml"]
    assert 'name="MM01"' in workbook and 'name="a_b_c____"' in workbook
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert re.search(r'<pane[^>]*ySplit="1"[^>]*state="frozen"', sheet)
    assert '<autoFilter ref="A1:C3"' in sheet
    assert "<f>" not in sheet, "no formula cells"
    assert "<v>200</v>" in sheet, "numbers stay numbers"
    strings = parts["xl/sharedStrings.xml"]
    assert "<t>'=1+1</t>" in strings and "<t>'@x</t>" in strings
    empty = parts["xl/worksheets/sheet2.xml"]
    assert re.search(r'<pane[^>]*state="frozen"', empty)


def test_sheet_names_are_unique_and_short():
    taken: set[str] = set()
    assert sheet_name("x" * 40, taken) == "x" * 31
    assert sheet_name("x" * 40, taken) == "x" * 27 + " (2)"
    assert sheet_name("Oversigt", taken) == "Oversigt"


def test_values_text_reads_the_drill_down_json():
    assert values_text('{"crcl_ml_min": 24.5, "dose_mg_m2": 200, "tandem": true, "drugs": ["L01XG01", "L04AX04"]}') == (
        "crcl_ml_min = 24,5; dose_mg_m2 = 200; tandem = ja; drugs = L01XG01, L04AX04")
    assert values_text(None) == ""
    assert values_text("not json") == "values_json = not json"


def test_xlsx_bytes_do_not_depend_on_when_it_was_written(tmp_path):
    import time

    sheets = [("MM01", ["a"], [["x"], [1.5]])]
    write_xlsx(tmp_path / "1.xlsx", sheets)
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    write_xlsx(tmp_path / "2.xlsx", sheets)
    assert (tmp_path / "1.xlsx").read_bytes() == (tmp_path / "2.xlsx").read_bytes()
