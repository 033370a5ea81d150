"""The national annual report: ``national_report.html`` (internal, unsuppressed) and the
publication variant ``national_report_publication.html`` + ``indicator_summary_publication.csv``
(small cells suppressed, pooled figures where a year is too small: ``suppression.py``), and
``indicator_summary.xlsx`` (the contract's summary for a Danish spreadsheet).

The page, in the order a steering group reads it (templates ``pages/national*.html.j2``):

1. **Oversigt**: every indicator × the three years, the national proportion with its 95 %
   interval and an arrow for the change since the year before, the standard and whether the
   current year meets it; informational indicators (no standard) are marked as such.
2. **Datagrundlag**: the extract (label, date, each file's checksum and rows), patients in
   scope per year and region, rows in quarantine by file and reason, completeness per
   variable and department, and what *uoplyst* means.
3. Per indicator (a new page in print): definition, the steering group's comment and
   recommendation per year (``--comments DIR``, see ``comments.py``; an empty, labelled place
   when there is none), trend and funnel charts, and per year a table Danmark → regions →
   hospitals → departments. In the publication, a unit whose own proportion is withheld shows
   its pooled three-year figure, or else the level above (hospital, region, Danmark), marked.
4. **Metode**, in Danish, from the catalogue, the guideline versions and the run's parameters.

Print: A4, a page per indicator, charts and table rows never split, a running header with
the extract's label and date (``pdf.py`` prints the same pages to PDF with Chromium).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from markupsafe import Markup

from pipelines import parameters as audit_parameters
from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from pipelines.lib.formula_safety import neutralise_frame
from pipelines.lib.sql_loader import sql_text
from pipelines.reports import charts, danish, html, small_cells, suppression
from pipelines.reports.charts import FunnelPoint, TrendSeries
from pipelines.reports.comments import IndicatorComments
from pipelines.reports.data import ReportData
from pipelines.reports.funnel import POSITION_TEXT, position

COUNTS = small_cells.COUNT_COLUMNS
TITLE = "Myelomatose: kvalitetsindikatorer for primær behandling af HDT-kandidater – national årsrapport"

# Danish labels of the quarantine reason codes (staging's rules; unknown codes are shown as they are)
REASONS_DA = {
    "CONFLICTING_DUPLICATE": "modstridende dubletter (samme nøgle, forskellige værdier)",
    "ORPHAN": "hører ikke til en kendt patient eller afdeling",
    "MISSING_REQUIRED": "påkrævet felt mangler",
    "MALFORMED_ROW": "rækken kan ikke læses (forkert antal felter)",
    "INVALID_NUMBER": "ugyldigt tal",
    "INVALID_CODE": "kode uden for værdisættet",
    "INVALID_DATE": "ugyldig dato",
    "INVALID_CPR": "ugyldigt CPR-nummer",
    "DATE_AFTER_EXTRACT": "dato efter udtræksdatoen",
    "BEFORE_BIRTH": "dato før fødslen",
    "AFTER_DEATH": "dato efter dødsdatoen",
    "DEATH_BEFORE_BIRTH": "dødsdato før fødselsdato",
    "OUT_OF_RANGE": "værdi uden for det mulige område",
    "UNIT_MISMATCH": "enheden passer ikke til analysen",
}

# the variables of the completeness table (sql/quality/rpt_completeness.sql), as the pages name them
VARIABLES_DA = {
    "ecog_ps": "ECOG performancestatus",
    "comorbidity": "komorbiditet",
    "hdt_evaluated": "vurderet med henblik på HDT",
    "hdt_candidate": "HDT-kandidat",
    "sex": "køn",
    "creatinine_before_conditioning": "kreatinin før konditionering",
    "weight_before_conditioning": "vægt før konditionering",
    "height_weight_before_priming": "højde og vægt før priming",
    "cytogenetics_before_induction": "cytogenetik (FISH) før induktion",
    "induction_cycles": "antal induktionsserier",
    "induction_cycle_length": "seriens længde, induktion",
    "consolidation_cycles": "konsolideringsserier (antal og længde)",
    "maintenance_cycle_length": "seriens længde, vedligeholdelse",
    "mrd_sensitivity": "MRD-sensitivitet",
    "drug_dose": "dosis og enhed (priming, konditionering, vedligeholdelse)",
    "drug_days": "behandlingsdage (priming, konditionering, vedligeholdelse)",
    "response_after_first_asct_for_tandem": "respons efter første HDT (tandem)",
}

VARIABLES_SHORT = {
    "ecog_ps": "ECOG", "comorbidity": "komorbiditet", "hdt_evaluated": "HDT-vurdering", "hdt_candidate": "HDT-kandidat",
    "sex": "køn", "creatinine_before_conditioning": "kreatinin", "weight_before_conditioning": "vægt",
    "height_weight_before_priming": "højde og vægt", "cytogenetics_before_induction": "FISH",
    "induction_cycles": "induktionsserier", "induction_cycle_length": "serielængde ind.",
    "consolidation_cycles": "konsolidering", "maintenance_cycle_length": "serielængde vedl.",
    "mrd_sensitivity": "MRD", "drug_dose": "dosis", "drug_days": "behandlingsdage",
    "response_after_first_asct_for_tandem": "respons (tandem)",
}

# the run's parameters (pipelines/parameters.py) in words
PARAMETERS_DA = {
    "hdt_age_limit": "aldersgrænse for HDT (år ved diagnosen)",
    "creatinine_umol_per_mg_dl": "omregning af kreatinin (µmol/L pr. mg/dL)",
    "tandem_max_days": "tandem: anden HDT højst så mange dage efter den første",
    "bsa_lookback_days": "højde og vægt til legemsoverfladeareal: dage før forløbsstart",
    "crcl_lookback_days": "kreatinin og vægt til kreatininclearance: dage før start",
    "crcl_threshold_ml_min": "kreatininclearance for reduceret melphalandosis (ml/min, under)",
    "risk_no_induction_days": "risikovurdering uden induktion: dage efter diagnosen",
    "risk_del17p_min_clone_pct": "højrisiko: del(17p) med klonfraktion mindst (%)",
    "risk_b2m_min_mg_l": "højrisiko: beta-2-mikroglobulin mindst (mg/L)",
    "risk_normal_creatinine_max_mg_dl": "normal nyrefunktion: kreatinin under (mg/dL)",
    "risk_b2m_creatinine_max_days": "kreatinin højst så mange dage fra beta-2-mikroglobulin",
    "risk_cpc_min_pct": "højrisiko: cirkulerende plasmaceller over (%)",
    "completeness_threshold": "datakomplethed: flag under denne andel",
    "mm01_window_days": "MM01: vindue efter diagnosen (dage)",
    "mm02_cycles": "MM02: antal induktionsserier",
    "mm02_cycles_long": "MM02: antal serier ved lange serier",
    "mm02_long_cycle_min_days": "MM02: lang serie mindst (dage)",
    "mm03_priming_lookback_days": "MM03: priming højst så mange dage før høst",
    "mm03_cyclophosphamide_mg_m2": "MM03: cyclophosphamid (mg/m²)",
    "mm03_tolerance": "MM03: tolerance på dosis",
    "mm04_full_mg_m2": "MM04: fuld melphalandosis (mg/m²)",
    "mm04_reduced_mg_m2": "MM04: reduceret melphalandosis (mg/m²)",
    "mm04_tolerance": "MM04: tolerance på dosis",
    "mm05_window_days": "MM05: HDT inden for (dage efter diagnosen)",
    "mm05_mrd_max_sensitivity": "MM05: MRD-sensitivitet mindst så dyb",
    "mm05_mrd_min_induction_cycles": "MM05: induktionsserier før MRD-negativitet, mindst",
    "mm06_window_start_day": "MM06: vinduets første dag efter HDT",
    "mm06_window_end_day": "MM06: vinduets sidste dag efter HDT",
    "mm06_days_after_consolidation": "MM06: dage efter konsolideringens afslutning",
    "mm07_dose_mg": "MM07: lenalidomiddosis (mg)",
    "mm07_days": "MM07: behandlingsdage i serien",
    "mm07_cycle_length_days": "MM07: seriens længde (dage)",
    "mm07_renal_crcl_ml_min": "MM07: kreatininclearance for dosisreduktion (ml/min, under)",
    "mm11_window_days": "MM11: henvisning senest dage efter HDT",
    "mm13_max_cycles": "MM13: konsolideringsserier højst",
    "mm13_max_cycles_high_risk": "MM13: konsolideringsserier højst ved højrisiko",
    "mm14_window_days": "MM14: dage efter HDT",
}

VERSIONS_DA = {
    "v1.5": "DMSG-retningslinjen «Primær behandling af myelomatose patienter, der er kandidater til højdosis "
            "kemoterapi», version 1.5; den tidligste version, auditten anvender, og derfor gældende for alle "
            "indeksdatoer før version 2.0",
    "v2.0": "version 2.0, administrativt godkendt 07-04-2026 (SundK); tilføjer firstofs-induktion, dual "
            "vedligeholdelse og MRD-styret udsættelse af HDT (anbefaling 6–9, retningslinjens tabel 1)",
}

CHANGE_PP = 0.01  # an arrow up or down from a change of at least one percentage point


def definition(sql_file: str) -> str:
    """The leading comment of an indicator's SQL file: its operational definition (English,
    for data engineers; the pages use the catalogue's Danish fields)."""
    lines = []
    for line in sql_text(sql_file).splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


