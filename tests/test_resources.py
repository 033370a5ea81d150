"""The run's DuckDB resource: written without the checkpoint's vacuum, and nothing lost by it."""

from __future__ import annotations

from pipelines.resources import duckdb_resource


def test_a_runs_database_is_checkpointed_without_vacuum_and_keeps_every_row(tmp_path):
    database = tmp_path / "audit.duckdb"
    resource = duckdb_resource(database, temp_directory=tmp_path / "spill")
    with resource.get_connection() as con:
        assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] == 0
        con.execute("set threads = 2")
        # written by two threads: partly filled row groups, which a vacuum would have merged
        con.execute("create table t as select i, 'rad ' || i as text from range(300000) r(i) where i % 7 <> 3")
        expected = con.execute("select count(*), sum(i), min(text), max(text) from t").fetchone()
    with resource.get_connection() as con:  # closed (checkpointed) and opened again
        assert con.execute("select count(*), sum(i), min(text), max(text) from t").fetchone() == expected
        assert expected[0] == 300000 - len(range(3, 300000, 7))
