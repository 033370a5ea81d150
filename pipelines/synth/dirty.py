"""Dirty rows of every quarantine kind, added to rendered (string) tables.

Every dirty row is an *extra* row, derived from a clean row of the same file, so the clean
part of a delivery is the same with ``dirty=True`` and ``dirty=False`` and indicator
results move only where the format says they must (a conflicting duplicate quarantines
its clean twin too; a course in conflict orphans its drugs). Dirty rows that keep a
parseable natural key get a key no clean row has (an earlier date, a new ``course_id``,
other ``days``), so each dirty row has one intended reason.

Kinds (``QUARANTINE_REASONS`` of ``pipelines.lib.extract_format`` plus exact duplicates):
see :data:`KIND_FILES`. The counts land in ``DirtyStats``: ``rows`` (dirty rows written
per file and kind), ``exact_duplicates`` (rows an ingest collapses) and
``expected_quarantine`` (per file and reason, the rows an ingest following the format
must quarantine, including the clean twins of conflicting duplicates and the orphaned
rows of quarantined patients and courses). The test suite checks these numbers against an
independent validator of the written files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.lib.extract_format import FILES_BY_NAME, QUARANTINE_REASONS

from . import reference as ref
from .cohort import Cohort, ymd
from .render import DateFormatter

EXACT = "EXACT_DUPLICATE"
# rate per clean row of the file, per kind (at least one row of each applicable kind)
DIRTY_RATE = 0.003
EXACT_RATE = 0.005

CPR_FILES = ("diagnoses", "labs", "anthropometrics", "cytogenetics", "treatment_courses", "procedures", "responses")

MISSING_REQUIRED_COLS = {
    "diagnoses": ("diagnosis_date", "department_code"),
    "labs": ("sample_date", "analysis", "value", "unit"),
    "anthropometrics": ("measure_date",),
    "cytogenetics": ("sample_date", "aberration", "result"),
    "treatment_courses": ("phase", "start_date"),
    "drugs": ("atc",),
    "procedures": ("procedure_date", "procedure"),
    "responses": ("assessment_date", "response"),
}
INVALID_DATE_COLS = {
    "diagnoses": ("diagnosis_date", "diagnosis_date", "hdt_evaluation_date"),
    "treatment_courses": ("start_date", "start_date", "end_date"),
}
INVALID_NUMBERS = {
    "diagnoses": {"ecog_ps": ("1-2", "ca. 1", "I"), "iss_stage": ("II", "III", "2-3")},
    "labs": {"value": ("8O", "ca. 90", "1,2,3", "12..5", "neg")},
    "anthropometrics": {"height_cm": ("1 78", "18O", "ca 175"), "weight_kg": ("72,5,0", "ca. 80", "8O")},
    "cytogenetics": {"clonal_fraction_pct": ("ca 30", "3O", "20-30")},
    "treatment_courses": {"cycles": ("4-6", "fire", "4+2"), "cycle_length_days": ("28d", "3 uger", "21/28")},
    "drugs": {"dose": ("2 g", "1,3,5", "100x2", "ca. 25")},
    "responses": {"mrd_sensitivity": ("10^-5", "1:100.000", "0,00001 (NGS)")},
}
INVALID_CODES = {
    "diagnoses": {"comorbidity": ("moderat", "svær"), "extramedullary": ("ja", "ukendt"),
                  "hdt_evaluated": ("ja", "X"), "hdt_candidate": ("ja", "måske"),
                  "hdt_not_candidate_reason": ("alder>70", "kontraindikation")},
    "labs": {"analysis": ("crp", "kreatinine", "hb")},
    "cytogenetics": {"aberration": ("t11_14", "hyperdiploid", "del13q"), "result": ("usikker", "ikke_udført")},
    "treatment_courses": {"phase": ("salvage", "induction", "kons.")},
    "drugs": {"dose_unit": ("ml", "mg/d", "µg", "IE")},
    "procedures": {"procedure": ("allo_sct", "stamcellehøst", "knoglemarv")},
    "responses": {"response": ("nCR", "MR", "CR?"), "timepoint": ("dag100", "efter_HDT"), "mrd": ("ikke_målt", "ja")},
}
WRONG_UNIT = {"kreatinin": ("mg/L", "%"), "b2m": ("µmol/L", "%"), "ldh": ("g/L", "mg/L"), "albumin": ("U/L", "%"),
              "cirk_plasmaceller": ("mg/L", "g/L")}
OUT_OF_RANGE_LAB = {"kreatinin": ("0", "-80"), "b2m": ("950", "-2,1"), "ldh": ("0", "-150"), "albumin": ("0", "250"),
                    "cirk_plasmaceller": ("140", "-1")}
OUT_OF_RANGE_ANTHRO = {"height_cm": ("17", "1,78", "1780"), "weight_kg": ("900", "0", "8650")}
OUT_OF_RANGE_CYTO = {"clonal_fraction_pct": ("135", "250", "-10")}

# which kinds apply to which file (patients are handled with junk patients, see below)
KIND_FILES: dict[str, tuple[str, ...]] = {
    "MALFORMED_ROW": ("patients", *CPR_FILES, "drugs"),
    "MISSING_REQUIRED": ("patients", *CPR_FILES, "drugs"),
    "INVALID_CPR": ("patients", *CPR_FILES),
    "INVALID_DATE": ("patients", *CPR_FILES),
    "INVALID_NUMBER": tuple(INVALID_NUMBERS),
    "INVALID_CODE": ("patients", *INVALID_CODES),
    "UNIT_MISMATCH": ("labs",),
    "OUT_OF_RANGE": ("labs", "anthropometrics", "cytogenetics"),
    "DATE_AFTER_EXTRACT": ("patients", *CPR_FILES),
    "DEATH_BEFORE_BIRTH": ("patients",),
    "BEFORE_BIRTH": CPR_FILES,
    "AFTER_DEATH": CPR_FILES,
    "CONFLICTING_DUPLICATE": ("patients", *CPR_FILES, "drugs"),
    "ORPHAN": (*CPR_FILES, "drugs"),
    EXACT: ("departments", "patients", *CPR_FILES, "drugs"),
}
assert set(KIND_FILES) - {EXACT} == set(QUARANTINE_REASONS), "every quarantine reason needs dirty rows"

KEY_STR_COLS = {"diagnoses": ("icd10",), "labs": ("analysis",), "anthropometrics": (), "cytogenetics": ("aberration",),
                "procedures": ("procedure",), "responses": ("timepoint",)}
FIRST_DATE = {"diagnoses": "diagnosis_date", "labs": "sample_date", "anthropometrics": "measure_date",
              "cytogenetics": "sample_date", "treatment_courses": "start_date", "procedures": "procedure_date",
              "responses": "assessment_date"}


@dataclass
class DirtyStats:
    rows: dict[str, dict[str, int]] = field(default_factory=dict)          # dirty rows written, per file and kind
    expected_quarantine: dict[str, dict[str, int]] = field(default_factory=dict)   # incl. clean twins, cascades
    exact_duplicates: dict[str, int] = field(default_factory=dict)         # rows the ingest should collapse

    def record(self, file: str, extras: pl.DataFrame) -> None:
        if extras.height == 0:
            return
        g = extras.group_by("_kind", "_reason").agg(n=pl.len(), q=pl.col("_q").sum()).sort("_kind", "_reason")
        for kind, reason, n, q in g.iter_rows():
            r = self.rows.setdefault(file, {})
            r[kind] = r.get(kind, 0) + n
            if kind == EXACT:
                self.exact_duplicates[file] = self.exact_duplicates.get(file, 0) + n
            elif q:
                e = self.expected_quarantine.setdefault(file, {})
                e[reason] = e.get(reason, 0) + q

    def add_expected(self, file: str, reason: str, n: int, label: str) -> None:
        if n:
            e = self.expected_quarantine.setdefault(file, {})
            e[reason] = e.get(reason, 0) + n
            r = self.rows.setdefault(file, {})
            r[label] = r.get(label, 0) + n


def _choice(rng, options, n) -> pl.Series:
    return pl.Series(np.array(options, dtype=object)[rng.integers(0, len(options), n)], dtype=pl.String)


def _invalid_dates(rng, days: pl.Series) -> pl.Series:
    """Impossible calendar dates, in the year of the row's original date."""
    n = days.len()
    filled = days.fill_null(20000).to_numpy().astype(np.int64)
    y, _, _ = ymd(filled)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    t = rng.integers(0, 9, n)
    out = []
    for yi, lp, ti in zip(y.tolist(), leap.tolist(), t.tolist()):
        out.append((f"31-02-{yi}", f"{'30' if lp else '29'}-02-{yi}", f"31-04-{yi}", f"31-06-{yi}", f"31-09-{yi}",
                    f"31-11-{yi}", f"32-01-{yi}", f"15-13-{yi}", f"{yi}-02-30")[ti])
    return pl.Series(out, dtype=pl.String)


