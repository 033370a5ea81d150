"""Tests of the synthetic-delivery generator (pipelines.synth.generator).

The delivery is checked from the written files with a small independent validator that
implements the row rules of shared/spec/extract-format.md (it does not use the
generator's own bookkeeping), so "every dirty kind is present" and "a clean delivery has
no bad rows" are real statements about the bytes on disk.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.lib.extract_format import FILES, FILES_BY_NAME, QUARANTINE_REASONS
from pipelines.synth.generator import _latin1_fast, simulate_cohort, write_delivery, write_delivery_with_stats

EXTRACT = date(2026, 11, 1)
V2 = date(2026, 4, 7)
MISSING = {"", "NA", ".", "uoplyst"}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def dirty_delivery(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dirty")
    rows, stats = write_delivery_with_stats(out, 2000, 11, EXTRACT)
    return out, {"rows": rows, "stats": stats}


@pytest.fixture(scope="module")
def clean_delivery(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    rows, stats = write_delivery_with_stats(out, 2000, 11, EXTRACT, dirty=False)
    return out, {"rows": rows, "stats": stats}


def read_lines(folder: Path, filename: str, encoding: str = "cp1252") -> tuple[list[str], list[str]]:
    text = (folder / filename).read_bytes().decode(encoding)
    lines = text.split("\r\n")
    assert lines[-1] == "", "file must end with a line ending"
    return lines[0].split(";"), lines[1:-1]


def read_rows(folder: Path, filename: str) -> list[dict[str, str]]:
    header, lines = read_lines(folder, filename)
    return [dict(zip(header, ln.split(";"))) for ln in lines if ln.count(";") == len(header) - 1]


# --------------------------------------------------------------------------- an independent validator

def parse_date(s: str) -> date:
    if re.fullmatch(r"\d{2}-\d{2}-\d{4}", s):
        return date(int(s[6:]), int(s[3:5]), int(s[:2]))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return date.fromisoformat(s)
    raise ValueError(s)


def parse_num(s: str) -> float:
    """Decimal comma or point, and E notation (format v2: ``1e-05``, ``1E-5``, ``1,5E-06``)."""
    if not re.fullmatch(r"-?\d+([.,]\d+)?([eE][+-]?\d+)?", s):
        raise ValueError(s)
    return float(s.replace(",", "."))


def parse_int(s: str) -> int:
    if not re.fullmatch(r"-?\d+", s):
        raise ValueError(s)
    return int(s)


def cpr_ok(s: str) -> bool:
    digits = s[:6] + s[7:] if len(s) == 11 and s[6] == "-" else s
    if not re.fullmatch(r"\d{10}", digits):
        return False
    d, m, y = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    for century in (1900, 2000):
        try:
            date(century + y, m, d)
            return True
        except ValueError:
            pass
    return False


def plain_cpr(s: str) -> str:
    return s.replace("-", "")


def mod11_ok(digits: str) -> bool:
    return sum(w * int(c) for w, c in zip((4, 3, 2, 7, 6, 5, 4, 3, 2, 1), digits)) % 11 == 0


CODES = {
    "sex": {"M", "K"}, "icd10": None, "comorbidity": {"ingen", "let", "betydelig"},
    "extramedullary": {"nej", "paraossøs", "ekstraossøs"}, "hdt_evaluated": {"J", "N", "1", "0"},
    "hdt_candidate": {"J", "N", "1", "0"},
    "hdt_not_candidate_reason": {"alder", "komorbiditet", "performance", "patientens_valg", "mrd_strategi", "andet"},
    "analysis": {"kreatinin", "b2m", "ldh", "albumin", "cirk_plasmaceller"},
    "aberration": {"del17p", "t4_14", "t14_16", "t14_20", "gain1q", "amp1q", "del1p", "del1p_biallelic", "tp53_mut"},
    "result": {"pos", "neg"},
    "phase": {"induktion", "mobilisering", "konditionering", "konsolidering", "vedligehold", "andet"},
    "dose_unit": {"mg", "mg/m2", "g/m2", "mg/kg"}, "procedure": {"leukaferese", "asct", "rehabilitering"},
    "timepoint": {"efter_induktion", "efter_asct", "efter_konsolidering", "andet"},
    "response": {"sCR", "CR", "VGPR", "PR", "SD", "PD"}, "mrd": {"neg", "pos"},
}
UNITS = {"kreatinin": {"µmol/L", "umol/L", "mg/dL"}, "b2m": {"mg/L"}, "ldh": {"U/L"}, "albumin": {"g/L"},
         "cirk_plasmaceller": {"%"}}
DATES = {"patients": ("birth_date", "death_date"), "diagnoses": ("diagnosis_date", "hdt_evaluation_date"),
         "labs": ("sample_date",), "anthropometrics": ("measure_date",), "cytogenetics": ("sample_date",),
         "treatment_courses": ("start_date", "end_date"), "procedures": ("procedure_date",),
         "responses": ("assessment_date",)}
NUMS = {"labs": ("value",), "anthropometrics": ("height_cm", "weight_kg"), "cytogenetics": ("clonal_fraction_pct",),
        "drugs": ("dose",), "responses": ("mrd_sensitivity",)}
INTS = {"diagnoses": ("ecog_ps", "iss_stage"), "treatment_courses": ("cycles", "cycle_length_days")}


# plausible ranges of extract-format.md version 2 ("Bad input")
LAB_RANGE = {"kreatinin": (10, 3000), "b2m": (0, 200), "ldh": (1, 20000), "albumin": (1, 80),
             "cirk_plasmaceller": (0, 100)}


def out_of_range(name: str, v: dict, dates: dict) -> bool:
    def outside(x, lo, hi):
        return x is not None and not lo <= x <= hi

    if name == "labs":
        x = v["value"] * (88.4 if v["unit"] == "mg/dL" else 1)
        return outside(x, *LAB_RANGE[v["analysis"]])
    if name == "anthropometrics":
        return outside(v["height_cm"], 100, 230) or outside(v["weight_kg"], 25, 300)
    if name == "cytogenetics":
        return outside(v["clonal_fraction_pct"], 0, 100)
    if name == "treatment_courses":
        return outside(v["cycles"], 1, 400) or outside(v["cycle_length_days"], 1, 365)
    if name == "drugs":
        return outside(v["dose"], 1e-9, 100000)
    if name == "responses":
        return outside(v["mrd_sensitivity"], 1e-12, 1 - 1e-12)
    if name == "patients":
        return dates["birth_date"] < date(1890, 1, 1)
    return False


def validate(folder: Path) -> tuple[dict[str, Counter], dict[str, int]]:
    """Quarantine reasons per file and exact duplicates collapsed per file."""
    reasons: dict[str, Counter] = defaultdict(Counter)
    exact: dict[str, int] = defaultdict(int)
    parsed: dict[str, list[tuple[int, dict, tuple]]] = {}
    for spec in FILES:
        header, lines = read_lines(folder, spec.filename)
        assert header == list(spec.columns)
        good = []
        for i, line in enumerate(lines):
            fields = line.split(";")
            if len(fields) != len(header):
                reasons[spec.name]["MALFORMED_ROW"] += 1
                continue
            raw = dict(zip(header, fields))
            v = {k: (None if x.strip() in MISSING else x) for k, x in raw.items()}
            r = row_reason(spec.name, v)
            if r:
                reasons[spec.name][r] += 1
                continue
            good.append((i, v, tuple(normal(spec.name, k, x) for k, x in v.items())))
        parsed[spec.name] = good

    # patients: duplicates, then the patient table
    patients = dedupe("patients", parsed["patients"], reasons, exact)
    pat = {plain_cpr(v["cpr"]): v for _, v, _ in patients}
    courses = None
    for spec in FILES:
        if spec.name in ("patients", "departments", "drugs"):
            if spec.name == "departments":
                dedupe("departments", parsed["departments"], reasons, exact)
            continue
        kept = []
        for i, v, norm in parsed[spec.name]:
            p = pat.get(plain_cpr(v["cpr"]))
            if p is None:
                reasons[spec.name]["ORPHAN"] += 1
                continue
            d = parse_date(v[DATES[spec.name][0]])
            if d < parse_date(p["birth_date"]):
                reasons[spec.name]["BEFORE_BIRTH"] += 1
                continue
            if p["death_date"] and d > parse_date(p["death_date"]):
                reasons[spec.name]["AFTER_DEATH"] += 1
                continue
            kept.append((i, v, norm))
        kept = dedupe(spec.name, kept, reasons, exact)
        if spec.name == "treatment_courses":
            courses = {v["course_id"] for _, v, _ in kept}
    drugs = []
    for i, v, norm in parsed["drugs"]:
        if v["course_id"] not in courses:
            reasons["drugs"]["ORPHAN"] += 1
        else:
            drugs.append((i, v, norm))
    dedupe("drugs", drugs, reasons, exact)
    return reasons, exact


def row_reason(name: str, v: dict) -> str | None:
    spec = FILES_BY_NAME[name]
    if any(v[c] is None for c in spec.required):
        return "MISSING_REQUIRED"
    if "cpr" in v and not cpr_ok(v["cpr"]):
        return "INVALID_CPR"
    dates = {}
    for c in DATES.get(name, ()):
        if v[c] is not None:
            try:
                dates[c] = parse_date(v[c])
            except ValueError:
                return "INVALID_DATE"
    num = {}
    try:
        for c in NUMS.get(name, ()):
            num[c] = None if v[c] is None else parse_num(v[c])
        for c in INTS.get(name, ()):
            num[c] = None if v[c] is None else parse_int(v[c])
    except ValueError:
        return "INVALID_NUMBER"
    for c, allowed in CODES.items():
        if c in v and v[c] is not None and allowed is not None and v[c] not in allowed:
            return "INVALID_CODE"
    if name == "labs" and v["unit"] not in UNITS[v["analysis"]]:
        return "UNIT_MISMATCH"
    if out_of_range(name, {**v, **num}, dates):
        return "OUT_OF_RANGE"
    for c, d in dates.items():
        if d > EXTRACT and not (name == "treatment_courses" and c == "end_date"):
            return "DATE_AFTER_EXTRACT"
    if name == "patients" and "death_date" in dates and dates["death_date"] < dates["birth_date"]:
        return "DEATH_BEFORE_BIRTH"
    return None


def normal(name: str, col: str, x: str | None):
    if x is None:
        return None
    if col == "cpr":
        return plain_cpr(x)
    if col in DATES.get(name, ()):
        return parse_date(x)
    if col in NUMS.get(name, ()) or col in INTS.get(name, ()):
        return parse_num(x)
    if col == "unit":
        return "µmol/L" if x == "umol/L" else x
    if col in ("hdt_evaluated", "hdt_candidate"):
        return {"1": "J", "0": "N"}.get(x, x)
    return x


def dedupe(name: str, rows: list, reasons: dict, exact: dict) -> list:
    spec = FILES_BY_NAME[name]
    idx = [spec.columns.index(k) for k in spec.key]
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(r[2][i] for i in idx)].append(r)
    kept = []
    for g in groups.values():
        if len(g) == 1:
            kept.append(g[0])
        elif len({r[2] for r in g}) == 1:
            exact[name] += len(g) - 1
            kept.append(g[0])
        else:
            reasons[name]["CONFLICTING_DUPLICATE"] += len(g)
    return kept


# --------------------------------------------------------------------------- tests

def test_deterministic_per_seed(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ra = write_delivery(a, 300, 5)
    rb = write_delivery(b, 300, 5)
    rc = write_delivery(c, 300, 6)
    assert ra == rb
    names = [f.filename for f in FILES] + ["manifest.json"]
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    assert any((a / n).read_bytes() != (c / n).read_bytes() for n in names if n != "departments.csv")
    assert (a / "patients.csv").read_bytes() != (c / "patients.csv").read_bytes()


def test_headers_manifest_and_row_counts(dirty_delivery):
    folder, info = dirty_delivery
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["extract_id"] == "SYNTH-11-2026-11-01"
    assert manifest["extracted_at"] == "2026-11-01"
    assert list(manifest["files"]) == [f.filename for f in FILES]
    for spec in FILES:
        header, lines = read_lines(folder, spec.filename)
        assert header == list(spec.columns), spec.filename
        data = (folder / spec.filename).read_bytes()
        assert manifest["files"][spec.filename]["rows"] == len(lines) == info["rows"][spec.filename]
        assert manifest["files"][spec.filename]["sha256"] == hashlib.sha256(data).hexdigest()
        assert data.count(b"\r\n") == len(lines) + 1 and data.count(b"\n") == data.count(b"\r\n")


def test_cp1252_with_danish_letters(dirty_delivery):
    folder, _ = dirty_delivery
    raw = (folder / "departments.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    for ch in "æøå":
        assert ch in text
    regions = {r["region"] for r in read_rows(folder, "departments.csv")}
    assert regions == {"Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"}
    assert 15 <= len({r["department_code"] for r in read_rows(folder, "departments.csv")}) <= 25
    assert any(r["department_code"].startswith("0") for r in read_rows(folder, "departments.csv"))
    labs = (folder / "labs.csv").read_bytes().decode("cp1252")
    assert "µmol/L" in labs and "umol/L" in labs and "mg/dL" in labs


def test_utf8_lf_without_manifest(tmp_path):
    rows = write_delivery(tmp_path, 50, 3, encoding="utf-8", line_ending="\n", manifest=False)
    assert not (tmp_path / "manifest.json").exists()
    text = (tmp_path / "departments.csv").read_bytes().decode("utf-8")
    assert "\r" not in text and "Sjælland" in text
    assert rows["patients.csv"] == len((tmp_path / "patients.csv").read_text(encoding="utf-8").splitlines()) - 1


def test_fast_cp1252_encoding_matches_codec():
    text = "Hæmatologisk Afdeling;Åbenrå;paraossøs;µmol/L;ØÆÅ;plain\r\n" * 3
    assert _latin1_fast(text.encode("utf-8")) == text.encode("cp1252")
    assert _latin1_fast("pris €".encode("utf-8")) is None      # outside U+00A0..U+00FF: codec fallback


def test_cprs_valid_dates_sex_and_fail_modulus_11(clean_delivery):
    folder, _ = clean_delivery
    patients = read_rows(folder, "patients.csv")
    assert len(patients) == 2000
    plain = [plain_cpr(p["cpr"]) for p in patients]
    assert len(set(plain)) == len(plain)
    hyphenated = 0
    for p, c in zip(patients, plain):
        assert cpr_ok(p["cpr"]) and len(c) == 10
        hyphenated += "-" in p["cpr"]
        assert not mod11_ok(c), c
        birth = parse_date(p["birth_date"])
        assert c[:6] == birth.strftime("%d%m%y")
        assert (int(c[-1]) % 2 == 1) == (p["sex"] == "M")
    assert 0 < hyphenated < 0.1 * len(patients)
    men = sum(p["sex"] == "M" for p in patients) / len(patients)
    assert 0.5 <= men <= 0.6


def age_on(birth: date, d: date) -> int:
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def index_diagnoses(folder: Path) -> dict[str, dict]:
    idx = {}
    for r in read_rows(folder, "diagnoses.csv"):
        if r["icd10"] in ("DC900", "DC901"):
            c = plain_cpr(r["cpr"])
            d = parse_date(r["diagnosis_date"])
            if c not in idx or d < idx[c]["_d"]:
                idx[c] = {**r, "_d": d}
    return idx


def test_age_sex_and_diagnosis_spread(clean_delivery):
    folder, _ = clean_delivery
    births = {plain_cpr(p["cpr"]): parse_date(p["birth_date"]) for p in read_rows(folder, "patients.csv")}
    dx = index_diagnoses(folder)
    ages = sorted(age_on(births[c], r["_d"]) for c, r in dx.items())
    share_70 = sum(a <= 70 for a in ages) / len(ages)
    assert 0.4 <= share_70 <= 0.56, share_70          # Denmark: median age at diagnosis about 71
    assert 70 <= ages[len(ages) // 2] <= 72
    assert min(ages) >= 38 and max(ages) <= 95
    years = Counter(r["_d"].year for r in dx.values())
    assert min(years) == 2015 and max(years) == 2026
    assert all(r["_d"] < EXTRACT for r in dx.values())
    icd = Counter(r["icd10"] for r in read_rows(folder, "diagnoses.csv"))
    assert icd["DC901"] > 0 and icd["DC903"] > 0 and icd["DD472"] > 0
    per_patient = Counter(plain_cpr(r["cpr"]) for r in read_rows(folder, "diagnoses.csv"))
    assert 0 < sum(n == 2 for n in per_patient.values()) < 0.06 * len(per_patient)
    candidates = sum(r["hdt_candidate"] in ("J", "1") for r in dx.values()) / len(dx)
    assert 0.3 <= candidates < 0.5, candidates          # the guideline: "under halvdelen"


def test_high_risk_share_plausible(clean_delivery):
    """The spec's high-risk rules on the clean files (rule 4 with creatinine of the same day)."""
    folder, _ = clean_delivery
    dx = index_diagnoses(folder)
    first_ind: dict[str, date] = {}
    for r in read_rows(folder, "treatment_courses.csv"):
        if r["phase"] == "induktion":
            c, d = plain_cpr(r["cpr"]), parse_date(r["start_date"])
            first_ind[c] = min(d, first_ind.get(c, d))
    cut = {c: first_ind.get(c, r["_d"] + timedelta(days=60)) for c, r in dx.items()}
    pos = defaultdict(set)
    tested = defaultdict(set)
    for r in read_rows(folder, "cytogenetics.csv"):
        c = plain_cpr(r["cpr"])
        if c not in cut or parse_date(r["sample_date"]) > cut[c]:
            continue
        tested[c].add(r["aberration"])
        frac = None if r["clonal_fraction_pct"] in MISSING else parse_num(r["clonal_fraction_pct"])
        if r["result"] == "pos":
            pos[c].add(r["aberration"])
            if r["aberration"] == "del17p" and frac is not None and frac >= 20:
                pos[c].add("rule1")
    b2m, crea, cpc = {}, {}, {}
    for r in read_rows(folder, "labs.csv"):
        c = plain_cpr(r["cpr"])
        if c not in cut or parse_date(r["sample_date"]) > cut[c]:
            continue
        key = (c, r["sample_date"])
        v = parse_num(r["value"])
        if r["analysis"] == "b2m":
            b2m[key] = v
        elif r["analysis"] == "kreatinin":
            crea[key] = v if r["unit"] == "mg/dL" else v / 88.4
        elif r["analysis"] == "cirk_plasmaceller":
            cpc[c] = max(v, cpc.get(c, 0))
    high = 0
    for c, r in dx.items():
        p = pos[c]
        hrca = len(p & {"del17p", "t4_14", "t14_16", "t14_20", "del1p"}) + bool(p & {"gain1q", "amp1q"})
        rule4 = any(v >= 5.5 and crea.get(k, 99) < 1.2 for k, v in b2m.items() if k[0] == c)
        if ("rule1" in p or "tp53_mut" in p or "del1p_biallelic" in p or hrca >= 2 or rule4
                or cpc.get(c, 0) > 2 or r["extramedullary"] == "ekstraossøs"):
            high += 1
    share = high / len(dx)
    assert 0.08 <= share <= 0.22, share
    standard_tested = sum({"del17p", "t4_14"} <= tested[c] and bool(tested[c] & {"gain1q", "amp1q"}) for c in dx)
    assert standard_tested / len(dx) > 0.6


