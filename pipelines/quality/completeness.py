"""Completeness per reporting unit and the per-indicator quality flags.

``completeness(con)`` builds ``rpt_completeness`` (``sql/quality/rpt_completeness.sql``): per
unit (national, region, hospital, department) and per variable an indicator needs, the
share present and whether it is below the threshold (default 0.90).

``quality_flags(con)`` builds ``rpt_quality_flags`` (``sql/quality/rpt_quality_flags.sql``):
per indicator × unit, whether the indicator's input tables failed a blocking
(error) expectation (from ``qa_failing_rows`` / ``qa_expectation_results``, written by the
asset checks) and which of its variables are under the completeness threshold. Join it
into ``indicator_summary`` on (indicator_id, level, unit). Both return the table name
(``sql_loader.create_table`` leaves a result open, so no relation is handed back).

Needs only the staging tables; when no suite has run yet, no check failures are reported.
"""

from __future__ import annotations

import duckdb

from pipelines.lib.sql_loader import create_table, run_sql, set_variables

DEFAULT_THRESHOLD = 0.90


def completeness(con: duckdb.DuckDBPyConnection, threshold: float = DEFAULT_THRESHOLD) -> str:
    """(Re)build ``qa_patient_units`` and ``rpt_completeness``; returns the table name."""
    set_variables(con, {"completeness_threshold": float(threshold)})
    create_table(con, "qa_patient_units", "quality/qa_patient_units.sql")
    create_table(con, "rpt_completeness", "quality/rpt_completeness.sql")
    return "rpt_completeness"


def quality_flags(con: duckdb.DuckDBPyConnection, inputs: dict[str, list[str]],
                  threshold: float = DEFAULT_THRESHOLD) -> str:
    """(Re)build ``rpt_completeness`` and ``rpt_quality_flags``; returns the table name.
    ``inputs``: per indicator the staging tables it reads. Columns:
    ``indicator_id, level, unit, failed_blocking_check, blocking_checks, below_completeness,
    incomplete_variables, quality_flag``."""
    run_sql(con, "quality/create_quality_tables.sql")
    completeness(con, threshold)
    set_variables(con, {"indicator_inputs": [{"indicator_id": i, "tables": t} for i, t in inputs.items()]})
    create_table(con, "rpt_quality_flags", "quality/rpt_quality_flags.sql")
    return "rpt_quality_flags"
