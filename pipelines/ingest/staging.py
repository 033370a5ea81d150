"""Raw → staging: type every row, apply the format's rules in the spec's order, and split
each file into its clean ``stg_`` table and the quarantine. Nothing is lost: per file,
rows in = clean + quarantined + exact duplicates collapsed (``stg_reconciliation``).

Per file one pass judges every row (``sql/staging/_judge_rows.sql`` around the file's own
``sql/staging/stg_<file>.sql``): row rules → dates after the extract date → duplicates →
dates before birth / after death → orphans (extract-format.md, *Bad input*). Parents are
judged before their children: patients before every file with a cpr, treatment courses
before drugs. Files whose parents are judged are judged two at a time on a machine with more
than one core (``lib.side_by_side``); their judged rows live in an in-memory database of the
step (``staging_work``), which every connection of the step sees and which goes with it. A
file's clean table is written as soon as it is judged, beside the next file's judging; the
quarantine and the reconciliation are then written one file after another, in the format's
order.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.lib import side_by_side
from pipelines.lib.extract_format import FILES, FILES_BY_NAME, DeliveryFile
from pipelines.lib.sql_loader import run_sql, set_variables, sql_text

WORK = "staging_work"  # the in-memory database of the judged rows (sql/staging/_judge_rows.sql)


@dataclass(frozen=True)
class Parent:
    """The rows a child row must belong to (an orphan has no valid one)."""

    name: str          # the parent file
    key: str           # the column both share
    key_label: str     # as the reason text names it
    label: str


PATIENT = Parent("patients", "pseudonym", "cpr", "patient")
COURSE = Parent("treatment_courses", "course_id", "course_id", "treatment course")


def _parent(dfile: DeliveryFile) -> Parent | None:
    if dfile.name == "drugs":
        return COURSE
    return PATIENT if dfile.has_cpr and dfile.name != "patients" else None


def _typed_columns(con: duckdb.DuckDBPyConnection, typed: str) -> list[str]:
    return [c for c in con.sql(f"select * from ({typed}) limit 0").columns if not c.startswith("_")]


def _date_columns(columns: list[str], dfile: DeliveryFile) -> list[str]:
    exempt = {"end_date"} if dfile.name == "treatment_courses" else set()
    return [c for c in columns if c.endswith("_date") and c not in exempt]


@dataclass(frozen=True)
class _Judging:
    """One file's judging, after its parent's (``lib.side_by_side``'s item)."""

    dfile: DeliveryFile

    @property
    def table(self) -> str:
        return self.dfile.name

    @property
    def deps(self) -> tuple[str, ...]:
        parent = _parent(self.dfile)
        return (parent.name,) if parent else ()


def _judge(con: duckdb.DuckDBPyConnection, judging: _Judging) -> None:
    """Type and judge one file's rows into ``staging_work.chk_<file>``, and write its clean rows
    (``stg_<file>``)."""
    dfile = judging.dfile
    typed = sql_text("staging/_typed_rows.sql", f=dfile, body=sql_text(f"staging/{dfile.stg_table}.sql", f=dfile))
    columns = _typed_columns(con, typed)
    run_sql(con, "staging/_judge_rows.sql", f=dfile, typed=typed, key=list(dfile.staged_key), columns=columns,
            date_columns=_date_columns(columns, dfile), parent=_parent(dfile))
    run_sql(con, "staging/clean_rows.sql", name=dfile.name, columns=columns)


def build_staging(con: duckdb.DuckDBPyConnection, variables: dict[str, object]) -> None:
    """Create every ``stg_`` table, ``stg_quarantine`` and ``stg_reconciliation`` from the
    ``raw_`` tables. ``variables``: the run's parameters and ``extract_date``, set as SQL
    variables on every connection the step uses."""
    set_variables(con, variables)
    run_sql(con, "macros/parse_macros.sql")
    run_sql(con, "staging/create_staging_outputs.sql")
    con.execute(f"attach ':memory:' as {WORK}")
    try:
        for _judged in side_by_side.build(con, [_Judging(f) for f in FILES], _judge,
                                          prepare=lambda other: set_variables(other, variables)):
            pass  # each file's tables are written by then
        for dfile in FILES:  # one after another, in the format's order: the quarantine's rows keep it
            run_sql(con, "staging/quarantined_rows.sql", name=dfile.name, fields=dfile.raw_columns)
    finally:
        con.execute(f"detach database if exists {WORK}")


assert all(FILES.index(FILES_BY_NAME[p.name]) < FILES.index(d) for d in FILES if (p := _parent(d))), \
    "FILES must list every parent file before its children"