ATC_MAP = {"L01XX32": "L01XG01", "L01XX45": "L01XG02", "L01XX50": "L01XG03", "L01XC24": "L01FC01", "L01XC38": "L01FC02"}


def course_drugs(folder: Path) -> dict[str, set[str]]:
    drugs = defaultdict(set)
    for r in read_rows(folder, "drugs.csv"):
        drugs[r["course_id"]].add(ATC_MAP.get(r["atc"], r["atc"]))
    return drugs


def category(d: set[str]) -> str:
    """The spec's regimen category of a course (quintuplets counted with the quadruplets)."""
    cd38 = bool(d & {"L01FC01", "L01FC02"})
    pi = bool(d & {"L01XG01", "L01XG02", "L01XG03"})
    imid = bool(d & {"L04AX02", "L04AX04", "L04AX06"})
    dex = "H02AB02" in d
    return ("quad" if cd38 and pi and imid and dex else "triplet" if pi and imid and dex
            else "vcd" if {"L01XG01", "L01AA01", "H02AB02"} <= d and not imid else "other")


def induction_categories(folder: Path) -> list[tuple[date, str, str]]:
    drugs = course_drugs(folder)
    dx = index_diagnoses(folder)
    out = []
    for r in read_rows(folder, "treatment_courses.csv"):
        c = plain_cpr(r["cpr"])
        if r["phase"] != "induktion" or dx.get(c, {}).get("hdt_candidate") not in ("J", "1"):
            continue
        out.append((parse_date(r["start_date"]), category(drugs[r["course_id"]]), r["course_id"]))
    return out


