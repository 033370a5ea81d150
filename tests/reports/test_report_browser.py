"""The reports as a person sees them: headless Chromium (Playwright, the system Chromium, the
network cut off: ``tests/conftest.py``) opens the national report, the publication variant
and a department dashboard built from given rows; the tables show the expected numbers, the
charts render, the patient tables sort and filter, nothing fails in the console. (The
department pages of a whole run, with and without re-identification:
``test_department_pages.py``.)"""

from __future__ import annotations

import struct
from collections import Counter

import polars as pl
import pytest

from pipelines.indicators.catalogue import CATALOGUE
from pipelines.reports.data import load
from pipelines.reports.writer import write_reports
from tests.reports.report_rows import connect
from tests.reports.test_report_dashboard import ROWS, expected_counts


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    con = connect(tmp / "audit.duckdb", ROWS)
    write_reports(con, tmp / "out", None)
    return tmp / "out", load(con)


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _national(data, indicator: str) -> dict:
    return data.summary.filter((pl.col("indicator_id") == indicator) & (pl.col("year") == data.current_year)
                               & (pl.col("level") == "national")).row(0, named=True)


TABLE_CELLS = """([indicator, year]) => {
  const t = document.querySelector(`table.summary[data-indicator="${indicator}"][data-year="${year}"]`);
  const row = t.querySelector('tr[data-unit="Danmark"]');
  const cells = {};
  row.querySelectorAll('td[data-col]').forEach(td => cells[td.dataset.col] = td.innerText.trim());
  return cells;
}"""

CHARTS = """() => Array.from(document.querySelectorAll('svg.chart')).map(s => {
  const r = s.getBoundingClientRect();
  return {kind: s.classList.contains('funnel') ? 'funnel' : 'trend', width: r.width, height: r.height,
          points: s.querySelectorAll('circle.point').length, limits: s.querySelectorAll('polyline.limit').length};
})"""


def test_national_report_renders_tables_and_charts_with_the_expected_numbers(site, offline_page, tmp_path):
    out, data = site
    page = offline_page.open(out / "national_report.html")
    assert page.evaluate("document.querySelectorAll('section.indicator').length") == len(CATALOGUE)
    assert page.evaluate("document.querySelectorAll('table.summary').length") == 3 * len(CATALOGUE)
    for indicator in ("MM01", "MM06", "MM10"):
        cells = page.evaluate(TABLE_CELLS, [indicator, data.current_year])
        expected = _national(data, indicator)
        assert cells["met"] == f"{expected['met']:,}".replace(",", ".")
        assert cells["denominator"] == f"{expected['denominator']:,}".replace(",", ".")
        assert cells["proportion"] == f"{expected['proportion'] * 100:.1f} %".replace(".", ",")
        assert cells["unknown"] == str(expected["unknown"])
        assert cells["standard_met"] == ("ja" if expected["standard_met"] else "nej")
    charts = page.evaluate(CHARTS)
    assert len(charts) == 2 * len(CATALOGUE)
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150, chart
    assert all(c["points"] == 3 for c in charts if c["kind"] == "trend")
    assert all(c["limits"] == 4 and c["points"] >= 5 for c in charts if c["kind"] == "funnel")
    assert page.evaluate("document.querySelector('#metode').innerText.includes('Spiegelhalter')")
    assert offline_page.problems == []
    shot = tmp_path / "national_report.png"
    page.screenshot(path=str(shot), full_page=True)
    width, height = png_size(shot)
    assert width == 1400 and height > 5000


def test_publication_variant_shows_suppressed_cells_and_no_withheld_proportions(site, offline_page):
    out, _ = site
    page = offline_page.open(out / "national_report_publication.html")
    counts = page.evaluate("""() => {
      const cells = Array.from(document.querySelectorAll('table.summary td[data-col]'));
      const text = c => c.innerText.trim();
      const rows = Array.from(document.querySelectorAll('table.summary tbody tr'));
      const leaks = rows.filter(r => {
        const v = col => text(r.querySelector(`td[data-col="${col}"]`));
        return (v('met') === '<5' || v('met') === 'x' || v('denominator') === '<5' || v('denominator') === 'x')
               && v('proportion') !== '–';
      }).length;
      return {lt5: cells.filter(c => text(c) === '<5').length, x: cells.filter(c => text(c) === 'x').length, leaks};
    }""")
    assert counts["lt5"] > 100 and counts["x"] > 10 and counts["leaks"] == 0
    assert offline_page.problems == []


