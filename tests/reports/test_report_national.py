"""The national report (internal) and the method section, quality flags and report years."""

from __future__ import annotations

import re
from markupsafe import escape as html_escape

import polars as pl
import pytest

from pipelines import parameters
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.reports.data import load
from pipelines.reports.national import definition
from pipelines.reports.writer import write_national, write_reports
from tests.reports.report_rows import cohort, connect


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("national")
    flags = [("MM04", "1301011", "lav komplethed", "kreatinin mangler hos 30 %"),
             (None, "6650213", "forsinket indberetning", "indberetning efter fristen")]
    con = connect(tmp / "audit.duckdb", quality_flags=flags)
    values = write_national(con, tmp, None, parameters=parameters.resolve({"mm06_window_end_day": 130}))
    return tmp, (tmp / "national_report.html").read_text(encoding="utf-8"), load(con), values


def _row(page: str, indicator: str, year: int, unit: str) -> str:
    table = page.split(f'<table class="summary" data-indicator="{indicator}" data-year="{year}">')[1].split("</table>")[0]
    return table.split(f'data-unit="{unit}">')[1].split("</tr>")[0]


def _cell(row: str, col: str) -> str:
    return re.search(rf'data-col="{col}"[^>]*>(.*?)</td>', row, re.S).group(1).strip()


def test_every_indicator_has_title_recommendation_standard_and_three_years(report):
    _, page, data, values = report
    assert values["years"] == [2024, 2025, 2026]
    for indicator in CATALOGUE:
        section = page.split(f'<section class="indicator" id="{indicator.indicator_id}"')[1].split("</section>")[0]
        assert indicator.title_da in section and html_escape(indicator.title_en) not in section, "Danish only"
        assert f"Anbefaling {indicator.recommendations} (evidensgrad {indicator.grade})" in section
        if indicator.standard is None:
            assert "ingen (informativ indikator)" in section
        else:
            assert f"≥ {indicator.standard * 100:.0f} %" in section
        assert [int(y) for y in re.findall(r'<table class="summary" data-indicator="\w+" data-year="(\d+)"', section)] \
            == [2026, 2025, 2024]
        assert section.count('class="chart trend"') == 1 and section.count('class="chart funnel"') == 1


def test_table_rows_show_the_summary_numbers(report):
    _, page, data, _ = report
    for r in data.summary.filter(pl.col("indicator_id").is_in(["MM01", "MM10"])).iter_rows(named=True):
        row = _row(page, r["indicator_id"], r["year"], r["unit"])
        assert _cell(row, "met") == f"{r['met']:,}".replace(",", ".")
        assert _cell(row, "denominator") == f"{r['denominator']:,}".replace(",", ".")
        for col in ("not_met", "unknown", "justified", "excluded", "pending"):
            assert _cell(row, col) == str(r[col])
        if r["proportion"] is not None:
            assert _cell(row, "proportion") == f"{r['proportion'] * 100:.1f} %".replace(".", ",")
            assert _cell(row, "ci") == f"{r['ci_low'] * 100:.1f}–{r['ci_high'] * 100:.1f}".replace(".", ",")
            assert ("ja" in _cell(row, "standard_met")) == bool(r["standard_met"])


def test_rows_go_from_danmark_through_regions_and_hospitals_to_departments(report):
    _, page, data, _ = report
    table = page.split('<table class="summary" data-indicator="MM01" data-year="2026">')[1].split("</table>")[0]
    levels = re.findall(r'data-level="(\w+)"', table)
    assert levels[0] == "national" and levels[1] == "region"
    order = {"national": 0, "region": 1, "hospital": 2, "department": 3}
    for before, after in zip(levels, levels[1:]):
        assert order[after] <= order[before] + 1, "no level is skipped going down"
    units = re.findall(r'data-unit="([^"]+)"', table)
    assert units.index("Rigshospitalet") < units.index("1301011") < units.index("Midtjylland")


def test_quality_flags_are_shown_per_department_and_counted_above(report):
    _, page, _, _ = report
    assert "lav komplethed" in _cell(_row(page, "MM04", 2026, "1301011"), "flag")
    assert "1 afd." in _cell(_row(page, "MM04", 2026, "Rigshospitalet"), "flag")
    assert "2 afd." in _cell(_row(page, "MM04", 2026, "Danmark"), "flag")
    assert "forsinket indberetning" in _cell(_row(page, "MM01", 2025, "6650213"), "flag")
    assert _cell(_row(page, "MM01", 2025, "1301011"), "flag") == ""


