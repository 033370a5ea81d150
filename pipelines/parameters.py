"""Every tunable value of the audit, with the indicator spec's defaults, in one place.

The guideline is silent on windows and tolerances; the spec fixes them and says they are
parameters. SQL reads them as ``getvariable('<name>')`` (see ``lib.sql_loader``).
Standards per indicator live in the indicator catalogue.
"""

from __future__ import annotations

DEFAULTS: dict[str, float | int | str] = {
    # shared rules
    "hdt_age_limit": 70,
    "creatinine_umol_per_mg_dl": 88.4,
    "tandem_max_days": 180,
    "bsa_lookback_days": 30,
    "crcl_lookback_days": 30,
    "crcl_threshold_ml_min": 30,
    # high-risk classification
    "risk_no_induction_days": 60,
    "risk_del17p_min_clone_pct": 20,
    "risk_b2m_min_mg_l": 5.5,
    "risk_normal_creatinine_max_mg_dl": 1.2,
    "risk_b2m_creatinine_max_days": 7,
    "risk_cpc_min_pct": 2,
    # data quality: share of patients with a variable present, below which a figure is flagged
    "completeness_threshold": 0.90,
    # MM01
    "mm01_window_days": 30,
    # MM02 / MM08 / MM12 induction
    "mm02_cycles": 4,
    "mm02_cycles_long": 3,
    "mm02_long_cycle_min_days": 42,
    # MM03 priming
    "mm03_priming_lookback_days": 30,
    "mm03_cyclophosphamide_mg_m2": 2000,
    "mm03_tolerance": 0.10,
    # MM04 melphalan
    "mm04_full_mg_m2": 200,
    "mm04_reduced_mg_m2": 140,
    "mm04_tolerance": 0.05,
    # MM05 HDT carried out; the MRD-guided deferral (Rec 8)
    "mm05_window_days": 365,
    "mm05_mrd_max_sensitivity": 0.00001,
    "mm05_mrd_min_induction_cycles": 4,
    # MM06 maintenance start window; after consolidation up to N days after its end
    "mm06_window_start_day": 60,
    "mm06_window_end_day": 120,
    "mm06_days_after_consolidation": 60,
    # MM07 maintenance dose; a lower dose is a renal dose reduction below this CrCl
    "mm07_dose_mg": 10,
    "mm07_days": "1-21",
    "mm07_cycle_length_days": 28,
    "mm07_renal_crcl_ml_min": 50,
    # MM11 rehabilitation
    "mm11_window_days": 90,
    # MM13 consolidation cycles (high risk: the extended consolidation)
    "mm13_max_cycles": 2,
    "mm13_max_cycles_high_risk": 12,
    # MM14 survival after HDT
    "mm14_window_days": 100,
}


def resolve(overrides: dict[str, float | int | str] | None = None) -> dict[str, float | int | str]:
    """Defaults with ``overrides`` applied; unknown names are an error, not ignored."""
    values = dict(DEFAULTS)
    for name, value in (overrides or {}).items():
        if name not in DEFAULTS:
            raise KeyError(f"unknown parameter {name!r}; known: {', '.join(sorted(DEFAULTS))}")
        values[name] = type(DEFAULTS[name])(value)
    return values
