"""Test data for the quality suites: a clean delivery, and staging tables with one inserted
row (or rows) breaking each expectation of each suite.

The staging layer quarantines most row-level violations, so most expectations can only fail
when rows are inserted into the ``stg_`` tables directly, as done here. Inserted rows have
``_line`` >= 1000; ``VIOLATIONS[table][expectation]`` names the lines that must be listed.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from tests.delivery_builder import EXTRACT_DATE, stage, write_delivery

P1_CPR = "1203614417"
P2_CPR = "0807580128"

# Completes the spec's example so that every warn expectation passes too: height and weight
# before the priming course, and del17p / t4_14 / gain1q tested before patient 2's induction.
CLEAN_EXTRA = {
    "anthropometrics": [f"{P1_CPR};01-12-2024;181;87"],
    "cytogenetics": [f"{P2_CPR};20-01-2025;del17p;neg;", f"{P2_CPR};20-01-2025;t4_14;neg;",
                     f"{P2_CPR};20-01-2025;gain1q;neg;"],
}


def stage_delivery(tmp: Path, extra: dict | None = None, name: str = "db") -> duckdb.DuckDBPyConnection:
    """Raw + staging of the example delivery (+ extra lines), with raw_delivery_info."""
    folder = write_delivery(tmp / f"{name}_delivery", extra=extra)
    con = stage(folder, tmp / f"{name}.duckdb")
    con.execute("create or replace table raw_delivery_info (extract_id varchar, source varchar, extract_date date)")
    con.execute("insert into raw_delivery_info values ('TEST-1', 'test', ?)", [EXTRACT_DATE])
    return con


def pseudonyms(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(patient 1, patient 2) of the example: born 1961 and 1958."""
    rows = con.execute("select pseudonym from stg_patients order by birth_date desc").fetchall()
    return rows[0][0], rows[1][0]


def _day(line: int) -> date:
    return date(2024, 10, 1) + timedelta(days=line - 1000)


def _defaults(table: str, line: int, p1: str) -> dict:
    """A row that breaks nothing by itself (apart from warn rules about missing context)."""
    d = _day(line)
    return {
        "stg_departments": dict(department_code=f"D{line}", department_name="n", hospital="h", region="Syddanmark"),
        "stg_patients": dict(pseudonym=f"P{line:016x}", sex="M", birth_date=date(1950, 1, 1), death_date=None),
        "stg_diagnoses": dict(pseudonym=p1, diagnosis_date=d, icd10="DC900", department_code="4202010", ecog_ps=None,
                              comorbidity=None, iss_stage=1, extramedullary="nej", hdt_evaluated=None,
                              hdt_evaluation_date=None, hdt_candidate=None, hdt_not_candidate_reason=None),
        "stg_labs": dict(pseudonym=p1, sample_date=d, analysis="ldh", value=200.0, unit="U/L", value_std=200.0, unit_std="U/L"),
        "stg_anthropometrics": dict(pseudonym=p1, measure_date=d, height_cm=180.0, weight_kg=80.0),
        "stg_cytogenetics": dict(pseudonym=p1, sample_date=d, aberration="del17p", result="neg", clonal_fraction_pct=None),
        "stg_treatment_courses": dict(pseudonym=p1, course_id=f"Q{line}", phase="andet", regimen="x", start_date=d,
                                      end_date=None, cycles=1, cycle_length_days=28),
        "stg_drugs": dict(course_id="K1001", atc="L01XG01", drug_name="x", dose=1.0, dose_unit="mg", days=str(line), n_days=1),
        "stg_procedures": dict(pseudonym=p1, procedure_date=d, procedure="rehabilitering", sks_code=None),
        "stg_responses": dict(pseudonym=p1, assessment_date=d, timepoint="andet", response="PR", mrd=None, mrd_sensitivity=None),
    }[table]


FUTURE = date(2030, 1, 1)
BEFORE_BIRTH = date(1950, 1, 1)       # patient 1 is born 1961
NO_PATIENT = "P00000000000000ff"


