"""Staging tables from given rows, for the indicator-engine tests.

``create_staging(con, rows)`` creates all ten ``stg_`` tables with the staging layer's exact
schema (read from the staging layer itself: ``staging_schemas``) and inserts the given rows (dicts; missing columns are NULL,
``_line`` is numbered). ``Deck`` writes such rows per test patient with a few defaults, so a
test states only what its rule needs.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines import parameters
from pipelines.indicators.build import build_all, build_model, models, prepare_session
from pipelines.indicators.catalogue import BY_ID
from pipelines.ingest.raw_reader import read_raw
from pipelines.ingest.raw_tables import create_raw_table
from pipelines.ingest.staging import build_staging
from pipelines.lib.extract_format import FILES
from pipelines.lib.pseudonym import Pseudonymiser
from pipelines.lib.sql_loader import set_variables


@lru_cache(maxsize=1)
def staging_schemas() -> dict[str, tuple[tuple[str, str], ...]]:
    """The ``stg_`` tables' columns and types, as the staging layer makes them: an empty
    delivery (headers only) is read and staged, so the schema is written nowhere but there."""
    con = duckdb.connect()
    pseudonymise = Pseudonymiser(b"schema")
    for dfile in FILES:
        frame, _ = read_raw(dfile.filename, (";".join(dfile.columns) + "\n").encode(), dfile, pseudonymise)
        create_raw_table(con, dfile.raw_table, frame)
    build_staging(con, {**parameters.resolve(), "extract_date": date(2026, 1, 1)})
    return {f.stg_table: tuple((name, kind) for name, kind, *_ in con.execute(f"describe {f.stg_table}").fetchall()
                               if name != "_line") for f in FILES}


CREATININE_UMOL_PER_MG_DL = 88.4


def create_staging(con: duckdb.DuckDBPyConnection, rows: dict[str, list[dict]] | None = None) -> None:
    """All ten stg_ tables, empty unless ``rows[table]`` gives rows."""
    rows = rows or {}
    schemas = staging_schemas()
    unknown = set(rows) - set(schemas)
    if unknown:
        raise KeyError(f"not a staging table: {sorted(unknown)}")
    for table, columns in schemas.items():
        ddl = ", ".join(f"{name} {kind}" for name, kind in columns)
        con.execute(f"create or replace table {table} ({ddl}, _line INTEGER)")
        names = [name for name, _ in columns]
        given = rows.get(table, [])
        for row in given:
            extra = set(row) - set(names)
            if extra:
                raise KeyError(f"{table} has no column {sorted(extra)}")
        if given:  # one statement per table: the tests build many small databases
            tuple_sql = "(" + ", ".join("?" * (len(names) + 1)) + ")"
            con.execute(
                f"insert into {table} ({', '.join(names)}, _line) values {', '.join([tuple_sql] * len(given))}",
                [value for line, row in enumerate(given, start=2) for value in [row.get(n) for n in names] + [line]],
            )


def n_days(days: str | None) -> int | None:
    """Administration days in a cycle: '1-21' → 21, '1,4,8,11' → 4 (as the staging layer)."""
    if days is None:
        return None
    total = 0
    for part in days.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        total += int(last) - int(first) + 1 if last else 1
    return total


def pseudonym_of(name: str) -> str:
    return "P" + hashlib.sha256(name.encode()).hexdigest()[:16]


# ATC codes by substance, for readable decks.
ATC = {
    "bortezomib": "L01XG01", "carfilzomib": "L01XG02", "ixazomib": "L01XG03",
    "thalidomide": "L04AX02", "lenalidomide": "L04AX04", "pomalidomide": "L04AX06",
    "daratumumab": "L01FC01", "isatuximab": "L01FC02",
    "dexamethasone": "H02AB02", "prednisolone": "H02AB06",
    "cyclophosphamide": "L01AA01", "melphalan": "L01AA03",
}

# Regimens as (substance, dose, unit, days) rows.
REGIMENS: dict[str, list[tuple[str, float, str, str]]] = {
    "VRd": [("bortezomib", 1.3, "mg/m2", "1,4,8,11"), ("lenalidomide", 25, "mg", "1-14"),
            ("dexamethasone", 20, "mg", "1,2,4,5,8,9,11,12")],
    "VCd": [("bortezomib", 1.3, "mg/m2", "1,4,8,11"), ("cyclophosphamide", 300, "mg/m2", "1,8,15"),
            ("dexamethasone", 40, "mg", "1,8,15")],
    "D-VRd": [("daratumumab", 1800, "mg", "1,8,15"), ("bortezomib", 1.3, "mg/m2", "1,4,8,11"),
              ("lenalidomide", 25, "mg", "1-14"), ("dexamethasone", 20, "mg", "1,2,8,9")],
    "D-KRd": [("daratumumab", 1800, "mg", "1,8,15"), ("carfilzomib", 56, "mg/m2", "1,8,15"),
              ("lenalidomide", 25, "mg", "1-21"), ("dexamethasone", 40, "mg", "1,8,15,22")],
    "D-VCRd": [("daratumumab", 1800, "mg", "1,8,15"), ("bortezomib", 1.3, "mg/m2", "1,4,8,11"),
               ("cyclophosphamide", 300, "mg/m2", "1,8"), ("lenalidomide", 25, "mg", "1-14"),
               ("dexamethasone", 20, "mg", "1,2,8,9")],
    "KRd": [("carfilzomib", 56, "mg/m2", "1,8,15"), ("lenalidomide", 25, "mg", "1-21"),
            ("dexamethasone", 40, "mg", "1,8,15,22")],
    "Dara-Rd": [("daratumumab", 1800, "mg", "1,8,15,22"), ("lenalidomide", 25, "mg", "1-21"),
                ("dexamethasone", 40, "mg", "1,8,15,22")],
    "R": [("lenalidomide", 10, "mg", "1-21")],
    "DR": [("daratumumab", 1800, "mg", "1"), ("lenalidomide", 10, "mg", "1-21")],
    "Dara": [("daratumumab", 1800, "mg", "1")],
    "Thal": [("thalidomide", 100, "mg", "1-28")],
    "Cy2": [("cyclophosphamide", 2, "g/m2", "1")],
    "Mel200": [("melphalan", 200, "mg/m2", "1")],
    "Mel140": [("melphalan", 140, "mg/m2", "1")],
}


class Deck:
    """Staging rows for a handful of test patients; ``build`` runs the whole engine."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.rows["stg_departments"] = [
            {"department_code": "D1", "department_name": "Hæmatologisk Afdeling, Odense",
             "hospital": "Odense Universitetshospital", "region": "Syddanmark"},
            {"department_code": "D2", "department_name": "Hæmatologisk Klinik, Rigshospitalet",
             "hospital": "Rigshospitalet", "region": "Hovedstaden"},
        ]
        self._courses = 0

    def patient(self, name: str, *, sex: str = "M", birth: str = "1965-06-15", death: str | None = None,
                dx: str | None = "2024-01-10", icd10: str = "DC900", dept: str = "D1", **diagnosis) -> str:
        """A patient with an index diagnosis (``dx=None``: none); returns the pseudonym."""
        pid = pseudonym_of(name)
        self.rows["stg_patients"].append({"pseudonym": pid, "sex": sex, "birth_date": _d(birth),
                                          "death_date": _d(death)})
        if dx is not None:
            values = {"ecog_ps": 0, "comorbidity": "ingen", "iss_stage": 1, "extramedullary": "nej",
                      "hdt_evaluated": True, "hdt_candidate": True}
            values.update(diagnosis)
            for key in ("hdt_evaluation_date",):
                values[key] = _d(values.get(key))
            self.rows["stg_diagnoses"].append({"pseudonym": pid, "diagnosis_date": _d(dx), "icd10": icd10,
                                               "department_code": dept, **values})
        return pid

    def diagnosis(self, name: str, dx: str, icd10: str = "DC900", dept: str = "D1", **values) -> None:
        self.rows["stg_diagnoses"].append({"pseudonym": pseudonym_of(name), "diagnosis_date": _d(dx),
                                           "icd10": icd10, "department_code": dept, **values})

    def course(self, name: str, phase: str, start: str, regimen: str | list | None = None, *,
               cycles: int | None = 1, cycle_length: int | None = 28, end: str | None = None,
               course_id: str | None = None) -> str:
        """A course; ``regimen`` a REGIMENS name or a list of (substance or ATC, dose, unit, days)."""
        self._courses += 1
        course_id = course_id or f"K{self._courses:04d}"
        drugs = REGIMENS[regimen] if isinstance(regimen, str) else (regimen or [])
        self.rows["stg_treatment_courses"].append({
            "pseudonym": pseudonym_of(name), "course_id": course_id, "phase": phase,
            "regimen": regimen if isinstance(regimen, str) else None, "start_date": _d(start),
            "end_date": _d(end), "cycles": cycles, "cycle_length_days": cycle_length})
        for substance, dose, unit, days in drugs:
            self.rows["stg_drugs"].append({
                "course_id": course_id, "atc": ATC.get(substance, substance), "drug_name": substance,
                "dose": dose, "dose_unit": unit, "days": days, "n_days": n_days(days)})
        return course_id

    def procedure(self, name: str, when: str, procedure: str) -> None:
        self.rows["stg_procedures"].append({"pseudonym": pseudonym_of(name), "procedure_date": _d(when),
                                            "procedure": procedure,
                                            "sks_code": "BOQF0" if procedure == "asct" else None})

    def lab(self, name: str, when: str, analysis: str, value: float, unit: str) -> None:
        value_std = value * CREATININE_UMOL_PER_MG_DL if unit == "mg/dL" else value
        unit_std = "µmol/L" if analysis == "kreatinin" else unit
        self.rows["stg_labs"].append({"pseudonym": pseudonym_of(name), "sample_date": _d(when),
                                      "analysis": analysis, "value": value, "unit": unit,
                                      "value_std": value_std, "unit_std": unit_std})

    def body(self, name: str, when: str, height_cm: float | None, weight_kg: float | None) -> None:
        self.rows["stg_anthropometrics"].append({"pseudonym": pseudonym_of(name), "measure_date": _d(when),
                                                 "height_cm": height_cm, "weight_kg": weight_kg})

    def cyto(self, name: str, when: str, aberration: str, result: str, fraction: float | None = None) -> None:
        self.rows["stg_cytogenetics"].append({"pseudonym": pseudonym_of(name), "sample_date": _d(when),
                                              "aberration": aberration, "result": result,
                                              "clonal_fraction_pct": fraction})

    def standard_risk(self, name: str, when: str = "2024-01-12") -> None:
        """del17p, t(4;14) and gain(1q) tested negative: risk 'standard'."""
        for aberration in ("del17p", "t4_14", "gain1q"):
            self.cyto(name, when, aberration, "neg")

    def high_risk(self, name: str, when: str = "2024-01-12") -> None:
        """Two HRCAs (t(4;14) and gain(1q)) besides a negative del17p: risk 'high', rule 3."""
        self.cyto(name, when, "del17p", "neg")
        self.cyto(name, when, "t4_14", "pos", 60)
        self.cyto(name, when, "gain1q", "pos", 40)

    def response(self, name: str, when: str, timepoint: str, response: str, mrd: str | None = None,
                 sensitivity: float | None | str = "default") -> None:
        """A response; an MRD result is at 10⁻⁵ unless ``sensitivity`` says otherwise (None: not reported)."""
        if sensitivity == "default":
            sensitivity = 1e-5 if mrd else None
        self.rows["stg_responses"].append({"pseudonym": pseudonym_of(name), "assessment_date": _d(when),
                                           "timepoint": timepoint, "response": response, "mrd": mrd,
                                           "mrd_sensitivity": sensitivity})

    def build(self, path: Path, extract_date: str = "2026-11-01", overrides: dict | None = None,
              indicators: tuple[str, ...] | None = None) -> duckdb.DuckDBPyConnection:
        """Staging tables in a new database file at ``path``, then the engine: all of it, or
        (``indicators`` given) the reference and intermediate layers, those indicators and
        rpt_patient_results over them only; ``indicators=()`` stops after the intermediate layer."""
        con = duckdb.connect(str(path))
        create_staging(con, self.rows)
        if indicators is None:
            build_all(con, extract_date, overrides)
            return con
        prepare_session(con, extract_date, overrides)
        tables = {BY_ID[i].table_name for i in indicators}
        set_variables(con, {"indicator_tables": sorted(tables)})
        for model in models():
            wanted = model.layer in ("reference", "intermediate") or model.table in tables or (
                model.table == "rpt_patient_results" and tables)
            if wanted:
                build_model(con, model)
        return con


