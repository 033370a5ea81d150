"""The simulated pathway of every patient, one named step at a time.

Every patient is simulated at once with numpy arrays: one array per pathway event (dates
are float day numbers since 1970-01-01, NaN = the event does not happen). Each step is a
function that takes the results of the earlier steps it needs and returns its own small
dataclass; :func:`pipelines.synth.cohort.simulate` calls them in order with one random
generator, so a seed gives the same cohort every time. The steps know nothing of files:
:mod:`pipelines.synth.cohort` turns their arrays into typed tables afterwards.

All deviation and scenario rates are in :data:`RATES`; department-level variation
multiplies most of them by a per-department factor (mean 1) so department comparisons
have something to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

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
D2025 = dnum(date(2025, 1, 1))
D_MRD_STRATEGY = dnum(date(2025, 10, 1))   # deferral decisions recorded from here on
MAX_CYCLES = 160                             # continuous treatments stop after at most ~12 years

# Age at diagnosis: Danish myeloma patients, median about 71 years.
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 71.6, 9.6, 38.0, 95.0
DX_TREND = 0.3             # 30 % more diagnoses a year at the extract than in 2015

# Base rates (per patient in the relevant population; those marked "x dept" are multiplied
# by the department factor). Each comment says which indicator outcome the rate produces.
RATES: dict[str, float] = {
    # MM01 (age <= 70): evaluation recorded N / left empty
    "mm01_not_evaluated": 0.025,             # x dept; MM01 NOT_EVALUATED
    "mm01_evaluation_missing": 0.025,        # x dept; MM01 EVALUATION_UNKNOWN (pending within 30 days)
    # MM02: induction before harvest
    "mm02_no_induction_registered": 0.005,   # MM02 NO_INDUCTION (MM13 INDUCTION_UNKNOWN when consolidated)
    "mm02_cycles_2": 0.004,                  # x dept; MM02 INDUCTION_CYCLES
    "mm02_cycles_3": 0.020,                  # x dept; INDUCTION_CYCLES (met for 6-week cycles: 4 instead of 3)
    "mm02_cycles_5": 0.015,                  # x dept; INDUCTION_CYCLES
    "mm02_cycles_6": 0.015,                  # x dept; INDUCTION_CYCLES
    "mm02_cycles_missing": 0.010,            # MM02 CYCLES_UNKNOWN
    "mm02_split_induction": 0.030,           # 1-2 VCd cycles, then a triplet: the triplet is the predominant course (met)
    "mm02_bridging_vcd_before_quad": 0.25,   # of CD38 inductions: one bridging VCd cycle first; the
                                             # quadruplet stays the predominant course (MM12 met, never "quintuplet")
    "mm02_bridging_full_quad": 0.6,          # of those: the quadruplet still gets 4 cycles, 5 in all (INDUCTION_CYCLES)
    # MM03: priming
    "mm03_no_priming": 0.025,                # x dept; MM03 NO_PRIMING
    "mm03_priming_too_early": 0.005,         # x dept; NO_PRIMING (course > 30 days before the harvest)
    "mm03_no_cyclophosphamide": 0.025,       # x dept; PRIMING_WITHOUT_CYCLOPHOSPHAMIDE
    "mm03_wrong_dose": 0.020,                # x dept; PRIMING_DOSE
    "mm03_anthropometrics_missing_abs_dose": 0.12,   # dose in mg and no height/weight: BSA_UNKNOWN
    "mm03_anthropometrics_missing": 0.02,
    # MM04: melphalan
    "mm04_full_dose_low_crcl": 0.20,         # x dept; of CrCl < 30: FULL_DOSE_DESPITE_LOW_CRCL
    "mm04_reduced_without_indication": 0.020,    # x dept; REDUCED_WITHOUT_RENAL_INDICATION
    "mm04_other_dose": 0.015,                # x dept; MELPHALAN_DOSE_OTHER
    "mm04_creatinine_missing": 0.020,        # x dept; CRCL_UNKNOWN
    "mm04_creatinine_stale": 0.007,          # x dept; CRCL_UNKNOWN (sample > 30 days before)
    "mm04_anthropometrics_missing": 0.020,   # x dept; CRCL_UNKNOWN / BSA_UNKNOWN
    # MM05: HDT for candidates; Rec 8 MRD-guided deferral
    "mm05_no_hdt": 0.030,                    # x dept; MM05 NO_HDT
    "mm05_late_hdt": 0.020,                  # x dept; HDT after day 365: NO_HDT (or pending)
    "mm05_mrd_guided": 0.20,                 # of standard-risk candidates diagnosed from v2.0: put on the Rec 8
                                             # pathway (CD38 quadruplet, MRD at 10^-5 after 4 cycles)
    "mm05_defer_guided_mrd_neg": 0.9,        # MRD negative on that pathway: mrd_strategi (MRD_NEGATIVE_DEFERRAL)
    "mm05_defer_quad_mrd_neg": 0.5,         # other standard-risk quadruplet, MRD negative: mrd_strategi
    "mm05_defer_high_risk_mrd_neg": 0.08,    # high risk, MRD negative: mrd_strategi (DEFERRAL_NOT_SUPPORTED)
    "mm05_defer_other": 0.03,                # anyone else from 2025-10: mrd_strategi (DEFERRAL_NOT_SUPPORTED)
    # MM06: maintenance start
    "mm06_early": 0.020,                     # x dept; day 30-59: EARLY_START
    "mm06_late": 0.040,                      # x dept; day 151-260: LATE_START (day 121-150 also occur)
    "mm06_other_drug": 0.020,                # x dept; OTHER_MAINTENANCE
    "mm06_daratumumab_alone": 0.010,         # x dept; LENALIDOMIDE_ALTERNATIVE
    "mm06_late_after_consolidation": 0.10,   # x dept; > 60 days after the consolidation's end: LATE_START
    # consolidation (Recs 2, 6): share of transplanted patients, by the consolidation's start
    "cons_v1_standard": 0.03,
    "cons_v1_high": 0.15,
    "cons_v2_standard": 0.25,
    "cons_v2_high": 0.55,
    "mm13_other_regimen_v1": 0.30,           # before v2.0 often VRd whatever the induction: CONSOLIDATION_REGIMEN
    "mm13_other_regimen_v2": 0.08,           # e.g. VRd after D-VRd (CD38 dropped): CONSOLIDATION_REGIMEN
    "mm13_too_many_cycles": 0.06,            # x dept; 3-4 cycles (high risk 14): CONSOLIDATION_CYCLES
    "mm13_cycles_missing": 0.06,             # CYCLES_UNKNOWN; MM06 CONSOLIDATION_END_UNKNOWN
    "mm13_consolidation_without_induction": 0.4,   # induction not registered, consolidated: INDUCTION_UNKNOWN
    # MM07: lenalidomide dose and schedule
    "mm07_renal_dose_5": 0.70,               # CrCl < 50 at the maintenance start: 5 mg (RENAL_DOSE_REDUCTION)
    "mm07_maint_labs_missing": 0.08,         # no creatinine/weight within 30 days: CrCl unknown (5 mg is DOSE)
    "mm07_dose_5": 0.030,                    # x dept; 5 mg with normal renal function (cytopenia): DOSE
    "mm07_dose_15": 0.015,                   # x dept; DOSE
    "mm07_dose_25": 0.005,                   # x dept; DOSE
    "mm07_dose_missing": 0.010,              # x dept; DOSE_UNKNOWN
    "mm07_days_1_28": 0.030,                 # x dept; SCHEDULE
    "mm07_days_1_14_21": 0.010,              # x dept; SCHEDULE
    "mm07_days_missing": 0.010,              # x dept; SCHEDULE_UNKNOWN
    "mm07_cycle_length_missing": 0.005,      # SCHEDULE_UNKNOWN
    # MM09 (informational): dual maintenance (not recommended by Medicinrådet)
    "mm09_dual_high_risk_v2": 0.40,          # high risk, maintenance from v2.0: met
    "mm09_dual_standard_v2": 0.02,
    # MM11: rehabilitation
    "mm11_no_rehabilitation": 0.09,          # x dept; NO_REHABILITATION
    "mm11_late_rehabilitation": 0.04,        # referral after day 90: NO_REHABILITATION
    "mm11_referral_before_hdt": 0.12,        # referral between diagnosis and HDT: met (v2)
    # deaths (MM05 DIED, MM06/MM11 DIED, MM14 DIED_WITHIN_100_DAYS)
    "death_early_candidate": 0.025,
    "death_transplant_related": 0.012,
    # MRD sensitivities as R's write.csv2 / SAS write them (valid in format v2, not dirty)
    "mrd_e_notation": 0.20,
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


def cockcroft_gault(age, weight_kg, male, creat_umol):
    """CrCl in ml/min (actual body weight; 0.85 for women), creatinine in µmol/L."""
    return (140 - age) * weight_kg * np.where(male, 1.0, 0.85) / (72 * creat_umol / 88.4)


REG_KEYS = ref.REGIMEN_KEYS
REG_INDEX = {k: i for i, k in enumerate(REG_KEYS)}
REG_CLEN = np.array([ref.REGIMENS[k].cycle_length for k in REG_KEYS], dtype=float)
REG_LAST = np.array([ref.REGIMENS[k].last_day for k in REG_KEYS], dtype=float)
REG_QUAD = np.array([k in ref.QUAD_KEYS for k in REG_KEYS])
REG_CFZ = np.array([k in ref.CARFILZOMIB_KEYS for k in REG_KEYS])
REG_CAT = np.array([ref.REGIMENS[k].category for k in REG_KEYS])
CATEGORIES = ("quintuplet_cd38", "quadruplet_cd38", "triplet_pi_imid", "vcd", "other")
REG_CAT_I = np.array([CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES) - 1 for c in REG_CAT])

# MRD sensitivity values (index): 0 = 10^-5, 1 = 10^-6, 2 = 10^-4
SENS_VALUES = np.array([1e-5, 1e-6, 1e-4])
P_NEG_BY_RESP = np.array([0.7, 0.65, 0.3, 0.05, 0.0, 0.0])      # MRD negative by response sCR..PD


def choose_regimens(rng, groups: np.ndarray, mixes: dict, n: int) -> np.ndarray:
    """Regimen index per patient from the mix of the patient's group (-1: no group, none)."""
    out = np.full(n, -1, dtype=np.int64)
    for g, mix in mixes.items():
        sel = np.flatnonzero(groups == g)
        if sel.size == 0:
            continue
        keys = np.array([REG_INDEX[k] for k, _ in mix])
        out[sel] = keys[pick(rng, sel.size, [p for _, p in mix])]
    return out


