"""Synthetic registry deliveries in the format of ``shared/spec/extract-format.md``.

``write_delivery`` writes the 10 CSV files and ``manifest.json`` of one delivery:
semicolon separated, Windows-1252 and CRLF by default, Danish conventions with small
shares of the accepted alternatives (format version 2: some MRD sensitivities in E
notation, lenalidomide courses beyond 100 cycles), a myeloma cohort that looks like Danish
practice with every status and reason code of indicators.md version 2
(:mod:`pipelines.synth.pathway` simulates it step by step, :mod:`pipelines.synth.cohort`
makes the tables, :mod:`pipelines.synth.stats` counts what it planted) and, with
``dirty=True``, a few dirty rows of every quarantine kind (:mod:`pipelines.synth.dirty`).

Output is byte-identical for the same arguments. The clean rows do not depend on
``dirty`` (the dirty rows are extra rows), so a clean and a dirty delivery with the same
seed share every clean line. CPR numbers fail the modulus-11 check.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.lib.extract_format import FILES

from . import reference as ref
from .cohort import Cohort, simulate
from .dirty import Injector
from .render import DateFormatter, render

__all__ = ["write_delivery", "write_delivery_with_stats", "generate_delivery", "simulate_cohort", "Delivery"]


@dataclass
class Delivery:
    """One generated delivery before it is written: file name -> lines (without header)."""

    extract_id: str
    extracted_at: str
    lines: dict[str, pl.Series]
    stats: dict


def _departments_frame() -> pl.DataFrame:
    rows = [d[:4] for d in ref.DEPARTMENTS]
    return pl.DataFrame(rows, schema=["department_code", "department_name", "hospital", "region"], orient="row")


def _join_fields(df: pl.DataFrame, columns: tuple[str, ...]) -> pl.Series:
    return df.select(pl.concat_str([pl.col(c) for c in columns], separator=";").alias("line")).to_series()


def _file_lines(clean: pl.DataFrame, extras: pl.DataFrame | None, columns: tuple[str, ...]) -> pl.Series:
    """The file's data lines: clean rows in order, dirty rows inserted at their ``_pos``."""
    lines = _join_fields(clean, columns)
    if extras is None or extras.height == 0:
        return lines
    ex = _join_fields(extras, columns)
    mal = extras["_mal"]
    ex = pl.select(
        pl.when(mal == 1).then(ex.str.replace(";", "", literal=True))        # a missing separator
        .when(mal == 2).then(ex.str.replace(";", ";;", literal=True))        # one separator too many
        .otherwise(ex)).to_series()
    pos = np.concatenate([clean["_pos"].to_numpy(), extras["_pos"].to_numpy()])
    order = np.argsort(pos, kind="stable")
    return pl.concat([lines, ex]).gather(order)


def _seeds(seed: int) -> tuple[int, np.random.SeedSequence, np.random.SeedSequence]:
    """The cohort's seed and the seed sequences of rendering and dirty rows."""
    s_cohort, s_render, s_dirty = np.random.SeedSequence(int(seed)).spawn(3)
    return int(np.random.default_rng(s_cohort).integers(0, 2**63 - 1)), s_render, s_dirty


def simulate_cohort(n_patients: int, seed: int, extract_date: date = date(2026, 11, 1)) -> Cohort:
    """The cohort (typed tables and statistics) of ``generate_delivery`` with the same arguments."""
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    return simulate(n_patients, _seeds(seed)[0], extract_date)


def generate_delivery(n_patients: int, seed: int, extract_date: date = date(2026, 11, 1), *,
                      dirty: bool = True) -> Delivery:
    """Simulate, format and (optionally) dirty a delivery in memory."""
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    cohort_seed, s_render, s_dirty = _seeds(seed)
    cohort: Cohort = simulate(n_patients, cohort_seed, extract_date)
    fmt = DateFormatter()
    render_seeds = s_render.spawn(len(FILES))
    injector = Injector(cohort, np.random.default_rng(s_dirty), fmt) if dirty else None
    typed = cohort.tables
    typed["departments"] = _departments_frame()

    lines: dict[str, pl.Series] = {}
    for spec, rs in zip(FILES, render_seeds):
        df = render(spec.name, typed.pop(spec.name), np.random.default_rng(rs), fmt, cohort.cpr)
        extras = injector.extras(spec.name, df) if injector is not None else None
        lines[spec.filename] = _file_lines(df, extras, spec.columns)
        del df, extras
    stats = {"cohort": cohort.stats}
    if injector is not None:
        stats["dirty_rows"] = injector.stats.rows
        stats["expected_quarantine"] = injector.stats.expected_quarantine
        stats["exact_duplicates"] = injector.stats.exact_duplicates
    iso = extract_date.isoformat()
    return Delivery(extract_id=f"SYNTH-{seed}-{iso}", extracted_at=iso, lines=lines, stats=stats)


