"""Typed tables of a simulated myeloma cohort (before formatting).

:mod:`pipelines.synth.pathway` simulates every patient's pathway step by step (numpy
arrays, one per event); this module writes the events into typed polars tables (one
``_emit_*`` function per file), truncates them at the patient's death and at the extract
date, and attaches the statistics of :mod:`pipelines.synth.stats`. Formatting (Danish
conventions, alternative spellings) and dirty rows are added later by
:mod:`pipelines.synth.render` and :mod:`pipelines.synth.dirty`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from . import reference as ref
from .pathway import D2021, RATES, REG_INDEX, REG_KEYS, Pathway, dnum, pick, simulate_pathway, ymd
from .stats import pathway_stats


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
# MRD sensitivities as written: decimal comma, or E notation as R's write.csv2 / SAS write them
# (valid in format v2). The first three are SENS_VALUES 10^-5, 10^-6, 10^-4.
SENSITIVITIES = ("0,00001", "0,000001", "0,0001", "1e-05", "1E-5", "1,0E-05", "1e-06", "1E-6", "1,5E-06", "1e-04", "1E-4")

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
S_IND1, S_IND2, S_SALV, S_MOB, S_COND1, S_CONS, S_COND2, S_MAINT, S_LATER, S_NT, S_CONT = range(11)
N_SLOTS = 11

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




def _label(rng, reg: np.ndarray) -> np.ndarray:
    r = np.where(reg < 0, 0, reg)
    return REG_LABEL0[r] + np.floor(rng.random(reg.size) * REG_NLABEL[r]).astype(np.int64)


def _spell_sensitivity(rng, sens: np.ndarray) -> np.ndarray:
    """Index into SENSITIVITIES: the decimal-comma spelling, or (RATES["mrd_e_notation"]) E notation."""
    n = sens.size
    e = rng.random(n) < RATES["mrd_e_notation"]
    variant = rng.integers(0, 6, n)
    e_idx = np.select([sens == 0, sens == 1], [3 + variant % 3, 6 + variant % 3], 9 + variant % 2)
    return np.where(e, e_idx, sens)


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

def simulate(n: int, seed: int, extract: date) -> Cohort:
    """Simulate ``n`` patients (deterministic per seed): the pathway steps, then the tables."""
    rng = np.random.default_rng(seed)
    X = dnum(extract)
    N = int(n)
    P = simulate_pathway(rng, N, X)
    n_spare = max(64, N // 20)
    spare_birth = rng.integers(dnum(date(1930, 1, 1)), dnum(date(1988, 12, 31)), n_spare).astype(float)
    spare_male = rng.random(n_spare) < 0.55
    all_cpr = make_cprs(rng, np.concatenate([P.d.birth, spare_birth]), np.concatenate([P.d.male, spare_male]))
    cpr, spare_cpr = all_cpr[:N], all_cpr[N:]

    T = {k: Table(v) for k, v in SCHEMAS.items() if k != "drugs"}
    D = Table(SCHEMAS["drugs"])
    _emit_patients_and_diagnoses(T, P, rng)
    _emit_labs(T["labs"], P, rng)
    _emit_anthropometrics(T["anthropometrics"], P, rng)
    _emit_cytogenetics(T["cytogenetics"], P, rng)
    _emit_courses(Courses(T["treatment_courses"], D, N), P, rng)
    _emit_procedures(T["procedures"], P, rng)
    _emit_responses(T["responses"], P, rng)

    tables = {k: t.frame() for k, t in T.items()}
    tables["drugs"] = D.frame()
    tables = _truncate(tables, P.dth.cut, P.dth.death, X)
    tables["drugs"] = _finish_drugs(tables["drugs"], rng)
    stats = pathway_stats(P)
    return Cohort(n=N, extract=X, tables=tables, birth=P.d.birth, death=P.dth.death, cpr=cpr, spare_cpr=spare_cpr,
                  spare_birth=spare_birth, spare_male=spare_male, stats=stats)


# --------------------------------------------------------------------------- tables from the pathway

def _emit_patients_and_diagnoses(T: dict[str, Table], P: Pathway, rng: np.random.Generator) -> None:
    """patients.csv; the index diagnosis with the HDT evaluation, a later re-registration and
    an earlier MGUS / plasmacytoma row for a few."""
    N, d, dth = P.N, P.d, P.dth
    pid = np.arange(N)
    T["patients"].add(np.ones(N, bool), _pid=pid, sex=Cat(np.where(d.male, 0, 1), ("M", "K")),
                      birth_date=d.birth, death_date=dth.death)
    ev_state = dth.ev_state
    cand_j = P.plan.cand & ~dth.mrd_strat
    cand_cat = np.where(ev_state == 0, np.where(cand_j, 0, 1), -1)
    reason_cat = np.where((ev_state == 0) & ~cand_j, dth.reason, -1)
    oos_dd = d.icd == 3
    T["diagnoses"].add(np.ones(N, bool), _pid=pid, diagnosis_date=d.dx, icd10=Cat(d.icd, ref.ICD10),
                       department_code=Cat(d.dept, DEP_CODES), ecog_ps=np.where(oos_dd, np.nan, d.ecog),
                       comorbidity=Cat(np.where(oos_dd, -1, d.comorb), ref.COMORBIDITY),
                       iss_stage=np.where(d.in_scope, d.iss, np.nan),
                       extramedullary=Cat(np.where(oos_dd, -1, d.emd), ref.EXTRAMEDULLARY),
                       hdt_evaluated=Cat(np.where(ev_state == 2, -1, ev_state), JN),
                       hdt_evaluation_date=np.where(ev_state == 0, P.hd.ev_date, np.nan),
                       hdt_candidate=Cat(cand_cat, JN),
                       hdt_not_candidate_reason=Cat(reason_cat, ref.NOT_CANDIDATE_REASONS))
    rereg = d.in_scope & (rng.random(N) < 0.015)
    T["diagnoses"].add(rereg, _pid=pid, diagnosis_date=d.dx + rng.integers(60, 901, N),
                       icd10=Cat(np.where(rng.random(N) < 0.9, 0, 1), ref.ICD10),
                       department_code=Cat(rng.choice(len(d.dept_weights), N, p=d.dept_weights), DEP_CODES),
                       ecog_ps=np.minimum(d.ecog + rng.integers(0, 2, N), 4), comorbidity=Cat(d.comorb, ref.COMORBIDITY),
                       iss_stage=d.iss, extramedullary=Cat(d.emd, ref.EXTRAMEDULLARY))
    prior = d.in_scope & (rng.random(N) < 0.01)
    T["diagnoses"].add(prior, _pid=pid, diagnosis_date=d.dx - rng.integers(180, 2501, N),
                       icd10=Cat(np.where(rng.random(N) < 0.7, 3, 2), ref.ICD10),
                       department_code=Cat(d.dept, DEP_CODES), ecog_ps=np.minimum(d.ecog, 1),
                       comorbidity=Cat(d.comorb, ref.COMORBIDITY))


A_CREA, A_B2M, A_LDH, A_ALB, A_CPC = range(5)          # ref.ANALYSES
U_UMOL, U_MGDL, U_MGL, U_UL, U_GL, U_PCT = range(6)     # UNITS


def _emit_labs(L: Table, P: Pathway, rng: np.random.Generator) -> None:
    """labs.csv: the diagnostic panel, creatinine (and albumin, B2M, LDH) before each
    conditioning, creatinine before maintenance (stale for a few)."""
    N, labs, tr, mt = P.N, P.labs, P.tr, P.mt
    pid = np.arange(N)
    crea_unit = Cat(np.where(labs.creat_mgdl, U_MGDL, U_UMOL), UNITS)

    def crea_value(v):
        return np.where(labs.creat_mgdl, np.round(v / 88.4, 2), v)

    def add(mask, when, analysis, value, unit):
        L.add(mask, _pid=pid, sample_date=when, analysis=Cat(np.full(N, analysis), ref.ANALYSES), value=value,
              unit=unit if isinstance(unit, Cat) else Cat(np.full(N, unit), UNITS))

    add(labs.has_creat, labs.lab_dx, A_CREA, crea_value(labs.creat), crea_unit)
    add(labs.has_b2m, labs.lab_dx, A_B2M, labs.b2m, U_MGL)
    add(labs.has_ldh, labs.lab_dx, A_LDH, labs.ldh, U_UL)
    add(labs.has_alb, labs.lab_dx, A_ALB, labs.albumin, U_GL)
    add(labs.has_cpc, labs.lab_dx, A_CPC, labs.cpc, U_PCT)
    go = tr.go_cond
    add(go & ~tr.crea_missing, tr.crea_date, A_CREA, crea_value(tr.creat_cond), crea_unit)
    add(go & (rng.random(N) < 0.9), tr.cond_start - rng.integers(1, 9, N), A_ALB, np.round(rng.uniform(33, 46, N)), U_GL)
    add(go & (rng.random(N) < 0.5), tr.cond_start - rng.integers(9, 20, N), A_B2M, np.round(rng.uniform(1.3, 3.2, N), 1), U_MGL)
    add(go & (rng.random(N) < 0.5), tr.cond_start - rng.integers(9, 20, N) - 20, A_LDH,
        np.round(rng.uniform(130, 260, N)), U_UL)
    add(tr.tandem, tr.crea2_date, A_CREA, crea_value(tr.creat2), crea_unit)
    # before maintenance: within 30 days, or (stale, 35-69 days before) only where that stays clear of
    # the creatinine before the conditioning (natural keys stay unique)
    far = ~mt.maint | (mt.start - tr.last_asct > 75)
    add((mt.maint | mt.deferred) & (mt.labs_rec | (mt.labs_stale & far)), mt.crea_date, A_CREA, crea_value(mt.creat),
        crea_unit)


def _emit_anthropometrics(An: Table, P: Pathway, rng: np.random.Generator) -> None:
    """anthropometrics.csv: at diagnosis (half), before mobilisation, conditioning(s) and
    maintenance (weight only)."""
    N, d, hv, tr, mt = P.N, P.d, P.hv, P.tr, P.mt
    pid = np.arange(N)
    adx = d.in_scope & (rng.random(N) < 0.5)
    An.add(adx, _pid=pid, measure_date=d.dx + rng.integers(-3, 8, N),
           height_cm=np.where(rng.random(N) < 0.6, hv.height, np.nan),
           weight_kg=np.round(hv.weight0 * (1 + rng.normal(0, 0.04, N)), 1))
    An.add(hv.mob_anthro, _pid=pid, measure_date=hv.mob_meas, height_cm=hv.height, weight_kg=hv.w_mob)
    An.add(tr.cond_anthro, _pid=pid, measure_date=tr.cond_meas,
           height_cm=np.where(tr.cond_height_missing, np.nan, hv.height), weight_kg=tr.w_cond)
    An.add(tr.anthro2, _pid=pid, measure_date=tr.cond2 - rng.integers(0, 6, N), height_cm=hv.height,
           weight_kg=np.round(tr.w_cond * (1 + rng.normal(0, 0.02, N)), 1))
    An.add((mt.maint | mt.deferred) & mt.labs_rec, _pid=pid, measure_date=mt.weight_date, weight_kg=mt.weight)


def _emit_cytogenetics(C: Table, P: Pathway, rng: np.random.Generator) -> None:
    """cytogenetics.csv: one row per aberration tested (TP53 later than the FISH panel)."""
    N, r = P.N, P.risk
    pid = np.arange(N)

    def cyto(tmask, pos, aber_idx, frac=None, when=r.cyto_date):
        f = frac if frac is not None else np.where(rng.random(N) < 0.75, np.round(rng.uniform(10, 95, N)), np.nan)
        C.add(tmask, _pid=pid, sample_date=when, aberration=Cat(np.full(N, aber_idx), ref.ABERRATIONS),
              result=Cat(np.where(pos, 0, 1), ("pos", "neg")), clonal_fraction_pct=np.where(pos, f, np.nan))

    cyto(r.t_del17p, r.del17p, 0, r.frac17)
    cyto(r.t_t414, r.t414, 1)
    cyto(r.t_1416, r.t1416, 2)
    cyto(r.t_1420, r.t1420, 3)
    cyto(r.t_gain, r.gain | (r.amp & ~r.t_amp), 4)
    cyto(r.t_amp, r.amp, 5)
    cyto(r.t_del1p, r.del1p, 6)
    cyto(r.t_del1p_bi, r.del1p_bi, 7)
    cyto(r.t_tp53, r.tp53, 8, frac=np.full(N, np.nan), when=r.tp53_date)


class Courses:
    """Adds course rows (treatment_courses) and parametric drug rows (drugs) by slot."""

    def __init__(self, K: Table, D: Table, N: int):
        self.K, self.D, self.N = K, D, N
        self.pid = np.arange(N)

    def course(self, mask, slot, phase, regimen_label, start, end, cycles, clen, tmpl=None) -> None:
        self.K.add(mask, _pid=self.pid, _ck=slot * self.N + self.pid, _slot=slot,
                   phase=Cat(np.full(self.N, phase), ref.PHASES), regimen=Cat(regimen_label, LABELS), start_date=start,
                   end_date=end, cycles=cycles, cycle_length_days=clen, _tmpl=tmpl)

    def drug(self, mask, slot, order, atc, dose, unit, days) -> None:
        self.D.add(mask, _ck=slot * self.N + self.pid, _dord=order, atc=atc, dose=dose, dose_unit=unit, days=days)


PH_IND, PH_MOB, PH_COND, PH_CONS, PH_MAINT, PH_OTHER = range(6)      # ref.PHASES


def _reg(r: np.ndarray) -> Cat:
    """A regimen template column (its drugs are expanded in _truncate)."""
    return Cat(np.where(r < 0, 0, r), REG_KEYS)


def _emit_courses(c: Courses, P: Pathway, rng: np.random.Generator) -> None:
    """treatment_courses.csv and drugs.csv: induction (with the VCd first course of a split or
    bridged induction, and the continued induction after an MRD-guided deferral), salvage,
    mobilisation, conditioning(s), consolidation, maintenance, first and later lines off the
    transplant pathway."""
    N, ind, ir, hd, hv, tr, cons, mt, ptr, ol = P.N, P.ind, P.ir, P.hd, P.hv, P.tr, P.cons, P.mt, P.ptr, P.ol
    # induction
    vcd21 = np.full(N, REG_INDEX["VCd21"])
    c.course(ind.has_ind & (ind.split | ind.bridge), S_IND1, PH_IND, _label(rng, vcd21), ind.s1, ind.e1, ind.c1, 21.0,
             _reg(vcd21))
    c.course(ind.has_ind, S_IND2, PH_IND, _label(rng, ind.reg), ind.s2, ind.ind_end,
             np.where(ind.cycles_missing, np.nan, ind.c2), ind.clen, _reg(ind.reg))
    c.course(ir.pd, S_SALV, PH_OTHER, _label(rng, ir.salv_reg), ir.salv_start, ir.salv_end, 4.0, 28.0, _reg(ir.salv_reg))
    c.course(hd.mrd_strat, S_CONT, PH_IND, _label(rng, ind.reg), hd.cont_start, hd.cont_end, hd.cont_cycles, ind.clen,
             _reg(ind.reg))

    # mobilisation: cyclophosphamide in its several spellings, G-CSF, plerixafor
    prim, form = hv.prim, hv.prim_form
    mob_label = np.select([prim == 3, hv.gcsf & hv.plerix],
                          [np.where(hv.plerix, L_["G-CSF + plerixafor"], L_["G-CSF"]), L_["Cyclofosfamid + G-CSF"]],
                          np.where(rng.random(N) < 0.5, L_["Cyclo"], L_["CY 2 g/m2"]))
    c.course(hv.has_mob_course, S_MOB, PH_MOB, mob_label, hv.mob_course_start, hv.mob_end, 1.0,
             hv.mob_end - hv.mob_course_start + 1)
    abs_cy = np.round(2000 * hv.bsa_mob / 10) * 10
    wrong = pick(rng, N, [.3, .3, .2, .1, .1])
    wrong_dose = np.array([1.5, 3.0, 4.0, 1000.0, 1.0])[wrong]
    wrong_unit = np.where(wrong == 3, 2, 1)
    cy_dose = np.select([prim == 4, form == 0, form == 1, form == 2, form == 3],
                        [wrong_dose, 2.0, 2000.0, abs_cy, 1.0], 1000.0)
    cy_unit = np.select([prim == 4, form == 0, form == 1, form == 2, form == 3],
                        [wrong_unit, 1, 2, 0, 1], 2)       # 0 mg, 1 g/m2, 2 mg/m2, 3 mg/kg
    du = ("mg", "g/m2", "mg/m2", "mg/kg")
    dv = ("1", "1-2", "5-12", "1-5", "11", "4", "1-21", "1-28", "1-14")
    c.drug(hv.has_mob_course & (prim != 3), S_MOB, 0, "L01AA01", cy_dose, Cat(cy_unit, du),
           Cat(np.where(hv.split_mob, 1, 0), dv))
    gcsf_kg = rng.random(N) < 0.5
    c.drug(hv.gcsf, S_MOB, 1, "L03AA02", np.where(gcsf_kg, 0.01, 0.48), Cat(np.where(gcsf_kg, 3, 0), du),
           Cat(np.where(prim == 3, 3, 2), dv))
    c.drug(hv.plerix, S_MOB, 2, "L03AX16", 0.24, "mg/kg", Cat(np.where(prim == 3, 5, 4), dv))

    # conditioning
    mel, mel_form, mel_days = tr.mel, tr.mel_form, tr.mel_days
    cond_label = np.select([(mel == 200) & (rng.random(N) < 0.4), (mel == 140) & (rng.random(N) < 0.4)],
                           [L_["Mel200"], L_["Mel140"]], np.where(rng.random(N) < 0.7, L_["HD-Mel"], L_["HDM"]))
    c.course(tr.go_cond, S_COND1, PH_COND, cond_label, tr.cond_start, tr.cond_start + mel_days - 1, 1.0,
             mel_days.astype(float))
    mel_dose = np.select([mel_form == 0, mel_form == 1, mel_form == 2],
                         [mel / 2, mel, np.round(mel * tr.bsa_cond)], np.round(mel * tr.bsa_cond / 2))
    c.drug(tr.go_cond, S_COND1, 0, "L01AA03", mel_dose, Cat(np.where(mel_form >= 2, 0, 2), du),
           Cat(np.where(mel_days == 2, 1, 0), dv))
    c.course(tr.tandem, S_COND2, PH_COND, np.where(tr.mel2 == 140, L_["Mel140"], L_["HD-Mel"]), tr.cond2,
             tr.cond2 + np.where(tr.mel2_split, 1, 0), 1.0, np.where(tr.mel2_split, 2.0, 1.0))
    c.drug(tr.tandem, S_COND2, 0, "L01AA03", np.where(tr.mel2_split, tr.mel2 / 2, tr.mel2), "mg/m2",
           Cat(np.where(tr.mel2_split, 1, 0), dv))

    # consolidation: the induction's regimen (or another), cycles sometimes missing
    c.course(ptr.consolidated, S_CONS, PH_CONS, _label(rng, cons.reg), cons.start, cons.end,
             np.where(cons.cycles_missing, np.nan, cons.cycles), cons.clen, _reg(cons.reg))

    # maintenance
    kind = mt.kind
    on = mt.maint | mt.deferred
    len_label = np.array([L_["Len"], L_["Lenalidomid"], L_["R"]])[pick(rng, N, [.5, .3, .2])]
    maint_label = np.select([kind == 1, kind == 4, kind == 0], [L_["Dara-R"], L_["Len + Velcade"], len_label],
                            _label(rng, np.where(kind == 2, REG_INDEX["MaintDara"], mt.other_reg)))
    m_tmpl = np.where(kind == 2, REG_INDEX["MaintDara"], np.where(kind == 3, mt.other_reg, -1))
    m_clen = np.where((kind == 0) | (kind == 1) | (kind == 4), mt.clen, 28.0)
    m_planned = np.ceil((mt.end - mt.start + 1) / np.where(np.isnan(m_clen), 28.0, m_clen))
    c.course(on, S_MAINT, PH_MAINT, maint_label, mt.start, mt.end, m_planned, m_clen,
             Cat(np.where(m_tmpl < 0, -1, m_tmpl), REG_KEYS))
    with_len = on & np.isin(kind, [0, 1, 4])
    len_days_idx = np.array([6, 7, 8, -1])[np.where(mt.days < 0, 3, mt.days)]   # 1-21, 1-28, 1-14, missing
    c.drug(with_len, S_MAINT, 0, "L04AX04", mt.dose, "mg", Cat(len_days_idx, dv))
    c.drug(on & (kind == 1), S_MAINT, 1, "L01FC01", 1800.0, "mg", "1")
    c.drug(on & (kind == 4), S_MAINT, 1, "L01XG01", 1.3, "mg/m2", "1,15")

    # first line off the transplant pathway, and later lines
    c.course(P.plan.nt, S_NT, PH_IND, _label(rng, ol.nt_reg), ol.nt_start, ol.nt_end, ol.nt_cycles, ol.nt_clen,
             _reg(ol.nt_reg))
    c.course(ol.later, S_LATER, PH_OTHER, _label(rng, ol.later_reg), ol.later_start, ol.later_end, ol.later_cycles, 28.0,
             _reg(ol.later_reg))


def _emit_procedures(Pr: Table, P: Pathway, rng: np.random.Generator) -> None:
    """procedures.csv: harvest, ASCT(s), referral to rehabilitation."""
    N, hv, tr, rh = P.N, P.hv, P.tr, P.rh
    pid = np.arange(N)
    Pr.add(hv.go_mob, _pid=pid, procedure_date=hv.harvest, procedure="leukaferese")
    Pr.add(tr.go_cond, _pid=pid, procedure_date=tr.asct1, procedure="asct",
           sks_code=Cat(np.where(rng.random(N) < 0.93, 0, -1), ("BOQF0",)))
    Pr.add(tr.tandem, _pid=pid, procedure_date=tr.asct2, procedure="asct", sks_code="BOQF0")
    Pr.add(rh.rehab, _pid=pid, procedure_date=rh.date, procedure="rehabilitering")


def _emit_responses(R: Table, P: Pathway, rng: np.random.Generator) -> None:
    """responses.csv: after induction (MRD for some), between tandem transplants, after the
    (last) ASCT, after consolidation, after first line off the pathway, and progression."""
    N, ir, hd, tr, ptr, mt, ol = P.N, P.ir, P.hd, P.tr, P.ptr, P.mt, P.ol
    pid = np.arange(N)
    rs, tps = ref.RESPONSES, ref.TIMEPOINTS

    def mrd_cols(meas, neg, sens):
        return dict(mrd=Cat(np.where(meas, np.where(neg, 0, 1), -1), ("neg", "pos")),
                    mrd_sensitivity=Cat(np.where(meas, _spell_sensitivity(rng, sens), -1), SENSITIVITIES))

    R.add(ir.has, _pid=pid, assessment_date=ir.date, timepoint=tps[0], response=Cat(ir.resp, rs),
          **mrd_cols(hd.mrd_meas, hd.mrd_neg, ir.sens))
    R.add(tr.btw_has, _pid=pid, assessment_date=tr.btw_date, timepoint=tps[1], response=Cat(tr.btw_resp, rs))
    R.add(ptr.has, _pid=pid, assessment_date=ptr.date, timepoint=Cat(np.where(ptr.tp_other, 3, 1), tps),
          response=Cat(ptr.resp, rs), **mrd_cols(ptr.mrd_meas, ptr.mrd_neg, ptr.sens))
    R.add(ptr.consolidated, _pid=pid, assessment_date=ptr.cons_resp_date, timepoint=tps[2],
          response=Cat(ptr.cons_resp, rs))
    R.add(ol.nt_has_resp, _pid=pid, assessment_date=ol.nt_resp_date, timepoint=tps[0], response=Cat(ol.nt_resp, rs))
    R.add(mt.progressed | (P.plan.nt & (ol.prog_any > ol.nt_resp_date + 20)), _pid=pid, assessment_date=ol.prog_any,
          timepoint=tps[3], response="PD")


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
    cno_of_ck = np.full(N_SLOTS * N, -1, dtype=np.int64)
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
