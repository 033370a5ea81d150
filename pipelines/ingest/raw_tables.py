"""A delivery file's frame (``raw_reader.read_raw``) written as its raw table
(``sql/raw/create_raw_table.sql``)."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.lib.sql_loader import run_sql


def create_raw_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """``table`` (replaced) with the rows of ``frame``, a frame ``read_raw`` made of a file."""
    con.register("raw_frame", frame)
    try:
        run_sql(con, "raw/create_raw_table.sql", table=table)
    finally:
        con.unregister("raw_frame")
