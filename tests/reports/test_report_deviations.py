"""Departmental deviation lists (CSV, Excel, HTML) of the audit period and the comparison
with the previous results (the extract-to-extract naming: ``test_report_comparison.py``)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from pipelines.indicators.catalogue import CATALOGUE

from pipelines.reports.deviations import headline
from pipelines.reports.files import safe_names
from pipelines.reports.writer import write_dashboards, write_departments, write_national
from tests.reports.report_rows import connect

DEPARTMENTS = [("D1", "Hæmatologisk Afdeling, Aarhus", "AUH", "Midtjylland"),
               ("../evil", "Afd. <b>fed</b>", "AUH", "Midtjylland")]
HOSTILE = '=HYPERLINK("http://x","klik") <script>alert(1)</script>'


def result(pseudonym, indicator, status, department="D1", text=None, values=None, day=date(2026, 3, 1)):
    return {"pseudonym": pseudonym, "indicator_id": indicator, "status": status,
            "reason_code": {"met": "MET", "not_met": "NO_HDT", "unknown": "CRCL_UNKNOWN", "justified": "DIED",
                            "excluded": "DIED", "pending": "WINDOW_OPEN"}[status],
            "reason_text": text or f"Rec 1 (A): {status}", "index_date": day, "guideline_version": "v1.5",
            "department_code": department, "risk": "standard", "risk_rules": "",
            "values_json": json.dumps(values or {"crcl_ml_min": 24.5, "melphalan_mg_m2_given": 200,
                                                 "creatinine_umol_l": 91.0, "creatinine_sample_date": "2025-02-10"})}


CURRENT = [
    result("P00000000000000a1", "MM01", "not_met", text=HOSTILE),          # persisting (was unknown)
    result("P00000000000000a2", "MM01", "unknown"),                         # new (was met)
    result("P00000000000000a3", "MM04", "justified"),                       # new (absent before)
    result("P00000000000000a4", "MM04", "met"),                             # resolved (was not_met)
    result("P00000000000000a5", "MM05", "met"),
    result("P00000000000000b1", "MM01", "not_met", department="../evil"),   # new
    result("P00000000000000a6", "MM12", "not_met"),                         # informational: never a deviation
    result("P00000000000000a7", "MM01", "not_met", day=date(2024, 1, 5)),  # before the audit period
    result("P00000000000000a8", "MM06", "pending", day=date(2024, 1, 5)),  # pending: in the period, not a deviation
]
PREVIOUS = [  # pseudonym, indicator_id, status, department_code (contract columns, some upper-case hex)
    ("P00000000000000A1", "MM01", "unknown", "D1"),
    ("P00000000000000a2", "MM01", "met", "D1"),
    ("P00000000000000a4", "MM04", "not_met", "D1"),
    ("P00000000000000a9", "MM06", "not_met", "D1"),                         # resolved: no longer in population
    ("P00000000000000b9", "MM06", "unknown", "../evil"),                     # resolved
]


def write_previous(path: Path) -> Path:
    columns = ["pseudonym", "indicator_id", "status", "reason_code", "reason_text", "index_date",
               "guideline_version", "department_code", "risk", "risk_rules"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for pseudonym, indicator, status, department in PREVIOUS:
            writer.writerow([pseudonym, indicator, status, "X", f"before: {status}", "2025-05-01", "v1.5", department,
                             "standard", ""])
    return path


def read_danish(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8")), delimiter=";"))


@pytest.fixture
def run(tmp_path):
    con = connect(tmp_path / "audit.duckdb", CURRENT, departments=DEPARTMENTS)
    out = tmp_path / "out"
    previous = write_previous(tmp_path / "previous_patient_results.csv")
    values = write_departments(con, out, previous)
    national = write_national(con, out, previous)
    folders = safe_names(["D1", "../evil"])
    return out, folders, values, national


def test_one_safe_folder_per_department_with_all_three_formats(run):
    out, folders, values, _ = run
    assert values["departments"] == 2
    assert sorted(p.name for p in (out / "departments").iterdir()) == sorted(folders.values())
    assert folders["D1"] == "D1" and ".." not in folders["../evil"]
    for folder in folders.values():
        assert {"afvigelser.csv", "afvigelser.xlsx", "afvigelser.html"} <= {p.name for p in (out / "departments" / folder).iterdir()}
    assert not (out.parent / "evil").exists()


def test_the_list_holds_every_deviation_marked_against_the_previous_audit(run):
    out, folders, _, _ = run
    rows = read_danish(out / "departments" / folders["D1"] / "afvigelser.csv")
    marks = {(r["pseudonym"], r["indikator"]): (r["status"], r["ændring"], r["tidligere status"]) for r in rows}
    assert marks == {
        ("P00000000000000a1", "MM01"): ("ikke opfyldt", "vedvarende", "uoplyst"),
        ("P00000000000000a2", "MM01"): ("uoplyst", "ny", ""),
        ("P00000000000000a3", "MM04"): ("begrundet afvigelse", "ny", ""),
        ("P00000000000000a4", "MM04"): ("opfyldt", "løst", "ikke opfyldt"),
        ("P00000000000000a9", "MM06"): ("ikke længere i populationen", "løst", "ikke opfyldt"),
    }, "informational indicators, rows before the period and pending rows are never listed"
    reasons = {r["pseudonym"]: r["årsag"] for r in rows}
    assert reasons["P00000000000000a4"] == "Rec 1 (A): met", "a resolved deviation shows the current result"
    assert reasons["P00000000000000a9"] == "before: not_met", "…or the old reason when out of the population"
    first = next(r for r in rows if r["pseudonym"] == "P00000000000000a1")
    assert first["årsag"].startswith("'=HYPERLINK"), "formula neutralised"
    assert first["værdier"] == ("Kreatininclearance (CrCl): 24,5 ml/min; Melphalan givet: 200 mg/m²; "
                                "Kreatinin: 91 µmol/L (10-02-2025)")
    assert first["indeksdato"] == "01-03-2026" and first["indikatortitel"] == "Vurdering med henblik på HDT"
    assert first["risiko"] == "standardrisiko"
    assert list(rows[0]) == ["pseudonym", "indikator", "indikatortitel", "status", "ændring", "tidligere status",
                             "indeksdato", "årsag", "værdier", "risiko", "retningslinjeversion"]
    other = read_danish(out / "departments" / folders["../evil"] / "afvigelser.csv")
    assert {(r["pseudonym"], r["ændring"]) for r in other} == {("P00000000000000b1", "ny"), ("P00000000000000b9", "løst")}


def test_html_list_is_escaped_and_shows_the_counts(run):
    out, folders, _, _ = run
    page = (out / "departments" / folders["D1"] / "afvigelser.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert ('data-indicator="MM01"><td>MM01 Vurdering med henblik på HDT</td><td class="num" data-col="not_met">1</td>'
            '<td class="num" data-col="unknown">1</td>') in page
    assert 'data-indicator="MM12"' not in page, "informational indicators are not deviations"
    assert "Sammenlignet med tidligere resultater (previous_patient_results.csv)" in page
    assert ('<p class="big" data-col="summary">3 afvigelser i auditperioden: 1 ikke opfyldt, 1 uoplyst, '
            '1 begrundet afvigelse. 2 nye siden forrige udtræk, 2 løst.</p>') in page
    assert "Auditperiode 02-03-2025 – 01-03-2026" in page
    assert '<td class="num" data-col="ny">1</td><td class="num" data-col="vedvarende">1</td><td class="num" data-col="løst">0</td>' in page
    evil = (out / "departments" / folders["../evil"] / "afvigelser.html").read_text(encoding="utf-8")
    assert "Afd. &lt;b&gt;fed&lt;/b&gt;" in evil and "<b>fed</b>" not in evil


def test_xlsx_has_an_overview_and_one_sheet_per_indicator(run):
    out, folders, _, _ = run
    with zipfile.ZipFile(out / "departments" / folders["D1"] / "afvigelser.xlsx") as z:
        workbook = z.read("xl/workbook.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    judged = [i for i in CATALOGUE if not i.informational]
    assert workbook.count("<sheet ") == len(judged) + 1 and 'name="Oversigt"' in workbook
    assert 'name="MM12"' not in workbook and 'name="MM13"' in workbook
    assert "Kreatininclearance (CrCl), ml/min" in strings and "'=HYPERLINK" in strings
    assert "Sammenlignet med tidligere resultater" in strings and "Listen viser pseudonymer" in strings
    # the workbook opens with the page's sentence too (found by an independent reviewer: it did not)
    assert ("3 afvigelser i auditperioden: 1 ikke opfyldt, 1 uoplyst, 1 begrundet afvigelse. "
            "2 nye siden forrige udtræk, 2 løst.") in strings
    assert "MYELOMA_AUDIT_REID_KEY" not in strings      # clinicians do not run the audit: ask the registry
    assert all("<f>" not in s for s in sheets)
    assert all('state="frozen"' in s and "<autoFilter" in s for s in sheets)


def test_national_report_shows_the_comparison_counts(run):
    out, _, _, national = run
    assert national["compared"] is True
    page = (out / "national_report.html").read_text(encoding="utf-8")
    assert "Sammenligning med forrige audit" in page and "previous_patient_results.csv" in page
    total = page.split('<tr class="level-national"><td>I alt</td>')[1].split("</tr>")[0]
    assert [int(v) for v in total.replace('<td class="num">', "").split("</td>") if v.strip()] == [3, 1, 3]


def test_without_previous_results_there_is_no_comparison(tmp_path):
    con = connect(tmp_path / "audit.duckdb", CURRENT, departments=DEPARTMENTS)
    values = write_departments(con, tmp_path / "out", None)
    rows = read_danish(tmp_path / "out" / "departments" / "D1" / "afvigelser.csv")
    assert len(rows) == 3 and "ændring" not in rows[0]
    assert not any(k.startswith("changes_") for k in values)
    page = (tmp_path / "out" / "departments" / "D1" / "afvigelser.html").read_text(encoding="utf-8")
    assert "Ingen sammenligning" in page
    assert ">3 afvigelser i auditperioden: 1 ikke opfyldt, 1 uoplyst, 1 begrundet afvigelse.</p>" in page


def test_previous_results_of_the_wrong_shape_are_refused(tmp_path):
    con = connect(tmp_path / "audit.duckdb", CURRENT, departments=DEPARTMENTS)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing pseudonym"):
        write_departments(con, tmp_path / "out", bad)


@pytest.mark.parametrize(("counts", "compared", "sentence"), [
    ([{"not_met": 1, "unknown": 0, "justified": 0, "new": 1, "resolved": 0}], True,
     "1 afvigelse i auditperioden: 1 ikke opfyldt, 0 uoplyst, 0 begrundet afvigelse. 1 ny siden forrige udtræk."),
    ([{"not_met": 0, "unknown": 0, "justified": 0, "new": 0, "resolved": 3}], True,
     "Ingen afvigelser i auditperioden. Ingen nye siden forrige udtræk, 3 løst."),
    ([{"not_met": 1200, "unknown": 2, "justified": 0, "new": 0, "resolved": 0},
      {"not_met": 3, "unknown": 0, "justified": 1, "new": 0, "resolved": 0}], False,
     "1.206 afvigelser i auditperioden: 1.203 ikke opfyldt, 2 uoplyst, 1 begrundet afvigelse."),
])
def test_the_sentence_a_list_opens_with(counts, compared, sentence):
    assert headline(counts, compared) == sentence


def test_a_deviation_whose_patient_moved_department_is_marked_in_the_old_list(tmp_path):
    """A deviation listed before under D1 whose row is now under D2 (the index department changed)
    is 'flyttet' in D1, still a deviation or not, with where it went and D1's own old reason, never
    D2's reason or values; persisting in D2 if still a deviation (left without a mark in D1
    before: found by an earlier review)."""
    departments = DEPARTMENTS[:1] + [("D2", "Hæmatologisk Afdeling, Odense", "OUH", "Syddanmark")]
    current = [result("P00000000000000c1", "MM04", "unknown", department="D2", text="Rec 3: D2's reason"),
               result("P00000000000000c2", "MM04", "met", department="D2", text="Rec 3: D2's met"),
               result("P00000000000000c3", "MM04", "met", department="D1", text="Rec 3: D1's met")]
    con = connect(tmp_path / "audit.duckdb", current, departments=departments)
    previous = tmp_path / "previous.csv"
    previous.write_text("pseudonym,indicator_id,status,reason_code,reason_text,index_date,guideline_version,"
                        "department_code,risk,risk_rules\n"
                        "P00000000000000c1,MM04,not_met,X,D1's old reason,2026-03-01,v1.5,D1,standard,\n"
                        "P00000000000000c2,MM04,not_met,X,D1's old reason,2026-03-01,v1.5,D1,standard,\n",
                        encoding="utf-8")
    out = tmp_path / "out"
    write_departments(con, out, previous)
    old = {r["pseudonym"]: r for r in read_danish(out / "departments" / "D1" / "afvigelser.csv")}
    new = {r["pseudonym"]: r for r in read_danish(out / "departments" / "D2" / "afvigelser.csv")}
    assert (old["P00000000000000c1"]["status"], old["P00000000000000c1"]["ændring"],
            old["P00000000000000c1"]["tidligere status"]) == ("nu i en anden afdeling", "flyttet", "ikke opfyldt")
    assert old["P00000000000000c1"]["årsag"] == ("Nu registreret i Hæmatologisk Afdeling, Odense "
                                                 "(afdelingskode D2); her før: D1's old reason")
    assert old["P00000000000000c1"]["værdier"] == "", "the new department's values stay in its own list"
    assert (old["P00000000000000c2"]["status"], old["P00000000000000c2"]["ændring"]) == ("nu i en anden afdeling",
                                                                                       "flyttet")
    assert "D2's" not in " ".join(r["årsag"] + r["værdier"] for r in old.values())
    assert (new["P00000000000000c1"]["ændring"], new["P00000000000000c1"]["årsag"]) == ("vedvarende", "Rec 3: D2's reason")
    assert "P00000000000000c2" not in new
    page = (out / "departments" / "D1" / "afvigelser.html").read_text(encoding="utf-8")
    assert ('<p class="big" data-col="summary">Ingen afvigelser i auditperioden. Ingen nye siden forrige udtræk, '
            '2 flyttet til en anden afdeling.</p>') in page, "a moved deviation is not one of D1's now"
    assert 'data-col="løst">0</td><td class="num" data-col="flyttet">2</td>' in page
    assert "flyttet = afvigelse før i denne afdeling, nu i en anden" in page
    with zipfile.ZipFile(out / "departments" / "D1" / "afvigelser.xlsx") as z:
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "Flyttet" in strings and "2 flyttet til en anden afdeling" in strings
    write_dashboards(con, out, previous)
    dashboard = (out / "departments" / "D1" / "dashboard.html").read_text(encoding="utf-8")
    assert ("Ingen afvigelser i auditperioden; siden forrige udtræk 2 flyttet til en anden afdeling —\n"
            '<a href="afvigelser.html">se afvigelseslisten</a>.') in dashboard
    d2 = (out / "departments" / "D2" / "dashboard.html").read_text(encoding="utf-8")
    assert "1 afvigelse i auditperioden\n(0 ikke opfyldt, 1 uoplyst, 0 begrundet afvigelse), heraf 1 ny" not in d2
    assert ", ingen nye siden forrige udtræk —" in d2, "P…c1 is persisting in D2: not new"
