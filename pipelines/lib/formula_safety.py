"""Text cells made safe for spreadsheets (OWASP "CSV injection"): a cell starting with
``= + - @``, tab or carriage return, also after leading spaces, gets a leading apostrophe, so
a spreadsheet shows it as text instead of evaluating it. Used by every CSV and Excel writer,
the quality layer's failing-row lists as much as the reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars only where frames are written: the summary's workbook process has none
    import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text that a spreadsheet would read as a formula, made plain text (leading ')."""
    if isinstance(value, str) and value:
        stripped = value.lstrip(" ")
        if stripped[:1] in FORMULA_START or value[:1] in FORMULA_START:
            return "'" + value
    return value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column neutralised (see ``neutralise``)."""
    import polars as pl

    pattern = r"^( *)[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items() if dtype == pl.String
    )
