"""Progress of a run for a person at a terminal: one line per finished step and per check.
Dagster's own debug chatter stays out (it is in the event log). The command's runs select
this logger in their run configuration (``{"loggers": {"progress": {}}}``); the lines go to
the ``myeloma_audit`` Python logger, which the command prints to stderr."""

from __future__ import annotations

import logging

import dagster as dg

log = logging.getLogger("myeloma_audit")


class _ProgressHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self._started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        step = meta.get("step_key")
        kind = event.event_type_value
        if kind == "STEP_START":
            self._started[step] = record.created
        elif kind == "STEP_SUCCESS":
            seconds = record.created - self._started.get(step, record.created)
            log.info(f"  done {step.split('__')[-1]} ({seconds:.1f} s)")
        elif kind == "ASSET_CHECK_EVALUATION":
            log.info(f"  check: {meta.get('orig_message') or record.getMessage()}")


@dg.logger(description="One line per finished step and check (the myeloma-audit command).")
def progress_logger(_init_context) -> logging.Logger:
    logger = logging.Logger("myeloma_audit.progress", level=logging.DEBUG)
    logger.addHandler(_ProgressHandler())
    return logger
