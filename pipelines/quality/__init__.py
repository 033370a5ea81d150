"""Data quality of the staging layer (issue 4).

- ``expectations/<stg_table>.json``: one Great Expectations suite per staging table
  (severity ``error`` = blocking, ``warn``; a one-line ``why`` each).
- ``gx_duckdb``: GX's SQL path made to work on DuckDB (the one patch, pinned by a test),
  with ``gx_row_queries``: each unexpected-rows query evaluated once, its rows kept.
- ``gx_validation``: one GX pass per table, the Data Docs of a run built once.
- ``runner``: validates suites inside DuckDB, lists every failing row, Data Docs.
- ``checks``: the Dagster asset checks (``QUALITY_CHECKS``).
- ``completeness``: completeness per unit and per-indicator quality flags.

Great Expectations is imported only inside ``gx_duckdb``/``gx_validation``/``docs``/the runner's functions
(it costs seconds); importing ``pipelines.quality.checks`` does not import it. When it is
imported, the modules it loads but never uses here wait for their first use
(``lib.deferred_imports``).
"""

from pipelines.lib import deferred_imports

deferred_imports.defer(*deferred_imports.UNUSED_BY_GREAT_EXPECTATIONS)