def test_without_quality_flag_table_the_column_is_empty(tmp_path):
    con = connect(tmp_path / "audit.duckdb", cohort(seed=3, scale=0.3))
    write_national(con, tmp_path, None)
    page = (tmp_path / "national_report.html").read_text(encoding="utf-8")
    assert "Ingen tal i rapporten har et datakvalitetsflag" in page
    assert not re.search(r'data-col="flag"[^>]*>[^<]+</td>', page)


def test_method_section_is_generated_from_catalogue_parameters_and_versions(report):
    _, page, _, _ = report
    method = page.split('<section id="metode">')[1]
    for indicator in CATALOGUE:
        assert f"<td>{indicator.indicator_id}</td><td>{html_escape(indicator.title_da)}</td>" in method
        assert html_escape(indicator.population_da) in method
    assert definition("indicators/ind_mm01.sql") not in method, "the SQL header (English) is for data engineers"
    assert re.search(r'data-parameter="mm06_window_end_day"><td>MM06: vinduets sidste dag efter HDT</td>'
                     r'<td class="num">130</td>', method)
    # as the steering group reads them: shares in per cent, a sensitivity as a power of ten, thousands with a dot
    assert re.search(r'data-parameter="mm03_tolerance"><td>[^<]+</td><td class="num">± 10 %</td>', method)
    assert re.search(r'data-parameter="completeness_threshold"><td>[^<]+</td><td class="num">90 %</td>', method)
    assert re.search(r'data-parameter="mm05_mrd_max_sensitivity"><td>[^<]+</td><td class="num">10⁻⁵</td>', method)
    assert re.search(r'data-parameter="mm03_cyclophosphamide_mg_m2"><td>[^<]+</td><td class="num">2.000</td>', method)
    assert "<code>mm03_tolerance</code>" not in method
    assert "<td>v1.5</td><td>altid</td>" in method and "<td>v2.0</td><td>07-04-2026</td>" in method
    assert "Wilson" in method and "Spiegelhalter" in method
    assert "rpt_quality_flags" not in page and "(method)" not in page


def test_trend_chart_points_are_the_national_proportions(report):
    _, page, data, _ = report
    section = page.split('<section class="indicator" id="MM02"')[1].split("</section>")[0]
    points = dict(re.findall(r'<circle class="point" data-series="Danmark" data-year="(\d+)" data-value="([\d.]+)"',
                             section))
    for r in data.summary.filter((pl.col("indicator_id") == "MM02") & (pl.col("level") == "national")).iter_rows(named=True):
        assert float(points[str(r["year"])]) == pytest.approx(r["proportion"], abs=1e-6)


def test_pages_are_self_contained(report):
    folder, page, _, _ = report
    for name in ("national_report.html", "national_report_publication.html"):
        text = (folder / name).read_text(encoding="utf-8")
        assert "<script" not in text.lower()
        assert not re.search(r'(src|href)="(https?:)?//', text), "no external resources"
        assert "<style>" in text


def test_report_year_can_be_chosen_and_missing_years_are_said(tmp_path):
    con = connect(tmp_path / "audit.duckdb", cohort(seed=4, scale=0.3, years=(2025, 2026)))
    values = write_national(con, tmp_path, None, report_year=2026)
    assert values["years"] == [2024, 2025, 2026]
    page = (tmp_path / "national_report.html").read_text(encoding="utf-8")
    assert "Ingen patienter med indeksdato i 2024." in page


def test_empty_results_still_give_pages(tmp_path):
    con = connect(tmp_path / "audit.duckdb", [])
    values = write_reports(con, tmp_path / "out", None)
    assert values["years"] == [] and values["departments"] == 0
    assert (tmp_path / "out" / "national_report.html").is_file()
    assert (tmp_path / "out" / "dashboard.html").is_file()


