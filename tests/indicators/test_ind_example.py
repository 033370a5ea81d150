"""The two-patient worked example of shared/spec/example gives exactly its expected results."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from staging_rows import CREATININE_UMOL_PER_MG_DL, create_staging, n_days
from pipelines.indicators.build import build_all

EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "example"
KEY = b"example-key"

pytestmark = pytest.mark.skipif(not EXAMPLE.is_dir(), reason="shared/spec/example not available")


def _pseudonym(cpr: str) -> str:
    return "P" + hmac.new(KEY, cpr.replace("-", "").encode(), hashlib.sha256).hexdigest()[:16]


def _read(name: str) -> list[dict[str, str | None]]:
    with open(EXAMPLE / f"{name}.csv", encoding="utf-8-sig", newline="") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f, delimiter=";")]


def _date(value: str | None) -> date | None:
    return datetime.strptime(value, "%d-%m-%Y").date() if value else None


def _dec(value: str | None) -> float | None:
    return float(value.replace(",", ".")) if value else None


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _bool(value: str | None) -> bool | None:
    return {"J": True, "N": False}.get(value) if value else None


def staging_from_example() -> dict[str, list[dict]]:
    """The example delivery as the staging layer would hand it over (typed, pseudonymised)."""
    labs = []
    for r in _read("labs"):
        value = _dec(r["value"])
        unit = "µmol/L" if r["unit"] == "umol/L" else r["unit"]
        is_mg_dl = r["analysis"] == "kreatinin" and unit == "mg/dL"
        labs.append({"pseudonym": _pseudonym(r["cpr"]), "sample_date": _date(r["sample_date"]),
                     "analysis": r["analysis"], "value": value, "unit": unit,
                     "value_std": value * CREATININE_UMOL_PER_MG_DL if is_mg_dl else value,
                     "unit_std": "µmol/L" if r["analysis"] == "kreatinin" else unit})
    return {
        "stg_departments": _read("departments"),
        "stg_patients": [{"pseudonym": _pseudonym(r["cpr"]), "sex": r["sex"], "birth_date": _date(r["birth_date"]),
                          "death_date": _date(r["death_date"])} for r in _read("patients")],
        "stg_diagnoses": [{
            "pseudonym": _pseudonym(r["cpr"]), "diagnosis_date": _date(r["diagnosis_date"]), "icd10": r["icd10"],
            "department_code": r["department_code"], "ecog_ps": _int(r["ecog_ps"]), "comorbidity": r["comorbidity"],
            "iss_stage": _int(r["iss_stage"]), "extramedullary": r["extramedullary"],
            "hdt_evaluated": _bool(r["hdt_evaluated"]), "hdt_evaluation_date": _date(r["hdt_evaluation_date"]),
            "hdt_candidate": _bool(r["hdt_candidate"]), "hdt_not_candidate_reason": r["hdt_not_candidate_reason"],
        } for r in _read("diagnoses")],
        "stg_labs": labs,
        "stg_anthropometrics": [{"pseudonym": _pseudonym(r["cpr"]), "measure_date": _date(r["measure_date"]),
                                 "height_cm": _dec(r["height_cm"]), "weight_kg": _dec(r["weight_kg"])}
                                for r in _read("anthropometrics")],
        "stg_cytogenetics": [{"pseudonym": _pseudonym(r["cpr"]), "sample_date": _date(r["sample_date"]),
                              "aberration": r["aberration"], "result": r["result"],
                              "clonal_fraction_pct": _dec(r["clonal_fraction_pct"])} for r in _read("cytogenetics")],
        "stg_treatment_courses": [{
            "pseudonym": _pseudonym(r["cpr"]), "course_id": r["course_id"], "phase": r["phase"],
            "regimen": r["regimen"], "start_date": _date(r["start_date"]), "end_date": _date(r["end_date"]),
            "cycles": _int(r["cycles"]), "cycle_length_days": _int(r["cycle_length_days"]),
        } for r in _read("treatment_courses")],
        "stg_drugs": [{"course_id": r["course_id"], "atc": r["atc"], "drug_name": r["drug_name"],
                       "dose": _dec(r["dose"]), "dose_unit": r["dose_unit"], "days": r["days"],
                       "n_days": n_days(r["days"])} for r in _read("drugs")],
        "stg_procedures": [{"pseudonym": _pseudonym(r["cpr"]), "procedure_date": _date(r["procedure_date"]),
                            "procedure": r["procedure"], "sks_code": r["sks_code"]} for r in _read("procedures")],
        "stg_responses": [{"pseudonym": _pseudonym(r["cpr"]), "assessment_date": _date(r["assessment_date"]),
                           "timepoint": r["timepoint"], "response": r["response"], "mrd": r["mrd"],
                           "mrd_sensitivity": _dec(r["mrd_sensitivity"])} for r in _read("responses")],
    }


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    con = duckdb.connect(str(tmp_path_factory.mktemp("example") / "t.duckdb"))
    create_staging(con, staging_from_example())
    extract_date = json.loads((EXAMPLE / "manifest.json").read_text())["extracted_at"]
    build_all(con, extract_date)
    yield con
    con.close()


def test_example_gives_exactly_the_expected_results(example):
    with open(EXAMPLE / "expected_patient_results.csv", encoding="utf-8", newline="") as f:
        expected = sorted((r["pseudonym"], r["indicator_id"], r["status"], r["reason_code"]) for r in csv.DictReader(f))
    got = sorted(example.execute(
        "select pseudonym, indicator_id, status, reason_code from rpt_patient_results").fetchall())
    assert got == expected


def test_example_values_and_texts(example):
    patient = _pseudonym("1203614417")
    mm04 = example.execute(
        "select reason_text, reason_text_en, values_json, index_date, guideline_version, department_code, risk, "
        "risk_rules from rpt_patient_results where pseudonym = ? and indicator_id = 'MM04'", [patient]).fetchone()
    text, text_en, values, index_date, version, department, risk, risk_rules = mm04
    values = json.loads(values)
    # CrCl = (140 − 63) × 86,5 / (72 × 91 / 88,4) = 89,9 ml/min, per the example's README
    assert values["crcl_ml_min"] == pytest.approx((140 - 63) * 86.5 / (72 * 91 / 88.4))
    assert values["age_at_sample"] == 63
    assert values["melphalan_mg_m2_given"] == pytest.approx(200)
    assert values["melphalan_mg_m2_expected"] == 200
    # the README's worked sentence, in Danish (dd-mm-åååå, decimal comma, µmol/L) and English
    assert text.startswith("Anbefaling 3 (A/B): CrCl 89,9 ml/min ≥ 30 (kreatinin 91 µmol/L 10-02-2025, alder 63 år, "
                           "vægt 86,5 kg 08-02-2025)")
    assert "melphalan 200 mg/m² forventet; melphalan 200 mg/m² givet" in text
    assert text_en.startswith("Rec 3 (A/B): CrCl 89.9 ml/min ≥ 30 (creatinine 91 µmol/L on 2025-02-10")
    assert "melphalan 200 mg/m² expected; melphalan 200 mg/m² given" in text_en
    assert (index_date, version, department, risk, risk_rules) == (date(2025, 2, 11), "v1.5", "4202010", "standard", "")

    mm06 = json.loads(example.execute(
        "select values_json from rpt_patient_results where pseudonym = ? and indicator_id = 'MM06'",
        [patient]).fetchone()[0])
    assert mm06["days_after_index"] == 90
    mm11 = json.loads(example.execute(
        "select values_json from rpt_patient_results where pseudonym = ? and indicator_id = 'MM11'",
        [patient]).fetchone()[0])
    assert mm11["days_after_index"] == 35
    mm05 = json.loads(example.execute(
        "select values_json from rpt_patient_results where pseudonym = ? and indicator_id = 'MM05'",
        [patient]).fetchone()[0])
    assert mm05["days_after_index"] == 164
