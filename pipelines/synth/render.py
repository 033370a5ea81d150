"""Format typed tables as the registry writes them.

Default conventions: dates ``dd-mm-yyyy``, decimal comma, booleans ``J``/``N``, CPR
without hyphen, empty field for missing. Small shares of rows use the accepted
alternatives (ISO dates, decimal point, hyphenated CPR, ``1``/``0``, ``umol/L``, and the
literals ``NA`` / ``.`` / ``uoplyst`` for missing optional values), as real deliveries do.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipelines.lib.extract_format import FILES_BY_NAME

from .cohort import VOCABS, dnum, pick

# share of rows written with each alternative spelling
ALT_RATES = {
    "iso_date": 0.02,
    "decimal_point": 0.03,
    "hyphen_cpr": 0.03,
    "bool_10": 0.02,
    "missing_literal": 0.03,
    "umol": 0.12,
}
MISSING_LITERALS = ("NA", ".", "uoplyst")

# column kinds per file; columns not listed are plain strings
KINDS: dict[str, dict[str, str]] = {
    "patients": {"cpr": "cpr", "birth_date": "date", "death_date": "date"},
    "diagnoses": {"cpr": "cpr", "diagnosis_date": "date", "ecog_ps": "int", "iss_stage": "int",
                  "hdt_evaluated": "bool", "hdt_evaluation_date": "date", "hdt_candidate": "bool"},
    "labs": {"cpr": "cpr", "sample_date": "date", "value": "num"},
    "anthropometrics": {"cpr": "cpr", "measure_date": "date", "height_cm": "num", "weight_kg": "num"},
    "cytogenetics": {"cpr": "cpr", "sample_date": "date", "clonal_fraction_pct": "num"},
    "treatment_courses": {"cpr": "cpr", "start_date": "date", "end_date": "date", "cycles": "int",
                          "cycle_length_days": "int"},
    "drugs": {"dose": "num"},
    "procedures": {"cpr": "cpr", "procedure_date": "date"},
    "responses": {"cpr": "cpr", "assessment_date": "date"},
    "departments": {},
}
FIRST_DATE = {"patients": "birth_date", "diagnoses": "diagnosis_date", "labs": "sample_date",
              "anthropometrics": "measure_date", "cytogenetics": "sample_date",
              "treatment_courses": "start_date", "procedures": "procedure_date", "responses": "assessment_date"}


class DateFormatter:
    """Day numbers -> ``dd-mm-yyyy`` or ISO strings through a lookup table (fast)."""

    def __init__(self, first: date = date(1850, 1, 1), last: date = date(2299, 12, 31)):
        days = pl.date_range(first, last, eager=True)
        self.base = dnum(first)
        self.size = len(days)
        self.lut = pl.concat([days.dt.strftime("%d-%m-%Y"), days.dt.strftime("%Y-%m-%d")])

    def __call__(self, days, iso=None) -> pl.Series:
        d = days if isinstance(days, pl.Series) else pl.Series(np.asarray(days, dtype=float), nan_to_null=True)
        idx = d.cast(pl.Int64) - self.base
        if iso is not None:
            idx = idx + pl.Series(np.asarray(iso, dtype=np.int64) * self.size)
        return self.lut.gather(idx.cast(pl.UInt32))


def format_number(e: pl.Expr) -> pl.Expr:
    """Float -> shortest text with a decimal comma (``86,5``, ``2000``)."""
    return e.cast(pl.String).str.strip_suffix(".0").str.replace(".", ",", literal=True)


def _scatter(s: pl.Series, idx: np.ndarray, values: pl.Series) -> pl.Series:
    return s.scatter(idx, values) if idx.size else s


def decode(name: str, df: pl.DataFrame, cpr: pl.Series | None) -> pl.DataFrame:
    """Typed table -> text for the code columns (vocabulary indices), ``cpr`` (by patient
    index) and ``course_id`` (by course number)."""
    spec = FILES_BY_NAME[name]
    cols = {}
    if "cpr" in spec.columns and "cpr" not in df.columns:
        cols["cpr"] = cpr.gather(df["_pid"])
    if "course_id" in spec.columns and "course_id" not in df.columns:
        cols["course_id"] = "K" + (df["_cno"] + 1_000_001).cast(pl.String)
    for c in spec.columns:
        if c in VOCABS and df.schema[c].is_integer():
            cols[c] = pl.Series(c, VOCABS[c], dtype=pl.String).gather(df[c])
    return df.with_columns(**cols)


def render(name: str, df: pl.DataFrame, rng: np.random.Generator, fmt: DateFormatter,
           cpr: pl.Series | None = None) -> pl.DataFrame:
    """String columns in the file's column order, plus hidden ``_pid``, ``_date``, ``_pos``.

    The default spelling is computed for whole columns; the rare alternatives are then
    written into their few rows (``scatter``), which keeps this fast for millions of rows.
    """
    spec = FILES_BY_NAME[name]
    df = decode(name, df, cpr)
    n = df.height
    kinds = KINDS[name]
    iso = rng.random(n) < ALT_RATES["iso_date"]
    point = np.flatnonzero(rng.random(n) < ALT_RATES["decimal_point"])
    hyph = rng.random(n) < ALT_RATES["hyphen_cpr"]
    b10 = np.flatnonzero(rng.random(n) < ALT_RATES["bool_10"])
    lit_row = rng.random(n) < ALT_RATES["missing_literal"]
    lit_idx = pick(rng, n, [0.5, 0.3, 0.2])
    literals = pl.Series(MISSING_LITERALS, dtype=pl.String)
    umol = rng.random(n) < ALT_RATES["umol"]

    exprs = []
    for col in spec.columns:
        kind = kinds.get(col, "str")
        e = pl.col(col)
        if kind == "num":
            e = format_number(e)
        elif kind == "int":
            e = e.cast(pl.Int64).cast(pl.String)
        exprs.append(e.alias(col))
    dates = {c: fmt(df[c], iso) for c in spec.columns if kinds.get(c) == "date"}
    out = df.with_columns(**dates).select(exprs)

    cols = []
    for col in spec.columns:
        s = out[col]
        kind = kinds.get(col, "str")
        if kind == "cpr":
            idx = np.flatnonzero(hyph)
            part = s.gather(idx)
            s = _scatter(s, idx, part.str.slice(0, 6) + "-" + part.str.slice(6))
        elif kind == "num":
            s = _scatter(s, point, df[col].gather(point).cast(pl.String).str.strip_suffix(".0"))
        elif kind == "bool":
            s = _scatter(s, b10, s.gather(b10).replace({"J": "1", "N": "0"}))
        if name == "labs" and col == "unit":
            idx = np.flatnonzero(umol & (s == "µmol/L").fill_null(False).to_numpy())
            s = _scatter(s, idx, pl.Series(["umol/L"], dtype=pl.String).gather(np.zeros(idx.size, dtype=np.int64)))
        if col not in spec.required:
            idx = np.flatnonzero(lit_row & s.is_null().to_numpy())
            s = _scatter(s, idx, literals.gather(lit_idx[idx]))
        cols.append(s.fill_null("").alias(col))
    hidden = [
        df["_pid"].alias("_pid") if "_pid" in df.columns else pl.Series("_pid", [-1] * n, dtype=pl.Int64),
        df[FIRST_DATE[name]].cast(pl.Int64).alias("_date") if name in FIRST_DATE else pl.Series("_date", [None] * n, dtype=pl.Int64),
        pl.Series("_pos", np.arange(n, dtype=np.float64)),
    ]
    return pl.DataFrame(cols + hidden)
