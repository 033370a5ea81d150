"""Great Expectations on DuckDB, made to work. The one place GX is patched (with its helper
``gx_row_queries``).

Why a patch is needed (measured, shared/notes/stack-findings.md; upstream GX #10738, #11579):
GX 1.24's ``SqlAlchemyExecutionEngine.execute_query`` runs a query inside
``with self.get_connection() as connection:`` and returns the *unconsumed* cursor result;
the caller fetches rows only after the ``with`` block has closed the connection. Closing
returns the connection to the pool with a rollback, and DuckDB drops a pending result on
rollback, so every fetch fails (``list index out of range``). GX catches that per metric and
reports every expectation as ``success=False`` with the real error hidden in
``exception_info``: good data would be reported as bad, silently.

The fix, at the cause: :class:`BufferedSqlAlchemyExecutionEngine` buffers each row-returning
result (``Result.freeze()``) while the connection is still open and hands GX a replayable
in-memory result instead. Validation still runs inside DuckDB through GX's SQL path; only
metric rows cross into Python: aggregates, the sample of failing rows, and for an
``unexpected_rows_expectation`` every row its query returns (GX reads 200 of them, the buffer
holds all: our queries therefore select only ``_line`` and one id column). :class:`DuckDBDatasource` is the GX fluent
datasource that uses this engine (type ``duckdb_buffered``). ``tests/quality/
test_gx_duckdb_engine.py`` pins the behaviour: it fails loudly if a GX upgrade fixes the
upstream bug (the patch can go) or breaks the patch.

One query evaluation per ``unexpected_rows_expectation`` (speed, not a bug fix): GX computes
two metrics from the same query, its rows (``unexpected_rows_query.table``) and
``SELECT COUNT(*) … FROM (<query>)`` (``unexpected_rows_query.row_count``, the verdict), so
DuckDB would evaluate every such query twice, which is most of the validation time at scale
(joins, window functions over millions of rows). Both metrics are resolved in the same
``resolve_metrics`` call; within one call, or within a ``keeping_query_rows()`` block around
a whole validation (the runner lists a failed expectation's rows from it), the engine evaluates
a query once and answers its ``COUNT(*)`` twin with the number of buffered rows
(:mod:`pipelines.quality.gx_row_queries`).

Connections: GX never opens the database file itself. It is handed an SQLAlchemy engine whose
only connection is a ``cursor()`` of the caller's DuckDB connection (for the Dagster checks:
the connection of the ``duckdb`` DuckDBResource). A DuckDB cursor is a second connection to
the same database instance, so there is no second configuration of the file (DuckDB refuses
one unless ``custom_user_agent`` matches, and duckdb_engine always rewrites the user agent)
and no connection survives the suite: :func:`close_datasource` disposes the engines.

Import this module only where GX is used: ``import great_expectations`` costs 2-3 s.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Literal, Type

import duckdb
import great_expectations as gx
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

from pipelines.quality.gx_row_queries import QueryEvaluations

# The GX version this patch was written and measured against (pyproject pins it).
GX_VERSION_PATCHED = "1.24.1"


class BufferedSqlAlchemyExecutionEngine(SqlAlchemyExecutionEngine):
    """``SqlAlchemyExecutionEngine`` that buffers query results before the connection closes.

    ``_execute_query_with_recovery`` is the single funnel through which both
    ``execute_query`` and ``execute_query_in_transaction`` run a statement on a connection
    that is closed right afterwards; buffering here covers every GX metric query."""

    @staticmethod
    def _execute_query_with_recovery(connection: sa.Connection, query: Any) -> Any:
        result = SqlAlchemyExecutionEngine._execute_query_with_recovery(connection, query)
        if result.returns_rows:
            # freeze() fetches every row now; calling the FrozenResult gives a fresh Result
            # (fetchall/fetchone/fetchmany/scalar/mappings) that needs no connection.
            return result.freeze()()
        return result

    # Kept rows live for one batch of metrics, or for a block of :meth:`keeping_query_rows`
    # (one validation): a later validation always sees the data as they are then.
    _evaluations: QueryEvaluations | None = None

    @contextlib.contextmanager
    def keeping_query_rows(self) -> Iterator[QueryEvaluations]:
        """Within the block, each text query is evaluated once and its rows are kept."""
        outer, self._evaluations = self._evaluations, QueryEvaluations(super().execute_query)
        try:
            yield self._evaluations
        finally:
            self._evaluations = outer

    def resolve_metrics(self, metrics_to_resolve: Any, metrics: Any = None, runtime_configuration: Any = None) -> Any:
        if self._evaluations is not None:
            return super().resolve_metrics(metrics_to_resolve, metrics, runtime_configuration)
        with self.keeping_query_rows():
            return super().resolve_metrics(metrics_to_resolve, metrics, runtime_configuration)

    def execute_query(self, query: Any) -> Any:
        if self._evaluations is None:
            return super().execute_query(query)
        return self._evaluations.execute(query)


class DuckDBDatasource(SQLDatasource):
    """A GX SQL datasource on DuckDB that uses the buffered execution engine."""

    type: Literal["duckdb_buffered"] = "duckdb_buffered"

    @property
    def execution_engine_type(self) -> Type[SqlAlchemyExecutionEngine]:
        return BufferedSqlAlchemyExecutionEngine


def engine_kwargs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``create_engine`` keyword arguments that make SQLAlchemy use one cursor of ``con``.

    StaticPool: one connection for the engine's life, so GX's queries see one session."""
    return {"creator": lambda: ConnectionWrapper(con.cursor()), "poolclass": sa.pool.StaticPool}


