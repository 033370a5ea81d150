"""The run's verdict on its staging tables: every expectation suite judged once per run, on
the machine's other core while this process goes on, and used where it is needed.

- :func:`hand_over` (hook ``staged_hand_over`` on the staging step, once its tables are
  written and its connection closed): the run's validation
  process (``worker.py``) gets a copy of the database and judges it while this process
  computes the derived facts, the indicators and the first reports.
- :func:`judged` gives the outcomes (waiting for them; validating in this process when no
  validation process took the tables) and records them once in ``qa_expectation_results`` and
  ``qa_failing_rows``. The quality flags need them first (``reports/quality_flags.py``); the
  asset checks report them.
- :func:`refuse_if_blocked` is the guarantee: when an ``error`` expectation failed, the step
  that asks raises :class:`QualityBlocked`, so nothing after the quality flags is built and
  nothing is published; :func:`refuse_if_recorded_blocked` checks the recorded verdict again
  where the run is published.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.lib.errors import QualityBlocked
from pipelines.quality import worker
from pipelines.quality.runner import QualityEngineError, SuiteOutcome, record_outcomes, run_suites
from pipelines.quality.suites import SUITE_TABLES
from pipelines.resources import AuditConfig

_handed: tuple[str, worker._Worker] | None = None          # (run id, the worker judging its tables)
_judged: tuple[str, dict[str, SuiteOutcome] | QualityEngineError] | None = None  # (run id, its verdict), the last run's


def quality_dir(audit: AuditConfig) -> Path:
    return Path(audit.output_dir) / "quality"


def _waiting_worker(database: DuckDBResource) -> worker._Worker | None:
    """The run's validation process, if one waits and can see the database."""
    waiting = worker.take()
    if waiting is not None and database.database == ":memory:":  # another process cannot see it
        waiting.discard()
        return None
    return waiting


def hand_over(run_id: str, database: DuckDBResource, audit: AuditConfig) -> None:
    """The staging tables to the run's validation process, if one waits (no connection to the
    database may be open: it is copied, and the copy is judged)."""
    global _handed
    waiting = _waiting_worker(database)
    if waiting is None:
        return
    spill = (database.connection_config or {}).get("temp_directory")  # the run's: removed before it is published
    try:
        waiting.submit(Path(database.database), list(SUITE_TABLES), quality_dir(audit), run_id,
                       snapshot=Path(spill) if spill else Path(database.database).parent)
    except OSError:  # the copy could not be made (a full disk): the suites run in the asking step
        waiting.discard()
        raise
    _handed = (run_id, waiting)


@dg.success_hook(name="validation_hand_over", required_resource_keys={"duckdb", "audit"})
def staged_hand_over(context: dg.HookContext) -> None:
    """On the staging step: its tables to validation as soon as they are written."""
    try:
        hand_over(context.run_id, context.resources.duckdb, context.resources.audit)
    except OSError as err:
        context.log.warning(f"the database could not be copied for validation ({err.strerror or err}); "
                            "the suites run in this process when the verdict is needed")


def _from_worker(context: dg.OpExecutionContext, database: DuckDBResource,
                 audit: AuditConfig) -> dict[str, SuiteOutcome] | None:
    """The validation process's outcomes for this run, or None (the suites then run here)."""
    global _handed
    run_id = context.run.run_id
    handed, _handed = _handed, None
    if handed is not None and handed[0] != run_id:  # an earlier run's, never asked
        handed[1].discard()
        handed = None
    if handed is not None:
        status, answer = handed[1].answer()
    else:  # the tables were not handed over (staging ran in another run): the worker reads the file
        waiting = _waiting_worker(database)
        if waiting is None:
            return None
        status, answer = waiting.validate(Path(database.database), list(SUITE_TABLES), quality_dir(audit), run_id)
    if status == "error":
        raise answer
    if status == "unavailable":
        context.log.warning(f"{answer}; validating in this process")
        return None
    return answer


def judged(context: dg.OpExecutionContext, database: DuckDBResource, audit: AuditConfig) -> dict[str, SuiteOutcome]:
    """Every suite's outcome for this run, recorded in the database. Raises QualityEngineError
    when a rule could not be evaluated (never reported as failed data)."""
    global _judged
    run_id = context.run.run_id
    if _judged is None or _judged[0] != run_id:
        try:
            outcomes = _from_worker(context, database, audit)
            with database.get_connection() as con:
                if outcomes is None:
                    outcomes = run_suites(con, SUITE_TABLES, docs_dir=quality_dir(audit), run_name=run_id)
                record_outcomes(con, outcomes.values())
        except QualityEngineError as err:  # every step that asks errors alike; the suites run once
            outcomes = err
        _judged = (run_id, outcomes)
    if isinstance(_judged[1], QualityEngineError):
        raise _judged[1]
    return _judged[1]


def _refuse(failed: list[str]) -> None:
    if failed:
        raise QualityBlocked(f"blocking data-quality checks failed on {', '.join(failed)}; nothing was published")


def refuse_if_blocked(outcomes: dict[str, SuiteOutcome]) -> None:
    _refuse([table for table, outcome in outcomes.items() if outcome.errors])


def refuse_if_recorded_blocked(con: duckdb.DuckDBPyConnection) -> None:
    """The verdict as recorded in the database: every suite judged, no error expectation failed."""
    try:
        rows = con.execute("select table_name, bool_or(severity = 'error' and not success) "
                           "from qa_expectation_results group by table_name").fetchall()
    except duckdb.CatalogException:
        rows = []
    missing = sorted(set(SUITE_TABLES) - {table for table, _ in rows})
    if missing:
        raise QualityEngineError(f"no verdict recorded for {', '.join(missing)}: the run is not published")
    _refuse(sorted(table for table, blocked in rows if blocked))
