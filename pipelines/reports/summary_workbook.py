"""``indicator_summary.xlsx``: the indicator summary for a Danish spreadsheet (numbers as
numbers, proportions as percentages, Danish column names). Its own module, without Dagster or
DuckDB, because the contract step has it written by a fresh process beside the run
(``contract.write_contract``), which imports only what the workbook needs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import xlsxwriter

from pipelines.lib.formula_safety import neutralise

FIXED_CREATED = datetime(2000, 1, 1)  # every workbook's creation time: the same content gives the same bytes

# indicator_summary.csv's columns, as the spreadsheet names them (and what they hold)
SUMMARY_XLSX = {
    "indicator_id": ("Indikator", "indikatorens id (MM01 …)"),
    "year": ("År", "indeksdatoens år"),
    "level": ("Niveau", "Danmark, region, hospital eller afdeling"),
    "unit": ("Enhed", "Danmark, regionens eller hospitalets navn, afdelingens kode"),
    "unit_name": ("Afdelingens navn", "fra udtrækkets departments.csv (ikke en kolonne i CSV-filen)"),
    "met": ("Opfyldt", "patienter med status opfyldt"),
    "not_met": ("Ikke opfyldt", "patienter med status ikke opfyldt"),
    "unknown": ("Uoplyst", "patienter, hvor data til at vurdere mangler"),
    "justified": ("Begrundet afvigelse", "afvigelse med en grund, retningslinjen accepterer (ikke i nævneren)"),
    "excluded": ("Ekskluderet", "udelukket af en regel (ikke i nævneren)"),
    "pending": ("Afventer", "vinduet ikke lukket på udtræksdatoen (ikke i nævneren)"),
    "numerator": ("Tæller", "det samme som opfyldt"),
    "denominator": ("Nævner", "opfyldt + ikke opfyldt + uoplyst"),
    "proportion": ("Andel", "tæller / nævner"),
    "ci_low": ("95 % KI, nedre", "Wilsons 95 %-sikkerhedsinterval, nedre grænse"),
    "ci_high": ("95 % KI, øvre", "Wilsons 95 %-sikkerhedsinterval, øvre grænse"),
    "standard": ("Standard", "indikatorens standard (mål); tom for informative indikatorer"),
    "standard_met": ("Standard opfyldt", "ja/nej; tom uden standard eller uden nævner"),
    "quality_flag": ("Datakvalitetsflag", "ja: en blokerende kontrol fejlede eller en variabel er under komplethedsgrænsen"),
    "quality_note": ("Datakvalitet, note", "hvilken kontrol eller variabel"),
}
PERCENT_COLUMNS = {"proportion", "ci_low", "ci_high", "standard"}
LEVELS_DA = {"national": "Danmark", "region": "region", "hospital": "hospital", "department": "afdeling"}


def write_summary_xlsx(rows: list[tuple], columns: list[str], path: Path) -> Path:
    """``indicator_summary.xlsx``: one sheet with the summary (Danish column names, frozen
    header, filters; proportions as percentages, yes/no as ja/nej, text formula-safe) and one
    that names each column's CSV column and meaning. The file does not depend on when it
    was written."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_urls": False, "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True, "valign": "top"})
        percent = workbook.add_format({"num_format": "0.0 %"})
        sheet = workbook.add_worksheet("Indikatorer")
        sheet.freeze_panes(1, 0)
        for col, name in enumerate(columns):
            sheet.write_string(0, col, SUMMARY_XLSX.get(name, (name,))[0], head)
            sheet.set_column(col, col, 24 if name in ("unit", "unit_name", "quality_note") else 11)
        for r, row in enumerate(rows, start=1):
            for col, (name, value) in enumerate(zip(columns, row)):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_string(r, col, "ja" if value else "nej")
                elif name in PERCENT_COLUMNS:
                    sheet.write_number(r, col, float(value), percent)
                elif isinstance(value, (int, float)):
                    sheet.write_number(r, col, value)
                elif name == "level":
                    sheet.write_string(r, col, LEVELS_DA.get(value, str(value)))
                elif str(value):
                    sheet.write_string(r, col, str(neutralise(str(value))))
        sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
        legend = workbook.add_worksheet("Kolonner")
        for col, title in enumerate(("Kolonne", "Kolonne i indicator_summary.csv", "Indhold")):
            legend.write_string(0, col, title, head)
        for r, name in enumerate(columns, start=1):
            label, meaning = SUMMARY_XLSX.get(name, (name, ""))
            legend.write_string(r, 0, label)
            legend.write_string(r, 1, name if name != "unit_name" else "–")
            legend.write_string(r, 2, meaning)
        legend.set_column(0, 1, 26)
        legend.set_column(2, 2, 80)
    finally:
        workbook.close()
    return path