def test_regimen_shift_over_time(clean_delivery):
    folder, _ = clean_delivery
    courses = induction_categories(folder)
    before = [cat for d, cat, _ in courses if d < V2]
    after = [cat for d, cat, _ in courses if d >= V2]
    assert before and after
    # CD38 quadruplets are not recommended by Medicinrådet: trials only before v2.0, a minority after
    assert sum(c == "quad" for c in before) < 0.03 * len(before)
    assert 0.08 <= sum(c == "quad" for c in after) / len(after) <= 0.4
    early = Counter(cat for d, cat, _ in courses if d.year <= 2018)
    late = Counter(cat for d, cat, _ in courses if 2022 <= d.year and d < V2)
    assert early["vcd"] + early["triplet"] > 0.85 * sum(early.values())
    assert late["triplet"] > 0.7 * sum(late.values())
    assert 0 < sum(c == "other" for _, c, _ in courses) < 0.1 * len(courses)
    # pre-2021 ATC codes for old courses
    start = {r["course_id"]: parse_date(r["start_date"]) for r in read_rows(folder, "treatment_courses.csv")}
    old = [start[r["course_id"]] for r in read_rows(folder, "drugs.csv") if r["atc"] in ATC_MAP]
    assert old and sum(d < date(2021, 1, 1) for d in old) > 0.9 * len(old)


