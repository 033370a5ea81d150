"""The department lists' Excel writer (``pipelines/reports/xlsx.py``, column-wise) against its
oracle (``xlsx_oracle.write_xlsx``: xlsxwriter fed cell by cell), byte for byte, and what a
person sees in the workbook: a frozen bold header with an autofilter, text never a formula,
numbers as numbers, dates as dates shown dd-mm-åååå, notes below the table, the same bytes
whenever it is written."""

from __future__ import annotations

import random
import re
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.reports import xlsx
from tests.reports.xlsx_oracle import write_xlsx

HOSTILE = ['=HYPERLINK("x") <script>alert(1)</script>', "a & b 'c' \"d\"", "æøå ≥ 5 – ok", "", None, "  -2 dage",
           "<b>fed</b>", "tab\tand\nnewline", "_x0041_ literal", "ctl\x01char", "trailing ", "<r>rich</r>", " lead"]
NOTES = ["Auditperiode 01-11-2025 – 31-10-2026.", "=1+1 is not a formula", "x" * 90]


def _sheets(seed: int) -> list:
    rng = random.Random(seed)
    sheets = [("Oversigt", ["Indikator", "Titel", "Ikke opfyldt"], [["MM01", "Vurdering", 3], ["MM02", "=1+1", 0]], NOTES)]
    for name in ("MM01", "MM02", "a/b:c"):
        header = ["Pseudonym", "Status", "Indeksdato", "År", "værdi: x", "værdi: y"]
        rows = [[rng.choice(HOSTILE[:4] + HOSTILE[5:] + ["P1", "ok"]), rng.choice(["ikke opfyldt", None, "@x"]),
                 rng.choice([date(2026, 3, 1), None, datetime(2025, 1, 2)]), rng.choice([2026, None]),
                 rng.choice([1.5, 7, True, False, None, "tekst", -0.25, 10**12]), rng.choice(["", " x", "x "])]
                for _ in range(rng.randint(0, 40))]
        sheets.append((name, header, rows, NOTES if name == "MM02" else []))
    return sheets


def _assert_same_workbook(slow_path, fast_path):
    with zipfile.ZipFile(slow_path) as slow, zipfile.ZipFile(fast_path) as fast:
        assert slow.namelist() == fast.namelist()
        for name in slow.namelist():
            assert slow.read(name) == fast.read(name), name
    assert slow_path.read_bytes() == fast_path.read_bytes()


def _object_frame(header: list[str], rows: list[list]) -> pl.DataFrame | None:
    """Rows of mixed Python values as ``Object`` columns (the value-by-value path)."""
    if not rows:
        return None
    return pl.DataFrame([pl.Series(str(c), [r[c] for r in rows], dtype=pl.Object) for c in range(len(header))])


@pytest.mark.parametrize("seed", range(4))
def test_column_wise_xlsx_of_mixed_values_is_write_xlsx_byte_for_byte(tmp_path, seed):
    sheets = _sheets(seed)
    write_xlsx(tmp_path / "slow.xlsx", sheets)
    xlsx.write_xlsx_frames(tmp_path / "fast.xlsx", [(n, h, _object_frame(h, rows), notes) for n, h, rows, notes in sheets])
    _assert_same_workbook(tmp_path / "slow.xlsx", tmp_path / "fast.xlsx")


def _typed_frame(seed: int, n: int) -> pl.DataFrame:
    rng = random.Random(seed)
    texts = HOSTILE + ["x" * 40, "y" * 70, "'quoted", "  =sum", "æ" * 9, "_x0000_", "a\r\nb", "\u00a0nbsp", "😀 emoji"]
    return pl.DataFrame({
        "text": [rng.choice(texts) for _ in range(n)],
        "flag": [rng.choice([True, False, None]) for _ in range(n)],
        "whole": [rng.choice([0, 7, -3, 2026, None, 10**17, -(10**15)]) for _ in range(n)],
        "real": [rng.choice([0.0, -0.0, 1.5, 1e-05, 1234567.0, 0.1 + 0.2, -0.25, 1e16, None, 3.0]) for _ in range(n)],
        "day": [rng.choice([date(2026, 3, 1), date(1999, 12, 31), None]) for _ in range(n)],
        "moment": [rng.choice([datetime(2025, 1, 2, 13, 45), None]) for _ in range(n)],
        "nothing": [None] * n,
        "small": pl.Series([rng.choice([1, 2, None]) for _ in range(n)], dtype=pl.Int8),
        "single": pl.Series([rng.choice([0.5, -0.0, None]) for _ in range(n)], dtype=pl.Float32),
    })


