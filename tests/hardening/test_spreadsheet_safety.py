"""Spreadsheet and HTML safety (issue 8): no value from a delivery can execute when a published
file is opened — CSV/XLSX cells that a spreadsheet would evaluate are neutralised, HTML is
escaped.

Decision on the results contract (``patient_results.csv``, ``indicator_summary.csv``,
``quarantine.csv``): these are machine-readable contract files (indicators.md §3: comma,
UTF-8, ``record`` = the row as delivered) and stay verbatim — a leading apostrophe would
corrupt the value for every program that reads them and for the registry matching a record
to its line. They are not meant to be opened by double-click in a spreadsheet (THREAT_MODEL.md);
the Parquet twins carry the same data. Every file meant for people (Danish CSV, Excel, HTML,
the quality report) must be safe, and is checked here on the shared hostile run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.lib.formula_safety import neutralise, neutralise_frame
from pipelines.reports.files import write_danish_csv
from pipelines.reports.xlsx import Sheet, write_workbook
from tests.hardening.hardening_deck import (FORMULA, HYPERLINK, IMG, SCRIPT, csv_cells, dangerous, xlsx_cells)

CONTRACT_CSV = {"patient_results.csv", "indicator_summary.csv", "quarantine.csv"}
PAYLOADS = [SCRIPT, IMG, "<script>alert(2)"]  # as delivered, i.e. not escaped


@pytest.fixture(scope="module")
def out(hostile_run) -> Path:
    assert hostile_run.returncode == 0, hostile_run.stderr[-3000:]
    return hostile_run.out


def people_csvs(out: Path) -> list[Path]:
    """The reports' CSV files for people (the quality report has a test of its own)."""
    return [p for p in sorted(out.rglob("*.csv"))
            if (p.name not in CONTRACT_CSV or p.parent != out) and "quality" not in p.relative_to(out).parts]


def test_every_csv_for_people_is_formula_safe(out):
    checked = 0
    for path in people_csvs(out):
        head = path.read_bytes()[:400].decode("utf-8", "replace").lstrip("\ufeff")
        delimiter = ";" if head.count(";") >= head.count(",") else ","
        bad = [cell for cell in csv_cells(path, delimiter) if dangerous(cell)]
        assert bad == [], f"{path.relative_to(out)}: {bad[:5]}"
        checked += 1
    assert checked >= 10


def test_hostile_department_names_reach_the_lists_neutralised(out):
    """The hostile names are really there (so the check above means something), as text."""
    texts = "\n".join(cell for p in people_csvs(out) for cell in csv_cells(p, ";"))
    assert "'" + FORMULA in texts or "'" + FORMULA in "\n".join(
        t for p in out.rglob("*.xlsx") for t in xlsx_cells(p)[0])


def test_every_xlsx_has_no_formula_and_no_formula_like_text(out):
    books = sorted(out.rglob("*.xlsx"))
    assert len(books) >= 10
    for path in books:
        texts, formulas = xlsx_cells(path)
        assert formulas == 0, path
        assert [t for t in texts if dangerous(t)] == [], path


def test_no_html_output_carries_a_live_payload(out):
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 20
    for path in pages:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert [p for p in PAYLOADS if p in text] == [], path.relative_to(out)


def test_hostile_names_are_shown_escaped_in_the_dashboard(out):
    text = (out / "dashboard.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_quality_report_failing_rows_are_formula_safe(out):
    """Finding (pipelines/quality/runner.py, write_failing_rows_csv): the failing-row CSVs of
    the quality report (published in out/quality/) carry ``id`` = course_id / department_code
    as delivered, written by csv.writer without neutralising: a course_id ``=1+2`` is a live
    formula in quality/failing_rows/stg_drugs.csv."""
    files = sorted((out / "quality" / "failing_rows").glob("*.csv"))
    assert files, "the deck has a quality warning on a drug row; its failing rows must be listed"
    bad = {p.name: [c for c in csv_cells(p, ",") if dangerous(c)] for p in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_contract_files_keep_the_records_verbatim(out):
    """The decision above, pinned: quarantine.csv's record is the row as delivered (a
    formula-like first field included), so the registry can find and fix it."""
    rows = list(csv.DictReader(io.StringIO((out / "quarantine.csv").read_text(encoding="utf-8"))))
    records = {(r["file"], r["record"]) for r in rows}
    assert ("drugs.csv", f"{FORMULA};L01AA01;y;1;mg;1") in records
    assert ("drugs.csv", f"{HYPERLINK};L01AA01;x;1;mg;1") in records


# --- the writers themselves (cheap, property-based) ---------------------------------------------

formula_text = st.tuples(st.text(" ", max_size=3), st.sampled_from(["=", "+", "-", "@", "\t", "\r"]),
                         st.text(max_size=30)).map("".join)


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(st.one_of(formula_text, st.text(max_size=40)))
def test_neutralise_and_neutralise_frame_agree_and_leave_nothing_dangerous(value):
    import polars as pl

    single = neutralise(value)
    framed = neutralise_frame(pl.DataFrame({"v": [value]}, schema={"v": pl.String}))["v"][0]
    assert single == framed
    assert not dangerous(single)
    assert single in (value, "'" + value)


@settings(max_examples=25, derandomize=True, deadline=None, database=None)
@given(st.lists(st.one_of(formula_text, st.text(max_size=20)), min_size=1, max_size=5))
def test_written_csv_and_xlsx_cells_are_never_dangerous(tmp_path_factory, values):
    import polars as pl

    tmp = tmp_path_factory.mktemp("cells")
    write_danish_csv(pl.DataFrame({"a": values, "n": list(range(len(values)))}), tmp / "x.csv")
    assert [c for c in csv_cells(tmp / "x.csv", ";") if dangerous(c)] == []
    write_workbook(tmp / "x.xlsx", [Sheet("=Ark", ["=h"], pl.DataFrame({"v": values}, schema={"v": pl.String}),
                                          values)])
    texts, formulas = xlsx_cells(tmp / "x.xlsx")
    assert formulas == 0 and [t for t in texts if dangerous(t)] == []