def test_transplant_pathway_details(clean_delivery):
    folder, _ = clean_delivery
    procs = read_rows(folder, "procedures.csv")
    asct = defaultdict(list)
    for r in procs:
        if r["procedure"] == "asct":
            asct[plain_cpr(r["cpr"])].append(parse_date(r["procedure_date"]))
    assert len(asct) > 500
    tandem = sum(len(v) == 2 and (max(v) - min(v)).days <= 180 for v in asct.values())
    assert 0 < tandem < 0.1 * len(asct)
    assert any(r["sks_code"] == "BOQF0" for r in procs)
    drugs = read_rows(folder, "drugs.csv")
    cyclo = Counter((r["dose"], r["dose_unit"], r["days"]) for r in drugs if r["atc"] == "L01AA01" and r["days"] in ("1", "1-2"))
    assert cyclo[("2", "g/m2", "1")] > cyclo[("1", "g/m2", "1-2")] > 0
    mel = Counter((r["dose"], r["dose_unit"], r["days"]) for r in drugs if r["atc"] == "L01AA03")
    assert mel[("100", "mg/m2", "1-2")] > 0 and mel[("200", "mg/m2", "1")] > 0 and mel[("140", "mg/m2", "1")] > 0
    assert any(u == "mg" for (_, u, _) in mel)
    courses = {r["course_id"]: r for r in read_rows(folder, "treatment_courses.csv")}
    len_maint = [r for r in drugs if r["atc"] == "L04AX04" and courses[r["course_id"]]["phase"] == "vedligehold"]
    std = sum(r["dose"] == "10" and r["days"] == "1-21" for r in len_maint) / len(len_maint)
    assert 0.8 < std < 0.97
    phases = Counter(r["phase"] for r in courses.values())
    assert all(phases[p] > 0 for p in ("induktion", "mobilisering", "konditionering", "konsolidering", "vedligehold", "andet"))
    responses = read_rows(folder, "responses.csv")
    assert Counter(r["timepoint"] for r in responses).keys() >= {"efter_induktion", "efter_asct", "efter_konsolidering", "andet"}
    assert any(r["mrd"] == "neg" for r in responses) and any(r["response"] == "PD" for r in responses)
    reasons = Counter(r["hdt_not_candidate_reason"] for r in read_rows(folder, "diagnoses.csv"))
    assert reasons["alder"] > reasons["performance"] > 0 and reasons["komorbiditet"] > 0
    deaths = sum(p["death_date"] not in MISSING for p in read_rows(folder, "patients.csv"))
    assert 0.2 < deaths / 2000 < 0.6