# --------------------------------------------------------------------------- encoding

def _latin1_fast(data: bytes) -> bytes | None:
    """UTF-8 -> Windows-1252/Latin-1 for text whose non-ASCII characters are all in
    U+00A0..U+00FF (where both code pages equal Latin-1); None if another character occurs."""
    arr = np.frombuffer(data, dtype=np.uint8)
    hi = np.flatnonzero(arr >= 0x80)
    if hi.size == 0:
        return data
    leads = hi[(arr[hi] == 0xC2) | (arr[hi] == 0xC3)]
    if leads.size * 2 != hi.size or leads[-1] + 1 >= arr.size:
        return None
    cont = arr[leads + 1]
    if ((cont & 0xC0) != 0x80).any() or ((arr[leads] == 0xC2) & (cont < 0xA0)).any():
        return None
    out = arr.copy()
    out[leads + 1] = cont + np.where(arr[leads] == 0xC3, 0x40, 0).astype(np.uint8)
    keep = np.ones(arr.size, dtype=bool)
    keep[leads] = False
    return out[keep].tobytes()


def encode_text(data: bytes, encoding: str) -> bytes:
    """Re-encode UTF-8 ``data`` into ``encoding`` (fast path for cp1252 / latin-1). For
    ``utf-8-sig`` the text is returned as is: the BOM is written once, before the header."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig"):
        return data
    if name in ("cp1252", "iso8859-1"):
        fast = _latin1_fast(data)
        if fast is not None:
            return fast
    return data.decode("utf-8").encode(encoding)


CHUNK_ROWS = 1_000_000


def _write_file(path: Path, header: str, lines: pl.Series, line_ending: str, encoding: str) -> str:
    """Write header + lines in chunks (bounded memory); return the SHA-256 of the bytes written."""
    sha = hashlib.sha256()
    with open(path, "wb") as fh:
        head = encode_text((header + line_ending).encode("utf-8"), encoding)
        if codecs.lookup(encoding).name == "utf-8-sig":
            head = codecs.BOM_UTF8 + head
        fh.write(head)
        sha.update(head)
        for off in range(0, lines.len(), CHUNK_ROWS):
            buf = io.BytesIO()
            pl.DataFrame({"line": lines.slice(off, CHUNK_ROWS)}).write_csv(
                buf, include_header=False, quote_style="never", line_terminator=line_ending)
            data = encode_text(buf.getvalue(), encoding)
            fh.write(data)
            sha.update(data)
    return sha.hexdigest()


# --------------------------------------------------------------------------- public API

def write_delivery(out_dir: Path, n_patients: int, seed: int, extract_date: date = date(2026, 11, 1), *,
                   dirty: bool = True, encoding: str = "cp1252", line_ending: str = "\r\n",
                   manifest: bool = True) -> dict[str, int]:
    """Write a synthetic delivery into ``out_dir``; return the data rows written per file.

    ``extract_id`` in the manifest is ``SYNTH-<seed>-<extract_date>``; per file the manifest
    holds the number of data lines (header excluded) and the SHA-256 of the file's bytes.
    """
    rows, _ = write_delivery_with_stats(out_dir, n_patients, seed, extract_date, dirty=dirty, encoding=encoding,
                                        line_ending=line_ending, manifest=manifest)
    return rows


def write_delivery_with_stats(out_dir: Path, n_patients: int, seed: int, extract_date: date = date(2026, 11, 1), *,
                              dirty: bool = True, encoding: str = "cp1252", line_ending: str = "\r\n",
                              manifest: bool = True) -> tuple[dict[str, int], dict]:
    """``write_delivery`` that also returns the generator's statistics: ``cohort`` (realism numbers and
    planted scenarios, :mod:`pipelines.synth.stats`) and the dirty-row counts."""
    if line_ending not in ("\n", "\r\n"):
        raise ValueError("line_ending must be '\\n' or '\\r\\n'")
    codecs.lookup(encoding)          # fail early on an unknown encoding
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    delivery = generate_delivery(n_patients, seed, extract_date, dirty=dirty)
    rows: dict[str, int] = {}
    files: dict[str, dict] = {}
    for spec in FILES:
        lines = delivery.lines.pop(spec.filename)
        digest = _write_file(out / spec.filename, ";".join(spec.columns), lines, line_ending, encoding)
        rows[spec.filename] = lines.len()
        files[spec.filename] = {"rows": lines.len(), "sha256": digest}
        del lines
    if manifest:
        doc = {"extract_id": delivery.extract_id, "extracted_at": delivery.extracted_at, "files": files}
        (out / "manifest.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return rows, delivery.stats
