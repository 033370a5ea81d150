"""Dashboards: tiles against the standard, funnel position, trends, patient lists (paged)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import polars as pl
import pytest

from pipelines.indicators.catalogue import CATALOGUE

from pipelines.reports.dashboard import EMBED_LIMIT
from pipelines.reports.deviations import PAGE_ROWS
from pipelines.reports.files import safe_names
from pipelines.reports.writer import write_dashboards, write_departments, write_national
from tests.reports.report_rows import DEPARTMENTS, cohort, connect


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboards")
    con = connect(tmp / "audit.duckdb")
    out = tmp / "out"
    write_national(con, out)
    write_departments(con, out)
    write_dashboards(con, out)
    from pipelines.reports.data import load
    return out, load(con)


def test_every_department_has_a_dashboard_linked_from_the_national_one(site):
    out, data = site
    folders = safe_names(data.departments["department_code"].to_list())
    national = (out / "dashboard.html").read_text(encoding="utf-8")
    for code, folder in folders.items():
        assert (out / "departments" / folder / "dashboard.html").is_file()
        assert f'href="departments/{folder}/dashboard.html"' in national
    assert len(folders) == len(DEPARTMENTS) + 1


def test_department_tiles_show_the_department_figures_and_funnel_position(site):
    out, data = site
    page = (out / "departments" / "4202011" / "dashboard.html").read_text(encoding="utf-8")
    for r in data.summary.filter((pl.col("level") == "department") & (pl.col("unit") == "4202011")
                                 & (pl.col("year") == data.current_year)).iter_rows(named=True):
        tile = page.split(f'data-indicator="{r["indicator_id"]}" style')[1].split("</a>")[0]
        assert f'{r["numerator"]} / {r["denominator"]}' in tile
        if r["proportion"] is not None:
            assert f"{r['proportion'] * 100:.1f} %".replace(".", ",") in tile
            assert "tragt:" in tile
        state = re.search(r'class="tile (\w+)"', page.split(f'data-indicator="{r["indicator_id"]}" style')[0][-80:])
        expected = "none" if r["standard_met"] is None else ("ok" if r["standard_met"] else None)
        if expected:
            assert state.group(1) == expected
    assert page.count('data-unit="4202011"') == len(CATALOGUE), "the department's own point in every funnel"
    assert page.count('<circle class="point pos-') >= 12
    assert '<a href="afvigelser.csv">' in page and '<a href="../../dashboard.html">' in page


def test_patient_lists_behind_the_figures_match_the_counts(site):
    out, data = site
    page = (out / "departments" / "1301011" / "dashboard.html").read_text(encoding="utf-8")
    section = page.split('<section id="MM01" data-indicator="MM01">')[1].split("</section>")[0]
    row = data.summary.filter((pl.col("level") == "department") & (pl.col("unit") == "1301011")
                              & (pl.col("year") == data.current_year) & (pl.col("indicator_id") == "MM01")).row(0, named=True)
    assert section.count('<tr class="status-') == row["total"]
    assert section.count('<tr class="status-met">') == row["met"]
    listed = list(csv.DictReader(io.StringIO((out / "departments" / "1301011" / "patienter" / "MM01.csv")
                                             .read_bytes()[3:].decode("utf-8")), delimiter=";"))
    totals = data.summary.filter((pl.col("level") == "department") & (pl.col("unit") == "1301011")
                                 & (pl.col("indicator_id") == "MM01"))["total"].sum()
    assert len(listed) == totals


def test_large_lists_are_paged_and_never_embedded_beyond_the_limit(tmp_path):
    start = date(2026, 1, 1)
    big = [{"pseudonym": f"P{k:016x}", "indicator_id": indicator, "status": "met" if k % 7 else "not_met",
            "reason_code": "MET" if k % 7 else "NO_HDT", "reason_text": "Rec 1 (A): x", "index_date": start + timedelta(k % 300),
            "guideline_version": "v1.5", "department_code": "1301011", "risk": "standard", "risk_rules": "",
            "values_json": "{}"} for k in range(2300) for indicator in ("MM01", "MM02")]
    con = connect(tmp_path / "audit.duckdb", big)
    out = tmp_path / "out"
    write_departments(con, out)
    write_dashboards(con, out)
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
    assert len(cohort()) > 0


def test_every_relative_link_in_every_page_resolves(site):
    out, _ = site
    pages = list(out.rglob("*.html"))
    assert len(pages) > 50
    for page in pages:
        for target in re.findall(r'href="([^"#:]+)(?:#[^"]*)?"', page.read_text(encoding="utf-8")):
            assert (page.parent / target).resolve().is_file(), f"{page.relative_to(out)} → {target}"
            assert (page.parent / target).resolve().is_relative_to(out.resolve())