def test_alternative_spellings_present(clean_delivery):
    folder, _ = clean_delivery
    text = {f.filename: (folder / f.filename).read_bytes().decode("cp1252") for f in FILES}
    assert re.search(r";\d{4}-\d{2}-\d{2};", text["labs.csv"])            # ISO dates
    assert re.search(r";\d+\.\d+;", text["labs.csv"])                      # decimal point
    assert re.search(r";\d+,\d+;", text["labs.csv"])                       # decimal comma
    assert re.search(r"^\d{6}-\d{4};", text["labs.csv"], re.M)             # hyphenated CPR
    assert re.search(r";(NA|\.|uoplyst)(;|\r)", text["patients.csv"] + text["responses.csv"])
    assert re.search(r";[10];", text["diagnoses.csv"])                     # booleans 1/0


def test_clean_delivery_has_no_bad_rows(clean_delivery):
    folder, info = clean_delivery
    reasons, exact = validate(folder)
    assert {k: dict(v) for k, v in reasons.items() if v} == {}
    assert sum(exact.values()) == 0
    assert "dirty_rows" not in info["stats"]


def test_dirty_delivery_has_every_kind(dirty_delivery):
    folder, info = dirty_delivery
    reasons, exact = validate(folder)
    found = Counter()
    for c in reasons.values():
        found.update(c)
    assert set(found) == set(QUARANTINE_REASONS), set(QUARANTINE_REASONS) - set(found)
    assert sum(exact.values()) > 0
    total_rows = sum(info["rows"].values())
    assert sum(found.values()) < 0.06 * total_rows
    # the validator agrees with the generator's own expectation, file by file and reason by reason
    expected = info["stats"]["expected_quarantine"]
    assert {k: dict(v) for k, v in reasons.items() if v} == expected
    assert dict(exact) == {k: v for k, v in info["stats"]["exact_duplicates"].items() if v}


