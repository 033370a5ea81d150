"""Statistics of a simulated cohort: how Danish it looks, and the scenarios it plants.

``realism``: median age at diagnosis, the shares transplanted, HDT candidates and with MRD
measured, and the induction regimen mix by year of the induction start.

``planted``: per indicator, how many patients were given each scenario, counted among the
patients whose relevant events are in the delivery (not truncated by death or the extract
date). The counts follow the generator's own plan, written as the indicator outcome the
scenario is meant to produce (``indicators.md`` version 2); they approximate what the
pipeline computes and are no substitute for it (a few patients are decided otherwise by
details the plan does not track, e.g. a course cut short by death).
"""

from __future__ import annotations

import numpy as np

from .pathway import (
    CATEGORIES, REG_CAT, REG_CAT_I, REG_CFZ, REG_QUAD, SENS_VALUES, V2, Pathway, ymd,
)

LEN_KINDS = (0, 1, 4)      # maintenance kinds with lenalidomide


def _share(k, n) -> float | None:
    return round(float(k) / float(n), 4) if n else None


def _count(**codes) -> dict[str, int]:
    return {code: int(mask.sum()) for code, mask in codes.items()}


def pathway_stats(P: Pathway) -> dict:
    d, risk, tr = P.d, P.risk, P.tr
    N = P.N
    in_scope = d.in_scope
    asct = tr.go_cond & _seen(P, tr.asct1)
    return {
        "patients": N,
        "in_scope": int(in_scope.sum()),
        "realism": realism(P),
        "men_share": _share(d.male.sum(), N),
        "risk_high_share_in_scope": _share((risk.high & in_scope).sum(), in_scope.sum()),
        "risk_high_share_transplanted": _share((risk.high & asct).sum(), asct.sum()),
        "deaths": int(P.dth.dead.sum()),
        "planted": planted(P),
    }


def _seen(P: Pathway, t: np.ndarray) -> np.ndarray:
    """The event happens and is in the delivery (on or before death and the extract date)."""
    return ~np.isnan(t) & (t <= P.dth.cut)


# --------------------------------------------------------------------------- realism

def realism(P: Pathway) -> dict:
    """The numbers to compare with Denmark (denominator: patients with a myeloma diagnosis,
    DC900/DC901, unless said otherwise)."""
    d, ind, tr, ir, hd, ptr = P.d, P.ind, P.tr, P.ir, P.hd, P.ptr
    scope = d.in_scope
    n_scope = int(scope.sum())
    asct = scope & tr.go_cond & _seen(P, tr.asct1)
    cand_j = scope & (P.dth.ev_state == 0) & P.plan.cand & ~P.dth.mrd_strat
    mrd = scope & ((hd.mrd_meas & ir.has & _seen(P, ir.date)) | (ptr.mrd_meas & ptr.has & _seen(P, ptr.date)))
    cons = scope & P.ptr.consolidated & _seen(P, P.cons.start)

    # induction regimen mix on the transplant pathway, predominant course, by year of the first induction start
    has = P.plan.tx & ind.has_ind & _seen(P, ind.s1)
    year = np.where(has, ymd(np.where(has, ind.s1, 0))[0], 0)
    cat = REG_CAT_I[ind.pred_reg]
    mix: dict[str, dict] = {}
    groups = [(str(y), has & (year == y)) for y in np.unique(year[has]).tolist()]
    groups += [("2026 before v2.0", has & (year == 2026) & (ind.s1 < V2)), ("from v2.0 (2026-04-07)", has & (ind.s1 >= V2))]
    for label, sel in groups:
        n = int(sel.sum())
        counts = np.bincount(cat[sel], minlength=len(CATEGORIES))
        mix[label] = {"n": n, **{c: _share(counts[i], n) for i, c in enumerate(CATEGORIES)}}
    return {
        "myeloma_patients": n_scope,
        "median_age_at_diagnosis": float(np.median(d.age_dx[scope])) if n_scope else None,
        "age_le_70_share": _share((d.young & scope).sum(), n_scope),
        "transplanted": {"n": int(asct.sum()), "share": _share(asct.sum(), n_scope),
                         "share_of_all_patients": _share(asct.sum(), P.N)},
        "hdt_candidates": {"n": int(cand_j.sum()), "share": _share(cand_j.sum(), n_scope)},
        "mrd_measured": {"n": int(mrd.sum()), "share": _share(mrd.sum(), n_scope),
                         "share_of_transplanted": _share((mrd & asct).sum(), asct.sum())},
        "consolidated": {"n": int(cons.sum()), "share_of_transplanted": _share(cons.sum(), asct.sum())},
        "induction_regimen_mix_by_year": mix,
    }


