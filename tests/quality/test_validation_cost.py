"""What validating all suites costs, beyond the verdicts (which test_suites.py checks):
expectations that pass cost no listing of failing rows, the failing rows of an
unexpected-rows query come from GX's one evaluation of it, and the Data Docs site is built
once per run, not once per table, while still showing each failed expectation with a sample
of its unexpected values."""

from __future__ import annotations

import pytest

gx = pytest.importorskip("great_expectations")

from great_expectations.render.renderer.site_builder import SiteBuilder  # noqa: E402
from quality_violations import CLEAN_EXTRA, insert_row, pseudonyms, stage_delivery  # noqa: E402

from pipelines.quality import gx_duckdb  # noqa: E402
from pipelines.quality.runner import run_suite, run_suites  # noqa: E402
from pipelines.quality.suites import SUITE_TABLES  # noqa: E402


@pytest.fixture()
def site_builds(monkeypatch) -> list[object]:
    builds: list[object] = []
    build = SiteBuilder.build

    def counted(self, *args, **kwargs):
        builds.append(kwargs.get("resource_identifiers"))
        return build(self, *args, **kwargs)

    monkeypatch.setattr(SiteBuilder, "build", counted)
    return builds


def test_passing_expectations_cost_no_listing_of_failing_rows(tmp_path, sent_queries):
    con = stage_delivery(tmp_path, extra=CLEAN_EXTRA)
    outcomes = run_suites(con)
    con.close()
    assert all(suite.passed for suite in outcomes.values())
    # GX's own row listings select the index columns (_line first); the suites' unexpected-rows
    # queries are lower-case and do not count.
    listings = [q for q in sent_queries if q.lstrip().startswith(("SELECT _line", "SELECT column_values_unique_source._line"))]
    assert not listings, f"{len(listings)} listing queries for passing expectations, e.g. {listings[0]}"


def test_data_docs_are_built_once_for_all_tables(tmp_path, site_builds):
    con = stage_delivery(tmp_path)
    p1, _ = pseudonyms(con)
    insert_row(con, "stg_labs", 1005, dict(pseudonym=p1, sample_date="2024-10-05", analysis="crp", value=1.0, unit="mg/L",
                                           value_std=1.0, unit_std="mg/L"))
    docs = tmp_path / "quality"
    outcomes = run_suites(con, docs_dir=docs, run_name="once")
    con.close()
    assert len(site_builds) == 1
    assert len(list((docs / "validations").rglob("*.html"))) == len(SUITE_TABLES)
    assert not outcomes["stg_labs"].outcome("analysis_in_value_set").success
    labs_page = (docs / outcomes["stg_labs"].docs_page).read_text(encoding="utf-8")
    assert "Sampled Unexpected Values" in labs_page and "crp" in labs_page


class _LoggedConnection:
    """A DuckDB connection that records what the runner itself runs on it."""

    def __init__(self, con) -> None:
        self._con, self.sent = con, []

    def execute(self, query, *args):
        self.sent.append(query)
        return self._con.execute(query, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_failing_rows_of_an_unexpected_rows_query_come_from_its_one_evaluation(tmp_path, sent_queries):
    con = stage_delivery(tmp_path)
    p1, _ = pseudonyms(con)
    duplicates = list(range(4000, 4250))    # natural_key_unique fails on these and line 2: more than GX reads (200)
    for line in duplicates:
        insert_row(con, "stg_labs", line, dict(pseudonym=p1, sample_date="2024-09-03", analysis="b2m",
                                                value=3.1, unit="mg/L", value_std=3.1, unit_std="mg/L"))
    logged = _LoggedConnection(con)
    outcome = run_suite(logged, "stg_labs").outcome("natural_key_unique")
    con.close()
    assert outcome.failing_lines == [2, *duplicates] and outcome.unexpected_count == 251
    body = "qualify count(*) over (partition by pseudonym, sample_date, analysis) > 1"
    evaluations = [q for q in sent_queries + logged.sent if body in q]
    assert len(evaluations) == 1, f"the query was evaluated {len(evaluations)} times"
