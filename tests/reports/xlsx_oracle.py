"""The test oracle of ``pipelines/reports/xlsx.py``: the workbook xlsxwriter writes when every
cell is handed to it one call at a time (what the column-wise writer must equal, byte for
byte). Slow on purpose; never used by the product."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from pipelines.lib.formula_safety import neutralise
from pipelines.reports.files import sheet_name
from pipelines.reports.summary_workbook import FIXED_CREATED
from pipelines.reports.xlsx import DATE_FORMAT


def write_xlsx(path: Path, sheets: Sequence[tuple]) -> None:
    """One worksheet per ``(name, header, rows)`` or ``(name, header, rows, notes)``: bold frozen
    header, autofilter over the rows, widths from the longest text (at most 60), notes below
    the table after a blank row. Text goes in with ``write_string`` after neutralising (formula,
    URL and number conversion of strings off), numbers as numbers, dates as dates."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True,
                                    "valign": "top"})
        date_format = workbook.add_format({"num_format": DATE_FORMAT})
        taken: set[str] = set()
        for sheet in sheets:
            name, header, rows = sheet[:3]
            notes = sheet[3] if len(sheet) > 3 else []
            ws = workbook.add_worksheet(sheet_name(name, taken))
            widths = [min(max(len(str(h)), 8), 60) for h in header]
            for col, title in enumerate(header):
                ws.write_string(0, col, str(neutralise(title)), bold)
            for r, row in enumerate(rows, start=1):
                for col, value in enumerate(row):
                    if value is None:
                        ws.write_blank(r, col, None)
                    elif isinstance(value, bool):
                        ws.write_string(r, col, "ja" if value else "nej")
                    elif isinstance(value, (int, float)):
                        ws.write_number(r, col, value)
                    elif isinstance(value, (date, datetime)):
                        ws.write_datetime(r, col, datetime(value.year, value.month, value.day), date_format)
                    else:
                        text = str(neutralise(str(value)))
                        ws.write_string(r, col, text)
                        widths[col] = min(max(widths[col], len(text)), 60)
            for k, note in enumerate(notes):
                ws.write_string(len(rows) + 2 + k, 0, str(neutralise(note)))
            for col, width in enumerate(widths):
                ws.set_column(col, col, width + 2)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, max(len(rows), 1), max(len(header) - 1, 0))
    finally:
        workbook.close()
