"""Shared fixtures of the quality tests."""

from __future__ import annotations

import pytest


@pytest.fixture()
def sent_queries(monkeypatch) -> list[str]:
    """Every statement the patched GX engine sends to DuckDB, in order."""
    from pipelines.quality import gx_duckdb

    sent: list[str] = []
    run = gx_duckdb.BufferedSqlAlchemyExecutionEngine._execute_query_with_recovery

    def logged(connection, query):
        sent.append(str(query))
        return run(connection, query)

    monkeypatch.setattr(gx_duckdb.BufferedSqlAlchemyExecutionEngine, "_execute_query_with_recovery", staticmethod(logged))
    return sent
