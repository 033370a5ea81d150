"""Tables built two at a time (``lib.side_by_side``): each after what it reads, results in the
order given, every connection prepared, an error stops the rest."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import duckdb
import pytest

from pipelines.lib import side_by_side


@dataclass(frozen=True)
class Table:
    table: str
    deps: tuple[str, ...] = ()


def _prepared(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set variable run = 'prepared'")


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "t.duckdb"))
    _prepared(connection)
    yield connection
    connection.close()


def test_each_table_starts_after_the_tables_it_reads_and_results_come_in_the_order_given(con):
    items = [Table("a"), Table("b"), Table("c", ("a",)), Table("d", ("b", "c")), Table("e", ("stg_x",))]
    log: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(connection, item):
        with lock:
            log.append(("start", item.table))
        if item.table == "a":
            time.sleep(0.3)  # a finishes after b and e: the results still come a, b, c, d, e
        for dep in item.deps:
            if dep.startswith("stg_"):
                continue  # not among the items: already there
            assert connection.execute(f"select count(*) from {dep}").fetchone() == (1,)
        connection.execute(f"create table {item.table} as select 1 as x")
        with lock:
            log.append(("end", item.table))
        return item.table.upper()

    results = list(side_by_side.build(con, items, work, _prepared, at_once=2))

    assert results == [(item, item.table.upper()) for item in items]
    for item in items:
        for dep in item.deps:
            if not dep.startswith("stg_"):
                assert log.index(("end", dep)) < log.index(("start", item.table))


def test_two_tables_are_built_at_the_same_time_each_on_a_prepared_connection_of_its_own(con):
    both_running = threading.Barrier(2, timeout=30)  # broken unless two items run at once
    seen: dict[str, tuple] = {}

    def work(connection, item):
        both_running.wait()
        connection.execute(f"create temp view mine as select '{item.table}' as name")  # its own session
        seen[item.table] = (id(connection), connection.execute("select getvariable('run'), name from mine").fetchone())
        return None

    list(side_by_side.build(con, [Table("a"), Table("b")], work, _prepared, at_once=2))

    assert seen["a"][1] == ("prepared", "a") and seen["b"][1] == ("prepared", "b")
    assert seen["a"][0] != seen["b"][0]


def test_one_at_a_time_runs_on_the_connection_given_in_this_thread(con):
    calls = []

    def work(connection, item):
        calls.append((connection is con, threading.current_thread() is threading.main_thread()))
        return item.table

    assert [r for _, r in side_by_side.build(con, [Table("a"), Table("b", ("a",))], work, _prepared, at_once=1)] \
        == ["a", "b"]
    assert calls == [(True, True), (True, True)]


def test_an_error_interrupts_the_query_in_progress_and_starts_nothing_more(con):
    started, ended = [], {}
    long_query_running = threading.Event()

    def work(connection, item):
        started.append(item.table)
        if item.table == "slow":
            long_query_running.set()
            try:  # minutes of work unless interrupted
                connection.execute("select count(*) from range(1000000000000) a where hash(a.range) = 7").fetchall()
                ended["slow"] = "finished"
            except duckdb.InterruptException:
                ended["slow"] = "interrupted"
            return None
        long_query_running.wait(timeout=30)
        time.sleep(0.2)  # the long query is under way
        raise ValueError("the SQL of 'bad' is wrong")

    items = [Table("slow"), Table("bad"), Table("after", ("bad",)), Table("later")]
    with pytest.raises(ValueError, match="'bad' is wrong"):
        list(side_by_side.build(con, items, work, _prepared, at_once=2))

    assert ended == {"slow": "interrupted"}
    assert sorted(started) == ["bad", "slow"]


def test_tables_that_read_each_other_are_refused(con):
    with pytest.raises(RuntimeError, match="read each other"):
        list(side_by_side.build(con, [Table("a", ("b",)), Table("b", ("a",))], lambda c, i: None, _prepared,
                                at_once=2))


def test_two_at_a_time_only_with_more_than_one_core(monkeypatch):
    monkeypatch.setattr(side_by_side.forked, "more_than_one_core", lambda: True)
    assert side_by_side.connections() == 2
    monkeypatch.setattr(side_by_side.forked, "more_than_one_core", lambda: False)
    assert side_by_side.connections() == 1
