"""Departmental deviation lists and the run-to-run comparison.

Every department gets ``departments/<safe name>/`` with every patient of the audit period
(``--period``) whose result is ``ikke opfyldt``, ``uoplyst`` or ``begrundet afvigelse`` —
never an informational indicator (MM08, MM09, MM12: uptake, not deviations) — with the
reason, the values used and the index date, as Danish CSV (``afvigelser.csv``), Excel
(``afvigelser.xlsx``: an overview, then one sheet per indicator) and HTML
(``afvigelser.html``, sortable and filterable offline, in pages of at most 2,000 rows).
Internal lists: not suppressed. With the re-identification key a CPR column comes first
(the department's own patients only); without it the pages say how to turn it on.

Compared with the newest earlier extract (``comparison.py``), each deviation is marked *ny*
(a deviation now, not before), *vedvarende* (a deviation before and now) or *løst* (a
deviation before, not now: listed with its current result, or "ikke længere i
populationen" with the old reason) — within the audit period. A deviation listed before
under another department than now (the patient's index department changed) is *flyttet* in
the old list, whatever its result now, with where it went and the old list's own reason, never
the new department's reason or values; in the new department it is *vedvarende* if it is still
a deviation.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from markupsafe import Markup

from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from pipelines.lib.vault import PSEUDONYMS_ONLY
from pipelines.reports import danish, html, tables
from pipelines.reports.comparison import Base, PreviousResultsRefused, read_results  # noqa: F401 (re-exported)
from pipelines.reports.data import DEVIATIONS, UNKNOWN_DEPARTMENT, ReportData, is_deviation
from pipelines.reports.danish import MOVED, NEW, PERSISTING, RESOLVED
from pipelines.reports.files import child_dir, write_danish_csv
from pipelines.reports.xlsx import Sheet, write_workbook

CHANGE_ORDER = {NEW: 0, PERSISTING: 1, RESOLVED: 2, MOVED: 3}
PAGE_ROWS = 2000
JUDGED = [i for i in CATALOGUE if not i.informational]   # indicators with a standard: the lists' indicators
CHANGE_COUNTS = ("new", "persisting", "resolved", "moved")
read_previous = read_results  # the previous run's patient_results.csv (kept under its old name)


def _key() -> pl.Expr:
    return pl.col("pseudonym").str.to_lowercase() + "|" + pl.col("indicator_id")


def in_period(data: ReportData, day: pl.Expr, status: pl.Expr) -> pl.Expr:
    """A row of the audit period: index date in it, or still pending."""
    if data.period is None:
        return pl.lit(True)
    return day.is_between(pl.lit(data.period.start), pl.lit(data.period.end)).fill_null(False) | (status == "pending")


def compare(data: ReportData, base: Base | pl.DataFrame | None) -> pl.DataFrame:
    """The period's deviations with ``change`` and ``previous_status``, plus the resolved ones
    (a deviation of the base whose row, now or then, lies in the period)."""
    current = data.patients.filter(is_deviation() & in_period(data, pl.col("index_date"), pl.col("status")))
    previous = base.rows if isinstance(base, Base) else base
    if previous is None:
        return current.with_columns(change=pl.lit(None, pl.String), previous_status=pl.lit(None, pl.String))
    current = current.with_columns(key=_key())
    before = (previous.filter(is_deviation())
              .with_columns(key=_key(), department_code=pl.col("department_code").fill_null(UNKNOWN_DEPARTMENT))
              .unique("key", keep="first", maintain_order=True))
    marked = current.join(before.select("key", previous_status=pl.col("status")), on="key", how="left").with_columns(
        change=pl.when(pl.col("previous_status").is_null()).then(pl.lit(NEW)).otherwise(pl.lit(PERSISTING)))
    now = data.patients.with_columns(key=_key()).unique("key", keep="first", maintain_order=True)
    departments = data.departments.select("department_code", "department_name", "hospital", "region")
    moved = _moved(before, now, departments)
    gone = before.join(current.select("key"), on="key", how="anti").join(moved.select("key"), on="key", how="anti")
    # a resolved deviation shows the patient's current result where there is one, else the old one
    current_cols = ["status", "reason_code", "reason_text", "index_date", "guideline_version", "risk", "risk_rules",
                    "values_json", "risk_text"]
    resolved = (
        gone.select("key", "pseudonym", "indicator_id", "department_code", previous_status=pl.col("status"),
                    old_reason_code=pl.col("reason_code"), old_reason_text=pl.col("reason_text"),
                    old_index_date=pl.col("index_date").str.to_date("%Y-%m-%d", strict=False),
                    old_guideline_version=pl.col("guideline_version"), old_risk=pl.col("risk"),
                    old_risk_rules=pl.col("risk_rules"))
        .join(now.select("key", *current_cols), on="key", how="left")
        .with_columns(
            status=pl.col("status").fill_null("absent"),
            **{c: pl.coalesce(c, f"old_{c}") for c in ("reason_code", "reason_text", "index_date",
                                                        "guideline_version", "risk", "risk_rules")},
            change=pl.lit(RESOLVED),
        )
    )
    schema = marked.drop("key").schema
    return pl.concat([marked.select(list(schema)),
                      *(_in_old_department(frame, data, departments, schema) for frame in (resolved, moved))])


def _in_old_department(frame: pl.DataFrame, data: ReportData, departments: pl.DataFrame,
                       schema: pl.Schema) -> pl.DataFrame:
    """Rows listed in their old department (resolved or moved) in the period, as the list's rows
    (``schema``): the department's names, the year, the columns they lack empty."""
    frame = (frame.filter(in_period(data, pl.col("index_date"), pl.col("status")))
             .join(departments, on="department_code", how="left")
             .with_columns(department_name=pl.col("department_name").fill_null(pl.col("department_code")),
                           hospital=pl.col("hospital").fill_null("ukendt"), region=pl.col("region").fill_null("ukendt"),
                           year=pl.col("index_date").dt.year()))
    return (frame.with_columns(pl.lit(None, schema[c]).alias(c) for c in schema if c not in frame.columns)
            .select(list(schema)).cast(schema))


