"""Every quarantine rule of extract-format.md: the bad row lands in the quarantine with its
reason, line and pseudonymised record; clean rows are untouched; the counts reconcile."""

import pytest

from pipelines.lib.pseudonym import Pseudonymiser
from tests.delivery_builder import BASE, KEY, quarantined, stage, write_delivery

P1 = "1203614417"  # a valid patient of the base delivery


def next_line(file: str, offset: int = 0) -> int:
    return len(BASE[file]) + 1 + offset


CASES = [
    # (id, file, appended lines, expected reason of the first appended line)
    ("malformed", "labs", [f"{P1};03-09-2024;ldh;200"], "MALFORMED_ROW"),
    ("missing cpr", "labs", [";03-09-2024;ldh;200;U/L"], "MISSING_REQUIRED"),
    ("cpr NA", "labs", ["NA;03-09-2024;ldh;200;U/L"], "MISSING_REQUIRED"),
    ("cpr uoplyst", "patients", ["uoplyst;M;01-01-1950;"], "MISSING_REQUIRED"),
    ("missing value", "labs", [f"{P1};03-09-2024;ldh;NA;U/L"], "MISSING_REQUIRED"),
    ("missing start date", "treatment_courses", [f"{P1};K9;andet;x;.;;1;28"], "MISSING_REQUIRED"),
    ("cpr 9 digits", "labs", ["120361441;03-09-2024;ldh;200;U/L"], "INVALID_CPR"),
    ("cpr impossible date", "labs", ["3102614417;03-09-2024;ldh;200;U/L"], "INVALID_CPR"),
    ("cpr letters", "patients", ["12036A4417;M;12-03-1961;"], "INVALID_CPR"),
    ("impossible date", "labs", [f"{P1};31-02-2024;ldh;200;U/L"], "INVALID_DATE"),
    ("date zeros", "procedures", [f"{P1};00-00-0000;asct;"], "INVALID_DATE"),
    ("unparseable number", "labs", [f"{P1};04-09-2024;ldh;2OO;U/L"], "INVALID_NUMBER"),
    ("bad int", "treatment_courses", [f"{P1};K9;andet;x;01-03-2025;;fire;28"], "INVALID_NUMBER"),
    ("unknown analysis", "labs", [f"{P1};04-09-2024;crp;20;mg/L"], "INVALID_CODE"),
    ("unknown phase", "treatment_courses", [f"{P1};K9;induction;x;01-03-2025;;4;28"], "INVALID_CODE"),
    ("bad sex", "patients", ["0101504418;X;01-01-1950;"], "INVALID_CODE"),
    ("bad boolean", "diagnoses", [f"{P1};02-09-2023;DC900;4202010;1;ingen;2;nej;ja;;J;"], "INVALID_CODE"),
    ("bad region", "departments", ["9999;Afd;Hosp;Skåne"], "INVALID_CODE"),
    ("bad region named as a region", "departments", ["9998;Afd;Hosp;Region Skåne"], "INVALID_CODE"),
    ("bad atc", "drugs", ["K1001;BORTEZOMIB;x;1;mg;1"], "INVALID_CODE"),
    ("bad days", "drugs", ["K1001;L01AA01;x;1;mg;21-1"], "INVALID_CODE"),
    ("bad response", "responses", [f"{P1};01-06-2025;efter_asct;nCR;;"], "INVALID_CODE"),
    ("unit mismatch", "labs", [f"{P1};04-09-2024;b2m;3,1;µmol/L"], "UNIT_MISMATCH"),
    ("height out of range", "anthropometrics", [f"{P1};09-02-2025;17;86"], "OUT_OF_RANGE"),
    ("weight out of range", "anthropometrics", [f"{P1};09-02-2025;181;900"], "OUT_OF_RANGE"),
    ("creatinine zero", "labs", [f"{P1};04-09-2024;kreatinin;0;µmol/L"], "OUT_OF_RANGE"),
    ("creatinine mg/dL out of range", "labs", [f"{P1};04-09-2024;kreatinin;90;mg/dL"], "OUT_OF_RANGE"),
    ("after extract", "labs", [f"{P1};02-12-2025;ldh;200;U/L"], "DATE_AFTER_EXTRACT"),
    ("death before birth", "patients", ["0101504418;M;01-01-1950;31-12-1949"], "DEATH_BEFORE_BIRTH"),
    ("before birth", "labs", [f"{P1};01-01-1960;ldh;200;U/L"], "BEFORE_BIRTH"),
    ("orphan cpr", "labs", ["0101504418;04-09-2024;ldh;200;U/L"], "ORPHAN"),
    ("orphan course", "drugs", ["K404;L01AA01;x;1;mg;1"], "ORPHAN"),
]


