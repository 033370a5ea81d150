"""Raw → staging: type every row, apply the format's rules in the spec's order, and split
each file into its clean ``stg_`` table and the quarantine. Nothing is lost: per file,
rows in = clean + quarantined + exact duplicates collapsed (``stg_reconciliation``).

Order (extract-format.md, *Bad input*): row rules → dates after the extract date →
duplicates → dates before birth / after death → orphans (patients first, then courses,
then drugs).
"""

from __future__ import annotations

import duckdb

from pipelines.lib.extract_format import FILES, FILES_BY_NAME, DeliveryFile
from pipelines.lib.sql_loader import run_sql, sql_text

CPR_FILES_BEFORE_DRUGS = [f for f in FILES if f.has_cpr and f.name != "patients"]


def _common_rules(dfile: DeliveryFile) -> str:
    rules = ["rule(_malformed, 'MALFORMED_ROW', 'the line does not have the header''s number of fields')"]
    for column in dfile.required:
        if column == "cpr":
            rules.append("rule(_cpr_status = 'missing', 'MISSING_REQUIRED', 'cpr is empty')")
        else:
            rules.append(f"rule(na({column}) is null, 'MISSING_REQUIRED', '{column} is empty')")
    if dfile.has_cpr:
        rules.append("rule(_cpr_status = 'invalid', 'INVALID_CPR', "
                     "'cpr is not 10 digits (DDMMYYXXXX or DDMMYY-XXXX) with a real date in the first six')")
    return ",\n        ".join(rules)


def _typed_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [c for c in con.sql(f"select * from {table} limit 0").columns if not c.startswith("_")]


def _date_columns(columns: list[str], dfile: DeliveryFile) -> list[str]:
    exempt = {"end_date"} if dfile.name == "treatment_courses" else set()
    return [c for c in columns if c.endswith("_date") and c not in exempt]


def build_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Create every ``stg_`` table, ``stg_quarantine`` and ``stg_reconciliation`` from the
    ``raw_`` tables. Needs the variables ``extract_date`` and the parameters set."""
    run_sql(con, "macros/parse_macros.sql")
    run_sql(con, "staging/create_staging_outputs.sql")
    columns: dict[str, list[str]] = {}
    for dfile in FILES:
        body = sql_text(f"staging/{dfile.stg_table}.sql", common_rules=_common_rules(dfile))
        con.execute(
            f"create or replace temp table chk_{dfile.name} as "
            f"select * exclude (_rule), _rule.code as _reason, _rule.text as _reason_text, false as _duplicate "
            f"from ({body})"
        )
        columns[dfile.name] = _typed_columns(con, f"chk_{dfile.name}")

    for dfile in FILES:
        for column in _date_columns(columns[dfile.name], dfile):
            run_sql(con, "staging/quarantine_after_extract.sql", chk=f"chk_{dfile.name}", column=column)

    for dfile in FILES:
        key = dfile.staged_key
        others = [c for c in columns[dfile.name]]
        run_sql(
            con, "staging/quarantine_duplicates.sql",
            chk=f"chk_{dfile.name}",
            key_columns=", ".join(key),
            signature=", ".join(f"'{c}': {c}" for c in others),
            key_match=" and ".join(f"c.{c} is not distinct from k.{c}" for c in key),
        )

    for dfile in CPR_FILES_BEFORE_DRUGS:
        for column in _date_columns(columns[dfile.name], dfile):
            run_sql(con, "staging/quarantine_birth_death.sql", chk=f"chk_{dfile.name}", column=column)

    for dfile in CPR_FILES_BEFORE_DRUGS:
        _orphans(con, dfile.name, parent="patients", parent_key="pseudonym", key_label="cpr", label="patient")
    _orphans(con, "drugs", parent="treatment_courses", parent_key="course_id", key_label="course_id",
             label="treatment course")

    for dfile in FILES:
        run_sql(con, "staging/split_clean_and_quarantine.sql", name=dfile.name, columns=", ".join(columns[dfile.name]))


def _orphans(con: duckdb.DuckDBPyConnection, name: str, parent: str, parent_key: str, key_label: str,
             label: str) -> None:
    run_sql(
        con, "staging/quarantine_orphans.sql",
        chk=f"chk_{name}", parent_chk=f"chk_{parent}", parent_key=parent_key, key_label=key_label,
        parent_label=label, parent_file=FILES_BY_NAME[parent].filename,
    )
