"""Departmental deviation lists and the audit-to-audit comparison.

Every department gets ``departments/<safe name>/`` with every patient whose result is
``not_met``, ``unknown`` or ``justified`` (all years of the run): pseudonym, indicator,
reason, the values used, index date — as Danish CSV (``afvigelser.csv``), Excel
(``afvigelser.xlsx``, one sheet per indicator) and HTML (``afvigelser.html``, in pages of
at most 2,000 rows). Internal lists: not suppressed.

Given the previous run's ``patient_results.csv``, each deviation is marked *ny* (a deviation
now, not before), *vedvarende* (a deviation before and now) or *løst* (a deviation before,
not now: listed with its current result, or "ikke i populationen" with the old reason).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from pipelines.lib.errors import AuditError
from pipelines.reports import html, templates
from pipelines.reports.data import DEVIATIONS, STATUS_DA, UNKNOWN_DEPARTMENT, ReportData
from pipelines.reports.files import (FIXED_CREATED, FORMULA_START, child_dir, neutralise, parse_values, sheet_name,
                                     value_text, values_text, write_danish_csv)

NEW, PERSISTING, RESOLVED = "ny", "vedvarende", "løst"
CHANGE_ORDER = {NEW: 0, PERSISTING: 1, RESOLVED: 2, None: 3}
PAGE_ROWS = 2000
REQUIRED_PREVIOUS = ("pseudonym", "indicator_id", "status", "department_code")


class PreviousResultsRefused(AuditError, ValueError):
    """The previous run's patient_results.csv cannot be compared with (a ValueError, as before)."""


