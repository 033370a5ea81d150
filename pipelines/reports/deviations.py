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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from pipelines.lib.errors import AuditError
from pipelines.reports import html, templates
from pipelines.reports.data import DEVIATIONS, STATUS_DA, UNKNOWN_DEPARTMENT, ReportData, is_deviation
from pipelines.reports.files import child_dir, parse_values, value_text, values_text, write_danish_csv
from pipelines.reports.xlsx import write_xlsx_frames

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
    current = data.patients.filter(is_deviation()).with_columns(key=_key())
    if previous is None:
        return current.with_columns(change=pl.lit(None, pl.String), previous_status=pl.lit(None, pl.String)).drop("key")
    before = (previous.filter(is_deviation())
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


def write_xlsx_list(path: Path, frame: pl.DataFrame, counts: list[dict], compared: bool,
                    decoded: dict[str, pl.DataFrame | None] | None = None) -> None:
    """``afvigelser.xlsx``: an overview sheet, then one sheet per indicator with every deviation
    (the ``XLSX_HEADER`` columns, then one column per drill-down value).

    ``decoded`` (``decode_values``): per indicator the drill-down values of every list's rows,
    decoded once for all departments; ``frame`` then has their row numbers (``VALUE_ROW``)."""
    overview_header = ["Indikator", "Titel", "Ikke opfyldt", "Uoplyst", "Begrundet"] + (
        ["Ny", "Vedvarende", "Løst"] if compared else [])
    fields = ["indicator_id", "title", "not_met", "unknown", "justified"] + (
        ["new", "persisting", "resolved"] if compared else [])
    overview = pl.DataFrame({f: [c[f] for c in counts] for f in fields},
                            schema={f: pl.String if f in ("indicator_id", "title") else pl.Int64 for f in fields})
    sheets = [("Oversigt", overview_header, overview)]
    status_da = pl.col("status").replace_strict(STATUS_DA, default=pl.col("status"), return_dtype=pl.String)
    previous_da = pl.col("previous_status").replace_strict(STATUS_DA, default=pl.col("previous_status"),
                                                           return_dtype=pl.String)
    decoded = decoded or {}
    base = frame.select("indicator_id", "pseudonym", status_da.alias("status"), "reason_code", "reason_text",
                        "index_date", "year", "guideline_version", "risk", "risk_rules", "change",
                        previous_da.alias("previous_status"), "values_json",
                        *([VALUE_ROW] if VALUE_ROW in frame.columns else []))
    parts = base.partition_by("indicator_id", as_dict=True, maintain_order=True, include_key=False)
    for indicator in CATALOGUE:
        part = parts.get((indicator.indicator_id,))
        if part is None:
            sheets.append((indicator.indicator_id, XLSX_HEADER, None))
            continue
        known = decoded.get(indicator.indicator_id)
        if known is not None and VALUE_ROW in part.columns:
            keys, values = known.columns, known[part.get_column(VALUE_ROW)]
        else:
            keys, values = _value_columns(part.get_column("values_json"))
        # positional names: a drill-down key may be called like a list column (risk, risk_rules)
        values = values.rename({k: f"value {n}" for n, k in enumerate(keys)})
        sheets.append((indicator.indicator_id, XLSX_HEADER + [f"værdi: {k}" for k in keys],
                       pl.concat([part.drop("values_json", VALUE_ROW, strict=False), values], how="horizontal")))
    write_xlsx_frames(path, sheets)


VALUE_ROW = "value row"  # a deviation's row among its indicator's rows (decode_values)


def decode_values(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.DataFrame | None]]:
    """``frame`` with ``VALUE_ROW``, and per indicator its rows' drill-down values as typed
    columns (``templates.decoded_values``; None where they do not decode alike: each
    department's list then decodes its own)."""
    frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over("indicator_id").alias(VALUE_ROW))
    parts = frame.select("indicator_id", "values_json").partition_by("indicator_id", as_dict=True,
                                                                     maintain_order=True)
    return frame, {key[0]: templates.decoded_values(part.get_column("values_json")) for key, part in parts.items()}


def _value_columns(raw: pl.Series) -> tuple[list[str], pl.DataFrame]:
    """The drill-down values as one column per key (keys in order of first appearance):
    typed columns where every object has the same keys and scalar values, else Python
    values (a nested one as its text) in ``Object`` columns."""
    decoded = templates.decoded_values(raw)
    if decoded is not None:
        keys = decoded.columns
    else:
        values = [parse_values(v) for v in raw.to_list()]
        keys = list(dict.fromkeys(k for v in values for k in v))
        decoded = pl.DataFrame([pl.Series(k, [_cell(v.get(k)) for v in values], dtype=pl.Object) for k in keys]
                               or None, height=raw.len())
    return keys, decoded


def _cell(value: object) -> object:
    return value if value is None or isinstance(value, (int, float, str)) else value_text(value)


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
    ordered, decoded = decode_values(templates.values_columns(sort_deviations(deviations)))
    parts = ordered.partition_by("department_code", as_dict=True, maintain_order=True)
    counts_by_department = all_department_counts(ordered)
    empty = ordered.clear()
    written = []
    # the workbooks are written by two threads beside the rest: most of their time is polars' and
    # zlib's, which run without the GIL (on two cores the Excel files are the longest part at scale)
    with ThreadPoolExecutor(max_workers=2) as excel:
        workbooks = []
        for code, folder in sorted(folders.items(), key=lambda kv: kv[1]):
            target = child_dir(root, folder)
            frame = parts.get((code,), empty)
            counts = counts_by_department.get(code) or department_counts(empty)
            workbooks.append(excel.submit(write_xlsx_list, target / "afvigelser.xlsx", frame, counts, compared,
                                          decoded))
            write_danish_csv(csv_frame(frame), target / "afvigelser.csv")
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
        for workbook in workbooks:
            workbook.result()  # an error in a workbook stops the run here
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
