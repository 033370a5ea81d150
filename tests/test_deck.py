"""The hand-made test deck (data_samples/deck): the project's reference for the indicator rules.

`test_deck_patient_results` runs the audit on the deck and compares its patient-level results
with `expected_patient_results.csv`, which was worked out by hand from the spec
(see data_samples/deck/README.md for the worked numbers and the Interpretations section).
`test_deck_integrity` checks the deck itself without running the pipeline.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

DECK = Path(__file__).resolve().parents[1] / "data_samples" / "deck"
KEY = b"deck-key"
COLS = ("pseudonym", "indicator_id", "status", "reason_code")
DELIVERY_FILES = (
    "departments.csv", "patients.csv", "diagnoses.csv", "labs.csv", "anthropometrics.csv",
    "cytogenetics.csv", "treatment_courses.csv", "drugs.csv", "procedures.csv", "responses.csv",
)
CPR_FILES = tuple(f for f in DELIVERY_FILES if f not in ("departments.csv", "drugs.csv"))
STATUSES = {"met", "not_met", "unknown", "justified", "excluded", "pending"}


# --------------------------------------------------------------------------- helpers
def _pseudonym(cpr: str) -> str:
    return "P" + hmac.new(KEY, cpr.replace("-", "").encode(), hashlib.sha256).hexdigest()[:16]


def _read_results(path: Path) -> list[tuple[str, str, str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLS if c not in (reader.fieldnames or [])]
        assert not missing, f"{path.name}: missing columns {missing} (has {reader.fieldnames})"
        return [tuple((row[c] or "").strip() for c in COLS) for row in reader]


def _read_delivery(name: str) -> list[dict[str, str]]:
    text = (DECK / name).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(text.splitlines(), delimiter=";"))


def _tags() -> dict[str, str]:
    """pseudonym -> deck patient tag (A01, …) from the README headings, for readable diffs."""
    readme = DECK / "README.md"
    if not readme.exists():
        return {}
    return {m.group(2): m.group(1)
            for m in re.finditer(r"^#### (\w+) · CPR `[^`]+` · `(P[0-9a-f]{16})`", readme.read_text("utf-8"), re.M)}


def _diff_report(expected: list[tuple], actual: list[tuple]) -> str:
    tags = _tags()
    who = lambda ps: f"{ps} ({tags[ps]})" if ps in tags else ps  # noqa: E731
    exp = {(p, i): (s, r) for p, i, s, r in expected}
    got: dict[tuple[str, str], tuple[str, str]] = {}
    dups = []
    for p, i, s, r in actual:
        if (p, i) in got:
            dups.append((p, i))
        got[(p, i)] = (s, r)
    lines = []
    changed = sorted(k for k in exp.keys() & got.keys() if exp[k] != got[k])
    missing = sorted(exp.keys() - got.keys(), key=lambda k: (k[1], k[0]))
    unexpected = sorted(got.keys() - exp.keys(), key=lambda k: (k[1], k[0]))
    if changed:
        lines.append(f"{len(changed)} row(s) with a different status/reason (expected -> got):")
        for p, i in sorted(changed, key=lambda k: (k[1], k[0])):
            lines.append(f"  {i} {who(p)}: {exp[(p, i)][0]}/{exp[(p, i)][1]} -> {got[(p, i)][0]}/{got[(p, i)][1]}")
    if missing:
        lines.append(f"{len(missing)} expected row(s) missing from the audit output:")
        lines += [f"  {i} {who(p)}: expected {exp[(p, i)][0]}/{exp[(p, i)][1]}" for p, i in missing]
    if unexpected:
        lines.append(f"{len(unexpected)} unexpected row(s) in the audit output (patient not in that base population):")
        lines += [f"  {i} {who(p)}: got {got[(p, i)][0]}/{got[(p, i)][1]}" for p, i in unexpected]
    if dups:
        lines.append(f"{len(dups)} duplicated (pseudonym, indicator) row(s) in the audit output:")
        lines += [f"  {i} {who(p)}" for p, i in sorted(dups)]
    if lines:
        lines.append("Worked numbers per patient: data_samples/deck/README.md")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the audit run
@pytest.fixture(scope="module")
def deck_run(tmp_path_factory):
    from pipelines.audit import run_audit  # the lead's programmatic API

    out_dir = tmp_path_factory.mktemp("deck") / "out"
    summary = run_audit(extract=DECK, out_dir=out_dir, key=KEY)
    return out_dir, summary


def test_deck_patient_results(deck_run):
    out_dir, _ = deck_run
    results = out_dir / "patient_results.csv"
    assert results.exists(), f"the audit wrote no {results}"
    expected = _read_results(DECK / "expected_patient_results.csv")
    actual = _read_results(results)
    report = _diff_report(expected, actual)
    assert not report and set(actual) == set(expected), "\n" + report


def test_deck_outputs_hold_no_clear_cpr(deck_run):
    """Pseudonymisation: no deck CPR (plain or hyphenated) in any file the audit wrote."""
    out_dir, _ = deck_run
    plain = {r["cpr"].replace("-", "") for r in _read_delivery("patients.csv")}
    needles = plain | {c[:6] + "-" + c[6:] for c in plain}
    leaks = []
    for f in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        data = f.read_bytes()
        hit = sorted(n for n in needles if n.encode() in data)
        if hit:
            leaks.append(f"{f.relative_to(out_dir)}: {len(hit)} CPR number(s), e.g. {hit[0][:6]}…")
    assert not leaks, "clear CPR numbers in the audit output:\n" + "\n".join(leaks)


# --------------------------------------------------------------------------- the deck itself
def test_deck_integrity():
    manifest = json.loads((DECK / "manifest.json").read_text("utf-8"))
    assert manifest["extract_id"] == "DECK-2026-11-01"
    assert manifest["extracted_at"] == "2026-11-01"
    assert sorted(manifest["files"]) == sorted(DELIVERY_FILES)
    problems = []

    # manifest rows and sha256 match the bytes
    for name in DELIVERY_FILES:
        raw = (DECK / name).read_bytes()
        rows = len(list(csv.reader(raw.decode("utf-8").splitlines(), delimiter=";"))) - 1
        if rows != manifest["files"][name]["rows"]:
            problems.append(f"{name}: {rows} rows, manifest says {manifest['files'][name]['rows']}")
        if hashlib.sha256(raw).hexdigest() != manifest["files"][name]["sha256"]:
            problems.append(f"{name}: sha256 differs from manifest")

    # every CPR: 10 digits, DDMMYY = birth date, fails modulus 11; every CPR elsewhere has a patient row
    patients = _read_delivery("patients.csv")
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    deck_cprs = set()
    for r in patients:
        cpr = r["cpr"].replace("-", "")
        if not re.fullmatch(r"\d{10}", cpr):
            problems.append(f"patients.csv: CPR {cpr[:6]}… is not 10 digits")
            continue
        if dt.datetime.strptime(r["birth_date"], "%d-%m-%Y").strftime("%d%m%y") != cpr[:6]:
            problems.append(f"patients.csv: CPR {cpr[:6]}… does not match birth date {r['birth_date']}")
        if sum(int(c) * w for c, w in zip(cpr, weights)) % 11 == 0:
            problems.append(f"patients.csv: CPR {cpr[:6]}… passes the modulus-11 check (must fail)")
        if cpr in deck_cprs:
            problems.append(f"patients.csv: CPR {cpr[:6]}… twice")
        deck_cprs.add(cpr)
    for name in CPR_FILES:
        for r in _read_delivery(name):
            if r["cpr"].replace("-", "") not in deck_cprs:
                problems.append(f"{name}: CPR {r['cpr'][:6]}… has no patients row")
    course_ids = {r["course_id"] for r in _read_delivery("treatment_courses.csv")}
    problems += [f"drugs.csv: course {r['course_id']} has no course" for r in _read_delivery("drugs.csv")
                 if r["course_id"] not in course_ids]

    # expected file: header, order, keys, statuses, and every pseudonym belongs to a deck patient
    with open(DECK / "expected_patient_results.csv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        body = [tuple(r) for r in reader]
    assert tuple(header) == COLS, header
    if body != sorted(body):
        problems.append("expected_patient_results.csv is not sorted by pseudonym, indicator_id")
    keys = [(p, i) for p, i, _, _ in body]
    if len(keys) != len(set(keys)):
        problems.append("expected_patient_results.csv has duplicated (pseudonym, indicator_id) rows")
    pseudonyms = {_pseudonym(c) for c in deck_cprs}
    for p, i, s, r in body:
        if p not in pseudonyms:
            problems.append(f"expected pseudonym {p} ({i}) belongs to no deck patient")
        if not re.fullmatch(r"MM(0[1-9]|1[0-5])", i):
            problems.append(f"{p}: unknown indicator {i}")
        if s not in STATUSES or not re.fullmatch(r"[A-Z][A-Z0-9_]*", r):
            problems.append(f"{p} {i}: bad status/reason {s}/{r}")
        if (s == "met") != (r == "MET") or (s == "pending") != (r == "WINDOW_OPEN"):
            problems.append(f"{p} {i}: status {s} with reason {r}")
    assert not problems, "\n".join(problems)