def add_datasource(context: Any, con: duckdb.DuckDBPyConnection, name: str = "audit",
                   patched: bool = True) -> SQLDatasource:
    """Register a datasource on ``con`` in a GX context.

    ``patched=False`` registers GX's own ``SQLDatasource`` on the same connection: only the
    pin-check test uses it, to prove the upstream bug is still there."""
    if patched:
        return context.data_sources.add_duckdb_buffered(
            name=name, connection_string="duckdb:///:memory:", kwargs=engine_kwargs(con))
    return context.data_sources.add_sql(
        name=name, connection_string="duckdb:///:memory:", kwargs=engine_kwargs(con))


def execution_engine(datasource: SQLDatasource) -> BufferedSqlAlchemyExecutionEngine:
    """The engine GX validates ``datasource``'s batches with (GX keeps one per datasource)."""
    return datasource.get_execution_engine()


def close_datasource(datasource: SQLDatasource) -> None:
    """Close the connections GX opened for ``datasource`` (its execution engine's and the
    one it uses to inspect tables). Safe to call more than once."""
    engine = datasource._execution_engine  # noqa: SLF001 - GX keeps it private
    if engine is not None:
        engine.close()
    if datasource._engine is not None:  # noqa: SLF001
        datasource._engine.dispose()


def ephemeral_context(docs_dir: str | None = None, site_name: str = "quality") -> Any:
    """A GX context with no project folder; with ``docs_dir``, suites and validation results
    are kept as JSON under ``<docs_dir>/_store`` and a static Data Docs site is built in
    ``docs_dir`` (so several suites validated one after another share one site)."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from pipelines.quality import docs

    defaults = InMemoryStoreBackendDefaults()
    sites = {}
    if docs_dir:
        def files(sub: str) -> dict[str, str]:
            return {"class_name": "TupleFilesystemStoreBackend", "base_directory": f"{docs_dir}/_store/{sub}"}

        defaults.stores[defaults.expectations_store_name]["store_backend"] = files("expectations")
        defaults.stores[defaults.validation_results_store_name]["store_backend"] = files("validations")
        sites = {site_name: docs.site_config(docs_dir)}
    config = DataContextConfig(
        store_backend_defaults=defaults,
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
