"""The raw step writes each file's table in a second thread while it reads the next file."""

import threading

import duckdb
import polars as pl
import pytest

from pipelines.ingest.assets import written_beside
from pipelines.lib.extract_format import FILES_BY_NAME

DEPARTMENTS = FILES_BY_NAME["departments"]


def _frame(n: int, start: int = 0) -> pl.DataFrame:
    """Rows as ``read_raw`` gives them for departments.csv (every tenth line kept whole)."""
    return pl.DataFrame({
        "_line": range(start + 2, start + n + 2),
        "_record_kept": [f'{i};"x;y";h;r' if i % 10 == 0 else None for i in range(n)],
        "_malformed": [False] * n,
        **{c: [f"{c} {i}" for i in range(n)] for c in DEPARTMENTS.columns},
    }, schema_overrides={"_record_kept": pl.String})


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("raw-tables")]


def test_every_frame_becomes_its_table(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    frames = {f"raw_{i}": _frame(1000 * i + 1, i) for i in range(5)}
    with written_beside(con) as write:
        for table, frame in frames.items():
            write(table, frame)
    for table, frame in frames.items():
        assert con.sql(f"select * from {table} order by _line").pl().equals(frame)
    assert not _writer_threads()


def test_a_failed_write_stops_the_step_with_its_own_error(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute("create view raw_b as select 1 as x")  # a view of that name: the table cannot replace it
    with pytest.raises(duckdb.Error, match="raw_b"):
        with written_beside(con) as write:
            write("raw_a", _frame(10))
            write("raw_b", _frame(10))
            write("raw_c", _frame(10))  # waits for raw_b, and gets its error
    assert con.execute("select count(*) from raw_a").fetchone() == (10,)
    assert not _writer_threads()


def test_an_error_while_reading_waits_for_the_write_under_way(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    with pytest.raises(RuntimeError, match="the next file is refused"):
        with written_beside(con) as write:
            write("raw_a", _frame(200_000))
            raise RuntimeError("the next file is refused")
    assert not _writer_threads()  # nothing uses the database any more: it can be closed
    con.close()