# --------------------------------------------------------------------------- datagrundlag

@dataclass
class Basis:
    """What the figures rest on (read from the run's database; empty parts when absent)."""

    files: list[dict] = field(default_factory=list)          # file, sha256, encoding, rows_in, rows_clean, …
    patients: list[tuple[int, str, int]] = field(default_factory=list)   # (year, region, patients)
    quarantine: list[tuple[str, str, int]] = field(default_factory=list)  # (file, reason_code, rows)
    completeness: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def quarantined(self) -> int | None:
        if self.files:
            return sum(int(f.get("rows_quarantined") or 0) for f in self.files)
        return sum(n for _, _, n in self.quarantine) if self.quarantine else None


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[tuple] | None:
    con.complete()
    try:
        return con.execute(query, params or []).fetchall()
    except duckdb.CatalogException:
        return None


def load_basis(con: duckdb.DuckDBPyConnection, years: list[int]) -> Basis:
    """The datagrundlag of a run: ``raw_file_info``, ``stg_reconciliation``, ``stg_quarantine``,
    ``qa_patient_units`` and ``rpt_completeness`` (each optional)."""
    basis = Basis()
    files = _rows(con, "select file, sha256, encoding from raw_file_info order by file") or []
    counts = {r[0]: r[1:] for r in _rows(con, "select file, rows_in, rows_clean, rows_quarantined, "
                                              "duplicates_collapsed from stg_reconciliation") or []}
    for file, sha, encoding in files:
        rows_in, clean, quarantined, duplicates = counts.get(file, (None,) * 4)
        basis.files.append({"file": file, "sha256": sha, "encoding": encoding, "rows_in": rows_in,
                            "rows_clean": clean, "rows_quarantined": quarantined, "duplicates": duplicates})
    basis.quarantine = _rows(con, "select file, reason_code, count(*)::integer from stg_quarantine "
                                  "group by all order by 1, 2") or []
    if years:
        basis.patients = _rows(con, "select year(diagnosis_date)::integer, coalesce(region, 'ukendt'), "
                                    "count(*)::integer from qa_patient_units where year(diagnosis_date) "
                                    "between ? and ? group by all order by 1, 2", [min(years), max(years)]) or []
    con.complete()
    try:
        basis.completeness = con.table("rpt_completeness").pl()
    except duckdb.CatalogException:
        pass
    return basis


