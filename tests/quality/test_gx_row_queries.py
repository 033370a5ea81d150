"""The rows kept for GX's unexpected-rows queries (pipelines/quality/gx_row_queries.py): the
row count GX asks for is answered from the query's one evaluation, and a template finds its
own query's rows only when no other kept query could be mistaken for it."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa

from pipelines.quality.gx_row_queries import QueryEvaluations, counted_query, substituted_batch

BATCH = "(SELECT * FROM t WHERE true) AS subselect"


@pytest.fixture()
def evaluations():
    con = duckdb.connect()
    con.execute("create table t as select i as _line, 'P' || i as id, case when i % 4 = 0 then null else i end as v from range(1, 21) t(i)")
    sent: list[str] = []

    def execute(query):
        sent.append(query.text)
        cursor = con.execute(query.text)
        columns = [d[0] for d in cursor.description]
        return sa.engine.result.IteratorResult(sa.engine.result.SimpleResultMetaData(columns), iter(cursor.fetchall()))

    yield QueryEvaluations(execute), sent
    con.close()


def test_substituted_batch():
    template = "with b as (select * from {batch}) select _line from b join {batch} c using (_line) where x = '{{y}}'"
    assert substituted_batch(template, template.format(batch=BATCH)) == BATCH
    assert substituted_batch(template, template.format(batch=BATCH) + " ") is None
    assert substituted_batch("select _line from {batch} where a", "select _line from X where b") is None
    assert substituted_batch("select 1", "select 1") is None       # no {batch}: not a GX unexpected-rows query


def test_count_is_answered_from_the_one_evaluation(evaluations):
    kept, sent = evaluations
    query = "select _line, id from (select * from t) as b where v is null"
    assert kept.execute(sa.text(f"SELECT COUNT(*) as unexpected_row_count FROM ({query}) AS substituted_batch_subquery")).fetchone()[0] == 5
    assert [tuple(r) for r in kept.execute(sa.text(query)).fetchmany(2)] == [(4, "P4"), (8, "P8")]
    assert sent == [query]
    assert counted_query(f"SELECT COUNT(*) as unexpected_row_count FROM ({query}) AS substituted_batch_subquery") == query


def test_rows_of_a_template_only_when_unambiguous(evaluations):
    kept, _ = evaluations
    nulls = "select _line, id from {batch} where v is null"
    joined = "select _line, id from {batch} join (select 4 as _line) using (_line) where v is null"
    small = "select _line, id from {batch} where v < 3"
    for template in (nulls, joined, small):
        kept.execute(sa.text(template.format(batch="(select * from t)")))
    assert [tuple(r) for r in kept.rows_of(small)] == [(1, "P1"), (2, "P2")]
    assert len(kept.rows_of(joined)) == 1
    # `nulls` also fits the text of `joined` (its {batch} taken as "(select * from t) join ..."):
    # the runner then runs the query itself instead of guessing.
    assert kept.rows_of(nulls) is None
    assert kept.rows_of("select _line, id from {batch} where v > 100") is None
