"""How public outputs name an extract: by its date and a short checksum of its files, never
by a string the delivery chose (an extract id or a folder name may hold anything, a CPR
number included)."""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb


def extract_label(extract_date: date | str | None, checksums: dict[str, str]) -> str:
    """``01-11-2026 · 3f9a1c2e``: the extract date as Danish pages write it and the first 8 hex
    digits of the sha256 over the delivery files' sha256 (sorted by file name)."""
    digest = hashlib.sha256("".join(f"{name}\0{sha}\n" for name, sha in sorted(checksums.items())).encode()).hexdigest()
    if isinstance(extract_date, str) and extract_date:
        extract_date = date.fromisoformat(extract_date)
    day = extract_date.strftime("%d-%m-%Y") if isinstance(extract_date, date) else "?"
    return f"{day} · {digest[:8]}"


def extract_label_of(con) -> str | None:
    """The label of the extract loaded into a DuckDB connection (``raw_delivery_info``,
    ``raw_file_info``), or None when they are not there."""
    try:
        info = con.execute("select extract_date from raw_delivery_info limit 1").fetchall()
        files = con.execute("select file, sha256 from raw_file_info").fetchall()
    except duckdb.CatalogException:
        return None
    if not info:
        return None
    return extract_label(info[0][0], dict(files))
