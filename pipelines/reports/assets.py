"""The reports layer's assets: national report (internal and publication), departmental
deviation lists with the audit-to-audit comparison, and the dashboards. Each wraps one part
of ``writer.write_reports`` and writes under the run's output folder."""

from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.storage.tags import PRIORITY_TAG  # "dagster/priority", not re-exported
from dagster_duckdb import DuckDBResource

from pipelines.asset_keys import (DASHBOARDS_KEY, DEPARTMENT_LISTS_KEY, NATIONAL_REPORT_KEY, PATIENT_RESULTS_KEY,
                                  QUALITY_FLAGS_KEY, STG_KEYS, SUMMARY_KEY)
from pipelines.reports import dashboards_beside
from pipelines.reports.data import load
from pipelines.reports.national import start_publishing
from pipelines.reports.writer import write_dashboards, write_departments, write_national, write_reports
from pipelines.resources import AuditConfig

__all__ = ["REPORT_ASSETS", "ReportsConfig", "suppression_ahead", "write_reports"]

INPUTS = [PATIENT_RESULTS_KEY, SUMMARY_KEY, STG_KEYS["departments"]]


class ReportsConfig(dg.Config):
    """Run configuration of the report assets."""

    previous_results: str = ""
    """The previous audit's ``patient_results.csv``; empty: no audit-to-audit comparison."""


def _previous(config: ReportsConfig, audit: AuditConfig) -> Path | None:
    path = config.previous_results or audit.previous_results or ""
    if not path:
        return None
    if not Path(path).is_file():
        raise FileNotFoundError(f"previous results not found: {path} (expected a patient_results.csv of an earlier run)")
    return Path(path)


def _metadata(values: dict, out_dir: Path, files: list[str]) -> dict:
    meta = {k: v for k, v in values.items() if isinstance(v, (int, float, str, bool)) and not k.endswith("_md")}
    meta.update({f"file_{Path(f).stem}": dg.MetadataValue.path(str(out_dir / f)) for f in files})
    return meta


@dg.asset(key=NATIONAL_REPORT_KEY, group_name="reports", deps=[*INPUTS, QUALITY_FLAGS_KEY])  # flags: read when present
def rpt_national_report(context: dg.AssetExecutionContext, config: ReportsConfig, duckdb: DuckDBResource,
                        audit: AuditConfig) -> dg.MaterializeResult:
    """National report (national_report.html, internal and unsuppressed, with the comparison
    with the previous audit when configured) and its publication variant with small-cell
    suppression (national_report_publication.html, indicator_summary_publication.csv):
    per indicator a trend chart, a funnel plot and Danmark → region → hospital → department
    tables for the current year and the two before, and a generated method section."""
    out_dir = Path(audit.output_dir)
    with duckdb.get_connection() as con:
        values = write_national(con, out_dir, _previous(config, audit), parameters=audit.parameter_values(),
                                period=audit.period or None,
                                comments=audit.comments_dir or None)
    pdfs = []
    if audit.pdf:
        from pipelines.reports.pdf import write_pdfs  # Playwright only when PDFs are asked for

        pdfs = [p.name for p in write_pdfs([(out_dir / f"{name}.html", out_dir / f"{name}.pdf")
                                            for name in ("national_report", "national_report_publication")])]
    context.log.info(f"national reports for {values['years']}: {values['suppressed_lt5']} cells <5, "
                     f"{values['suppressed_x']} complementary x, {values['withheld_proportions']} proportions withheld")
    meta = _metadata(values, out_dir, ["national_report.html", "national_report_publication.html",
                                       "indicator_summary_publication.csv"])
    if pdfs:
        meta["pdf_files"] = ", ".join(pdfs)
    meta["years"] = ", ".join(str(y) for y in values["years"])
    meta["preview"] = dg.MetadataValue.md(values["preview_md"])
    return dg.MaterializeResult(metadata=meta)


def _dashboards_in_the_run(context: dg.AssetExecutionContext) -> bool:
    # the assets of the job this step runs in (a whole run's or a selection's); the run's own
    # ``asset_selection`` is empty, not None, for a whole job run in process (``myeloma-audit run``)
    return DASHBOARDS_KEY in context.job_def.asset_layer.selected_asset_keys


@dg.asset(key=DEPARTMENT_LISTS_KEY, group_name="reports", deps=INPUTS)
def rpt_department_lists(context: dg.AssetExecutionContext, config: ReportsConfig, duckdb: DuckDBResource,
                         audit: AuditConfig) -> dg.MaterializeResult:
    """Per department (departments/<safe name>/): every not_met, unknown and justified patient
    of the audit period with reason and values used, as Danish CSV, Excel and HTML (a CPR
    column for the department's own patients when MYELOMA_AUDIT_REID_KEY is set), each
    deviation marked new, persisting or resolved against the newest earlier extract
    (comparison.json, comparison_base.csv)."""
    out_dir = Path(audit.output_dir)
    with duckdb.get_connection() as con:
        values = write_departments(con, out_dir, _previous(config, audit), period=audit.period or None,
                                   dashboards_beside=_dashboards_in_the_run(context))
    context.log.info(f"deviation lists for {values['departments']} departments ({values['deviation_rows']} rows, "
                     f"period {values['period']}, re-identification {'on' if values['reidentified'] else 'off'})")
    return dg.MaterializeResult(metadata=_metadata(values, out_dir, ["departments"]))


# the dashboards link to the national report but read nothing of it: they do not wait for it (nor for
# the data-quality verdict the national report needs). The department lists' step starts them in a
# fresh process, or above that process's size writes them itself; this step runs late (priority -1)
# and takes them, so the steps between run beside them.
@dg.asset(key=DASHBOARDS_KEY, group_name="reports", deps=[*INPUTS, DEPARTMENT_LISTS_KEY],
          op_tags={PRIORITY_TAG: "-1"})
def rpt_dashboards(context: dg.AssetExecutionContext, config: ReportsConfig, duckdb: DuckDBResource,
                   audit: AuditConfig) -> dg.MaterializeResult:
    """Static offline dashboards: dashboard.html (national) and departments/<safe name>/dashboard.html:
    indicator tiles against the standard, trends, the department's funnel position and the
    patient list behind every figure (paged, with CSV)."""
    out_dir = Path(audit.output_dir)
    values = dashboards_beside.take(out_dir)
    if values is None:  # not written by the department lists' step (a selection without it)
        with duckdb.get_connection() as con:
            values = write_dashboards(con, out_dir, _previous(config, audit), period=audit.period or None)
    context.log.info(f"{values['dashboards']} dashboards")
    return dg.MaterializeResult(metadata=_metadata(values, out_dir, ["dashboard.html"]))


@dg.success_hook(name="publication_suppressed_ahead", required_resource_keys={"duckdb"})
def suppression_ahead(context: dg.HookContext) -> None:
    """On the reports layer, once the indicator summary is written: the publication's small-cell
    suppression starts in forked processes on the machine's other core, while this process
    writes the department lists, dashboards and contract; the national report takes it (and
    suppresses again itself if the summary it reads is not the same)."""
    try:
        with context.resources.duckdb.get_connection() as con:
            data = load(con, patients="none")  # the summary alone: no patient rows, no period
    except duckdb.Error as err:  # e.g. a selection in the UI without the summary: the report suppresses itself
        context.log.info(f"the publication's suppression was not started ahead ({type(err).__name__})")
        return
    start_publishing(data)


REPORT_ASSETS = [rpt_national_report, rpt_department_lists, rpt_dashboards]