def results(con: duckdb.DuckDBPyConnection, indicator_id: str) -> dict[str, tuple[str, str]]:
    """pseudonym → (status, reason_code) for one indicator."""
    return {p: (s, c) for p, s, c in con.execute(
        "select pseudonym, status, reason_code from rpt_patient_results where indicator_id = ?",
        [indicator_id]).fetchall()}


def outcomes(con: duckdb.DuckDBPyConnection, indicator_id: str, names) -> dict[str, tuple[str, str] | None]:
    """name → (status, reason_code) for the given deck patients; None where there is no row.
    Compare with a dict of expectations: ``assert outcomes(con, "MM01", expected) == expected``."""
    found = results(con, indicator_id)
    return {name: found.get(pseudonym_of(name)) for name in names}


def outcome(con: duckdb.DuckDBPyConnection, indicator_id: str, name: str) -> tuple[str, str] | None:
    """(status, reason_code) of one deck patient for one indicator; None when no row."""
    return results(con, indicator_id).get(pseudonym_of(name))


def row(con: duckdb.DuckDBPyConnection, indicator_id: str, name: str) -> dict:
    """The patient's full result row as a dict."""
    cursor = con.execute("select * from rpt_patient_results where indicator_id = ? and pseudonym = ?",
                         [indicator_id, pseudonym_of(name)])
    names = [d[0] for d in cursor.description]
    found = cursor.fetchone()
    return dict(zip(names, found)) if found else {}


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# What a clinician-facing (Danish) reason text must not show (indicators.md §1 "Statuses",
# "Regimen category"; glossary-da.md): ISO dates, internal codes (snake case: categories,
# reason codes, timepoints, "mrd_strategi"), rule numbers, a decimal point, English words.
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_INTERNAL_CODE = re.compile(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b")
_DECIMAL_POINT = re.compile(r"(?<![v\d.,])\d+\.\d{1,2}(?!\d)")
_ENGLISH = re.compile(r"\b(rules?|excluded|pending|window|cycles?|expected|given|asct|so far|days?|risk|"
                      r"induction|maintenance|consolidation|high|standard|not|and|or|with|without)\b")


# Internal codes appear only in reason codes, data columns and drill-down values (§1 "Regimen
# category"), in the English text too: the category codes and upper-snake reason codes.
_CATEGORY_OR_REASON_CODE = re.compile(r"\b(?:quintuplet_cd38|quadruplet_cd38|triplet_pi_imid|[A-Z0-9]+_[A-Z0-9_]+)\b")
# ... and the English text names the data's Danish codes in English ("induction course", "no comorbidity",
# "ASCT"), as it names everything else (indicators.md "Changes from version 1", item 10)
_DATA_CODE_IN_ENGLISH = re.compile(r"\b(?:asct|leukaferese|induktion|konsolidering|vedligehold|mobilisering|konditionering|"
                                   r"rehabilitering|ingen|let|betydelig|[a-z]+_[a-z_]+)\b")


def danish_text_problems(text: str) -> list[str]:
    """What is wrong with a Danish reason_text (empty list: nothing)."""
    problems = []
    if not re.match(r"Anbefaling \d+( og \d+)* \([A-D](/[A-D])?\): ", text):
        problems.append("no 'Anbefaling N (grade): ' label")
    for name, pattern in (("ISO date", _ISO_DATE), ("internal code", _INTERNAL_CODE),
                          ("decimal point", _DECIMAL_POINT), ("English word", _ENGLISH)):
        found = pattern.findall(text)
        if found:
            problems.append(f"{name}: {found}")
    return problems


def assert_clinician_texts(con: duckdb.DuckDBPyConnection, indicator_id: str) -> None:
    """Every row of the indicator: a Danish reason_text fit for clinicians, an English reason_text_en
    with the 'Rec N (grade): ' label."""
    bad = {}
    for pseudonym, text_da, text_en in con.execute(
            "select pseudonym, reason_text, reason_text_en from rpt_patient_results where indicator_id = ?",
            [indicator_id]).fetchall():
        problems = danish_text_problems(text_da)
        if not re.match(r"Rec \d+(, \d+)* \([A-D](/[A-D])?\): ", text_en or ""):
            problems.append("reason_text_en without the 'Rec N (grade): ' label")
        codes = _CATEGORY_OR_REASON_CODE.findall(text_en or "")
        if codes:
            problems.append(f"reason_text_en names internal codes: {codes}")
        data_codes = _DATA_CODE_IN_ENGLISH.findall(text_en or "")
        if data_codes:
            problems.append(f"reason_text_en names the data's codes: {data_codes}")
        if problems:
            bad[pseudonym] = (text_da, problems)
    assert not bad, bad
