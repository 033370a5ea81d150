"""Dashboards: tiles of the audit period against the standard (the rows the deviation list
counts), funnel position, trends with the part year marked, patient lists (paged)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from pipelines.lib.period import resolve_period
from pipelines.reports.dashboard import EMBED_LIMIT, MIN_PATIENTS, wilson
from pipelines.reports.deviations import PAGE_ROWS
from pipelines.reports.files import safe_names
from pipelines.reports.writer import write_reports
from tests.reports.report_rows import DEPARTMENTS, cohort, connect

ROWS = cohort()
EXTRACT = max(r["index_date"] for r in ROWS) + timedelta(days=1)  # no delivery info: the day after the last row
PERIOD = resolve_period("12m", EXTRACT)


def in_period(row: dict) -> bool:
    return PERIOD.start <= row["index_date"] <= PERIOD.end or row["status"] == "pending"


def expected_counts(department: str, indicator: str) -> Counter:
    return Counter(r["status"] for r in ROWS if r["department_code"] == department and r["indicator_id"] == indicator
                   and in_period(r))


def read_danish(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes()[3:].decode("utf-8")), delimiter=";"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboards")
    con = connect(tmp / "audit.duckdb", ROWS)
    out = tmp / "out"
    write_reports(con, out, None)
    from pipelines.reports.data import load
    return out, load(con)


def tile(page: str, indicator: str) -> str:
    return page.split(f'data-indicator="{indicator}" data-state=')[1].split("</a>")[0]


def test_every_department_has_a_dashboard_linked_from_the_national_one(site):
    out, data = site
    folders = safe_names(data.departments["department_code"].to_list())
    national = (out / "dashboard.html").read_text(encoding="utf-8")
    for code, folder in folders.items():
        assert (out / "departments" / folder / "dashboard.html").is_file()
        assert f'href="departments/{folder}/dashboard.html"' in national
    assert len(folders) == len(DEPARTMENTS) + 1


@pytest.mark.parametrize("department", ["4202011", "1301011", "1516011"])
def test_tiles_show_the_audit_periods_figures_and_state(site, department):
    out, _ = site
    page = (out / "departments" / department / "dashboard.html").read_text(encoding="utf-8")
    for indicator in CATALOGUE:
        iid = indicator.indicator_id
        counts = expected_counts(department, iid)
        met, denominator = counts["met"], counts["met"] + counts["not_met"] + counts["unknown"]
        shown = tile(page, iid)
        assert f'<div data-col="fraction">{met} / {denominator} patienter' in shown, (iid, shown)
        low, high = wilson(met, denominator)
        if indicator.informational:
            state = "info"
        elif not denominator:
            state = "none"
        elif denominator < MIN_PATIENTS:
            state = "few"
        elif met / denominator >= indicator.standard:
            state = "ok"
        else:
            state = "near" if high >= indicator.standard else "bad"
        assert shown.startswith(f'"{state}"'), (iid, state, shown[:40])
        if state == "few":
            assert "for få til at vurdere" in shown
        if not indicator.informational:
            for status in ("not_met", "unknown", "justified"):
                label = {"not_met": "ikke opfyldt", "unknown": "uoplyst", "justified": "begrundet"}[status]
                assert f'<span data-col="{status}">{label} {counts[status]}</span>' in shown
        assert f'<span data-col="pending">afventer {counts["pending"]}</span>' in shown


def test_tiles_and_the_deviation_list_count_the_same_rows(site):
    out, data = site
    for code in data.departments["department_code"].to_list():
        folder = safe_names(data.departments["department_code"].to_list())[code]
        page = (out / "departments" / folder / "dashboard.html").read_text(encoding="utf-8")
        listed = Counter((r["indikator"], r["status"]) for r in read_danish(out / "departments" / folder /
                                                                            "afvigelser.csv"))
        for indicator in CATALOGUE:
            if indicator.informational:
                assert not any(k[0] == indicator.indicator_id for k in listed)
                continue
            shown = tile(page, indicator.indicator_id)
            for status, label in (("not_met", "ikke opfyldt"), ("unknown", "uoplyst"),
                                  ("justified", "begrundet afvigelse")):
                count = int(re.search(rf'data-col="{status}">[^<]* (\d+)</span>', shown).group(1))
                assert count == listed[(indicator.indicator_id, label)], (code, indicator.indicator_id, status)


def test_the_departments_own_point_is_in_every_funnel_and_equal_points_are_told_apart(site):
    out, _ = site
    page = (out / "departments" / "4202011" / "dashboard.html").read_text(encoding="utf-8")
    with_patients = [i for i in CATALOGUE if sum(expected_counts("4202011", i.indicator_id)[s]
                                                 for s in ("met", "not_met", "unknown"))]
    assert page.count('data-unit="4202011"') == len(with_patients)
    groups = [int(g) for g in re.findall(r'data-group="(\d+)"', page)]
    assert groups and all(g >= 1 for g in groups)
    for cx_values in re.findall(r'<svg[^>]*class="chart funnel".*?</svg>', page, flags=re.S):
        points = re.findall(r'data-numerator="(\d+)" data-denominator="(\d+)"[^>]*cx="([\d.]+)" cy="([\d.]+)"', cx_values)
        assert len({(cx, cy) for _, _, cx, cy in points}) == len(points), "no two departments drawn on top of each other"
    assert "landsandel" in page and "95 %-kontrolgrænser" in page and "99,8 %-kontrolgrænser" in page


def test_trends_mark_the_current_year_as_a_part_year(site):
    out, data = site
    page = (out / "departments" / "1301011" / "dashboard.html").read_text(encoding="utf-8")
    partial = f"(til {EXTRACT.strftime('%d-%m-%Y')})"
    assert f'data-year="{data.current_year}"' in page and partial in page
    assert f"{data.years[0]}–{data.current_year} {partial}" in page


def test_informational_indicators_show_uptake_without_a_standard(site):
    out, _ = site
    page = (out / "departments" / "1301011" / "dashboard.html").read_text(encoding="utf-8")
    for iid in ("MM08", "MM09", "MM12"):
        assert BY_ID[iid].informational
        shown = tile(page, iid)
        assert shown.startswith('"info"') and "udbredelse" in shown and "Standard ≥" not in shown
        section = page.split(f'<section id="{iid}"')[1].split("</section>")[0]
        assert 'class="standard"' not in section, "no standard line"
        assert "ikke opfyldt" not in section.split("<h3>")[0]


def test_patient_lists_behind_the_figures_match_the_counts(site):
    out, _ = site
    page = (out / "departments" / "1301011" / "dashboard.html").read_text(encoding="utf-8")
    section = page.split('<section id="MM01" data-indicator="MM01">')[1].split("</section>")[0]
    counts = expected_counts("1301011", "MM01")
    assert section.count('<tr class="status-') == sum(counts.values())
    assert section.count('<tr class="status-met"') == counts["met"]
    listed = read_danish(out / "departments" / "1301011" / "patienter" / "MM01.csv")
    assert len(listed) == sum(counts.values())
    assert {r["status"] for r in listed} <= {"opfyldt", "ikke opfyldt", "uoplyst", "begrundet afvigelse",
                                            "ekskluderet", "afventer"}


def test_large_lists_are_paged_and_never_embedded_beyond_the_limit(tmp_path):
    start = date(2026, 1, 1)
    big = [{"pseudonym": f"P{k:016x}", "indicator_id": indicator, "status": "met" if k % 7 else "not_met",
            "reason_code": "MET" if k % 7 else "NO_HDT", "reason_text": "Anbefaling 1 (A): x",
            "index_date": start + timedelta(k % 300), "guideline_version": "v1.5", "department_code": "1301011",
            "risk": "standard", "risk_rules": "", "values_json": "{}"} for k in range(2300) for indicator in ("MM01", "MM02")]
    con = connect(tmp_path / "audit.duckdb", big)
    out = tmp_path / "out"
    write_reports(con, out, None)
    for page in (out / "dashboard.html", out / "departments" / "1301011" / "dashboard.html"):
        text = page.read_text(encoding="utf-8")
        assert text.count("<tr class=\"status-") <= EMBED_LIMIT
        assert 'href="patienter/MM01.html"' in text and 'href="patienter/MM01.csv"' in text
    pages = sorted((out / "departments" / "1301011" / "patienter").glob("MM01*.html"))
    assert [p.name for p in pages] == ["MM01-2.html", "MM01.html"]
    rows = [p.read_text(encoding="utf-8").count('<tr class="status-') for p in pages]
    assert max(rows) <= PAGE_ROWS and sum(rows) == 2300
    assert 'href="MM01-2.html"' in (out / "departments" / "1301011" / "patienter" / "MM01.html").read_text(encoding="utf-8")
    deviations = out / "departments" / "1301011"
    assert sorted(p.name for p in deviations.glob("afvigelser*.html")) == ["afvigelser.html"]


def test_unlisted_department_and_hostile_names_are_escaped(site):
    out, data = site
    folders = safe_names(data.departments["department_code"].to_list())
    page = (out / "departments" / folders["CON"] / "dashboard.html").read_text(encoding="utf-8")
    assert "<script>alert('afd')</script>" not in page and "&lt;script&gt;" in page
    assert (out / "departments" / "9999999" / "dashboard.html").is_file()


def test_every_relative_link_in_every_page_resolves(site):
    out, _ = site
    pages = list(out.rglob("*.html"))
    assert len(pages) > 50
    for page in pages:
        for target in re.findall(r'href="([^"#:]+)(?:#[^"]*)?"', page.read_text(encoding="utf-8")):
            assert (page.parent / target).resolve().is_file(), f"{page.relative_to(out)} → {target}"
            assert (page.parent / target).resolve().is_relative_to(out.resolve())
