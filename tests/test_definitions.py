"""The whole Definitions object loads, with every layer present and the in-process executor."""

import dagster as dg

from pipelines.definitions import defs


def test_definitions_load_with_every_layer():
    dg.Definitions.validate_loadable(defs)
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    layers = {key.path[0] for key in keys}
    assert {"raw", "staging", "intermediate", "indicators", "reports"} <= layers
    names = {key.path[-1] for key in keys}
    assert {"raw_patients", "stg_drugs", "stg_quarantine", "ind_mm01", "ind_mm12", "rpt_patient_results"} <= names
    job = defs.resolve_job_def("audit_job")
    assert job.executor_def.name == "in_process"
