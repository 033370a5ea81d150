"""Benchmark: the Excel writers of the department lists, on the same sheets (issue 14).

Takes the ``audit.duckdb`` of a finished run (e.g. ``myeloma-audit run`` on a 100k
synthetic delivery), makes every department's ``afvigelser.xlsx`` sheets from *all*
deviation rows of every year (a heavier workload than one audit period), and writes them
with each writer, one department after the other, timing the whole:

* ``column-wise`` — ``pipelines.reports.xlsx.write_workbook``, the writer in use: every cell's
  XML made with polars expressions, xlsxwriter writing the rest;
* ``constant_memory`` — xlsxwriter cell by cell in its ``constant_memory`` mode (below);
* ``polars`` — polars ``DataFrame.write_excel`` into one xlsxwriter workbook per department;
* ``baseline`` — the column-wise writer of ``--baseline-rev`` (before issue 15), read from
  git into a scratch module.

Prints per writer the best of ``--repeat`` wall-clock times and the total size written.

    python benchmarks/xlsx_writers.py --db /tmp/bench100k_out/audit.duckdb --repeat 3
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.reports import deviations, tables, xlsx
from pipelines.reports.data import load
from pipelines.reports.files import FIXED_CREATED, neutralise, neutralise_frame, sheet_name

REPO = Path(__file__).resolve().parents[1]


def sheets_per_department(db: Path) -> list[list[xlsx.Sheet]]:
    scratch = Path(tempfile.mkdtemp(prefix="xlsx-bench-")) / "audit.duckdb"
    shutil.copy(db, scratch)
    with duckdb.connect(str(scratch)) as con:
        data = load(con, patients="all")
    data.period = None  # every year: the heaviest lists
    rows = tables.listing(deviations.sort_deviations(deviations.compare(data, None)))
    counts = deviations.all_department_counts(rows)
    notes = ["Auditperiode: alle år.", "Ingen sammenligning."]
    out = []
    for (code,), frame in rows.partition_by("department_code", as_dict=True, maintain_order=True).items():
        out.append(deviations.xlsx_sheets(frame, counts[code], False, False, notes))
    return out


def baseline_writer(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:pipelines/reports/xlsx.py"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="xlsx-baseline-")) / "baseline_xlsx.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_xlsx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def write(target: Path, sheets: list[xlsx.Sheet]) -> None:
        module.write_xlsx_frames(target, [(s.name, list(s.header), s.frame) for s in sheets])
    return write


def polars_writer(target: Path, sheets: list[xlsx.Sheet]) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False,
                                                 "strings_to_numbers": False})
    try:
        for sheet in sheets:
            frame = sheet.frame if sheet.frame is not None else pl.DataFrame(
                {h: [] for h in sheet.header}, schema={h: pl.String for h in sheet.header})
            frame = frame.rename(dict(zip(frame.columns, [str(h) for h in sheet.header])))
            frame.write_excel(workbook=workbook, worksheet=sheet.name[:31], autofilter=True, freeze_panes=(1, 0),
                              dtype_formats={pl.Date: "dd-mm-yyyy"}, table_style=None, autofit=False)
    finally:
        workbook.close()


MAX_WIDTH = 60
ROWMAX = 1_048_576


def _widths(header: Sequence[str], frame: pl.DataFrame | None, notes_width: int = 0) -> list[int]:
    widths = [max(len(str(h)), 8) for h in header]
    if frame is not None and frame.height:
        longest = frame.select(
            (pl.col(c).str.len_chars().max() if dtype == pl.String else pl.lit(10 if dtype in (pl.Date, pl.Datetime)
                                                                           else 8)).alias(c)
            for c, dtype in frame.schema.items()).row(0)
        widths = [max(w, int(n or 0)) for w, n in zip(widths, list(longest) + [0] * len(widths))]
    return [min(w, MAX_WIDTH) + 2 for w in widths]


def constant_memory_writer(path: Path, sheets) -> None:
    """xlsxwriter cell by cell in ``constant_memory`` mode (rows streamed to the file)."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_urls": False, "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True,
                                    "valign": "top"})
        day = workbook.add_format({"num_format": "dd-mm-yyyy"})
        taken: set[str] = set()
        for sheet in sheets:
            _write_sheet(workbook.add_worksheet(sheet_name(sheet.name, taken)), sheet, bold, day)
    finally:
        workbook.close()


