"""Vectorised clinical simulation of a myeloma cohort (typed tables, before formatting).

Every patient is simulated at once with numpy arrays: one array per pathway event
(dates are float day numbers since 1970-01-01, NaN = the event does not happen). The
events are then collected into typed polars tables and truncated at the patient's death
and at the extract date. Formatting (Danish conventions, alternative spellings) and dirty
rows are added later by :mod:`pipelines.synth.render` and :mod:`pipelines.synth.dirty`.

All deviation rates are in :data:`RATES`; department-level variation multiplies them by a
per-department factor (mean 1) so department comparisons have something to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from . import reference as ref

EPOCH = date(1970, 1, 1)


def dnum(d: date) -> int:
    """Day number of ``d`` (days since 1970-01-01)."""
    return (d - EPOCH).days


V2 = dnum(date(2026, 4, 7))        # guideline v2.0 in force
D2018 = dnum(date(2018, 1, 1))
D2019 = dnum(date(2019, 1, 1))
D2020 = dnum(date(2020, 1, 1))
D2021 = dnum(date(2021, 1, 1))
D2022 = dnum(date(2022, 1, 1))
D_MRD_STRATEGY = dnum(date(2025, 10, 1))   # deferral decisions recorded from here on
MAX_CYCLES = 96                              # continuous treatments stop after ~7 years

# Base rates of the deviations (per patient in the relevant population); most are
# multiplied by the department factor.
RATES: dict[str, float] = {
    "mm01_not_evaluated": 0.025,
    "mm01_evaluation_missing": 0.025,
    "mm02_no_induction_registered": 0.005,
    "mm02_cycles_2": 0.004,
    "mm02_cycles_3": 0.020,
    "mm02_cycles_5": 0.015,
    "mm02_cycles_6": 0.015,
    "mm02_cycles_missing": 0.010,
    "mm02_split_induction": 0.030,
    "mm03_no_priming": 0.025,
    "mm03_priming_too_early": 0.005,
    "mm03_no_cyclophosphamide": 0.025,
    "mm03_wrong_dose": 0.020,
    "mm03_anthropometrics_missing_abs_dose": 0.12,
    "mm03_anthropometrics_missing": 0.02,
    "mm04_full_dose_low_crcl": 0.20,
    "mm04_reduced_without_indication": 0.020,
    "mm04_other_dose": 0.015,
    "mm04_creatinine_missing": 0.020,
    "mm04_creatinine_stale": 0.007,
    "mm04_anthropometrics_missing": 0.020,
    "mm05_no_hdt": 0.030,
    "mm05_late_hdt": 0.020,
    "mm06_early": 0.030,
    "mm06_late": 0.050,
    "mm06_other_drug": 0.020,
    "mm06_daratumumab_alone": 0.010,
    "mm07_dose_5": 0.050,
    "mm07_dose_15": 0.015,
    "mm07_dose_25": 0.005,
    "mm07_dose_missing": 0.010,
    "mm07_days_1_28": 0.030,
    "mm07_days_1_14_21": 0.010,
    "mm07_days_missing": 0.010,
    "mm07_cycle_length_missing": 0.005,
    "mm11_no_rehabilitation": 0.09,
    "mm11_late_rehabilitation": 0.04,
    "death_early_candidate": 0.025,
    "death_transplant_related": 0.012,
}


# --------------------------------------------------------------------------- helpers

def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    dd = (d - months).astype(np.int64) + 1
    return y, m, dd


def completed_age(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years on ``on`` (the spec's rule; NaN-free int arrays expected)."""
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(on)
    return oy - by - ((om < bm) | ((om == bm) & (od < bd))).astype(np.int64)


def pick(rng: np.random.Generator, n: int, probs) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def gamma_days(rng: np.random.Generator, n: int, shape: float, scale: float) -> np.ndarray:
    return np.round(rng.gamma(shape, scale, n))


def truncnorm(rng, mean, sd, lo, hi, n) -> np.ndarray:
    x = rng.normal(mean, sd, n)
    bad = (x < lo) | (x >= hi)
    while bad.any():
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (x < lo) | (x >= hi)
    return x


def mosteller(height_cm, weight_kg):
    return np.sqrt(height_cm * weight_kg / 3600.0)


class Cat:
    """A code column given as indices into a vocabulary (-1 = missing)."""

    def __init__(self, idx, vocab):
        self.idx = np.asarray(idx, dtype=np.int64)
        self.vocab = tuple(vocab)


def _index_series(name: str, ii: np.ndarray) -> pl.Series:
    s = pl.Series(name, ii.astype(np.int32))
    if (ii < 0).any():
        s = pl.select(pl.when(s >= 0).then(s)).to_series().alias(name)
    return s


def _cat_series(name: str, v, sel: np.ndarray, vocab: tuple[str, ...]) -> pl.Series:
    """Codes are kept as Int32 indices into the column's vocabulary until rendering."""
    n = sel.size
    if v is None:
        return pl.Series(name, [None], dtype=pl.Int32).extend_constant(None, n - 1)
    if isinstance(v, str):
        return pl.Series(name, [vocab.index(v)], dtype=pl.Int32).extend_constant(vocab.index(v), n - 1)
    ii = v.idx[sel] if v.idx.ndim else np.full(n, int(v.idx))
    if v.vocab != vocab:
        remap = np.array([vocab.index(x) for x in v.vocab] + [-1])
        ii = remap[np.where(ii < 0, len(v.vocab), ii)]
    return _index_series(name, ii)


def _series(name: str, v, sel: np.ndarray, dtype) -> pl.Series:
    n = sel.size
    if v is None:
        return pl.Series(name, [None], dtype=dtype).extend_constant(None, n - 1)
    if np.isscalar(v):
        return pl.Series(name, [v]).cast(dtype).extend_constant(v, n - 1)
    a = np.asarray(v)[sel]
    if a.dtype.kind == "f":
        return pl.Series(name, a, nan_to_null=True).cast(dtype)
    return pl.Series(name, a).cast(dtype)


class Table:
    """Collects rows for one typed table from patient-level arrays.

    ``schema`` maps a column to a polars dtype or, for a code column, to its vocabulary
    (stored as Int32 indices; :mod:`pipelines.synth.render` turns them into text).
    """

    def __init__(self, schema: dict):
        self.schema = schema
        self.parts: list[pl.DataFrame] = []

    def add(self, mask: np.ndarray, **cols) -> None:
        sel = np.flatnonzero(mask)
        if sel.size == 0:
            return
        self.parts.append(pl.DataFrame([
            _cat_series(k, cols.get(k), sel, t) if isinstance(t, tuple) else _series(k, cols.get(k), sel, t)
            for k, t in self.schema.items()]))

    def frame(self) -> pl.DataFrame:
        if not self.parts:
            return pl.DataFrame(schema={k: (pl.Int32 if isinstance(t, tuple) else t) for k, t in self.schema.items()})
        return pl.concat(self.parts, how="vertical")


# vocabularies of the code columns (one per column name; shared across files)
JN = ("J", "N")
DEP_CODES = tuple(d[0] for d in ref.DEPARTMENTS)
UNITS = ("µmol/L", "mg/dL", "mg/L", "U/L", "g/L", "%")
DOSE_UNITS = ("mg", "g/m2", "mg/m2", "mg/kg")
PARAM_DAYS = ("1", "1-2", "5-12", "1-5", "11", "4", "1-21", "1-28", "1-14", "1,15")
DAYS = tuple(dict.fromkeys(PARAM_DAYS + tuple(d[3] for r in ref.REGIMENS.values() for d in r.drugs)))
ATC_NEW = tuple(ref.DRUG_NAMES)
ATC = ATC_NEW + tuple(ref.OLD_ATC[a] for a in ATC_NEW if a in ref.OLD_ATC)
ATC_OLD_INDEX = np.array([ATC.index(ref.OLD_ATC[a]) if a in ref.OLD_ATC else i for i, a in enumerate(ATC_NEW)])
DRUG_NAMES = tuple(v[0] for v in ref.DRUG_NAMES.values()) + tuple(v[1] for v in ref.DRUG_NAMES.values())
PROCEDURES = ("leukaferese", "asct", "rehabilitering")
SENSITIVITIES = ("0,00001", "0,000001", "0,0001")

I64, F64 = pl.Int64, pl.Float64