@pytest.mark.parametrize("seed", range(3))
def test_column_wise_xlsx_of_typed_columns_is_write_xlsx_byte_for_byte(tmp_path, seed):
    """Every polars type the lists use, written column-wise, equals the values written one by one."""
    frames = [_typed_frame(seed, 60), _typed_frame(seed + 10, 1), _typed_frame(seed + 20, 45).head(0)]
    header = ["Tekst", "=Flag", "Hel", "Reel", "Dag", "Tidspunkt", "Intet", "Lille", "Enkelt"]
    sheets = [("Oversigt", ["Indikator", "Antal"], pl.DataFrame({"a": ["MM01", "MM02"], "b": [3, 0]}), NOTES),
                    *((f"MM0{k}", header, frame, []) for k, frame in enumerate(frames)), ("tom", header, None, NOTES),
              # row spans are per block of 16 rows: a band of short rows, then long ones
              ("spænd", ["a", "b", "c"], pl.DataFrame({"a": [None] * 3 + ["x"] * 40, "b": [1] * 43,
                                                         "c": [None] * 20 + [2.5] * 23}), [])]
    write_xlsx(tmp_path / "slow.xlsx", [(n, h, f.rows() if f is not None else [], notes) for n, h, f, notes in sheets])
    xlsx.write_xlsx_frames(tmp_path / "fast.xlsx", sheets)
    _assert_same_workbook(tmp_path / "slow.xlsx", tmp_path / "fast.xlsx")


def test_column_wise_xlsx_refuses_what_write_xlsx_refuses(tmp_path):
    with pytest.raises(TypeError, match="NAN/INF"):
        write_xlsx(tmp_path / "slow.xlsx", [("a", ["x"], [[float("nan")]])])
    with pytest.raises(TypeError, match="NAN/INF"):
        xlsx.write_xlsx_frames(tmp_path / "fast.xlsx", [("a", ["x"], pl.DataFrame({"x": [1.0, float("inf")]}))])




def _parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name).decode("utf-8") for name in z.namelist() if name.endswith(".xml")}


def test_a_workbook_has_frozen_headers_filters_typed_cells_and_notes(tmp_path):
    path = tmp_path / "x.xlsx"
    xlsx.write_workbook(path, [
        xlsx.Sheet("Oversigt", ["Indikator", "Ikke opfyldt"], pl.DataFrame({"a": ["MM01"], "b": [3]}), NOTES),
        xlsx.Sheet("MM01", ["Pseudonym", "Årsag", "Dosis", "Indeksdato"],
                   pl.DataFrame({"p": ["P1", "P2"], "r": ["=1+1", "@x"], "d": [200.0, None],
                                 "i": [date(2026, 3, 1), None]})),
        xlsx.Sheet("a/b:c*?[]", ["x"])])
    parts = _parts(path)
    workbook = parts["xl/workbook.xml"]
    assert 'name="Oversigt"' in workbook and 'name="MM01"' in workbook and 'name="a_b_c____"' in workbook
    sheet = parts["xl/worksheets/sheet2.xml"]
    assert re.search(r'<pane[^>]*ySplit="1"[^>]*state="frozen"', sheet)
    assert '<autoFilter ref="A1:D3"' in sheet
    assert "<f>" not in sheet, "no formula cells"
    assert "<v>200</v>" in sheet, "numbers stay numbers"
    assert "<v>46082</v>" in sheet, "dates are dates (Excel serial of 01-03-2026)"
    assert 'formatCode="dd\\-mm\\-yyyy"' in parts["xl/styles.xml"] or 'formatCode="dd-mm-yyyy"' in parts["xl/styles.xml"]
    strings = parts["xl/sharedStrings.xml"]
    assert "<t>'=1+1</t>" in strings and "<t>'@x</t>" in strings
    assert "<t>'=1+1 is not a formula</t>" in strings and "Auditperiode 01-11-2025" in strings
    overview = parts["xl/worksheets/sheet1.xml"]
    assert '<autoFilter ref="A1:B2"' in overview, "the filter covers the table, not the notes"
    assert 'r="A4"' in overview and 'r="A6"' in overview, "notes after a blank row"
    assert re.search(r'<pane[^>]*state="frozen"', parts["xl/worksheets/sheet3.xml"])


def test_a_workbook_does_not_depend_on_when_it_was_written(tmp_path):
    sheets = [xlsx.Sheet("MM01", ["a"], pl.DataFrame({"a": ["x", "y"]}), ["note"])]
    xlsx.write_workbook(tmp_path / "1.xlsx", sheets)
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    xlsx.write_workbook(tmp_path / "2.xlsx", sheets)
    assert (tmp_path / "1.xlsx").read_bytes() == (tmp_path / "2.xlsx").read_bytes()
