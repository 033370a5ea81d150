"""Staging judges files two at a time (``lib.side_by_side``): the clean tables, the quarantine
and the reconciliation are the same, row for row and in the same order, as one file at a time,
including the rules that read another file's judged rows (orphans, dates before birth)."""

from __future__ import annotations

from pipelines.ingest import staging
from pipelines.lib import side_by_side
from pipelines.lib.extract_format import FILES
from tests.delivery_builder import CASES_ACROSS_FILES, stage, write_delivery

TABLES = [f.stg_table for f in FILES] + ["stg_quarantine", "stg_reconciliation"]


def _tables(con) -> dict[str, list[tuple]]:
    return {table: con.execute(f"select * from {table}").fetchall() for table in TABLES}


def test_two_files_at_a_time_stage_what_one_at_a_time_stages(tmp_path, monkeypatch):
    delivery = write_delivery(tmp_path / "d", CASES_ACROSS_FILES)
    staged = {}
    for at_once in (1, 2):
        monkeypatch.setattr(side_by_side, "connections", lambda at_once=at_once: at_once)
        staged[at_once] = _tables(stage(delivery, tmp_path / f"{at_once}.duckdb"))
    assert staged[1] == staged[2]
    reasons = {row[2] for row in staged[2]["stg_quarantine"]}
    assert {"ORPHAN", "BEFORE_BIRTH", "CONFLICTING_DUPLICATE", "INVALID_CPR"} <= reasons


def test_the_judged_rows_go_with_the_step(tmp_path):
    con = stage(write_delivery(tmp_path / "d"), tmp_path / "t.duckdb")
    attached = {row[0] for row in con.execute("select database_name from duckdb_databases()").fetchall()}
    assert staging.WORK not in attached
    assert not con.execute("select table_name from duckdb_tables() where table_name like 'chk_%'").fetchall()
