"""The one way SQL reaches DuckDB: every statement lives in a file under ``sql/``.

Files may hold several statements. ``{name}`` placeholders are filled from keyword
arguments (used only for identifiers that come from the code's own catalogues, never for
values from a delivery). Values reach SQL as DuckDB variables (``getvariable('x')``).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


@lru_cache(maxsize=None)
def _read(relpath: str) -> str:
    path = SQL_DIR / relpath
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: sql/{relpath}")
    return path.read_text(encoding="utf-8")


def sql_text(relpath: str, **identifiers: str) -> str:
    text = _read(relpath)
    return text.format(**identifiers) if identifiers else text


def run_sql(con: duckdb.DuckDBPyConnection, relpath: str, **identifiers: str) -> None:
    """Execute every statement of ``sql/<relpath>``."""
    con.execute(sql_text(relpath, **identifiers))


def create_table(con: duckdb.DuckDBPyConnection, table: str, relpath: str, **identifiers: str) -> int:
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