# --------------------------------------------------------------------------- 1. diagnosis

@dataclass
class Diagnosis:
    dx: np.ndarray           # diagnosis date
    male: np.ndarray
    birth: np.ndarray
    age_dx: np.ndarray       # completed years at diagnosis
    young: np.ndarray        # age <= 70 (the guideline's population)
    dept: np.ndarray         # department index
    mult: np.ndarray         # the department's factor on deviation rates
    dept_weights: np.ndarray
    icd: np.ndarray          # index into ref.ICD10
    in_scope: np.ndarray     # DC900 / DC901
    ecog: np.ndarray
    comorb: np.ndarray
    iss: np.ndarray
    emd: np.ndarray
    fit: np.ndarray          # ECOG <= 1 and no significant comorbidity
    semi: np.ndarray


def diagnose(rng: np.random.Generator, N: int, X: int) -> Diagnosis:
    """Diagnosis: date (2015 to the extract), sex, age (median ~71), department, ICD-10 code
    and the clinical state at diagnosis (ECOG, comorbidity, ISS, extramedullary disease);
    older patients are frailer."""
    dx_hi = X - 3
    dx_lo = min(dnum(date(2015, 1, 1)), dx_hi - 3 * 365)
    # incidence rises over the years (an ageing population): density 1 at the start, 1 + DX_TREND at the end
    u = rng.random(N)
    t = (np.sqrt(1 + 2 * DX_TREND * u * (1 + DX_TREND / 2)) - 1) / DX_TREND
    dx = np.minimum(dx_lo + np.floor(t * (dx_hi - dx_lo + 1)), dx_hi)
    male = rng.random(N) < 0.55
    age_f = truncnorm(rng, AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX, N)
    birth = dx - np.floor(age_f * 365.2425) - rng.integers(0, 2, N)
    age_dx = completed_age(birth, dx)
    young = age_dx <= 70
    old80 = age_dx > 80

    w = np.array([d[4] for d in ref.DEPARTMENTS])
    w = w / w.sum()
    dept = rng.choice(len(w), N, p=w)
    dept_factor = np.exp(rng.normal(0.0, 0.45, len(w)))
    dept_factor /= (dept_factor * w).sum()

    icd = pick(rng, N, [0.955, 0.01, 0.02, 0.015])
    ecog = np.select([young, ~old80], [pick(rng, N, [.40, .38, .13, .07, .02]), pick(rng, N, [.22, .40, .22, .12, .04])],
                     pick(rng, N, [.12, .36, .28, .18, .06]))
    comorb = np.select([young, ~old80], [pick(rng, N, [.62, .29, .09]), pick(rng, N, [.35, .40, .25])],
                       pick(rng, N, [.22, .43, .35]))
    iss = np.where(young, pick(rng, N, [.40, .45, .15]), pick(rng, N, [.28, .47, .25])) + 1
    iss = np.where((icd == 1) & (rng.random(N) < 0.7), 3, iss)
    emd = pick(rng, N, [.905, .075, .02])
    emd = np.where(icd == 2, 1 + (rng.random(N) < 0.5), emd)
    fit = (ecog <= 1) & (comorb < 2)
    semi = ~fit & (ecog <= 2) & (comorb < 2)
    return Diagnosis(dx=dx, male=male, birth=birth, age_dx=age_dx, young=young, dept=dept, mult=dept_factor[dept],
                     dept_weights=w, icd=icd, in_scope=icd <= 1, ecog=ecog, comorb=comorb, iss=iss, emd=emd,
                     fit=fit, semi=semi)


# --------------------------------------------------------------------------- 2. HDT evaluation

@dataclass
class Plan:
    ev_state: np.ndarray     # 0 evaluated J, 1 N, 2 empty
    ev_date: np.ndarray
    cand: np.ndarray         # decided a candidate (before any MRD-guided deferral)
    reason: np.ndarray       # index into ref.NOT_CANDIDATE_REASONS for non-candidates
    tx: np.ndarray           # on the transplant pathway (candidates, and some with no recorded evaluation)
    ind_start: np.ndarray
    nt: np.ndarray           # first-line treatment off the transplant pathway
    nt_start: np.ndarray
    risk_cut: np.ndarray     # risk is decided from results up to this date


def evaluate_for_hdt(rng: np.random.Generator, d: Diagnosis) -> Plan:
    """HDT evaluation (MM01), the candidate decision (fewer than half of all patients:
    the young and fit, few aged 71-75) and when first-line treatment starts."""
    N = d.dx.size
    u = rng.random(N)
    r_not = RATES["mm01_not_evaluated"] * d.mult
    r_miss = RATES["mm01_evaluation_missing"] * d.mult
    ev_state = np.where(d.young, np.where(u < r_not, 1, np.where(u < r_not + r_miss, 2, 0)),
                        np.where(u < 0.35, 1, np.where(u < 0.45, 2, 0)))
    ev_state = np.where(d.in_scope, ev_state, 2)
    ev_date = d.dx + 2 + np.minimum(gamma_days(rng, N, 2.0, 4.0), 45)
    p_cand = np.select([d.young & d.fit, d.young & d.semi, d.young, (d.age_dx <= 72) & d.fit, (d.age_dx <= 75) & d.fit],
                       [0.96, 0.65, 0.2, 0.55, 0.2], 0.0)
    cand = d.in_scope & (ev_state == 0) & (rng.random(N) < p_cand)
    u = rng.random(N)
    reason = np.select([~d.young & (u < 0.85), d.ecog >= 2, d.comorb == 2, ~d.young, u < 0.5], [0, 2, 1, 1, 3], 5)
    tx = cand | (d.in_scope & d.young & d.fit & (ev_state == 2) & (rng.random(N) < 0.85))
    ind_start = np.where(tx, d.dx + 4 + np.minimum(gamma_days(rng, N, 2.0, 6.0), 56), np.nan)
    nt = d.in_scope & ~tx & (rng.random(N) < 0.88)
    nt_start = np.where(nt, d.dx + 5 + np.minimum(gamma_days(rng, N, 2.0, 8.0), 80), np.nan)
    risk_cut = np.where(tx, ind_start, np.where(nt, nt_start, d.dx + 60))
    return Plan(ev_state=ev_state, ev_date=ev_date, cand=cand, reason=reason, tx=tx, ind_start=ind_start, nt=nt,
                nt_start=nt_start, risk_cut=risk_cut)


