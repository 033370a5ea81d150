"""The reports as a person sees them: headless Chromium opens the national report, the
publication variant and a department dashboard; the tables show the expected numbers,
the charts render, nothing fails in the console, and a screenshot is kept in tmp_path."""

from __future__ import annotations

import struct

import polars as pl
import pytest

from pipelines.indicators.catalogue import CATALOGUE

from pipelines.reports.data import load
from pipelines.reports.writer import write_reports
from tests.reports.report_browser import CHROMIUM, Browser
from tests.reports.report_rows import connect

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (Debian package chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    con = connect(tmp / "audit.duckdb")
    write_reports(con, tmp / "out", None)
    return tmp / "out", load(con)


@pytest.fixture
def browser(tmp_path):
    with Browser(tmp_path / "profile") as b:
        yield b


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _national(data, indicator: str) -> dict:
    return data.summary.filter((pl.col("indicator_id") == indicator) & (pl.col("year") == data.current_year)
                               & (pl.col("level") == "national")).row(0, named=True)


TABLE_CELLS = """(() => {
  const t = document.querySelector('table.summary[data-indicator="%s"][data-year="%s"]');
  const row = t.querySelector('tr[data-unit="Danmark"]');
  const cells = {};
  row.querySelectorAll('td[data-col]').forEach(td => cells[td.dataset.col] = td.innerText.trim());
  return cells;
})()"""

CHARTS = """Array.from(document.querySelectorAll('svg.chart')).map(s => {
  const r = s.getBoundingClientRect();
  return {kind: s.classList.contains('funnel') ? 'funnel' : 'trend', width: r.width, height: r.height,
          points: s.querySelectorAll('circle.point').length, limits: s.querySelectorAll('polyline.limit').length};
})"""


def test_national_report_renders_tables_and_charts_with_the_expected_numbers(site, browser, tmp_path):
    out, data = site
    browser.open((out / "national_report.html").as_uri())
    assert browser.evaluate("document.querySelectorAll('section.indicator').length") == len(CATALOGUE)
    assert browser.evaluate("document.querySelectorAll('table.summary').length") == 3 * len(CATALOGUE)
    for indicator in ("MM01", "MM06", "MM10"):
        cells = browser.evaluate(TABLE_CELLS % (indicator, data.current_year))
        expected = _national(data, indicator)
        assert cells["met"] == f"{expected['met']:,}".replace(",", ".")
        assert cells["denominator"] == f"{expected['denominator']:,}".replace(",", ".")
        assert cells["proportion"] == f"{expected['proportion'] * 100:.1f} %".replace(".", ",")
        assert cells["unknown"] == str(expected["unknown"])
        assert cells["standard_met"] == ("ja" if expected["standard_met"] else "nej")
    charts = browser.evaluate(CHARTS)
    assert len(charts) == 2 * len(CATALOGUE)
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150, chart
    assert all(c["points"] == 3 for c in charts if c["kind"] == "trend")
    assert all(c["limits"] == 4 and c["points"] >= 5 for c in charts if c["kind"] == "funnel")
    assert browser.evaluate("document.querySelector('#metode').innerText.includes('Spiegelhalter')")
    assert browser.problems == []
    shot = browser.screenshot(tmp_path / "national_report.png")
    width, height = png_size(shot)
    assert width == 1400 and height > 5000


def test_publication_variant_shows_suppressed_cells_and_no_withheld_proportions(site, browser, tmp_path):
    out, _ = site
    browser.open((out / "national_report_publication.html").as_uri())
    counts = browser.evaluate("""(() => {
      const cells = Array.from(document.querySelectorAll('table.summary td[data-col]'));
      const text = c => c.innerText.trim();
      const rows = Array.from(document.querySelectorAll('table.summary tbody tr'));
      const leaks = rows.filter(r => {
        const v = col => text(r.querySelector(`td[data-col="${col}"]`));
        return (v('met') === '<5' || v('met') === 'x' || v('denominator') === '<5' || v('denominator') === 'x')
               && v('proportion') !== '–';
      }).length;
      return {lt5: cells.filter(c => text(c) === '<5').length, x: cells.filter(c => text(c) === 'x').length, leaks};
    })()""")
    assert counts["lt5"] > 100 and counts["x"] > 10 and counts["leaks"] == 0
    assert browser.problems == []
    browser.screenshot(tmp_path / "national_report_publication.png")


def test_department_dashboard_shows_tiles_funnel_position_and_patients(site, browser, tmp_path):
    out, data = site
    browser.open((out / "departments" / "4202011" / "dashboard.html").as_uri(), height=1600)
    tiles = browser.evaluate("""Array.from(document.querySelectorAll('a.tile')).map(t => ({
      id: t.dataset.indicator, state: t.classList[1],
      proportion: t.querySelector('[data-col="proportion"]').innerText.trim(),
      fraction: t.querySelector('[data-col="fraction"]').innerText.trim()}))""")
    assert len(tiles) == len(CATALOGUE)
    for tile in tiles:
        row = data.summary.filter((pl.col("indicator_id") == tile["id"]) & (pl.col("year") == data.current_year)
                                  & (pl.col("level") == "department") & (pl.col("unit") == "4202011"))
        if row.height:
            r = row.row(0, named=True)
            assert tile["fraction"].startswith(f"{r['numerator']} / {r['denominator']}")
            if r["standard_met"] is not None:
                assert tile["state"] in (("ok",) if r["standard_met"] else ("near", "bad"))
    own = browser.evaluate("""Array.from(document.querySelectorAll('svg.funnel circle[data-unit="4202011"]')).map(c => {
      const box = c.getBoundingClientRect(), svg = c.ownerSVGElement.getBoundingClientRect();
      return box.width > 8 && box.left >= svg.left && box.right <= svg.right && box.top >= svg.top && box.bottom <= svg.bottom;
    })""")
    assert own and all(own), "the department's own point is drawn, large, inside every funnel"
    browser.evaluate("document.querySelector('#MM01 details').open = true")
    visible = browser.evaluate("Array.from(document.querySelectorAll('#MM01 details tbody tr'))"
                               ".filter(r => r.getBoundingClientRect().height > 0).length")
    expected = data.summary.filter((pl.col("indicator_id") == "MM01") & (pl.col("year") == data.current_year)
                                   & (pl.col("level") == "department") & (pl.col("unit") == "4202011"))["total"][0]
    assert visible == expected
    assert browser.problems == []
    shot = browser.screenshot(tmp_path / "department_dashboard.png")
    assert png_size(shot)[0] == 1400


def test_the_browser_check_would_catch_a_broken_page(tmp_path, browser):
    """Control: console errors, exceptions and an outside resource are all reported."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><link rel="stylesheet" href="https://cdn.example.org/x.css">'
                    '<script>console.error("boom"); missing();</script>', encoding="utf-8")
    browser.open(page.as_uri())
    problems = " | ".join(browser.problems)
    assert "console.error" in problems and "exception" in problems and "cdn.example.org" in problems