def test_quality_flags_in_the_quality_layers_shape(tmp_path):
    """rpt_quality_flags as sql/quality/rpt_quality_flags.sql builds it: per indicator × unit."""
    con = connect(tmp_path / "audit.duckdb", cohort(seed=5, scale=0.5))
    con.execute("""create table rpt_quality_flags as select * from (values
        ('MM04', 'department', '1301011', false, null, true, 'creatinine_before_conditioning 70%', true),
        ('MM04', 'hospital', 'Rigshospitalet', false, null, true, 'creatinine_before_conditioning 70%', true),
        ('MM04', 'national', 'Danmark', true, 'stg_labs.value_in_range (3)', false, null, true),
        ('MM01', 'department', '1301011', false, null, false, null, false)
    ) as t(indicator_id, level, unit, failed_blocking_check, blocking_checks, below_completeness,
           incomplete_variables, quality_flag)""")
    write_national(con, tmp_path, None)
    page = (tmp_path / "national_report.html").read_text(encoding="utf-8")
    department = _row(page, "MM04", 2026, "1301011")
    assert _cell(department, "flag") == "⚑ lav komplethed"
    assert 'title="lav komplethed: kreatinin før konditionering 70 %"' in department
    assert _cell(_row(page, "MM04", 2026, "Rigshospitalet"), "flag") == "⚑ lav komplethed · ⚑ 1 afd."
    assert _cell(_row(page, "MM04", 2026, "Danmark"), "flag") == "⚑ fejlet kontrol · ⚑ 1 afd."
    assert _cell(_row(page, "MM01", 2026, "1301011"), "flag") == ""
    publication = (tmp_path / "national_report_publication.html").read_text(encoding="utf-8")
    assert "stg_labs.value_in_range (3)" not in publication, "no reasons (with their counts) in the publication"
    assert _cell(_row(publication, "MM04", 2026, "Danmark"), "flag") == "⚑ fejlet kontrol · ⚑ 1 afd."


def test_an_arrows_change_is_never_rounded_across_its_threshold():
    """−0,98 percentage points is 'uændret'; shown as −1,0 it contradicted the legend (▼ from one point)."""
    from pipelines.reports.national import _arrow

    assert _arrow(0.9, 0.9098) == {"symbol": "►", "kind": "same", "title": "uændret (−0,98 procentpoint)"}
    assert _arrow(0.9, 0.85)["title"] == "steget +5,0 procentpoint"
    assert _arrow(0.85, 0.9)["symbol"] == "▼"


def test_parameters_and_flag_reasons_read_as_the_steering_group_writes_them():
    from pipelines.reports.national import _flag_reason_da, parameter_value_da

    assert parameter_value_da("mm04_tolerance", 0.05) == "± 5 %"
    assert parameter_value_da("completeness_threshold", 0.9) == "90 %"
    assert parameter_value_da("mm05_mrd_max_sensitivity", 1e-5) == "10⁻⁵"
    assert parameter_value_da("mm03_cyclophosphamide_mg_m2", 2000) == "2.000"
    assert parameter_value_da("creatinine_umol_per_mg_dl", 88.4) == "88,4"
    assert parameter_value_da("mm07_days", "1-21") == "1-21"
    assert _flag_reason_da("hdt_evaluated 88%; cytogenetics_before_induction 74%") == \
        "vurderet med henblik på HDT 88 %; cytogenetik (FISH) før induktion 74 %"


def test_the_publication_shows_a_variable_of_one_to_four_patients_as_fewer_than_five():
    """The completeness table of the publication: a variable that applies to 1–4 patients is
    '<5' with its share withheld, as a variable missing in 1–4 patients has its share withheld
    (an independent review read "MRD-sensitivitet: 1 patient" in the publication)."""
    from pipelines.reports.data import ReportData
    from pipelines.reports.national import Basis, _completeness

    frame = pl.DataFrame({"level": ["national"] * 3, "unit": ["Danmark"] * 3,
                          "variable": ["mrd_sensitivity", "ecog_ps", "comorbidity"],
                          "denominator": [1, 40, 40], "present": [1, 38, 40], "share": [1.0, 0.95, 1.0],
                          "below_threshold": [False, False, False], "threshold": [0.9] * 3})
    data = ReportData(summary=pl.DataFrame(), patients=pl.DataFrame(), departments=pl.DataFrame(
        schema={"department_code": pl.String, "department_name": pl.String, "hospital": pl.String,
                "region": pl.String}), quality_flags=pl.DataFrame(), years=[])
    shown = {v["id"]: v["national"] for v in _completeness(Basis(completeness=frame), data, True)["variables"]}
    assert shown["mrd_sensitivity"] == {"share": None, "below": False, "n": "<5", "withheld": True}
    assert shown["ecog_ps"]["withheld"] and shown["ecog_ps"]["n"] == 40     # 2 missing: share withheld
    assert shown["comorbidity"] == {"share": 1.0, "below": False, "n": 40, "withheld": False}
    internal = {v["id"]: v["national"] for v in _completeness(Basis(completeness=frame), data, False)["variables"]}
    assert internal["mrd_sensitivity"]["n"] == 1 and internal["mrd_sensitivity"]["share"] == 1.0