# --------------------------------------------------------------------------- 3. labs at diagnosis

@dataclass
class Labs:
    lab_dx: np.ndarray       # sample date at diagnosis
    renal: np.ndarray        # renal impairment at diagnosis
    creat_norm: np.ndarray   # the patient's creatinine with normal renal function (µmol/L)
    creat: np.ndarray
    b2m: np.ndarray
    albumin: np.ndarray
    ldh: np.ndarray
    cpc: np.ndarray
    has_creat: np.ndarray
    has_b2m: np.ndarray
    has_alb: np.ndarray
    has_ldh: np.ndarray
    has_cpc: np.ndarray
    creat_mgdl: np.ndarray   # this patient's lab reports creatinine in mg/dL


def diagnostic_labs(rng: np.random.Generator, d: Diagnosis) -> Labs:
    """Labs at diagnosis, consistent with the ISS stage (renal impairment mostly in ISS 3)."""
    N = d.dx.size
    lab_dx = d.dx - rng.integers(0, 8, N)
    renal = rng.random(N) < np.select([d.iss == 1, d.iss == 2], [0.02, 0.08], 0.78)
    creat_norm = np.where(d.male, np.clip(rng.lognormal(np.log(85), 0.15, N), 50, 118),
                          np.clip(rng.lognormal(np.log(68), 0.15, N), 40, 100))
    creat = np.round(np.where(renal, np.clip(rng.lognormal(np.log(230), 0.5, N), 120, 1100), creat_norm))
    u = rng.random(N)
    b2m = np.select([d.iss == 1, (d.iss == 2) & (u < 0.6), d.iss == 2],
                    [rng.uniform(1.2, 3.4, N), rng.uniform(3.5, 5.4, N), rng.uniform(1.8, 3.4, N)],
                    np.clip(rng.lognormal(np.log(8.0), 0.45, N), 5.5, 40.0))
    b2m = np.where(d.in_scope, np.round(b2m, 1), np.round(rng.uniform(1.5, 3.0, N), 1))
    albumin = np.round(np.select([d.iss == 1, (d.iss == 2) & (b2m < 3.5)],
                                 [rng.uniform(35, 48, N), rng.uniform(24, 34, N)], rng.uniform(26, 45, N)))
    ldh = np.round(np.where(rng.random(N) < 0.85, rng.uniform(120, 250, N), rng.uniform(260, 900, N)))
    u = rng.random(N)
    cpc = np.select([u < 0.70, u < 0.985], [np.zeros(N), np.round(rng.uniform(0.1, 2.0, N), 1)],
                    np.round(rng.uniform(2.1, 15, N), 1))
    cpc = np.where(d.icd == 1, np.round(rng.uniform(20, 70, N), 1), cpc)
    return Labs(
        lab_dx=lab_dx, renal=renal, creat_norm=creat_norm, creat=creat, b2m=b2m, albumin=albumin, ldh=ldh, cpc=cpc,
        has_creat=np.where(d.in_scope, True, rng.random(N) < 0.8),
        has_b2m=d.in_scope & (rng.random(N) < 0.96),
        has_alb=np.where(d.in_scope, rng.random(N) < 0.96, rng.random(N) < 0.6),
        has_ldh=d.in_scope & (rng.random(N) < 0.9),
        has_cpc=d.in_scope & ((d.icd == 1) | (rng.random(N) < np.where(d.dx >= D2020, 0.7, 0.3))),
        creat_mgdl=rng.random(N) < 0.08)


# --------------------------------------------------------------------------- 4. cytogenetics and risk

@dataclass
class Risk:
    tested: np.ndarray
    cyto_date: np.ndarray
    tp53_date: np.ndarray
    del17p: np.ndarray
    tp53: np.ndarray
    t414: np.ndarray
    t1416: np.ndarray
    t1420: np.ndarray
    amp: np.ndarray
    gain: np.ndarray
    del1p: np.ndarray
    del1p_bi: np.ndarray
    frac17: np.ndarray
    t_del17p: np.ndarray     # t_*: the aberration was tested
    t_t414: np.ndarray
    t_gain: np.ndarray
    t_amp: np.ndarray
    t_1416: np.ndarray
    t_1420: np.ndarray
    t_del1p: np.ndarray
    t_del1p_bi: np.ndarray
    t_tp53: np.ndarray
    high: np.ndarray         # the spec's high risk from results up to the first induction
    std: np.ndarray          # standard risk (tested, no rule fired)


def cytogenetics_and_risk(rng: np.random.Generator, d: Diagnosis, p: Plan, labs: Labs) -> Risk:
    """FISH panel at diagnosis (some aberrations untested, some sampled after the induction
    started: MM15) and the spec's high-risk rules evaluated on what was known in time."""
    N = d.dx.size
    tested = d.in_scope & (rng.random(N) < np.where(p.tx, 0.95, 0.65))
    late_cyto = p.tx & (rng.random(N) < 0.03)
    cyto_date = np.where(late_cyto, p.ind_start + rng.integers(1, 21, N), d.dx + rng.integers(0, 5, N))
    del17p = rng.random(N) < 0.06
    tp53 = np.where(del17p, rng.random(N) < 0.45, rng.random(N) < 0.008)
    t414 = rng.random(N) < 0.085
    t1416 = ~t414 & (rng.random(N) < 0.03)
    t1420 = ~t414 & ~t1416 & (rng.random(N) < 0.015)
    u = rng.random(N)
    p_amp = 0.06 + 0.08 * t414
    p_gain = 0.22 + 0.12 * t414
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
    t_tp53 = tested & (rng.random(N) < np.where(d.dx >= D2022, 0.45, 0.12))
    tp53_date = cyto_date + rng.integers(5, 26, N)

    c_ok = tested & (cyto_date <= p.risk_cut)
    p53_ok = t_tp53 & (tp53_date <= p.risk_cut)
    q1_pos = (t_gain & (gain | amp)) | (t_amp & amp)
    r1 = (c_ok & t_del17p & del17p & (frac17 >= 20)) | (p53_ok & tp53)
    r2 = c_ok & t_del1p_bi & del1p_bi
    n_hrca = c_ok * ((t_del17p & del17p).astype(int) + (t_t414 & t414) + (t_1416 & t1416)
                     + (t_1420 & t1420) + q1_pos + (t_del1p & del1p))
    r3 = n_hrca >= 2
    r4 = labs.has_b2m & (labs.b2m >= 5.5) & labs.has_creat & (labs.creat / 88.4 < 1.2) & (labs.lab_dx <= p.risk_cut)
    r5 = labs.has_cpc & (labs.cpc > 2) & (labs.lab_dx <= p.risk_cut)
    r6 = d.emd == 2
    high = d.in_scope & (r1 | r2 | r3 | r4 | r5 | r6)
    std = d.in_scope & ~high & c_ok & t_del17p & t_t414 & (t_gain | t_amp)
    return Risk(tested=tested, cyto_date=cyto_date, tp53_date=tp53_date, del17p=del17p, tp53=tp53, t414=t414,
                t1416=t1416, t1420=t1420, amp=amp, gain=gain, del1p=del1p, del1p_bi=del1p_bi, frac17=frac17,
                t_del17p=t_del17p, t_t414=t_t414, t_gain=t_gain, t_amp=t_amp, t_1416=t_1416, t_1420=t_1420,
                t_del1p=t_del1p, t_del1p_bi=t_del1p_bi, t_tp53=t_tp53, high=high, std=std)


