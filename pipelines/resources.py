"""Resources every asset shares: the settings of one audit, the pseudonym key and DuckDB.

Assets take ``audit`` (``AuditConfig``), ``duckdb`` (``dagster_duckdb.DuckDBResource``) and,
for reading the delivery, ``pseudonym_key`` (``PseudonymKey``). Materialised on their own
(tests, a notebook) they are given these directly; in ``audit_job`` the run's destination
(``pipelines/operations/resources.py``) supplies them for the run's own folder.
"""

# No "from __future__ import annotations": Dagster reads the resource dependencies' annotations at runtime.
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines import parameters
from pipelines.lib.environment import DEMO_KEY, KEY_ENV, SAMPLE_DELIVERY, is_sample
from pipelines.lib.errors import AuditError
from pipelines.lib.pseudonym import MissingKeyError, Pseudonymiser, user_key_from_env

MEMORY_LIMIT_ENV = "MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT"


class AuditConfig(dg.ConfigurableResource):
    """One audit: which delivery, as of which extract date, with which parameters. Every field
    has a default, so the bundled synthetic sample runs without any configuration.

    ``output_dir`` is the folder the assets write their files into and ``previous_results`` the
    earlier ``patient_results.csv`` the reports compare with; in ``audit_job`` both come from
    the run's destination. The pseudonym key is deliberately not a field: it never appears in
    run configuration or event logs (``PseudonymKey``)."""

    extract_path: str = str(SAMPLE_DELIVERY)
    """The delivery: a folder or a .zip of one folder (default: the bundled synthetic sample)."""
    extract_date: str = ""
    """YYYY-MM-DD; empty: the manifest's extracted_at."""
    output_dir: str = ""
    """Where the assets write their files (in audit_job: the run's own folder)."""
    parameters: str = "{}"
    """A JSON object of parameter overrides (pipelines/parameters.py has every default)."""
    previous_results: str = ""
    """The previous run's patient_results.csv, for new / persisting / resolved deviations."""
    period: str = ""
    """Audit period of the department lists and dashboards (lib/period.py): 2026-10, 2026 or 12m; empty: 12m."""
    comments_dir: str = ""
    """The steering group's comments (<indicator>.md) for the national report; empty: none."""
    pdf: bool = False
    """Also print the national reports to PDF (headless Chromium)."""

    def parameter_values(self) -> dict[str, float | int | str]:
        return parameters.resolve(json.loads(self.parameters or "{}"))


class PseudonymKey:
    """The key a run pseudonymises with, as the assets receive it. Its bytes are never shown
    (no repr, no config field); a missing or weak key is reported where it is first needed, so a
    run without one fails in its first step with the reason."""

    def __init__(self, secret: bytes | None, *, demo: bool = False, problem: AuditError | None = None):
        self._secret, self.demo, self.problem = secret, demo, problem

    def __repr__(self) -> str:
        return f"PseudonymKey(demo={self.demo}, set={self._secret is not None})"

    def pseudonymiser(self) -> Pseudonymiser:
        if self._secret is None:
            raise self.problem or MissingKeyError(f"{KEY_ENV} is not set")
        return Pseudonymiser(self._secret)


def key_for(delivery: Path | str) -> PseudonymKey:
    """``MYELOMA_AUDIT_KEY`` (at least 32 bytes), else the documented demo key for the bundled
    sample only."""
    try:
        key = user_key_from_env()
    except AuditError as err:  # too short: refused with how to make one
        return PseudonymKey(None, problem=err)
    if key:
        return PseudonymKey(key)
    if is_sample(delivery):
        return PseudonymKey(DEMO_KEY, demo=True)
    return PseudonymKey(None, problem=MissingKeyError(
        f"{KEY_ENV} is not set. Every delivery other than the bundled synthetic sample needs the "
        f"registry's pseudonym key: export {KEY_ENV}=... (it is never printed or stored)."))


class KeyFromEnvironment(dg.ConfigurableResource):
    """The registry's pseudonym key from ``MYELOMA_AUDIT_KEY``, read when the run starts (the
    documented demo key for the bundled synthetic sample when it is not set). The assets get a
    ``PseudonymKey``; Python callers may give one of their own instead (``run_audit(key=...)``)."""

    audit_settings: AuditConfig

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        key = key_for(self.audit_settings.extract_path)
        if key.demo:
            context.log.info(f"the documented demo pseudonym key is used for the bundled synthetic sample "
                             f"({KEY_ENV} not set)")
        yield key


def duckdb_memory_limit() -> str:
    """DuckDB's buffer memory: ``MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT`` (e.g. ``6GB``), else half of
    the machine's memory, leaving the rest to Python and polars (which hold the delivery while it
    is read). Beyond the limit DuckDB spills to its temp directory; a limit below what one
    operator needs fails the run (2GB did at 1M patients). Read when a run's database is opened."""
    given = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if given:
        return given
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return ""
    return f"{max(total // 2 // 1024**2, 1024)}MB"


_UNITS = {"b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_bytes(size: str) -> int | None:
    """Bytes of a DuckDB memory size such as ``6GB``, ``11776MB`` or ``1.5 GiB``; None for a
    form this does not know."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", size)
    factor = _UNITS.get(match.group(2).lower() or "b") if match else None
    return int(float(match.group(1)) * factor) if factor else None


# A checkpoint's vacuum merges a table's partly filled row groups into full ones, in one thread.
# A run's tables are written once and never deleted from, so it only rewrites what two threads
# just wrote side by side: at 100,000 patients the closes of the derived facts, indicator and
# rpt_ steps took 2.0 s of which the rpt_ step's 0.8 s was that merge alone, at 1,000,000 the
# indicators step's close 3.1-3.4 s against 0.3 without it (docs/performance-history.md,
# twenty-second round). The tables hold the same rows.
NO_VACUUM = {"max_vacuum_tasks": 0}


def duckdb_resource(database: Path, temp_directory: Path | None = None) -> DuckDBResource:
    """The DuckDB file of a run, with the memory limit and, beyond it, spilling into
    ``temp_directory`` (the run's own folder; by default DuckDB's ``<database>.tmp``), and
    without the checkpoint's vacuum (``NO_VACUUM``)."""
    config: dict[str, object] = dict(NO_VACUUM)
    if limit := duckdb_memory_limit():
        config["memory_limit"] = limit
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    return DuckDBResource(database=str(database), connection_config=config)
