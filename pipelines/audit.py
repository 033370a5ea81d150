"""One whole audit of one delivery: ingest → staging → indicators → reports, run as a
Dagster job in this process, published atomically into the output folder."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.errors import DagsterAssetCheckFailedError  # not re-exported at top level in 1.13

from pipelines.ingest.delivery import check_container, resolve_extract_date, safe_name
from pipelines.lib import signals
from pipelines.lib.errors import QualityBlocked, shown
from pipelines.lib.progress import progress_logger_for
from pipelines.lib.pseudonym import KEY_ENV, MissingKeyError, Pseudonymiser, user_key_from_env
from pipelines.lib.publish import (FILE_LIST, OutputRefused, check_output_path, check_replaceable, incoming_dir,
                                   publish, publish_lock, work_dir)

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DELIVERY = REPO_ROOT / "data_samples" / "sample_delivery"
# Only for the bundled synthetic sample: a key anyone may know, since nothing real is behind it.
DEMO_KEY = b"myeloma-audit-demo-key (synthetic sample only)"
DATABASE_NAME = "audit.duckdb"
SPILL_DIR = ".duckdb-spill"   # DuckDB's temp_directory inside the run's folder; removed before publishing
AUDIT_JOB = "audit_job"

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


def choose_key(extract: Path, key: bytes | None) -> tuple[bytes, bool]:
    """The explicit key, else MYELOMA_AUDIT_KEY (at least 32 bytes: ``user_key_from_env``),
    else the demo key for the bundled sample. A key passed in Python is not checked."""
    if key:
        return key, False
    from_env = user_key_from_env()
    if from_env:
        return from_env, False
    if extract.resolve() == SAMPLE_DELIVERY.resolve():
        return DEMO_KEY, True
    raise MissingKeyError(
        f"{KEY_ENV} is not set. Every delivery other than the bundled synthetic sample needs the "
        f"registry's pseudonym key: export {KEY_ENV}=... (it is never printed or stored)."
    )


_GLOB = re.compile(r"[*?\[\]{}]")


@contextmanager
def _private_temp():
    """A private temporary folder (0700), removed afterwards, also when the run is stopped."""
    folder = Path(tempfile.mkdtemp(prefix="myeloma-audit-"))
    try:
        with signals.owned(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _key_in_environment(key: bytes):
    previous = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = key.decode("utf-8")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = previous


def _blocked(staging: Path, out_dir: Path) -> QualityBlocked:
    """Keep the failed run's quality report (not its results) where the user can read it:
    ``<out>.blocked-quality`` (replaced only when it holds an earlier blocked report and
    nothing else; otherwise inside the run's own folder)."""
    report = out_dir.parent / f"{out_dir.name}.blocked-quality"
    failed = []
    if (staging / "quality").is_dir():
        new = incoming_dir(out_dir)
        shutil.copytree(staging / "quality", new, dirs_exist_ok=True)
        new.chmod(0o700)  # failing rows are personal data, whatever the caller's umask
        try:
            check_replaceable(report)
        except OutputRefused:
            report = work_dir(out_dir) / "blocked-quality"
            shutil.rmtree(report, ignore_errors=True)
        publish(new, report, results=False)
        failed = sorted(p.stem for p in (report / "failing_rows").glob("*.csv")) if (report / "failing_rows").is_dir() else []
    return QualityBlocked(
        "blocking data-quality checks failed" + (f" on {', '.join(failed)}" if failed else "")
        + f"; indicators were not computed and nothing was published. See {shown(report / 'index.html', 300)}"
    )


def run_audit(
    extract: Path = SAMPLE_DELIVERY,
    out_dir: Path = Path("out"),
    key: bytes | None = None,
    extract_date: date | None = None,
    parameters: dict | None = None,
    previous_results: Path | None = None,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
    comments: Path | None = None,
    pdf: bool = False,
) -> RunSummary:
    """Run the audit; raises ``AuditError`` (clear message, nothing published) on failure.

    ``instance``: the Dagster instance that records the run (the sensor's and schedules'
    runs pass their own, so row counts, check results and proportions reach the asset
    graph in the UI); by default a throwaway one. ``comments``: the steering group's comments
    folder for the national report; ``pdf``: also write the national reports as PDF."""
    from pipelines.definitions import build_definitions
    from pipelines.resources import AuditConfig

    started = time.monotonic()
    extract, out_dir = Path(extract), Path(out_dir).absolute()
    # everything that can refuse the run is checked before anything is created
    key, used_demo_key = choose_key(extract, key)
    if used_demo_key:
        log.info(f"using the documented demo pseudonym key for the bundled synthetic sample ({KEY_ENV} not set)")
    day = resolve_extract_date(extract, extract_date)
    check_container(extract)
    check_output_path(out_dir, extract)
    if comments:
        from pipelines.reports import comments as steering_comments

        steering_comments.read(comments)  # a bad comments file refuses the run before anything is created
    if pdf:
        from pipelines.reports.pdf import chromium_path

        chromium_path()
    log.info(f"delivery {safe_name(extract.name, Pseudonymiser(key))} — extract date {day.isoformat()}")

    with publish_lock(out_dir, extract), ExitStack() as tempdir:
        staging = incoming_dir(out_dir)
        with signals.owned(staging):
            try:
                # the run to compare with: given, else what is published in out_dir until the swap
                previous = Path(previous_results) if previous_results else out_dir / "patient_results.csv"
                if previous.is_file() and _GLOB.search(str(previous)):  # polars would read the path as a pattern
                    previous = shutil.copy2(previous, Path(tempdir.enter_context(_private_temp())) / previous.name)
                audit = AuditConfig(extract_path=str(extract.absolute()), extract_date=day.isoformat(),
                                    output_dir=str(staging), parameters=json.dumps(parameters or {}),
                                    previous_results=str(previous) if previous.is_file() else "",
                                    comments_dir=str(Path(comments).absolute()) if comments else "", pdf=pdf)
                timings: dict[str, float] = {}
                peak_rss_mb: dict[str, float] = {}
                table_seconds: dict[str, float] = {}
                defs = build_definitions(staging / DATABASE_NAME, audit, progress_logger_for(timings, peak_rss_mb, table_seconds),
                                         temp_directory=staging / SPILL_DIR)
                with _key_in_environment(key):
                    try:
                        defs.resolve_job_def(AUDIT_JOB).execute_in_process(
                            instance=instance or dg.DagsterInstance.ephemeral(), tags=tags,
                            run_config={"loggers": {"progress": {}}})
                    except DagsterAssetCheckFailedError:
                        raise _blocked(staging, out_dir) from None
                shutil.rmtree(staging / SPILL_DIR, ignore_errors=True)
                record = json.loads((staging / "run.json").read_text(encoding="utf-8"))
                record["seconds"] = round(time.monotonic() - started, 2)
                record["step_seconds"] = timings
                record["peak_rss_mb_after_step"] = peak_rss_mb
                record["table_seconds"] = table_seconds
                record["used_demo_key"] = used_demo_key
                (staging / "run.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
                publish(staging, out_dir)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return RunSummary(
        out_dir=out_dir, extract_id=record["extract_id"], extract_date=record["extract_date"],
        rows=record["rows"], files=record["files"], used_demo_key=used_demo_key,
        outputs=sorted(p.name for p in out_dir.iterdir() if p.name != FILE_LIST), seconds=record["seconds"],
    )