def _patient_table(basis: Basis, years: list[int], publication: bool) -> dict:
    """Patients in scope per year (columns) and region (rows), with Danmark; in the
    publication small counts are suppressed as the indicator tables are."""
    regions = sorted({r for _, r, _ in basis.patients})
    count = {(y, r): n for y, r, n in basis.patients}
    cells: dict[tuple[int, str], str] = {}
    for year in years:
        values = {r: count.get((year, r), 0) for r in regions}
        shown = {r: str(v) for r, v in values.items()} | {"Danmark": str(sum(values.values()))}
        if publication and regions:
            rows = [{"level": "national", "unit": "Danmark", "region": None, "hospital": None}] + [
                {"level": "region", "unit": r, "region": r, "hospital": None} for r in regions]
            for row in rows:
                n = sum(values.values()) if row["level"] == "national" else values[row["unit"]]
                row.update({c: 0 for c in small_cells.STATUS_COLUMNS}, met=n, denominator=n, total=n)
            for (i, column), marker in small_cells.protect(rows).items():
                if column == "met":
                    shown[rows[i]["unit"]] = marker
        for unit, text in shown.items():
            cells[(year, unit)] = text
    return {"regions": regions, "cells": cells}


def _completeness(basis: Basis, data: ReportData, publication: bool) -> dict:
    """Completeness per variable: Danmark and (internal) each department; shares below the
    threshold marked. The publication shows Danmark only, a share withheld when the variable
    is missing in 1–4 patients, and a variable that applies to 1–4 patients as ``<5`` with its
    share withheld (an independent review read "MRD-sensitivitet: 1 patient" in it)."""
    frame = basis.completeness
    if frame.is_empty():
        return {"variables": [], "departments": [], "threshold": None}
    variables = [v for v in VARIABLES_DA if v in set(frame["variable"].to_list())]
    variables += sorted(set(frame["variable"].to_list()) - set(variables))
    value = {}
    for r in frame.iter_rows(named=True):
        missing = (r["denominator"] or 0) - (r["present"] or 0)
        few = publication and (r["denominator"] or 0) in small_cells.SMALL
        hidden = publication and (missing in small_cells.SMALL or few)
        value[(r["level"], r["unit"], r["variable"])] = {
            "share": None if hidden else r["share"], "below": bool(r["below_threshold"]) and not hidden,
            "n": small_cells.PRIMARY if few else r["denominator"], "withheld": hidden}
    threshold = frame["threshold"].drop_nulls()
    departments = [] if publication else [
        {"code": d["department_code"], "name": d["department_name"], "hospital": d["hospital"], "region": d["region"],
         "cells": [value.get(("department", d["department_code"], v)) for v in variables]}
        for d in data.departments.sort(["region", "hospital", "department_name"], nulls_last=True).iter_rows(named=True)
        if any(value.get(("department", d["department_code"], v)) for v in variables)]
    return {"variables": [{"id": v, "label": VARIABLES_DA.get(v, v), "short": VARIABLES_SHORT.get(v, v),
                           "national": value.get(("national", "Danmark", v))} for v in variables],
            "departments": departments, "threshold": threshold[0] if threshold.len() else None}


