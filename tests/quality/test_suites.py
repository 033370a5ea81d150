"""The expectation suites: well-formed, every expectation can fail (on rows inserted into the
staging tables, since staging quarantines most violations), failing rows listed completely
beyond GX's sample of 20, GX's counts equal plain DuckDB SQL, a clean delivery passes."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

gx = pytest.importorskip("great_expectations")

from quality_violations import CLEAN_EXTRA, break_everything, insert_row, pseudonyms, stage_delivery  # noqa: E402

from pipelines.lib.extract_format import FILES  # noqa: E402
from pipelines.quality.plain_sql import violation_query  # noqa: E402
from pipelines.quality.runner import record_outcomes, run_suite, run_suites  # noqa: E402
from pipelines.quality.suites import EXPECTATIONS_DIR, SUITE_TABLES, expectations, suite_json  # noqa: E402


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("broken")
    con = stage_delivery(tmp)
    expected = break_everything(con)
    outcomes = run_suites(con, docs_dir=tmp / "quality", run_name="broken")
    yield con, expected, outcomes, tmp / "quality"
    con.close()


def test_one_valid_suite_per_staging_table():
    assert sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json")) == sorted(f.stg_table for f in FILES)
    for table in SUITE_TABLES:
        raw = suite_json(table)                                  # the committed suite, its $format values resolved
        assert "$format" not in json.dumps(raw), table
        suite = gx.ExpectationSuite(**raw)
        assert len(suite.expectations) == len(raw["expectations"])
        gx_severity = {"error": "critical", "warn": "warning"}
        for exp in raw["expectations"]:
            assert exp["meta"]["severity"] in ("error", "warn")
            assert exp["meta"]["why"] and "\n" not in exp["meta"]["why"]
            assert exp["severity"] == gx_severity[exp["meta"]["severity"]], exp["meta"]["name"]
        assert any(e.severity == "error" for e in expectations(table)), f"{table} has no blocking expectation"


def test_the_suites_read_the_formats_rules_written_once():
    """Value sets and ranges come from lib/extract_format.py, as the staging SQL's do."""
    from pipelines.lib.extract_format import RANGES, VALUE_SETS

    committed = {t: json.loads((EXPECTATIONS_DIR / f"{t}.json").read_text(encoding="utf-8")) for t in SUITE_TABLES}
    literal_sets = [(t, e["kwargs"]["column"]) for t, s in committed.items() for e in s["expectations"]
                    if isinstance(e["kwargs"].get("value_set"), list) and e["kwargs"]["column"] in VALUE_SETS]
    assert not literal_sets, f"value sets written again instead of $format.value_sets: {literal_sets}"
    resolved = {e["kwargs"]["column"]: e["kwargs"] for t in SUITE_TABLES for e in suite_json(t)["expectations"]
                if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] in RANGES}
    assert resolved["height_cm"]["min_value"] == RANGES["height_cm"].low == 100
    assert resolved["cycles"]["max_value"] == RANGES["cycles"].high == 400


def test_every_expectation_of_every_suite_can_fail(broken):
    con, expected, outcomes, _ = broken
    for table in SUITE_TABLES:
        names = {e.name for e in expectations(table)}
        assert names == set(expected[table]), f"{table}: test data must break exactly the suite's expectations"
        for outcome in outcomes[table].outcomes:
            assert not outcome.success, f"{table}.{outcome.name} did not fail"
            missing = set(expected[table][outcome.name]) - set(outcome.failing_lines)
            assert not missing, f"{table}.{outcome.name}: lines {sorted(missing)} not listed ({outcome.failing_lines})"


def test_error_and_warn_severities_reach_the_outcome(broken):
    _, _, outcomes, _ = broken
    labs = outcomes["stg_labs"]
    assert {o.name for o in labs.errors} >= {"natural_key_unique", "unit_belongs_to_analysis", "patient_exists"}
    assert {o.name for o in outcomes["stg_drugs"].warnings} == {"dose_unit_with_dose", "dose_completeness", "days_completeness"}
    assert "department_exists" in outcomes["stg_diagnoses"].summary()