def _moved(before: pl.DataFrame, now: pl.DataFrame, departments: pl.DataFrame) -> pl.DataFrame:
    """The deviations of ``before`` whose row is now under another department, whatever its status,
    as rows of their old department: where the patient is now, and the old reason."""
    new_department = departments.select(new_code="department_code", new_name="department_name")
    return (
        before.join(now.select("key", new_code=pl.col("department_code")), on="key")
        .filter(pl.col("department_code") != pl.col("new_code"))
        .join(new_department, on="new_code", how="left")
        .select("key", "pseudonym", "indicator_id", "department_code", "reason_code", "guideline_version", "risk",
                "risk_rules",
                status=pl.lit("moved"),
                previous_status=pl.col("status"),
                reason_text=pl.concat_str(
                    pl.lit("Nu registreret i "), pl.col("new_name").fill_null(pl.col("new_code")),
                    pl.lit(" (afdelingskode "), pl.col("new_code"), pl.lit("); her før: "),
                    pl.col("reason_text").fill_null("")),
                index_date=pl.col("index_date").str.to_date("%Y-%m-%d", strict=False),
                change=pl.lit(MOVED))
    )


def sort_deviations(frame: pl.DataFrame) -> pl.DataFrame:
    """Indicator, then new, persisting, resolved, then status, newest index date first."""
    return frame.with_columns(
        _change=pl.col("change").replace_strict(CHANGE_ORDER, default=3, return_dtype=pl.Int8),
        _status=pl.col("status").replace_strict(danish.STATUS_ORDER, default=9, return_dtype=pl.Int8),
    ).sort(["indicator_id", "_change", "_status", "index_date", "pseudonym"],
           descending=[False, False, False, True, False], nulls_last=True).drop("_change", "_status")


def all_department_counts(frame: pl.DataFrame) -> dict[str, list[dict]]:
    """Per department the deviation counts per indicator with a standard (catalogue order;
    zeros included). Resolved and moved rows are counted as such only."""
    change = pl.col("change")
    current = change.is_null() | ~change.is_in([RESOLVED, MOVED])
    counted = frame.group_by("department_code", "indicator_id").agg(
        *[(current & (pl.col("status") == s)).sum().alias(s) for s in DEVIATIONS],
        new=(change == NEW).sum(), persisting=(change == PERSISTING).sum(), resolved=(change == RESOLVED).sum(),
        moved=(change == MOVED).sum())
    found = {(r["department_code"], r["indicator_id"]): r for r in counted.iter_rows(named=True)}
    out: dict[str, list[dict]] = {}
    for code in frame.get_column("department_code").unique().to_list():
        out[code] = [{"indicator_id": i.indicator_id, "title": i.title_da,
                      **{k: int(found.get((code, i.indicator_id), {}).get(k) or 0)
                         for k in (*DEVIATIONS, *CHANGE_COUNTS)}}
                     for i in JUDGED]
    return out


def department_counts(frame: pl.DataFrame) -> list[dict]:
    """The deviation counts per indicator of one department's list."""
    return all_department_counts(frame.with_columns(department_code=pl.lit("", pl.String))).get("") or [
        {"indicator_id": i.indicator_id, "title": i.title_da,
         **{k: 0 for k in (*DEVIATIONS, *CHANGE_COUNTS)}} for i in JUDGED]


