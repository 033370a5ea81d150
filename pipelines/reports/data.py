"""What the reports read from DuckDB, loaded once into polars frames.

SQL lives in ``sql/reports/rpt_report_*.sql`` (read through the one SQL loader); the only
table this layer creates is ``rpt_report_departments``, which those queries read. Optional
inputs (``rpt_quality_flags``, ``raw_delivery_info``) are read when present and are empty
otherwise; the guideline versions come from ``sql/reference/guideline_versions.csv``.

Patient rows are the bulk of the data (several per patient), so ``load`` reads only those a
report needs (``patients``): ``"period"``, the rows of the audit period (``--period``: index
date in the period) and every row still pending — what the department lists and the
dashboards show; ``"all"``; or ``"none"`` (the national report, which reads the summary).
Patient rows carry the patient's risk as the clinician reads it (``risk_text``, from
``int_risk.risk_text_da`` when that table is there).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import polars as pl

from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.labels import extract_label_of
from pipelines.lib.period import AuditPeriod, resolve_period
from pipelines.lib.sql_loader import SQL_DIR, create_table, sql_text

STATUSES = ("met", "not_met", "unknown", "justified", "excluded", "pending")
DEVIATIONS = ("not_met", "unknown", "justified")
# Informational indicators (no standard: the treatment is not recommended by Medicinrådet)
# report uptake; their not_met rows are never deviations (indicators.md, MM08, MM09, MM12).
INFORMATIONAL = tuple(i.indicator_id for i in CATALOGUE if i.informational)


def is_deviation() -> pl.Expr:
    return pl.col("status").is_in(DEVIATIONS) & ~pl.col("indicator_id").is_in(INFORMATIONAL)


LEVEL_DA = {"national": "Land", "region": "Region", "hospital": "Hospital", "department": "Afdeling"}
UNKNOWN_DEPARTMENT = "(ukendt afdeling)"


def _finish(con: duckdb.DuckDBPyConnection) -> None:
    """Run any unread result of ``execute()`` to its end (DuckDB 2.0 refuses other work until then)."""
    con.complete()


def _query(con: duckdb.DuckDBPyConnection, relpath: str) -> pl.DataFrame:
    _finish(con)
    return con.sql(sql_text(relpath).strip().rstrip(";")).pl()


def _optional_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame | None:
    _finish(con)
    try:
        return con.table(table).pl()
    except duckdb.CatalogException:
        return None


@dataclass
class ReportData:
    summary: pl.DataFrame            # rpt_report_summary
    patients: pl.DataFrame           # rpt_report_patients (the rows ``load`` was asked for)
    departments: pl.DataFrame        # rpt_report_departments
    quality_flags: pl.DataFrame      # flagged figures: indicator_id, level, unit, flag, reason (maybe empty)
    years: list[int]                 # the report's years, oldest first (current and the two before)
    extract_id: str | None = None    # the extract's safe label (date and checksum), for public pages
    extract_date: date | None = None
    guideline_versions: list[dict] = field(default_factory=list)
    period: AuditPeriod | None = None  # the department lists' and dashboards' audit period
    delivered_id: str | None = None    # the extract id as delivered (CPR-shaped parts pseudonymised)

    @property
    def current_year(self) -> int | None:
        return self.years[-1] if self.years else None

    def page_context(self) -> dict:
        """Every page's header: the extract's id and date."""
        return {"extract_id": self.extract_id,
                "extract_date": self.extract_date.isoformat() if self.extract_date else None}


def guideline_versions() -> list[dict]:
    """The guideline versions as the audit knows them (``sql/reference/guideline_versions.csv``)."""
    with open(SQL_DIR / "reference" / "guideline_versions.csv", encoding="utf-8", newline="") as handle:
        return [{"version": r["version"], "valid_from": r["valid_from"] or None, "description": r["description"]}
                for r in csv.DictReader(handle)]


FLAG_SCHEMA = {"indicator_id": pl.String, "level": pl.String, "unit": pl.String, "flag": pl.String, "reason": pl.String}


def quality_flags(table: pl.DataFrame | None) -> pl.DataFrame:
    """The flagged figures as ``indicator_id, level, unit, flag, reason`` (only flagged rows).

    Reads either shape of ``rpt_quality_flags``: per indicator × unit (``indicator_id, level,
    unit, failed_blocking_check, blocking_checks, below_completeness, incomplete_variables,
    quality_flag``: the quality layer's), or per department (``indicator_id, department_code,
    flag, reason``; no department = Danmark, no indicator = every indicator)."""
    if table is None or table.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    if {"level", "unit", "quality_flag"} <= set(table.columns):
        rows = []
        for r in table.filter(pl.col("quality_flag").fill_null(False)).iter_rows(named=True):
            if r.get("failed_blocking_check") or r.get("blocking_checks"):
                rows.append((r["indicator_id"], r["level"], r["unit"], "fejlet kontrol", r.get("blocking_checks") or ""))
            if r.get("below_completeness") or r.get("incomplete_variables"):
                rows.append((r["indicator_id"], r["level"], r["unit"], "lav komplethed",
                             r.get("incomplete_variables") or ""))
            if not (r.get("blocking_checks") or r.get("incomplete_variables") or r.get("failed_blocking_check")
                    or r.get("below_completeness")):
                rows.append((r["indicator_id"], r["level"], r["unit"], "datakvalitet", ""))
        return pl.DataFrame(rows, schema=FLAG_SCHEMA, orient="row")
    if {"department_code", "flag"} <= set(table.columns):
        return table.select(
            pl.col("indicator_id").cast(pl.String),
            level=pl.when(pl.col("department_code").is_null()).then(pl.lit("national")).otherwise(pl.lit("department")),
            unit=pl.col("department_code").cast(pl.String).fill_null("Danmark"),
            flag=pl.col("flag").cast(pl.String).fill_null("datakvalitet"),
            reason=(pl.col("reason").cast(pl.String) if "reason" in table.columns else pl.lit(None, pl.String)).fill_null(""),
        )
    raise ValueError(f"rpt_quality_flags has unexpected columns: {', '.join(table.columns)}")


PATIENT_SCOPES = ("period", "all", "none")


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    _finish(con)
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?", [table]).fetchall()[0][0])


def _patients(con: duckdb.DuckDBPyConnection, scope: str, period: AuditPeriod | None) -> pl.DataFrame:
    base = sql_text("reports/rpt_report_patients.sql").strip().rstrip(";")
    if scope not in PATIENT_SCOPES:
        raise ValueError(f"patients must be one of {', '.join(PATIENT_SCOPES)}, not {scope!r}")
    condition, values = {"all": ("true", []), "none": ("false", [])}.get(scope, (None, None))
    if condition is None:  # the period's rows and every row still pending
        condition = "(index_date between ?::date and ?::date) or status = 'pending'"
        values = [period.start.isoformat(), period.end.isoformat()] if period else ["0001-01-01", "9999-12-31"]
    risk = ("left join (select pseudonym, any_value(risk_text_da) as risk_text from int_risk group by pseudonym) "
            "as risk using (pseudonym)" if _has_table(con, "int_risk") else "")
    text = "risk.risk_text" if risk else "null::varchar"
    _finish(con)
    return con.sql(f"select patients.*, {text} as risk_text from ({base}) as patients {risk} where {condition} "
                   "order by department_code, indicator_id, index_date, pseudonym", params=values).pl()


def _extract_date(con: duckdb.DuckDBPyConnection, info: pl.DataFrame | None) -> date | None:
    """The extract date of the run; without ``raw_delivery_info`` (reports built from given
    rows) the day after the latest index date."""
    if info is not None and info.height and "extract_date" in info.columns:
        return info["extract_date"][0]
    _finish(con)
    latest = con.execute("select max(index_date) from rpt_patient_results").fetchall()[0][0]
    return latest + timedelta(days=1) if latest else None


def load(con: duckdb.DuckDBPyConnection, report_year: int | None = None, *, patients: str = "all",
         period: str | AuditPeriod | None = None) -> ReportData:
    """The report inputs; ``period`` (``--period``, default ``12m``) chooses the rows of the
    department lists and dashboards (``patients="period"``)."""
    create_table(con, "rpt_report_departments", "reports/rpt_report_departments.sql")
    departments = _query(con, "reports/rpt_report_departments.sql")
    summary = _query(con, "reports/rpt_report_summary.sql").with_columns(
        pl.col("unit").fill_null(UNKNOWN_DEPARTMENT), pl.col("unit_name").fill_null(UNKNOWN_DEPARTMENT),
        total=pl.sum_horizontal(*STATUSES))
    present = sorted(y for y in summary["year"].unique().to_list() if y is not None)
    current = report_year if report_year is not None else (present[-1] if present else None)
    years = [current - 2, current - 1, current] if current is not None else []
    info = _optional_table(con, "raw_delivery_info")
    day = _extract_date(con, info)
    audit_period = period if isinstance(period, AuditPeriod) else (resolve_period(period, day) if day else None)
    patient_rows = _patients(con, patients, audit_period).with_columns(
        pl.col("department_code").fill_null(UNKNOWN_DEPARTMENT),
        pl.col("department_name").fill_null(UNKNOWN_DEPARTMENT))
    departments = departments.with_columns(pl.col("department_code").fill_null(UNKNOWN_DEPARTMENT),
                                           pl.col("department_name").fill_null(UNKNOWN_DEPARTMENT))
    flags = quality_flags(_optional_table(con, "rpt_quality_flags"))
    extract_id = extract_date = delivered = None
    if info is not None and info.height and {"extract_id", "extract_date"} <= set(info.columns):
        # public pages show the extract by a safe label (date and checksum), never a delivered string
        extract_id, extract_date, delivered = extract_label_of(con), info["extract_date"][0], info["extract_id"][0]
    return ReportData(summary=summary, patients=patient_rows, departments=departments, quality_flags=flags,
                      years=years, extract_id=extract_id, extract_date=extract_date,
                      guideline_versions=guideline_versions(), period=audit_period, delivered_id=delivered)
