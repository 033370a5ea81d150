"""The national report: ``national_report.html`` (internal, unsuppressed) and the publication
variant ``national_report_publication.html`` + ``indicator_summary_publication.csv``
(small cells suppressed, ``suppression.py``).

Per indicator (titles, recommendation, grade, standard from the catalogue): a trend chart,
a funnel plot of the departments in the current year, and per year (current and the two
before) a table Danmark → regions → hospitals → departments. The method section is
generated from the catalogue, the indicators' SQL headers, the guideline versions and the
run's parameters.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import polars as pl

from pipelines import parameters as audit_parameters
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.sql_loader import sql_text
from pipelines.reports import charts, html, suppression
from pipelines.reports.charts import FunnelPoint, TrendSeries
from pipelines.reports.data import ReportData
from pipelines.reports.files import write_danish_csv
from pipelines.reports.funnel import POSITION_TEXT, position

COUNTS = suppression.COUNT_COLUMNS


def definition(sql_file: str) -> str:
    """The leading comment of an indicator's SQL file: its operational definition."""
    lines = []
    for line in sql_text(sql_file).splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


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
        title = [f"{f}: {r}" if r else f for f, r in own] + [f"afdeling {d}" for d in below]
        return " · ".join(text), "; ".join(title)


def _rows(frame: pl.DataFrame, publication: bool, flags: Flags) -> list[dict]:
    rows = []
    for r in frame.iter_rows(named=True):
        suppressed = {c for c in COUNTS if isinstance(r[c], str) and not r[c].isdigit()} if publication else set()
        flag, title = flags.cell(r["indicator_id"], r["level"], r["unit"])
        rows.append({**r, "suppressed": suppressed, "flag": flag, "flag_title": title})
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


def national_value(frame: pl.DataFrame, indicator: str, year: int) -> dict | None:
    row = frame.filter((pl.col("indicator_id") == indicator) & (pl.col("year") == year) & (pl.col("level") == "national"))
    return row.row(0, named=True) if row.height else None


def trend_series(frame: pl.DataFrame, indicator: str, years: list[int], level: str = "national",
                 unit: str = "Danmark", name: str = "Danmark", style: str = "main") -> TrendSeries:
    points = {}
    part = frame.filter((pl.col("indicator_id") == indicator) & (pl.col("level") == level) & (pl.col("unit") == unit))
    for r in part.iter_rows(named=True):
        if r["year"] in years and r["proportion"] is not None:
            points[r["year"]] = (r["proportion"], r["ci_low"], r["ci_high"])
    return TrendSeries(name, points, style)


def indicator_sections(data: ReportData, table: pl.DataFrame, publication: bool, flags: Flags) -> list[dict]:
    sections = []
    current = data.current_year
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        part = table.filter(pl.col("indicator_id") == iid)
        national = national_value(table, iid, current) if current is not None else None
        theta = national["proportion"] if national else None
        points = funnel_points(part.filter(pl.col("year") == current)) if current is not None else []
        outliers = []
        for p in points:
            where = position(p.numerator, p.denominator, theta) if theta is not None else "none"
            if where not in ("inside", "none"):
                outliers.append({"label": p.label, "text": POSITION_TEXT[where]})
        sections.append({
            "id": iid, "title_da": indicator.title_da, "title_en": indicator.title_en,
            "recommendations": indicator.recommendations, "grade": indicator.grade, "standard": indicator.standard,
            "index_date": indicator.index_date_description, "valid_from": indicator.valid_from_version,
            "trend": charts.trend_svg([trend_series(table, iid, data.years)], data.years, indicator.standard,
                                      f"{iid}: andel pr. år, Danmark"),
            "funnel": charts.funnel_svg(points, theta, indicator.standard, f"{iid}: afdelinger {current}"),
            "outliers": outliers,
            "tables": [{"year": year, "rows": _rows(part.filter(pl.col("year") == year), publication, flags)}
                       for year in reversed(data.years)],
        })
    return sections


def method_context(data: ReportData, parameters: dict | None) -> dict:
    values = parameters if parameters is not None else audit_parameters.resolve()
    return {
        "indicators": [{"id": i.indicator_id, "title_da": i.title_da, "title_en": i.title_en,
                        "recommendations": i.recommendations, "grade": i.grade, "index_date": i.index_date_description,
                        "valid_from": i.valid_from_version, "standard": i.standard, "definition": definition(i.sql_file)}
                       for i in CATALOGUE],
        "versions": data.guideline_versions,
        "parameters": [(name, str(value).replace(".", ",") if isinstance(value, float) else str(value))
                       for name, value in values.items()],
    }


def publication_table(data: ReportData) -> pl.DataFrame:
    """The suppressed summary of the report years."""
    return suppression.suppress(data.summary.filter(pl.col("year").is_in(data.years)))


PUBLICATION_CSV_COLUMNS = ["indicator_id", "year", "level", "region", "hospital", "unit", "unit_name", "met", "not_met",
                           "unknown", "justified", "excluded", "pending", "numerator", "denominator", "total",
                           "proportion", "ci_low", "ci_high", "proportion_known", "standard", "standard_met"]


def write_publication_csv(published: pl.DataFrame, path: Path) -> int:
    frame = published.with_columns(
        numerator=pl.col("met"),
        standard_met=pl.when(pl.col("standard_met").is_null()).then(pl.lit(None, pl.String))
        .when(pl.col("standard_met")).then(pl.lit("ja")).otherwise(pl.lit("nej")),
    ).select(PUBLICATION_CSV_COLUMNS)
    return write_danish_csv(frame, path)


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


def write_national_reports(data: ReportData, out_dir: Path, *, parameters: dict | None = None,
                           comparison: dict | None = None, page_context: dict | None = None) -> dict:
    """Both national reports and the publication CSV; returns counts for the asset's metadata."""
    page_context = page_context or {}
    flags = Flags(data)
    method = method_context(data, parameters)
    flags_note = ("Datakvalitet: flag fra rpt_quality_flags." if flags
                  else "Datakvalitet: ingen flag (tabellen rpt_quality_flags findes ikke eller er tom).")
    internal = data.summary.filter(pl.col("year").is_in(data.years))
    common = dict(years=data.years, current_year=data.current_year, method=method, flags_note=flags_note, **page_context)
    html.write(out_dir / "national_report.html", "national.html.j2",
               title="Myelomatose: kvalitetsindikatorer for primær behandling – national rapport",
               subtitle="National report (internal, unsuppressed) · DMSG-retningslinjen for HDT-kandidater",
               publication=False, indicators=indicator_sections(data, internal, False, flags),
               comparison=comparison, **common)
    published = publication_table(data)
    write_publication_csv(published, out_dir / "indicator_summary_publication.csv")
    html.write(out_dir / "national_report_publication.html", "national.html.j2",
               title="Myelomatose: kvalitetsindikatorer for primær behandling – national rapport",
               subtitle="Publikationsudgave med diskretionering (publication version, small cells suppressed)",
               publication=True, indicators=indicator_sections(data, published, True, Flags(data, detail=False)),
               comparison=None,
               **common)
    cells = [v for c in COUNTS for v in published[c].to_list()]
    return {
        "preview_md": preview(data),
        "summary_rows": internal.height,
        "suppressed_lt5": sum(v == suppression.PRIMARY for v in cells),
        "suppressed_x": sum(v == suppression.COMPLEMENT for v in cells),
        "withheld_proportions": int(published["withheld"].sum()),
    }
