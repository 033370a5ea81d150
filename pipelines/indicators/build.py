"""Build the reference, intermediate, indicator and report tables from the staging tables.

Pure functions on a DuckDB connection, no Dagster (``assets.py`` wraps them). Every table is
one SQL file: the two ``sql/reference/ref_*.sql``, every ``sql/intermediate/int_*.sql`` (found
by name), ``sql/indicators/<file>`` per catalogue entry, and ``sql/reports/rpt_patient_results``
and ``rpt_indicator_summary``. The tables a file
reads are found in its text, which gives the build order and the assets' dependencies, so a
new derived fact is one new file.

A session must be prepared first (``prepare_session``): run parameters and the extract date
become SQL variables, and the shared macros are created.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from graphlib import TopologicalSorter

import duckdb

from pipelines import parameters as audit_parameters
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.extract_format import FILES
from pipelines.lib.sql_loader import SQL_DIR, create_table, run_sql, set_variables, sql_text

MACROS = "macros/indicator_macros.sql"
GUIDELINE_VERSIONS_CSV = SQL_DIR / "reference" / "guideline_versions.csv"
STAGING_TABLES: tuple[str, ...] = tuple(f.stg_table for f in FILES)
LAYERS = ("reference", "intermediate", "indicators", "reports")
REFERENCE_TABLES = ("ref_guideline_versions", "ref_indicator_catalogue")
RESULT_SHAPE = "indicators/_result.sql"   # wraps every ind_ file's judged rows
REPORT_TABLES = ("rpt_patient_results", "rpt_indicator_summary")  # other rpt_ files belong to publishing
BY_TABLE = {i.table_name: i for i in CATALOGUE}
STATUSES = ("met", "not_met", "unknown", "justified", "excluded", "pending")


@dataclass(frozen=True)
class Model:
    """One table built from one SQL file."""

    table: str
    relpath: str
    layer: str
    deps: tuple[str, ...]       # tables it reads (staging or earlier layers)
    description: str            # the file's leading comment


def _description(relpath: str) -> str:
    lines = []
    for line in (SQL_DIR / relpath).read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


def _reads(relpath: str, known: set[str], table: str) -> tuple[str, ...]:
    words = set(re.findall(r"\b(?:stg|ref|int|ind|rpt)_[a-z0-9_]+\b", (SQL_DIR / relpath).read_text(encoding="utf-8")))
    return tuple(sorted((words & known) - {table}))


def _layer_files() -> list[tuple[str, str, str]]:
    """(table, relpath, layer) for every table, in no particular order."""
    files = [(t, f"reference/{t}.sql", "reference") for t in REFERENCE_TABLES]
    files += [(p.stem, f"intermediate/{p.name}", "intermediate") for p in (SQL_DIR / "intermediate").glob("int_*.sql")]
    files += [(i.table_name, i.sql_file, "indicators") for i in CATALOGUE]
    files += [(t, f"reports/{t}.sql", "reports") for t in REPORT_TABLES]
    return files


def models() -> list[Model]:
    """Every table of the four layers, in an order that builds each after what it reads."""
    files = _layer_files()
    known = set(STAGING_TABLES) | {table for table, _, _ in files}
    indicator_tables = tuple(i.table_name for i in CATALOGUE)
    by_table: dict[str, Model] = {}
    for table, relpath, layer in files:
        deps = _reads(relpath, known, table)
        if layer == "indicators":  # the result shape joins the reference tables
            deps = tuple(sorted(set(deps) | set(_reads(RESULT_SHAPE, known, table))))
        if table == "rpt_patient_results":  # reads the indicator tables through a variable
            deps = tuple(sorted(set(deps) | set(indicator_tables)))
        by_table[table] = Model(table, relpath, layer, deps, _description(relpath))
    for model in by_table.values():
        later = [d for d in model.deps if d in by_table and LAYERS.index(by_table[d].layer) > LAYERS.index(model.layer)]
        if later:
            raise RuntimeError(f"{model.table} ({model.layer}) reads {later}, which belong to a later layer")
    sorter = TopologicalSorter({t: [d for d in m.deps if d in by_table] for t, m in by_table.items()})
    sorter.prepare()
    order: list[str] = []
    ready: set[str] = set()
    while sorter.is_active():  # of the tables ready, the earliest layer's first, by name: layers stay contiguous
        ready.update(sorter.get_ready())
        table = min(ready, key=lambda t: (LAYERS.index(by_table[t].layer), t))
        ready.remove(table)
        order.append(table)
        sorter.done(table)
    return [by_table[t] for t in order]


def indicator_inputs() -> dict[str, list[str]]:
    """Per indicator the staging tables it reads, directly or through the layers below it
    (from the models' dependencies, so no list is kept by hand)."""
    by_table = {m.table: m for m in models()}

    def staging_of(table: str) -> set[str]:
        if table in STAGING_TABLES:
            return {table}
        return set().union(*(staging_of(d) for d in by_table[table].deps)) if table in by_table else set()

    return {i.indicator_id: sorted(staging_of(i.table_name)) for i in CATALOGUE}


def prepare_session(
    con: duckdb.DuckDBPyConnection,
    extract_date: date | str,
    overrides: dict[str, object] | str | None = None,
) -> dict[str, object]:
    """Set the run variables (parameters, extract date, catalogue) and create the macros.

    ``overrides`` may be a dict or a JSON object string (the ``audit`` resource's form).
    Returns the variables set.
    """
    if isinstance(overrides, str):
        overrides = json.loads(overrides or "{}")
    values: dict[str, object] = dict(audit_parameters.resolve(overrides))
    values["extract_date"] = date.fromisoformat(extract_date) if isinstance(extract_date, str) else extract_date
    values["guideline_versions_csv"] = str(GUIDELINE_VERSIONS_CSV)
    values["indicator_catalogue"] = [i.as_row() for i in CATALOGUE]
    values["indicator_tables"] = [i.table_name for i in CATALOGUE]
    set_variables(con, values)
    run_sql(con, MACROS)
    return values


def build_model(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    """Create one table; returns its row count. An indicator's file gives its judged rows;
    ``RESULT_SHAPE`` turns them into the result every indicator shares."""
    if model.layer == "indicators":
        con.execute(f"create or replace temp view judged as\n{sql_text(model.relpath).strip().rstrip(';')}")
        set_variables(con, {"indicator_id": BY_TABLE[model.table].indicator_id})
        rows = create_table(con, model.table, RESULT_SHAPE, columns=con.sql("select * from judged limit 0").columns)
        con.execute("drop view judged")
        return rows
    rows = create_table(con, model.table, model.relpath)
    if model.table == "ref_indicator_catalogue":
        missing = con.execute(
            "select string_agg(indicator_id || ' (' || valid_from_version || ')', ', ') "
            "from ref_indicator_catalogue where in_force_from is null"
        ).fetchone()[0]
        if missing:
            raise ValueError(f"indicator valid-from version not in guideline_versions.csv: {missing}")
    return rows


def build_layer(con: duckdb.DuckDBPyConnection, layer: str) -> dict[str, int]:
    return {m.table: build_model(con, m) for m in models() if m.layer == layer}


def build_reference(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return build_layer(con, "reference")


def build_intermediate(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return build_layer(con, "intermediate")


def build_indicators(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return build_layer(con, "indicators")


def build_reports(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return build_layer(con, "reports")


def build_all(
    con: duckdb.DuckDBPyConnection,
    extract_date: date | str,
    overrides: dict[str, object] | str | None = None,
) -> dict[str, int]:
    """Prepare the session and build every layer on top of the ``stg_`` tables; row counts."""
    prepare_session(con, extract_date, overrides)
    counts: dict[str, int] = {}
    for layer in LAYERS:
        counts.update(build_layer(con, layer))
    return counts


def status_counts(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """Rows per status of an indicator table (every status present, zeros included)."""
    found = dict(con.execute(f"select status, count(*) from {table} group by status").fetchall())
    return {s: int(found.get(s, 0)) for s in STATUSES}


def national_proportion(counts: dict[str, int]) -> float | None:
    """met / (met + not_met + unknown); None without a denominator."""
    denominator = counts["met"] + counts["not_met"] + counts["unknown"]
    return counts["met"] / denominator if denominator else None
