"""Every bound a delivery is held to, in one place. A delivery beyond one is refused with a
message naming the limit (and the file, line and column): a hostile or broken delivery must
not exhaust the machine's memory or time before it is refused.

The byte limits of a delivery can be raised for a registry whose deliveries are larger
(``MYELOMA_AUDIT_MAX_FILE_BYTES``, ``MYELOMA_AUDIT_MAX_DELIVERY_BYTES``); they are read when a
delivery is opened. A delivery of 1,000,000 patients is about 1 GB in all, its largest file
about 230 MB."""

from __future__ import annotations

import os

from pipelines.lib.errors import AuditError

# --- the files of a delivery ----------------------------------------------------------------
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3        # one CSV file (a polars string holds < 4 GiB)
DEFAULT_MAX_DELIVERY_BYTES = 8 * 1024**3    # all files together (the delivery is read into memory)
MAX_COLUMNS = 1_000                          # header width
MAX_COLUMN_NAME_CHARS = 200
MAX_LINE_CHARS = 1_000_000
MAX_FIELD_CHARS = 10_000

# --- a zip container ------------------------------------------------------------------------
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_RATIO = 200                          # bytes out per byte in, beyond ZIP_RATIO_FLOOR
ZIP_RATIO_FLOOR = 100 * 1024**2
ZIP_CHUNK_BYTES = 1024**2                    # members are decompressed in chunks of this size

# --- manifest.json --------------------------------------------------------------------------
MANIFEST_MAX_BYTES = 1024**2
MANIFEST_MAX_DEPTH = 16
MANIFEST_MAX_DIGITS = 18                     # an integer or the digits of a decimal
EXTRACT_ID_MAX_CHARS = 64
MANIFEST_MAX_VERSION = 1_000_000


def _bytes_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:

        raise AuditError(f"{name}={value[:40]!r} is not a whole number of bytes") from None
    return max(number, 1)


def max_file_bytes() -> int:
    return _bytes_from_env("MYELOMA_AUDIT_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


def max_delivery_bytes() -> int:
    return _bytes_from_env("MYELOMA_AUDIT_MAX_DELIVERY_BYTES", DEFAULT_MAX_DELIVERY_BYTES)


def size(n: int) -> str:
    """A byte count for a message (digits grouped, so it is never mistaken for a CPR)."""
    return f"{n:,} bytes"
