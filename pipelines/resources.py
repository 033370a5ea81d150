"""Resources every asset shares: the DuckDB file and the settings of one audit run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines import parameters


class AuditConfig(dg.ConfigurableResource):
    """One audit run: which delivery, as of which extract date, published where.

    The pseudonym key is deliberately not a field: it is read from ``MYELOMA_AUDIT_KEY``
    at ingest so it never appears in run configuration or event logs."""

    extract_path: str
    extract_date: str = ""
    output_dir: str
    parameters: str = "{}"
    previous_results: str = ""  # the previous run's patient_results.csv, for new/persisting/resolved
    comments_dir: str = ""      # the steering group's comments (<indicator>.md) for the national report
    pdf: bool = False           # also print the national reports to PDF (headless Chromium)

    def extract_day(self) -> date:
        """The configured date, else the delivery manifest's ``extracted_at``."""
        from pipelines.ingest.delivery import resolve_extract_date

        given = date.fromisoformat(self.extract_date) if self.extract_date else None
        return resolve_extract_date(Path(self.extract_path), given)

    def parameter_values(self) -> dict[str, float | int | str]:
        return parameters.resolve(json.loads(self.parameters or "{}"))
