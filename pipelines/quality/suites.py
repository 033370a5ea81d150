"""The expectation suites as committed JSON (``expectations/<stg_table>.json``), read without
importing Great Expectations (the Dagster definitions need severities at load time).

A suite file is GX's ExpectationSuite format (``gx.ExpectationSuite(**json.load(f))``) with
our conventions in ``meta``:
- suite ``meta.table`` (the staging table) and ``meta.id_column`` (the id reported with each
  failing row's ``_line``: ``pseudonym``, ``course_id`` for drugs, ``department_code``);
- each expectation's ``meta.name`` (unique in the suite), ``meta.severity`` (``error`` =
  blocking: the indicators would be wrong; ``warn``) and ``meta.why`` (one line).
``unexpected_rows_expectation`` queries select ``_line`` and the id column from ``{batch}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipelines.lib.extract_format import FILES

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SEVERITIES = ("error", "warn")
SUITE_TABLES: tuple[str, ...] = tuple(f.stg_table for f in FILES)


@dataclass(frozen=True)
class ExpectationInfo:
    name: str
    type: str
    kwargs: dict
    severity: str
    why: str

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column") or self.kwargs.get("column_A")

    @property
    def label(self) -> str:
        """A one-line human label: the description, or the type and its columns."""
        if self.kwargs.get("description"):
            return self.kwargs["description"]
        columns = [self.kwargs[k] for k in ("column", "column_A", "column_B") if k in self.kwargs]
        return f"{self.type}({', '.join(columns)})"


@lru_cache(maxsize=None)
def _load(table: str, directory: str) -> str:
    path = Path(directory) / f"{table}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no expectation suite for {table}: {path}")
    return path.read_text(encoding="utf-8")


def suite_json(table: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    """The suite of ``table`` as a fresh dict (safe to modify)."""
    suite = json.loads(_load(table, str(directory)))
    _validate(table, suite)
    return suite


def _validate(table: str, suite: dict) -> None:
    if suite.get("name") != table or suite.get("meta", {}).get("table") != table:
        raise ValueError(f"expectations/{table}.json: name and meta.table must be {table!r}")
    if not suite.get("meta", {}).get("id_column"):
        raise ValueError(f"expectations/{table}.json: meta.id_column is required")
    seen = set()
    for exp in suite["expectations"]:
        meta = exp.get("meta", {})
        name = meta.get("name")
        if not name or name in seen:
            raise ValueError(f"expectations/{table}.json: every expectation needs a unique meta.name ({name!r})")
        seen.add(name)
        if meta.get("severity") not in SEVERITIES or not meta.get("why"):
            raise ValueError(f"expectations/{table}.json: {name}: meta.severity (error|warn) and meta.why are required")


def expectations(table: str) -> list[ExpectationInfo]:
    return [ExpectationInfo(e["meta"]["name"], e["type"], e["kwargs"], e["meta"]["severity"], e["meta"]["why"])
            for e in suite_json(table)["expectations"]]


def id_column(table: str) -> str:
    return suite_json(table)["meta"]["id_column"]


def has_blocking(table: str) -> bool:
    return any(e.severity == "error" for e in expectations(table))
