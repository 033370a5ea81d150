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

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from pipelines.reports import html
from pipelines.reports.data import DEVIATIONS, STATUS_DA, UNKNOWN_DEPARTMENT, ReportData
from pipelines.reports.files import (child_dir, parse_values, value_text, values_text, write_danish_csv,
                                     write_xlsx)

NEW, PERSISTING, RESOLVED = "ny", "vedvarende", "løst"
CHANGE_ORDER = {NEW: 0, PERSISTING: 1, RESOLVED: 2, None: 3}
PAGE_ROWS = 2000
REQUIRED_PREVIOUS = ("pseudonym", "indicator_id", "status", "department_code")


def read_previous(path: Path) -> pl.DataFrame:
    """A previous run's ``patient_results.csv`` (results contract: UTF-8, comma), all text."""
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    missing = [c for c in REQUIRED_PREVIOUS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} is not a patient_results.csv of this audit: missing {', '.join(missing)}")
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
        values=pl.col("values_json").map_elements(values_text, return_dtype=pl.String),
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
    overview_header = ["Indikator", "Titel", "Ikke opfyldt", "Uoplyst", "Begrundet"] + (
        ["Ny", "Vedvarende", "Løst"] if compared else [])
    overview = [[c["indicator_id"], c["title"], c["not_met"], c["unknown"], c["justified"]]
                + ([c["new"], c["persisting"], c["resolved"]] if compared else []) for c in counts]
    sheets = [("Oversigt", overview_header, overview)]
    for indicator in CATALOGUE:
        part = frame.filter(pl.col("indicator_id") == indicator.indicator_id)
        values = [parse_values(v) for v in part["values_json"].to_list()]
        keys = list(dict.fromkeys(k for v in values for k in v))
        rows = []
        for r, v in zip(part.iter_rows(named=True), values):
            rows.append([r["pseudonym"], STATUS_DA.get(r["status"], r["status"]), r["reason_code"], r["reason_text"],
                         r["index_date"], r["year"], r["guideline_version"], r["risk"], r["risk_rules"], r["change"],
                         STATUS_DA.get(r["previous_status"], r["previous_status"])]
                        + [v.get(k) if isinstance(v.get(k), (int, float, str)) or v.get(k) is None
                           else value_text(v.get(k)) for k in keys])
        sheets.append((indicator.indicator_id, XLSX_HEADER + [f"værdi: {k}" for k in keys], rows))
    write_xlsx(path, sheets)


@dataclass
class DepartmentList:
    department_code: str
    folder: str
    rows: int
    counts: list[dict]


def department_counts(frame: pl.DataFrame) -> list[dict]:
    out = []
    for indicator in CATALOGUE:
        part = frame.filter(pl.col("indicator_id") == indicator.indicator_id)
        current = part.filter(pl.col("change").is_null() | (pl.col("change") != RESOLVED))
        out.append({
            "indicator_id": indicator.indicator_id, "title": indicator.title_da,
            **{s: current.filter(pl.col("status") == s).height for s in DEVIATIONS},
            "new": part.filter(pl.col("change") == NEW).height,
            "persisting": part.filter(pl.col("change") == PERSISTING).height,
            "resolved": part.filter(pl.col("change") == RESOLVED).height,
        })
    return out


def write_department_lists(data: ReportData, out_dir: Path, deviations: pl.DataFrame, folders: dict[str, str],
                           compared: bool, previous_name: str | None, page_context: dict) -> list[DepartmentList]:
    """``departments/<folder>/afvigelser.{csv,xlsx,html}`` for every department in ``folders``."""
    root = out_dir / "departments"
    root.mkdir(parents=True, exist_ok=True)
    names = {r["department_code"]: r for r in data.departments.iter_rows(named=True)}
    written = []
    for code, folder in sorted(folders.items(), key=lambda kv: kv[1]):
        target = child_dir(root, folder)
        frame = sort_deviations(deviations.filter(pl.col("department_code") == code))
        counts = department_counts(frame)
        write_danish_csv(csv_frame(frame), target / "afvigelser.csv")
        write_xlsx_list(target / "afvigelser.xlsx", frame, counts, compared)
        info = names.get(code) or {"department_code": code, "department_name": code, "hospital": "ukendt",
                                   "region": "ukendt"}
        rows = display_rows(frame)
        pages = html.page_names("afvigelser", -(-len(rows) // PAGE_ROWS))
        for number, name in enumerate(pages, start=1):
            html.write(target / name, "deviations.html", title=f"Afvigelser – {info['department_name']}",
                       subtitle="Departmental deviation list (internal, not for publication)",
                       department=info, counts=counts, compared=compared, previous=previous_name,
                       rows=rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS], pages=pages, page=number,
                       home="../../dashboard.html", **page_context)
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
