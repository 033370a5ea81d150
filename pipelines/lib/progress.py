"""Progress of a run for a person at a terminal: one line per finished step, and the step
timings for run.json. Dagster's own debug chatter stays out (it is in the event log)."""

from __future__ import annotations

import logging
import re
import resource

import dagster as dg

log = logging.getLogger("myeloma_audit")
_SECONDS = re.compile(r"in ([\d.]+)(ms|s|m)\b")


class _ProgressHandler(logging.Handler):
    def __init__(self, timings: dict[str, float], peak_rss_mb: dict[str, float] | None,
                 table_seconds: dict[str, float] | None):
        super().__init__()
        self.timings = timings
        self.peak_rss_mb = peak_rss_mb
        self.table_seconds = table_seconds
        self._started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        message = meta.get("orig_message") or record.getMessage()
        step = meta.get("step_key")
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self._started[step] = record.created
        elif kind == "STEP_SUCCESS":
            # from the step's own start event: Dagster's message says "1m 5s" style for long steps
            seconds = round(record.created - self._started[step], 3) if step in self._started else _parse_seconds(message)
            self.timings[step] = seconds
            if self.peak_rss_mb is not None:  # the process's peak so far: which step raised it
                self.peak_rss_mb[step] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            log.info(f"  done {step.split('__')[-1]} ({seconds:.1f} s)")
        elif kind == "ASSET_MATERIALIZATION" and self.table_seconds is not None:
            materialization = event.event_specific_data.materialization
            seconds = materialization.metadata.get("seconds")
            if seconds is not None:  # tables built inside one layer step
                self.table_seconds[materialization.asset_key.path[-1]] = seconds.value
        elif kind == "ASSET_CHECK_EVALUATION":
            log.info(f"  check: {message}")


def _parse_seconds(message: str) -> float:
    match = _SECONDS.search(message)
    if not match:
        return 0.0
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


def progress_logger_for(timings: dict[str, float], peak_rss_mb: dict[str, float] | None = None,
                        table_seconds: dict[str, float] | None = None) -> dg.LoggerDefinition:
    @dg.logger(description="One line per finished step (myeloma-audit command line).")
    def progress(_init_context):
        logger = logging.Logger("myeloma_audit.progress", level=logging.DEBUG)
        logger.addHandler(_ProgressHandler(timings, peak_rss_mb, table_seconds))
        return logger

    return progress
