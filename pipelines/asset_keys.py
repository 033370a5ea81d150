"""Every asset key of the audit, spelled once.

A key mirrors where the table lives: ``[layer, table]``, the layer read from the table's
prefix (``raw_``, ``stg_``, ``ref_``, ``int_``, ``ind_``, ``rpt_``). The report files and the
publishing step have keys of their own in the ``reports`` and ``publish`` groups. Every
assets module takes its keys from here (``tests/snapshots/asset_graph.txt`` shows the graph
they make).
"""

from __future__ import annotations

from dagster import AssetKey

from pipelines.lib.extract_format import FILES

LAYER_OF_PREFIX = {"raw": "raw", "stg": "staging", "ref": "reference", "int": "intermediate", "ind": "indicators",
                   "rpt": "reports"}
PUBLISH_GROUP = "publish"


def table_key(table: str) -> AssetKey:
    """``int_risk`` → ``AssetKey(["intermediate", "int_risk"])``."""
    return AssetKey([LAYER_OF_PREFIX[table.split("_", 1)[0]], table])


# one asset per delivery file in the raw and the staging layer (by the file's short name)
RAW_KEYS = {f.name: table_key(f.raw_table) for f in FILES}
STG_KEYS = {f.name: table_key(f.stg_table) for f in FILES}
QUARANTINE_KEY = table_key("stg_quarantine")
RECONCILIATION_KEY = table_key("stg_reconciliation")

# the results tables and what is written from them
PATIENT_RESULTS_KEY = table_key("rpt_patient_results")
SUMMARY_KEY = table_key("rpt_indicator_summary")
QUALITY_FLAGS_KEY = table_key("rpt_quality_flags")
RESULTS_CONTRACT_KEY = AssetKey(["reports", "results_contract"])
NATIONAL_REPORT_KEY = table_key("rpt_national_report")
DEPARTMENT_LISTS_KEY = table_key("rpt_department_lists")
DASHBOARDS_KEY = table_key("rpt_dashboards")

# the run's folder swapped into place as the published results: the last step of every run
PUBLISHED_KEY = AssetKey([PUBLISH_GROUP, "published"])
