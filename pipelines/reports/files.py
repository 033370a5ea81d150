"""Writing report files safely: folder names from department codes, Danish CSV, Excel sheet names.

Department codes come from a delivery, so nothing about them is trusted: a folder name is
derived from the code (letters, digits, ``_`` and ``-`` only; never empty, never ``.``/``..``,
never a Windows device name, unique even on case-insensitive file systems) and the result
is checked to lie inside its parent. Every text cell written to CSV or Excel is neutralised
against formula injection (``lib/formula_safety.py``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from pipelines.lib import cpr
from pipelines.lib.formula_safety import neutralise_frame

WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                    *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
MAX_NAME = 60


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("æ", "ae").replace("Æ", "Ae")
                                   .replace("ø", "oe").replace("Ø", "Oe").replace("å", "aa").replace("Å", "Aa"))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text).strip("_-")[:MAX_NAME]
    # dropping a letter may join digits into a CPR number ('280991Ω3651'): never in a folder's name
    return cpr.scrub(slug, lambda digits: "cpr")


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


def write_danish_csv(frame: pl.DataFrame, path: Path) -> int:
    """``;``-separated, decimal comma, UTF-8 with BOM (opens in a Danish Excel); formula-safe."""
    return write_neutralised_csv(neutralise_frame(frame), path)


def write_neutralised_csv(frame: pl.DataFrame, path: Path) -> int:
    """``write_danish_csv`` of a frame that ``neutralise_frame`` has made formula-safe already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, separator=";", decimal_comma=True, include_bom=True, date_format="%d-%m-%Y")
    return frame.height


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
