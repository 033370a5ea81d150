"""rpt_indicator_summary: counts per level and unit, Wilson interval, standards; and the
Dagster assets materialising the whole engine on a DuckDBResource."""

from __future__ import annotations

import duckdb
import pytest
from dagster import AssetKey, materialize
from dagster_duckdb import DuckDBResource
from statsmodels.stats.proportion import proportion_confint

from pipelines.indicators.build import models
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.resources import AuditConfig
from staging_rows import Deck, create_staging

SUMMARY_COLUMNS = [
    "indicator_id", "year", "level", "unit", "met", "not_met", "unknown", "justified", "excluded", "pending",
    "numerator", "denominator", "proportion", "ci_low", "ci_high", "standard", "standard_met",
    "proportion_known", "unit_name",
]


def mm01_deck() -> Deck:
    deck = Deck()
    for i, evaluated in enumerate([True, True, True, False, None]):
        deck.patient(f"odense_2024_{i}", dx="2024-03-01", dept="D1", hdt_evaluated=evaluated)
    deck.patient("odense_2024_excluded", dx="2024-03-01", dept="D1", ecog_ps=3)
    deck.patient("odense_2025", dx="2025-03-01", dept="D1")
    deck.patient("rigshospitalet_2024", dx="2024-05-01", dept="D2")
    deck.patient("rigshospitalet_2026_pending", dx="2026-10-25", dept="D2", hdt_evaluated=False)
    deck.patient("unknown_department_2024", dx="2024-05-01", dept="D9", hdt_evaluated=False)
    return deck


def summary(con, indicator_id="MM01"):
    cursor = con.execute("select * from rpt_indicator_summary where indicator_id = ?", [indicator_id])
    names = [d[0] for d in cursor.description]
    return names, {(r[1], r[2], r[3]): dict(zip(names, r)) for r in cursor.fetchall()}


def test_summary_counts_proportions_and_standards(tmp_path):
    con = mm01_deck().build(tmp_path / "t.duckdb", "2026-11-01")
    names, rows = summary(con)
    assert names == SUMMARY_COLUMNS

    national = rows[(2024, "national", "Danmark")]
    assert {k: national[k] for k in ("met", "not_met", "unknown", "justified", "excluded", "pending")} == {
        "met": 4, "not_met": 2, "unknown": 1, "justified": 0, "excluded": 1, "pending": 0}
    assert (national["numerator"], national["denominator"]) == (4, 7)
    assert national["proportion"] == pytest.approx(4 / 7)
    low, high = proportion_confint(4, 7, alpha=0.05, method="wilson")
    assert (national["ci_low"], national["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert national["standard"] == 0.95 and national["standard_met"] is False
    assert national["proportion_known"] == pytest.approx(4 / 6)

    assert rows[(2024, "region", "Syddanmark")]["denominator"] == 5
    assert rows[(2024, "region", "Hovedstaden")]["standard_met"] is True
    assert rows[(2024, "region", "ukendt")]["not_met"] == 1
    assert rows[(2024, "hospital", "Odense Universitetshospital")]["met"] == 3
    department = rows[(2024, "department", "D1")]
    assert department["unit_name"] == "Hæmatologisk Afdeling, Odense" and department["excluded"] == 1

    pending_only = rows[(2026, "national", "Danmark")]
    assert (pending_only["pending"], pending_only["denominator"]) == (1, 0)
    assert [pending_only[k] for k in ("proportion", "ci_low", "ci_high", "standard_met", "proportion_known")] == [
        None, None, None, None, None]
    assert pending_only["standard"] == 0.95

    # every level adds up to the national counts, per year
    by_level = con.execute(
        "select year, level, sum(met + not_met + unknown + justified + excluded + pending) "
        "from rpt_indicator_summary where indicator_id = 'MM01' group by all").fetchall()
    totals = {}
    for year, level, total in by_level:
        totals.setdefault(year, set()).add(total)
    assert all(len(t) == 1 for t in totals.values())
    assert totals[2024] == {8}


def test_dagster_assets_build_every_layer(tmp_path):
    from pipelines.indicators.assets import INDICATOR_ASSETS

    database = tmp_path / "t.duckdb"
    con = duckdb.connect(str(database))
    create_staging(con, mm01_deck().rows)
    con.close()

    # MM01 and what it reads (a whole run is build_all, tested throughout; this is the wiring)
    selection = [AssetKey(["reference", "ref_guideline_versions"]), AssetKey(["reference", "ref_indicator_catalogue"]),
                 AssetKey(["intermediate", "int_index_diagnosis"]), AssetKey(["indicators", "ind_mm01"])]
    result = materialize(
        INDICATOR_ASSETS,
        selection=selection,
        resources={"duckdb": DuckDBResource(database=str(database)),
                   "audit": AuditConfig(extract_path=str(tmp_path / "no-delivery"), extract_date="2026-11-01",
                                        output_dir=str(tmp_path), parameters='{"hdt_age_limit": 65}')},
    )
    assert result.success
    events = {e.materialization.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert set(events) == set(selection)
    assert events[AssetKey(["intermediate", "int_index_diagnosis"])]["rows"].value == 10
    mm01 = events[AssetKey(["indicators", "ind_mm01"])]
    # default birth date 1965-06-15: age 58–61, all within the overridden limit of 65
    assert mm01["rows"].value == 10
    assert mm01["status_counts"].value == {"met": 5, "not_met": 2, "unknown": 1, "justified": 0,
                                           "excluded": 1, "pending": 1}
    assert mm01["national_proportion"].value == pytest.approx(5 / 8)

    spec = {k: v for a in INDICATOR_ASSETS for k, v in a.specs_by_key.items()}
    index = spec[AssetKey(["intermediate", "int_index_diagnosis"])]
    assert index.group_name == "intermediate"
    assert {d.asset_key for d in index.deps} == {
        AssetKey(["staging", "stg_diagnoses"]), AssetKey(["staging", "stg_patients"]),
        AssetKey(["staging", "stg_departments"])}
    assert spec[AssetKey(["indicators", "ind_mm04"])].group_name == "indicators"
    assert AssetKey(["intermediate", "int_creatinine_clearance"]) in {
        d.asset_key for d in spec[AssetKey(["indicators", "ind_mm04"])].deps}
    assert spec[AssetKey(["reports", "rpt_patient_results"])].description.startswith("Patient-level results")
    assert {d.asset_key for d in spec[AssetKey(["reports", "rpt_patient_results"])].deps} >= {
        AssetKey(["indicators", i.table_name]) for i in CATALOGUE}
    assert len(spec) == len(models())