def test_dirty_rows_direct_checks(dirty_delivery, clean_delivery):
    folder, _ = dirty_delivery
    text = {f.filename: (folder / f.filename).read_bytes().decode("cp1252") for f in FILES}
    assert re.search(r";(31-02|29-02|31-04|31-06|31-09|31-11|32-01)-\d{4};|;\d{4}-02-30;|;15-13-\d{4};",
                     "\n".join(text.values()))
    patients = {plain_cpr(r["cpr"]) for r in read_rows(folder, "patients.csv")}
    orphans = [r for r in read_rows(folder, "labs.csv") if cpr_ok(r["cpr"]) and plain_cpr(r["cpr"]) not in patients]
    assert orphans
    courses = {r["course_id"] for r in read_rows(folder, "treatment_courses.csv")}
    assert any(r["course_id"] not in courses for r in read_rows(folder, "drugs.csv"))
    header, lines = read_lines(folder, "labs.csv")
    assert any(ln.count(";") != len(header) - 1 for ln in lines)
    assert len(lines) > len(set(lines))                                    # identical lines twice
    assert any(r["unit"] not in UNITS.get(r["analysis"], {r["unit"]}) for r in read_rows(folder, "labs.csv"))  # unit
    assert any(len(plain_cpr(r["cpr"])) != 10 for r in read_rows(folder, "responses.csv"))
    # clean lines are the same with and without dirty rows
    clean_folder, _ = clean_delivery
    for f in FILES:
        clean_lines = set(read_lines(clean_folder, f.filename)[1])
        dirty_lines = set(read_lines(folder, f.filename)[1])
        assert clean_lines <= dirty_lines, f.filename
    header, clean_lines = read_lines(clean_folder, "labs.csv")
    assert len(clean_lines) == len(set(clean_lines))


def test_tiny_deliveries(tmp_path):
    for n in (1, 3):
        rows = write_delivery(tmp_path / str(n), n, 42)
        assert rows["patients.csv"] >= n
        assert rows["departments.csv"] >= 21
    with pytest.raises(ValueError):
        write_delivery(tmp_path / "zero", 0, 1)


# --------------------------------------------------------------------------- Denmark, guideline v2.0 (issue 12)

def test_format_v2_values_are_clean_data(clean_delivery):
    """E-notation MRD sensitivities and lenalidomide courses of more than 100 cycles are valid
    data in format v2 (test_clean_delivery_has_no_bad_rows checks that they are not dirty)."""
    folder, _ = clean_delivery
    sens = [r["mrd_sensitivity"] for r in read_rows(folder, "responses.csv") if r["mrd_sensitivity"] not in MISSING]
    e_notation = [v for v in sens if re.fullmatch(r"\d([.,]\d+)?[eE]-0?\d", v)]
    assert e_notation and len(e_notation) < 0.5 * len(sens)
    assert all(0 < parse_num(v) <= 1e-4 for v in sens)
    drugs = course_drugs(folder)
    long_len = [r for r in read_rows(folder, "treatment_courses.csv") if r["phase"] == "vedligehold"
                and "L04AX04" in drugs[r["course_id"]] and r["cycles"] not in MISSING and int(r["cycles"]) > 100]
    assert long_len and all(int(r["cycles"]) <= 400 for r in long_len)


@pytest.fixture(scope="module")
def cohort_20k():
    """The cohort of `myeloma-audit synth --patients 20000 --seed 7`."""
    return simulate_cohort(20000, 7, EXTRACT)


@pytest.fixture(scope="module")
def planted_20k(cohort_20k) -> dict:
    return cohort_20k.stats


