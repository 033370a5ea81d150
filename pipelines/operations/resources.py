"""Where a run's results go and the record of what became of them: the ``destination``
resource, and the two resources it gives the run's own folder to (``audit`` and ``duckdb``).

Every run of ``audit_job`` (the UI's "Materialize all", the inbox sensor, the schedules, the
``run`` and ``inbox`` commands, ``run_audit`` in Python) publishes the same way:

1. When the run starts, the destination checks the delivery and the output folder (refusing
   before anything is created), takes the output folder's lock (for a results folder: first
   the period's turn, and it decides whether the delivery may replace what is published), and
   creates the run's own folder ``.<out>.myeloma-audit/incoming-…``.
2. The assets write into that folder (``audit.output_dir``), DuckDB keeps its file there
   (``audit.duckdb``) and spills there beyond its memory limit.
3. The last asset, ``publish/published``, finishes ``run.json`` and swaps the folder into
   place in one step with the list of its files (``pipelines/lib/publish.py``).
4. When the run ends without that (a refused delivery, blocking quality checks, an error, a
   stop), the destination reads the failure from the run's event log, keeps the quality
   report of a blocked run, records a refusal or failure in ``history.json`` (results
   folders) and removes the run's folder; the published results stay as they were.

The outcome is also on the run's tags (``myeloma-audit/outcome``, ``myeloma-audit/message``),
so the UI's run list shows it and an in-process caller can read it.
"""

# No "from __future__ import annotations": Dagster reads the resource dependencies' annotations at runtime.
import json
import logging
import re
import resource as os_resource
import shutil
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from pipelines.ingest.delivery import check_container, resolve_extract_date
from pipelines.lib import signals
from pipelines.lib.errors import AuditError, DeliveryRefused, QualityBlocked, RunLocked, shown
from pipelines.lib.period import PeriodError, resolve_period
from pipelines.lib.publish import check_output_path, incoming_dir, keep_quality_report, publish, publish_lock
from pipelines.lib.vault import reid_key_from_env
from pipelines.operations.history import (FAILED, KIND_DELIVERY, KIND_MONTHLY, KIND_NATIONAL, PUBLISHED, REFUSED,
                                          ResultsStore, utc_now)
from pipelines.operations.inbox import describe, resolve
from pipelines.quality import worker as validation_worker
from pipelines.quality.runner import QualityEngineError
from pipelines.reports import comments as steering_comments
from pipelines.reports import contract, dashboards_beside, suppression
from pipelines.reports.pdf import chromium_path
from pipelines.resources import AuditConfig, duckdb_resource

DATABASE_NAME = "audit.duckdb"
SPILL_DIR = ".duckdb-spill"   # DuckDB's temp_directory inside the run's folder; removed before publishing
RUN_RECORD = "run.json"
OUTCOME_TAG = "myeloma-audit/outcome"
MESSAGE_TAG = "myeloma-audit/message"
_GLOB = re.compile(r"[*?\[\]{}]")
COMPARISON_FILES = ("run.json", "comparison.json", "comparison_base.csv")  # beside a previous patient_results.csv
_ERRNO = re.compile(r"^\[Errno \d+\] (?P<strerror>[^:]+?)(?:: '(?P<filename>.*)')?$")

log = logging.getLogger("myeloma_audit")


class OperationFailed(AuditError):
    """A run on a results folder did not publish; ``record`` is what history.json says."""

    def __init__(self, record: dict):
        self.record = record
        super().__init__(record.get("message", "failed"))


def _subclass_names(*classes: type) -> set[str]:
    names, todo = set(), list(classes)
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def status_of(err: BaseException) -> str:
    """Refused: the delivery itself is at fault (it will not get better by retrying).
    Failed: the installation is (no key, lock held too long, a bug)."""
    return REFUSED if isinstance(err, (DeliveryRefused, QualityBlocked)) else FAILED


def message_of(err: BaseException) -> str:
    if isinstance(err, AuditError):
        return shown(err, 2000)
    if isinstance(err, OSError):  # a path: permission, read-only file system, disk full …
        return shown(f"cannot use {err.filename or 'a file'}: {err.strerror or type(err).__name__}", 2000)
    return f"internal error ({type(err).__name__}): {shown(err, 500)}"


