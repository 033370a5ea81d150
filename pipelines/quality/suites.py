"""The expectation suites as committed JSON (``expectations/<stg_table>.json``), read without
importing Great Expectations (the Dagster definitions need severities at load time).

A suite file is GX's ExpectationSuite format (``gx.ExpectationSuite(**json.load(f))``) with
our conventions in ``meta``:
- suite ``meta.table`` (the staging table) and ``meta.id_column`` (the id reported with each
  failing row's ``_line``: ``pseudonym``, ``course_id`` for drugs, ``department_code``);
- each expectation's ``meta.name`` (unique in the suite), ``meta.severity`` (``error`` =
  blocking: the indicators would be wrong; ``warn``) and ``meta.why`` (one line).
``unexpected_rows_expectation`` queries select ``_line`` and the id column from ``{batch}``.

The format's rules are written once (``lib/extract_format.py``): a kwarg value
``"$format.value_sets.<name>"`` or ``"$format.ranges.<name>.low"`` / ``.high`` is that value,
and an ``unexpected_rows_query`` may use the SQL loader's Jinja helpers (``lab_units``,
``in_range`` …), so the suites check exactly the rules staging applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipelines.lib.extract_format import FILES, FORMAT
from pipelines.lib.sql_loader import render

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


def _format_value(reference: str) -> object:
    """``$format.ranges.height_cm.low`` → 100 (a list for a value set)."""
    value: object = FORMAT
    for part in reference.removeprefix("$format.").split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return list(value) if isinstance(value, tuple) else value


def _resolve(kwargs: dict) -> dict:
    resolved = {k: _format_value(v) if isinstance(v, str) and v.startswith("$format.") else v for k, v in kwargs.items()}
    if "unexpected_rows_query" in resolved:
        resolved["unexpected_rows_query"] = render(resolved["unexpected_rows_query"])
    return resolved


def suite_json(table: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    """The suite of ``table`` as a fresh dict (safe to modify), its ``$format`` values resolved."""
    suite = json.loads(_load(table, str(directory)))
    _validate(table, suite)
    for expectation in suite["expectations"]:
        expectation["kwargs"] = _resolve(expectation["kwargs"])
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