def read_previous(path: Path) -> pl.DataFrame:
    """A previous run's ``patient_results.csv`` (results contract: UTF-8, comma), all text.
    A file that is not one (damaged, edited and saved by a spreadsheet) stops the run with a
    clear message (``AuditError``), not an internal error."""
    advice = "move it out of the output folder (or audit into a new folder) to run without the comparison"
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as err:  # polars raises several kinds for a file that is not CSV
        raise PreviousResultsRefused(f"the previous results {path} cannot be read as CSV "
                                     f"({type(err).__name__}); {advice}") from None
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    missing = [c for c in REQUIRED_PREVIOUS if c not in frame.columns]
    if missing:
        raise PreviousResultsRefused(f"the previous results {path} are not a patient_results.csv of this audit "
                                     f"(missing {', '.join(missing)}); {advice}")
    for column in ("reason_code", "reason_text", "index_date", "guideline_version", "risk", "risk_rules"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    return frame


def _key() -> pl.Expr:
    return pl.col("pseudonym").str.to_lowercase() + "|" + pl.col("indicator_id")


def compare(data: ReportData, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Current deviations with ``change`` and ``previous_status``, plus the resolved ones."""
    current = data.patients.filter(pl.col("status").is_in(DEVIATIONS)).with_columns(key=_key())
    if previous is None:
        return current.with_columns(change=pl.lit(None, pl.String), previous_status=pl.lit(None, pl.String)).drop("key")
    before = (previous.filter(pl.col("status").is_in(DEVIATIONS))
              .with_columns(key=_key(), department_code=pl.col("department_code").fill_null(UNKNOWN_DEPARTMENT))
              .unique("key", keep="first", maintain_order=True))
    marked = current.join(before.select("key", previous_status=pl.col("status")), on="key", how="left").with_columns(
        change=pl.when(pl.col("previous_status").is_null()).then(pl.lit(NEW)).otherwise(pl.lit(PERSISTING)))
    gone = before.join(current.select("key"), on="key", how="anti")
    now = data.patients.with_columns(key=_key()).unique("key", keep="first", maintain_order=True)
    departments = data.departments.select("department_code", "department_name", "hospital", "region")
    # a resolved deviation shows the patient's current result where there is one, else the old one
    current_cols = ["status", "reason_code", "reason_text", "index_date", "guideline_version", "risk", "risk_rules",
                    "values_json"]
    resolved = (
        gone.select("key", "pseudonym", "indicator_id", "department_code", previous_status=pl.col("status"),
                    old_reason_code=pl.col("reason_code"), old_reason_text=pl.col("reason_text"),
                    old_index_date=pl.col("index_date").str.to_date("%Y-%m-%d", strict=False),
                    old_guideline_version=pl.col("guideline_version"), old_risk=pl.col("risk"),
                    old_risk_rules=pl.col("risk_rules"))
        .join(now.select("key", *current_cols), on="key", how="left")
        .join(departments, on="department_code", how="left")
        .with_columns(
            status=pl.col("status").fill_null("absent"),
            **{c: pl.coalesce(c, f"old_{c}") for c in ("reason_code", "reason_text", "index_date",
                                                        "guideline_version", "risk", "risk_rules")},
            department_name=pl.col("department_name").fill_null(pl.col("department_code")),
            hospital=pl.col("hospital").fill_null("ukendt"),
            region=pl.col("region").fill_null("ukendt"),
            change=pl.lit(RESOLVED),
        )
        .with_columns(year=pl.col("index_date").dt.year().cast(marked.schema["year"]))
    )
    columns = [c for c in marked.columns if c != "key"]
    resolved = resolved.with_columns(pl.lit(None, marked.schema[c]).alias(c) for c in columns if c not in resolved.columns)
    return pl.concat([marked.select(columns), resolved.select(columns).cast(marked.select(columns).schema)])


def display_rows(frame: pl.DataFrame) -> list[dict]:
    """Rows for the HTML patient tables: Danish status, parsed values, ISO dates."""
    rows = []
    for r in frame.iter_rows(named=True):
        rows.append({
            **r,
            "status_da": STATUS_DA.get(r["status"], r["status"]),
            "values": [(k, value_text(v)) for k, v in parse_values(r.get("values_json")).items()],
            "index_date": r["index_date"].isoformat() if isinstance(r.get("index_date"), date) else r.get("index_date"),
            "change": r.get("change"),
            "previous_status": STATUS_DA.get(r.get("previous_status"), r.get("previous_status")),
        })
    return rows


CSV_COLUMNS = {
    "pseudonym": "pseudonym", "indicator_id": "indikator", "title": "indikatortitel", "year": "år",
    "index_date": "indeksdato", "status": "status", "reason_code": "årsagskode", "reason_text": "årsag",
    "values": "værdier", "guideline_version": "retningslinjeversion", "risk": "risiko",
    "risk_rules": "risikoregler", "change": "ændring", "previous_status": "tidligere_status",
}


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A deviation or patient list in the Danish CSV's columns and wording."""
    titles = {i.indicator_id: i.title_da for i in CATALOGUE}
    return frame.select(
        "pseudonym", "indicator_id",
        title=pl.col("indicator_id").replace_strict(titles, default=None),
        year=pl.col("year"),
        index_date=pl.col("index_date"),
        status=pl.col("status").replace_strict(STATUS_DA, default=pl.col("status")),
        reason_code=pl.col("reason_code"), reason_text=pl.col("reason_text"),
        values=(pl.col("values_text") if "values_text" in frame.columns
                else pl.col("values_json").map_elements(values_text, return_dtype=pl.String, skip_nulls=False)),
        guideline_version=pl.col("guideline_version"), risk=pl.col("risk"), risk_rules=pl.col("risk_rules"),
        change=pl.col("change") if "change" in frame.columns else pl.lit(None, pl.String),
        previous_status=(pl.col("previous_status").replace_strict(STATUS_DA, default=pl.col("previous_status"))
                         if "previous_status" in frame.columns else pl.lit(None, pl.String)),
    ).rename(CSV_COLUMNS)


def sort_deviations(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(_order=pl.col("change").replace_strict(CHANGE_ORDER, default=3, return_dtype=pl.Int8)).sort(
        "indicator_id", "_order", "status", "index_date", "pseudonym", nulls_last=True).drop("_order")


XLSX_HEADER = ["Pseudonym", "Status", "Årsagskode", "Årsag", "Indeksdato", "År", "Retningslinjeversion", "Risiko",
               "Risikoregler", "Ændring", "Tidligere status"]


def write_xlsx_list(path: Path, frame: pl.DataFrame, counts: list[dict], compared: bool) -> None:
    """``afvigelser.xlsx``: an overview sheet, then one sheet per indicator with every deviation
    (the ``XLSX_HEADER`` columns, then one column per drill-down value)."""
    overview_header = ["Indikator", "Titel", "Ikke opfyldt", "Uoplyst", "Begrundet"] + (
        ["Ny", "Vedvarende", "Løst"] if compared else [])
    fields = ["indicator_id", "title", "not_met", "unknown", "justified"] + (
        ["new", "persisting", "resolved"] if compared else [])
    sheets = [("Oversigt", overview_header, [[c[f] for f in fields] for c in counts])]
    status_da = pl.col("status").replace_strict(STATUS_DA, default=pl.col("status"), return_dtype=pl.String)
    previous_da = pl.col("previous_status").replace_strict(STATUS_DA, default=pl.col("previous_status"),
                                                           return_dtype=pl.String)
    base = frame.select("indicator_id", "pseudonym", status_da.alias("status"), "reason_code", "reason_text",
                        "index_date", "year", "guideline_version", "risk", "risk_rules", "change",
                        previous_da.alias("previous_status"), "values_json")
    parts = base.partition_by("indicator_id", as_dict=True, maintain_order=True, include_key=False)
    for indicator in CATALOGUE:
        part = parts.get((indicator.indicator_id,))
        if part is None:
            sheets.append((indicator.indicator_id, XLSX_HEADER, []))
            continue
        decoded = templates.decoded_values(part.get_column("values_json"))
        if decoded is not None:  # every object has the same keys, in order, with scalar values
            keys = decoded.columns
            rows = [[*r, *v] for r, v in zip(part.drop("values_json").rows(), decoded.rows())]
        else:
            values = [parse_values(v) for v in part.get_column("values_json").to_list()]
            keys = list(dict.fromkeys(k for v in values for k in v))
            rows = []
            for r, v in zip(part.drop("values_json").rows(), values):
                cells = list(r)
                for k in keys:
                    value = v.get(k)
                    cells.append(value if value is None or isinstance(value, (int, float, str))
                                 else value_text(value))
                rows.append(cells)
        sheets.append((indicator.indicator_id, XLSX_HEADER + [f"værdi: {k}" for k in keys], rows))
    write_xlsx_bulk(path, sheets)


class _Buffer(io.StringIO):
    def close(self) -> None:  # xlsxwriter closes what it writes to; keep the text
        pass


def write_xlsx_bulk(path: Path, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]]) -> None:
    """``files.write_xlsx``, byte for byte, for large sheets (rows of Python values).

    ``write_xlsx`` hands every cell to xlsxwriter one call at a time, which dominates the
    department lists at scale. Here xlsxwriter writes the same workbook with the header
    rows only (styles, column widths, frozen panes, autofilters, names, properties), and the
    cells are written directly as the XML xlsxwriter would write for them: the same cell
    types and formats (text neutralised against formulas, ``ja``/``nej``, numbers, dates),
    the same shared-string table (xlsxwriter's own writer), the same ``<dimension>`` and
    row spans. ``tests/reports/test_report_speed.py`` holds the two writers to the same bytes."""
    from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name

    strmax, rowmax, colmax = 32767, 1048576, 16384
    strings: dict[str, int] = {}
    string_cells = 0
    first_use: list[str] = []  # the formats in the order xlsxwriter would number them
    formula_start = FORMULA_START

    def shared(text: str) -> int:
        nonlocal string_cells
        if len(text) > strmax // 2 and _utf16_len(text) > strmax:
            text = _utf16_truncate(text, strmax)
        string_cells += 1
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(strings)
        return index

    built = []
    for name, header, rows in sheets:
        widths = [min(max(len(str(h)), 8), 60) for h in header]
        ncols = max([len(header), *(len(r) for r in rows)], default=0)
        letters = [xl_col_to_name(c) for c in range(min(ncols, colmax))]
        xml_rows: list[tuple[int, int, int, str]] = []  # (row, first col, last col, cells)
        if header:
            if "bold" not in first_use:
                first_use.append("bold")
            cells = "".join(f'<c r="{letters[c]}1" s="{{bold}}" t="s"><v>{shared(str(neutralise(t)))}</v></c>'
                            for c, t in enumerate(header) if c < colmax)
            xml_rows.append((0, 0, min(len(header), colmax) - 1, cells))
        for r, row in enumerate(rows, start=1):
            if r >= rowmax:
                break
            number = str(r + 1)
            parts = []
            low = high = None
            for col, value in enumerate(row):
                if value is None or col >= colmax:
                    continue
                kind = type(value)
                if kind is str:
                    first = value[:1]
                    text = ("'" + value if first in formula_start
                            or (first == " " and value.lstrip(" ")[:1] in formula_start) else value)
                    if len(text) > strmax // 2 and _utf16_len(text) > strmax:
                        stored = _utf16_truncate(text, strmax)
                    else:
                        stored = text
                    string_cells += 1
                    index = strings.get(stored)
                    if index is None:
                        index = strings[stored] = len(strings)
                    parts.append(f'<c r="{letters[col]}{number}" t="s"><v>{index}</v></c>')
                    if len(text) > widths[col]:
                        widths[col] = min(len(text), 60)
                elif kind is bool or isinstance(value, bool):
                    parts.append(f'<c r="{letters[col]}{number}" t="s"><v>{shared("ja" if value else "nej")}</v></c>')
                elif kind is int or kind is float or isinstance(value, (int, float)):
                    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                        raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' "
                                        "Workbook() option")
                    parts.append(f'<c r="{letters[col]}{number}"><v>{value:.16G}</v></c>')
                elif isinstance(value, (date, datetime)):
                    if "date" not in first_use:
                        first_use.append("date")
                    parts.append(f'<c r="{letters[col]}{number}" s="{{date}}"><v>{_excel_serial(value)}</v></c>')
                else:
                    text = str(neutralise(str(value)))
                    parts.append(f'<c r="{letters[col]}{number}" t="s"><v>{shared(text)}</v></c>')
                    widths[col] = min(max(widths[col], len(text)), 60)
                if low is None:
                    low = col
                high = col
            if parts:
                xml_rows.append((r, low, high, "".join(parts)))
        built.append((name, header, len(rows), widths, xml_rows))

    sheet_data = [(name, header, count, widths, _sheet_data(xml_rows, xl_col_to_name))
                  for name, header, count, widths, xml_rows in built]
    _assemble_xlsx(path, sheet_data, list(strings), string_cells, first_use)


