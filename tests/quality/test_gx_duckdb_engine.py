"""Pin-check of the GX-on-DuckDB patch (pipelines/quality/gx_duckdb.py) and engine errors.

If a Great Expectations upgrade changes the behaviour these tests fail loudly:
- GX still fails silently on DuckDB without the patch (success=False, error hidden in
  exception_info). When GX fixes upstream #10738/#11579 this test fails: drop the patch.
- The patched engine gives correct results on a tiny table, inside DuckDB.
- An expectation GX cannot evaluate is raised as QualityEngineError, never "failed data".
"""

from __future__ import annotations

import duckdb
import pytest

gx = pytest.importorskip("great_expectations")

from pipelines.quality import gx_duckdb  # noqa: E402
from pipelines.quality.runner import QualityEngineError, run_suite  # noqa: E402


@pytest.fixture()
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute("create table stg_tiny as select i as _line, 'P' || lpad(i::varchar, 16, '0') as pseudonym, "
                "case when i % 3 = 0 then null else i end as v from range(1, 31) t(i)")
    yield con
    con.close()


def _validate(con, patched: bool):
    context = gx_duckdb.ephemeral_context()
    datasource = gx_duckdb.add_datasource(context, con, patched=patched)
    try:
        batch = datasource.add_table_asset("stg_tiny", table_name="stg_tiny").add_batch_definition_whole_table("all").get_batch()
        return batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="v"),
                              result_format={"result_format": "SUMMARY", "unexpected_index_column_names": ["_line"]})
    finally:
        gx_duckdb.close_datasource(datasource)


def test_gx_version_is_the_patched_one():
    assert gx.__version__ == gx_duckdb.GX_VERSION_PATCHED, (
        f"great_expectations {gx.__version__} is not the version the DuckDB patch was written for "
        f"({gx_duckdb.GX_VERSION_PATCHED}): rerun these tests' findings and update GX_VERSION_PATCHED")


def test_unpatched_gx_still_fails_silently_on_duckdb(con):
    result = _validate(con, patched=False)
    assert result.success is False
    assert "list index out of range" in str(result.exception_info), (
        "GX's own SQL engine no longer fails on DuckDB: the upstream bug may be fixed; "
        "check and remove BufferedSqlAlchemyExecutionEngine")


def test_patched_engine_validates_inside_duckdb(con):
    result = _validate(con, patched=True)
    assert not any(v.get("raised_exception") for v in [result.exception_info] if "raised_exception" in v)
    assert result.success is False                       # 10 of 30 values are null: a real verdict
    assert result.result["element_count"] == 30
    assert result.result["unexpected_count"] == 10
    assert [r["_line"] for r in result.result["partial_unexpected_index_list"]] == list(range(3, 31, 3))


def test_no_gx_connection_outlives_the_suite(tmp_path):
    """GX works on a cursor of our connection and closes it: once we close ours, nothing holds
    the file, so DuckDB accepts a connection with another configuration (as a later Dagster
    DuckDBResource connection, custom_user_agent 'dagster', would need)."""
    path = str(tmp_path / "closed.duckdb")
    con = duckdb.connect(path, config={"custom_user_agent": "first"})
    con.execute("create table stg_tiny as select 1 as _line, 'P0000000000000001' as pseudonym, 1 as v")
    assert _validate(con, patched=True).success is True
    con.close()
    duckdb.connect(path, config={"custom_user_agent": "dagster"}).close()


def _tiny_suite(expectation: dict) -> dict:
    return {"name": "stg_tiny", "meta": {"table": "stg_tiny", "id_column": "pseudonym"},
            "expectations": [{**expectation, "meta": {"name": "x", "severity": "error", "why": "test"}}]}


@pytest.mark.parametrize("expectation", [
    # GX has no regex support for the duckdb dialect: a metric error, not a failed row
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "pseudonym", "regex": "^P"}},
    # a query that cannot run
    {"type": "unexpected_rows_expectation", "kwargs": {"unexpected_rows_query": "select _line, pseudonym from {batch} join no_such_table using (x)"}},
    # a column that does not exist
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "no_such_column"}},
], ids=["unsupported regex", "bad query", "missing column"])
def test_engine_error_is_raised_not_reported_as_failed_data(con, expectation):
    with pytest.raises(QualityEngineError, match="stg_tiny"):
        run_suite(con, "stg_tiny", suites={"stg_tiny": _tiny_suite(expectation)})


def test_missing_table_is_an_engine_error(con):
    with pytest.raises(QualityEngineError, match="stg_gone"):
        run_suite(con, "stg_gone", suites={"stg_gone": {**_tiny_suite(
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "v"}}), "name": "stg_gone"}})


def test_unexpected_rows_query_is_evaluated_once_for_rows_and_count(con, sent_queries):
    """GX asks for the rows of an unexpected_rows query and for SELECT COUNT(*) over it; the
    engine evaluates the query once and answers the count from its rows, with the same
    verdicts and counts as DuckDB's own count."""
    failing = "select _line, pseudonym from {batch} where v is null"
    passing = "select _line, pseudonym from {batch} where v < 0"
    sent = sent_queries
    context = gx_duckdb.ephemeral_context()
    datasource = gx_duckdb.add_datasource(context, con)
    try:
        batch = datasource.add_table_asset("stg_tiny", table_name="stg_tiny").add_batch_definition_whole_table("all").get_batch()
        suite = gx.ExpectationSuite(name="tiny", expectations=[
            gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=failing),
            gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=passing)])
        result = batch.validate(suite, result_format={"result_format": "BASIC"})
    finally:
        gx_duckdb.close_datasource(datasource)
    assert [r.success for r in result.results] == [False, True]
    assert [r.result["observed_value"] for r in result.results] == [
        con.execute(f"select count(*) from ({q.format(batch='stg_tiny')})").fetchone()[0] for q in (failing, passing)] == [10, 0]
    assert not [q for q in sent if "unexpected_row_count" in q], "a COUNT(*) twin reached DuckDB"
    for query in (failing, passing):
        where = query.split(" where ")[1]
        assert sum(where in q for q in sent) == 1, f"{where!r} was evaluated {sum(where in q for q in sent)} times"