@pytest.mark.parametrize("case_id,file,lines,reason", CASES, ids=[c[0] for c in CASES])
def test_rule_quarantines_the_row(tmp_path, case_id, file, lines, reason):
    con = stage(write_delivery(tmp_path / "d", {file: lines}), tmp_path / "t.duckdb")
    assert quarantined(con) == {(f"{file}.csv", next_line(file), reason)}
    recon = dict((r[0], r[1:]) for r in con.execute("select * from stg_reconciliation").fetchall())
    rows_in, clean, bad, dups = recon[f"{file}.csv"]
    assert (rows_in, clean, bad, dups) == (len(BASE[file]), len(BASE[file]) - 1, 1, 0)


def test_after_death_and_course_end_date_exempt(tmp_path):
    died = "0101504418;M;01-01-1950;01-06-2025"
    extra = {
        "patients": [died],
        "procedures": ["0101504418;02-06-2025;asct;", "0101504418;01-06-2025;asct;"],
        "treatment_courses": [f"{P1};K9;vedligehold;Len;01-11-2025;31-12-2025;2;28"],
    }
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    assert quarantined(con) == {("procedures.csv", next_line("procedures"), "AFTER_DEATH")}
    assert con.execute("select count(*) from stg_treatment_courses where course_id = 'K9'").fetchone() == (1,)