# --------------------------------------------------------------------------- 5. induction

@dataclass
class Induction:
    era: np.ndarray
    reg: np.ndarray          # regimen of the main course (-1 off the pathway)
    reg_s: np.ndarray        # the same, 0 where none (safe index)
    clen: np.ndarray
    c1: np.ndarray           # cycles of the first (VCd) course of a split / bridged induction, else 0
    c2: np.ndarray           # cycles of the main course
    cycles_missing: np.ndarray   # main course's cycles not recorded
    planned: np.ndarray      # the guideline's cycle count for the regimen (3 for 6-week cycles, else 4)
    no_ind_reg: np.ndarray   # induction given but not registered
    has_ind: np.ndarray      # induction registered
    split: np.ndarray        # 1-2 VCd cycles, then a triplet
    bridge: np.ndarray       # one bridging VCd cycle, then a CD38 quadruplet / quintuplet
    mrd_guided: np.ndarray   # Rec 8 pathway (v2.0, standard risk)
    s1: np.ndarray
    e1: np.ndarray
    s2: np.ndarray           # main course start
    ind_end: np.ndarray
    quad: np.ndarray         # main course is a CD38 quadruplet / quintuplet
    pred_reg: np.ndarray     # regimen of the predominant course (spec: most cycles, ties the later start)


def induction(rng: np.random.Generator, d: Diagnosis, p: Plan, risk: Risk) -> Induction:
    """Induction on the transplant pathway: regimen by era of the start and risk (CD38
    quadruplets a minority after v2.0, rarer before), cycle deviations (MM02), a VCd course
    before a triplet or as a one-cycle bridge before a quadruplet (predominant course)."""
    N = d.dx.size
    tx = p.tx
    era = np.select([p.ind_start < D2019, p.ind_start < D2021, p.ind_start < D2025, p.ind_start < V2], [0, 1, 2, 3], 4)
    reg = choose_regimens(rng, np.where(tx, era * 2 + risk.high, -1),
                          {e * 2 + h: mix for (e, h), mix in ref.INDUCTION_MIX.items()}, N)
    mrd_guided = tx & risk.std & (d.dx >= V2) & (rng.random(N) < RATES["mm05_mrd_guided"])
    reg = np.where(mrd_guided, choose_regimens(rng, np.where(mrd_guided, 0, -1), {0: ref.MRD_GUIDED_MIX}, N), reg)
    reg_s = np.where(reg < 0, 0, reg)
    clen = REG_CLEN[reg_s]
    planned = np.where(clen >= 42, 3, 4).astype(float)
    u = rng.random(N)
    c = np.cumsum([RATES["mm02_cycles_2"], RATES["mm02_cycles_3"], RATES["mm02_cycles_5"], RATES["mm02_cycles_6"]])
    mult = d.mult
    cycles_total = np.select([u < c[0] * mult, u < c[1] * mult, u < c[2] * mult, u < c[3] * mult],
                             [2.0, np.where(planned == 3, 4.0, 3.0), 5.0, 6.0], planned)
    cycles_missing = rng.random(N) < RATES["mm02_cycles_missing"]
    no_ind_reg = rng.random(N) < RATES["mm02_no_induction_registered"]
    split = (tx & np.isin(reg, [REG_INDEX["VRd21"], REG_INDEX["VTd21"], REG_INDEX["VRd28"]])
             & (cycles_total >= 3) & (rng.random(N) < RATES["mm02_split_induction"] / 0.7))
    quad = tx & REG_QUAD[reg_s]
    bridge = quad & (rng.random(N) < RATES["mm02_bridging_vcd_before_quad"])
    bridge_full = bridge & (rng.random(N) < RATES["mm02_bridging_full_quad"])
    c1 = np.select([split, bridge], [rng.integers(1, 3, N), np.ones(N)], 0).astype(float)
    c2 = np.where(bridge_full, cycles_total, cycles_total - c1)
    s1 = p.ind_start
    e1 = s1 + (c1 - 1) * 21 + 14 + rng.integers(0, 4, N)
    s2 = np.where(split | bridge, s1 + c1 * 21 + rng.integers(0, 6, N), p.ind_start)
    delay = rng.integers(0, 8, N) + np.where(rng.random(N) < 0.1, rng.integers(7, 22, N), 0)
    ind_end = s2 + (c2 - 1) * clen + REG_LAST[reg_s] - 1 + delay
    c2_known = np.where(cycles_missing, 0, c2)
    pred_reg = np.where((split | bridge) & (c1 > c2_known), REG_INDEX["VCd21"], reg_s)
    return Induction(era=era, reg=reg, reg_s=reg_s, clen=clen, c1=c1, c2=c2, cycles_missing=cycles_missing,
                     planned=planned, no_ind_reg=no_ind_reg, has_ind=tx & ~no_ind_reg, split=split, bridge=bridge,
                     mrd_guided=mrd_guided, s1=s1, e1=e1, s2=s2, ind_end=ind_end, quad=quad, pred_reg=pred_reg)


# --------------------------------------------------------------------------- 6. response to induction, MRD

@dataclass
class InductionResponse:
    date: np.ndarray
    resp: np.ndarray         # index into ref.RESPONSES
    has: np.ndarray          # response recorded
    mrd_meas: np.ndarray
    mrd_neg: np.ndarray
    sens: np.ndarray         # index into SENS_VALUES
    pd: np.ndarray           # progression on induction
    pd_continue: np.ndarray  # ... salvage, then still the transplant
    salv_reg: np.ndarray
    salv_start: np.ndarray
    salv_end: np.ndarray


def induction_response(rng: np.random.Generator, p: Plan, ind: Induction) -> InductionResponse:
    """Response after induction; MRD measured in a minority (most CD38 inductions from
    v2.0, always on the Rec 8 pathway); progression leads to salvage."""
    N = p.tx.size
    date_ = ind.ind_end + rng.integers(5, 27, N)
    resp = np.where(ind.quad, pick(rng, N, [.10, .28, .45, .14, .02, .01]), pick(rng, N, [.05, .15, .42, .30, .05, .03]))
    has = p.tx & ((rng.random(N) < 0.93) | ind.mrd_guided)
    p_meas = np.select([ind.mrd_guided, ind.quad & (p.ind_start >= V2), ind.quad, p.ind_start >= D2022],
                       [1.0, 0.85, 0.3, 0.04], 0.02)
    mrd_meas = has & (rng.random(N) < p_meas)
    mrd_neg = mrd_meas & (rng.random(N) < P_NEG_BY_RESP[resp])
    sens = np.where(ind.mrd_guided, pick(rng, N, [.8, .2, 0.0]), pick(rng, N, [.7, .2, .1]))
    pd = p.tx & (resp == 5)
    salv_reg = choose_regimens(rng, np.where(pd, 0, -1), {0: ref.SALVAGE_MIX}, N)
    salv_start = date_ + rng.integers(3, 15, N)
    return InductionResponse(date=date_, resp=resp, has=has, mrd_meas=mrd_meas, mrd_neg=mrd_neg, sens=sens, pd=pd,
                             pd_continue=pd & (rng.random(N) < 0.5), salv_reg=salv_reg, salv_start=salv_start,
                             salv_end=salv_start + 4 * 28 - 8)


# --------------------------------------------------------------------------- 7. HDT decision

@dataclass
class HdtDecision:
    mrd_strat: np.ndarray    # HDT deferred (hdt_candidate N, reason mrd_strategi)
    mrd_meas: np.ndarray     # induction MRD, incl. measurements made for the deferral decision
    mrd_neg: np.ndarray
    ev_date: np.ndarray      # evaluation date (the deferral decision moves it)
    reason: np.ndarray
    no_hdt: np.ndarray
    no_hdt_mob: np.ndarray   # ... after a harvest
    late_hdt: np.ndarray
    stop_pd: np.ndarray      # progression on induction ends the pathway
    cont_start: np.ndarray   # deferred: 4-6 more cycles of the induction regimen (Rec 8)
    cont_end: np.ndarray
    cont_cycles: np.ndarray


