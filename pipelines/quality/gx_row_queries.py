"""Evaluate each of GX's text queries once and keep its rows (used by ``gx_duckdb``).

GX's ``unexpected_rows_expectation`` needs two metrics of one query ``q``: its rows (GX runs
``q`` and reads 200 of them) and its row count, the verdict (GX runs ``SELECT COUNT(*) as
unexpected_row_count FROM (q) AS substituted_batch_subquery``, the text built in GX 1.24's
``query_row_count.py``). That count is the number of rows ``q`` returns, so
:class:`QueryEvaluations` runs ``q`` once, keeps all its rows and answers both; the runner
then lists a failed expectation's rows from the same evaluation (:meth:`rows_of`). Every
other query goes through unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult, FrozenResult, Result
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData

COUNT_COLUMN = "unexpected_row_count"
_COUNT_PREFIX = f"SELECT COUNT(*) as {COUNT_COLUMN} FROM ("
_COUNT_SUFFIX = ") AS substituted_batch_subquery"


def counted_query(text: str) -> str | None:
    """``q`` when ``text`` is GX's row count of ``q``, else None."""
    if text.startswith(_COUNT_PREFIX) and text.endswith(_COUNT_SUFFIX):
        return text[len(_COUNT_PREFIX):-len(_COUNT_SUFFIX)]
    return None


def substituted_batch(template: str, text: str) -> str | None:
    """``b`` when ``text`` is ``template.format(batch=b)`` (GX fills every ``{batch}`` of a
    query with the same SQL for the batch), else None."""
    parts = template.format(batch="\0").split("\0")
    places, extra = len(parts) - 1, len(text) - sum(len(p) for p in parts)
    if places == 0 or extra < 0 or extra % places:
        return None
    batch = text[len(parts[0]):len(parts[0]) + extra // places]
    return batch if batch.join(parts) == text else None


class QueryEvaluations:
    """The rows of each text query run through :meth:`execute`, kept for its lifetime."""

    def __init__(self, execute: Callable[[Any], Result]) -> None:
        self._execute = execute
        self._rows: dict[str, FrozenResult] = {}

    def execute(self, query: Any) -> Result:
        # Only text without bound parameters is fully identified by its text (GX's query metrics).
        if not isinstance(query, sa.TextClause) or query._bindparams:  # noqa: SLF001
            return self._execute(query)
        inner = counted_query(query.text)
        if inner is not None:
            rows = self._evaluated(sa.text(inner))
            if isinstance(rows, FrozenResult):
                return IteratorResult(SimpleResultMetaData([COUNT_COLUMN]), iter([(len(rows.data),)]))
        rows = self._evaluated(query)
        return rows() if isinstance(rows, FrozenResult) else rows

    def rows_of(self, template: str) -> list[Any] | None:
        """Every row of GX's query for the ``unexpected_rows_query`` ``template``; None unless
        exactly one kept query fits it (GX's own one always does; another may too by chance,
        e.g. one that adds a join before the template's WHERE)."""
        fitting = [rows for text, rows in self._rows.items() if substituted_batch(template, text) is not None]
        return list(fitting[0].data) if len(fitting) == 1 else None

    def _evaluated(self, query: sa.TextClause) -> FrozenResult | Result:
        """The kept rows of ``query``, run now if needed (a statement without rows: its result)."""
        if query.text not in self._rows:
            result = self._execute(query)
            if isinstance(result, CursorResult) and not result.returns_rows:
                return result
            self._rows[query.text] = result.freeze()
        return self._rows[query.text]