def violations(p1: str, p2: str) -> dict[str, dict[str, list[tuple[int, dict]]]]:
    """table -> expectation -> [(line, overrides of the default row)]."""
    return {
        "stg_departments": {
            "department_code_not_null": [(1001, dict(department_code=None))],
            "department_code_unique": [(1002, dict(department_code="4202010"))],
            "region_in_value_set": [(1003, dict(region="Fyn"))],
            "region_not_null": [(1004, dict(region=None))],
            "hospital_not_null": [(1005, dict(hospital=None))],
            "department_name_not_null": [(1006, dict(department_name=None))],
        },
        "stg_patients": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym=P1_CPR))],
            "pseudonym_unique": [(1003, dict(pseudonym=p1, birth_date=date(1961, 3, 12)))],
            "sex_in_value_set": [(1004, dict(sex="X"))],
            "birth_date_not_null": [(1005, dict(birth_date=None, sex=None))],
            "birth_date_plausible": [(1006, dict(birth_date=date(1800, 1, 1), sex=None))],
            "death_date_not_before_birth_date": [(1007, dict(death_date=date(1940, 1, 1), sex=None))],
            "dates_not_after_extract": [(1008, dict(death_date=FUTURE))],
            "sex_completeness": [(1005, {}), (1006, {}), (1007, {})],   # no sex: 9/12 < 90 %
        },
        "stg_diagnoses": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "diagnosis_date_not_null": [(1003, dict(diagnosis_date=None))],
            "department_code_not_null": [(1004, dict(department_code=None))],
            "natural_key_unique": [(1005, dict(diagnosis_date=date(2024, 9, 2)))],
            "icd10_format": [(1006, dict(icd10="C900"))],
            "ecog_ps_in_range": [(1007, dict(ecog_ps=7))],
            "comorbidity_in_value_set": [(1008, dict(comorbidity="svær"))],
            "iss_stage_in_range": [(1009, dict(iss_stage=5))],
            "extramedullary_in_value_set": [(1010, dict(extramedullary="ja"))],
            "hdt_not_candidate_reason_in_value_set": [(1011, dict(hdt_candidate=False, hdt_not_candidate_reason="x"))],
            "reason_only_when_not_candidate": [(1012, dict(hdt_candidate=True, hdt_not_candidate_reason="alder"))],
            "dates_not_after_extract": [(1013, dict(diagnosis_date=FUTURE))],
            "dates_within_life": [(1014, dict(diagnosis_date=BEFORE_BIRTH))],
            "patient_exists": [(1015, dict(pseudonym=NO_PATIENT))],
            "department_exists": [(1016, dict(department_code="999"))],
            # index diagnoses of two extra patients (added to stg_patients) with gaps
            "ecog_ps_completeness": [(1020, dict(pseudonym="P00000000000000c1")), (1021, dict(pseudonym="P00000000000000c2"))],
            "comorbidity_completeness": [(1020, {}), (1021, {})],
            "hdt_evaluated_completeness": [(1020, {})],
            "hdt_candidate_completeness": [(1021, dict(hdt_evaluated=True))],
        },
        "stg_labs": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "sample_date_not_null": [(1003, dict(sample_date=None))],
            "natural_key_unique": [(1004, dict(sample_date=date(2024, 9, 3), analysis="b2m", unit="mg/L", value_std=3.0, unit_std="mg/L"))],
            "analysis_in_value_set": [(1005, dict(analysis="crp"))],
            "value_not_null": [(1006, dict(value=None))],
            "unit_belongs_to_analysis": [(1007, dict(analysis="kreatinin", unit="mg/L", value_std=80.0, unit_std="µmol/L"))],
            "value_std_plausible": [(1008, dict(analysis="kreatinin", unit="µmol/L", value_std=5000.0, unit_std="µmol/L"))],
            "dates_not_after_extract": [(1009, dict(sample_date=FUTURE))],
            "dates_within_life": [(1010, dict(sample_date=BEFORE_BIRTH))],
            "patient_exists": [(1011, dict(pseudonym=NO_PATIENT))],
        },
        "stg_anthropometrics": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "measure_date_not_null": [(1003, dict(measure_date=None))],
            "natural_key_unique": [(1004, dict(measure_date=date(2025, 2, 8)))],
            "height_cm_in_range": [(1005, dict(height_cm=300.0))],
            "weight_kg_in_range": [(1006, dict(weight_kg=10.0))],
            "height_or_weight_present": [(1007, dict(height_cm=None, weight_kg=None))],
            "dates_not_after_extract": [(1008, dict(measure_date=FUTURE))],
            "dates_within_life": [(1009, dict(measure_date=BEFORE_BIRTH))],
            "patient_exists": [(1010, dict(pseudonym=NO_PATIENT))],
        },
        "stg_cytogenetics": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "sample_date_not_null": [(1003, dict(sample_date=None))],
            "natural_key_unique": [(1004, dict(sample_date=date(2024, 9, 5)))],
            "aberration_not_null": [(1005, dict(aberration=None))],
            "aberration_in_value_set": [(1006, dict(aberration="del13q"))],
            "result_not_null": [(1007, dict(result=None))],
            "result_in_value_set": [(1008, dict(result="maybe"))],
            "clonal_fraction_pct_in_range": [(1009, dict(clonal_fraction_pct=150.0))],
            "del17p_fraction_completeness": [(1010, dict(result="pos"))],
            "dates_not_after_extract": [(1011, dict(sample_date=FUTURE))],
            "dates_within_life": [(1012, dict(sample_date=BEFORE_BIRTH))],
            "patient_exists": [(1013, dict(pseudonym=NO_PATIENT))],
        },
        "stg_treatment_courses": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "course_id_not_null": [(1003, dict(course_id=None))],
            "course_id_unique": [(1004, dict(course_id="K1001"))],
            "phase_not_null": [(1005, dict(phase=None))],
            "phase_in_value_set": [(1006, dict(phase="induction"))],
            "start_date_not_null": [(1007, dict(start_date=None))],
            "end_date_not_before_start_date": [(1008, dict(end_date=date(2024, 1, 1)))],
            "cycles_in_range": [(1009, dict(cycles=0))],
            "cycle_length_days_in_range": [(1010, dict(cycle_length_days=400))],
            "dates_not_after_extract": [(1011, dict(start_date=FUTURE))],
            "dates_within_life": [(1012, dict(start_date=BEFORE_BIRTH))],
            "patient_exists": [(1013, dict(pseudonym=NO_PATIENT))],
            "start_not_before_diagnosis": [(1014, dict(pseudonym=p2, start_date=date(2024, 6, 1)))],
            "course_has_drugs": [(1014, {})],
            "induction_cycles_completeness": [(1015, dict(pseudonym=p2, phase="induktion", cycles=None, start_date=date(2025, 3, 1)))],
            "induction_cycle_length_completeness": [(1016, dict(pseudonym=p2, phase="induktion", cycle_length_days=None, start_date=date(2025, 3, 2)))],
            "creatinine_before_conditioning": [(1017, dict(pseudonym=p2, phase="konditionering", start_date=date(2025, 6, 1)))],
            "weight_before_conditioning": [(1017, {})],
            "height_weight_before_priming": [(3, None)],    # example course K1002 (line 3): no height/weight before it
            "cytogenetics_before_induction": [(6, None)],   # example course K2001 (line 6): patient 2 has no cytogenetics
        },
        "stg_drugs": {
            "course_id_not_null": [(1001, dict(course_id=None))],
            "atc_not_null": [(1002, dict(atc=None))],
            "natural_key_unique": [(1003, dict(days="1,4,8,11"))],
            "atc_format": [(1004, dict(atc="L01X"))],
            "dose_unit_in_value_set": [(1005, dict(dose_unit="ml"))],
            "dose_in_range": [(1006, dict(dose=0.0))],
            "n_days_matches_days": [(1007, dict(days="1-21", n_days=None))],
            "course_exists": [(1008, dict(course_id="K9999"))],
            "dose_unit_with_dose": [(1009, dict(dose_unit=None))],
            "dose_completeness": [(1010, dict(course_id="K1004", atc="L01FC01", dose=None))],
            "days_completeness": [(1011, dict(course_id="K1003", atc="L01AA01", days=None, n_days=None))],
        },
        "stg_procedures": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "procedure_date_not_null": [(1003, dict(procedure_date=None))],
            "procedure_not_null": [(1004, dict(procedure=None))],
            "natural_key_unique": [(1005, dict(procedure_date=date(2025, 2, 13), procedure="asct"))],
            "procedure_in_value_set": [(1006, dict(procedure="kirurgi"))],
            "dates_not_after_extract": [(1007, dict(procedure_date=FUTURE))],
            "dates_within_life": [(1008, dict(procedure_date=BEFORE_BIRTH))],
            "patient_exists": [(1009, dict(pseudonym=NO_PATIENT))],
            "procedure_not_before_diagnosis": [(1010, dict(pseudonym=p2, procedure_date=date(2024, 6, 1)))],
            "response_after_first_asct_for_tandem": [(1011, dict(procedure="asct", procedure_date=date(2025, 5, 1)))],
        },
        "stg_responses": {
            "pseudonym_not_null": [(1001, dict(pseudonym=None))],
            "pseudonym_format": [(1002, dict(pseudonym="bad"))],
            "assessment_date_not_null": [(1003, dict(assessment_date=None))],
            "timepoint_not_null": [(1004, dict(timepoint=None))],
            "response_not_null": [(1005, dict(response=None))],
            "natural_key_unique": [(1006, dict(assessment_date=date(2024, 11, 28), timepoint="efter_induktion"))],
            "timepoint_in_value_set": [(1007, dict(timepoint="x"))],
            "response_in_value_set": [(1008, dict(response="MR"))],
            "mrd_in_value_set": [(1009, dict(mrd="unknown"))],
            "mrd_sensitivity_in_range": [(1010, dict(mrd_sensitivity=2.0))],
            "dates_not_after_extract": [(1011, dict(assessment_date=FUTURE))],
            "dates_within_life": [(1012, dict(assessment_date=BEFORE_BIRTH))],
            "patient_exists": [(1013, dict(pseudonym=NO_PATIENT))],
        },
    }


