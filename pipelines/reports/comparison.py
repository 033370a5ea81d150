"""Run-to-run comparison: against the newest *earlier extract*, named on the page.

Every run that publishes department lists writes beside its results:

* ``comparison.json`` — the extract this run audited and the one it was compared with
  (``extract_id``, ``extract_date``, ``label``), or none;
* ``comparison_base.csv`` — the deviation rows of that earlier extract (the columns of
  ``patient_results.csv``), so the comparison can be made again.

The previous results a run is given (``--out``'s ``patient_results.csv``, or the newest
earlier period's in the operations layer) are named by the ``run.json`` beside them. When
they are of the same extract (same extract id and date: the same delivery run again) or of
a later one, the run compares with what *they* were compared with (their
``comparison_base.csv``), so rerunning a delivery never compares it with itself. An earlier
extract is one with an earlier extract date, or the same date and a smaller extract id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.errors import AuditError
from pipelines.lib.labels import extract_label
from pipelines.reports.danish import dato

INFO_FILE = "comparison.json"
BASE_FILE = "comparison_base.csv"
RUN_FILE = "run.json"
REQUIRED = ("pseudonym", "indicator_id", "status", "department_code")
OPTIONAL = ("reason_code", "reason_text", "index_date", "guideline_version", "risk", "risk_rules")
DEVIATIONS = ("not_met", "unknown", "justified")


_PSEUDONYM = re.compile(r"P[0-9a-f]{16}")


def shown_id(extract_id: str | None) -> str | None:
    """The extract id as the department pages may show it: not when it holds a pseudonym (a
    CPR-shaped part of a delivered id, pseudonymised at ingest: another person's pseudonym
    has no place in a department's folder); then the pages name the extract by its date and
    checksum only."""
    if not extract_id or _PSEUDONYM.search(extract_id):
        return None
    return extract_id


class PreviousResultsRefused(AuditError, ValueError):
    """The previous run's patient_results.csv cannot be compared with (a ValueError, as before)."""


@dataclass(frozen=True)
class ExtractRef:
    """An extract as the comparison names it."""

    extract_id: str | None
    extract_date: date | None
    label: str | None = None      # ``01-11-2026 · 3f9a1c2e``: date and checksum of the files

    @property
    def order(self) -> tuple:
        return (self.extract_date or date.min, self.extract_id or "")

    @property
    def name_da(self) -> str:
        """``udtræk DMDB-2026-10-01 af 01-10-2026`` (``udtræk af 01-10-2026 (kontrolsum 3f9a1c2e)``
        when the id may not be shown)."""
        name = shown_id(self.extract_id)
        checksum = self.label.split("·")[-1].strip() if self.label and "·" in self.label else None
        text = "udtræk " + name if name else "udtræk"
        text += f" af {dato(self.extract_date)}" if self.extract_date else ""
        return text + (f" (kontrolsum {checksum})" if checksum and not name else "")

    def as_dict(self) -> dict:
        return {"extract_id": self.extract_id,
                "extract_date": self.extract_date.isoformat() if self.extract_date else None, "label": self.label}

    @classmethod
    def from_dict(cls, record: dict | None) -> ExtractRef | None:
        if not isinstance(record, dict):
            return None
        day = record.get("extract_date")
        try:
            day = date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            day = None
        extract_id = record.get("extract_id")
        label = record.get("label")
        return cls(extract_id if isinstance(extract_id, str) else None, day, label if isinstance(label, str) else None)


def current_ref(con) -> ExtractRef | None:
    """The extract loaded into a DuckDB connection (``raw_delivery_info``, ``raw_file_info``)."""
    try:
        info = con.execute("select extract_id, extract_date from raw_delivery_info limit 1").fetchall()
        files = dict(con.execute("select file, sha256 from raw_file_info").fetchall())
    except duckdb.CatalogException:
        return None
    if not info:
        return None
    extract_id, day = info[0]
    return ExtractRef(extract_id, day, extract_label(day, files))


def _json(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def run_ref(folder: Path) -> ExtractRef | None:
    """The extract of a published run, from its ``run.json``."""
    record = _json(folder / RUN_FILE)
    if record is None:
        return None
    files = record.get("files") if isinstance(record.get("files"), dict) else {}
    checksums = {name: f.get("sha256", "") for name, f in files.items() if isinstance(f, dict)}
    ref = ExtractRef.from_dict(record)
    if ref is None:
        return None
    return ExtractRef(ref.extract_id, ref.extract_date,
                      extract_label(ref.extract_date, checksums) if ref.extract_date and checksums else None)


def read_results(path: Path) -> pl.DataFrame:
    """A ``patient_results.csv`` (or ``comparison_base.csv``; results contract: UTF-8, comma),
    all text. A file that is not one (damaged, edited and saved by a spreadsheet) stops the
    run with a clear message (``AuditError``), not an internal error."""
    advice = "move it out of the output folder (or audit into a new folder) to run without the comparison"
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as err:  # polars raises several kinds for a file that is not CSV
        raise PreviousResultsRefused(f"the previous results {path} cannot be read as CSV "
                                     f"({type(err).__name__}); {advice}") from None
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise PreviousResultsRefused(f"the previous results {path} are not a patient_results.csv of this audit "
                                     f"(missing {', '.join(missing)}); {advice}")
    for column in OPTIONAL:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    return frame.select(*REQUIRED, *OPTIONAL)


@dataclass
class Base:
    """The results a run is compared with."""

    rows: pl.DataFrame            # read_results' columns
    ref: ExtractRef | None        # the extract they are of (None: not known)
    source: str                   # the file they were read from

    @property
    def name_da(self) -> str:
        return self.ref.name_da if self.ref and self.ref.extract_date else f"tidligere resultater ({self.source})"


def _earlier(ref: ExtractRef | None, current: ExtractRef | None) -> bool:
    """``ref`` is of an earlier extract than ``current`` (unknown counts as earlier)."""
    if ref is None or current is None or ref.extract_date is None or current.extract_date is None:
        return True
    return ref.order < current.order


def choose_base(previous_results: Path | None, current: ExtractRef | None) -> Base | None:
    """What this run compares with: the given previous results when they are of an earlier
    extract, else what they were compared with when that is (see the module's text)."""
    if not previous_results:
        return None
    previous_results = Path(previous_results)
    folder = previous_results.parent
    ref = run_ref(folder)
    if ref is None or current is None or _earlier(ref, current):
        rows = read_results(previous_results)
        return Base(rows, ref, previous_results.name)
    # the same extract again (or a later one): its own base, when that is of an earlier extract
    info = _json(folder / INFO_FILE) or {}
    base_ref = ExtractRef.from_dict(info.get("compared_with"))
    if (folder / BASE_FILE).is_file() and info.get("compared_with") is not None and _earlier(base_ref, current):
        return Base(read_results(folder / BASE_FILE), base_ref, str(info.get("source") or BASE_FILE))
    return None


def write_base(out_dir: Path, current: ExtractRef | None, base: Base | None, period: dict | None = None) -> None:
    """``comparison.json`` (with the audit period the department lists cover) and (with a
    base) ``comparison_base.csv`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"extract": current.as_dict() if current else None, "period": period,
              "compared_with": (base.ref.as_dict() if base.ref else {"extract_id": None, "extract_date": None,
                                                                     "label": None}) if base else None,
              "source": base.source if base else None,
              "base_file": BASE_FILE if base else None}
    (out_dir / INFO_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    if base is not None:
        base.rows.filter(pl.col("status").is_in(DEVIATIONS)).write_csv(out_dir / BASE_FILE)
