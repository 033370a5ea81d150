"""The one way SQL reaches DuckDB: every statement lives in a file under ``sql/``.

Files may hold several statements. Every file is a Jinja template (``StrictUndefined``):
identifiers from the code's own catalogues (a table name, a file's columns) are filled in
with ``{{ name }}`` from keyword arguments, and the delivery format's rules (value sets,
ranges: ``lib.extract_format``) are at hand as ``value_sets``, ``lab_units``, ``ranges``
and the ``sql_list``, ``in_range`` and ``range_text`` helpers. Never a value from a
delivery: values reach SQL as DuckDB variables (``getvariable('x')``).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb
import jinja2

from pipelines.lib.extract_format import FORMAT, RANGES

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


def sql_literal(value: object) -> str:
    """A constant of the code's own (never a delivered value) as a SQL literal."""
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def sql_list(values) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


def in_range(expression: str, name: str) -> str:
    """``expression`` lies in the plausible range ``RANGES[name]`` (NULL when it is NULL)."""
    r = RANGES[name]
    parts = [f"{expression} {'>=' if r.low_included else '>'} {sql_literal(r.low)}"]
    if r.high is not None:
        parts.append(f"{expression} {'<=' if r.high_included else '<'} {sql_literal(r.high)}")
    return "(" + " and ".join(parts) + ")"


def range_text(name: str) -> str:
    """The range as a reason text shows it: ``100-230``, ``> 0-100000``, ``from 1890-01-01``."""
    r = RANGES[name]
    if r.high is None:
        return f"from {r.low}"
    return f"{'' if r.low_included else '> '}{r.low}-{r.high}{'' if r.high_included else ' (exclusive)'}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SQL_DIR), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False, extensions=["jinja2.ext.do"])
    env.globals.update(FORMAT, sql_list=sql_list, sql_literal=sql_literal, in_range=in_range, range_text=range_text)
    return env


def render(template: str, **context: object) -> str:
    """Render SQL text (a file's or a suite's query) with the loader's helpers."""
    return _environment().from_string(template).render(**context)


def sql_text(relpath: str, **identifiers: object) -> str:
    if not (SQL_DIR / relpath).is_file():
        raise FileNotFoundError(f"SQL file not found: sql/{relpath}")
    return _environment().get_template(relpath).render(**identifiers)


def run_sql(con: duckdb.DuckDBPyConnection, relpath: str, **identifiers: object) -> None:
    """Execute every statement of ``sql/<relpath>``."""
    con.execute(sql_text(relpath, **identifiers))


def create_table(con: duckdb.DuckDBPyConnection, table: str, relpath: str, **identifiers: object) -> int:
    """``create or replace table <table> as <select in file>``; returns the row count."""
    body = sql_text(relpath, **identifiers).strip().rstrip(";")
    con.execute(f"create or replace table {table} as\n{body}")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def set_variables(con: duckdb.DuckDBPyConnection, values: dict[str, object]) -> None:
    """Expose run parameters to SQL as ``getvariable('<name>')``."""
    for name, value in values.items():
        if isinstance(value, date):
            con.execute(f"set variable {name} = ?::date", [value.isoformat()])
        else:
            con.execute(f"set variable {name} = ?", [value])
