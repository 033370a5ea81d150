"""Build small deliveries for tests: the two-patient example of the spec plus given lines."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines import parameters
from pipelines.ingest.delivery import open_delivery
from pipelines.ingest.raw_reader import read_raw
from pipelines.ingest.raw_tables import create_raw_table
from pipelines.ingest.staging import build_staging
from pipelines.lib.extract_format import FILES, DeliveryFile
from pipelines.lib.pseudonym import Pseudonymiser
from pipelines.lib.sql_loader import render

KEY = b"test-key"
EXTRACT_DATE = date(2025, 12, 1)

# The spec's worked example (shared/spec/example), inlined so tests stand alone.
BASE: dict[str, list[str]] = {
    "departments": ["department_code;department_name;hospital;region",
                    "4202010;Hæmatologisk Afdeling X, Odense Universitetshospital;Odense Universitetshospital;Syddanmark"],
    "patients": ["cpr;sex;birth_date;death_date", "120361-4417;M;12-03-1961;", "0807580128;K;08-07-1958;"],
    "diagnoses": ["cpr;diagnosis_date;icd10;department_code;ecog_ps;comorbidity;iss_stage;extramedullary;hdt_evaluated;hdt_evaluation_date;hdt_candidate;hdt_not_candidate_reason",
                  "1203614417;02-09-2024;DC900;4202010;1;ingen;2;nej;J;09-09-2024;J;",
                  "0807580128;15-01-2025;DC900;4202010;2;let;3;nej;J;20-01-2025;N;performance"],
    "labs": ["cpr;sample_date;analysis;value;unit", "1203614417;03-09-2024;b2m;3,1;mg/L",
             "1203614417;03-09-2024;kreatinin;84;µmol/L", "1203614417;10-02-2025;kreatinin;91;µmol/L",
             "0807580128;16-01-2025;kreatinin;1,4;mg/dL"],
    "anthropometrics": ["cpr;measure_date;height_cm;weight_kg", "1203614417;08-02-2025;181;86,5"],
    "cytogenetics": ["cpr;sample_date;aberration;result;clonal_fraction_pct", "1203614417;05-09-2024;del17p;neg;",
                     "1203614417;05-09-2024;t4_14;neg;", "1203614417;05-09-2024;gain1q;pos;35"],
    "treatment_courses": ["cpr;course_id;phase;regimen;start_date;end_date;cycles;cycle_length_days",
                          "1203614417;K1001;induktion;VRd;16-09-2024;24-11-2024;4;21",
                          "1203614417;K1002;mobilisering;Cyclo;02-12-2024;02-12-2024;1;1",
                          "1203614417;K1003;konditionering;HD-Mel;11-02-2025;12-02-2025;1;2",
                          "1203614417;K1004;vedligehold;Len;14-05-2025;;8;28",
                          "0807580128;K2001;induktion;Dara-Rd;27-01-2025;;6;28"],
    "drugs": ["course_id;atc;drug_name;dose;dose_unit;days", "K1001;L01XG01;bortezomib;1,3;mg/m2;1,4,8,11",
              "K1001;L04AX04;lenalidomid;25;mg;1-14", "K1001;H02AB02;dexamethason;20;mg;1,2,4,5,8,9,11,12",
              "K1002;L01AA01;cyclophosphamid;2;g/m2;1", "K1003;L01AA03;melfalan;100;mg/m2;1-2",
              "K1004;L04AX04;lenalidomid;10;mg;1-21", "K2001;L01FC01;daratumumab;1800;mg;1,8,15,22",
              "K2001;L04AX04;lenalidomid;25;mg;1-21", "K2001;H02AB02;dexamethason;40;mg;1,8,15,22"],
    "procedures": ["cpr;procedure_date;procedure;sks_code", "1203614417;12-12-2024;leukaferese;",
                   "1203614417;13-02-2025;asct;BOQF0", "1203614417;20-03-2025;rehabilitering;"],
    "responses": ["cpr;assessment_date;timepoint;response;mrd;mrd_sensitivity",
                  "1203614417;28-11-2024;efter_induktion;VGPR;;", "1203614417;15-05-2025;efter_asct;CR;pos;0,00001"],
}
CLEAR_CPRS = ["1203614417", "120361-4417", "0807580128"]

# lines for several files at once that reach the rules reading another file's judged rows:
# an orphan lab and drug, a lab before birth, a quarantined patient's rows, a conflicting course
CASES_ACROSS_FILES: dict[str, list[str]] = {
    "patients": ["12036A4417;M;12-03-1961;", "0101504418;M;01-01-1950;", "0101504418;K;01-01-1950;"],
    "labs": ["0202024418;04-09-2024;ldh;200;U/L", "1203614417;01-01-1960;ldh;200;U/L",
             "0101504418;04-09-2024;ldh;200;U/L", "1203614417;03-09-2024;b2m;3,1;mg/L"],
    "treatment_courses": ["1203614417;K3001;andet;x;01-03-2025;;1;28", "1203614417;K3001;andet;y;01-03-2025;;1;28"],
    "drugs": ["K3001;L01AA01;cyclophosphamid;1;mg;1", "K404;L01AA01;x;1;mg;1"],
    "responses": ["0101504418;01-06-2025;efter_asct;CR;;"],
}


def write_delivery(folder: Path, extra: dict[str, list[str]] | None = None, *, replace: dict[str, list[str]] | None = None,
                   encoding: str = "utf-8", newline: str = "\n", bom: bool = False,
                   manifest: bool | dict = True, extract_date: date = EXTRACT_DATE) -> Path:
    """Write BASE (+ ``extra`` lines appended per file, or ``replace`` whole files) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, lines in BASE.items():
        lines = (replace or {}).get(name, lines) + (extra or {}).get(name, [])
        data = (newline.join(lines) + newline).encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        (folder / f"{name}.csv").write_bytes(data)
        files[f"{name}.csv"] = {"rows": len(lines) - 1, "sha256": hashlib.sha256(data).hexdigest()}
    if manifest:
        content = manifest if isinstance(manifest, dict) else {
            "extract_id": "TEST-1", "extracted_at": extract_date.isoformat(), "files": files}
        (folder / "manifest.json").write_text(json.dumps(content), encoding="utf-8")
    return folder


def stage(folder: Path, db: Path, extract_date: date = EXTRACT_DATE, key: bytes = KEY) -> duckdb.DuckDBPyConnection:
    """Raw + staging layers without Dagster (the pure functions the assets call)."""
    con = duckdb.connect(str(db))
    delivery = open_delivery(folder)
    pseudonymise = Pseudonymiser(key)
    for dfile in FILES:
        frame, _ = read_raw(dfile.filename, delivery.files[dfile.filename], dfile, pseudonymise)
        create_raw_table(con, dfile.raw_table, frame)
    build_staging(con, parameters.resolve() | {"extract_date": extract_date})
    return con


def raw_rows(dfile: DeliveryFile, frame: pl.DataFrame) -> pl.DataFrame:
    """The raw table ``frame`` (``read_raw`` of ``dfile``) becomes, as the raw step writes it,
    read back in line order with ``_record``, the line as delivered, as the quarantine makes it."""
    con = duckdb.connect()
    create_raw_table(con, dfile.raw_table, frame)
    record = render("{% import 'raw/_record.sql' as raw %}{{ raw.record('r', fields) }}", fields=dfile.raw_columns)
    return con.sql(f"select *, {record} as _record from {dfile.raw_table} as r order by _line").pl()


def quarantined(con: duckdb.DuckDBPyConnection) -> set[tuple[str, int, str]]:
    return set(con.execute("select file, line, reason_code from stg_quarantine").fetchall())