def insert_row(con: duckdb.DuckDBPyConnection, table: str, line: int, values: dict) -> None:
    columns = ["_line", *values]
    con.execute(f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                [line, *values.values()])


def break_everything(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, list[int]]]:
    """Insert the violating rows; returns table -> expectation -> lines that must fail."""
    p1, p2 = pseudonyms(con)
    for extra_patient in ("P00000000000000c1", "P00000000000000c2"):
        insert_row(con, "stg_patients", 2000 + int(extra_patient[-1]),
                   dict(pseudonym=extra_patient, sex="K", birth_date=date(1960, 1, 1), death_date=None))
    expected: dict[str, dict[str, list[int]]] = {}
    for table, rules in violations(p1, p2).items():
        expected[table] = {}
        inserted: dict[int, dict] = {}
        for name, rows in rules.items():
            for line, overrides in rows:
                if overrides is not None:      # None: a row of the example delivery itself
                    inserted.setdefault(line, {}).update(overrides)
            expected[table][name] = [line for line, _ in rows]
        for line, overrides in sorted(inserted.items()):
            insert_row(con, table, line, {**_defaults(table, line, p1), **overrides})
    return expected


PLANTED_LINE = 1016


def plant_orphan_diagnosis(monkeypatch) -> None:
    """The run's staging step, then one diagnosis whose patient is not in ``stg_patients``
    (line ``PLANTED_LINE``): the error expectation ``patient_exists`` fails. Staging itself
    quarantines such a row (an orphan), so no delivery breaks an error expectation: the suites
    guard staging's own guarantees, and a run is blocked only where one of them broke."""
    from pipelines.ingest import assets

    staged = assets.build_staging

    def staged_then_planted(con, variables):
        staged(con, variables)
        con.execute("insert into stg_diagnoses select * replace (? as pseudonym, ? as _line) "
                    "from stg_diagnoses order by _line limit 1", [NO_PATIENT, PLANTED_LINE])

    monkeypatch.setattr(assets, "build_staging", staged_then_planted)