def basis_context(basis: Basis, data: ReportData, publication: bool) -> dict:
    quarantine: dict[str, dict[str, int]] = defaultdict(dict)
    for file, code, n in basis.quarantine:
        quarantine[code][file] = n
    files = sorted({f for f, _, _ in basis.quarantine})
    return {
        "files": basis.files,
        "quarantined": basis.quarantined,
        "quarantine_files": files,
        "quarantine": [{"code": code, "label": REASONS_DA.get(code, code), "by_file": by_file,
                        "total": sum(by_file.values())}
                       for code, by_file in sorted(quarantine.items(), key=lambda kv: -sum(kv[1].values()))],
        "quarantine_by_file": {f: sum(n for f2, _, n in basis.quarantine if f2 == f) for f in files},
        "patients": _patient_table(basis, data.years, publication),
        "completeness": _completeness(basis, data, publication),
    }


# --------------------------------------------------------------------------- the figures

class Flags:
    """Data-quality flags (``rpt_quality_flags``, see ``data.quality_flags``) by figure.

    A row shows its own flags, and a hospital, region or Danmark also how many departments
    below it are flagged. A flag without an indicator applies to every indicator. With
    ``detail`` off (publication) the reasons, which may hold small counts, are left out."""

    def __init__(self, data: ReportData, detail: bool = True):
        self.detail = detail
        self.own: dict[tuple[str | None, str, str], list[tuple[str, str]]] = defaultdict(list)
        for r in data.quality_flags.iter_rows(named=True):
            self.own[(r["indicator_id"], r["level"], r["unit"])].append((r["flag"], r["reason"]))
        self.place = {r["department_code"]: (r["hospital"], r["region"]) for r in data.departments.iter_rows(named=True)}
        self.name = {r["department_code"]: r["department_name"] for r in data.departments.iter_rows(named=True)}

    def __bool__(self) -> bool:
        return bool(self.own)

    def _of(self, indicator: str, level: str, unit: str) -> list[tuple[str, str]]:
        return self.own.get((indicator, level, unit), []) + self.own.get((None, level, unit), [])

    def cell(self, indicator: str, level: str, unit: str) -> tuple[str, str]:
        own = self._of(indicator, level, unit)
        below = [] if level == "department" else [
            d for d, (hospital, region) in self.place.items()
            if (level == "national" or (level == "hospital" and hospital == unit)
                or (level == "region" and region == unit)) and self._of(indicator, "department", d)]
        text = []
        if own:
            text.append("⚑ " + ", ".join(dict.fromkeys(f for f, _ in own)))
        if below:
            text.append(f"⚑ {len(below)} afd.")
        if not self.detail:
            return " · ".join(text), ""
        title = [f"{f}: {_flag_reason_da(r)}" if r else f for f, r in own] + [self.name.get(d) or f"afdeling {d}" for d in below]
        return " · ".join(text), "; ".join(title)


_INCOMPLETE_VARIABLE = re.compile(r"\b([a-z][a-z0-9_]*) (\d+)%")


def _flag_reason_da(reason: str) -> str:
    """``hdt_evaluated 88%`` (rpt_quality_flags) as the pages name it: ``vurderet med henblik på HDT 88 %``."""
    return _INCOMPLETE_VARIABLE.sub(lambda m: f"{VARIABLES_DA.get(m.group(1), m.group(1))} {m.group(2)} %", reason)


LEVEL_NAME = {"hospital": "hospital", "region": "region", "national": "Danmark"}