# every status and reason code of MM01-MM15 (indicators.md v2) the 20k delivery must show, as planted
REQUIRED_SCENARIOS = {
    "MM01": ("MET", "NOT_EVALUATED", "EVALUATION_UNKNOWN", "PS_2_OR_MORE", "SIGNIFICANT_COMORBIDITY", "WINDOW_OPEN"),
    "MM02": ("MET", "NO_INDUCTION", "REGIMEN_NOT_RECOMMENDED", "INDUCTION_CYCLES", "CYCLES_UNKNOWN",
             "split VCd + triplet (predominant: the triplet)", "bridging VCd + CD38 quadruplet, 4 cycles in all",
             "bridging VCd + CD38 quadruplet, 5 cycles in all"),
    "MM03": ("MET", "NO_PRIMING", "PRIMING_WITHOUT_CYCLOPHOSPHAMIDE", "PRIMING_DOSE", "BSA_UNKNOWN"),
    "MM04": ("MET", "FULL_DOSE_DESPITE_LOW_CRCL", "REDUCED_WITHOUT_RENAL_INDICATION", "MELPHALAN_DOSE_OTHER",
             "CRCL_UNKNOWN", "BSA_UNKNOWN"),
    "MM05": ("MET", "MRD_NEGATIVE_DEFERRAL", "DEFERRAL_NOT_SUPPORTED", "NO_HDT", "DIED", "WINDOW_OPEN"),
    "MM06": ("MET", "LENALIDOMIDE_ALTERNATIVE", "EARLY_START", "LATE_START", "NO_MAINTENANCE", "OTHER_MAINTENANCE",
             "DIED", "PROGRESSION", "WINDOW_OPEN", "consolidation, then maintenance in its window (met)",
             "consolidation, LATE_START after its window", "consolidation, CONSOLIDATION_END_UNKNOWN",
             "consolidation running or its window open (WINDOW_OPEN)"),
    "MM07": ("MET", "RENAL_DOSE_REDUCTION", "DOSE", "SCHEDULE", "DOSE_UNKNOWN", "SCHEDULE_UNKNOWN"),
    "MM08": ("MET", "HIGH_RISK_INDUCTION", "GUIDELINE_VERSION"),
    "MM09": ("MET", "NO_DUAL_MAINTENANCE", "GUIDELINE_VERSION"),
    "MM10": ("MET", "TANDEM_DESPITE_CR", "TANDEM_WITHOUT_BENEFIT", "TANDEM_STANDARD_RISK", "RESPONSE_UNKNOWN",
             "RISK_UNKNOWN"),
    "MM11": ("MET", "NO_REHABILITATION", "DIED", "WINDOW_OPEN", "referral between diagnosis and HDT (met)"),
    "MM12": ("MET", "NO_CD38_INDUCTION", "GUIDELINE_VERSION"),
    "MM13": ("MET", "CONSOLIDATION_REGIMEN", "CONSOLIDATION_CYCLES", "CYCLES_UNKNOWN", "INDUCTION_UNKNOWN"),
    "MM14": ("MET", "DIED_WITHIN_100_DAYS", "WINDOW_OPEN"),
    "MM15": ("MET", "RISK_NOT_ASSESSED", "RISK_PARTIALLY_ASSESSED"),
}


def test_every_planted_scenario_occurs_at_20k(planted_20k):
    planted = planted_20k["planted"]
    assert set(planted) == set(REQUIRED_SCENARIOS)
    too_few = {(ind, code): planted[ind].get(code) for ind, codes in REQUIRED_SCENARIOS.items() for code in codes
               if (planted[ind].get(code) or 0) < 3}
    assert not too_few


def test_cohort_looks_like_denmark_at_20k(planted_20k):
    r = planted_20k["realism"]
    assert 70 <= r["median_age_at_diagnosis"] <= 72
    assert r["hdt_candidates"]["share"] < 0.5                       # "under halvdelen"
    assert 0.25 <= r["transplanted"]["share"] <= 0.42
    assert r["transplanted"]["share_of_all_patients"] < 0.42
    assert r["mrd_measured"]["share"] < 0.2 and r["mrd_measured"]["share_of_transplanted"] < 0.3
    mix = r["induction_regimen_mix_by_year"]
    cd38 = {k: (m["quintuplet_cd38"] or 0) + (m["quadruplet_cd38"] or 0) for k, m in mix.items()}
    assert 0.15 <= cd38["from v2.0 (2026-04-07)"] <= 0.30, cd38
    assert cd38["2026 before v2.0"] < 0.12 and all(cd38[str(y)] < 0.06 for y in range(2015, 2026)), cd38
    assert all(cd38[str(y)] == 0 for y in range(2015, 2021))
    assert mix["from v2.0 (2026-04-07)"]["triplet_pi_imid"] > 0.5