def hdt_decision(rng: np.random.Generator, d: Diagnosis, p: Plan, risk: Risk, ind: Induction,
                 ir: InductionResponse, X: int) -> HdtDecision:
    """Whether the candidate goes on to HDT: MRD-guided deferral (Rec 8; some without the
    guideline's conditions), no HDT, HDT after a delay; the deferred continue induction."""
    N = d.dx.size
    window = p.cand & ir.has & ~ir.pd & (ir.date >= D_MRD_STRATEGY) & (ir.date + 14 <= X)
    p_defer = np.select([ind.mrd_guided & ir.mrd_neg, ind.quad & ir.mrd_neg & ~risk.high, ind.quad & ir.mrd_neg],
                        [RATES["mm05_defer_guided_mrd_neg"], RATES["mm05_defer_quad_mrd_neg"],
                         RATES["mm05_defer_high_risk_mrd_neg"]], RATES["mm05_defer_other"])
    mrd_strat = window & (rng.random(N) < p_defer)
    mrd_force = mrd_strat & ~ir.mrd_meas & (rng.random(N) < 0.5)   # some measured MRD just for the decision
    mrd_meas = ir.mrd_meas | mrd_force
    mrd_neg = ir.mrd_neg | (mrd_force & (rng.random(N) < 0.6))
    ev_date = np.where(mrd_strat, ir.date + rng.integers(1, 11, N), p.ev_date)
    reason = np.where(mrd_strat, 4, p.reason)
    no_hdt = p.tx & ~mrd_strat & (rng.random(N) < RATES["mm05_no_hdt"] * d.mult)
    no_hdt_mob = no_hdt & (rng.random(N) < 0.35)
    late_hdt = p.tx & ~no_hdt & (rng.random(N) < RATES["mm05_late_hdt"] * d.mult)
    cont_start = np.where(mrd_strat, ir.date + rng.integers(14, 29, N), np.nan)
    cont_cycles = rng.integers(4, 7, N).astype(float)
    cont_end = cont_start + (cont_cycles - 1) * ind.clen + REG_LAST[ind.reg_s] - 1 + rng.integers(0, 6, N)
    return HdtDecision(mrd_strat=mrd_strat, mrd_meas=mrd_meas, mrd_neg=mrd_neg, ev_date=ev_date, reason=reason,
                       no_hdt=no_hdt, no_hdt_mob=no_hdt_mob, late_hdt=late_hdt, stop_pd=ir.pd & ~ir.pd_continue,
                       cont_start=cont_start, cont_end=cont_end, cont_cycles=cont_cycles)


# --------------------------------------------------------------------------- 8. mobilisation and harvest

@dataclass
class Harvest:
    go_mob: np.ndarray
    base: np.ndarray         # end of induction (or salvage)
    prim: np.ndarray         # 0 correct, 1 no priming course, 2 course > 30 days before harvest, 3 no cyclo, 4 wrong dose
    prim_form: np.ndarray    # 0 g/m2, 1 mg/m2, 2 mg (absolute), 3 split g/m2, 4 split mg/m2
    harvest: np.ndarray
    mob_course_start: np.ndarray
    mob_end: np.ndarray
    has_mob_course: np.ndarray
    height: np.ndarray
    weight0: np.ndarray      # the patient's usual weight
    w_mob: np.ndarray
    mob_meas: np.ndarray
    mob_anthro: np.ndarray
    bsa_mob: np.ndarray
    gcsf: np.ndarray
    plerix: np.ndarray
    split_mob: np.ndarray


def mobilisation(rng: np.random.Generator, d: Diagnosis, p: Plan, ind: Induction, ir: InductionResponse,
                 hd: HdtDecision) -> Harvest:
    """Stem-cell mobilisation (cyclophosphamide priming, G-CSF, plerixafor) and harvest, with
    the MM03 deviations (no / early / cyclophosphamide-free priming, wrong dose, no BSA)."""
    N = d.dx.size
    mult = d.mult
    go_mob = p.tx & ~hd.stop_pd & (~hd.no_hdt | hd.no_hdt_mob) & (~hd.mrd_strat | (rng.random(N) < 0.6))
    base = np.where(ir.pd_continue, ir.salv_end + 10, ind.ind_end)
    mob_start = base + 7 + gamma_days(rng, N, 2.0, 6.0) + np.where(hd.late_hdt, rng.integers(150, 300, N), 0)
    u = rng.random(N)
    cm = np.cumsum([RATES["mm03_no_priming"], RATES["mm03_priming_too_early"],
                    RATES["mm03_no_cyclophosphamide"], RATES["mm03_wrong_dose"]])
    prim = np.select([u < cm[0] * mult, u < cm[1] * mult, u < cm[2] * mult, u < cm[3] * mult], [1, 2, 3, 4], 0)
    prim_form = pick(rng, N, [.60, .15, .15, .05, .05])
    harvest = np.select([prim == 1, prim == 3], [base + 20 + rng.integers(0, 31, N), mob_start + rng.integers(4, 7, N)],
                        mob_start + rng.integers(9, 14, N))
    mob_course_start = np.where(prim == 2, harvest - rng.integers(35, 61, N), mob_start)
    has_mob_course = go_mob & (prim != 1)
    height = np.round(np.where(d.male, rng.normal(180, 7, N), rng.normal(167, 6.5, N)).clip(145, 205))
    weight0 = np.where(d.male, rng.normal(86, 13, N), rng.normal(71, 12, N)).clip(45, 150)
    w_mob = np.round(weight0 * (1 + rng.normal(0, 0.02, N)), 1)
    mob_meas = mob_course_start - rng.integers(0, 4, N)
    abs_form = (prim == 0) & (prim_form == 2)
    mob_anthro = go_mob & (rng.random(N) >= np.where(abs_form, RATES["mm03_anthropometrics_missing_abs_dose"],
                                                    RATES["mm03_anthropometrics_missing"]))
    gcsf = has_mob_course & (prim != 2) & ((prim == 3) | (rng.random(N) < 0.85))
    plerix = gcsf & (rng.random(N) < np.where(prim == 3, 0.4, 0.1))
    split_mob = (prim == 0) & (prim_form >= 3)
    mob_end = np.where(gcsf, harvest - 1, mob_course_start + split_mob)
    return Harvest(go_mob=go_mob, base=base, prim=prim, prim_form=prim_form, harvest=harvest,
                   mob_course_start=mob_course_start, mob_end=mob_end, has_mob_course=has_mob_course, height=height,
                   weight0=weight0, w_mob=w_mob, mob_meas=mob_meas, mob_anthro=mob_anthro,
                   bsa_mob=mosteller(height, w_mob), gcsf=gcsf, plerix=plerix, split_mob=split_mob)


# --------------------------------------------------------------------------- 9. conditioning and transplant

@dataclass
class Transplant:
    go_cond: np.ndarray
    cond_start: np.ndarray
    cond_meas: np.ndarray
    cond_anthro: np.ndarray
    cond_height_missing: np.ndarray
    w_cond: np.ndarray
    crea_missing: np.ndarray
    crea_stale: np.ndarray
    crea_date: np.ndarray
    persist: np.ndarray      # renal impairment persists after induction
    creat_cond: np.ndarray
    crcl: np.ndarray
    low: np.ndarray          # CrCl < 30
    mel: np.ndarray          # melphalan mg/m2 given
    mel_form: np.ndarray     # 0 split m2, 1 single m2, 2 abs single, 3 abs split
    mel_days: np.ndarray
    bsa_cond: np.ndarray
    asct1: np.ndarray
    tandem: np.ndarray
    btw_has: np.ndarray      # response between the transplants recorded
    btw_date: np.ndarray
    btw_resp: np.ndarray
    cond2: np.ndarray
    mel2: np.ndarray
    mel2_split: np.ndarray
    asct2: np.ndarray
    crea2_date: np.ndarray
    creat2: np.ndarray
    anthro2: np.ndarray
    last_asct: np.ndarray