def _invalid_cprs(rng, cpr: pl.Series) -> pl.Series:
    plain = cpr.str.replace("-", "", literal=True).to_list()
    t = rng.integers(0, 3, len(plain))
    prefixes = ("310299", "300290", "311188", "321075", "151375", "000000", "290221")
    pre = rng.integers(0, len(prefixes), len(plain))
    digit = rng.integers(0, 10, len(plain))
    out = []
    for p, ti, pi, di in zip(plain, t.tolist(), pre.tolist(), digit.tolist()):
        if ti == 0:
            out.append(p[:9])                      # 9 digits
        elif ti == 1:
            out.append(prefixes[pi] + p[6:])       # no such date
        else:
            out.append(p + str(di))                # 11 digits
    return pl.Series(out, dtype=pl.String)


def _bump_number(s: pl.Series) -> pl.Series:
    """A different but valid number: ``86`` -> ``86,5``, ``1,3`` -> ``1,31``."""
    has_sep = s.str.contains(r"[.,]")
    return pl.select(pl.when(s == "").then(pl.lit("35")).when(has_sep).then(s + "1").otherwise(s + ",5")).to_series()


class Injector:
    def __init__(self, cohort: Cohort, rng: np.random.Generator, fmt: DateFormatter):
        self.c = cohort
        self.rng = rng
        self.fmt = fmt
        self.stats = DirtyStats()
        self.X = cohort.extract
        self.birth = pl.Series(cohort.birth)
        self.death = pl.Series(cohort.death, nan_to_null=True)
        self.spare = cohort.spare_cpr
        n_sp = self.spare.len()
        self.junk_cpr = self.spare[: n_sp // 2]
        self.orphan_cpr = self.spare[n_sp // 2:]
        self.junk_birth = cohort.spare_birth[: n_sp // 2]
        self.junk_male = cohort.spare_male[: n_sp // 2]
        self.junk_used = 0
        self.course_seq = 0
        self.conflicting_course_ids: pl.Series | None = None
        self.junk_children: list[tuple[pl.Series, np.ndarray]] = []

    # ------------------------------------------------------------------ helpers
    def _count(self, n_rows: int, rate: float = DIRTY_RATE) -> int:
        return max(1, int(round(n_rows * rate))) if n_rows else 0

    def _sources(self, df: pl.DataFrame, used: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
        ok = ~used if mask is None else (~used & mask)
        cand = np.flatnonzero(ok)
        if cand.size == 0 or k == 0:
            return np.array([], dtype=np.int64)
        take = cand[self.rng.choice(cand.size, size=min(k, cand.size), replace=False)]
        take.sort()
        used[take] = True
        return take

    def _date_str(self, days: np.ndarray) -> pl.Series:
        return self.fmt(days)

    def _new_course_ids(self, n: int) -> pl.Series:
        ids = [f"K8{self.course_seq + i:07d}" for i in range(n)]
        self.course_seq += n
        return pl.Series(ids, dtype=pl.String)

    def _shift_key(self, name: str, ex: pl.DataFrame) -> pl.DataFrame:
        """Move the row's key off every clean key (an earlier date / new course id / other days)."""
        if name == "treatment_courses":
            return ex.with_columns(course_id=self._new_course_ids(ex.height))
        if name == "drugs":
            return ex.with_columns(days=pl.when(pl.col("days") == "1").then(pl.lit("2")).otherwise(pl.lit("1")))
        if name in FIRST_DATE:
            d = ex["_date"].to_numpy().astype(float) - self.rng.integers(1, 46, ex.height)
            col = FIRST_DATE[name]
            return ex.with_columns(pl.Series(col, self._date_str(d)), _date=pl.Series(d).cast(pl.Int64), _chk=pl.lit(True))
        return ex

    def _drop_key_collisions(self, name: str, ex: pl.DataFrame, clean: pl.DataFrame) -> pl.DataFrame:
        """Drop shifted rows whose new key (patient, date, code) a clean row already has."""
        if name not in KEY_STR_COLS or ex.height == 0 or not ex["_chk"].any():
            return ex
        key = ["_pid", "_date", *KEY_STR_COLS[name]]
        chk = ex.filter(pl.col("_chk"))
        near = clean.select(key).filter(pl.col("_pid").is_in(chk["_pid"].unique().implode()))
        hit = chk.join(near, on=key, how="semi", maintain_order="left")["_xid"]
        return ex.filter(~pl.col("_xid").is_in(hit.implode()))

    def _replace_some(self, ex: pl.DataFrame, spec: dict[str, tuple[str, ...]]) -> pl.DataFrame:
        """In each row, one column of ``spec`` (chosen at random) gets one of its bad values."""
        cols = list(spec)
        which = np.array(cols, dtype=object)[self.rng.integers(0, len(cols), ex.height)]
        return ex.with_columns([
            pl.when(pl.Series(which == c)).then(_choice(self.rng, spec[c], ex.height)).otherwise(pl.col(c)).alias(c)
            for c in cols])

    def extras(self, name: str, df: pl.DataFrame) -> pl.DataFrame:
        """The dirty rows for one rendered file (string columns + ``_pos``, ``_mal``)."""
        cols = list(FILES_BY_NAME[name].columns)
        if name == "patients":
            ex = self._patients(df)
        else:
            ex = self._file_extras(name, df)
            if name in ("diagnoses", "labs"):
                ex = pl.concat([ex, self._junk_child_rows(name, df)], how="vertical")
        if ex.height == 0:
            return pl.DataFrame(schema={**{c: pl.String for c in cols}, "_pos": pl.Float64, "_mal": pl.Int8})
        ex = ex.with_columns(_xid=pl.int_range(pl.len(), dtype=pl.Int64))
        ex = self._drop_key_collisions(name, ex, df)
        self.stats.record(name, ex)
        if name == "drugs" and self.conflicting_course_ids is not None:
            cascade = int(df["course_id"].is_in(self.conflicting_course_ids.implode()).sum())
            self.stats.add_expected("drugs", "ORPHAN", cascade, "ORPHAN (drugs of conflicting courses)")
        return ex.select(*cols, "_pos", "_mal")

    def _file_extras(self, name: str, df: pl.DataFrame) -> pl.DataFrame:
        rng = self.rng
        n = df.height
        used = np.zeros(n, dtype=bool)
        if name == "drugs" and self.conflicting_course_ids is not None:
            # drugs of conflicting courses are orphans already; deriving other dirty rows from
            # them would make the outcome depend on the order of duplicate and orphan checks
            used |= df["course_id"].is_in(self.conflicting_course_ids.implode()).to_numpy()
        out: list[pl.DataFrame] = []
        k = self._count(n)
        applies = lambda kind: name in KIND_FILES[kind]  # noqa: E731
        base = df.with_columns(_mal=pl.lit(0, dtype=pl.Int8), _chk=pl.lit(False))

        def take(mask=None, count=k, shift=True) -> pl.DataFrame:
            ex = base[self._sources(df, used, count, mask)]
            return self._shift_key(name, ex) if shift and ex.height else ex

        def emit(kind: str, ex: pl.DataFrame, q: int = 1, reason: str | None = None) -> None:
            if ex.height:
                out.append(ex.with_columns(_pos=pl.col("_pos") + 0.5, _kind=pl.lit(kind), _reason=pl.lit(reason or kind),
                                           _q=pl.lit(q, dtype=pl.Int64)))

        if applies("MALFORMED_ROW"):
            ex = take(shift=False)
            emit("MALFORMED_ROW", ex.with_columns(_mal=pl.Series(rng.integers(1, 3, ex.height), dtype=pl.Int8)))
        if applies("MISSING_REQUIRED"):
            ex = take()
            emit("MISSING_REQUIRED", self._replace_some(ex, {c: ("", "", "NA", ".", "uoplyst") for c in MISSING_REQUIRED_COLS[name]}))
        if applies("INVALID_CPR"):
            ex = take(shift=False)
            emit("INVALID_CPR", ex.with_columns(cpr=_invalid_cprs(rng, ex["cpr"])))
        if applies("INVALID_DATE"):
            ex = take()
            dcols = INVALID_DATE_COLS.get(name, (FIRST_DATE[name],))
            which = np.array(dcols, dtype=object)[rng.integers(0, len(dcols), ex.height)]
            bad = _invalid_dates(rng, ex["_date"])
            emit("INVALID_DATE", ex.with_columns([pl.when(pl.Series(which == c)).then(bad).otherwise(pl.col(c)).alias(c)
                                                  for c in dict.fromkeys(dcols)]))
        if applies("INVALID_NUMBER"):
            emit("INVALID_NUMBER", self._replace_some(take(), INVALID_NUMBERS[name]))
        if applies("INVALID_CODE"):
            emit("INVALID_CODE", self._replace_some(take(), INVALID_CODES[name]))
        if applies("UNIT_MISMATCH"):
            ex = take()
            alt = rng.integers(0, 2, ex.height)
            unit = [WRONG_UNIT[a][i] for a, i in zip(ex["analysis"].to_list(), alt.tolist())]
            emit("UNIT_MISMATCH", ex.with_columns(unit=pl.Series(unit, dtype=pl.String)))
        if applies("OUT_OF_RANGE"):
            ex = take()
            alt = rng.integers(0, 3, ex.height).tolist()
            if name == "labs":
                vals = [OUT_OF_RANGE_LAB[a][i % 2] for a, i in zip(ex["analysis"].to_list(), alt)]
                ex = ex.with_columns(value=pl.Series(vals, dtype=pl.String))
            elif name == "anthropometrics":
                h = pl.Series(rng.random(ex.height) < 0.5)
                hv = pl.Series([OUT_OF_RANGE_ANTHRO["height_cm"][i] for i in alt], dtype=pl.String)
                wv = pl.Series([OUT_OF_RANGE_ANTHRO["weight_kg"][i] for i in alt], dtype=pl.String)
                ex = ex.with_columns(height_cm=pl.when(h).then(hv).otherwise(pl.col("height_cm")),
                                     weight_kg=pl.when(h).then(pl.col("weight_kg")).otherwise(wv))
            else:
                vals = [OUT_OF_RANGE_CYTO["clonal_fraction_pct"][i] for i in alt]
                ex = ex.with_columns(clonal_fraction_pct=pl.Series(vals, dtype=pl.String))
            emit("OUT_OF_RANGE", ex)
        if applies("DATE_AFTER_EXTRACT"):
            alive = self.death.gather(df["_pid"]).is_null().to_numpy()
            ex = take(alive, shift=False)
            d0 = ex["_date"].to_numpy().astype(float)
            typo = rng.random(ex.height) < 0.4
            # 13149 days = 36 years: the year typed as 2062 instead of 2026
            d = np.where(typo & (d0 + 13149 > self.X), d0 + 13149, self.X + rng.integers(1, 401, ex.height))
            emit("DATE_AFTER_EXTRACT", self._set_date(name, ex, d))
        if applies("BEFORE_BIRTH"):
            ex = take(shift=False)
            d = self.birth.gather(ex["_pid"]).to_numpy() - rng.integers(1, 3651, ex.height)
            emit("BEFORE_BIRTH", self._set_date(name, ex, d))
        if applies("AFTER_DEATH"):
            dd = self.death.gather(df["_pid"]).fill_null(np.nan).to_numpy()
            ex = take(~np.isnan(dd) & (dd <= self.X - 2), shift=False)
            de = self.death.gather(ex["_pid"]).to_numpy().astype(float)
            room = np.minimum(400, self.X - de)
            d = de + np.floor(rng.random(ex.height) * room) + 1
            emit("AFTER_DEATH", self._set_date(name, ex, d))
        if applies("CONFLICTING_DUPLICATE"):
            ex = self._conflict(name, take(shift=False))
            emit("CONFLICTING_DUPLICATE", ex, q=2)           # the clean twin is quarantined too
            if name == "treatment_courses":
                self.conflicting_course_ids = ex["course_id"]
        if applies("ORPHAN"):
            ex = take(shift=False)
            if name == "drugs":
                ids = [f"K9{v:07d}" for v in rng.integers(0, 10**7, ex.height).tolist()]
                ex = ex.with_columns(course_id=pl.Series(ids, dtype=pl.String))
            else:
                cpr = self.orphan_cpr.gather(rng.integers(0, self.orphan_cpr.len(), ex.height))
                ex = ex.with_columns(cpr=cpr, _pid=pl.lit(-1, dtype=pl.Int64))
                if name == "treatment_courses":
                    ex = ex.with_columns(course_id=self._new_course_ids(ex.height))
            emit("ORPHAN", ex.with_columns(_pos=pl.Series(rng.random(ex.height) * n)))
        if applies(EXACT):
            emit(EXACT, self._exact_variant(name, take(count=self._count(n, EXACT_RATE), shift=False)), q=0)
        if not out:
            return base.head(0).with_columns(_kind=pl.lit(""), _reason=pl.lit(""), _q=pl.lit(0, dtype=pl.Int64))
        return pl.concat(out, how="vertical")

    def _set_date(self, name: str, ex: pl.DataFrame, d: np.ndarray) -> pl.DataFrame:
        col = FIRST_DATE[name]
        ex = ex.with_columns(pl.Series(col, self._date_str(d)), _date=pl.Series(d).cast(pl.Int64))
        if name == "treatment_courses":   # keep end >= start: an open course
            ex = ex.with_columns(end_date=pl.lit(""), course_id=self._new_course_ids(ex.height))
        if name == "diagnoses":           # the evaluation date would no longer fit the moved diagnosis
            ex = ex.with_columns(hdt_evaluation_date=pl.lit(""))
        return ex

    def _conflict(self, name: str, ex: pl.DataFrame) -> pl.DataFrame:
        if name == "diagnoses":
            return ex.with_columns(ecog_ps=pl.col("ecog_ps").replace_strict(
                {"0": "1", "1": "2", "2": "1", "3": "2", "4": "3"}, default=pl.lit("1")))
        if name == "labs":
            return ex.with_columns(value=_bump_number(ex["value"]))
        if name == "anthropometrics":
            return ex.with_columns(weight_kg=_bump_number(ex["weight_kg"]))
        if name == "cytogenetics":
            return ex.with_columns(result=pl.when(pl.col("result") == "pos").then(pl.lit("neg")).otherwise(pl.lit("pos")))
        if name == "treatment_courses":
            return ex.with_columns(cycles=(pl.col("cycles").cast(pl.Int64, strict=False).fill_null(3) + 1).cast(pl.String))
        if name == "drugs":
            return ex.with_columns(dose=_bump_number(ex["dose"]))
        if name == "procedures":
            return ex.with_columns(sks_code=pl.when(pl.col("sks_code") == "BOQF0").then(pl.lit("")).otherwise(pl.lit("BOQF0")))
        if name == "responses":
            return ex.with_columns(response=pl.col("response").replace_strict(
                {"sCR": "CR", "CR": "VGPR", "VGPR": "PR", "PR": "VGPR", "SD": "PR", "PD": "SD"}, default=pl.lit("PR")))
        raise ValueError(name)

    def _exact_variant(self, name: str, ex: pl.DataFrame) -> pl.DataFrame:
        """Half identical lines, half the same values written another accepted way."""
        v = pl.Series(self.rng.random(ex.height) < 0.5)
        if "cpr" in ex.columns:
            plain = pl.col("cpr").str.replace("-", "", literal=True)
            toggled = pl.when(pl.col("cpr").str.contains("-", literal=True)).then(plain).otherwise(
                plain.str.slice(0, 6) + "-" + plain.str.slice(6))
            return ex.with_columns(cpr=pl.when(v).then(toggled).otherwise(pl.col("cpr")))
        if name == "drugs":
            d = pl.col("dose")
            toggled = pl.when(d.str.contains(",", literal=True)).then(d.str.replace(",", ".", literal=True)).otherwise(
                d.str.replace(".", ",", literal=True))
            return ex.with_columns(dose=pl.when(v).then(toggled).otherwise(d))
        return ex

    # ------------------------------------------------------------------ patients
    def _junk(self, n: int) -> tuple[pl.Series, np.ndarray, np.ndarray]:
        lo = self.junk_used
        hi = min(lo + n, self.junk_cpr.len())
        self.junk_used = hi
        return self.junk_cpr[lo:hi], self.junk_birth[lo:hi], self.junk_male[lo:hi]

    def _patients(self, df: pl.DataFrame) -> pl.DataFrame:
        rng = self.rng
        n = df.height
        used = np.zeros(n, dtype=bool)
        k = max(1, int(round(n * DIRTY_RATE * 0.7)))
        out = []
        base = df.with_columns(_mal=pl.lit(0, dtype=pl.Int8), _chk=pl.lit(False))

        def junk_rows(count: int, children: bool = True):
            cpr, birth, male = self._junk(count)
            m = cpr.len()
            if m == 0:
                return None
            sex = pl.Series(np.where(male, "M", "K"), dtype=pl.String)
            death = np.where(rng.random(m) < 0.3, birth + rng.integers(60 * 365, 85 * 365, m), np.nan)
            death = np.where(death > self.X, np.nan, death)
            fr = pl.DataFrame({"cpr": cpr, "sex": sex, "birth_date": self._date_str(birth),
                               "death_date": self._date_str(death).fill_null("")})
            fr = fr.with_columns(_pid=pl.lit(-1, dtype=pl.Int64), _date=pl.Series(birth).cast(pl.Int64),
                                 _pos=pl.Series(rng.random(m) * n), _mal=pl.lit(0, dtype=pl.Int8), _chk=pl.lit(False))
            if children:
                self.junk_children.append((cpr, birth))
            return fr

        def add(kind, fr, q=1):
            if fr is not None and fr.height:
                out.append(fr.select(base.columns).with_columns(_kind=pl.lit(kind), _reason=pl.lit(kind),
                                                                _q=pl.lit(q, dtype=pl.Int64)))

        ex = base[self._sources(df, used, k)]
        add("MALFORMED_ROW", ex.with_columns(_mal=pl.Series(rng.integers(1, 3, ex.height), dtype=pl.Int8),
                                             _pos=pl.col("_pos") + 0.5))
        fr = junk_rows(k)
        if fr is not None:
            add("MISSING_REQUIRED", fr.with_columns(birth_date=_choice(rng, ("", "NA", "uoplyst", "."), fr.height)))
        fr = junk_rows(k, children=False)
        if fr is not None:
            add("INVALID_CPR", fr.with_columns(cpr=_invalid_cprs(rng, fr["cpr"])))
        fr = junk_rows(k)
        if fr is not None:
            add("INVALID_DATE", fr.with_columns(birth_date=_invalid_dates(rng, fr["_date"])))
        fr = junk_rows(k)
        if fr is not None:
            add("INVALID_CODE", fr.with_columns(sex=_choice(rng, ("U", "X", "Mand", "kvinde"), fr.height)))
        fr = junk_rows(k, children=False)
        if fr is not None:
            add("DATE_AFTER_EXTRACT", fr.with_columns(death_date=self._date_str(self.X + rng.integers(1, 400, fr.height))))
        fr = junk_rows(k)
        if fr is not None:
            d = fr["_date"].to_numpy() - rng.integers(1, 3650, fr.height)
            add("DEATH_BEFORE_BIRTH", fr.with_columns(death_date=self._date_str(d)))
        fr = junk_rows(k)
        if fr is not None:
            twin = fr.with_columns(
                death_date=pl.when(pl.col("death_date") == "").then(
                    self._date_str(np.minimum(fr["_date"].to_numpy() + 70 * 365, self.X - 10)))
                .otherwise(pl.lit("")),
                _pos=pl.col("_pos") + 1e-6)
            add("CONFLICTING_DUPLICATE", fr)
            add("CONFLICTING_DUPLICATE", twin)
        ex = base[self._sources(df, used, max(1, int(round(n * EXACT_RATE))))]
        add(EXACT, self._exact_variant("patients", ex).with_columns(_pos=pl.col("_pos") + 0.5), q=0)
        return pl.concat(out, how="vertical")

    def _junk_child_rows(self, name: str, df: pl.DataFrame) -> pl.DataFrame:
        """A diagnosis and a creatinine for every junk patient with a valid CPR: they are
        clean-looking rows whose patient row is quarantined, so orphans at ingest."""
        cols = [*FILES_BY_NAME[name].columns, "_pid", "_date", "_pos", "_mal", "_chk", "_kind", "_reason", "_q"]
        if not self.junk_children:
            return df.head(0).with_columns(_mal=pl.lit(0, dtype=pl.Int8), _chk=pl.lit(False), _kind=pl.lit(""),
                                           _reason=pl.lit(""), _q=pl.lit(0, dtype=pl.Int64)).select(cols)
        cpr = pl.concat([c for c, _ in self.junk_children])
        birth = np.concatenate([b for _, b in self.junk_children])
        m = cpr.len()
        rng = self.rng
        dxd = np.minimum(birth + rng.integers(55 * 365, 80 * 365, m), self.X - 30)
        if name == "diagnoses":
            fr = pl.DataFrame({
                "cpr": cpr, "diagnosis_date": self._date_str(dxd), "icd10": pl.Series(["DC900"] * m),
                "department_code": _choice(rng, [d[0] for d in ref.DEPARTMENTS], m),
                "ecog_ps": _choice(rng, ("0", "1", "2"), m), "comorbidity": _choice(rng, ("ingen", "let"), m),
                "iss_stage": _choice(rng, ("1", "2", "3"), m), "extramedullary": pl.Series(["nej"] * m),
                "hdt_evaluated": pl.Series(["N"] * m), "hdt_evaluation_date": pl.Series([""] * m),
                "hdt_candidate": pl.Series([""] * m), "hdt_not_candidate_reason": pl.Series([""] * m)})
        else:
            fr = pl.DataFrame({"cpr": cpr, "sample_date": self._date_str(dxd), "analysis": pl.Series(["kreatinin"] * m),
                               "value": pl.Series([str(v) for v in rng.integers(55, 130, m).tolist()]),
                               "unit": pl.Series(["µmol/L"] * m)})
        return fr.with_columns(
            _pid=pl.lit(-1, dtype=pl.Int64), _date=pl.Series(dxd).cast(pl.Int64),
            _pos=pl.Series(rng.random(m) * max(df.height, 1)), _mal=pl.lit(0, dtype=pl.Int8), _chk=pl.lit(False),
            _kind=pl.lit("ORPHAN (rows of quarantined patients)"), _reason=pl.lit("ORPHAN"),
            _q=pl.lit(1, dtype=pl.Int64)).select(cols)