def test_rows_of_a_quarantined_patient_are_orphans_naming_the_patient_line(tmp_path):
    extra = {"patients": ["0101504418;M;01-01-1950;31-12-1949"], "labs": ["0101504418;04-09-2024;ldh;200;U/L"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    text = con.execute("select reason_text from stg_quarantine where file = 'labs.csv'").fetchone()[0]
    assert "patients.csv line 4: DEATH_BEFORE_BIRTH" in text


def test_drugs_of_a_quarantined_course_are_orphans(tmp_path):
    extra = {"treatment_courses": [f"{P1};K9;andet;x;31-02-2025;;1;28"], "drugs": ["K9;L01AA01;x;1;mg;1"]}  # bad date
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    assert ("drugs.csv", next_line("drugs"), "ORPHAN") in quarantined(con)


def test_exact_duplicates_collapse_after_parsing(tmp_path):
    extra = {
        "labs": [f"120361-4417;10-02-2025;kreatinin;91,0;umol/L", f"{P1};2025-02-10;kreatinin;91.0;µmol/L"],
        "patients": ["120361-4417;M;12-03-1961;"],
    }
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    assert quarantined(con) == set()
    recon = {r[0]: r[1:] for r in con.execute("select * from stg_reconciliation").fetchall()}
    assert recon["labs.csv"] == (6, 4, 0, 2)
    assert recon["patients.csv"] == (3, 2, 0, 1)
    assert con.execute("select min(_line) from stg_labs where sample_date = date '2025-02-10'").fetchone() == (4,)


def test_conflicting_duplicates_quarantine_every_version(tmp_path):
    extra = {"labs": [f"{P1};10-02-2025;kreatinin;95;µmol/L"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    assert quarantined(con) == {("labs.csv", 4, "CONFLICTING_DUPLICATE"), ("labs.csv", 6, "CONFLICTING_DUPLICATE")}
    text = con.execute("select reason_text from stg_quarantine limit 1").fetchone()[0]
    assert "lines 4, 6" in text


def test_conflicting_patient_rows_orphan_the_patients_data(tmp_path):
    con = stage(write_delivery(tmp_path / "d", {"patients": ["1203614417;K;12-03-1961;"]}), tmp_path / "t.duckdb")
    reasons = con.execute("select file, reason_code, count(*) from stg_quarantine group by all order by 1").fetchall()
    assert ("patients.csv", "CONFLICTING_DUPLICATE", 2) in reasons
    assert ("labs.csv", "ORPHAN", 3) in reasons
    assert con.execute("select count(*) from stg_drugs where course_id like 'K1%'").fetchone() == (0,)


def test_missing_value_spellings_and_decimal_point(tmp_path):
    extra = {"responses": [f"{P1};01-06-2025;andet;CR;uoplyst;."], "anthropometrics": [f"{P1};2025-03-01;181.5;NA"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    assert quarantined(con) == set()
    assert con.execute("select mrd, mrd_sensitivity from stg_responses where timepoint = 'andet'").fetchone() == (None, None)
    assert con.execute("select height_cm, weight_kg from stg_anthropometrics where measure_date = date '2025-03-01'"
                       ).fetchone() == (181.5, None)


def test_quarantine_record_carries_pseudonym_not_cpr(tmp_path):
    extra = {"labs": ["120361-4417;31-02-2024;ldh;200;U/L", "12036144;31-02-2024;ldh;200;U/L"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    records = [r[0] for r in con.execute("select record from stg_quarantine").fetchall()]
    assert len(records) == 2
    for record in records:
        assert "1203614417" not in record and "120361-4417" not in record and "12036144" not in record
        assert record.startswith("P")


def test_rows_no_rule_of_the_format_refuses_are_kept(tmp_path):
    """extract-format.md lists the rules that quarantine a row; these break none of them (found by a
    review of the format): a course ending before it starts (the indicators never read the end),
    an HDT evaluation dated long before the diagnosis, a response without a timepoint (not among
    the values that must be non-empty), a region in lower case or by its official name."""
    extra = {"treatment_courses": [f"{P1};K9;andet;x;01-03-2025;01-02-2025;1;28"],
             "diagnoses": [f"{P1};02-09-2023;DC901;4202010;1;ingen;2;nej;J;01-01-2021;J;"],
             "responses": [f"{P1};01-06-2025;;PD;;"],
             "departments": ["4202011;Afd;Hosp;syddanmark",                   # codes are compared in lower case
                             "4202012;Afd;Hosp;Region Hovedstaden", "4202013;Afd;Hosp;REGION  sjælland"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    assert quarantined(con) == set()
    assert con.execute("select department_code, region from stg_departments where department_code > '4202010' "
                       "order by 1").fetchall() == [("4202011", "Syddanmark"), ("4202012", "Hovedstaden"),
                                                    ("4202013", "Sjælland")]
    assert con.execute("select end_date::varchar from stg_treatment_courses where course_id = 'K9'").fetchone() == ("2025-02-01",)
    assert con.execute("select hdt_evaluation_date::varchar from stg_diagnoses where icd10 = 'DC901'").fetchone() == ("2021-01-01",)
    assert con.execute("select timepoint, response from stg_responses where assessment_date = date '2025-06-01'"
                       ).fetchall() == [(None, "PD")]


def test_malformed_line_record_carries_the_pseudonym_of_its_cpr_field(tmp_path):
    """indicators.md §3: the record is the row as delivered "with the CPR replaced by its
    pseudonym — an invalid CPR by the pseudonym of the string as delivered". A malformed line is
    kept whole; the detector masks only what it takes for a CPR, so an impossible date or a
    truncated number stayed clear there (found by a review of the format)."""
    extra = {"patients": ["3201701400;K;01-01-1970;;x", "010270140;K;01-01-1970;;x", "1203614417;M"],
             "labs": ["3201701400;01-01-2023;b2m;3;mg/L;x", ";01-01-2023;b2m;3;mg/L;x"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    rows = {(f, line): (reason, record) for f, line, reason, record in
            con.execute("select file, line, reason_code, record from stg_quarantine").fetchall()}
    p = Pseudonymiser(KEY)
    first = next_line("patients")
    assert rows[("patients.csv", first)] == ("MALFORMED_ROW", f"{p('3201701400')};K;01-01-1970;;x")
    assert rows[("patients.csv", first + 1)] == ("MALFORMED_ROW", f"{p('010270140')};K;01-01-1970;;x")
    assert rows[("patients.csv", first + 2)] == ("MALFORMED_ROW", f"{p('1203614417')};M")
    assert rows[("labs.csv", next_line("labs"))] == ("MALFORMED_ROW", f"{p('3201701400')};01-01-2023;b2m;3;mg/L;x")
    assert rows[("labs.csv", next_line("labs", 1))] == ("MALFORMED_ROW", ";01-01-2023;b2m;3;mg/L;x")  # nothing to hide


def test_standardised_codes(tmp_path):
    extra = {"diagnoses": ["0807580128;01-02-2025;C90.0;4202010;1;Ingen;2;NEJ;1;;0;Alder"]}
    con = stage(write_delivery(tmp_path / "d", extra), tmp_path / "t.duckdb")
    row = con.execute("select icd10, comorbidity, extramedullary, hdt_evaluated, hdt_candidate, hdt_not_candidate_reason "
                      "from stg_diagnoses where diagnosis_date = date '2025-02-01'").fetchone()
    assert row == ("DC900", "ingen", "nej", True, False, "alder")
    assert con.execute("select value_std, unit_std from stg_labs where unit = 'mg/dL'").fetchone() == (pytest.approx(123.76), "µmol/L")
    assert con.execute("select n_days from stg_drugs where days = '1,2,4,5,8,9,11,12'").fetchone() == (8,)