def transplant(rng: np.random.Generator, d: Diagnosis, labs: Labs, risk: Risk, hv: Harvest,
               hd: HdtDecision) -> Transplant:
    """Conditioning with melphalan by renal function (MM04 deviations, missing creatinine,
    weight or height), the ASCT, and a tandem transplant mostly for high risk (MM10)."""
    N = d.dx.size
    mult = d.mult
    go_cond = hv.go_mob & ~hd.no_hdt & ~hd.mrd_strat
    cond_start = hv.harvest + 14 + gamma_days(rng, N, 2.0, 7.0)
    cond_meas = cond_start - rng.integers(0, 6, N)
    cond_anthro = go_cond & (rng.random(N) >= RATES["mm04_anthropometrics_missing"] * mult)
    cond_height_missing = rng.random(N) < 0.05
    w_cond = np.round(hv.weight0 * (1 + rng.normal(0, 0.03, N)), 1)
    u = rng.random(N)
    crea_missing = u < RATES["mm04_creatinine_missing"] * mult
    crea_stale = ~crea_missing & (u < (RATES["mm04_creatinine_missing"] + RATES["mm04_creatinine_stale"]) * mult)
    crea_date = np.where(crea_stale, cond_start - rng.integers(35, 61, N), cond_start - rng.integers(1, 9, N))
    persist = labs.renal & (rng.random(N) < 0.3)
    creat_cond = np.round(np.where(persist, np.clip(rng.lognormal(np.log(280), 0.4, N), 150, 900),
                                   labs.creat_norm * rng.uniform(0.85, 1.1, N)))
    age_crea = completed_age(d.birth, np.where(np.isnan(crea_date), d.dx, crea_date))
    wt_crcl = np.where(cond_anthro, w_cond,
                       np.where(hv.mob_anthro & (cond_start - hv.mob_meas <= 30), hv.w_mob, np.nan))
    crcl = cockcroft_gault(age_crea, wt_crcl, d.male, creat_cond)
    crcl = np.where(crea_missing | crea_stale, np.nan, crcl)
    low = crcl < 30
    u = rng.random(N)
    other_dose = np.array([100.0, 120.0, 160.0, 180.0])[pick(rng, N, [.3, .2, .2, .3])]
    mel = np.where(low, np.where(u < RATES["mm04_full_dose_low_crcl"] * mult, 200.0, 140.0),
                   np.where(u < RATES["mm04_reduced_without_indication"] * mult, 140.0,
                            np.where(u < (RATES["mm04_reduced_without_indication"] + RATES["mm04_other_dose"]) * mult,
                                     other_dose, 200.0)))
    mel_form = np.select([mel == 200, mel == 140],
                         [pick(rng, N, [.5, .35, .08, .07]), pick(rng, N, [.40, .45, .08, .07])],
                         pick(rng, N, [0, .8, .2, 0]))
    mel_days = np.where((mel_form == 0) | (mel_form == 3), 2, 1)
    asct1 = cond_start + mel_days + np.where(mel_days == 1, rng.integers(0, 2, N), 0)

    p_t = np.where(risk.high, 0.18, np.where(risk.std, 0.008, 0.03))
    tandem = go_cond & (rng.random(N) < p_t)
    btw_has = tandem & (rng.random(N) >= 0.08)
    btw_date = asct1 + rng.integers(45, 71, N)
    btw_resp = pick(rng, N, [.04, .16, .45, .27, .06, .02])
    cond2 = asct1 + rng.integers(75, 151, N)
    mel2 = np.where(low, 140.0, 200.0)
    mel2_split = rng.random(N) < 0.6
    asct2 = cond2 + np.where(mel2_split, 2, 1)
    crea2_date = cond2 - rng.integers(1, 8, N)
    creat2 = np.round(np.where(persist, creat_cond * rng.uniform(0.9, 1.1, N),
                               labs.creat_norm * rng.uniform(0.85, 1.1, N)))
    anthro2 = tandem & (rng.random(N) < 0.7)
    return Transplant(go_cond=go_cond, cond_start=cond_start, cond_meas=cond_meas, cond_anthro=cond_anthro,
                      cond_height_missing=cond_height_missing, w_cond=w_cond, crea_missing=crea_missing,
                      crea_stale=crea_stale, crea_date=crea_date, persist=persist, creat_cond=creat_cond, crcl=crcl,
                      low=low, mel=mel, mel_form=mel_form, mel_days=mel_days, bsa_cond=mosteller(hv.height, w_cond),
                      asct1=asct1, tandem=tandem, btw_has=btw_has, btw_date=btw_date, btw_resp=btw_resp, cond2=cond2,
                      mel2=mel2, mel2_split=mel2_split, asct2=asct2, crea2_date=crea2_date, creat2=creat2,
                      anthro2=anthro2, last_asct=np.where(tandem, asct2, asct1))


# --------------------------------------------------------------------------- 10. consolidation

@dataclass
class Consolidation:
    planned: np.ndarray      # consolidation planned at the transplant (given unless progression first)
    reg: np.ndarray          # regimen (the induction's, sometimes another)
    other_regimen: np.ndarray
    cycles: np.ndarray       # cycles given (the course's value unless missing)
    cycles_missing: np.ndarray
    too_many: np.ndarray
    clen: np.ndarray
    start: np.ndarray
    end: np.ndarray          # the course's end date
    spec_end: np.ndarray     # start + cycles x cycle length (the spec's consolidation end)


def consolidation(rng: np.random.Generator, d: Diagnosis, risk: Risk, ind: Induction, tr: Transplant) -> Consolidation:
    """Consolidation after the (last) ASCT (Recs 2, 6): more often from v2.0 and for high
    risk, with the induction's regimen (sometimes another: MM13), usually 1-2 cycles, high
    risk up to 12; some with too many or missing cycles."""
    N = d.dx.size
    start = tr.last_asct + rng.integers(60, 101, N)
    v2c = start >= V2
    p_cons = np.select([v2c & risk.high, v2c, risk.high],
                       [RATES["cons_v2_high"], RATES["cons_v2_standard"], RATES["cons_v1_high"]],
                       RATES["cons_v1_standard"])
    p_cons = np.where(ind.no_ind_reg, RATES["mm13_consolidation_without_induction"], p_cons)
    planned = tr.go_cond & (rng.random(N) < p_cons)
    other = rng.random(N) < np.where(v2c, RATES["mm13_other_regimen_v2"], RATES["mm13_other_regimen_v1"])
    cat = REG_CAT[ind.reg_s]
    alt = np.where(cat == "triplet_pi_imid", REG_INDEX["Vd21"], REG_INDEX["VRd28"])
    reg = np.where(other, alt, ind.reg_s)
    clen = REG_CLEN[reg]
    usual = np.where(risk.high, np.array([2, 4, 6, 8, 12])[pick(rng, N, [.3, .2, .2, .15, .15])],
                     np.where(rng.random(N) < 0.15, 1, 2))
    too_many = rng.random(N) < RATES["mm13_too_many_cycles"] * d.mult
    cycles = np.where(too_many, np.where(risk.high, 14, rng.integers(3, 5, N)), usual).astype(float)
    cycles_missing = rng.random(N) < RATES["mm13_cycles_missing"]
    end = start + (cycles - 1) * clen + REG_LAST[reg] - 1 + rng.integers(0, 5, N)
    return Consolidation(planned=planned, reg=reg, other_regimen=other, cycles=cycles, cycles_missing=cycles_missing,
                         too_many=too_many, clen=clen, start=start, end=end, spec_end=start + cycles * clen)


# --------------------------------------------------------------------------- 11. response after transplant

@dataclass
class PostTransplantResponse:
    has: np.ndarray
    resp: np.ndarray
    date: np.ndarray
    tp_other: np.ndarray     # a progression recorded with timepoint `andet`
    mrd_meas: np.ndarray
    mrd_neg: np.ndarray
    sens: np.ndarray
    pd_post: np.ndarray      # progression before maintenance / consolidation
    consolidated: np.ndarray     # consolidation given
    cons_resp_date: np.ndarray
    cons_resp: np.ndarray


