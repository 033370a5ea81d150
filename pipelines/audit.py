"""The audit from Python and from the command: ``audit_job`` run in this process.

``run_audit`` audits one delivery into one output folder (``myeloma-audit run``);
``audit_inbox`` makes one pass over an inbox (``myeloma-audit inbox``). Both run the same
job the UI, the sensor and the schedules run, configured the same way
(``operations/run_config.py``), on the Dagster instance of ``DAGSTER_HOME`` when it is set
(so the runs appear in the UI) or else on a throwaway one.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.errors import DagsterAssetCheckFailedError, DagsterResourceFunctionError  # not re-exported in 1.13

from pipelines.definitions import defs
from pipelines.ingest.delivery import resolve_extract_date, safe_name
from pipelines.lib.environment import DEMO_KEY, KEY_ENV, SAMPLE_DELIVERY
from pipelines.lib.errors import QualityBlocked
from pipelines.lib.publish import FILE_LIST
from pipelines.operations import run_config
from pipelines.operations.process import process_inbox
from pipelines.operations.resources import MESSAGE_TAG
from pipelines.resources import PseudonymKey, key_for

__all__ = ["DEMO_KEY", "SAMPLE_DELIVERY", "RunSummary", "audit_inbox", "audit_job", "dagster_instance", "run_audit"]

log = logging.getLogger("myeloma_audit")


@dataclass
class RunSummary:
    out_dir: Path
    extract_id: str
    extract_date: str
    rows: dict
    files: dict
    outputs: list[str] = field(default_factory=list)
    used_demo_key: bool = False
    seconds: float = 0.0


def audit_job() -> dg.JobDefinition:
    return defs.resolve_job_def(run_config.AUDIT_JOB)


@contextmanager
def dagster_instance(instance: dg.DagsterInstance | None = None):
    """The given instance; else the one of ``DAGSTER_HOME`` when it is set (the UI's, with
    ``myeloma-audit ui``); else a throwaway one."""
    if instance is not None:
        yield instance
    elif os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as home:
            yield home
    else:
        with dg.DagsterInstance.ephemeral() as ephemeral:
            yield ephemeral


def run_audit(
    extract: Path = SAMPLE_DELIVERY,
    out_dir: Path = Path("out"),
    key: bytes | None = None,
    extract_date: date | None = None,
    parameters: dict | None = None,
    previous_results: Path | None = None,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
    period: str | None = None,
    comments: Path | None = None,
    pdf: bool = False,
) -> RunSummary:
    """Audit ``extract`` into ``out_dir``: one run of ``audit_job`` in this process, published
    atomically. Raises the run's error (``AuditError`` with a clear message for anything a
    delivery, a path or the installation causes; nothing published) on failure.

    ``key``: a pseudonym key given in Python (any length; tests use short ones), passed to the
    run as its ``pseudonym_key`` resource; by default ``MYELOMA_AUDIT_KEY`` (at least 32
    bytes), or the demo key for the bundled sample. ``instance``: the Dagster instance that
    records the run (default: ``dagster_instance()``). ``comments``: the steering group's
    comments folder for the national report; ``pdf``: also write the national reports as PDF."""
    extract, out_dir = Path(extract), Path(out_dir).absolute()
    given = PseudonymKey(key) if key else None
    chosen = given or key_for(extract)
    if chosen.problem:  # before anything is created
        raise chosen.problem
    if chosen.demo:
        log.info(f"using the documented demo pseudonym key for the bundled synthetic sample ({KEY_ENV} not set)")
    day = resolve_extract_date(extract, extract_date)
    log.info(f"delivery {safe_name(extract.name, chosen.pseudonymiser())} — extract date {day.isoformat()}")

    config = run_config.output_folder(extract, out_dir, extract_date=extract_date, parameters=parameters,
                                      previous_results=previous_results, audit_period=period,
                                      comments=comments, pdf=pdf,
                                      progress=True)
    run_id = str(uuid.uuid4())
    with dagster_instance(instance) as dagster:
        try:
            audit_job().execute_in_process(run_config=config, instance=dagster, tags=tags, run_id=run_id,
                                           resources={"pseudonym_key": given} if given else None)
        except (QualityBlocked, DagsterAssetCheckFailedError):  # the destination kept the quality report and says where
            message = dagster.get_run_by_id(run_id).tags.get(MESSAGE_TAG, "blocking data-quality checks failed")
            raise QualityBlocked(message) from None
        except DagsterResourceFunctionError as err:  # refused when the run started (delivery, output folder, lock)
            raise (err.__cause__ or err) from None
    record = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    return RunSummary(
        out_dir=out_dir, extract_id=record["extract_id"], extract_date=record["extract_date"],
        rows=record["rows"], files=record["files"], used_demo_key=record["used_demo_key"],
        outputs=sorted(p.name for p in out_dir.iterdir() if p.name != FILE_LIST), seconds=record["seconds"],
    )


def audit_inbox(inbox: Path, results: Path, **options) -> dict:
    """One pass over ``inbox`` into ``results`` (``process.process_inbox``), each new
    delivery one in-process run of ``audit_job``."""
    with dagster_instance() as dagster:
        return process_inbox(inbox, results, job=audit_job(), instance=dagster, progress=True, **options)