SCHEMAS: dict[str, dict] = {
    "patients": {"_pid": I64, "sex": ("M", "K"), "birth_date": I64, "death_date": I64},
    "diagnoses": {"_pid": I64, "diagnosis_date": I64, "icd10": ref.ICD10, "department_code": DEP_CODES,
                  "ecog_ps": I64, "comorbidity": ref.COMORBIDITY, "iss_stage": I64,
                  "extramedullary": ref.EXTRAMEDULLARY, "hdt_evaluated": JN, "hdt_evaluation_date": I64,
                  "hdt_candidate": JN, "hdt_not_candidate_reason": ref.NOT_CANDIDATE_REASONS},
    "labs": {"_pid": I64, "sample_date": I64, "analysis": ref.ANALYSES, "value": F64, "unit": UNITS},
    "anthropometrics": {"_pid": I64, "measure_date": I64, "height_cm": F64, "weight_kg": F64},
    "cytogenetics": {"_pid": I64, "sample_date": I64, "aberration": ref.ABERRATIONS, "result": ("pos", "neg"),
                     "clonal_fraction_pct": F64},
    "treatment_courses": {"_pid": I64, "_ck": I64, "_slot": I64, "phase": ref.PHASES, "regimen": None,
                          "start_date": I64, "end_date": I64, "cycles": I64, "cycle_length_days": I64,
                          "_tmpl": None},
    "drugs": {"_ck": I64, "_dord": I64, "atc": ATC, "dose": F64, "dose_unit": DOSE_UNITS, "days": DAYS},
    "procedures": {"_pid": I64, "procedure_date": I64, "procedure": PROCEDURES, "sks_code": ("BOQF0",)},
    "responses": {"_pid": I64, "assessment_date": I64, "timepoint": ref.TIMEPOINTS, "response": ref.RESPONSES,
                  "mrd": ("neg", "pos"), "mrd_sensitivity": SENSITIVITIES},
}

# course slots (order of a patient's courses at equal start dates)
S_IND1, S_IND2, S_SALV, S_MOB, S_COND1, S_CONS, S_COND2, S_MAINT, S_LATER, S_NT = range(10)

REG_KEYS = ref.REGIMEN_KEYS
REG_INDEX = {k: i for i, k in enumerate(REG_KEYS)}
REG_CLEN = np.array([ref.REGIMENS[k].cycle_length for k in REG_KEYS], dtype=float)
REG_LAST = np.array([ref.REGIMENS[k].last_day for k in REG_KEYS], dtype=float)
REG_QUAD = np.array([k in ref.QUAD_KEYS for k in REG_KEYS])
REG_CFZ = np.array([k in ref.CARFILZOMIB_KEYS for k in REG_KEYS])
REG_CAT = np.array([ref.REGIMENS[k].category for k in REG_KEYS])
# regimen labels: one vocabulary, each regimen owns a contiguous block
LABELS: list[str] = []
REG_LABEL0 = np.zeros(len(REG_KEYS), dtype=np.int64)
REG_NLABEL = np.zeros(len(REG_KEYS), dtype=np.int64)
for _i, _k in enumerate(REG_KEYS):
    REG_LABEL0[_i] = len(LABELS)
    REG_NLABEL[_i] = len(ref.REGIMENS[_k].labels)
    LABELS.extend(ref.REGIMENS[_k].labels)
OTHER_LABELS = ("Cyclo", "Cyclofosfamid + G-CSF", "CY 2 g/m2", "G-CSF", "G-CSF + plerixafor",
                "HD-Mel", "Mel200", "Mel140", "HDM", "Len", "Lenalidomid", "R", "Dara-R", "Len + Velcade")
LABELS.extend(OTHER_LABELS)
L_ = {s: LABELS.index(s) for s in OTHER_LABELS}
LABELS_T = tuple(LABELS)
SCHEMAS["treatment_courses"]["regimen"] = LABELS_T
SCHEMAS["treatment_courses"]["_tmpl"] = REG_KEYS
SCHEMAS["drugs"]["drug_name"] = DRUG_NAMES       # filled in by _finish_drugs, not by Table.add

# vocabulary of every code column, for rendering
VOCABS: dict[str, tuple[str, ...]] = {
    col: t for schema in SCHEMAS.values() for col, t in schema.items() if isinstance(t, tuple)}


def _choose_regimens(rng, groups: np.ndarray, mixes: dict, n: int) -> np.ndarray:
    out = np.full(n, -1, dtype=np.int64)
    for g, mix in mixes.items():
        sel = np.flatnonzero(groups == g)
        if sel.size == 0:
            continue
        keys = np.array([REG_INDEX[k] for k, _ in mix])
        out[sel] = keys[pick(rng, sel.size, [p for _, p in mix])]
    return out


def _label(rng, reg: np.ndarray) -> np.ndarray:
    r = np.where(reg < 0, 0, reg)
    return REG_LABEL0[r] + np.floor(rng.random(reg.size) * REG_NLABEL[r]).astype(np.int64)


# --------------------------------------------------------------------------- identities