def _assemble_xlsx(path: Path, built: list, strings: list[str], string_cells: int, first_use: list[str]) -> None:
    """The workbook of ``built`` (name, header, rows, widths, (dimension, sheetData)), its shared
    strings in order: xlsxwriter writes it without the cells, the cells are put in."""
    import xlsxwriter
    from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable

    # the workbook without the cells, from xlsxwriter
    template = io.BytesIO()
    workbook = xlsxwriter.Workbook(template, {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})
    bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True,
                                "valign": "top"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    formats = {"bold": bold, "date": date_format}
    index = {use: formats[use]._get_xf_index() for use in first_use}
    taken: set[str] = set()
    for name, header, count, widths, _ in built:
        sheet = workbook.add_worksheet(sheet_name(name, taken))
        for col, title in enumerate(header):
            sheet.write_string(0, col, str(neutralise(title)), bold)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width + 2)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(count, 1), max(len(header) - 1, 0))
    workbook.close()

    bold_xf, date_xf = str(index.get("bold", "")), str(index.get("date", ""))
    sheet_xml = {}
    for number, (_, _, _, _, (dimension, cells)) in enumerate(built, start=1):
        sheet_xml[f"xl/worksheets/sheet{number}.xml"] = (
            dimension, cells.replace("{bold}", bold_xf).replace("{date}", date_xf))
    table = SharedStringTable()
    table.string_table = {text: k for k, text in enumerate(strings)}
    table.count, table.unique_count = string_cells, len(strings)
    table._sort_string_data()
    writer = SharedStrings()
    writer.string_table = table
    buffer = _Buffer()
    writer._set_filehandle(buffer)
    # SharedStrings._assemble_xml_file, with plain strings (nothing to escape, no edge spaces) written directly
    writer._xml_declaration()
    writer._write_sst()
    plain = _IRREGULAR.search
    for text in table.string_array:
        if plain(text):
            writer._write_si(text)
        else:
            buffer.write(f"<si><t>{text}</t></si>")
    writer._xml_end_tag("sst")
    shared_xml = buffer.getvalue()

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                                                              allowZip64=False) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in sheet_xml:
                dimension, cells = sheet_xml[info.filename]
                text = data.decode("utf-8")
                start = text.index("<dimension ")
                text = text[:start] + dimension + text[text.index("/>", start) + 2:]
                if "<sheetData/>" in text:
                    text = text.replace("<sheetData/>", cells, 1)
                else:
                    text = text[:text.index("<sheetData>")] + cells + text[text.index("</sheetData>") + 12:]
                data = text.encode("utf-8")
            elif info.filename == "xl/sharedStrings.xml":
                data = shared_xml.encode("utf-8")
            target.writestr(info, data)