# --------------------------------------------------------------------------- planted scenarios

def planted(P: Pathway) -> dict[str, dict[str, int]]:
    """Per indicator: patients given each scenario (meant outcome as the reason code)."""
    X = P.X
    d, plan, risk, ind, ir, hd, hv, tr, cons, ptr, mt, rh, dth = (
        P.d, P.plan, P.risk, P.ind, P.ir, P.hd, P.hv, P.tr, P.cons, P.ptr, P.mt, P.rh, P.dth)
    seen = lambda t: _seen(P, t)  # noqa: E731
    dead, death = dth.dead, dth.death
    young = d.in_scope & d.young
    asct = tr.go_cond & seen(tr.asct1)
    tandem = tr.tandem & seen(tr.asct2)
    last = np.where(tandem, tr.asct2, tr.asct1)
    pred = ind.pred_reg
    out: dict[str, dict[str, int]] = {}

    # MM01
    ps2 = young & (d.ecog >= 2)
    com = young & ~ps2 & (d.comorb == 2)
    pop = young & ~ps2 & ~com
    ev = dth.ev_state
    open_ = X - d.dx < 30
    out["MM01"] = _count(MET=pop & (ev == 0), PS_2_OR_MORE=ps2, SIGNIFICANT_COMORBIDITY=com,
                         NOT_EVALUATED=pop & (ev == 1) & ~open_, EVALUATION_UNKNOWN=pop & (ev == 2) & ~open_,
                         WINDOW_OPEN=pop & (ev != 0) & open_)

    # MM02
    no_ind = asct & ind.no_ind_reg
    other = asct & ~no_ind & (REG_CAT[pred] == "other")
    total = ind.c1 + ind.c2
    ok_cycles = (total == 4) | ((total == 3) & (ind.c1 == 0) & (ind.clen >= 42))
    miss = asct & ~no_ind & ~other & ind.cycles_missing
    cyc_bad = asct & ~no_ind & ~other & np.where(ind.cycles_missing, ind.c1 + 1 > 4, ~ok_cycles)
    out["MM02"] = _count(
        MET=asct & ~no_ind & ~other & ~ind.cycles_missing & ok_cycles, NO_INDUCTION=no_ind,
        REGIMEN_NOT_RECOMMENDED=other, INDUCTION_CYCLES=cyc_bad, CYCLES_UNKNOWN=miss & ~cyc_bad,
        **{"split VCd + triplet (predominant: the triplet)": asct & ~no_ind & ind.split,
           "bridging VCd + CD38 quadruplet, 4 cycles in all": asct & ~no_ind & ind.bridge & (total == 4),
           "bridging VCd + CD38 quadruplet, 5 cycles in all": asct & ~no_ind & ind.bridge & (total == 5)})

    # MM03
    mob = hv.go_mob & seen(hv.harvest)
    prim = hv.prim
    bsa_unknown = mob & (prim == 0) & (hv.prim_form == 2) & ~hv.mob_anthro
    out["MM03"] = _count(MET=mob & (prim == 0) & ~bsa_unknown, NO_PRIMING=mob & ((prim == 1) | (prim == 2)),
                         PRIMING_WITHOUT_CYCLOPHOSPHAMIDE=mob & (prim == 3), PRIMING_DOSE=mob & (prim == 4),
                         BSA_UNKNOWN=bsa_unknown)

    # MM04
    cond = tr.go_cond & seen(tr.cond_start)
    crcl_known = ~np.isnan(tr.crcl)
    bsa_known = ((tr.cond_anthro & ~tr.cond_height_missing)
                 | (hv.mob_anthro & (tr.cond_start - hv.mob_meas <= 30)))
    dose_known = (tr.mel_form <= 1) | bsa_known
    m200, m140 = tr.mel == 200, tr.mel == 140
    out["MM04"] = _count(
        MET=cond & dose_known & crcl_known & ((m200 & ~tr.low) | (m140 & tr.low)),
        FULL_DOSE_DESPITE_LOW_CRCL=cond & dose_known & m200 & tr.low,
        REDUCED_WITHOUT_RENAL_INDICATION=cond & dose_known & m140 & crcl_known & ~tr.low,
        MELPHALAN_DOSE_OTHER=cond & dose_known & ~m200 & ~m140,
        CRCL_UNKNOWN=cond & ~crcl_known & (~dose_known | m200 | m140),
        BSA_UNKNOWN=cond & crcl_known & ~dose_known)

    # MM05
    mrd_strat = dth.mrd_strat
    cand_j = (ev == 0) & plan.cand & ~mrd_strat
    pop = young & (cand_j | mrd_strat)
    hdt365 = asct & (tr.asct1 - d.dx <= 365)
    cycles_before = ind.c1 + np.where(ind.cycles_missing, 0, ind.c2)
    deferral_ok = (mrd_strat & (d.dx >= V2) & risk.std & ind.has_ind & REG_QUAD[pred] & ir.has & hd.mrd_meas
                   & hd.mrd_neg & (SENS_VALUES[ir.sens] <= 1e-5) & (cycles_before >= 4))
    met = pop & hdt365
    just = pop & ~met & deferral_ok
    unsupported = pop & ~met & mrd_strat & ~deferral_ok
    rest = pop & ~met & ~mrd_strat
    died = rest & dead & (death - d.dx <= 365)
    open_ = rest & ~died & (X - d.dx < 365)
    out["MM05"] = _count(MET=met, MRD_NEGATIVE_DEFERRAL=just, DEFERRAL_NOT_SUPPORTED=unsupported, DIED=died,
                         WINDOW_OPEN=open_, NO_HDT=rest & ~died & ~open_)

    # MM06 (judged: the first maintenance after the last ASCT)
    m_seen = mt.maint & seen(mt.start)
    is_len = np.isin(mt.kind, LEN_KINDS)
    c_seen = ptr.consolidated & seen(cons.start) & (~m_seen | (cons.start < mt.start))
    started = np.floor((dth.cut - cons.start) / cons.clen) + 1
    c_cycles = np.minimum(cons.cycles, started)
    c_end = cons.start + c_cycles * cons.clen
    c_known = c_seen & ~cons.cycles_missing
    c_unknown = c_seen & cons.cycles_missing
    pd_before = ptr.pd_post & seen(ptr.date)
    mday = mt.start - last
    no_c = asct & ~c_seen
    within = m_seen & (mday >= 60) & (mday <= 120)
    gone = asct & ~m_seen & ((dead & (death - last <= 120)) | pd_before)
    out["MM06"] = _count(
        MET=(no_c & within & is_len) | (c_known & m_seen & is_len & (mt.start <= c_end + 60))
        | (c_unknown & m_seen & is_len & (mday <= 120)),
        LENALIDOMIDE_ALTERNATIVE=no_c & within & (mt.kind == 2), OTHER_MAINTENANCE=no_c & within & (mt.kind == 3),
        EARLY_START=no_c & m_seen & (mday < 60), LATE_START=no_c & m_seen & (mday > 120),
        NO_MAINTENANCE=no_c & ~m_seen & ~gone & (X - last >= 120),
        DIED=no_c & ~m_seen & dead & (death - last <= 120), PROGRESSION=no_c & ~m_seen & pd_before & ~dead,
        WINDOW_OPEN=no_c & ~m_seen & ~gone & (X - last < 120),
        **{"consolidation, then maintenance in its window (met)": c_known & m_seen & is_len & (mt.start <= c_end + 60),
           "consolidation, LATE_START after its window": c_known & m_seen & (mt.start > c_end + 60),
           "consolidation, CONSOLIDATION_END_UNKNOWN": c_unknown & (
               (m_seen & (mday > 120)) | (~m_seen & ~dead & (X >= cons.start + 61))),
           "consolidation running or its window open (WINDOW_OPEN)": c_known & ~m_seen & ~dead & (X - c_end < 60)})

    # MM07 (first lenalidomide maintenance after the last ASCT)
    pop = m_seen & is_len
    dose, days = mt.dose, mt.days
    dose_known = ~np.isnan(dose)
    renal = pop & dose_known & (dose < 10) & mt.labs_rec & (mt.crcl < 50)
    sched_bad = (days == 1) | (days == 2)
    sched_miss = (days < 0) | np.isnan(mt.clen)
    out["MM07"] = _count(
        MET=pop & (dose == 10) & (days == 0) & ~np.isnan(mt.clen), RENAL_DOSE_REDUCTION=renal,
        DOSE=pop & dose_known & (dose != 10) & ~renal, SCHEDULE=pop & ~(dose_known & (dose != 10)) & sched_bad,
        DOSE_UNKNOWN=pop & ~dose_known & ~sched_bad,
        SCHEDULE_UNKNOWN=pop & (dose == 10) & ~sched_bad & sched_miss,
        **{"5 mg with CrCl < 50 but no creatinine/weight within 30 days (DOSE)":
           pop & (dose < 10) & ~mt.labs_rec & (mt.crcl < 50)})

    # MM08, MM12 (decision date: the first induction start)
    decision = np.where(ind.has_ind, ind.s1, d.dx)
    v2 = decision >= V2
    cfz = ind.has_ind & ((REG_CAT[pred] == "quintuplet_cd38") | (REG_QUAD[pred] & REG_CFZ[pred]))
    pop = asct & risk.high
    out["MM08"] = _count(MET=pop & v2 & cfz, HIGH_RISK_INDUCTION=pop & v2 & ~cfz, GUIDELINE_VERSION=pop & ~v2)
    quad = ind.has_ind & REG_QUAD[pred]
    out["MM12"] = _count(MET=asct & v2 & quad, NO_CD38_INDUCTION=asct & v2 & ~quad, GUIDELINE_VERSION=asct & ~v2)

    # MM09
    pop = risk.high & m_seen
    v2m = mt.start >= V2
    out["MM09"] = _count(MET=pop & v2m & (mt.kind == 1), NO_DUAL_MAINTENANCE=pop & v2m & (mt.kind != 1),
                         GUIDELINE_VERSION=pop & ~v2m)

    # MM10
    b = tr.btw_resp
    has_b = tandem & tr.btw_has
    met = has_b & risk.high & ((b == 2) | (b == 3))
    cr = has_b & ~met & (b <= 1)
    nob = has_b & (b >= 4)
    stdr = tandem & ~met & ~cr & ~nob & risk.std
    resp_unk = tandem & ~has_b & ~stdr
    out["MM10"] = _count(MET=met, TANDEM_DESPITE_CR=cr, TANDEM_WITHOUT_BENEFIT=nob, TANDEM_STANDARD_RISK=stdr,
                         RESPONSE_UNKNOWN=resp_unk, RISK_UNKNOWN=tandem & ~met & ~cr & ~nob & ~stdr & ~resp_unk)

    # MM11
    ref_ok = asct & rh.rehab & seen(rh.date) & (rh.date <= tr.asct1 + 90)
    died = asct & ~ref_ok & dead & (death - tr.asct1 <= 90)
    open_ = asct & ~ref_ok & ~died & (X - tr.asct1 < 90)
    out["MM11"] = _count(MET=ref_ok, NO_REHABILITATION=asct & ~ref_ok & ~died & ~open_, DIED=died, WINDOW_OPEN=open_,
                         **{"referral between diagnosis and HDT (met)": ref_ok & rh.before_hdt})

    # MM13
    limit = np.where(risk.high, 12, 2)
    regimen = c_seen & ind.has_ind & (REG_CAT[cons.reg] != REG_CAT[pred])
    too_many = c_seen & ~regimen & ~cons.cycles_missing & (c_cycles > limit)
    cyc_unk = c_seen & ~regimen & ~too_many & cons.cycles_missing
    ind_unk = c_seen & ~regimen & ~too_many & ~cyc_unk & ~ind.has_ind
    out["MM13"] = _count(MET=c_seen & ~regimen & ~too_many & ~cyc_unk & ~ind_unk, CONSOLIDATION_REGIMEN=regimen,
                         CONSOLIDATION_CYCLES=too_many, CYCLES_UNKNOWN=cyc_unk, INDUCTION_UNKNOWN=ind_unk)

    # MM14
    died = asct & dead & (death - tr.asct1 <= 100)
    open_ = asct & ~died & (X - tr.asct1 < 100)
    out["MM14"] = _count(MET=asct & ~died & ~open_, DIED_WITHIN_100_DAYS=died, WINDOW_OPEN=open_)

    # MM15 (first induktion course on or after the diagnosis)
    first = np.where(plan.tx & ind.has_ind, ind.s1, np.where(plan.nt, plan.nt_start, np.nan))
    pop = young & (d.ecog < 2) & (d.comorb < 2) & seen(first) & (first >= d.dx)
    in_time = risk.cyto_date <= first
    n_done = ((risk.t_del17p & in_time).astype(int) + (risk.t_t414 & in_time) + ((risk.t_gain | risk.t_amp) & in_time))
    out["MM15"] = _count(MET=pop & (n_done == 3), RISK_NOT_ASSESSED=pop & (n_done == 0),
                         RISK_PARTIALLY_ASSESSED=pop & (n_done > 0) & (n_done < 3))
    return out


