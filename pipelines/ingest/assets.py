"""The raw and staging layers as Dagster assets: one asset per delivery file in each layer.

Each layer is loaded by one multi-asset. Not in one transaction: a transaction holds every
table it writes in memory until it commits (measured at 1,000,000 patients: 7.2 GB peak for
reading in one against 4.8 GB without), and a run whose step fails leaves nothing behind
anyway — its database lives in the run's own folder, which is removed, and nothing is
published."""


from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.asset_keys import QUARANTINE_KEY, RAW_KEYS, RECONCILIATION_KEY, STG_KEYS
from pipelines.ingest.delivery import check_extract_date_plausible, open_delivery, resolve_extract_date
from pipelines.ingest.raw_reader import read_raw
from pipelines.ingest.raw_tables import create_raw_table
from pipelines.ingest.staging import build_staging
from pipelines.lib.extract_format import FILES
from pipelines.lib.vault import reid_key_from_env, write_vault
from pipelines.resources import AuditConfig, PseudonymKey

__all__ = ["QUARANTINE_KEY", "RAW_KEYS", "RECONCILIATION_KEY", "STG_KEYS", "extract_day", "raw_delivery",
           "staging_tables"]


@contextmanager
def written_beside(con: duckdb.DuckDBPyConnection) -> Iterator[Callable[[str, pl.DataFrame], None]]:
    """``write(table, frame)``: the frame read of a file becomes its raw table
    (``raw_tables.create_raw_table``), written by a second thread while this one reads the next
    file (DuckDB lets go of the interpreter while it writes; at 1,000,000 patients reading and
    writing together took 49 s against 71 s one after the other). A write waits for the one
    before it: at most two files' rows are in memory, the one being written and the one being
    read. Left with an error, the write under way is interrupted and waited for before the
    connection can be closed."""
    cursor = con.cursor()  # a connection of the same database, for the second thread alone
    under_way: list[Future] = []

    def write(table: str, frame: pl.DataFrame) -> None:
        if under_way:
            under_way.pop().result()
        under_way.append(writer.submit(create_raw_table, cursor, table, frame))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-tables") as writer:
        try:
            yield write
            if under_way:
                under_way.pop().result()
        except BaseException:
            if under_way:
                cursor.interrupt()
                wait(under_way)
            raise
        finally:
            cursor.close()


def extract_day(audit: AuditConfig) -> date:
    """The configured extract date, else the delivery manifest's ``extracted_at``."""
    given = date.fromisoformat(audit.extract_date) if audit.extract_date else None
    return resolve_extract_date(Path(audit.extract_path), given)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RAW_KEYS[f.name], group_name="raw",
                     description=f"{f.filename} as delivered: text columns, physical line numbers, CPR replaced by pseudonym.")
        for f in FILES
    ],
)
def raw_delivery(context: dg.AssetExecutionContext, duckdb: DuckDBResource, audit: AuditConfig,
                 pseudonym_key: dg.ResourceParam[PseudonymKey]):
    """Read the delivery (folder or zip), check its manifest, decode each file and load it."""
    pseudonymise = pseudonym_key.pseudonymiser()
    reid_key = reid_key_from_env()  # opt-in re-identification: refused here when too short
    delivery = open_delivery(Path(audit.extract_path), pseudonymise)  # names: CPR-shaped tokens pseudonymised
    extract_date = extract_day(audit)
    facts_of, rows_of = {}, {}
    with duckdb.get_connection() as con:
        with written_beside(con) as write:
            for dfile in FILES:
                frame, facts_of[dfile.name] = read_raw(dfile.filename, delivery.files[dfile.filename], dfile,
                                                       pseudonymise, extract_date)
                rows_of[dfile.name] = frame.height
                write(dfile.raw_table, frame)
                del frame
        check_extract_date_plausible(extract_date, facts_of, "manifest.json" if delivery.manifest_extract_date()
                                     else "--extract-date")
        con.execute("create or replace table raw_delivery_info (extract_id varchar, source varchar, extract_date date)")
        con.execute("insert into raw_delivery_info values (?, ?, ?::date)",
                    [delivery.extract_id, delivery.source_name, extract_date.isoformat()])
        con.execute("create or replace table raw_file_info (file varchar, sha256 varchar, encoding varchar, line_ending varchar, extra_columns varchar[])")
        for dfile in FILES:
            facts = facts_of[dfile.name]
            con.execute("insert into raw_file_info values (?, ?, ?, ?, ?)",
                        [dfile.filename, delivery.checksums[dfile.filename], facts["encoding"], facts["line_ending"], facts["extra_columns"]])
        sealed = write_vault(con, pseudonymise.valid_pairs(), reid_key) if reid_key else None
    if sealed is not None:
        context.log.info(f"re-identification vault: {sealed} patients' CPR numbers sealed")
    for dfile in FILES:
        facts = facts_of[dfile.name]
        context.log.info(f"read {dfile.filename}: {rows_of[dfile.name]} rows ({facts['encoding']}, {facts['line_ending']})")
        yield dg.MaterializeResult(
            asset_key=RAW_KEYS[dfile.name],
            metadata={"rows": rows_of[dfile.name], "encoding": facts["encoding"], "line_ending": facts["line_ending"],
                      "extra_columns": ", ".join(facts["extra_columns"]) or "none",
                      "sha256": delivery.checksums[dfile.filename]},
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(STG_KEYS[f.name], group_name="staging", deps=[RAW_KEYS[f.name]],
                     description=f"{f.filename} typed, codes standardised; rows that break a format rule are in stg_quarantine.")
        for f in FILES
    ] + [
        dg.AssetSpec(QUARANTINE_KEY, group_name="staging", deps=list(RAW_KEYS.values()),
                     description="Every input row that broke a rule of the delivery format, with its reason and line."),
        dg.AssetSpec(RECONCILIATION_KEY, group_name="staging", deps=list(RAW_KEYS.values()),
                     description="Per file: rows in = clean + quarantined + exact duplicates collapsed."),
    ],
)
def staging_tables(context: dg.AssetExecutionContext, duckdb: DuckDBResource, audit: AuditConfig):
    """Type every row, apply the format's rules, split clean rows from the quarantine."""
    with duckdb.get_connection() as con:
        build_staging(con, audit.parameter_values() | {"extract_date": extract_day(audit)})
        counts = {r[0]: r[1:] for r in con.execute("select * from stg_reconciliation").fetchall()}
        reasons = con.execute("select reason_code, count(*) from stg_quarantine group by 1 order by 2 desc").fetchall()
    for dfile in FILES:
        rows_in, clean, quarantined, duplicates = counts[dfile.filename]
        if rows_in != clean + quarantined + duplicates:
            raise RuntimeError(f"{dfile.filename}: reconciliation failed ({rows_in} in, {clean}+{quarantined}+{duplicates} out)")
        context.log.info(f"staged {dfile.filename}: {clean} clean, {quarantined} quarantined, {duplicates} duplicates collapsed")
        yield dg.MaterializeResult(
            asset_key=STG_KEYS[dfile.name],
            metadata={"rows": clean, "rows_in": rows_in, "quarantined": quarantined, "duplicates_collapsed": duplicates},
        )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata={"rows": sum(n for _, n in reasons), "by_reason": dg.MetadataValue.md(
            "\n".join(f"- {code}: {n}" for code, n in reasons) or "none")},
    )
    yield dg.MaterializeResult(asset_key=RECONCILIATION_KEY, metadata={"files": len(counts)})
