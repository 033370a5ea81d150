"""The publication's small-cell suppression, run: every indicator's tables protected
(``small_cells.py``; indicators that count the same patients together,
``linked_suppression.py``) in two forked processes beside the run's other work, and the
publication table made from them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from concurrent.futures.process import BrokenProcessPool

import polars as pl

from pipelines.indicators.catalogue import linked_groups
from pipelines.lib import forked
from pipelines.reports.linked_suppression import protect_linked
from pipelines.reports.small_cells import (COUNT_COLUMNS, STATUS_COLUMNS, pooled_protected, pooled_system, published,
                                           years_protected)


def suppress(summary: pl.DataFrame, pool: str | None = None) -> pl.DataFrame:
    """The publication table: counts as text (``<5``, ``x`` or the number), proportions withheld.

    ``summary`` has per row ``indicator_id, year, level, unit, region, hospital``, the status
    counts, ``denominator``, ``proportion, ci_low, ci_high, proportion_known, standard_met``.
    Adds ``total``; returns the same rows and order with ``<count>`` columns as text and
    ``withheld`` (bool).

    With ``pool`` (a label such as ``"2024-2026"``), ``year`` becomes text and each indicator
    gets pooled rows after its yearly rows (``year`` = ``pool``, ``pooled`` = True): for a
    unit whose proportion the small-cell rule withholds in a year, its years together, when
    those are large enough (``pooling_candidates``). A pooled row publishes its numerator,
    denominator and proportion only (its other counts are None). The years' tables are first
    protected on their own, exactly as without pooling; then an indicator's yearly and pooled
    rows are protected as one system (``relations``), so no cell can be recovered by
    subtracting years from a pooled figure either, taking complements only among the pooled
    rows: pooling never makes a year's table emptier, it only adds figures."""
    with suppressing(summary, pool) as table:
        return table()


# A suppression started before it is needed (``start_ahead``): (its summary, its pool label, the
# open block of its forked processes, the function that waits for its table). At most one.
_ahead: tuple[pl.DataFrame, str | None, ExitStack, Callable[[], pl.DataFrame]] | None = None


def start_ahead(summary: pl.DataFrame, pool: str | None = None) -> None:
    """Start :func:`suppressing` ``summary`` now, for a later ``suppressing`` of an equal table
    (and pool) to take: the run starts it when the summary is made, and the national report,
    several steps later, finds it done. An earlier one not taken is ended."""
    global _ahead
    discard_ahead()
    stack = ExitStack()
    published = stack.enter_context(_started(summary, pool))
    _ahead = (summary, pool, stack, published)


def discard_ahead() -> None:
    """End the suppression started ahead, if one was not taken (a run that stopped before its
    national report): its forked processes finish the indicator in hand and exit."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None:
        ahead[2].close()


@contextmanager
def suppressing(summary: pl.DataFrame, pool: str | None = None) -> Iterator[Callable[[], pl.DataFrame]]:
    """:func:`suppress`, started: the indicators are protected by forked processes while the
    caller does other work in the block; the function it yields waits for them and returns
    the publication table (once). A suppression of an equal table started ahead
    (``start_ahead``) is taken instead of starting again; the result is the same (it depends on
    the table and the pool label alone)."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None and ahead[1] == pool and ahead[0].equals(summary):
        with ahead[2]:
            yield ahead[3]
        return
    if ahead is not None:
        ahead[2].close()
    with _started(summary, pool) as published:
        yield published


@contextmanager
def _started(summary: pl.DataFrame, pool: str | None) -> Iterator[Callable[[], pl.DataFrame]]:
    frame = summary.with_columns(total=pl.sum_horizontal(*STATUS_COLUMNS))
    records = frame.to_dicts()
    by_indicator: dict[str, list[int]] = defaultdict(list)
    for k, row in enumerate(records):
        by_indicator[row["indicator_id"]].append(k)
    blocks = list(by_indicator.values())

    def table(published: list[tuple[list[dict], list[dict]]]) -> pl.DataFrame:
        if pool is None:  # the summary's rows, in its order
            shown: list[dict] = [{}] * len(records)
            for positions, (yearly, _) in zip(blocks, published):
                for k, row in zip(positions, yearly):
                    shown[k] = row
            return _frame(shown, frame.schema, pool)
        return _frame([row for yearly, pooled in published for row in (*yearly, *pooled)], frame.schema, pool)

    with _each_indicator([[records[k] for k in positions] for positions in blocks], pool) as protected:
        yield lambda: table(protected())


