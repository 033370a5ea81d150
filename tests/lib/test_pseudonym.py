"""The pseudonym of a value is the spec's HMAC however it is reached: one value at a time, a
column at a time, or both in either order."""

import hashlib
import hmac

import polars as pl

from pipelines.lib.pseudonym import Pseudonymiser, pseudonym

KEY = b"a-test-key-that-is-long-enough-0123456789"


def spec(value: str) -> str:
    return "P" + hmac.new(KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def test_one_value_is_the_hmac_of_the_spec():
    for value in ("0101901234", "3112991234", "not a cpr", "", "ÆØÅ 12"):
        assert pseudonym(KEY, value) == spec(value)
        assert Pseudonymiser(KEY)(value) == spec(value)


def test_a_column_gets_every_value_its_hmac_in_order():
    pseudonymise = Pseudonymiser(KEY)
    pseudonymise("0202021234")  # known one by one before any column
    first = ["0101901234", "0202021234", "0101901234", "ugyldig"]
    second = ["0303031234", "ugyldig", "0202021234", "0303031234"]
    assert pseudonymise.series(pl.Series(first)).to_list() == [spec(v) for v in first]
    assert pseudonymise.series(pl.Series(second)).to_list() == [spec(v) for v in second]
    assert pseudonymise("0303031234") == spec("0303031234")  # hashed by a column, then asked alone


def test_valid_pairs_hold_the_valid_numbers_of_columns_and_single_values():
    pseudonymise = Pseudonymiser(KEY)
    pseudonymise.series(pl.Series(["0101901234", "ugyldig", "9999991234"]))
    pseudonymise("0202021234")
    assert sorted(pseudonymise.valid_pairs()) == sorted([(spec("0101901234"), "0101901234"),
                                                         (spec("0202021234"), "0202021234")])