# --------------------------------------------------------------------------- text

def format_summary(stats: dict) -> str:
    """The realism numbers as a few lines of text (for ``myeloma-audit synth``)."""
    r = stats["realism"]
    pct = lambda x: "–" if x is None else f"{100 * x:.1f} %"  # noqa: E731
    lines = [
        f"cohort: {r['myeloma_patients']} patients with a myeloma diagnosis (DC900/DC901) of {stats['patients']}",
        f"  median age at diagnosis     {r['median_age_at_diagnosis']:g} years (≤ 70: {pct(r['age_le_70_share'])})",
        f"  HDT candidates              {pct(r['hdt_candidates']['share'])} ({r['hdt_candidates']['n']})",
        f"  transplanted (ASCT)         {pct(r['transplanted']['share'])} ({r['transplanted']['n']}; "
        f"{pct(r['transplanted']['share_of_all_patients'])} of all patients)",
        f"  MRD measured                {pct(r['mrd_measured']['share'])} ({r['mrd_measured']['n']}; "
        f"{pct(r['mrd_measured']['share_of_transplanted'])} of the transplanted)",
        f"  consolidated                {pct(r['consolidated']['share_of_transplanted'])} of the transplanted",
        "  induction regimen mix (transplant pathway, predominant course, by year of the induction start):",
        f"    {'year':<24}{'n':>6}  {'D-VCRd-type':>11} {'D-VRd-type':>10} {'VRd-type':>9} {'VCd':>7} {'other':>7}",
    ]
    for label, m in r["induction_regimen_mix_by_year"].items():
        lines.append(f"    {label:<24}{m['n']:>6}  " + " ".join(
            f"{pct(m[c]):>{w}}" for c, w in zip(("quintuplet_cd38", "quadruplet_cd38", "triplet_pi_imid", "vcd", "other"),
                                                (11, 10, 9, 7, 7))))
    return "\n".join(lines)


def format_planted(stats: dict) -> str:
    """The planted scenarios per indicator, one line each."""
    lines = ["planted scenarios (patients; the meant outcome, counted from the generator's plan):"]
    for ind_id, codes in stats["planted"].items():
        lines.append(f"  {ind_id}: " + ", ".join(f"{code} {n}" for code, n in codes.items()))
    return "\n".join(lines)