def post_transplant_response(rng: np.random.Generator, tr: Transplant, cons: Consolidation) -> PostTransplantResponse:
    """Response after the (last) ASCT — before a planned consolidation, at about day 100
    otherwise — with MRD in a minority; progression stops consolidation and maintenance."""
    N = tr.go_cond.size
    has = tr.go_cond & (rng.random(N) < 0.95)
    resp = pick(rng, N, [.12, .30, .37, .15, .03, .03])
    date_ = np.select([cons.planned, resp == 5],
                      [tr.last_asct + rng.integers(40, 57, N), tr.last_asct + rng.integers(45, 116, N)],
                      tr.last_asct + rng.integers(85, 116, N))
    mrd_meas = has & (rng.random(N) < np.select([tr.last_asct < D2022, tr.last_asct < V2], [0.03, 0.12], 0.25))
    mrd_neg = mrd_meas & (rng.random(N) < P_NEG_BY_RESP[resp])
    pd_post = has & (resp == 5)
    return PostTransplantResponse(
        has=has, resp=resp, date=date_, tp_other=(resp == 5) & (rng.random(N) < 0.3), mrd_meas=mrd_meas,
        mrd_neg=mrd_neg, sens=pick(rng, N, [.7, .2, .1]), pd_post=pd_post, consolidated=cons.planned & ~pd_post,
        cons_resp_date=cons.end + rng.integers(10, 30, N), cons_resp=pick(rng, N, [.15, .35, .35, .12, .02, .01]))


# --------------------------------------------------------------------------- 12. maintenance

@dataclass
class Maintenance:
    maint: np.ndarray        # maintenance after an ASCT
    deferred: np.ndarray     # maintenance after MRD-guided deferral (no ASCT)
    start: np.ndarray
    mday: np.ndarray         # start day after the last ASCT without consolidation
    late_after_cons: np.ndarray
    kind: np.ndarray         # 0 len, 1 len + dara, 2 dara alone, 3 other drug, 4 len + bortezomib
    other_reg: np.ndarray
    dose: np.ndarray         # lenalidomide mg (NaN missing)
    days: np.ndarray         # 0 1-21, 1 1-28, 2 1-14, -1 missing
    clen: np.ndarray
    end: np.ndarray
    prog: np.ndarray
    progressed: np.ndarray
    crea_date: np.ndarray    # creatinine and weight before the start (MM07 renal dose reduction)
    creat: np.ndarray
    weight: np.ndarray
    weight_date: np.ndarray
    labs_rec: np.ndarray     # both recorded within 30 days before the start
    labs_stale: np.ndarray   # recorded, but earlier
    crcl: np.ndarray


def maintenance(rng: np.random.Generator, d: Diagnosis, labs: Labs, risk: Risk, hv: Harvest, tr: Transplant,
                cons: Consolidation, ptr: PostTransplantResponse, hd: HdtDecision) -> Maintenance:
    """Maintenance: lenalidomide starting about day 60-150 after the last ASCT, or after the
    consolidation; dual maintenance for some high risk from v2.0 (MM09); MM06/MM07
    deviations; 5 mg with CrCl < 50 (creatinine and weight recorded before the start);
    long courses (> 100 cycles) for those who stay on it."""
    N = d.dx.size
    mult = d.mult
    maint = tr.go_cond & ~ptr.pd_post & (rng.random(N) < np.where(tr.last_asct < D2018, 0.55, 0.93))
    deferred = hd.mrd_strat & (rng.random(N) < 0.9)
    u = rng.random(N)
    early = u < RATES["mm06_early"] * mult
    late = ~early & (u < (RATES["mm06_early"] + RATES["mm06_late"]) * mult)
    mday = np.select([early, late], [rng.integers(30, 60, N), rng.integers(151, 261, N)],
                     np.clip(np.round(rng.normal(90, 17, N)), 60, 150))
    late_after_cons = rng.random(N) < RATES["mm06_late_after_consolidation"] * mult
    after_cons = cons.spec_end + np.where(late_after_cons, rng.integers(61, 151, N), rng.integers(4, 41, N))
    start = np.select([ptr.consolidated, deferred], [after_cons, hd.cont_end + rng.integers(14, 31, N)],
                      tr.last_asct + mday)
    maint = maint & ~deferred

    u = rng.random(N)
    v2m = start >= V2
    p_dual = np.select([v2m & risk.high, v2m, risk.high],
                       [RATES["mm09_dual_high_risk_v2"], RATES["mm09_dual_standard_v2"], 0.01], 0.0)
    r_other, r_dara = RATES["mm06_other_drug"] * mult, RATES["mm06_daratumumab_alone"] * mult
    kind = np.select([u < p_dual, u < p_dual + r_other, u < p_dual + r_other + r_dara, risk.high & (u > 0.9)],
                     [1, 3, 2, 4], 0)
    kind = np.where(deferred, 0, kind)
    other_reg = np.array([REG_INDEX["MaintV"], REG_INDEX["MaintIxa"], REG_INDEX["MaintThal"]])[pick(rng, N, [.5, .25, .25])]

    # renal function at the start: creatinine a little higher after HDT, weight a little lower
    crea_date = start - rng.integers(1, 21, N)
    creat = np.round(np.where(tr.persist, tr.creat_cond * rng.uniform(0.85, 1.15, N),
                              labs.creat_norm * rng.uniform(0.95, 1.35, N)))
    weight = np.round(hv.weight0 * (1 + rng.normal(-0.04, 0.04, N)), 1)
    weight_date = start - rng.integers(0, 21, N)
    age = completed_age(d.birth, np.where(np.isnan(crea_date), d.dx, crea_date))
    crcl = cockcroft_gault(age, weight, d.male, creat)
    u = rng.random(N)
    labs_rec = u >= RATES["mm07_maint_labs_missing"]
    labs_stale = ~labs_rec & (u >= RATES["mm07_maint_labs_missing"] / 2)
    crea_date = np.where(labs_stale, start - rng.integers(35, 70, N), crea_date)

    u = rng.random(N)
    cd = np.cumsum([RATES["mm07_dose_5"], RATES["mm07_dose_15"], RATES["mm07_dose_25"], RATES["mm07_dose_missing"]])
    dose = np.select([u < cd[0] * mult, u < cd[1] * mult, u < cd[2] * mult, u < cd[3] * mult],
                     [5.0, 15.0, 25.0, np.nan], 10.0)
    dose = np.where((crcl < 50) & (rng.random(N) < RATES["mm07_renal_dose_5"]), 5.0, dose)
    u = rng.random(N)
    cs = np.cumsum([RATES["mm07_days_1_28"], RATES["mm07_days_1_14_21"], RATES["mm07_days_missing"]])
    days = np.select([u < cs[0] * mult, u < cs[1] * mult, u < cs[2] * mult], [1, 2, -1], 0)
    clen = np.where(days == 2, 21.0, 28.0)
    clen = np.where(rng.random(N) < RATES["mm07_cycle_length_missing"], np.nan, clen)
    dose = np.where(deferred, 10.0, dose)
    days = np.where(deferred, 0, days)
    clen = np.where(deferred, 28.0, clen)

    prog = start + np.round(rng.exponential(1600, N))
    tox = np.where(rng.random(N) < 0.12, start + rng.integers(60, 900, N), np.inf)
    end = np.minimum(np.minimum(prog, tox), start + MAX_CYCLES * 28 - 1)
    return Maintenance(maint=maint, deferred=deferred, start=start, mday=mday, late_after_cons=late_after_cons,
                       kind=kind, other_reg=other_reg, dose=dose, days=days, clen=clen, end=end, prog=prog,
                       progressed=(maint | deferred) & (prog <= tox), crea_date=crea_date, creat=creat, weight=weight,
                       weight_date=weight_date, labs_rec=labs_rec, labs_stale=labs_stale, crcl=crcl)


# --------------------------------------------------------------------------- 13. rehabilitation

@dataclass
class Rehabilitation:
    rehab: np.ndarray
    date: np.ndarray
    before_hdt: np.ndarray


