"""Great Expectations takes seconds to import (its modules, pandas, SQLAlchemy, Jinja pages).
``start()`` imports the quality layer's GX modules in a background thread when a run begins,
while the main thread reads and stages the delivery (mostly in polars and DuckDB, which
release the GIL); the validation step then finds them loaded (an import still in progress
is waited for by Python's import lock). Nothing else happens in the thread."""

from __future__ import annotations

import importlib
import threading

MODULES = ("pipelines.quality.gx_duckdb", "pipelines.quality.gx_validation", "pipelines.quality.docs")
_started = threading.Lock()
_thread: threading.Thread | None = None


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the validation step imports it again and reports the error where it belongs
            return


def start() -> None:
    """Begin importing, once per process."""
    global _thread
    with _started:
        if _thread is None:
            _thread = threading.Thread(target=_import_all, name="gx-preload", daemon=True)
            _thread.start()