def _failure_of(info) -> tuple[str, str]:
    """(status, message) of a step's failure, from the run's event log (the error as Dagster
    stored it: class name and text; the exception object is gone by the end of the run)."""
    if info.cls_name == "DagsterExecutionStepExecutionError" and info.cause is not None:
        info = info.cause  # the error the asset raised
    name, text = info.cls_name or "Exception", (info.message or "").strip()
    head, _, rest = text.partition(": ")
    if head.split(".")[-1] == name:
        text = rest
    if name in _subclass_names(DeliveryRefused, QualityBlocked):
        return REFUSED, shown(text, 2000)
    if name in _subclass_names(AuditError) or name == "Failure":  # Failure: a step's own refusal (dg.Failure)
        return FAILED, shown(text, 2000)
    if name in _subclass_names(OSError) and (errno := _ERRNO.match(text)):
        return FAILED, shown(f"cannot use {errno['filename'] or 'a file'}: {errno['strerror']}", 2000)
    return FAILED, f"internal error ({name}): {shown(text, 500)}"


def _blocked(info) -> bool:
    """Whether the run's first failure is its data-quality verdict (``quality/verdict.py``; a
    Dagster-blocking check, should one be declared, fails as DagsterAssetCheckFailedError)."""
    if info.cls_name == "DagsterExecutionStepExecutionError" and info.cause is not None:
        info = info.cause
    return info.cls_name in {"DagsterAssetCheckFailedError", *_subclass_names(QualityBlocked)}