def test_department_dashboard_shows_tiles_funnel_position_and_patients(site, offline_page, tmp_path):
    out, _ = site
    page = offline_page.open(out / "departments" / "4202011" / "dashboard.html")
    tiles = page.evaluate("""() => Array.from(document.querySelectorAll('a.tile')).map(t => ({
      id: t.dataset.indicator, state: t.dataset.state,
      fraction: t.querySelector('[data-col="fraction"]').innerText.trim()}))""")
    assert len(tiles) == len(CATALOGUE)
    for shown in tiles:
        counts = expected_counts("4202011", shown["id"])
        assert shown["fraction"].startswith(f"{counts['met']} / {counts['met'] + counts['not_met'] + counts['unknown']}")
    own = page.evaluate("""() => Array.from(document.querySelectorAll('svg.funnel circle[data-unit="4202011"]')).map(c => {
      const box = c.getBoundingClientRect(), svg = c.ownerSVGElement.getBoundingClientRect();
      return box.width > 8 && box.left >= svg.left && box.right <= svg.right && box.top >= svg.top && box.bottom <= svg.bottom;
    })""")
    assert own and all(own), "the department's own point is drawn, large, inside every funnel"
    titles = page.evaluate("""() => Array.from(document.querySelectorAll('svg.chart text.title')).map(t => {
      const box = t.getBoundingClientRect(), svg = t.ownerSVGElement.getBoundingClientRect();
      return box.right <= svg.right + 1;
    })""")
    assert titles and all(titles), "chart titles wrap inside their chart"
    page.evaluate("document.querySelector('#MM01 details').open = true")
    visible = page.evaluate("Array.from(document.querySelectorAll('#MM01 details tbody tr'))"
                            ".filter(r => r.getBoundingClientRect().height > 0).length")
    assert visible == sum(expected_counts("4202011", "MM01").values())
    assert offline_page.problems == []
    shot = tmp_path / "department_dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_size(shot)[0] == 1400


def test_patient_tables_sort_and_filter_offline(site, offline_page):
    out, _ = site
    page = offline_page.open(out / "departments" / "1301011" / "patienter" / "MM01.html")
    rows = page.locator("#patienter tbody tr")
    total = rows.count()
    statuses = Counter(page.evaluate("() => Array.from(document.querySelectorAll('#patienter tbody tr'))"
                                     ".map(r => r.dataset.status)"))
    assert total == sum(statuses.values()) and len(statuses) > 1
    status, count = statuses.most_common(1)[0]
    page.select_option('select[data-filter="status"]', status)
    assert page.locator("#patienter tbody tr:not([hidden])").count() == count
    assert page.locator(".table-tools .shown").inner_text() == f"Viser {count} af {total} rækker"
    page.select_option('select[data-filter="status"]', "")
    page.fill('.table-tools input[type="search"]', "ZZZ-nothing")
    assert page.locator("#patienter tbody tr:not([hidden])").count() == 0
    page.fill('.table-tools input[type="search"]', "")
    page.click('th[data-col="index_date"] button')
    dates = page.evaluate("() => Array.from(document.querySelectorAll('#patienter tbody tr td.num'))"
                          ".map(td => td.dataset.sort)")
    assert dates == sorted(dates)
    page.click('th[data-col="index_date"] button')
    dates = page.evaluate("() => Array.from(document.querySelectorAll('#patienter tbody tr td.num'))"
                          ".map(td => td.dataset.sort)")
    assert dates == sorted(dates, reverse=True)
    assert offline_page.problems == []


def test_the_browser_check_would_catch_a_broken_page(tmp_path, offline_page):
    """Control: console errors, exceptions and an outside resource are all reported."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><link rel="stylesheet" href="https://cdn.example.org/x.css">'
                    '<script>console.error("boom"); missing();</script>', encoding="utf-8")
    offline_page.open(page)
    problems = " | ".join(offline_page.problems)
    assert "boom" in problems and "missing" in problems and "cdn.example.org" in problems