class Fallback:
    """In the publication: the figure shown for a unit whose own proportion is withheld —
    its pooled years (``suppression.suppress(..., pool=...)``), else the nearest level above
    (hospital, region, Danmark) with a figure of that year or its pooled years."""

    def __init__(self, published: pl.DataFrame, pool: str):
        self.pool = pool
        self.rows: dict[tuple, dict] = {}
        for r in published.iter_rows(named=True):
            self.rows[(r["indicator_id"], r["year"], r["level"], r["unit"])] = r

    def _figure(self, indicator: str, year: str, level: str, unit: str | None) -> dict | None:
        r = self.rows.get((indicator, year, level, unit))
        return r if r and r["proportion"] is not None else None

    def of(self, row: dict) -> dict | None:
        indicator, year = row["indicator_id"], row["year"]
        pooled = self._figure(indicator, self.pool, row["level"], row["unit"])
        if pooled:
            return {"kind": "pooled", "row": pooled, "label": f"{self.pool.replace('-', '–')} samlet"}
        above = {"department": [("hospital", row.get("hospital")), ("region", row.get("region")),
                                ("national", "Danmark")],
                 "hospital": [("region", row.get("region")), ("national", "Danmark")],
                 "region": [("national", "Danmark")]}.get(row["level"], [])
        for level, unit in above:
            for period in (year, self.pool):
                figure = self._figure(indicator, period, level, unit)
                if figure:
                    where = "Danmark" if level == "national" else f"{LEVEL_NAME[level]} {unit}"
                    when = f"{period.replace('-', '–')} samlet" if period == self.pool else period
                    return {"kind": "above", "row": figure, "label": f"{where}, {when}"}
        return None


def _table_rows(frame: pl.DataFrame, publication: bool, flags: Flags, fallback: Fallback | None) -> list[dict]:
    rows = []
    for r in frame.iter_rows(named=True):
        suppressed = ({c for c in COUNTS if isinstance(r[c], str) and not r[c].isdigit()} if publication else set())
        flag, title = flags.cell(r["indicator_id"], r["level"], r["unit"])
        shown = fallback.of(r) if fallback is not None and r["proportion"] is None and r["denominator"] != "0" else None
        counts = {c: int(r[c]) for c in COUNTS if isinstance(r[c], str) and r[c].isdigit()}  # shown as 1.234
        rows.append({**r, **counts, "suppressed": suppressed, "flag": flag, "flag_title": title, "fallback": shown})
    return rows


def _int(value) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def funnel_points(frame: pl.DataFrame) -> list[FunnelPoint]:
    """Departments with a shown numerator and denominator (published or internal)."""
    points = []
    for r in frame.filter(pl.col("level") == "department").iter_rows(named=True):
        numerator, denominator = _int(r["met"]), _int(r["denominator"])
        if numerator is not None and denominator and not r.get("withheld", False):
            points.append(FunnelPoint(r["unit"], r["unit_name"], numerator, denominator))
    return points


def pooled_points(part: pl.DataFrame, pool: str, level: str = "department") -> list[FunnelPoint]:
    """In the publication, each unit's years together: its pooled row where one is published,
    else the sum of its years when every year's numerator and denominator is published (a
    sum of published numbers tells nothing new)."""
    yearly: dict[str, list[dict]] = defaultdict(list)
    pooled: dict[str, dict] = {}
    names = {}
    for r in part.filter(pl.col("level") == level).iter_rows(named=True):
        names[r["unit"]] = r["unit_name"]
        (pooled.__setitem__(r["unit"], r) if r["year"] == pool else yearly[r["unit"]].append(r))
    points = []
    for unit in names:
        row = pooled.get(unit)
        if row is not None and row["met"].isdigit() and row["denominator"].isdigit():
            numerator, denominator = int(row["met"]), int(row["denominator"])
        elif row is None and all(r["met"].isdigit() and r["denominator"].isdigit() for r in yearly[unit]):
            numerator = sum(int(r["met"]) for r in yearly[unit])
            denominator = sum(int(r["denominator"]) for r in yearly[unit])
        else:
            continue
        if denominator and not (numerator in small_cells.SMALL or denominator in small_cells.SMALL
                                or denominator - numerator in small_cells.SMALL):
            points.append(FunnelPoint(unit, names[unit], numerator, denominator))
    return points


def national_value(frame: pl.DataFrame, indicator: str, year: int | str) -> dict | None:
    row = frame.filter((pl.col("indicator_id") == indicator) & (pl.col("year") == year) & (pl.col("level") == "national"))
    return row.row(0, named=True) if row.height else None


def trend_series(frame: pl.DataFrame, indicator: str, years: list[int], level: str = "national",
                 unit: str = "Danmark", name: str = "Danmark", style: str = "main") -> TrendSeries:
    points = {}
    part = frame.filter((pl.col("indicator_id") == indicator) & (pl.col("level") == level) & (pl.col("unit") == unit))
    for r in part.iter_rows(named=True):
        year = int(r["year"]) if str(r["year"]).isdigit() else None
        if year in years and r["proportion"] is not None:
            points[year] = (r["proportion"], r["ci_low"], r["ci_high"])
    return TrendSeries(name, points, style)