def rehabilitation(rng: np.random.Generator, d: Diagnosis, tr: Transplant) -> Rehabilitation:
    """Referral to rehabilitation around the ASCT (MM11): mostly within 90 days after it,
    some already between diagnosis and HDT, some late, some never."""
    N = d.dx.size
    u = rng.random(N)
    p_none = np.where(tr.asct1 < D2018, 0.2, RATES["mm11_no_rehabilitation"]) * d.mult
    rehab = tr.go_cond & (u >= p_none)
    u = rng.random(N)
    before = u < RATES["mm11_referral_before_hdt"]
    late = ~before & (u < RATES["mm11_referral_before_hdt"] + RATES["mm11_late_rehabilitation"])
    room = np.maximum(tr.asct1 - 7 - (d.dx + 14), 0)
    date_ = np.select([before, late], [d.dx + 14 + np.floor(rng.random(N) * room), tr.asct1 + rng.integers(91, 200, N)],
                      tr.asct1 + rng.integers(7, 91, N))
    return Rehabilitation(rehab=rehab, date=date_, before_hdt=before)


# --------------------------------------------------------------------------- 14. other lines of treatment

@dataclass
class OtherLines:
    nt_reg: np.ndarray       # first line off the transplant pathway
    nt_start: np.ndarray
    nt_end: np.ndarray
    nt_cycles: np.ndarray
    nt_clen: np.ndarray
    nt_prog: np.ndarray
    nt_resp_date: np.ndarray
    nt_resp: np.ndarray
    nt_has_resp: np.ndarray
    prog_any: np.ndarray     # progression after maintenance or after the first line
    later: np.ndarray
    later_reg: np.ndarray
    later_start: np.ndarray
    later_end: np.ndarray
    later_cycles: np.ndarray


def other_lines(rng: np.random.Generator, p: Plan, mt: Maintenance) -> OtherLines:
    """First line off the transplant pathway (VMP, Rd, DRd ...; continuous ones until
    progression) and a later line after progression."""
    N = p.tx.size
    nt = p.nt
    era_nt = np.select([p.nt_start < D2019, p.nt_start < D2021], [0, 1], 2)
    nt_reg = choose_regimens(rng, np.where(nt, era_nt, -1), ref.NONTX_MIX, N)
    nt_reg_s = np.where(nt_reg < 0, 0, nt_reg)
    nt_clen = REG_CLEN[nt_reg_s]
    continuous = np.isin(nt_reg, [REG_INDEX["Rd28"], REG_INDEX["DRd28"]])
    nt_fixed = np.where(nt_clen >= 42, rng.integers(4, 10, N), rng.integers(6, 10, N)).astype(float)
    nt_prog = p.nt_start + np.round(rng.exponential(np.where(nt_reg == REG_INDEX["DRd28"], 1400, 750), N))
    nt_end_fixed = p.nt_start + (nt_fixed - 1) * nt_clen + REG_LAST[nt_reg_s] - 1 + rng.integers(0, 15, N)
    nt_prog = np.where(continuous, nt_prog, np.maximum(nt_prog, nt_end_fixed + 30))
    nt_end = np.where(continuous, np.minimum(nt_prog, p.nt_start + MAX_CYCLES * nt_clen - 1), nt_end_fixed)
    nt_cycles = np.where(continuous, np.ceil((nt_end - p.nt_start + 1) / nt_clen), nt_fixed)
    nt_resp_date = p.nt_start + rng.integers(100, 151, N)
    nt_resp = pick(rng, N, [.04, .12, .34, .33, .10, .07])
    nt_has_resp = nt & (rng.random(N) < 0.85)

    prog_any = np.where(mt.progressed, mt.prog, np.where(nt, nt_prog, np.nan))
    later = (mt.progressed | nt) & (rng.random(N) < np.where(mt.progressed, 0.9, 0.45))
    later_reg = choose_regimens(rng, np.where(later, 0, -1), {0: ref.LATER_LINE_MIX}, N)
    later_start = prog_any + rng.integers(7, 29, N)
    later_end = np.minimum(later_start + np.round(rng.exponential(500, N)) + 20, later_start + MAX_CYCLES * 28 - 1)
    return OtherLines(nt_reg=nt_reg, nt_start=p.nt_start, nt_end=nt_end, nt_cycles=nt_cycles, nt_clen=nt_clen,
                      nt_prog=nt_prog, nt_resp_date=nt_resp_date, nt_resp=nt_resp, nt_has_resp=nt_has_resp,
                      prog_any=prog_any, later=later, later_reg=later_reg, later_start=later_start,
                      later_end=later_end, later_cycles=np.ceil((later_end - later_start + 1) / 28))


# --------------------------------------------------------------------------- 15. deaths

@dataclass
class Deaths:
    death: np.ndarray        # NaN when alive at the extract
    dead: np.ndarray
    cut: np.ndarray          # events after this day are not in the delivery (death or extract)
    ev_state: np.ndarray     # evaluation as recorded (not yet recorded when after the cut)
    reason: np.ndarray
    mrd_strat: np.ndarray


def deaths(rng: np.random.Generator, d: Diagnosis, p: Plan, tr: Transplant, hd: HdtDecision, X: int) -> Deaths:
    """Survival (Weibull: median ~11 years on the transplant pathway, ~3.5 otherwise), early
    deaths, transplant-related deaths within 100 days (MM14); the cut at death or extract."""
    N = d.dx.size
    shape = np.where(p.tx, 1.5, np.where(d.in_scope, 1.2, 1.0))
    scale = np.where(p.tx, 14.0, np.where(d.in_scope, 4.75, 20.0)) * 365.25
    death = d.dx + np.round(scale * rng.weibull(1.0, N) ** (1.0 / shape))
    early = p.tx & (rng.random(N) < RATES["death_early_candidate"])
    death = np.where(early, np.minimum(death, d.dx + rng.integers(30, 421, N)), death)
    trm = tr.go_cond & (rng.random(N) < RATES["death_transplant_related"])
    death = np.where(trm, np.minimum(death, tr.asct1 + rng.integers(3, 101, N)), death)
    early_nt = d.in_scope & ~p.tx & (rng.random(N) < 0.08)
    death = np.where(early_nt, np.minimum(death, d.dx + rng.integers(3, 181, N)), death)
    death = np.maximum(death, d.dx + 1)
    dead = death <= X
    death = np.where(dead, death, np.nan)
    cut = np.where(dead, death, X).astype(float)
    # evaluation not yet recorded (pending) or after death
    ev_late = hd.ev_date > cut
    return Deaths(death=death, dead=dead, cut=cut,
                  ev_state=np.where(ev_late & (p.ev_state == 0), 2, p.ev_state),
                  reason=np.where(ev_late, -1, hd.reason), mrd_strat=hd.mrd_strat & ~ev_late)


# --------------------------------------------------------------------------- the whole pathway

@dataclass
class Pathway:
    """Every step's result, for writing the tables and for the statistics."""

    N: int
    X: int
    d: Diagnosis
    plan: Plan
    labs: Labs
    risk: Risk
    ind: Induction
    ir: InductionResponse
    hd: HdtDecision
    hv: Harvest
    tr: Transplant
    cons: Consolidation
    ptr: PostTransplantResponse
    mt: Maintenance
    rh: Rehabilitation
    ol: OtherLines
    dth: Deaths


def simulate_pathway(rng: np.random.Generator, N: int, X: int) -> Pathway:
    """Run the steps in order with one random generator (deterministic per seed)."""
    d = diagnose(rng, N, X)
    plan = evaluate_for_hdt(rng, d)
    labs = diagnostic_labs(rng, d)
    risk = cytogenetics_and_risk(rng, d, plan, labs)
    ind = induction(rng, d, plan, risk)
    ir = induction_response(rng, plan, ind)
    hd = hdt_decision(rng, d, plan, risk, ind, ir, X)
    hv = mobilisation(rng, d, plan, ind, ir, hd)
    tr = transplant(rng, d, labs, risk, hv, hd)
    cons = consolidation(rng, d, risk, ind, tr)
    ptr = post_transplant_response(rng, tr, cons)
    mt = maintenance(rng, d, labs, risk, hv, tr, cons, ptr, hd)
    rh = rehabilitation(rng, d, tr)
    ol = other_lines(rng, plan, mt)
    dth = deaths(rng, d, plan, tr, hd, X)
    return Pathway(N=N, X=X, d=d, plan=plan, labs=labs, risk=risk, ind=ind, ir=ir, hd=hd, hv=hv, tr=tr, cons=cons,
                   ptr=ptr, mt=mt, rh=rh, ol=ol, dth=dth)