# what SharedStrings._write_si changes or marks: escapes (_xHHHH_, control characters, & < >) and edge spaces
_IRREGULAR = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f&<>]|^\s|\s$")
_SERIALS: dict[tuple[int, int, int], str] = {}


def _excel_serial(value: date) -> str:
    """The number xlsxwriter writes for ``write_datetime(datetime(y, m, d))``."""
    key = (value.year, value.month, value.day)
    serial = _SERIALS.get(key)
    if serial is None:
        from xlsxwriter.utility import _datetime_to_excel_datetime

        serial = _SERIALS[key] = f"{_datetime_to_excel_datetime(datetime(*key), False, False):.16G}"
    return serial


def _sheet_data(xml_rows: list[tuple[int, int, int, str]], col_name) -> tuple[str, str]:
    """``<dimension …/>`` and ``<sheetData>…</sheetData>`` as xlsxwriter writes them."""
    if not xml_rows:
        return '<dimension ref="A1"/>', "<sheetData/>"
    spans: dict[int, str] = {}
    block_low: dict[int, int] = {}
    block_high: dict[int, int] = {}
    for row, low, high, _ in xml_rows:
        block = row // 16
        block_low[block] = min(block_low.get(block, low), low)
        block_high[block] = max(block_high.get(block, high), high)
    for block in block_low:
        spans[block] = f"{block_low[block] + 1}:{block_high[block] + 1}"
    first_row, last_row = xml_rows[0][0], xml_rows[-1][0]
    first_col = min(low for _, low, _, _ in xml_rows)
    last_col = max(high for _, _, high, _ in xml_rows)
    if first_row == last_row and first_col == last_col:
        dimension = f'<dimension ref="{col_name(first_col)}{first_row + 1}"/>'
    else:
        dimension = f'<dimension ref="{col_name(first_col)}{first_row + 1}:{col_name(last_col)}{last_row + 1}"/>'
    body = "".join(f'<row r="{row + 1}" spans="{spans[row // 16]}">' + cells + "</row>"
                   for row, _, _, cells in xml_rows)
    return dimension, "<sheetData>" + body + "</sheetData>"