# --- Excel -----------------------------------------------------------------------------------

def value_columns(part: pl.DataFrame) -> tuple[list[str], pl.DataFrame | None]:
    """One typed column per drill-down key of an indicator's rows (keys in order of first
    appearance; measurements as numbers, dates as dates, flags as ja/nej, codes in Danish)."""
    parsed = [danish.parse_values(v) for v in part.get_column("values_json").to_list()]
    keys = [k for k in dict.fromkeys(k for values in parsed for k in values) if k not in danish.HIDDEN]
    columns = []
    for key in keys:
        spec = danish.VALUES.get(key) or danish.Value(key)
        raw = [values.get(key) for values in parsed]
        if spec.kind == "date":
            series = pl.Series(key, raw, dtype=pl.String, strict=False).str.to_date("%Y-%m-%d", strict=False)
        elif spec.kind in ("number", "cut", "whole") and all(v is None or (isinstance(v, (int, float))
                                                                        and not isinstance(v, bool)) for v in raw):
            # rounded (or cut) as the pages show it (24,5 ml/min, 1,84 m², 200 mg/m²), not 86.06326164874552
            digits = 0 if spec.kind == "whole" else spec.digits
            fit = danish.cut if spec.kind == "cut" else round
            series = pl.Series(key, [None if v is None else fit(float(v), digits) for v in raw], dtype=pl.Float64)
        elif all(v is None or isinstance(v, bool) for v in raw):
            series = pl.Series(key, raw, dtype=pl.Boolean)
        else:
            series = pl.Series(key, [danish.shown(key, v) or None for v in raw], dtype=pl.String)
        columns.append(series.alias(f"value {len(columns)}"))  # positional: a key may be named like a list column
    return [danish.header_of(k) for k in keys], (pl.DataFrame(columns) if columns else None)


def xlsx_sheets(frame: pl.DataFrame, counts: list[dict], compared: bool, cpr: bool, notes: list[str]) -> list[Sheet]:
    """``afvigelser.xlsx``: the overview (counts and the page's notes), then one sheet per
    indicator with a standard: every deviation with its values as typed columns."""
    overview_header = ["Indikator", "Titel", "Ikke opfyldt", "Uoplyst", "Begrundet afvigelse"] + (
        ["Ny", "Vedvarende", "Løst", "Flyttet"] if compared else [])
    fields = ["indicator_id", "title", "not_met", "unknown", "justified"] + (
        list(CHANGE_COUNTS) if compared else [])
    overview = pl.DataFrame({f: [c[f] for c in counts] for f in fields},
                            schema={f: pl.String if f in ("indicator_id", "title") else pl.Int64 for f in fields})
    sheets = [Sheet("Oversigt", overview_header, overview, notes)]
    header = (["CPR-nummer"] if cpr else []) + ["Pseudonym", "Status"] + (
        ["Ændring", "Tidligere status"] if compared else []) + ["Indeksdato", "Årsag", "Risiko", "Retningslinje"]
    chosen = ([pl.col("cpr")] if cpr else []) + [pl.col("pseudonym"), pl.col("status_da")] + (
        [pl.col("change"), pl.col("previous_status_da")] if compared else []) + [
        pl.col("index_date"), pl.col("reason_text"), pl.col("risk_da"), pl.col("guideline_version")]
    parts = frame.partition_by("indicator_id", as_dict=True, maintain_order=True)
    for indicator in JUDGED:
        part = parts.get((indicator.indicator_id,))
        if part is None:
            sheets.append(Sheet(indicator.indicator_id, header))
            continue
        names, values = value_columns(part)
        listed = part.select(chosen)
        sheets.append(Sheet(indicator.indicator_id, header + names,
                            listed if values is None else pl.concat([listed, values], how="horizontal")))
    return sheets


# --- the lists -------------------------------------------------------------------------------

@dataclass
class DepartmentList:
    department_code: str
    folder: str
    rows: int
    counts: list[dict]


def department_info(data: ReportData, code: str) -> dict:
    for r in data.departments.iter_rows(named=True):
        if r["department_code"] == code:
            return r
    return {"department_code": code, "department_name": code, "hospital": "ukendt", "region": "ukendt"}


