"""The department pages of a whole run on the bundled sample, as a clinician gets them (issue 15).

Three runs of the real command (subprocesses, each with its Dagster run recorded): an earlier
extract of the sample (``DMDB-2026-10-01``, extract date 01-10-2026) is published; then the
sample itself (extract 01-11-2026) is run into a copy of those results twice, with and
without ``MYELOMA_AUDIT_REID_KEY``. Headless Chromium (network cut off) opens a department's
``afvigelser.html`` and ``dashboard.html`` of each and checks: the CPR column is there only
with the key and holds only that department's patients; the visible text has no English
sentence and no raw identifier (a word list); the tiles and the list count the same rows of
the audit period; the comparison names the previous extract. The CPR scan of every output,
table, log line and Dagster event finds clear CPR numbers only in ``departments/<code>/`` with
the key, and nowhere without it; the re-identification key itself is stored nowhere.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pipelines.audit import SAMPLE_DELIVERY
from pipelines.lib.pseudonym import pseudonym
from pipelines.lib.vault import REID_KEY_ENV
from tests.hardening.conftest import DRIVER, KEY, REPO, WholeRun
from tests.hardening.hardening_deck import run_haystacks
from tests.hardening.test_cpr_scan import clear_cprs, delivery_cprs

REID_KEY = "reid-test-key-Zq7!-0123456789-of-32-bytes-at-least"
PREVIOUS = "DMDB-2026-10-01"


def cli_run(root: Path, delivery: Path, out: Path, reid: bool) -> WholeRun:
    home = root / "dagster_home"
    home.mkdir(parents=True)
    env = dict(os.environ, MYELOMA_AUDIT_KEY=KEY, DAGSTER_HOME=str(home))
    env.pop("MYELOMA_AUDIT_DEBUG", None)
    env.pop(REID_KEY_ENV, None)
    if reid:
        env[REID_KEY_ENV] = REID_KEY
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(home), "run", "--extract", str(delivery), "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    return WholeRun(root, delivery, out, home, proc.returncode, proc.stdout, proc.stderr, KEY)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, WholeRun]:
    tmp = tmp_path_factory.mktemp("department_pages")
    earlier = tmp / PREVIOUS
    shutil.copytree(SAMPLE_DELIVERY, earlier)
    manifest = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(extract_id=PREVIOUS, extracted_at="2026-10-01")
    (earlier / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    with_key, without_key = tmp / "with" / "results" / "out", tmp / "without" / "results" / "out"
    first = cli_run(tmp / "earlier", earlier, with_key, reid=False)
    assert first.returncode == 0, first.stderr[-3000:]
    shutil.copytree(with_key, without_key, symlinks=True)  # the same earlier results for both
    out = {"with": cli_run(tmp / "with", SAMPLE_DELIVERY, with_key, reid=True),
           "without": cli_run(tmp / "without", SAMPLE_DELIVERY, without_key, reid=False)}
    for run in out.values():
        assert run.returncode == 0, run.stderr[-3000:]
    return out


def read_danish(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes()[3:].decode("utf-8")), delimiter=";"))


def owners(out: Path) -> dict[str, set[str]]:
    """pseudonym → the department codes of its result rows."""
    found: dict[str, set[str]] = {}
    for r in csv.DictReader(io.StringIO((out / "patient_results.csv").read_text(encoding="utf-8"))):
        found.setdefault(r["pseudonym"], set()).add(r["department_code"])
    return found


def busiest(out: Path) -> str:
    """The department folder with the most rows in its deviation list."""
    return max((p.parent.name for p in (out / "departments").glob("*/afvigelser.csv")),
               key=lambda name: (len(read_danish(out / "departments" / name / "afvigelser.csv")), name))


# --- CPR column ----------------------------------------------------------------------------

def test_the_cpr_column_comes_first_only_with_the_key_and_holds_the_departments_own_patients(runs):
    with_key, without_key = runs["with"].out, runs["without"].out
    owner = owners(with_key)
    listed = 0
    for folder in sorted((with_key / "departments").iterdir()):
        rows = read_danish(folder / "afvigelser.csv")
        if not rows:
            continue
        assert list(rows[0])[:2] == ["cpr-nummer", "pseudonym"]
        for row in rows:
            cpr = row["cpr-nummer"]
            assert re.fullmatch(r"\d{6}-\d{4}", cpr), cpr
            assert pseudonym(KEY.encode(), cpr.replace("-", "")) == row["pseudonym"], "the CPR of that very patient"
            assert owner[row["pseudonym"]] == {folder.name}, "a patient of this department only"
            listed += 1
    assert listed >= 10
    for folder in (without_key / "departments").iterdir():
        rows = read_danish(folder / "afvigelser.csv")
        assert not rows or "cpr-nummer" not in rows[0]


def test_the_cpr_scan_finds_clear_cprs_only_in_the_departments_own_folders(runs):
    run = runs["with"]
    needles = delivery_cprs(SAMPLE_DELIVERY)
    found = clear_cprs(run_haystacks(run), needles)
    assert found, "the department folders hold CPR numbers with the key"
    places = {where for where, _ in found}
    outside = sorted(w for w in places if not re.match(r"results/out/departments/[^/]+/", w))
    assert outside == [], "no clear CPR in the national or public outputs, tables, logs or Dagster events"
    owner = owners(run.out)
    for where, number in found:
        department = where.split("/")[3]
        assert owner[pseudonym(KEY.encode(), number)] == {department}, (where, "another department's patient")
    assert any(w.endswith("afvigelser.xlsx") for w in places) and any(w.endswith("afvigelser.html") for w in places)


def test_without_the_key_there_is_no_clear_cpr_anywhere(runs):
    run = runs["without"]
    assert clear_cprs(run_haystacks(run), delivery_cprs(SAMPLE_DELIVERY)) == []


def test_the_re_identification_key_is_never_printed_or_stored(runs):
    run = runs["with"]
    hay = run_haystacks(run)
    assert [where for where, text in hay.items() if REID_KEY in text] == []
    assert REID_KEY.encode() not in (run.out / "audit.duckdb").read_bytes()


# --- the pages in the browser ---------------------------------------------------------------

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
CODE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
ISO_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")
ENGLISH = [" the ", " and ", " of ", " with ", "window", "expected", "unknown", "missing", "given", "pending",
           "justified", "excluded", "deviation", "patients", "department", "proportion", "cycles", "dose ",
           "treatment", "maintenance", "induction", "not met", "high risk", "standard risk", "recorded",
           "Rec ", "None", "null", "nan"]
ALLOWED: set[str] = set()


def english_or_raw(text: str) -> list[str]:
    found = [m for m in SNAKE.findall(text)] + [m for m in CODE.findall(text) if m not in ALLOWED]
    found += ISO_DATE.findall(text)
    lowered = f" {text.lower()} "
    found += [w for w in ENGLISH if w.lower() in lowered]
    return found


def visible(page) -> str:
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    return page.evaluate("document.body.innerText")


@pytest.mark.parametrize("variant", ["with", "without"])
def test_the_department_pages_read_in_danish_and_count_the_same_rows(runs, offline_page, variant):
    out = runs[variant].out
    folder = out / "departments" / busiest(out)
    page = offline_page.open(folder / "afvigelser.html")
    text = visible(page)
    assert english_or_raw(text) == [], "English or raw identifiers on afvigelser.html"
    headers = page.evaluate("Array.from(document.querySelectorAll('#afvigelser thead th')).map(t => t.innerText)")
    assert (headers[0] == "CPR-nummer") == (variant == "with") and ("CPR-nummer" in headers) == (variant == "with")
    assert f"Sammenlignet med udtræk {PREVIOUS} af 01-10-2026" in text
    assert ("Listen viser pseudonymer" in text) == (variant == "without") and "MYELOMA_AUDIT_REID_KEY" not in text
    listed = Counter(page.evaluate("""() => Array.from(document.querySelectorAll('#afvigelser tbody tr'))
        .filter(r => r.dataset.change !== 'løst').map(r => r.dataset.indicator + '|' + r.dataset.status)"""))
    if variant == "with":
        cprs = page.evaluate("Array.from(document.querySelectorAll('#afvigelser tbody td.cpr')).map(t => t.innerText)")
        assert cprs and all(re.fullmatch(r"\d{6}-\d{4}", c) for c in cprs)
    assert offline_page.problems == []

    page = offline_page.open(folder / "dashboard.html")
    text = visible(page)
    assert english_or_raw(text) == [], "English or raw identifiers on dashboard.html"
    assert f"Sammenlignet med udtræk {PREVIOUS} af 01-10-2026" in text
    assert "2026 (til 01-11-2026)" in text or "(til 01-11-2026)" in text
    tiles = page.evaluate("""() => Array.from(document.querySelectorAll('a.tile')).map(t => {
        const n = c => { const e = t.querySelector(`[data-col="${c}"]`); return e ? parseInt(e.innerText.replace(/\\D+/g, ' ').trim().split(' ').pop() || '0') : null; };
        return {id: t.dataset.indicator, state: t.dataset.state, not_met: n('not_met'), unknown: n('unknown'), justified: n('justified')};
    })""")
    for tile in tiles:
        if tile["state"] == "info":
            assert tile["not_met"] is None and not any(k.startswith(tile["id"] + "|") for k in listed)
            continue
        for key, label in (("not_met", "ikke opfyldt"), ("unknown", "uoplyst"), ("justified", "begrundet afvigelse")):
            assert tile[key] == listed[f"{tile['id']}|{label}"], (tile, key)
    patient_cprs = page.evaluate("Array.from(document.querySelectorAll('table.patients td.cpr')).map(t => t.innerText)")
    assert bool(patient_cprs) == (variant == "with"), "the dashboard's patient lists carry the CPR with the key"
    assert offline_page.problems == []

    page = offline_page.open(folder / "patienter" / "MM01.html") if (folder / "patienter" / "MM01.html").is_file() \
        else None
    if page is not None:
        assert english_or_raw(visible(page)) == []


def test_the_word_list_finds_what_it_looks_for():
    """Control: the word list catches English sentences, snake_case keys, codes and ISO dates."""
    assert "induction_cutoff_date" in english_or_raw("induction_cutoff_date")
    assert english_or_raw("NO_PRIMING Anbefaling 3") == ["NO_PRIMING"]
    assert english_or_raw("Indeksdato 2025-02-10") == ["2025-02-10"]
    assert english_or_raw("start of the first course") != []
    assert english_or_raw("risk: unknown") == ["unknown"]
    assert english_or_raw("Udtræk DMDB-2026-10-01 af 01-10-2026") == []


def page_text(path: Path) -> str:
    """The text of a page a person can read (chart labels and tooltips included; no markup,
    style or script)."""
    import html as html_lib

    text = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))


def test_every_department_page_reads_in_danish(runs):
    for variant in ("with", "without"):
        pages = sorted((runs[variant].out / "departments").rglob("*.html"))
        assert len(pages) > 40
        found = {str(p.relative_to(runs[variant].out)): english_or_raw(page_text(p)) for p in pages}
        assert {k: v for k, v in found.items() if v} == {}