@dataclass
class DepartmentList:
    department_code: str
    folder: str
    rows: int
    counts: list[dict]


def department_counts(frame: pl.DataFrame) -> list[dict]:
    """The deviation counts per indicator of one department's list (catalogue order)."""
    return all_department_counts(frame.with_columns(department_code=pl.lit("", pl.String))).get("") or [
        {"indicator_id": i.indicator_id, "title": i.title_da,
         **{k: 0 for k in (*DEVIATIONS, "new", "persisting", "resolved")}} for i in CATALOGUE]


def all_department_counts(frame: pl.DataFrame) -> dict[str, list[dict]]:
    """Per department the deviation counts per indicator (catalogue order; zeros included)."""
    change = pl.col("change")
    current = change.is_null() | (change != RESOLVED)
    counted = frame.group_by("department_code", "indicator_id").agg(
        *[(current & (pl.col("status") == s)).sum().alias(s) for s in DEVIATIONS],
        new=(change == NEW).sum(), persisting=(change == PERSISTING).sum(), resolved=(change == RESOLVED).sum())
    found = {(r["department_code"], r["indicator_id"]): r for r in counted.iter_rows(named=True)}
    out: dict[str, list[dict]] = {}
    for code in frame.get_column("department_code").unique().to_list():
        out[code] = [{"indicator_id": i.indicator_id, "title": i.title_da,
                      **{k: int(found.get((code, i.indicator_id), {}).get(k) or 0)
                         for k in (*DEVIATIONS, "new", "persisting", "resolved")}}
                     for i in CATALOGUE]
    return out