@contextmanager
def _each_indicator(blocks: list[list[dict]], pool: str | None) -> Iterator[Callable[[], list]]:
    """``_protect_indicator`` of every indicator's rows, started, those that count the same
    patients together (``_protect_group``): the groups are independent systems, so on a
    machine with more than one core they are protected in two forked processes (the work is
    plain Python and numpy on the rows given; nothing else of this process is used), the
    largest group first. Yields the function that waits for them."""
    groups = sorted(linked_groups([rows[0]["indicator_id"] for rows in blocks]), key=len, reverse=True)

    def in_order(protected: list[list[tuple]]) -> list:
        out: list = [None] * len(blocks)
        for group, results in zip(groups, protected):
            for k, result in zip(group, results):
                out[k] = result
        return out

    def here() -> list:
        shapes: dict = {}
        return in_order([_protect_group([blocks[k] for k in group], pool, shapes) for group in groups])

    if len(groups) < 2 or not forked.more_than_one_core():
        yield here
        return
    # at normal priority also when started ahead: the national report waits for them (at 10k, with the
    # linked indicators' joint protection, niced processes made the run 0.9 s slower: 11.07 against 10.19 s)
    workers = forked.pool(2, initializer=_start_worker)

    def results() -> list:
        try:
            if futures is not None:
                return in_order([future.result() for future in futures])
        except BrokenProcessPool:  # a forked process died (seen once in the test suite, cause not found)
            pass
        return here()  # the work is pure: done here

    try:
        try:
            futures = [workers.submit(_protect_group, [blocks[k] for k in group], pool) for group in groups]
        except BrokenProcessPool:
            futures = None
        yield results
    finally:
        workers.shutdown(wait=True, cancel_futures=True)


def _protect_group(blocks: list[list[dict]], pool: str | None, shapes: dict | None = None) -> list[tuple]:
    """``_protect_indicator`` of each block (an indicator's rows); the indicators of a linked
    group (the catalogue's ``same_patients_as``, ``patients_within``) protected together."""
    if len(blocks) == 1:
        return [_protect_indicator(blocks[0], pool, shapes)]
    return protect_linked(blocks, pool, _worker_shapes if shapes is None else shapes)


# A forked worker's shapes (``_Shape``: what the attacks need from a table's hierarchy alone,
# keyed by all it depends on), shared by the indicators it protects: tables of several
# indicators often have the same units. The pool, and so this cache, lives for one ``suppress``.
_worker_shapes: dict = {}


def _start_worker() -> None:
    _worker_shapes.clear()
    forked.default_signals()


def _protect_indicator(rows: list[dict], pool: str | None, shapes: dict | None = None) -> tuple[list[dict], list[dict]]:
    """One indicator's published rows: its yearly rows (in the order given) and its pooled rows.
    ``shapes``: the cache of table shapes to use (by default the forked worker's)."""
    shapes = _worker_shapes if shapes is None else shapes
    years = years_protected(rows, shapes)
    if pool is None:
        return published(rows, years, None, {})
    system = pooled_system(rows, pool)
    return published(rows, years, system, pooled_protected(system, len(rows), years, shapes))


def _frame(shown: list[dict], schema: dict, pool: str | None) -> pl.DataFrame:
    schema = {**schema, **{c: pl.String for c in COUNT_COLUMNS}, "withheld": pl.Boolean}
    if "numerator" in schema:
        schema["numerator"] = pl.String
    if pool is not None:
        schema.update(year=pl.String, pooled=pl.Boolean)
    return pl.DataFrame(shown, schema=schema)