def make_cprs(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray) -> pl.Series:
    """Unique 10-digit CPR strings matching birth date and sex that fail modulus 11."""
    n = birth.size
    y, m, d = ymd(birth)
    yy = y % 100
    s7 = rng.integers(0, 4, n)             # 0-3: born 1900-1999 whatever YY
    s89 = rng.integers(0, 100, n)
    last = rng.integers(0, 5, n) * 2 + male.astype(np.int64)
    head = d * 10**8 + m * 10**6 + yy * 10**4
    weights = np.array([4, 3, 2, 7, 6, 5, 4, 3, 2, 1])

    def number():
        return head + s7 * 1000 + s89 * 10 + last

    def fix_mod11(num):
        digits = [(num // 10 ** (9 - i)) % 10 for i in range(10)]
        total = sum(int(w) * dgt for w, dgt in zip(weights, digits))
        bad = total % 11 == 0
        last[bad] = (last[bad] + 2) % 10       # keeps the sex parity, changes the sum by 2 or -8
        return number()

    num = fix_mod11(number())
    for _ in range(100):
        _, first = np.unique(num, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        k = int(dup.sum())
        s7[dup] = rng.integers(0, 4, k)
        s89[dup] = rng.integers(0, 100, k)
        last[dup] = rng.integers(0, 5, k) * 2 + male[dup].astype(np.int64)
        num = fix_mod11(number())
    else:  # pragma: no cover - astronomically unlikely
        raise RuntimeError("could not draw unique CPR numbers")
    return pl.Series("cpr", num).cast(pl.String).str.zfill(10)


# --------------------------------------------------------------------------- result

@dataclass
class Cohort:
    n: int
    extract: int
    tables: dict[str, pl.DataFrame]
    birth: np.ndarray                  # per patient, day number
    death: np.ndarray                  # per patient, NaN when alive at extraction
    cpr: pl.Series
    spare_cpr: pl.Series               # valid unused CPRs (orphans, junk patients)
    spare_birth: np.ndarray
    spare_male: np.ndarray
    stats: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- simulation

def simulate(n: int, seed: int, extract: date) -> Cohort:  # noqa: C901 - one long pathway
    rng = np.random.default_rng(seed)
    X = dnum(extract)
    N = int(n)
    pid = np.arange(N)
    NAN = np.full(N, np.nan)

    # ---------------------------------------------------------------- demographics
    dx_hi = X - 3
    dx_lo = min(dnum(date(2015, 1, 1)), dx_hi - 3 * 365)
    dx = rng.integers(dx_lo, dx_hi + 1, N).astype(float)
    male = rng.random(N) < 0.55
    age_f = truncnorm(rng, 67.0, 9.5, 38.0, 90.0, N)
    birth = dx - np.floor(age_f * 365.2425) - rng.integers(0, 2, N)
    age_dx = completed_age(birth, dx)
    young = age_dx <= 70

    n_spare = max(64, N // 20)
    spare_birth = rng.integers(dnum(date(1930, 1, 1)), dnum(date(1988, 12, 31)), n_spare).astype(float)
    spare_male = rng.random(n_spare) < 0.55
    all_cpr = make_cprs(rng, np.concatenate([birth, spare_birth]), np.concatenate([male, spare_male]))
    cpr, spare_cpr = all_cpr[:N], all_cpr[N:]

    w = np.array([d[4] for d in ref.DEPARTMENTS])
    w = w / w.sum()
    dept = rng.choice(len(w), N, p=w)
    dept_factor = np.exp(rng.normal(0.0, 0.45, len(w)))
    dept_factor /= (dept_factor * w).sum()
    mult = dept_factor[dept]

    icd = pick(rng, N, [0.955, 0.01, 0.02, 0.015])
    in_scope = icd <= 1
    ecog = np.where(young, pick(rng, N, [.40, .38, .13, .07, .02]), pick(rng, N, [.22, .40, .22, .12, .04]))
    comorb = np.where(young, pick(rng, N, [.62, .29, .09]), pick(rng, N, [.35, .40, .25]))
    iss = np.where(young, pick(rng, N, [.40, .45, .15]), pick(rng, N, [.28, .47, .25])) + 1
    iss = np.where((icd == 1) & (rng.random(N) < 0.7), 3, iss)
    emd = pick(rng, N, [.905, .075, .02])
    emd = np.where(icd == 2, 1 + (rng.random(N) < 0.5), emd)
    fit = (ecog <= 1) & (comorb < 2)
    semi = ~fit & (ecog <= 2) & (comorb < 2)

    # ---------------------------------------------------------------- HDT evaluation
    u = rng.random(N)
    r_not = RATES["mm01_not_evaluated"] * mult
    r_miss = RATES["mm01_evaluation_missing"] * mult
    ev_state = np.where(young, np.where(u < r_not, 1, np.where(u < r_not + r_miss, 2, 0)),
                        np.where(u < 0.35, 1, np.where(u < 0.45, 2, 0)))   # 0 J, 1 N, 2 empty
    ev_state = np.where(in_scope, ev_state, 2)
    ev_date = dx + 2 + np.minimum(gamma_days(rng, N, 2.0, 4.0), 45)
    p_cand = np.select([young & fit, young & semi, young, (age_dx <= 72) & fit, (age_dx <= 75) & fit],
                       [0.96, 0.5, 0.12, 0.35, 0.08], 0.0)
    cand = in_scope & (ev_state == 0) & (rng.random(N) < p_cand)
    u = rng.random(N)
    reason = np.select(
        [~young & (u < 0.85), ecog >= 2, comorb == 2, ~young, u < 0.5],
        [0, 2, 1, 1, 3], 5)                          # index into NOT_CANDIDATE_REASONS
    tx = cand | (in_scope & young & fit & (ev_state == 2) & (rng.random(N) < 0.85))

    # ---------------------------------------------------------------- treatment starts
    ind_start = np.where(tx, dx + 4 + np.minimum(gamma_days(rng, N, 2.0, 6.0), 56), np.nan)
    nt = in_scope & ~tx & (rng.random(N) < 0.88)
    nt_start = np.where(nt, dx + 5 + np.minimum(gamma_days(rng, N, 2.0, 8.0), 80), np.nan)
    risk_cut = np.where(tx, ind_start, np.where(nt, nt_start, dx + 60))

    # ---------------------------------------------------------------- cytogenetics
    tested = in_scope & (rng.random(N) < np.where(tx, 0.95, 0.65))
    late_cyto = tx & (rng.random(N) < 0.03)
    cyto_date = np.where(late_cyto, ind_start + rng.integers(1, 21, N), dx + rng.integers(0, 5, N))
    del17p = rng.random(N) < 0.06
    tp53 = np.where(del17p, rng.random(N) < 0.45, rng.random(N) < 0.008)
    t414 = rng.random(N) < 0.085
    t1416 = ~t414 & (rng.random(N) < 0.03)
    t1420 = ~t414 & ~t1416 & (rng.random(N) < 0.015)
    u = rng.random(N)
    p_amp = 0.04 + 0.08 * t414
    p_gain = 0.18 + 0.12 * t414
    amp = u < p_amp
    gain = ~amp & (u < p_amp + p_gain)
    del1p = rng.random(N) < 0.06
    del1p_bi = del1p & (rng.random(N) < 0.15)
    frac17 = np.where(rng.random(N) < 0.02, 20.0, np.round(rng.uniform(6, 95, N)))
    frac17 = np.where(rng.random(N) < 0.12, np.nan, frac17)
    t_del17p = tested & (rng.random(N) >= 0.02)
    t_t414 = tested & (rng.random(N) >= 0.03)
    t_gain = tested & (rng.random(N) >= 0.02)
    t_amp = tested & (rng.random(N) < 0.6)
    t_1416 = tested & (rng.random(N) < 0.65)
    t_1420 = tested & (rng.random(N) < 0.45)
    t_del1p = tested & (rng.random(N) < 0.5)
    t_del1p_bi = t_del1p & (rng.random(N) < 0.4)
    t_tp53 = tested & (rng.random(N) < np.where(dx >= D2022, 0.45, 0.12))
    tp53_date = cyto_date + rng.integers(5, 26, N)

    # ---------------------------------------------------------------- labs at diagnosis
    lab_dx = dx - rng.integers(0, 8, N)
    renal = rng.random(N) < np.select([iss == 1, iss == 2], [0.02, 0.08], 0.78)
    creat_norm = np.where(male, np.clip(rng.lognormal(np.log(85), 0.15, N), 50, 118),
                          np.clip(rng.lognormal(np.log(68), 0.15, N), 40, 100))
    creat = np.round(np.where(renal, np.clip(rng.lognormal(np.log(230), 0.5, N), 120, 1100), creat_norm))
    u = rng.random(N)
    b2m = np.select([iss == 1, (iss == 2) & (u < 0.6), iss == 2],
                    [rng.uniform(1.2, 3.4, N), rng.uniform(3.5, 5.4, N), rng.uniform(1.8, 3.4, N)],
                    np.clip(rng.lognormal(np.log(8.0), 0.45, N), 5.5, 40.0))
    b2m = np.where(in_scope, np.round(b2m, 1), np.round(rng.uniform(1.5, 3.0, N), 1))
    albumin = np.round(np.select([iss == 1, (iss == 2) & (b2m < 3.5)],
                                 [rng.uniform(35, 48, N), rng.uniform(24, 34, N)], rng.uniform(26, 45, N)))
    ldh = np.round(np.where(rng.random(N) < 0.85, rng.uniform(120, 250, N), rng.uniform(260, 900, N)))
    u = rng.random(N)
    cpc = np.select([u < 0.70, u < 0.985], [np.zeros(N), np.round(rng.uniform(0.1, 2.0, N), 1)],
                    np.round(rng.uniform(2.1, 15, N), 1))
    cpc = np.where(icd == 1, np.round(rng.uniform(20, 70, N), 1), cpc)
    has_creat = np.where(in_scope, True, rng.random(N) < 0.8)
    has_b2m = in_scope & (rng.random(N) < 0.96)
    has_alb = np.where(in_scope, rng.random(N) < 0.96, rng.random(N) < 0.6)
    has_ldh = in_scope & (rng.random(N) < 0.9)
    has_cpc = in_scope & ((icd == 1) | (rng.random(N) < np.where(dx >= D2020, 0.7, 0.3)))
    creat_mgdl = rng.random(N) < 0.08          # this patient's lab reports creatinine in mg/dL

    # ---------------------------------------------------------------- risk (the spec's rules)
    c_ok = tested & (cyto_date <= risk_cut)
    p53_ok = t_tp53 & (tp53_date <= risk_cut)
    q1_pos = (t_gain & (gain | amp)) | (t_amp & amp)
    r1 = (c_ok & t_del17p & del17p & (frac17 >= 20)) | (p53_ok & tp53)
    r2 = c_ok & t_del1p_bi & del1p_bi
    n_hrca = c_ok * ((t_del17p & del17p).astype(int) + (t_t414 & t414) + (t_1416 & t1416)
                     + (t_1420 & t1420) + q1_pos + (t_del1p & del1p))
    r3 = n_hrca >= 2
    r4 = has_b2m & (b2m >= 5.5) & has_creat & (creat / 88.4 < 1.2) & (lab_dx <= risk_cut)
    r5 = has_cpc & (cpc > 2) & (lab_dx <= risk_cut)
    r6 = emd == 2
    high = in_scope & (r1 | r2 | r3 | r4 | r5 | r6)
    std = in_scope & ~high & c_ok & t_del17p & t_t414 & (t_gain | t_amp)

    # ---------------------------------------------------------------- induction (candidates)
    era = np.select([ind_start < D2019, ind_start < D2021, ind_start < V2], [0, 1, 2], 3)
    reg = _choose_regimens(rng, np.where(tx, era * 2 + high, -1),
                           {e * 2 + h: mix for (e, h), mix in ref.INDUCTION_MIX.items()}, N)
    reg_s = np.where(reg < 0, 0, reg)
    clen = REG_CLEN[reg_s]
    planned = np.where(clen >= 42, 3, 4).astype(float)
    u = rng.random(N)
    c = np.cumsum([RATES["mm02_cycles_2"], RATES["mm02_cycles_3"], RATES["mm02_cycles_5"], RATES["mm02_cycles_6"]])
    cycles_total = np.select([u < c[0] * mult, u < c[1] * mult, u < c[2] * mult, u < c[3] * mult],
                             [2.0, np.where(planned == 3, 4.0, 3.0), 5.0, 6.0], planned)
    cyc_dev = cycles_total != planned
    cycles_missing = rng.random(N) < RATES["mm02_cycles_missing"]
    no_ind_reg = rng.random(N) < RATES["mm02_no_induction_registered"]
    split = (tx & (era <= 2) & np.isin(reg, [REG_INDEX["VRd21"], REG_INDEX["VTd21"], REG_INDEX["VRd28"]])
             & (cycles_total >= 3) & (rng.random(N) < RATES["mm02_split_induction"] / 0.7))
    c1 = np.where(split, rng.integers(1, 3, N), 0).astype(float)
    s1 = ind_start
    e1 = s1 + (c1 - 1) * 21 + 14 + rng.integers(0, 4, N)
    s2 = np.where(split, s1 + c1 * 21 + rng.integers(0, 6, N), ind_start)
    c2 = cycles_total - c1
    delay = rng.integers(0, 8, N) + np.where(rng.random(N) < 0.1, rng.integers(7, 22, N), 0)
    ind_end = s2 + (c2 - 1) * clen + REG_LAST[reg_s] - 1 + delay

    quad = tx & REG_QUAD[reg_s]
    resp_ind_date = ind_end + rng.integers(5, 27, N)
    resp_ind = np.where(quad, pick(rng, N, [.10, .28, .45, .14, .02, .01]), pick(rng, N, [.05, .15, .42, .30, .05, .03]))
    has_resp_ind = tx & (rng.random(N) < 0.93)
    p_neg_by_resp = np.array([0.7, 0.65, 0.3, 0.05, 0.0, 0.0])
    mrd_ind_meas = has_resp_ind & (rng.random(N) < np.where(quad & (ind_start >= V2), 0.8, 0.04))
    mrd_ind_neg = mrd_ind_meas & (rng.random(N) < p_neg_by_resp[resp_ind])
    pd_ind = tx & (resp_ind == 5)
    salv_reg = _choose_regimens(rng, np.where(pd_ind, 0, -1), {0: ref.SALVAGE_MIX}, N)
    salv_start = resp_ind_date + rng.integers(3, 15, N)
    salv_end = salv_start + 4 * 28 - 8
    pd_continue = pd_ind & (rng.random(N) < 0.5)

    # ---------------------------------------------------------------- MRD-driven deferral (Rec 8)
    window = (cand & has_resp_ind & ~pd_ind & (resp_ind_date >= D_MRD_STRATEGY)
              & (resp_ind_date + 14 <= X))
    p_mrd = np.where(quad & mrd_ind_neg & ~high, 0.35, np.where(quad & mrd_ind_neg, 0.08, 0.05))
    mrd_strat = window & (rng.random(N) < p_mrd)
    mrd_force = mrd_strat & ~mrd_ind_meas & (rng.random(N) < 0.5)   # some measured MRD just for the decision
    mrd_ind_meas |= mrd_force
    mrd_ind_neg |= mrd_force & (rng.random(N) < 0.6)
    ev_date = np.where(mrd_strat, resp_ind_date + rng.integers(1, 11, N), ev_date)
    reason = np.where(mrd_strat, 4, reason)

    no_hdt = tx & ~mrd_strat & (rng.random(N) < RATES["mm05_no_hdt"] * mult)
    no_hdt_mob = no_hdt & (rng.random(N) < 0.35)
    late_hdt = tx & ~no_hdt & (rng.random(N) < RATES["mm05_late_hdt"] * mult)
    stop_pd = pd_ind & ~pd_continue

    # ---------------------------------------------------------------- mobilisation / harvest
    go_mob = tx & ~stop_pd & (~no_hdt | no_hdt_mob) & (~mrd_strat | (rng.random(N) < 0.6))
    base = np.where(pd_continue, salv_end + 10, ind_end)
    mob_start = base + 10 + gamma_days(rng, N, 2.0, 8.0) + np.where(late_hdt, rng.integers(150, 300, N), 0)
    u = rng.random(N)
    cm = np.cumsum([RATES["mm03_no_priming"], RATES["mm03_priming_too_early"],
                    RATES["mm03_no_cyclophosphamide"], RATES["mm03_wrong_dose"]])
    prim = np.select([u < cm[0] * mult, u < cm[1] * mult, u < cm[2] * mult, u < cm[3] * mult], [1, 2, 3, 4], 0)
    # 0 correct, 1 no priming course, 2 course > 30 days before harvest, 3 no cyclophosphamide, 4 wrong dose
    prim_form = pick(rng, N, [.60, .15, .15, .05, .05])   # G, MGM2, ABS, SPLIT_G, SPLIT_MG
    harvest = np.select([prim == 1, prim == 3], [base + 20 + rng.integers(0, 31, N), mob_start + rng.integers(4, 7, N)],
                        mob_start + rng.integers(9, 14, N))
    mob_course_start = np.where(prim == 2, harvest - rng.integers(35, 61, N), mob_start)
    has_mob_course = go_mob & (prim != 1)
    height = np.round(np.where(male, rng.normal(180, 7, N), rng.normal(167, 6.5, N)).clip(145, 205))
    weight0 = np.where(male, rng.normal(86, 13, N), rng.normal(71, 12, N)).clip(45, 150)
    w_mob = np.round(weight0 * (1 + rng.normal(0, 0.02, N)), 1)
    mob_meas = mob_course_start - rng.integers(0, 4, N)
    abs_form = (prim == 0) & (prim_form == 2)
    mob_anthro = go_mob & (rng.random(N) >= np.where(abs_form, RATES["mm03_anthropometrics_missing_abs_dose"],
                                                    RATES["mm03_anthropometrics_missing"]))
    bsa_mob = mosteller(height, w_mob)
    gcsf = has_mob_course & (prim != 2) & ((prim == 3) | (rng.random(N) < 0.85))
    plerix = gcsf & (rng.random(N) < np.where(prim == 3, 0.4, 0.1))
    split_mob = (prim == 0) & (prim_form >= 3)
    mob_end = np.where(gcsf, harvest - 1, mob_course_start + split_mob)

    # ---------------------------------------------------------------- conditioning / ASCT
    go_cond = go_mob & ~no_hdt & ~mrd_strat
    cond_start = harvest + 14 + gamma_days(rng, N, 2.0, 9.0)
    cond_meas = cond_start - rng.integers(0, 6, N)
    cond_anthro = go_cond & (rng.random(N) >= RATES["mm04_anthropometrics_missing"] * mult)
    cond_height_missing = rng.random(N) < 0.05
    w_cond = np.round(weight0 * (1 + rng.normal(0, 0.03, N)), 1)
    u = rng.random(N)
    crea_missing = u < RATES["mm04_creatinine_missing"] * mult
    crea_stale = ~crea_missing & (u < (RATES["mm04_creatinine_missing"] * mult + RATES["mm04_creatinine_stale"]))
    crea_date = np.where(crea_stale, cond_start - rng.integers(35, 61, N), cond_start - rng.integers(1, 9, N))
    persist = renal & (rng.random(N) < 0.3)
    creat_cond = np.round(np.where(persist, np.clip(rng.lognormal(np.log(280), 0.4, N), 150, 900),
                                   creat_norm * rng.uniform(0.85, 1.1, N)))
    age_crea = completed_age(birth, np.where(np.isnan(crea_date), dx, crea_date))
    wt_crcl = np.where(cond_anthro, w_cond, np.where(mob_anthro & (cond_start - mob_meas <= 30), w_mob, np.nan))
    crcl = (140 - age_crea) * wt_crcl * np.where(male, 1.0, 0.85) / (72 * creat_cond / 88.4)
    crcl = np.where(crea_missing | crea_stale, np.nan, crcl)
    low = crcl < 30
    u = rng.random(N)
    other_dose = np.array([100.0, 120.0, 160.0, 180.0])[pick(rng, N, [.3, .2, .2, .3])]
    mel = np.where(low, np.where(u < RATES["mm04_full_dose_low_crcl"] * mult, 200.0, 140.0),
                   np.where(u < RATES["mm04_reduced_without_indication"] * mult, 140.0,
                            np.where(u < (RATES["mm04_reduced_without_indication"] + RATES["mm04_other_dose"]) * mult,
                                     other_dose, 200.0)))
    mel_form = np.select([mel == 200, mel == 140], [pick(rng, N, [.5, .35, .08, .07]), pick(rng, N, [.40, .45, .08, .07])],
                         pick(rng, N, [0, .8, .2, 0]))          # 0 split m2, 1 single m2, 2 abs single, 3 abs split
    mel_days = np.where((mel_form == 0) | (mel_form == 3), 2, 1)
    bsa_cond = mosteller(height, w_cond)
    asct1 = cond_start + mel_days + np.where(mel_days == 1, rng.integers(0, 2, N), 0)

    p_t = np.where(high, 0.18, np.where(std, 0.008, 0.03))
    tandem = go_cond & (rng.random(N) < p_t)
    btw_has = tandem & (rng.random(N) >= 0.08)
    btw_date = asct1 + rng.integers(45, 71, N)
    btw_resp = pick(rng, N, [.04, .16, .45, .27, .08])
    cond2 = asct1 + rng.integers(75, 151, N)
    mel2 = np.where(low, 140.0, 200.0)
    mel2_split = rng.random(N) < 0.6
    asct2 = cond2 + np.where(mel2_split, 2, 1)
    crea2_date = cond2 - rng.integers(1, 8, N)
    creat2 = np.round(np.where(persist, creat_cond * rng.uniform(0.9, 1.1, N), creat_norm * rng.uniform(0.85, 1.1, N)))
    anthro2 = tandem & (rng.random(N) < 0.7)
    last_asct = np.where(tandem, asct2, asct1)

    # consolidation (a minority, mostly high risk, before v2.0), delays maintenance
    cons = go_cond & (last_asct < V2) & (rng.random(N) < np.where(high, 0.15, 0.02))
    cons_start = last_asct + rng.integers(60, 91, N)
    cons_end = cons_start + 2 * 28 - 8
    cons_resp_date = cons_end + rng.integers(10, 30, N)

    pa_has = go_cond & ~cons & (rng.random(N) < 0.95)
    pa_resp = pick(rng, N, [.12, .30, .37, .15, .03, .03])
    pa_date = np.where(pa_resp == 5, last_asct + rng.integers(45, 116, N), last_asct + rng.integers(85, 116, N))
    pa_tp_other = (pa_resp == 5) & (rng.random(N) < 0.3)
    pa_mrd_meas = pa_has & (rng.random(N) < np.select([last_asct < D2022, last_asct < V2], [0.08, 0.35], 0.7))
    pa_mrd_neg = pa_mrd_meas & (rng.random(N) < p_neg_by_resp[pa_resp])
    pd_post = pa_has & (pa_resp == 5)

    # ---------------------------------------------------------------- maintenance
    maint = go_cond & ~pd_post & (rng.random(N) < np.where(last_asct < D2018, 0.55, 0.93))
    u = rng.random(N)
    mday = np.where(u < RATES["mm06_early"] * mult, rng.integers(30, 60, N),
                    np.where(u < (RATES["mm06_early"] + RATES["mm06_late"]) * mult, rng.integers(121, 241, N),
                             np.clip(np.round(rng.normal(88, 9, N)), 62, 118)))
    maint_start = np.where(cons, cons_end + rng.integers(14, 31, N), last_asct + mday)
    u = rng.random(N)
    v2m = maint_start >= V2
    mkind = np.where(v2m & high, np.where(u < 0.7, 1, 0),
                     np.where(u < RATES["mm06_other_drug"] * mult, 3,
                              np.where(u < (RATES["mm06_other_drug"] + RATES["mm06_daratumumab_alone"]) * mult, 2,
                                       np.where(high & (u > 0.9), 4, 0))))
    # 0 len, 1 len + dara, 2 dara alone, 3 other drug, 4 len + bortezomib
    m_other = np.array([REG_INDEX["MaintV"], REG_INDEX["MaintIxa"], REG_INDEX["MaintThal"]])[pick(rng, N, [.5, .25, .25])]
    u = rng.random(N)
    cd = np.cumsum([RATES["mm07_dose_5"], RATES["mm07_dose_15"], RATES["mm07_dose_25"], RATES["mm07_dose_missing"]])
    len_dose = np.select([u < cd[0] * mult, u < cd[1] * mult, u < cd[2] * mult, u < cd[3] * mult],
                         [5.0, 15.0, 25.0, np.nan], 10.0)
    u = rng.random(N)
    cs = np.cumsum([RATES["mm07_days_1_28"], RATES["mm07_days_1_14_21"], RATES["mm07_days_missing"]])
    len_days = np.select([u < cs[0] * mult, u < cs[1] * mult, u < cs[2] * mult], [1, 2, -1], 0)  # idx in vocab
    len_clen = np.where(len_days == 2, 21.0, 28.0)
    len_clen = np.where(rng.random(N) < RATES["mm07_cycle_length_missing"], np.nan, len_clen)
    prog = maint_start + np.round(rng.exponential(1600, N))
    tox = np.where(rng.random(N) < 0.12, maint_start + rng.integers(60, 900, N), np.inf)
    maint_end = np.minimum(np.minimum(prog, tox), maint_start + MAX_CYCLES * 28 - 1)   # stopped after ~7 years
    maint_prog = maint & (prog <= tox)

    # ---------------------------------------------------------------- rehabilitation
    u = rng.random(N)
    p_none = np.where(asct1 < D2018, 0.2, RATES["mm11_no_rehabilitation"]) * mult
    rehab = go_cond & (u >= p_none)
    rehab_date = np.where(u < p_none + RATES["mm11_late_rehabilitation"], asct1 + rng.integers(91, 200, N),
                          asct1 + rng.integers(7, 91, N))

    # ---------------------------------------------------------------- non-candidates' first line
    era_nt = np.select([nt_start < D2019, nt_start < D2021], [0, 1], 2)
    nt_reg = _choose_regimens(rng, np.where(nt, era_nt, -1), ref.NONTX_MIX, N)
    nt_reg_s = np.where(nt_reg < 0, 0, nt_reg)
    nt_clen = REG_CLEN[nt_reg_s]
    continuous = np.isin(nt_reg, [REG_INDEX["Rd28"], REG_INDEX["DRd28"]])
    nt_fixed = np.where(nt_clen >= 42, rng.integers(4, 10, N), rng.integers(6, 10, N)).astype(float)
    nt_prog = nt_start + np.round(rng.exponential(np.where(nt_reg == REG_INDEX["DRd28"], 1400, 750), N))
    nt_end_fixed = nt_start + (nt_fixed - 1) * nt_clen + REG_LAST[nt_reg_s] - 1 + rng.integers(0, 15, N)
    nt_prog = np.where(continuous, nt_prog, np.maximum(nt_prog, nt_end_fixed + 30))
    nt_end = np.where(continuous, np.minimum(nt_prog, nt_start + MAX_CYCLES * nt_clen - 1), nt_end_fixed)
    nt_cycles = np.where(continuous, np.ceil((nt_end - nt_start + 1) / nt_clen), nt_fixed)
    nt_resp_date = nt_start + rng.integers(100, 151, N)
    nt_resp = pick(rng, N, [.04, .12, .34, .33, .10, .07])
    nt_has_resp = nt & (rng.random(N) < 0.85)

    # later line after progression (after maintenance or after non-candidate first line)
    prog_any = np.where(maint_prog, prog, np.where(nt, nt_prog, np.nan))
    later = (maint_prog | nt) & (rng.random(N) < np.where(maint_prog, 0.9, 0.45))
    later_reg = _choose_regimens(rng, np.where(later, 0, -1), {0: ref.LATER_LINE_MIX}, N)
    later_start = prog_any + rng.integers(7, 29, N)
    later_end = np.minimum(later_start + np.round(rng.exponential(500, N)) + 20, later_start + MAX_CYCLES * 28 - 1)
    later_cycles_planned = np.ceil((later_end - later_start + 1) / 28)

    # ---------------------------------------------------------------- deaths
    # Weibull survival (rising hazard): median ~11 years on the transplant pathway, ~3.5 otherwise
    shape = np.where(tx, 1.5, np.where(in_scope, 1.2, 1.0))
    scale = np.where(tx, 14.0, np.where(in_scope, 4.75, 20.0)) * 365.25
    death = dx + np.round(scale * rng.weibull(1.0, N) ** (1.0 / shape))
    early = tx & (rng.random(N) < RATES["death_early_candidate"])
    death = np.where(early, np.minimum(death, dx + rng.integers(30, 421, N)), death)
    trm = go_cond & (rng.random(N) < RATES["death_transplant_related"])
    death = np.where(trm, np.minimum(death, asct1 + rng.integers(3, 101, N)), death)
    early_nt = in_scope & ~tx & (rng.random(N) < 0.08)
    death = np.where(early_nt, np.minimum(death, dx + rng.integers(3, 181, N)), death)
    death = np.maximum(death, dx + 1)
    dead = death <= X
    death = np.where(dead, death, np.nan)
    cut = np.where(dead, death, X).astype(float)

    # evaluation not yet recorded (pending) or after death
    ev_late = ev_date > cut
    ev_state = np.where(ev_late & (ev_state == 0), 2, ev_state)
    mrd_strat &= ~ev_late
    reason = np.where(ev_late, -1, reason)

    # ================================================================= tables
    T = {k: Table(v) for k, v in SCHEMAS.items() if k != "drugs"}
    D = Table(SCHEMAS["drugs"])
    dep_codes = tuple(d[0] for d in ref.DEPARTMENTS)

    T["patients"].add(np.ones(N, bool), _pid=pid, sex=Cat(np.where(male, 0, 1), ("M", "K")),
                      birth_date=birth, death_date=death)

    jn = ("J", "N")
    cand_cat = np.where(ev_state == 0, np.where(cand & ~mrd_strat, 0, 1), -1)
    reason_cat = np.where((ev_state == 0) & ~(cand & ~mrd_strat), reason, -1)
    oos_dd = icd == 3
    T["diagnoses"].add(np.ones(N, bool), _pid=pid, diagnosis_date=dx, icd10=Cat(icd, ref.ICD10),
                       department_code=Cat(dept, dep_codes), ecog_ps=np.where(oos_dd, np.nan, ecog),
                       comorbidity=Cat(np.where(oos_dd, -1, comorb), ref.COMORBIDITY),
                       iss_stage=np.where(in_scope, iss, np.nan),
                       extramedullary=Cat(np.where(oos_dd, -1, emd), ref.EXTRAMEDULLARY),
                       hdt_evaluated=Cat(np.where(ev_state == 2, -1, ev_state), jn),
                       hdt_evaluation_date=np.where(ev_state == 0, ev_date, np.nan),
                       hdt_candidate=Cat(cand_cat, jn),
                       hdt_not_candidate_reason=Cat(reason_cat, ref.NOT_CANDIDATE_REASONS))
    # a later re-registration (another department) and an earlier MGUS / plasmacytoma row
    rereg = in_scope & (rng.random(N) < 0.015)
    T["diagnoses"].add(rereg, _pid=pid, diagnosis_date=dx + rng.integers(60, 901, N),
                       icd10=Cat(np.where(rng.random(N) < 0.9, 0, 1), ref.ICD10),
                       department_code=Cat(rng.choice(len(w), N, p=w), dep_codes),
                       ecog_ps=np.minimum(ecog + rng.integers(0, 2, N), 4), comorbidity=Cat(comorb, ref.COMORBIDITY),
                       iss_stage=iss, extramedullary=Cat(emd, ref.EXTRAMEDULLARY))
    prior = in_scope & (rng.random(N) < 0.01)
    T["diagnoses"].add(prior, _pid=pid, diagnosis_date=dx - rng.integers(180, 2501, N),
                       icd10=Cat(np.where(rng.random(N) < 0.7, 3, 2), ref.ICD10),
                       department_code=Cat(dept, dep_codes), ecog_ps=np.minimum(ecog, 1),
                       comorbidity=Cat(comorb, ref.COMORBIDITY))

    # ---- labs
    A = ref.ANALYSES
    crea_unit = np.where(creat_mgdl, 1, 0)           # 0 µmol/L, 1 mg/dL
    units = ("µmol/L", "mg/dL", "mg/L", "U/L", "g/L", "%")

    def crea_value(v):
        return np.where(creat_mgdl, np.round(v / 88.4, 2), v)

    L = T["labs"]
    L.add(has_creat, _pid=pid, sample_date=lab_dx, analysis=Cat(np.zeros(N, int), A), value=crea_value(creat),
          unit=Cat(crea_unit, units))
    L.add(has_b2m, _pid=pid, sample_date=lab_dx, analysis=Cat(np.full(N, 1), A), value=b2m, unit=Cat(np.full(N, 2), units))
    L.add(has_ldh, _pid=pid, sample_date=lab_dx, analysis=Cat(np.full(N, 2), A), value=ldh, unit=Cat(np.full(N, 3), units))
    L.add(has_alb, _pid=pid, sample_date=lab_dx, analysis=Cat(np.full(N, 3), A), value=albumin, unit=Cat(np.full(N, 4), units))
    L.add(has_cpc, _pid=pid, sample_date=lab_dx, analysis=Cat(np.full(N, 4), A), value=cpc, unit=Cat(np.full(N, 5), units))
    # before conditioning
    L.add(go_cond & ~crea_missing, _pid=pid, sample_date=crea_date, analysis=Cat(np.zeros(N, int), A),
          value=crea_value(creat_cond), unit=Cat(crea_unit, units))
    L.add(go_cond & (rng.random(N) < 0.9), _pid=pid, sample_date=cond_start - rng.integers(1, 9, N),
          analysis=Cat(np.full(N, 3), A), value=np.round(rng.uniform(33, 46, N)), unit=Cat(np.full(N, 4), units))
    L.add(go_cond & (rng.random(N) < 0.5), _pid=pid, sample_date=cond_start - rng.integers(9, 20, N),
          analysis=Cat(np.full(N, 1), A), value=np.round(rng.uniform(1.3, 3.2, N), 1), unit=Cat(np.full(N, 2), units))
    L.add(go_cond & (rng.random(N) < 0.5), _pid=pid, sample_date=cond_start - rng.integers(9, 20, N) - 20,
          analysis=Cat(np.full(N, 2), A), value=np.round(rng.uniform(130, 260, N)), unit=Cat(np.full(N, 3), units))
    L.add(tandem, _pid=pid, sample_date=crea2_date, analysis=Cat(np.zeros(N, int), A), value=crea_value(creat2),
          unit=Cat(crea_unit, units))

    # ---- anthropometrics
    An = T["anthropometrics"]
    adx = in_scope & (rng.random(N) < 0.5)
    An.add(adx, _pid=pid, measure_date=dx + rng.integers(-3, 8, N),
           height_cm=np.where(rng.random(N) < 0.6, height, np.nan), weight_kg=np.round(weight0 * (1 + rng.normal(0, 0.04, N)), 1))
    An.add(mob_anthro, _pid=pid, measure_date=mob_meas, height_cm=height, weight_kg=w_mob)
    An.add(cond_anthro, _pid=pid, measure_date=cond_meas,
           height_cm=np.where(cond_height_missing, np.nan, height), weight_kg=w_cond)
    An.add(anthro2, _pid=pid, measure_date=cond2 - rng.integers(0, 6, N), height_cm=height,
           weight_kg=np.round(w_cond * (1 + rng.normal(0, 0.02, N)), 1))

    # ---- cytogenetics
    C = T["cytogenetics"]
    ab = ref.ABERRATIONS
    pn = ("pos", "neg")

    def cyto(tmask, pos, aber_idx, frac=None, when=cyto_date):
        f = frac if frac is not None else np.where(rng.random(N) < 0.75, np.round(rng.uniform(10, 95, N)), np.nan)
        C.add(tmask, _pid=pid, sample_date=when, aberration=Cat(np.full(N, aber_idx), ab),
              result=Cat(np.where(pos, 0, 1), pn), clonal_fraction_pct=np.where(pos, f, np.nan))

    cyto(t_del17p, del17p, 0, frac17)
    cyto(t_t414, t414, 1)
    cyto(t_1416, t1416, 2)
    cyto(t_1420, t1420, 3)
    cyto(t_gain, gain | (amp & ~t_amp), 4)
    cyto(t_amp, amp, 5)
    cyto(t_del1p, del1p, 6)
    cyto(t_del1p_bi, del1p_bi, 7)
    cyto(t_tp53, tp53, 8, frac=np.full(N, np.nan), when=tp53_date)

    # ---- treatment courses and drugs
    K = T["treatment_courses"]
    phases = ref.PHASES

    def course(mask, slot, phase, regimen_label, start, end, cycles, clen_, tmpl=None):
        K.add(mask, _pid=pid, _ck=slot * N + pid, _slot=slot, phase=Cat(np.full(N, phase), phases),
              regimen=Cat(regimen_label, LABELS), start_date=start, end_date=end, cycles=cycles,
              cycle_length_days=clen_, _tmpl=tmpl)

    def drug(mask, slot, order, atc, dose, unit, days):
        D.add(mask, _ck=slot * N + pid, _dord=order, atc=atc, dose=dose, dose_unit=unit, days=days)

    reg_cat = lambda r: Cat(r, REG_KEYS)  # noqa: E731
    has_ind = tx & ~no_ind_reg
    ind_label = _label(rng, reg)
    # split induction: a first VCd course, then the chosen regimen
    vcd21 = np.full(N, REG_INDEX["VCd21"])
    course(has_ind & split, S_IND1, 0, _label(rng, vcd21), s1, e1, c1, 21.0, reg_cat(vcd21))
    course(has_ind, S_IND2, 0, ind_label, s2, ind_end, np.where(cycles_missing, np.nan, c2), clen, reg_cat(reg))
    salv_reg_s = np.where(salv_reg < 0, 0, salv_reg)
    course(pd_ind, S_SALV, 5, _label(rng, salv_reg), salv_start, salv_end, 4.0, 28.0, reg_cat(salv_reg_s))

    # mobilisation: cyclophosphamide in its several spellings, G-CSF, plerixafor
    mob_label = np.select([prim == 3, gcsf & plerix], [np.where(plerix, L_["G-CSF + plerixafor"], L_["G-CSF"]),
                                                      L_["Cyclofosfamid + G-CSF"]],
                          np.where(rng.random(N) < 0.5, L_["Cyclo"], L_["CY 2 g/m2"]))
    course(has_mob_course, S_MOB, 1, mob_label, mob_course_start, mob_end, 1.0, mob_end - mob_course_start + 1)
    abs_cy = np.round(2000 * bsa_mob / 10) * 10
    wrong = pick(rng, N, [.3, .3, .2, .1, .1])
    wrong_dose = np.array([1.5, 3.0, 4.0, 1000.0, 1.0])[wrong]
    wrong_unit = np.where(wrong == 3, 2, 1)
    cy_dose = np.select([prim == 4, prim_form == 0, prim_form == 1, prim_form == 2, prim_form == 3],
                        [wrong_dose, 2.0, 2000.0, abs_cy, 1.0], 1000.0)
    cy_unit = np.select([prim == 4, prim_form == 0, prim_form == 1, prim_form == 2, prim_form == 3],
                        [wrong_unit, 1, 2, 0, 1], 2)       # 0 mg, 1 g/m2, 2 mg/m2, 3 mg/kg
    du = ("mg", "g/m2", "mg/m2", "mg/kg")
    cy_days = np.where(split_mob, 1, 0)
    dv = ("1", "1-2", "5-12", "1-5", "11", "4", "1-21", "1-28", "1-14")
    drug(has_mob_course & (prim != 3), S_MOB, 0, "L01AA01", cy_dose, Cat(cy_unit, du), Cat(cy_days, dv))
    gcsf_kg = rng.random(N) < 0.5
    drug(gcsf, S_MOB, 1, "L03AA02", np.where(gcsf_kg, 0.01, 0.48), Cat(np.where(gcsf_kg, 3, 0), du),
         Cat(np.where(prim == 3, 3, 2), dv))
    drug(plerix, S_MOB, 2, "L03AX16", 0.24, "mg/kg", Cat(np.where(prim == 3, 5, 4), dv))
    T["procedures"].add(go_mob, _pid=pid, procedure_date=harvest, procedure="leukaferese")

    # conditioning
    cond_label = np.select([(mel == 200) & (rng.random(N) < 0.4), (mel == 140) & (rng.random(N) < 0.4)],
                           [L_["Mel200"], L_["Mel140"]], np.where(rng.random(N) < 0.7, L_["HD-Mel"], L_["HDM"]))
    course(go_cond, S_COND1, 2, cond_label, cond_start, cond_start + mel_days - 1, 1.0, mel_days.astype(float))
    mel_dose = np.select([mel_form == 0, mel_form == 1, mel_form == 2],
                         [mel / 2, mel, np.round(mel * bsa_cond)], np.round(mel * bsa_cond / 2))
    drug(go_cond, S_COND1, 0, "L01AA03", mel_dose, Cat(np.where(mel_form >= 2, 0, 2), du),
         Cat(np.where(mel_days == 2, 1, 0), dv))
    sks = ("BOQF0",)
    T["procedures"].add(go_cond, _pid=pid, procedure_date=asct1, procedure="asct",
                        sks_code=Cat(np.where(rng.random(N) < 0.93, 0, -1), sks))
    course(tandem, S_COND2, 2, np.where(mel2 == 140, L_["Mel140"], L_["HD-Mel"]), cond2,
           cond2 + np.where(mel2_split, 1, 0), 1.0, np.where(mel2_split, 2.0, 1.0))
    drug(tandem, S_COND2, 0, "L01AA03", np.where(mel2_split, mel2 / 2, mel2), "mg/m2", Cat(np.where(mel2_split, 1, 0), dv))
    T["procedures"].add(tandem, _pid=pid, procedure_date=asct2, procedure="asct", sks_code="BOQF0")
    T["procedures"].add(rehab, _pid=pid, procedure_date=rehab_date, procedure="rehabilitering")

    vrd28 = np.full(N, REG_INDEX["VRd28"])
    course(cons, S_CONS, 3, _label(rng, vrd28), cons_start, cons_end, 2.0, 28.0, reg_cat(vrd28))

    # maintenance
    len_label = np.array([L_["Len"], L_["Lenalidomid"], L_["R"]])[pick(rng, N, [.5, .3, .2])]
    maint_label = np.select([mkind == 1, mkind == 4, mkind == 0], [L_["Dara-R"], L_["Len + Velcade"], len_label],
                            _label(rng, np.where(mkind == 2, REG_INDEX["MaintDara"], m_other)))
    m_tmpl = np.where(mkind == 2, REG_INDEX["MaintDara"], np.where(mkind == 3, m_other, -1))
    m_clen = np.where((mkind == 0) | (mkind == 1) | (mkind == 4), len_clen, 28.0)
    m_planned = np.ceil((maint_end - maint_start + 1) / np.where(np.isnan(m_clen), 28.0, m_clen))
    course(maint, S_MAINT, 4, maint_label, maint_start, maint_end, m_planned, m_clen,
           Cat(np.where(m_tmpl < 0, -1, m_tmpl), REG_KEYS))
    with_len = maint & np.isin(mkind, [0, 1, 4])
    len_days_idx = np.array([6, 7, 8, -1])[np.where(len_days < 0, 3, len_days)]   # 1-21, 1-28, 1-14, missing
    drug(with_len, S_MAINT, 0, "L04AX04", len_dose, "mg", Cat(len_days_idx, dv))
    drug(maint & (mkind == 1), S_MAINT, 1, "L01FC01", 1800.0, "mg", "1")
    drug(maint & (mkind == 4), S_MAINT, 1, "L01XG01", 1.3, "mg/m2", "1,15")

    # non-candidates' first line and later lines
    course(nt, S_NT, 0, _label(rng, nt_reg), nt_start, nt_end, nt_cycles, nt_clen, reg_cat(nt_reg_s))
    later_reg_s = np.where(later_reg < 0, 0, later_reg)
    course(later, S_LATER, 5, _label(rng, later_reg), later_start, later_end, later_cycles_planned, 28.0,
           reg_cat(later_reg_s))

    # ---- responses
    R = T["responses"]
    rs, tps = ref.RESPONSES, ref.TIMEPOINTS
    sens = ("0,00001", "0,000001", "0,0001")

    def mrd_cols(meas, neg):
        return dict(mrd=Cat(np.where(meas, np.where(neg, 0, 1), -1), ("neg", "pos")),
                    mrd_sensitivity=Cat(np.where(meas, pick(rng, N, [.7, .2, .1]), -1), sens))

    R.add(has_resp_ind, _pid=pid, assessment_date=resp_ind_date, timepoint=tps[0],
          response=Cat(resp_ind, rs), **mrd_cols(mrd_ind_meas, mrd_ind_neg))
    R.add(btw_has, _pid=pid, assessment_date=btw_date, timepoint=tps[1], response=Cat(btw_resp, rs))
    R.add(pa_has, _pid=pid, assessment_date=pa_date, timepoint=Cat(np.where(pa_tp_other, 3, 1), tps),
          response=Cat(pa_resp, rs), **mrd_cols(pa_mrd_meas, pa_mrd_neg))
    R.add(cons, _pid=pid, assessment_date=cons_resp_date, timepoint=tps[2],
          response=Cat(pick(rng, N, [.15, .35, .35, .12, .02, .01]), rs))
    R.add(nt_has_resp, _pid=pid, assessment_date=nt_resp_date, timepoint=tps[0], response=Cat(nt_resp, rs))
    R.add(maint_prog | (nt & (prog_any > nt_resp_date + 20)), _pid=pid, assessment_date=prog_any, timepoint=tps[3], response="PD")

    tables = {k: t.frame() for k, t in T.items()}
    tables["drugs"] = D.frame()
    tables = _truncate(tables, cut, death, X)
    tables["drugs"] = _finish_drugs(tables["drugs"], rng)

    # ---- statistics of the simulated pathway (for reports and tests)
    stats = _pathway_stats(locals())
    return Cohort(n=N, extract=X, tables=tables, birth=birth, death=death, cpr=cpr, spare_cpr=spare_cpr,
                  spare_birth=spare_birth, spare_male=spare_male, stats=stats)


# --------------------------------------------------------------------------- truncation

FIRST_DATE = {"patients": "birth_date", "diagnoses": "diagnosis_date", "labs": "sample_date",
              "anthropometrics": "measure_date", "cytogenetics": "sample_date",
              "treatment_courses": "start_date", "procedures": "procedure_date", "responses": "assessment_date"}


def _truncate(tables: dict[str, pl.DataFrame], cut: np.ndarray, death: np.ndarray, X: int) -> dict[str, pl.DataFrame]:
    """Drop events after death / extract date, close or reopen courses accordingly, number
    the courses (``_cno``, rendered as the course id) and expand the regimens into drugs."""
    N = cut.size
    cut_s = pl.Series("_cut", cut.astype(np.int64))
    death_s = pl.Series("_death", death, nan_to_null=True).cast(pl.Int64)
    out = {"patients": tables["patients"]}
    for name in ("diagnoses", "labs", "anthropometrics", "cytogenetics", "procedures", "responses"):
        df = tables[name]
        d = FIRST_DATE[name]
        df = df.filter(pl.col(d) <= cut_s.gather(df["_pid"]))
        # file order: by patient, then date (stable sort, so deterministic). Natural keys are
        # unique by construction (events of one kind are weeks apart); the tests check it.
        out[name] = df.sort(pl.col("_pid") * 200_000 + pl.col(d) + 100_000, maintain_order=True)

    k = tables["treatment_courses"]
    k = k.with_columns(_cut=cut_s.gather(k["_pid"]), _death=death_s.gather(k["_pid"]))
    k = k.filter(pl.col("start_date") <= pl.col("_cut"))
    over = pl.col("end_date") > pl.col("_cut")
    started = (pl.col("_cut") - pl.col("start_date")) // pl.col("cycle_length_days") + 1
    k = k.with_columns(
        cycles=pl.when(over & pl.col("cycle_length_days").is_not_null())
        .then(pl.min_horizontal(pl.col("cycles"), started)).otherwise(pl.col("cycles")),
        end_date=pl.when(over).then(pl.col("_death")).otherwise(pl.col("end_date")),
    ).drop("_cut", "_death")
    k = k.sort(pl.col("_pid") * 2**24 + (pl.col("start_date") + 100_000) * 16 + pl.col("_slot"))
    k = k.with_columns(_cno=pl.int_range(pl.len(), dtype=pl.Int64))
    out["treatment_courses"] = k.drop("_tmpl")

    # drugs: the parametric rows built per patient, plus the fixed regimens' template rows
    cno_of_ck = np.full(10 * N, -1, dtype=np.int64)
    cno_of_ck[k["_ck"].to_numpy()] = np.arange(k.height)
    dr = tables["drugs"]
    dr = dr.with_columns(_cno=pl.Series(cno_of_ck[dr["_ck"].to_numpy()])).filter(pl.col("_cno") >= 0)
    tmpl_rows = [(REG_INDEX[key], j, ATC.index(atc), dose, DOSE_UNITS.index(unit), DAYS.index(days))
                 for key, r in ref.REGIMENS.items() for j, (atc, dose, unit, days) in enumerate(r.drugs)]
    tmpl = pl.DataFrame(tmpl_rows, schema={"_tmpl": pl.Int32, "_dord": pl.Int64, "atc": pl.Int32, "dose": pl.Float64,
                                           "dose_unit": pl.Int32, "days": pl.Int32}, orient="row")
    td = k.select("_cno", "_tmpl").filter(pl.col("_tmpl").is_not_null()).join(tmpl, on="_tmpl", how="inner")
    cols = ["_cno", "_dord", "atc", "dose", "dose_unit", "days"]
    drugs = pl.concat([dr.select(cols), td.select(cols)], how="vertical").sort(pl.col("_cno") * 16 + pl.col("_dord"))
    start = k["start_date"].to_numpy()
    pids = k["_pid"].to_numpy()
    cno = drugs["_cno"].to_numpy()
    out["drugs"] = drugs.with_columns(start_date=pl.Series(start[cno]), _pid=pl.Series(pids[cno]))
    return out


def _finish_drugs(drugs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Pre-2021 ATC codes for most courses started before 2021 (a few later ones too) and
    the drug name as typed (mostly the generic name, sometimes the brand)."""
    n = drugs.height
    cno = drugs["_cno"].to_numpy()
    u_course = rng.random(int(cno.max()) + 1)[cno] if n else np.zeros(0)
    old = np.where(drugs["start_date"].to_numpy() < D2021, u_course < 0.9, u_course < 0.02)
    brand = rng.random(n) < 0.08
    atc = drugs["atc"].to_numpy().astype(np.int64)
    return drugs.with_columns(
        atc=_index_series("atc", np.where(old, ATC_OLD_INDEX[atc], atc)),
        drug_name=_index_series("drug_name", atc + brand * len(ATC_NEW)),
    )


# --------------------------------------------------------------------------- statistics

def _pathway_stats(v: dict) -> dict:
    """Counts of the planned deviations among patients whose relevant events survived
    truncation (so they are visible in the delivery). Rates are per relevant population."""
    N, X, cut = v["N"], v["X"], v["cut"]
    seen = lambda d: ~np.isnan(d) & (d <= cut)  # noqa: E731
    in_scope, young, tx = v["in_scope"], v["young"], v["tx"]
    ecog, comorb = v["ecog"], v["comorb"]
    asct1_seen = v["go_cond"] & seen(v["asct1"])
    mob_seen = v["go_mob"] & seen(v["harvest"])
    cond_seen = v["go_cond"] & seen(v["cond_start"])
    maint_seen = v["maint"] & seen(v["maint_start"])
    len_seen = maint_seen & np.isin(v["mkind"], [0, 1, 4])
    mm01 = in_scope & young & (ecog < 2) & (comorb < 2)
    cand_pop = in_scope & young & ((v["cand"]) | v["mrd_strat"])
    prim = v["prim"]
    mel, low = v["mel"], v["low"]

    def rate(mask, pop):
        n_pop = int(pop.sum())
        k = int((mask & pop).sum())
        return {"n": k, "of": n_pop, "rate": round(k / n_pop, 4) if n_pop else None}

    s = {
        "patients": N,
        "in_scope": int(in_scope.sum()),
        "age_le_70_share": round(float(young.mean()), 4) if N else None,
        "median_age_at_diagnosis": float(np.median(v["age_dx"])) if N else None,
        "men_share": round(float(v["male"].mean()), 4) if N else None,
        "transplant_pathway": int(tx.sum()),
        "hdt_candidate_J": int((v["cand"] & ~v["mrd_strat"] & (v["ev_state"] == 0)).sum()),
        "risk_high_share_in_scope": round(float(v["high"][in_scope].mean()), 4) if in_scope.any() else None,
        "risk_high_share_transplant_pathway": round(float(v["high"][tx].mean()), 4) if tx.any() else None,
        "deaths": int(v["dead"].sum()),
        "asct_patients": int(asct1_seen.sum()),
        "tandem": rate(v["tandem"] & seen(v["asct2"]), asct1_seen),
        "deviations": {
            "MM01 not evaluated (N)": rate(v["ev_state"] == 1, mm01),
            "MM01 evaluation missing (empty)": rate(v["ev_state"] == 2, mm01),
            "MM02 induction not registered": rate(v["no_ind_reg"], asct1_seen),
            "MM02 other regimen (category other)": rate(REG_CAT[v["reg_s"]] == "other", asct1_seen & ~v["no_ind_reg"]),
            "MM02 wrong cycle count": rate(v["cyc_dev"] & ~v["cycles_missing"], asct1_seen & ~v["no_ind_reg"]),
            "MM02 cycles missing": rate(v["cycles_missing"], asct1_seen & ~v["no_ind_reg"]),
            "MM02 split induction (2 courses, pooled)": rate(v["split"], asct1_seen & ~v["no_ind_reg"]),
            "MM03 no priming course": rate((prim == 1) | (prim == 2), mob_seen),
            "MM03 priming without cyclophosphamide": rate(prim == 3, mob_seen),
            "MM03 wrong cyclophosphamide dose": rate(prim == 4, mob_seen),
            "MM03 dose in mg without anthropometrics": rate((prim == 0) & (v["prim_form"] == 2) & ~v["mob_anthro"], mob_seen),
            "MM04 CrCl < 30": rate(low, cond_seen),
            "MM04 full dose despite CrCl < 30": rate(low & (mel == 200), cond_seen),
            "MM04 reduced without renal indication": rate(~low & (mel == 140), cond_seen),
            "MM04 other melphalan dose": rate((mel != 140) & (mel != 200), cond_seen),
            "MM04 creatinine missing or stale": rate(v["crea_missing"] | v["crea_stale"], cond_seen),
            "MM04 conditioning anthropometrics missing": rate(~v["cond_anthro"], cond_seen),
            "MM05 no HDT (other reasons)": rate(v["no_hdt"], cand_pop),
            "MM05 HDT delayed (late)": rate(v["late_hdt"], cand_pop),
            "MM05 PD after induction": rate(v["pd_ind"], cand_pop),
            "MM05 mrd_strategi deferral": rate(v["mrd_strat"], cand_pop),
            "MM05 mrd_strategi, v2.0 + standard risk + quadruplet + MRD neg": rate(
                v["mrd_strat"] & (v["dx"] >= V2) & v["std"] & v["quad"] & v["mrd_ind_neg"], cand_pop),
            "MM06 early start (< day 60)": rate((v["mday"] < 60) & ~v["cons"], maint_seen),
            "MM06 late start (> day 120, incl. after consolidation)": rate((v["maint_start"] - v["last_asct"]) > 120, maint_seen),
            "MM06 no maintenance (asct seen)": rate(~v["maint"] & ~v["pd_post"], asct1_seen),
            "MM06 PD before maintenance": rate(v["pd_post"], asct1_seen),
            "MM06 other maintenance drug": rate(v["mkind"] == 3, maint_seen),
            "MM06 daratumumab alone": rate(v["mkind"] == 2, maint_seen),
            "MM07 dose not 10 mg": rate(~np.isnan(v["len_dose"]) & (v["len_dose"] != 10), len_seen),
            "MM07 dose missing": rate(np.isnan(v["len_dose"]), len_seen),
            "MM07 schedule other than 1-21/28": rate((v["len_days"] > 0), len_seen),
            "MM07 days or cycle length missing": rate((v["len_days"] < 0) | np.isnan(v["len_clen"]), len_seen),
            "MM08 carfilzomib quadruplet or quintuplet among high risk, ASCT from 2026-04-07": rate(
                v["quad"] & (REG_CFZ[v["reg_s"]] | (REG_CAT[v["reg_s"]] == "quintuplet_cd38")),
                asct1_seen & v["high"] & (v["asct1"] >= V2)),
            "MM09 dual maintenance among v2.0 high risk": rate(v["mkind"] == 1, maint_seen & v["high"] & (v["maint_start"] >= V2)),
            "MM10 tandem with CR/sCR before": rate(v["btw_has"] & (v["btw_resp"] <= 1), v["tandem"] & seen(v["asct2"])),
            "MM10 tandem without response between": rate(~v["btw_has"], v["tandem"] & seen(v["asct2"])),
            "MM10 tandem standard risk": rate(v["std"], v["tandem"] & seen(v["asct2"])),
            "MM11 no rehabilitation": rate(~v["rehab"], asct1_seen),
            "MM11 late rehabilitation": rate(v["rehab"] & (v["rehab_date"] - v["asct1"] > 90), asct1_seen),
            "MM12 quadruplet/quintuplet induction, ASCT from 2026-04-07": rate(v["quad"], asct1_seen & (v["asct1"] >= V2)),
            "deaths within 365 days of diagnosis, candidates": rate(v["dead"] & (v["death"] - v["dx"] <= 365), cand_pop),
        },
    }
    return s