def _arrow(now: float | None, before: float | None) -> dict | None:
    if now is None or before is None:
        return None
    change = now - before
    # one decimal, or two where one would round across the arrow's threshold (−0,98 is not −1,0)
    digits = 1 if (abs(round(change * 100, 1)) >= CHANGE_PP * 100) == (abs(change) >= CHANGE_PP) else 2
    points = f"{change * 100:+.{digits}f}".replace(".", ",").replace("-", "−")
    if change >= CHANGE_PP:
        return {"symbol": "▲", "kind": "up", "title": f"steget {points} procentpoint"}
    if change <= -CHANGE_PP:
        return {"symbol": "▼", "kind": "down", "title": f"faldet {points} procentpoint"}
    return {"symbol": "►", "kind": "same", "title": f"uændret ({points} procentpoint)"}


def overview(table: pl.DataFrame, years: list[int], fallback: Fallback | None) -> list[dict]:
    """Per indicator the national figure of each year, the change arrow and standard met."""
    out = []
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        cells, previous = [], None
        for year in years:
            key = str(year) if fallback is not None else year
            row = national_value(table, iid, key)
            figure = row if row and row["proportion"] is not None else None
            shown = fallback.of(row) if fallback is not None and row is not None and figure is None else None
            proportion = figure["proportion"] if figure else None
            cells.append({"year": year, "row": row, "figure": figure, "fallback": shown,
                          "arrow": _arrow(proportion, previous)})
            previous = proportion
        current = cells[-1]["figure"] if cells else None
        out.append({"id": iid, "title_da": indicator.title_da, "standard": indicator.standard,
                    "informational": indicator.informational, "cells": cells,
                    "standard_met": current["standard_met"] if current else None, "current": cells[-1] if cells else None})
    return out


def indicator_sections(data: ReportData, table: pl.DataFrame, publication: bool, flags: Flags,
                       comments: dict[str, IndicatorComments], fallback: Fallback | None = None) -> list[dict]:
    sections = []
    current = data.current_year
    key = (lambda y: str(y)) if publication else (lambda y: y)
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        part = table.filter(pl.col("indicator_id") == iid)
        national = national_value(table, iid, key(current)) if current is not None else None
        theta = national["proportion"] if national else None
        points = funnel_points(part.filter(pl.col("year") == key(current))) if current is not None else []
        outliers = []
        for p in points:
            where = position(p.numerator, p.denominator, theta) if theta is not None else "none"
            if where not in ("inside", "none"):
                outliers.append({"label": p.label, "text": POSITION_TEXT[where]})
        funnel_title, funnel_when = f"{iid}: afdelinger {current}", str(current)
        if publication and fallback is not None and fallback.pool and len(points) < 3:
            # too few departments in the year: their three years together, around Danmark's
            together = pooled_points(part, fallback.pool)
            everyone = pooled_points(part, fallback.pool, "national")
            if len(together) > len(points) and everyone:
                points, theta = together, everyone[0].numerator / everyone[0].denominator
                funnel_when = f"{fallback.pool.replace('-', '–')} samlet"
                funnel_title = f"{iid}: afdelinger {funnel_when}"
                outliers = [{"label": p.label, "text": POSITION_TEXT[where]} for p in points
                            if (where := position(p.numerator, p.denominator, theta)) not in ("inside", "none")]
        notes = comments.get(iid, IndicatorComments())
        pooled = part.filter(pl.col("pooled")) if publication and "pooled" in part.columns else part.clear()
        sections.append({
            "id": iid, "title_da": indicator.title_da, "recommendations": indicator.recommendations,
            "grade": indicator.grade, "standard": indicator.standard, "informational": indicator.informational,
            "index_date": indicator.index_date_da, "population": indicator.population_da,
            "decision_date": indicator.decision_date_da, "valid_from": indicator.valid_from_version,
            "trend": charts.trend_svg([trend_series(table, iid, data.years)], data.years, indicator.standard,
                                      f"{iid}: andel pr. år, Danmark"),
            "funnel": charts.funnel_svg(points, theta, indicator.standard, funnel_title),
            "outliers": outliers, "funnel_when": funnel_when,
            "general": notes.general,
            "comments": [{"year": year, "text": notes.of(year)} for year in reversed(data.years)],
            "tables": [{"year": year, "rows": _table_rows(part.filter((pl.col("year") == key(year))), publication,
                                                          flags, fallback)}
                       for year in reversed(data.years)],
            "pooled": [r for r in pooled.iter_rows(named=True)],
        })
    return sections


