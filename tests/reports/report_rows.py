"""Report-layer inputs from given rows, for the report tests (no upstream pipeline).

``create_inputs(con, patients, departments)`` creates ``stg_departments``,
``rpt_patient_results`` and ``rpt_indicator_summary`` with exactly the columns the report
layer is promised (the summary computed here in Python from the patient rows: counts per
status, numerator = met, denominator = met + not_met + unknown, Wilson 95 %, standard from
the catalogue). ``cohort(seed)`` makes a deterministic synthetic cohort of results over
three years in five regions, including hostile department codes and texts.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import date, timedelta

import duckdb
import polars as pl

from pipelines.indicators.catalogue import BY_ID, CATALOGUE

STATUSES = ("met", "not_met", "unknown", "justified", "excluded", "pending")

# (department_code, department_name, hospital, region)
DEPARTMENTS = [
    ("1301011", "Hæmatologisk Klinik, Rigshospitalet", "Rigshospitalet", "Hovedstaden"),
    ("1516010", "Hæmatologisk Afdeling, Herlev", "Herlev og Gentofte Hospital", "Hovedstaden"),
    ("1516011", "Dagafsnit, Herlev", "Herlev og Gentofte Hospital", "Hovedstaden"),
    ("3800431", "Hæmatologisk Afdeling, Roskilde", "Sjællands Universitetshospital, Roskilde", "Sjælland"),
    ("CON", "Hæmatologi <script>alert('afd')</script>", "Sjællands Universitetshospital, Roskilde", "Sjælland"),
    ("4202011", "Hæmatologisk Afdeling X, OUH", "Odense Universitetshospital", "Syddanmark"),
    ("4211020", "Medicinsk Afdeling, Vejle", "Sygehus Lillebælt", "Syddanmark"),
    ("../../etc/x", "Afdeling med mærkelig kode", "Sygehus Lillebælt", "Syddanmark"),
    ("6620010", "Blodsygdomme, Aarhus Universitetshospital", "Aarhus Universitetshospital", "Midtjylland"),
    ("6650213", "Hæmatologisk Afdeling, Gødstrup", "Regionshospitalet Gødstrup", "Midtjylland"),
    ("8001241", "Klinik Kræft, Hæmatologisk Afdeling, Aalborg", "Aalborg Universitetshospital", "Nordjylland"),
]
UNLISTED = "9999999"  # results from a department missing from departments.csv

# relative size of each department (patients per year ≈ 14 × weight)
WEIGHTS = {"1301011": 6, "1516010": 2.5, "1516011": 0.3, "3800431": 2.5, "CON": 0.4, "4202011": 3.5,
           "4211020": 1.2, "../../etc/x": 0.25, "6620010": 4, "6650213": 1.5, "8001241": 2, UNLISTED: 0.2}

# probabilities of met, not_met, unknown, justified, excluded, pending per indicator
PROFILE = {
    "MM01": (0.9, 0.03, 0.03, 0, 0.04, 0), "MM02": (0.85, 0.08, 0.03, 0, 0.04, 0),
    "MM03": (0.88, 0.06, 0.06, 0, 0, 0), "MM04": (0.9, 0.05, 0.05, 0, 0, 0),
    "MM05": (0.8, 0.08, 0, 0.04, 0.04, 0.04), "MM06": (0.75, 0.1, 0, 0.05, 0.05, 0.05),
    "MM07": (0.85, 0.1, 0.05, 0, 0, 0), "MM08": (0.5, 0.4, 0, 0, 0.1, 0),
    "MM09": (0.4, 0.5, 0, 0, 0.1, 0), "MM10": (0.5, 0.3, 0.2, 0, 0, 0),
    "MM11": (0.7, 0.2, 0, 0, 0.03, 0.07), "MM12": (0.6, 0.4, 0, 0, 0, 0),
    "MM13": (0.8, 0.15, 0.05, 0, 0, 0), "MM14": (0.95, 0.03, 0, 0, 0, 0.02), "MM15": (0.85, 0.15, 0, 0, 0, 0),
}
# share of a department's patients in each indicator's population
REACH = {"MM01": 1.0, "MM02": 0.6, "MM03": 0.6, "MM04": 0.55, "MM05": 0.7, "MM06": 0.55, "MM07": 0.45,
         "MM08": 0.12, "MM09": 0.1, "MM10": 0.08, "MM11": 0.6, "MM12": 0.6, "MM13": 0.1, "MM14": 0.6,
         "MM15": 0.8}
CODES = {"met": "MET", "not_met": "NOT_MET_EXAMPLE", "unknown": "DATA_MISSING", "justified": "ACCEPTED_REASON",
         "excluded": "EXCLUDED_RULE", "pending": "WINDOW_OPEN"}

HOSTILE_TEXT = "=HYPERLINK(\"http://evil.example\",\"klik\") <img src=x onerror=alert(1)>"


def pseudonym(rng: random.Random) -> str:
    return "P" + "".join(rng.choice("0123456789abcdef") for _ in range(16))


def cohort(seed: int = 7, years: tuple[int, ...] = (2024, 2025, 2026), scale: float = 1.0) -> list[dict]:
    """Patient × indicator rows (the rpt_patient_results columns), deterministic per seed."""
    rng = random.Random(seed)
    rows: list[dict] = []
    hostile_done = False
    for year in years:
        for code, weight in WEIGHTS.items():
            for _ in range(max(1, round(rng.gauss(14 * weight * scale, 2)))):
                patient = pseudonym(rng)
                day = date(year, 1, 1) + timedelta(days=rng.randrange(0, 300))
                risk = rng.choice(["standard", "standard", "high", "unknown"])
                for indicator in CATALOGUE:
                    iid = indicator.indicator_id
                    if iid != "MM01" and rng.random() > REACH[iid]:
                        continue
                    status = rng.choices(STATUSES, PROFILE[iid])[0]
                    version = "v2.0" if day >= date(2026, 4, 7) else "v1.5"
                    text = f"Rec {indicator.recommendations} ({indicator.grade}): {status} for {iid}"
                    if status == "not_met" and not hostile_done and code == "4202011":
                        text, hostile_done = HOSTILE_TEXT, True
                    values = {"age": rng.randint(40, 70), "crcl_ml_min": round(rng.uniform(20, 120), 1),
                              "days": rng.randint(0, 400), "note": "-1 dag" if rng.random() < 0.05 else None}
                    rows.append({
                        "pseudonym": patient, "indicator_id": iid, "status": status,
                        "reason_code": CODES[status], "reason_text": text, "index_date": day,
                        "guideline_version": version, "department_code": code, "risk": risk,
                        "risk_rules": "1;3" if risk == "high" else "", "values_json": json.dumps(values),
                    })
    return rows


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


def summary(patients: list[dict], departments: list[tuple] = DEPARTMENTS) -> list[dict]:
    """rpt_indicator_summary rows computed from patient rows."""
    where = {code: (hospital, region) for code, _, hospital, region in departments}
    counts: dict[tuple, Counter] = {}
    for row in patients:
        hospital, region = where.get(row["department_code"], ("ukendt", "ukendt"))
        key = (row["indicator_id"], row["index_date"].year)
        for level, unit in (("national", "Danmark"), ("region", region), ("hospital", hospital),
                            ("department", row["department_code"])):
            counts.setdefault((*key, level, unit), Counter())[row["status"]] += 1
    out = []
    for (iid, year, level, unit), c in sorted(counts.items()):
        n, d = c["met"], c["met"] + c["not_met"] + c["unknown"]
        low, high = wilson(n, d)
        standard = BY_ID[iid].standard
        proportion = n / d if d else None
        out.append({
            "indicator_id": iid, "year": year, "level": level, "unit": unit,
            **{s: c[s] for s in STATUSES}, "numerator": n, "denominator": d, "proportion": proportion,
            "ci_low": low, "ci_high": high, "standard": standard,
            "standard_met": None if standard is None or not d else proportion >= standard,
            "proportion_known": n / (n + c["not_met"]) if n + c["not_met"] else None,
        })
    return out


PATIENT_SCHEMA = {"pseudonym": pl.String, "indicator_id": pl.String, "status": pl.String, "reason_code": pl.String,
                  "reason_text": pl.String, "index_date": pl.Date, "guideline_version": pl.String,
                  "department_code": pl.String, "risk": pl.String, "risk_rules": pl.String, "values_json": pl.String}
SUMMARY_SCHEMA = {"indicator_id": pl.String, "year": pl.Int32, "level": pl.String, "unit": pl.String,
                  **{s: pl.Int32 for s in STATUSES}, "numerator": pl.Int32, "denominator": pl.Int32,
                  "proportion": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "standard": pl.Float64,
                  "standard_met": pl.Boolean, "proportion_known": pl.Float64}
DEPARTMENT_SCHEMA = {"department_code": pl.String, "department_name": pl.String, "hospital": pl.String,
                     "region": pl.String}
FLAG_SCHEMA = {"indicator_id": pl.String, "department_code": pl.String, "flag": pl.String, "reason": pl.String}


def _table(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict], schema: dict) -> None:
    frame = pl.DataFrame(rows, schema=schema)
    con.register("_rows", frame)
    con.execute(f"create table {name} as select * from _rows")
    con.unregister("_rows")


def create_inputs(con: duckdb.DuckDBPyConnection, patients: list[dict],
                  departments: list[tuple] = DEPARTMENTS, quality_flags: list[tuple] | None = None) -> None:
    """stg_departments, rpt_patient_results, rpt_indicator_summary (and rpt_quality_flags if given)."""
    _table(con, "stg_departments", [dict(zip(DEPARTMENT_SCHEMA, d)) for d in departments], DEPARTMENT_SCHEMA)
    _table(con, "rpt_patient_results", [{c: r[c] for c in PATIENT_SCHEMA} for r in patients], PATIENT_SCHEMA)
    _table(con, "rpt_indicator_summary", [{c: r[c] for c in SUMMARY_SCHEMA} for r in summary(patients, departments)],
           SUMMARY_SCHEMA)
    if quality_flags is not None:
        _table(con, "rpt_quality_flags", [dict(zip(FLAG_SCHEMA, f)) for f in quality_flags], FLAG_SCHEMA)


def connect(path, patients: list[dict] | None = None, **kwargs) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    create_inputs(con, cohort() if patients is None else patients, **kwargs)
    return con