@pytest.fixture(scope="module")
def clean_20k(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean20k")
    write_delivery(out, 20000, 7, EXTRACT, dirty=False)
    return out


NATURAL_KEYS = {"diagnoses": ("diagnosis_date", "icd10"), "labs": ("sample_date", "analysis"),
                "anthropometrics": ("measure_date",), "cytogenetics": ("sample_date", "aberration"),
                "procedures": ("procedure_date", "procedure"), "responses": ("assessment_date", "timepoint")}


def test_natural_keys_unique_at_20k(cohort_20k):
    """At 20k the rare pathways (stale labs, consolidation, deferral ...) all occur: no clean
    row may share its natural key with another (it would be a conflicting duplicate)."""
    for name, key in NATURAL_KEYS.items():
        df = cohort_20k.tables[name]
        assert df.select("_pid", *key).is_duplicated().sum() == 0, name


def _asct_and_courses(folder: Path):
    asct = defaultdict(list)
    for r in read_rows(folder, "procedures.csv"):
        if r["procedure"] == "asct":
            asct[plain_cpr(r["cpr"])].append(parse_date(r["procedure_date"]))
    courses = defaultdict(list)
    for r in read_rows(folder, "treatment_courses.csv"):
        courses[plain_cpr(r["cpr"])].append({**r, "_start": parse_date(r["start_date"])})
    return asct, courses


def test_consolidation_after_v2_continues_the_induction_regimen(clean_20k):
    asct, courses = _asct_and_courses(clean_20k)
    drugs = course_drugs(clean_20k)
    same, cycles = Counter(), Counter()
    for c, dates in asct.items():
        last = max(d for d in dates if (d - min(dates)).days <= 180)
        cons = [k for k in courses[c] if k["phase"] == "konsolidering" and k["_start"] > last]
        ind = [k for k in courses[c] if k["phase"] == "induktion" and k["_start"] < min(dates)]
        if not cons or cons[0]["_start"] < V2 or not ind:
            continue
        pred = max(ind, key=lambda k: (0 if k["cycles"] in MISSING else int(k["cycles"]), k["_start"]))
        same[category(drugs[cons[0]["course_id"]]) == category(drugs[pred["course_id"]])] += 1
        cycles["missing" if cons[0]["cycles"] in MISSING else min(int(cons[0]["cycles"]), 5)] += 1
    total = sum(same.values())
    assert total > 100
    assert 0.8 < same[True] / total < 1                              # some with another regimen
    assert (cycles[1] + cycles[2]) > 0.6 * total                      # usually 1-2 cycles
    assert cycles[5] > 0 and cycles["missing"] > 0                    # high risk up to 12; some missing


def test_maintenance_starts_spread_over_day_60_to_150(clean_20k):
    asct, courses = _asct_and_courses(clean_20k)
    days = []
    for c, dates in asct.items():
        last = max(d for d in dates if (d - min(dates)).days <= 180)
        after = sorted((k for k in courses[c] if k["_start"] > last), key=lambda k: k["_start"])
        if after and after[0]["phase"] == "vedligehold":
            days.append((after[0]["_start"] - last).days)
    days.sort()
    q = lambda p: days[int(p * (len(days) - 1))]  # noqa: E731
    assert len(days) > 3000
    assert 55 <= q(0.05) <= 70 and 80 <= q(0.5) <= 100 and 110 <= q(0.95) <= 160, (q(0.05), q(0.5), q(0.95))
    assert sum(60 <= d <= 150 for d in days) > 0.9 * len(days)


def test_lenalidomide_5mg_goes_with_reduced_crcl(clean_20k):
    """5 mg maintenance mostly with CrCl < 50 (Cockcroft-Gault from the creatinine and weight
    within 30 days before the course start): older, lighter, higher creatinine."""
    patients = {plain_cpr(r["cpr"]): r for r in read_rows(clean_20k, "patients.csv")}
    crea, weight = defaultdict(list), defaultdict(list)
    for r in read_rows(clean_20k, "labs.csv"):
        if r["analysis"] == "kreatinin":
            v = parse_num(r["value"]) * (88.4 if r["unit"] == "mg/dL" else 1)
            crea[plain_cpr(r["cpr"])].append((parse_date(r["sample_date"]), v))
    for r in read_rows(clean_20k, "anthropometrics.csv"):
        if r["weight_kg"] not in MISSING:
            weight[plain_cpr(r["cpr"])].append((parse_date(r["measure_date"]), parse_num(r["weight_kg"])))
    courses = {r["course_id"]: r for r in read_rows(clean_20k, "treatment_courses.csv") if r["phase"] == "vedligehold"}
    by_dose = defaultdict(list)
    for r in read_rows(clean_20k, "drugs.csv"):
        k = courses.get(r["course_id"])
        if r["atc"] != "L04AX04" or k is None or r["dose"] in MISSING:
            continue
        c, start = plain_cpr(k["cpr"]), parse_date(k["start_date"])

        def latest(rows):
            ok = [x for x in rows if timedelta(0) <= start - x[0] <= timedelta(days=30)]
            return max(ok) if ok else None
        cr, wt = latest(crea[c]), latest(weight[c])
        if cr is None or wt is None:
            continue
        p = patients[c]
        age = age_on(parse_date(p["birth_date"]), cr[0])
        crcl = (140 - age) * wt[1] * (0.85 if p["sex"] == "K" else 1) / (72 * cr[1] / 88.4)
        by_dose[parse_num(r["dose"])].append((crcl, age, wt[1], cr[1]))
    five, ten = by_dose[5.0], by_dose[10.0]
    assert len(five) > 200 and len(ten) > 2000
    assert sum(x[0] < 50 for x in five) > 0.6 * len(five)
    assert sum(x[0] < 50 for x in ten) < 0.1 * len(ten)
    for i in (1, 3):       # older, higher creatinine
        assert statistics.mean(x[i] for x in five) > statistics.mean(x[i] for x in ten)
    assert statistics.mean(x[2] for x in five) < statistics.mean(x[2] for x in ten)    # lighter


def test_cli_synth_prints_the_cohort_summary_and_writes_only_the_delivery(tmp_path, capsys):
    from pipelines import cli

    assert cli.main(["synth", "--patients", "300", "--seed", "3", "--out", str(tmp_path / "d"), "--stats"]) == 0
    out = capsys.readouterr().out
    for text in ("median age at diagnosis", "HDT candidates", "transplanted (ASCT)", "MRD measured",
                 "from v2.0 (2026-04-07)", "planted scenarios", "MM15: MET"):
        assert text in out, text
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == sorted([f.filename for f in FILES] + ["manifest.json"])
