"""Writing report files safely: folder names from department codes, Danish CSV, Excel.

Department codes come from a delivery, so nothing about them is trusted: a folder name is
derived from the code (letters, digits, ``_`` and ``-`` only; never empty, never ``.``/``..``,
never a Windows device name, unique even on case-insensitive file systems) and the result
is checked to lie inside its parent. Every text cell written to CSV or Excel is neutralised
against formula injection (OWASP "CSV injection"): a cell starting with ``= + - @``, tab or
carriage return, also after leading spaces, gets a leading apostrophe, so a spreadsheet
shows it as text instead of evaluating it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                    *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
MAX_NAME = 60
FIXED_CREATED = datetime(2000, 1, 1)


def neutralise(value: object) -> object:
    """A text that a spreadsheet would read as a formula, made plain text (leading ')."""
    if isinstance(value, str) and value:
        stripped = value.lstrip(" ")
        if stripped[:1] in FORMULA_START or value[:1] in FORMULA_START:
            return "'" + value
    return value


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("æ", "ae").replace("Æ", "Ae")
                                   .replace("ø", "oe").replace("Ø", "Oe").replace("å", "aa").replace("Å", "Aa"))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text).strip("_-")[:MAX_NAME]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def safe_names(codes: Iterable[str | None]) -> dict[str | None, str]:
    """A distinct, safe folder name for every code (deterministic: sorted codes first).

    A code that is already safe keeps its spelling; any other code gets its cleaned form
    plus 8 hex digits of its SHA-256, so two codes never share a folder, also where the file
    system ignores case."""
    names: dict[str | None, str] = {}
    taken: set[str] = set()
    for code in sorted(set(codes), key=lambda c: ("" if c is None else c)):
        text = "" if code is None else str(code)
        slug = _ascii_slug(text)
        if not slug or slug.split(".")[0].upper() in WINDOWS_RESERVED:
            slug = ("afd_" + slug).rstrip("_")
        name = slug
        length = 8
        if name != text or name.lower() in taken:
            name = f"{slug}-{_digest(text)[:length]}"
        while name.lower() in taken:  # practically never: lengthen the digest
            length += 4
            name = f"{slug}-{_digest(text)[:length]}"
        taken.add(name.lower())
        names[code] = name
    return names


def child_dir(parent: Path, name: str) -> Path:
    """``parent / name``, created, refusing anything that would leave ``parent``."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", name):
        raise ValueError(f"unsafe folder name {name!r}")
    path = parent / name
    if path.resolve().parent != parent.resolve():
        raise ValueError(f"folder {name!r} would leave {parent}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column neutralised (see ``neutralise``)."""
    pattern = r"^( *)[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items() if dtype == pl.String
    )


def write_danish_csv(frame: pl.DataFrame, path: Path) -> int:
    """``;``-separated, decimal comma, UTF-8 with BOM (opens in a Danish Excel); formula-safe."""
    return write_neutralised_csv(neutralise_frame(frame), path)


def write_neutralised_csv(frame: pl.DataFrame, path: Path) -> int:
    """``write_danish_csv`` of a frame that ``neutralise_frame`` has made formula-safe already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, separator=";", decimal_comma=True, include_bom=True, date_format="%Y-%m-%d")
    return frame.height


def value_text(value: object) -> str:
    """A drill-down value as Danish text: decimal comma, dates ISO, lists comma-joined."""
    if value is None:
        return "–"
    kind = type(value)
    if kind is str or kind is int:  # the common cases first: called once per shown value
        return value if kind is str else str(value)
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, float):
        return f"{value:.4g}".replace(".", ",") if abs(value) < 1e6 else f"{value:.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    return str(value)


def parse_values(values_json: str | None) -> dict[str, object]:
    """The drill-down JSON object of a patient result; {} when empty or not an object."""
    if not values_json:
        return {}
    try:
        parsed = json.loads(values_json)
    except (TypeError, ValueError):
        return {"values_json": values_json}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def values_text(values_json: str | None) -> str:
    return "; ".join(f"{k} = {value_text(v)}" for k, v in parse_values(values_json).items())


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_name(text: str, taken: set[str]) -> str:
    name = _SHEET_BAD.sub("_", text).strip("'")[:31] or "Ark"
    base, n = name, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[:31 - len(suffix)] + suffix
        n += 1
    taken.add(name.lower())
    return name


def write_xlsx(path: Path, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]]) -> None:
    """One worksheet per (name, header, rows): bold frozen header, autofilter, sensible widths.
    The file does not depend on when it was written.

    Text goes in with ``write_string`` after neutralising (the workbook also has formula,
    URL and number conversion of strings switched off), numbers as numbers, dates as dates."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})  # same content, same bytes: no run time inside
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True,
                                    "valign": "top"})
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        taken: set[str] = set()
        for name, header, rows in sheets:
            sheet = workbook.add_worksheet(sheet_name(name, taken))
            widths = [min(max(len(str(h)), 8), 60) for h in header]
            for col, title in enumerate(header):
                sheet.write_string(0, col, str(neutralise(title)), bold)
            for r, row in enumerate(rows, start=1):
                for col, value in enumerate(row):
                    if value is None:
                        sheet.write_blank(r, col, None)
                    elif isinstance(value, bool):
                        sheet.write_string(r, col, "ja" if value else "nej")
                    elif isinstance(value, (int, float)):
                        sheet.write_number(r, col, value)
                    elif isinstance(value, (date, datetime)):
                        sheet.write_datetime(r, col, datetime(value.year, value.month, value.day), date_format)
                    else:
                        text = str(neutralise(str(value)))
                        sheet.write_string(r, col, text)
                        widths[col] = min(max(widths[col], len(text)), 60)
            for col, width in enumerate(widths):
                sheet.set_column(col, col, width + 2)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(len(rows), 1), max(len(header) - 1, 0))
    finally:
        workbook.close()