def test_failing_ids_are_pseudonyms_course_ids_or_department_codes(broken):
    con, _, outcomes, _ = broken
    p1, _ = pseudonyms(con)
    dup = outcomes["stg_labs"].outcome("natural_key_unique")
    assert dup.failing_lines == [2, 1004] and dup.failing_ids == [p1, p1]
    orphan = outcomes["stg_drugs"].outcome("course_exists")
    assert dict(zip(orphan.failing_lines, orphan.failing_ids)) == {1001: None, 1008: "K9999"}   # null course_id too
    assert "4202010" in outcomes["stg_departments"].outcome("department_code_unique").failing_ids
    # a clear CPR number planted as a pseudonym is caught, and masked wherever it is reported
    planted = outcomes["stg_patients"].outcome("pseudonym_format")
    assert planted.failing_lines == [1002] and planted.failing_ids == ["<cpr>"]


def test_no_clear_cpr_in_any_quality_output(broken):
    _, _, _, docs = broken
    for path in docs.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".csv"):
            assert "1203614417" not in path.read_text(encoding="utf-8"), path


def test_gx_counts_equal_plain_duckdb_sql(broken):
    con, _, outcomes, _ = broken
    for table in SUITE_TABLES:
        for info in expectations(table):
            outcome = outcomes[table].outcome(info.name)
            plain = con.execute(violation_query(table, info)).fetchone()[0]
            assert len(outcome.failing_lines) == plain, f"{table}.{info.name}: GX {len(outcome.failing_lines)} vs SQL {plain}"


def test_data_docs_are_written_and_readable_offline(broken):
    _, _, _, docs = broken
    index = (docs / "index.html").read_text(encoding="utf-8")
    for table in SUITE_TABLES:
        assert table in index
        assert (docs / "expectations" / f"{table}.html").is_file()
        assert (docs / "failing_rows" / f"{table}.csv").is_file()
    assert "department_exists" in index and "FEJL (blokerende)" in index
    for page in docs.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="https?://[^"]*\.(js|css)', text), f"{page} loads remote scripts/styles"
    validation_pages = list((docs / "validations").rglob("*.html"))
    assert len(validation_pages) == len(SUITE_TABLES)
    assert "unit_belongs_to_analysis" in (docs / "expectations" / "stg_labs.html").read_text(encoding="utf-8") or \
        "unit is one of" in (docs / "expectations" / "stg_labs.html").read_text(encoding="utf-8")


def test_failing_rows_are_complete_beyond_twenty(tmp_path):
    con = stage_delivery(tmp_path)
    p1, _ = pseudonyms(con)
    bad_analysis = list(range(3000, 3045))                   # a column-map expectation (value set)
    duplicates = list(range(4000, 4030))                     # an unexpected-rows query (natural key)
    for line in bad_analysis:
        insert_row(con, "stg_labs", line, dict(pseudonym=p1, sample_date=date(2023, 1, 1) + timedelta(days=line - 3000), analysis="crp",
                                                value=1.0, unit="mg/L", value_std=1.0, unit_std="mg/L"))
    for line in duplicates:
        insert_row(con, "stg_labs", line, dict(pseudonym=p1, sample_date="2024-09-03", analysis="b2m",
                                                value=3.1, unit="mg/L", value_std=3.1, unit_std="mg/L"))
    outcome = run_suite(con, "stg_labs")
    assert outcome.outcome("analysis_in_value_set").failing_lines == bad_analysis
    assert outcome.outcome("analysis_in_value_set").failing_ids == [p1] * len(bad_analysis)
    assert outcome.outcome("natural_key_unique").failing_lines == [2, *duplicates]
    record_outcomes(con, [outcome])
    assert con.execute("select count(*) from qa_failing_rows where expectation = 'analysis_in_value_set'").fetchone()[0] == 45
    assert con.execute("select failing_rows from qa_expectation_results where expectation = 'natural_key_unique'").fetchone()[0] == 31


def test_clean_delivery_passes_every_suite(tmp_path):
    con = stage_delivery(tmp_path, extra=CLEAN_EXTRA)
    outcomes = run_suites(con)
    failed = [o.describe() for suite in outcomes.values() for o in suite.outcomes if not o.success]
    assert not failed
    assert all(suite.passed for suite in outcomes.values())
    assert sum(len(s.outcomes) for s in outcomes.values()) == sum(len(suite_json(t)["expectations"]) for t in SUITE_TABLES)
