"""Import Great Expectations in a background thread while the delivery is read.

GX takes seconds to import (pure Python, holding the GIL) while ingest spends its time in
polars and DuckDB (which release it), so on two cores the import is nearly free when it
overlaps ingest. The validation step's own ``import great_expectations`` then waits for this
import (Python's per-module import locks) instead of starting again. Modules both threads
need are imported here first, so the two threads never import the same module at once."""

from __future__ import annotations

import importlib
import threading

_SHARED_FIRST = ("pyarrow",)  # ingest needs it too (polars → DuckDB)


def import_in_background(module: str = "great_expectations") -> threading.Thread:
    for name in _SHARED_FIRST:
        importlib.import_module(name)
    thread = threading.Thread(target=importlib.import_module, args=(module,), name=f"import {module}", daemon=True)
    thread.start()
    return thread
