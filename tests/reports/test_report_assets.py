"""The report assets: called directly and materialised with a DuckDBResource on tmp_path."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.reports.assets import REPORT_ASSETS, ReportsConfig, rpt_national_report
from pipelines.reports.contract import PATIENT_RESULTS_KEY, SUMMARY_KEY
from pipelines.resources import AuditConfig
from tests.reports.report_rows import DEPARTMENTS, cohort, connect
from tests.reports.test_report_deviations import CURRENT, write_previous
from tests.reports.test_report_deviations import DEPARTMENTS as SMALL_DEPARTMENTS
from tests.reports.test_report_suppression import record_starts


def _resources(tmp_path, patients, departments=DEPARTMENTS):
    database = tmp_path / "audit.duckdb"
    connect(database, patients, departments=departments).close()
    out = tmp_path / "out"
    return {"duckdb": DuckDBResource(database=str(database)),
            "audit": AuditConfig(extract_path=str(tmp_path), output_dir=str(out))}, out


def test_assets_have_the_keys_group_and_dependencies_the_lead_wires():
    keys = {tuple(a.key.path) for a in REPORT_ASSETS}
    assert keys == {("reports", "rpt_national_report"), ("reports", "rpt_department_lists"),
                    ("reports", "rpt_dashboards")}
    for asset in REPORT_ASSETS:
        assert asset.group_names_by_key[asset.key] == "reports"
        deps = set(asset.asset_deps[asset.key])
        assert {PATIENT_RESULTS_KEY, SUMMARY_KEY} <= deps


def test_materialising_the_report_assets_writes_the_output_folder(tmp_path):
    resources, out = _resources(tmp_path, cohort(seed=11, scale=0.4))
    result = dg.materialize(REPORT_ASSETS, resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    for name in ("national_report.html", "national_report_publication.html", "indicator_summary_publication.csv",
                 "dashboard.html"):
        assert (out / name).is_file(), name
    assert (out / "departments" / "1301011" / "afvigelser.xlsx").is_file()
    meta = result.asset_materializations_for_node("reports__rpt_national_report")[0].metadata
    assert meta["suppressed_lt5"].value > 0 and "MM01" in meta["preview"].value


def test_previous_results_come_from_run_config(tmp_path):
    resources, out = _resources(tmp_path, CURRENT, SMALL_DEPARTMENTS)
    previous = write_previous(tmp_path / "previous.csv")
    config = {"ops": {f"reports__{name}": {"config": {"previous_results": str(previous)}}
                      for name in ("rpt_national_report", "rpt_department_lists", "rpt_dashboards")}}
    result = dg.materialize(REPORT_ASSETS, resources=resources, run_config=config,
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    meta = result.asset_materializations_for_node("reports__rpt_department_lists")[0].metadata
    assert meta["changes_ny"].value == 3 and meta["changes_løst"].value == 3
    assert "Sammenligning med forrige audit" in (out / "national_report.html").read_text(encoding="utf-8")


def test_asset_called_directly(tmp_path):
    resources, out = _resources(tmp_path, cohort(seed=12, scale=0.3))
    context = dg.build_asset_context()
    result = rpt_national_report(context, config=ReportsConfig(), **resources)
    assert (out / "national_report.html").is_file()
    assert result.metadata["years"] == "2024, 2025, 2026"


def test_a_run_starts_the_suppression_and_the_dashboards_ahead(tmp_path, monkeypatch):
    """In a whole run (``myeloma-audit run``: a job run in process, whose asset selection is
    empty) the reports layer's hook starts the publication's suppression (forked, on the other
    core) as soon as the indicator summary exists, and the national report takes it; the
    department lists' step starts the dashboards in a fresh process and the dashboards' step
    takes them. One of each, started ahead, none left when the run ends."""
    import multiprocessing

    from pipelines.audit import run_audit
    from pipelines.lib import forked
    from pipelines.reports import dashboards_beside, suppression

    started = record_starts(monkeypatch)
    taken = []
    real_take = dashboards_beside.take
    monkeypatch.setattr(dashboards_beside, "take", lambda out_dir: taken.append(real_take(out_dir)) or taken[-1])
    run_audit(out_dir=tmp_path / "out")
    assert started == [True]
    assert suppression._ahead is None and not multiprocessing.active_children()
    assert (tmp_path / "out" / "indicator_summary_publication.csv").is_file()
    if forked.more_than_one_core():
        assert len(taken) == 1 and taken[0] is not None and taken[0]["dashboards"] > 1
    assert (tmp_path / "out" / "dashboard.html").is_file()


def test_a_selection_without_the_dashboards_starts_none_beside(tmp_path, monkeypatch):
    from pipelines.asset_keys import DEPARTMENT_LISTS_KEY
    from pipelines.reports import dashboards_beside

    kept = []
    monkeypatch.setattr(dashboards_beside, "keep", lambda out_dir, beside: kept.append(beside))
    resources, out = _resources(tmp_path, cohort(seed=13, scale=0.2))
    result = dg.materialize(REPORT_ASSETS, resources=resources, selection=[DEPARTMENT_LISTS_KEY],
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success and (out / "departments").is_dir()
    assert kept == [] and not (out / "dashboard.html").exists()


def test_the_suppression_hook_starts_nothing_without_a_summary(tmp_path):
    """A selection in the UI whose reports layer wrote no summary: the hook says so and starts
    nothing; the national report will suppress in its own step."""
    from pipelines.reports import suppression
    from pipelines.reports.assets import suppression_ahead

    resources = {"duckdb": DuckDBResource(database=str(tmp_path / "empty.duckdb")),
                 "audit": AuditConfig(extract_path=str(tmp_path), output_dir=str(tmp_path / "out"))}
    with dg.build_hook_context(resources=resources) as context:
        suppression_ahead.decorated_fn(context)
    assert suppression._ahead is None