def _first_failure(context: dg.InitResourceContext):
    records = context.instance.get_records_for_run(context.run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.step_failure_data is not None:
            return event.step_failure_data.error
    return None


class Destination(dg.ConfigurableResource):
    """Where the run's results are published, and the record of it (configured per run).

    By default an output folder (``out_dir``, relative to the working folder: ``./out``), as
    ``myeloma-audit run --out`` and the UI's "Materialize all" use it. With ``results``, a
    registry's results folder: the delivery's period ``periods/<YYYY-MM>`` (or
    ``national/<national_year>``), recorded in ``history.json``, ``latest`` kept pointing at
    the newest good period."""

    out_dir: str = "out"
    """The output folder (replaced as a whole when the run succeeds); not used with results."""
    results: str = ""
    """A results folder (periods/, national/, history.json, latest) instead of out_dir."""
    national_year: int = 0
    """With results: the national report of this year (national/<year>) instead of the period's results."""
    delivery_key: str = ""
    """With results: the delivery's identity as the sensor or schedule saw it (<id>@<digest>)."""
    trigger: str = "manual"
    """With results: what started the run, as history.json records it (inbox_sensor, inbox, monthly, yearly, manual)."""
    wait_for_lock_seconds: float = 0
    """Wait this long for another run publishing to the same folder (0: refuse at once)."""
    failure: str = ""
    """Fail at once with this message, publishing nothing (a schedule that found no delivery to audit)."""
    period: str = ""
    """With failure: the month it is about (YYYY-MM), for history.json."""
    record_failure: bool = True
    """With failure: record it in history.json (not for a delivery refused before, which is only reported)."""

    audit_settings: AuditConfig

    _delivery: Path | None = PrivateAttr(default=None)
    _out: Path | None = PrivateAttr(default=None)
    _folder: Path | None = PrivateAttr(default=None)
    _previous: Path | None = PrivateAttr(default=None)
    _record: dict | None = PrivateAttr(default=None)
    _kept: str = PrivateAttr(default="")
    _started: float = PrivateAttr(default=0.0)
    _peak_rss_mb: dict = PrivateAttr(default_factory=dict)
    _published: bool = PrivateAttr(default=False)

    # --- what the other resources and the published asset ask -------------------------------------
    @property
    def delivery(self) -> Path:
        """The delivery itself (run configuration names it with CPR-shaped parts of its name
        replaced: ``inbox.reference``)."""
        return self._delivery

    @property
    def run_folder(self) -> Path:
        """The run's own folder: everything the run writes, published as a whole at the end."""
        return self._folder

    @property
    def out(self) -> Path:
        return self._out

    @property
    def previous_results(self) -> Path | None:
        """What the reports compare with: the given previous results, else what this output
        folder holds now (a results folder: the newest earlier period, or the national report
        of the year before)."""
        return self._previous

    def step_finished(self, step_key: str) -> None:
        """The process's peak memory so far, after each step (run.json shows which step raised it)."""
        self._peak_rss_mb[step_key] = round(os_resource.getrusage(os_resource.RUSAGE_SELF).ru_maxrss / 1024)

    # --- the run ---------------------------------------------------------------------------------
    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        with ExitStack() as stack:
            self._started = time.monotonic()
            self._prepare(context, stack)
            try:
                yield self
            finally:
                if not self._published:
                    self._unpublished(context)

    def _prepare(self, context: dg.InitResourceContext, stack: ExitStack) -> None:
        settings = self.audit_settings
        if self.failure:
            self._fail_at_once()
        self._delivery = resolve(settings.extract_path)
        if self.results and self.national_year:
            self._prepare_national()
        elif self.results:
            self._prepare_period(context, stack)
        else:
            self._out = Path(self.out_dir).absolute()
            self._previous = self._out / "patient_results.csv"
        try:
            given = date.fromisoformat(settings.extract_date) if settings.extract_date else None
            _check_requests(settings, resolve_extract_date(self._delivery, given))
            check_container(self._delivery)
            check_output_path(self._out, self._delivery)  # before anything is created
            self._take_lock(context, stack)
            if settings.previous_results:
                self._previous = Path(settings.previous_results)
            if self._previous is not None and not self._previous.is_file():
                self._previous = None
            self._folder = incoming_dir(self._out)
            # a stopped run leaves no folder behind either: owned for as long as it is there, so
            # a stop while a failed run unwinds (and removes it below) still removes it
            stack.enter_context(signals.owned(self._folder))
            stack.callback(shutil.rmtree, self._folder, True)  # unless published (renamed into place)
            stack.enter_context(validation_worker.started())  # imports GX while the delivery is read
            stack.callback(suppression.discard_ahead)  # started ahead by the reports layer, not taken: a stopped run
            stack.callback(contract.discard)  # the contract's files and workbook, unfinished when a run stops
            stack.callback(dashboards_beside.discard)  # the dashboards started beside, not taken: a stopped run
            if self._previous is not None and _GLOB.search(str(self._previous)):
                self._previous = self._private_copy(stack, self._previous)  # polars reads such a path as a pattern
        except Exception as err:
            self._refuse_during_setup(err)
            raise

    def _take_lock(self, context: dg.InitResourceContext, stack: ExitStack) -> None:
        """The output folder's lock; a run on a results folder waits for another one."""
        deadline = time.monotonic() + self.wait_for_lock_seconds
        waited = False
        while True:
            try:
                stack.enter_context(publish_lock(self._out, self._delivery))
                return
            except RunLocked as err:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise (RunLocked(f"{err} (waited {self.wait_for_lock_seconds:g} s)") if waited else err) from None
                if not waited:
                    context.log.info(f"{err}: waiting up to {self.wait_for_lock_seconds:g} s")
                    waited = True
                time.sleep(min(1.0, remaining))

    @staticmethod
    def _private_copy(stack: ExitStack, path: Path) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="myeloma-audit-"))  # 0700
        stack.enter_context(signals.owned(folder))  # owned until removed (see the run's folder)
        stack.callback(shutil.rmtree, folder, True)
        for beside in COMPARISON_FILES:  # what names the previous extract and keeps its own base
            if (path.parent / beside).is_file():
                shutil.copy2(path.parent / beside, folder / beside)
        return Path(shutil.copy2(path, folder / path.name))

    # --- results folders: the record in history.json ---------------------------------------------
    def _store(self) -> ResultsStore:
        return ResultsStore(Path(self.results))

    def _add(self, status: str, message: str, **extra) -> dict:
        record = {**self._record, "status": status, "message": message, **extra,
                  "finished_at": utc_now(), "seconds": round(time.monotonic() - self._started, 2)}
        return self._store().add(record)

    def _fail_at_once(self) -> None:
        if not self.results or not self.record_failure:
            raise AuditError(self.failure)
        if self.national_year:
            record = {"kind": KIND_NATIONAL, "trigger": self.trigger, "year": self.national_year,
                      "started_at": utc_now()}
            source = self._store().handled(self.delivery_key) if self.delivery_key else None
            if source:
                record.update({k: source[k] for k in ("delivery_key", "delivery_id", "source", "extract_date", "period")})
            self._record = record
            raise OperationFailed(self._add(FAILED, self.failure))
        raise OperationFailed(self._store().add({"kind": KIND_MONTHLY, "trigger": self.trigger, "period": self.period,
                                                 "status": FAILED, "message": self.failure, "finished_at": utc_now()}))

    def _prepare_period(self, context: dg.InitResourceContext, stack: ExitStack) -> None:
        """The period's turn (one delivery of a period at a time, from the decision to the swap)
        and whether this delivery may replace what is published for it."""
        store = self._store()
        entry = describe(self._delivery, time.time(), settle_seconds=0)
        if self.delivery_key and entry.key != self.delivery_key:
            context.log.warning(f"{entry.name} changed since the sensor saw it ({self.delivery_key} → {entry.key}); "
                                "auditing what is there now")
        day = entry.extract_date.isoformat() if entry.extract_date else ""
        self._record = {"kind": KIND_DELIVERY, "trigger": self.trigger, "delivery_key": entry.key,
                        "delivery_id": entry.delivery_id, "source": entry.reference, "period": entry.period,
                        "extract_date": day, "version": entry.version, "started_at": utc_now()}
        if not entry.complete:
            raise OperationFailed(self._add(REFUSED, f"delivery refused: {entry.reason.removeprefix('incomplete: ')}"))
        if entry.extract_date is None:
            raise OperationFailed(self._add(
                REFUSED, "delivery refused: no extract date — the delivery has no manifest.json with extracted_at and "
                         "its name holds no yyyy-mm-dd date; add a manifest or rename it (for example DMDB-2026-11-01)"))
        try:
            stack.enter_context(store.period_turn(entry.period, self.wait_for_lock_seconds))
        except RunLocked as err:  # waited too long for another delivery of the same period
            raise OperationFailed(self._add(FAILED, message_of(err))) from None
        current = store.published(entry.period)
        if (current and current["delivery_id"] == entry.delivery_id and current["extract_date"] == day
                and int(current.get("version", 1)) == entry.version and current.get("delivery_key") != entry.key):
            raise OperationFailed(self._add(
                REFUSED, f"delivery refused: duplicate of the delivery already published for {entry.period} (same "
                         f"extract_id {entry.delivery_id}, extracted_at {day} and version {entry.version}); it does not "
                         "replace it. A correction needs a later extracted_at or a higher manifest \"version\"",
                duplicate_of=current.get("delivery_key", "")))
        if current and current["delivery_id"] != entry.delivery_id and \
                (entry.version, day) < (int(current.get("version", 1)), current["extract_date"]):
            raise OperationFailed(self._add(
                REFUSED, f"delivery refused: period {entry.period} already has results from the newer delivery "
                         f"{current['delivery_id']} (version {current.get('version', 1)}, extracted "
                         f"{current['extract_date']}); an older delivery never replaces them"))
        self._kept = current["delivery_id"] if current else ""
        self._out = store.period_dir(entry.period)
        self._previous = store.previous_results(entry.period)

    def _prepare_national(self) -> None:
        store = self._store()
        source = (store.handled(self.delivery_key) if self.delivery_key else None) or {}
        self._record = {"kind": KIND_NATIONAL, "trigger": self.trigger, "year": self.national_year,
                        "started_at": utc_now(),
                        **{k: source[k] for k in ("delivery_key", "delivery_id", "source", "extract_date", "period")
                           if k in source}}
        self._out = store.national_dir(self.national_year)
        self._previous = store.previous_national(self.national_year)

    def _refuse_during_setup(self, err: Exception) -> None:
        """A refusal before the run's folder exists: recorded (results folders), nothing created."""
        if isinstance(err, OperationFailed) or not self.results or self._record is None:
            return
        extra = {"published_kept": self._kept} if self._kept else {}
        raise OperationFailed(self._add(status_of(err), message_of(err), **extra)) from err

    def _unpublished(self, context: dg.InitResourceContext) -> None:
        """The run ends without publishing: say why (the run's first failed step), keep the
        quality report of a blocked run, record it, and leave the published results alone."""
        info = _first_failure(context)
        if info is None:  # stopped, or a selection without publish/published: nothing to report
            return
        if _blocked(info):
            try:
                validation_worker.pages_written()
                status, message = REFUSED, str(keep_quality_report(self._folder, self._out))
            except QualityEngineError as err:  # the quality report could not be written
                status, message = FAILED, str(err)
        else:
            status, message = _failure_of(info)
        context.instance.add_run_tags(context.run.run_id, {OUTCOME_TAG: status, MESSAGE_TAG: message})
        if self.results and self._record is not None:
            self._add(status, message, **({"published_kept": self._kept} if self._kept else {}))

    # --- the last step ---------------------------------------------------------------------------
    def publish(self, context: dg.AssetExecutionContext, used_demo_key: bool) -> dict:
        """Finish ``run.json`` (timings from the run's event log) and swap the run's folder into
        place; for a results folder, record it in ``history.json``."""
        folder = self._folder
        validation_worker.pages_written()  # the quality report, written beside the run by its validation process
        contract.written()  # the contract's files and indicator_summary.xlsx, written beside the national report
        shutil.rmtree(folder / SPILL_DIR, ignore_errors=True)
        record = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
        timings = _timings(context, self._started)
        record.update(seconds=timings["seconds"], step_seconds=timings["steps"],
                      peak_rss_mb_after_step=dict(self._peak_rss_mb), table_seconds=timings["tables"],
                      used_demo_key=used_demo_key)
        (folder / RUN_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        publish(folder, self._out)
        self._published = True
        message = f"published {self._out}"
        if self.results:
            if self.national_year:
                message = f"national report {self.national_year} from {self._record.get('delivery_id', '?')}"
                extra = {}
            else:
                message = f"published {self._record['period']} from {self._record['delivery_id']}"
                extra = {"extract_id": self._record["delivery_id"]}  # as run.json has it: checked, CPR-shaped tokens pseudonymised
            self._add(PUBLISHED, message, out_dir=str(self._out), **extra,
                      previous_results=str(self._previous) if self._previous else "",
                      compared_with_previous=self._previous is not None)
        context.instance.add_run_tags(context.run.run_id, {OUTCOME_TAG: PUBLISHED, MESSAGE_TAG: message})
        return record


def _timings(context: dg.AssetExecutionContext, started: float) -> dict:
    """Seconds of the run so far, of each step before this one, and of each table (the layer
    steps record every table's seconds in its materialisation's metadata)."""
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.ASSET_MATERIALIZATION}
    begun: dict[str, float] = {}
    steps: dict[str, float] = {}
    tables: dict[str, float] = {}
    for record in context.instance.get_records_for_run(context.run.run_id, of_type=kinds).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_START:
            begun[entry.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS and entry.step_key in begun:
            steps[entry.step_key] = round(entry.timestamp - begun[entry.step_key], 3)
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            seconds = materialization.metadata.get("seconds")
            if seconds is not None:
                tables[materialization.asset_key.path[-1]] = seconds.value
    return {"seconds": round(time.monotonic() - started, 2), "steps": steps, "tables": tables}


def settings_fields(settings: AuditConfig) -> dict:
    """Every field of the audit settings (whatever fields AuditConfig has)."""
    return {name: getattr(settings, name) for name in AuditConfig.model_fields}


def _check_requests(settings: AuditConfig, day: date) -> None:
    """What the settings ask of the run that can be refused before anything is created: the
    audit period, a re-identification key that is set (held to 32 bytes), the steering
    group's comments (every file parsed) and, for PDFs, a Chromium to print them."""
    try:
        resolve_period(settings.period or None, day)
    except PeriodError as err:
        raise AuditError(str(err)) from None
    reid_key_from_env()
    if settings.comments_dir:
        steering_comments.read(settings.comments_dir)
    if settings.pdf:
        chromium_path()


class RunAudit(dg.ConfigurableResource):
    """The audit settings as the assets see them in ``audit_job`` (an ``AuditConfig``): the
    delivery itself, the run's own folder as ``output_dir``, and the destination's previous
    results."""

    audit_settings: AuditConfig
    destination: Destination

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        previous = self.destination.previous_results
        yield AuditConfig(**{**settings_fields(self.audit_settings), "extract_path": str(self.destination.delivery),
                             "output_dir": str(self.destination.run_folder),
                             "previous_results": str(previous) if previous else ""})


class RunDatabase(dg.ConfigurableResource):
    """DuckDB in the run's own folder (``audit.duckdb``, published with the results), with its
    memory limit (``MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT``, read when the run starts) and spilling
    into the run's folder beyond it. The assets get a ``DuckDBResource``."""

    destination: Destination

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        folder = self.destination.run_folder
        yield duckdb_resource(folder / DATABASE_NAME, temp_directory=folder / SPILL_DIR)