def notes(data: ReportData, comparison: str, cpr: bool) -> dict[str, str]:
    """The lines every list (HTML, Excel) states: period, comparison, informational
    indicators, and without the re-identification key how to turn it on."""
    informational = ", ".join(i.indicator_id for i in CATALOGUE if i.informational)
    lines = {"period": data.period.description_da if data.period else "Alle patienter i resultaterne.",
             "comparison": comparison,
             "informational": f"Informative indikatorer ({informational}: ingen standard, behandlingen er ikke "
                              "anbefalet af Medicinrådet) vises som udbredelse på dashboardet, aldrig som afvigelser."}
    if not cpr:
        lines["reid"] = PSEUDONYMS_ONLY
    return lines


def headline(counts: list[dict], compared: bool) -> str:
    """The sentence a department's list opens with (its page and its workbook): the deviations
    of the audit period by status and, where compared, how many are new, resolved and moved."""
    total = {k: sum(c.get(k, 0) for c in counts) for k in (*DEVIATIONS, "new", "resolved", "moved")}
    judged = sum(total[k] for k in DEVIATIONS)
    if judged:
        sentence = (f"{danish.antal(judged, 'afvigelse', 'afvigelser')} i auditperioden: "
                    f"{danish.tal(total['not_met'])} ikke opfyldt, {danish.tal(total['unknown'])} uoplyst, "
                    f"{danish.tal(total['justified'])} begrundet afvigelse.")
    else:
        sentence = "Ingen afvigelser i auditperioden."
    if compared:
        new = total["new"]
        sentence += (f" {danish.antal(new, 'ny', 'nye')}" if new else " Ingen nye") + " siden forrige udtræk"
        sentence += "".join(f", {words}" for words in danish.gone_since(total["resolved"], total["moved"])) + "."
    return sentence


def comparison_line(base_name: str | None, compared: bool) -> str:
    if compared and base_name:
        return (f"Sammenlignet med {base_name}: ny = afvigelse nu, ikke før; vedvarende = afvigelse både før og nu; "
                "løst = afvigelse før, ikke nu; flyttet = afvigelse før i denne afdeling, nu i en anden.")
    return "Ingen sammenligning: der er ingen resultater af et tidligere udtræk at sammenligne med."


def write_department_lists(data: ReportData, out_dir: Path, deviations: pl.DataFrame, folders: dict[str, str],
                           compared: bool, base_name: str | None, page_context: dict,
                           cprs: dict[str, str] | None = None) -> list[DepartmentList]:
    """``departments/<folder>/afvigelser.{csv,xlsx,html}`` for every department in ``folders``.
    ``cprs``: pseudonym → CPR (re-identification on), or None."""
    root = out_dir / "departments"
    root.mkdir(parents=True, exist_ok=True)
    ordered = tables.listing(sort_deviations(deviations))
    parts = ordered.partition_by("department_code", as_dict=True, maintain_order=True)
    counts_by_department = all_department_counts(ordered)
    empty = ordered.clear()
    with_cpr = cprs is not None
    cols = tables.columns("deviations", cpr=with_cpr, compared=compared)
    lines = notes(data, comparison_line(base_name, compared), with_cpr)
    written = []
    # the workbooks are written by a second thread beside the rest (zlib works without the GIL)
    with ThreadPoolExecutor(max_workers=1) as excel:
        workbooks = []
        for code, folder in sorted(folders.items(), key=lambda kv: kv[1]):
            target = child_dir(root, folder)
            frame = tables.with_cprs(parts.get((code,), empty), cprs)
            counts = counts_by_department.get(code) or department_counts(empty)
            info = department_info(data, code)
            # the workbook names its department and extract: a sheet may be read away from its folder
            named = [f"Afvigelser – {info['department_name']} (afdelingskode {code})"] + (
                [page_context["extract_line"]] if page_context.get("extract_line") else [])
            opening = headline(counts, compared)
            workbooks.append(excel.submit(write_workbook, target / "afvigelser.xlsx",
                                          xlsx_sheets(frame, counts, compared, with_cpr,
                                                      named + [opening] + list(lines.values()))))
            write_danish_csv(tables.csv_frame(frame, cpr=with_cpr, compared=compared), target / "afvigelser.csv")
            rows = tables.html_rows(frame, cols)
            pages = html.page_names("afvigelser", -(-len(rows) // PAGE_ROWS))
            for number, name in enumerate(pages, start=1):
                html.write(target / name, "deviations.html.j2", title=f"Afvigelser – {info['department_name']}",
                           subtitle="Afdelingens afvigelsesliste (intern, ikke til offentliggørelse)",
                           department=info, counts=counts, headline=opening, compared=compared, notes=lines,
                           columns=cols,
                           rows=Markup("\n".join(rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS])),
                           total=len(rows[(number - 1) * PAGE_ROWS: number * PAGE_ROWS]),
                           pages=pages, page=number, cpr=with_cpr, home="dashboard.html",
                           home_text="til afdelingens dashboard", **page_context)
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
