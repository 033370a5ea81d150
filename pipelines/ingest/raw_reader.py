"""Turn one delivered CSV file into the raw layer's rows: text only, CPR pseudonymised.

Nothing is typed here (typing and rules are SQL in ``sql/staging``); this step only decodes,
splits lines into fields, keeps the physical line number, and replaces every clear CPR by
its pseudonym — also inside the ``_record`` kept for the quarantine.
"""

from __future__ import annotations

import csv

import polars as pl

from pipelines.lib.errors import DeliveryRefused
from pipelines.lib.extract_format import DeliveryFile
from pipelines.lib.pseudonym import CPR_LIKE, pseudonym

UTF8_BOM = b"\xef\xbb\xbf"
CPR_LIKE_POLARS = r"(^|[^0-9A-Za-z])[0-9]{6}-?[0-9]{4}([^0-9A-Za-z]|$)"


def decode(name: str, raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) or Windows-1252, detected per file."""
    if raw.startswith(UTF8_BOM):
        try:
            return raw[len(UTF8_BOM):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as err:
            _refuse_undecodable(name, raw, err.start + len(UTF8_BOM), "UTF-8 (it starts with a UTF-8 BOM)")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        _refuse_undecodable(name, raw, err.start, "UTF-8 or Windows-1252")
    raise AssertionError("unreachable")


def _refuse_undecodable(name: str, raw: bytes, pos: int, tried: str) -> None:
    line = raw.count(b"\n", 0, pos) + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    raise DeliveryRefused(name, f"byte 0x{raw[pos]:02X} at character {col} cannot be decoded as {tried}", line=line)


def _header(name: str, first_line: str, dfile: DeliveryFile) -> list[str]:
    columns = [c.strip().strip('"').strip().lower() for c in first_line.split(";")]
    seen = set()
    for col in columns:
        if col in seen and col:
            raise DeliveryRefused(name, f"column {col!r} appears twice in the header", line=1, column=col)
        seen.add(col)
    missing = [c for c in dfile.columns if c not in seen]
    if missing:
        raise DeliveryRefused(name, "required column missing from the header"
                              + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
                              line=1, column=missing[0])
    return columns


def _split_quoted(lines: pl.DataFrame) -> pl.Series:
    """Slow path for the few lines with quotes: let the csv module honour ``"a;b"``."""
    return pl.Series(
        [next(csv.reader([text], delimiter=";", quotechar='"')) if text else [] for text in lines["_text"]],
        dtype=pl.List(pl.String),
    )


def read_raw(name: str, raw: bytes, dfile: DeliveryFile, key: bytes) -> tuple[pl.DataFrame, dict]:
    """Rows of ``name`` as text columns named by the spec, plus ``_line``, ``_record``,
    ``_malformed`` and (for files with cpr) ``pseudonym`` and ``_cpr_status`` (valid / missing / invalid).
    Returns the frame and facts about the file (encoding, line ends, extra columns)."""
    text, encoding = decode(name, raw)
    lines = text.split("\n")
    crlf = lines[0].endswith("\r")
    if not lines[0].strip():
        raise DeliveryRefused(name, "the first line must be the header; it is empty", line=1)
    columns = _header(name, lines[0].rstrip("\r"), dfile)
    n_fields = len(columns)

    frame = (
        pl.DataFrame({"_text": lines[1:]}, schema={"_text": pl.String})
        .with_row_index("_line", offset=2)
        .with_columns(pl.col("_line").cast(pl.Int64), pl.col("_text").str.strip_suffix("\r"))
        .filter(pl.col("_text").str.strip_chars() != "")
    )
    has_quote = frame["_text"].str.contains('"', literal=True)
    plain = frame.filter(~has_quote).with_columns(pl.col("_text").str.split(";").alias("_fields"))
    quoted = frame.filter(has_quote)
    if quoted.height:
        quoted = quoted.with_columns(_split_quoted(quoted).alias("_fields"))
        frame = pl.concat([plain, quoted]).sort("_line")
    else:
        frame = plain
    frame = frame.with_columns((pl.col("_fields").list.len() != n_fields).alias("_malformed"))

    index = {col: i for i, col in enumerate(columns)}
    frame = frame.with_columns(
        pl.when(~pl.col("_malformed")).then(pl.col("_fields").list.get(index[col], null_on_oob=True)).alias(col)
        for col in dfile.columns
    )

    if dfile.has_cpr:
        frame = _pseudonymise(frame, index["cpr"], n_fields, key)
    else:
        frame = frame.with_columns(pl.col("_text").alias("_record"))
    frame = _scrub_cpr_like(frame, key)

    keep = ["_line", "_record", "_malformed"] + (["pseudonym", "_cpr_status"] if dfile.has_cpr else [])
    keep += [c for c in dfile.columns if c != "cpr"]
    facts = {
        "encoding": encoding,
        "line_ending": "CRLF" if crlf else "LF",
        "extra_columns": [c for c in columns if c not in dfile.columns],
    }
    return frame.select(keep), facts


def _normalise_cpr(col: pl.Expr) -> pl.Expr:
    stripped = col.str.strip_chars()
    return pl.when(stripped.str.contains(r"^\d{6}-\d{4}$")).then(stripped.str.replace("-", "", literal=True)).otherwise(stripped)


def _pseudonymise(frame: pl.DataFrame, cpr_index: int, n_fields: int, key: bytes) -> pl.DataFrame:
    """Replace the cpr field by its pseudonym: the spec's one for a valid CPR, and for an
    invalid one the pseudonym of the string as delivered."""
    cpr_raw = pl.col("_fields").list.get(cpr_index, null_on_oob=True).fill_null("")
    frame = frame.with_columns(_normalise_cpr(cpr_raw).alias("_cpr_norm"))
    valid = (pl.col("_cpr_norm").str.contains(r"^\d{10}$")
             & pl.col("_cpr_norm").str.slice(0, 6).str.to_date("%d%m%y", strict=False).is_not_null())
    frame = frame.with_columns(
        pl.when(pl.col("_cpr_norm") == "").then(pl.lit("missing"))
        .when(valid).then(pl.lit("valid")).otherwise(pl.lit("invalid")).alias("_cpr_status")
    )
    uniques = frame["_cpr_norm"].unique()
    mapping = pl.DataFrame({"_cpr_norm": uniques, "pseudonym": [pseudonym(key, v) for v in uniques.to_list()]})
    frame = frame.join(mapping, on="_cpr_norm", how="left", maintain_order="left")
    fields = pl.col("_fields")
    record = pl.concat_list(
        fields.list.slice(0, cpr_index), pl.concat_list(pl.col("pseudonym")), fields.list.slice(cpr_index + 1)
    ).list.join(";")
    return frame.with_columns(
        pl.when(pl.col("_fields").list.len() > cpr_index).then(record).otherwise(pl.col("_text")).alias("_record")
    ).drop("_cpr_norm")


def _scrub_cpr_like(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Anything else in a kept record that looks like a CPR (a shifted field in a malformed
    row, an extra column) is replaced by its pseudonym too."""
    suspect = frame["_record"].str.contains(CPR_LIKE_POLARS)
    if not suspect.any():
        return frame
    scrub = lambda text: CPR_LIKE.sub(lambda m: pseudonym(key, m.group(1) + m.group(2)), text)  # noqa: E731
    cleaned = [scrub(t) if s else t for t, s in zip(frame["_record"].to_list(), suspect.to_list())]
    return frame.with_columns(pl.Series("_record", cleaned, dtype=pl.String))