def write_department_lists(data: ReportData, out_dir: Path, deviations: pl.DataFrame, folders: dict[str, str],
                           compared: bool, previous_name: str | None, page_context: dict) -> list[DepartmentList]:
    """``departments/<folder>/afvigelser.{csv,xlsx,html}`` for every department in ``folders``."""
    root = out_dir / "departments"
    root.mkdir(parents=True, exist_ok=True)
    names = {r["department_code"]: r for r in data.departments.iter_rows(named=True)}
    ordered = templates.values_columns(sort_deviations(deviations))
    parts = ordered.partition_by("department_code", as_dict=True, maintain_order=True)
    counts_by_department = all_department_counts(ordered)
    empty = ordered.clear()
    written = []
    for code, folder in sorted(folders.items(), key=lambda kv: kv[1]):
        target = child_dir(root, folder)
        frame = parts.get((code,), empty)
        counts = counts_by_department.get(code) or department_counts(empty)
        write_danish_csv(csv_frame(frame), target / "afvigelser.csv")
        write_xlsx_list(target / "afvigelser.xlsx", frame, counts, compared)
        info = names.get(code) or {"department_code": code, "department_name": code, "hospital": "ukendt",
                                   "region": "ukendt"}
        rows = templates.patient_rows(frame, show_indicator=True, show_change=compared)
        pages = html.page_names("afvigelser", -(-len(rows) // PAGE_ROWS))
        for number, name in enumerate(pages, start=1):
            html.write(target / name, "deviations.html", title=f"Afvigelser – {info['department_name']}",
                       subtitle="Departmental deviation list (internal, not for publication)",
                       department=info, counts=counts, compared=compared, previous=previous_name,
                       table=templates.patient_table(rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS],
                                                     show_indicator=True, show_change=compared),
                       pages=pages, page=number, home="../../dashboard.html", **page_context)
        written.append(DepartmentList(code, folder, frame.height, counts))
    return written


def comparison_summary(deviations: pl.DataFrame, data: ReportData, previous_name: str) -> dict:
    """Counts of new, persisting and resolved deviations per department and per indicator."""
    names = dict(zip(data.departments["department_code"], data.departments["department_name"]))
    changed = deviations.filter(pl.col("change").is_not_null())

    def count(frame: pl.DataFrame) -> dict:
        return {"new": frame.filter(pl.col("change") == NEW).height,
                "persisting": frame.filter(pl.col("change") == PERSISTING).height,
                "resolved": frame.filter(pl.col("change") == RESOLVED).height}

    departments = [{"department_code": code, "department_name": names.get(code, code),
                    **count(changed.filter(pl.col("department_code") == code))}
                   for code in sorted(set(changed["department_code"].to_list()), key=lambda c: names.get(c, c))]
    indicators = [{"indicator_id": i, **count(changed.filter(pl.col("indicator_id") == i))} for i in BY_ID]
    return {"previous": previous_name, "departments": departments, "indicators": indicators, "total": count(changed)}
