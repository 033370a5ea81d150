"""The suites' rules as plain DuckDB SQL, without Great Expectations.

One query per expectation counting the rows it would flag. Used as an independent cross-check
of GX's counts in the tests and as the baseline of ``benchmarks/validation_speed.py``. Only
the expectation types the suites use are translated; any other type raises.
"""

from __future__ import annotations

from pipelines.quality.suites import ExpectationInfo


def _literal(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def violation_query(table: str, exp: ExpectationInfo) -> str:
    """``select count(*) ...``: the rows of ``table`` that break ``exp`` (for the non-null
    proportion: the null rows)."""
    k = exp.kwargs
    col = k.get("column")
    if exp.type == "expect_column_values_to_not_be_null":
        return f"select count(*) from {table} where {col} is null"
    if exp.type == "expect_column_proportion_of_non_null_values_to_be_between":
        return f"select count(*) from {table} where {col} is null"
    if exp.type == "expect_column_values_to_be_unique":
        return (f"select count(*) from {table} where {col} in "
                f"(select {col} from {table} where {col} is not null group by {col} having count(*) > 1)")
    if exp.type == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(v) for v in k["value_set"])
        return f"select count(*) from {table} where {col} is not null and {col} not in ({values})"
    if exp.type == "expect_column_values_to_be_between":
        conditions = []
        if k.get("min_value") is not None:
            conditions.append(f"{col} {'>' if k.get('strict_min') else '>='} {_literal(k['min_value'])}")
        if k.get("max_value") is not None:
            conditions.append(f"{col} {'<' if k.get('strict_max') else '<='} {_literal(k['max_value'])}")
        return f"select count(*) from {table} where {col} is not null and not ({' and '.join(conditions)})"
    if exp.type == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = k["column_A"], k["column_B"]
        op = ">=" if k.get("or_equal") else ">"
        return f"select count(*) from {table} where {a} is not null and {b} is not null and not ({a} {op} {b})"
    if exp.type == "unexpected_rows_expectation":
        return f"select count(*) from ({k['unexpected_rows_query'].format(batch=table)}) as q"
    raise NotImplementedError(f"no plain-SQL translation for {exp.type}")
