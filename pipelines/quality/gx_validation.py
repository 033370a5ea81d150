"""One GX validation per staging table, and the Data Docs of a whole run, built once.

GX judges each table in one pass with the ``BASIC`` result format: every expectation's
verdict, counts and observed value, and for a failed column-map expectation a sample of its
unexpected values (shown in Data Docs) and ``unexpected_index_query``, GX's own SQL listing
the failing rows. ``SUMMARY`` (the former format) costs one more query per map expectation,
passed or not, to list the ids of up to 20 failing rows; the runner instead lists every
failing row of a failed expectation with that query (see ``runner``).

Results are kept in memory and written to the context's stores only by :func:`write_docs`,
which then builds the site once for the whole run (GX's ``UpdateDataDocsAction`` rebuilds the
index and copies the static assets on every checkpoint).

Import this module only where GX is used (see ``gx_duckdb``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.validator.v1_validator import Validator


def result_format(id_column: str, sample_rows: int) -> dict:
    return {"result_format": "BASIC", "partial_unexpected_count": sample_rows,
            "unexpected_index_column_names": ["_line", id_column], "return_unexpected_index_query": True}


def run_identifier(run_name: str | None) -> RunIdentifier:
    return RunIdentifier(run_name=run_name, run_time=datetime.datetime.now(datetime.timezone.utc))


@dataclass
class TableValidation:
    suite: Any             # gx.ExpectationSuite
    result: Any            # ExpectationSuiteValidationResult
    identifier: Any        # ValidationResultIdentifier: where Data Docs put its page


def validate_table(datasource: Any, table: str, spec: dict, run_id: RunIdentifier, fmt: dict) -> TableValidation:
    """Validate ``table`` against the suite ``spec`` (GX's suite JSON) with GX."""
    batch_definition = datasource.add_table_asset(table, table_name=table).add_batch_definition_whole_table("whole_table")
    suite = gx.ExpectationSuite(**spec)
    validator = Validator(batch_definition, result_format=fmt)
    result = validator.validate_expectation_suite(suite)
    # What ValidationDefinition.run adds; Data Docs show the run name and time.
    result.meta.update(run_id=run_id, validation_time=run_id.run_time, batch_parameters=None)
    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=run_id, batch_identifier=validator.active_batch_id)
    return TableValidation(suite, result, identifier)


def write_docs(context: Any, validations: list[TableValidation], site_name: str) -> None:
    """Store the suites and results (JSON under the context's stores) and build their pages
    and the site index once."""
    identifiers: list[Any] = []
    for validation in validations:
        context.suites.add_or_update(validation.suite)
        context.validation_results_store.store_validation_results(
            validation.result, validation.identifier, validation.identifier.expectation_suite_identifier)
        identifiers += [validation.identifier, validation.identifier.expectation_suite_identifier]
    context.build_data_docs(site_names=[site_name], resource_identifiers=identifiers)


def docs_page(identifier: Any) -> str:
    """The GX validation page of a result, relative to the site (GX's own layout)."""
    return "validations/" + "/".join(str(p) for p in identifier.to_tuple()) + ".html"
