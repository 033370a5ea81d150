"""Completeness per unit (sql/quality/rpt_completeness.sql) and the per-indicator quality
flags (sql/quality/rpt_quality_flags.sql) the lead joins into indicator_summary."""

from __future__ import annotations

from quality_violations import CLEAN_EXTRA, insert_row, pseudonyms, stage_delivery

from pipelines.indicators.build import indicator_inputs
from pipelines.quality.completeness import completeness, quality_flags

P3_CPR = "1505551234"
SECOND_DEPARTMENT = {
    "departments": ["7777777;Hæmatologisk Afdeling Y;Aarhus Universitetshospital;Midtjylland"],
    "patients": [f"{P3_CPR};M;15-05-1955;"],
    # ECOG and comorbidity missing for the only patient of department 7777777
    "diagnoses": [f"{P3_CPR};01-03-2025;DC900;7777777;;;2;nej;J;05-03-2025;J;"],
}


def _extra() -> dict:
    extra = {k: list(v) for k, v in CLEAN_EXTRA.items()}
    for k, v in SECOND_DEPARTMENT.items():
        extra.setdefault(k, []).extend(v)
    return extra


def _rows(con, sql: str, *params) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_completeness_per_department_and_threshold(tmp_path):
    con = stage_delivery(tmp_path, extra=_extra())
    table = completeness(con)
    ecog = {(r["level"], r["unit"]): r for r in _rows(con, f"select * from {table} where variable = 'ecog_ps'")}
    assert ecog[("department", "4202010")]["share"] == 1.0 and not ecog[("department", "4202010")]["below_threshold"]
    assert ecog[("department", "7777777")]["denominator"] == 1 and ecog[("department", "7777777")]["present"] == 0
    assert ecog[("department", "7777777")]["below_threshold"]
    assert ecog[("region", "Midtjylland")]["below_threshold"] and ecog[("hospital", "Aarhus Universitetshospital")]["below_threshold"]
    national = ecog[("national", "Danmark")]
    assert (national["denominator"], national["present"], national["threshold"]) == (3, 2, 0.9)
    assert ecog[("department", "4202010")]["indicator_ids"] == ["MM01"]
    # every variable the clean example has a population for is complete in department 4202010
    first = _rows(con, f"select variable, share from {table} where unit = '4202010'")
    assert {r["variable"] for r in first} >= {"creatinine_before_conditioning", "weight_before_conditioning",
                                             "height_weight_before_priming", "cytogenetics_before_induction",
                                             "induction_cycles", "drug_dose", "drug_days", "hdt_candidate"}
    assert all(r["share"] == 1.0 for r in first)
    # the threshold is a parameter
    completeness(con, threshold=0.5)
    assert not _rows(con, f"select * from {table} where variable = 'ecog_ps' and unit = 'Danmark'")[0]["below_threshold"]


def test_quality_flags_per_indicator_and_unit(tmp_path):
    con = stage_delivery(tmp_path, extra=_extra())
    flags = quality_flags(con, indicator_inputs())     # no suite has run yet: completeness only
    mm01 = {(r["level"], r["unit"]): r for r in _rows(con, f"select * from {flags} where indicator_id = 'MM01'")}
    assert mm01[("department", "7777777")]["below_completeness"]
    assert "ecog_ps 0%" in mm01[("department", "7777777")]["incomplete_variables"]
    assert not mm01[("department", "4202010")]["quality_flag"]
    assert not any(r["failed_blocking_check"] for r in mm01.values())
    assert not _rows(con, f"select * from {flags} where indicator_id = 'MM11' and quality_flag")
    assert {r["indicator_id"] for r in _rows(con, f"select distinct indicator_id from {flags}")} == {f"MM{i:02d}" for i in range(1, 16)}

    # a blocking failure in stg_labs, on a row of department 4202010's patient, as the check records it
    from pipelines.quality.runner import record_outcomes, run_suite

    p1, _ = pseudonyms(con)
    insert_row(con, "stg_labs", 1000, dict(pseudonym=p1, sample_date="2024-10-01", analysis="kreatinin", value=1.0,
                                           unit="mg/L", value_std=88.4, unit_std="µmol/L"))
    record_outcomes(con, [run_suite(con, "stg_labs")])
    quality_flags(con, indicator_inputs())
    flagged = {(r["indicator_id"], r["level"], r["unit"]): r for r in _rows(con, f"select * from {flags} where failed_blocking_check")}
    assert ("MM04", "department", "4202010") in flagged and ("MM04", "national", "Danmark") in flagged
    assert flagged[("MM04", "department", "4202010")]["blocking_checks"] == "stg_labs.unit_belongs_to_analysis (1)"
    assert ("MM04", "department", "7777777") not in flagged                # the other department's patients are fine
    assert ("MM01", "department", "4202010") not in flagged                # MM01 does not read labs
    assert ("MM11", "national", "Danmark") not in flagged