def method_context(data: ReportData, parameters: dict | None) -> dict:
    values = parameters if parameters is not None else audit_parameters.resolve()
    return {
        "indicators": [{"id": i.indicator_id, "title_da": i.title_da, "recommendations": i.recommendations,
                        "grade": i.grade, "index_date": i.index_date_da, "decision_date": i.decision_date_da,
                        "population": i.population_da, "valid_from": i.valid_from_version, "standard": i.standard}
                       for i in CATALOGUE],
        "versions": [{**v, "description_da": VERSIONS_DA.get(v["version"], v["description"])}
                     for v in data.guideline_versions],
        "parameters": [(name, PARAMETERS_DA.get(name, name), parameter_value_da(name, value))
                       for name, value in values.items()],
    }


def parameter_value_da(name: str, value: object) -> str:
    """A parameter's value as the steering group reads it: a share in per cent (a tolerance as
    ``± 10 %``), an MRD sensitivity as a power of ten, thousands with a dot, a decimal comma."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if name.endswith("_tolerance"):
        return f"± {danish.tal(100 * value, 1)} %"
    if name == "completeness_threshold":
        return f"{danish.tal(100 * value, 1)} %"
    if name.endswith("_sensitivity"):
        return danish.ti_i(float(value))
    return danish.tal(value, 4)


def pool_label(years: list[int]) -> str | None:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else None


def _to_publish(data: ReportData) -> pl.DataFrame:
    return data.summary.filter(pl.col("year").is_in(data.years))


def start_publishing(data: ReportData) -> None:
    """The publication's suppression started now (``suppression.start_ahead``), for
    :func:`publishing` of the same report data to take later."""
    suppression.start_ahead(_to_publish(data), pool=pool_label(data.years))


@contextmanager
def publishing(data: ReportData) -> Iterator[Callable[[], pl.DataFrame]]:
    """The suppressed summary of the report years, with pooled rows, started
    (``suppression.suppressing``, or taken when ``start_publishing`` started it): the
    function it yields waits for the suppression and returns the table."""
    label = pool_label(data.years)
    with suppression.suppressing(_to_publish(data), pool=label) as suppressed:
        def table() -> pl.DataFrame:
            published = suppressed()
            if label is None:  # no years: the same columns as a pooled table
                published = published.with_columns(pl.col("year").cast(pl.String), pooled=pl.lit(False))
            return published
        yield table


# the contract's columns of indicator_summary.csv (indicators.md §3 + the data-quality flag)
SUMMARY_COLUMNS = ["indicator_id", "year", "level", "unit", "met", "not_met", "unknown", "justified", "excluded",
                   "pending", "numerator", "denominator", "proportion", "ci_low", "ci_high", "standard",
                   "standard_met", "quality_flag", "quality_note"]


def write_publication_csv(published: pl.DataFrame, path: Path, flags: pl.DataFrame | None = None) -> int:
    """The publication CSV in the contract's format and columns (``indicator_summary.csv``:
    UTF-8, comma, decimal point): suppressed counts as ``<5``/``x``, withheld figures empty,
    pooled rows with ``year`` = ``2024-2026``; ``quality_note`` (which may hold small counts)
    is left empty."""
    flagged = set()
    if flags is not None:
        flagged = {(r["indicator_id"], r["level"], r["unit"]) for r in flags.iter_rows(named=True)}
    frame = published.with_columns(
        numerator=pl.col("met"),
        quality_flag=pl.struct("indicator_id", "level", "unit").map_elements(
            lambda r: (r["indicator_id"], r["level"], r["unit"]) in flagged, return_dtype=pl.Boolean)
        if flagged else pl.lit(False),
        quality_note=pl.lit(None, pl.String),
    ).select(SUMMARY_COLUMNS)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_frame(frame).write_csv(path, separator=",")
    return frame.height


def preview(data: ReportData) -> str:
    """Markdown table of the national figures of the current year (for the asset's metadata)."""
    lines = [f"| indikator | {data.current_year} | tæller/nævner | standard | opfyldt |", "|---|---|---|---|---|"]
    for indicator in CATALOGUE:
        row = national_value(data.summary, indicator.indicator_id, data.current_year) if data.current_year else None
        if row:
            met = "–" if row["standard_met"] is None else ("ja" if row["standard_met"] else "nej")
            standard = charts.pct(indicator.standard, 0) if indicator.standard is not None else "–"
            lines.append(f"| {indicator.indicator_id} | {charts.pct(row['proportion'])} | {row['numerator']}/"
                         f"{row['denominator']} | {standard} | {met} |")
    return "\n".join(lines)


def published_counts(published: pl.DataFrame) -> dict:
    """Published figures that carry a proportion: yearly rows, pooled rows, and the unit-years
    that show one (their own, their pooled years', or the level above's)."""
    yearly = published.filter(~pl.col("pooled"))
    fallback = Fallback(published, pool_label(sorted({int(y) for y in yearly["year"].to_list()})) or "")
    informed = {"own": 0, "pooled": 0, "above": 0, "none": 0}
    for r in yearly.iter_rows(named=True):
        if r["denominator"] == "0":
            continue
        if r["proportion"] is not None:
            informed["own"] += 1
        else:
            shown = fallback.of(r)
            informed[shown["kind"] if shown else "none"] += 1
    return {"proportions_yearly": int(yearly["proportion"].is_not_null().sum()),
            "proportions_pooled": int(published.filter(pl.col("pooled"))["proportion"].is_not_null().sum()),
            **{f"unit_years_{k}": v for k, v in informed.items()}}


def css_string(text: str) -> Markup:
    """``text`` as a CSS string literal (for ``@page`` margin boxes inside ``<style>``)."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace(">", "\\3e ")
               .replace("\n", " "))
    return Markup(f'"{escaped}"')


def _dato(value) -> str | None:
    if value is None:
        return None
    value = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return value.strftime("%d-%m-%Y")


def write_national_reports(data: ReportData, out_dir: Path, *, parameters: dict | None = None,
                           comparison: dict | None = None, page_context: dict | None = None,
                           basis: Basis | None = None, comments: dict[str, IndicatorComments] | None = None) -> dict:
    """Both national reports, the publication CSV and ``indicator_summary.xlsx``; returns
    counts for the asset's metadata."""
    page_context = dict(page_context or {})
    page_context["extract_date"] = _dato(data.extract_date) or _dato(page_context.get("extract_date"))
    basis = basis or Basis()
    comments = comments or {}
    flags = Flags(data)
    method = method_context(data, parameters)
    internal = data.summary.filter(pl.col("year").is_in(data.years))
    # the extract's own year is a part year (its index dates up to the extract date)
    partial_year = data.extract_date.year if data.extract_date and (data.extract_date.month, data.extract_date.day) != (12, 31) else None
    common = dict(years=data.years, current_year=data.current_year, method=method, flags=bool(flags),
                  partial_year=partial_year,
                  # the folder, not its index: the validation process may still be writing the pages
                  quality=(out_dir / "quality").is_dir(), **page_context)
    extract = f"Udtræk {page_context.get('extract_id') or '–'}"
    if page_context.get("extract_date") and page_context["extract_date"] not in extract:
        extract += f" · udtræksdato {page_context['extract_date']}"
    running = {False: "Myelomatose – national årsrapport · intern udgave",
               True: "Myelomatose – national årsrapport · publikationsudgave"}
    with publishing(data) as publication:  # suppressed by forked processes while the internal report is written
        html.write(out_dir / "national_report.html", "national.html.j2", title=TITLE,
                   subtitle="Intern udgave (ikke diskretioneret) · DMSG-retningslinjen for HDT-kandidater",
                   publication=False, pool=None, pool_key=None, overview=overview(internal, data.years, None),
                   running_left=css_string(running[False]), running_right=css_string(extract),
                   basis=basis_context(basis, data, False),
                   indicators=indicator_sections(data, internal, False, flags, comments),
                   comparison=comparison, **common)
        published = publication()
    write_publication_csv(published, out_dir / "indicator_summary_publication.csv", data.quality_flags)
    pool = pool_label(data.years)
    fallback = Fallback(published, pool or "")
    html.write(out_dir / "national_report_publication.html", "national.html.j2", title=TITLE,
               subtitle="Publikationsudgave med diskretionering af små tal · DMSG-retningslinjen for HDT-kandidater",
               publication=True, pool=pool.replace("-", "–") if pool else None, pool_key=pool,
               overview=overview(published, data.years, fallback), basis=basis_context(basis, data, True),
               running_left=css_string(running[True]), running_right=css_string(extract),
               indicators=indicator_sections(data, published, True, Flags(data, detail=False), comments, fallback),
               comparison=None, **common)
    yearly = published.filter(~pl.col("pooled"))
    cells = [v for c in COUNTS for v in yearly[c].to_list()]
    return {
        "preview_md": preview(data),
        "summary_rows": internal.height,
        "suppressed_lt5": sum(v == small_cells.PRIMARY for v in cells),
        "suppressed_x": sum(v == small_cells.COMPLEMENT for v in cells),
        "withheld_proportions": int(yearly["withheld"].sum()),
        **published_counts(published),
    }


__all__ = ["BY_ID", "Basis", "load_basis", "write_national_reports"]