def _write_sheet(ws, sheet: Sheet, bold, day) -> None:
    frame = sheet.frame
    if frame is not None:
        if frame.width > len(sheet.header):
            raise ValueError(f"sheet {sheet.name} has {frame.width} columns but a header of {len(sheet.header)}")
        frame = neutralise_frame(frame.head(ROWMAX - 2 - len(sheet.notes)))
    for col, width in enumerate(_widths(sheet.header, frame)):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)
    rows = 0 if frame is None else frame.height
    ws.autofilter(0, 0, max(rows, 1), max(len(sheet.header) - 1, 0))
    for col, title in enumerate(sheet.header):
        ws.write_string(0, col, str(neutralise(str(title))), bold)
    if frame is not None and rows:
        writers = [_writer(ws, dtype, day) for dtype in frame.schema.values()]
        for r, values in enumerate(frame.iter_rows(), start=1):
            for c, value in enumerate(values):
                if value is not None:
                    writers[c](r, c, value)
    for k, note in enumerate(sheet.notes):
        ws.write_string(rows + 2 + k, 0, str(neutralise(note)))


def _writer(ws, dtype: pl.DataType, day):
    if dtype == pl.String:
        return ws.write_string
    if dtype == pl.Boolean:
        return lambda r, c, v: ws.write_string(r, c, "ja" if v else "nej")
    if dtype.is_numeric():
        return ws.write_number
    if dtype == pl.Date:
        return lambda r, c, v: ws.write_datetime(r, c, datetime(v.year, v.month, v.day), day)
    if dtype == pl.Datetime:
        return lambda r, c, v: ws.write_datetime(r, c, datetime(v.year, v.month, v.day), day)
    return lambda r, c, v: _write_python(ws, r, c, v, day)


def _write_python(ws, r: int, c: int, value: object, day) -> None:
    """A value of an ``Object`` column, by its Python type."""
    if isinstance(value, bool):
        ws.write_string(r, c, "ja" if value else "nej")
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value)
    elif isinstance(value, (date, datetime)):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
    else:
        ws.write_string(r, c, str(neutralise(str(value))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rev", default="e0a2e66")
    args = parser.parse_args()
    started = time.perf_counter()
    departments = sheets_per_department(args.db)
    rows = sum(s.frame.height for d in departments for s in d[1:] if s.frame is not None)
    cells = sum(s.frame.height * s.frame.width for d in departments for s in d[1:] if s.frame is not None)
    print(f"{len(departments)} workbooks, {rows:,} deviation rows, {cells:,} cells "
          f"(sheets made in {time.perf_counter() - started:.1f} s)")
    writers = {"column-wise": xlsx.write_workbook, "constant_memory": constant_memory_writer,
               "polars": polars_writer, "baseline": baseline_writer(args.baseline_rev)}
    for name, write in writers.items():
        best, size = None, 0
        for _ in range(args.repeat):
            folder = Path(tempfile.mkdtemp(prefix=f"xlsx-{name}-"))
            start = time.perf_counter()
            for k, sheets in enumerate(departments):
                write(folder / f"{k}.xlsx", sheets)
            seconds = time.perf_counter() - start
            size = sum(p.stat().st_size for p in folder.iterdir())
            shutil.rmtree(folder)
            best = seconds if best is None else min(best, seconds)
        print(f"{name:>16}: {best:6.2f} s  ({size / 1e6:.1f} MB)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
