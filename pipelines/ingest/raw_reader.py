"""Turn one delivered CSV file into the raw layer's rows: text only, CPR pseudonymised.

Nothing is typed here (typing and rules are SQL in ``sql/staging``); this step only decodes,
splits lines into fields, keeps the physical line number, and replaces every clear CPR by
its pseudonym: the ``cpr`` column by the spec's rule, and every CPR-shaped token anywhere
else (any field, an extra column, a malformed line kept whole for the quarantine) by the
pseudonym of its ten digits, found by the one detector (``pipelines.lib.cpr``).

The file's shape is bounded before anything large is built from it (``pipelines.lib.limits``):
header width and column names, line length and field length; a file beyond a bound is
refused naming the limit.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import weakref
from datetime import date

import polars as pl

from pipelines.lib import cpr as detector
from pipelines.lib import limits
from pipelines.lib.errors import DeliveryRefused
from pipelines.lib.extract_format import MISSING_VALUES, DeliveryFile
from pipelines.lib.pseudonym import Pseudonymiser

UTF8_BOM = b"\xef\xbb\xbf"
ASCII_WHITESPACE = " \t\r\n\x0b\x0c"  # what bytes.strip() removes


MIXED = "utf-8 + cp1252"  # a file whose lines are in either (an "encoding mix-up", extract-format.md)
# The first byte of UTF-8's letters beyond ASCII that deliveries hold (Latin-1's æ ø å µ é …: C2/C3;
# dashes, quotes, €: E2; Greek μ: CE), all rare in Windows-1252 text (Â Ã â Î)
_UTF8_LEADS = (b"\xc3", b"\xc2", b"\xe2", b"\xce")


def decode(name: str, raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) or Windows-1252, detected per file; a file that is neither
    as a whole but holds UTF-8 letters (or a BOM) is decoded line by line, each line as UTF-8
    where it is, else as Windows-1252 (``MIXED``)."""
    bom = raw.startswith(UTF8_BOM)
    body = raw[len(UTF8_BOM):] if bom else raw
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    if bom or any(body.find(lead) >= 0 for lead in _UTF8_LEADS):
        return _decode_lines(name, body, len(raw) - len(body)), MIXED
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        _refuse_undecodable(name, raw, err.start, "UTF-8 or Windows-1252")
    raise AssertionError("unreachable")


def _decode_lines(name: str, body: bytes, offset: int) -> str:
    lines, start = [], 0
    for line in body.split(b"\n"):
        if line.isascii():
            lines.append(line.decode("ascii"))
        else:
            try:
                lines.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                try:
                    lines.append(line.decode("cp1252"))
                except UnicodeDecodeError as err:
                    _refuse_undecodable(name, body, start + err.start, "UTF-8 or Windows-1252", offset)
        start += len(line) + 1
    return "\n".join(lines)


def _refuse_undecodable(name: str, raw: bytes, pos: int, tried: str, offset: int = 0) -> None:
    """``offset``: bytes before ``raw`` in the file (a BOM), counted in the character named."""
    line = raw.count(b"\n", 0, pos) + 1
    line_start = raw.rfind(b"\n", 0, pos) + 1
    col = pos - line_start + 1 + (offset if line == 1 else 0)
    raise DeliveryRefused(name, f"byte 0x{raw[pos]:02X} at character {col} cannot be decoded as {tried}", line=line,
                          column=None if line == 1 else _header_cell(raw, raw.count(b";", line_start, pos)))


def _header_cell(raw: bytes, index: int) -> str:
    """The header's name of field ``index`` (0-based) of a data line, or its number where the
    header has no such column; ``;`` is the same byte in both encodings."""
    names = _column_names(raw.removeprefix(UTF8_BOM).split(b"\n", 1)[0].decode("utf-8", "replace"))
    return names[index] if index < len(names) and names[index] else str(index + 1)


def _column_names(first_line: str) -> list[str]:
    """The header's column names as the format compares them."""
    return [c.strip().strip('"').strip().lower() for c in first_line.split(";")]


def _header(name: str, first_line: str, dfile: DeliveryFile) -> list[str]:
    if "\r" in first_line:
        raise DeliveryRefused(name, "the header line holds a carriage return: the file's lines end in a bare CR "
                                    "(old Mac style); line ends must be LF or CRLF", line=1)
    width = first_line.count(";") + 1
    if width > limits.MAX_COLUMNS:
        raise DeliveryRefused(name, f"the header has {width:,} columns; at most {limits.MAX_COLUMNS:,} are allowed",
                              line=1)
    columns = _column_names(first_line)
    seen = set()
    for number, col in enumerate(columns, start=1):
        if len(col) > limits.MAX_COLUMN_NAME_CHARS:
            raise DeliveryRefused(name, f"column name {number} is {len(col):,} characters long; at most "
                                        f"{limits.MAX_COLUMN_NAME_CHARS} are allowed", line=1)
        if col in seen and col:
            raise DeliveryRefused(name, f"column '{col}' appears twice in the header", line=1, column=col)
        seen.add(col)
    missing = [c for c in dfile.columns if c not in seen]
    if missing:
        raise DeliveryRefused(name, "required column missing from the header"
                              + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
                              line=1, column=missing[0])
    return columns


def _parse_quoted(text: str) -> list[str]:
    """One line with quotes; a line the csv module cannot parse (a stray carriage return or
    NUL inside it) is returned unsplit, so it counts as malformed and goes to the quarantine."""
    try:
        return next(csv.reader([text], delimiter=";", quotechar='"'))
    except csv.Error:
        return [text]


def _split_quoted(lines: pl.DataFrame, n_fields: int) -> pl.DataFrame:
    """Slow path for the few lines with quotes: let the csv module honour ``"a;b"``."""
    rows = [_parse_quoted(text) for text in lines["_text"]]
    return pl.DataFrame(
        {f"f{i}": [r[i] if len(r) == n_fields else None for r in rows] for i in range(n_fields)}
        | {"_malformed": [len(r) != n_fields for r in rows]},
        schema={f"f{i}": pl.String for i in range(n_fields)} | {"_malformed": pl.Boolean},
    )


_BARE_CR = re.compile(rb"\r(?!\n)")


def utf8(name: str, raw: bytes) -> tuple[bytes, str]:
    """The file as UTF-8 bytes, and the encoding it was delivered in (``decode``). A UTF-8
    file is not copied: its bytes are checked by decoding them once and used as they are."""
    text, encoding = decode(name, raw)
    if encoding == "utf-8":
        return raw, encoding
    if encoding == "utf-8-sig":
        return raw[len(UTF8_BOM):], encoding
    return text.encode("utf-8"), encoding


def _lines(data: bytes, start: int) -> pl.Series:
    """The physical lines of ``data[start:]`` (the CR of a CRLF removed), never as millions
    of Python objects: polars' native CSV reader cuts them from the bytes, reading each line
    as one field (separated by a character deliveries do not use; quotes are not
    interpreted here). A file holding that character or a bare CR, which the reader would
    treat otherwise, is split plainly."""
    if start >= len(data):
        return pl.Series("_text", [], dtype=pl.String)
    if data.find(b"\x1f", start) >= 0 or _BARE_CR.search(data, start):
        text = data[start:].decode("utf-8")
        return pl.Series("_text", [text], dtype=pl.String).str.split("\n").explode().str.strip_suffix("\r")
    lines_before = data.count(b"\n", 0, start)  # the header's line: the file is not copied to drop it
    read = pl.read_csv(data, has_header=False, separator="\x1f", quote_char=None, infer_schema=False,
                       skip_lines=lines_before, new_columns=["_text"])
    return read.to_series().fill_null("")  # an empty line reads as null


def _split(frame: pl.DataFrame, n_fields: int) -> pl.DataFrame:
    """Fields ``f0 … f{n-1}`` of every line (null for a line with the wrong field count)."""
    has_quote = frame["_text"].str.contains('"', literal=True)
    quoted = frame.filter(has_quote)
    text = pl.col("_text")
    malformed = text.str.count_matches(";", literal=True) != n_fields - 1
    parts = text.str.split_exact(";", n_fields - 1)
    # one lazy plan: the field count and the split run side by side, the split once for all fields
    plain = (frame.filter(~has_quote) if quoted.height else frame).lazy().select(
        pl.all(), *[pl.when(~malformed).then(parts.struct.field(f"field_{i}")).alias(f"f{i}") for i in range(n_fields)],
        malformed.alias("_malformed")).collect()
    if quoted.height == 0:
        return plain
    quoted = pl.concat([quoted, _split_quoted(quoted, n_fields)], how="horizontal")
    return pl.concat([plain, quoted]).sort("_line")


def read_raw(name: str, raw: bytes, dfile: DeliveryFile, pseudonymise: Pseudonymiser,
             extract_date: date | None = None) -> tuple[pl.DataFrame, dict]:
    """Rows of ``name`` as text columns named by the spec, plus ``_line``, ``_record_kept``,
    ``_malformed`` and (for files with cpr) ``pseudonym`` and ``_cpr_status`` (valid / missing / invalid).
    ``_record_kept``: the line as delivered (CPR pseudonymised) where it is not the fields joined
    by ``;`` in the format's order (the cpr as its pseudonym), NULL where it is; the record of
    every line is made from the raw table by ``sql/raw/_record.sql``.
    Returns the frame and facts about the file (encoding, line ends, extra columns, and with
    ``extract_date``: how many rows have a date in the file's first date column and how many
    of those lie after the extract date)."""
    data, encoding = utf8(name, raw)
    end = data.find(b"\n")
    first_line = (data if end < 0 else data[:end]).decode("utf-8")
    crlf = first_line.endswith("\r")
    if not first_line.strip():
        raise DeliveryRefused(name, "the first line must be the header; it is empty", line=1)
    if len(first_line) > limits.MAX_LINE_CHARS:
        raise DeliveryRefused(name, f"the header line is {len(first_line):,} characters long; at most "
                                    f"{limits.MAX_LINE_CHARS:,} are allowed", line=1)
    columns = _header(name, first_line.removesuffix("\r"), dfile)
    position = {col: f"f{i}" for i, col in enumerate(columns)}  # the format's columns (their names are unique)

    lines = _lines(data, len(data) if end < 0 else end + 1)
    del data
    frame = (
        lines.to_frame()
        .with_row_index("_line", offset=2)
        .with_columns(pl.col("_line").cast(pl.Int64))
        # blank = only ASCII white space, exactly as the manifest counts rows (count_data_rows);
        # a line of other white space (e.g. a no-break space) is a row, and malformed
        .filter(pl.col("_text").str.strip_chars(ASCII_WHITESPACE) != "")
    )
    longest = _check_line_lengths(name, frame)
    frame = _split(frame, len(columns))
    if longest > limits.MAX_FIELD_CHARS:  # only then can a field be too long
        _check_field_lengths(name, frame, columns)

    if dfile.has_cpr:
        frame = _pseudonymise(frame, position["cpr"], pseudonymise)
    # every field but cpr (extra columns too: they are in the record), and malformed lines kept
    # whole, are scrubbed before the record is built from them
    fields = [f"f{i}" for i, c in enumerate(columns) if c != "cpr"]  # by place: extra columns may share a name ('')
    frame = _scrub_cpr_like(frame, fields, pseudonymise)
    if dfile.has_cpr:  # the record: the fields with the pseudonym for the cpr; a malformed line as it is
        whole = pl.col("_malformed")
        replaced = [pl.col("pseudonym") if col == "cpr" else pl.col(f"f{i}") for i, col in enumerate(columns)]
    else:  # the line as delivered (a quoted line keeps its quotes), rebuilt from the fields where that is the same
        whole = pl.col("_malformed") | pl.col("_text").str.contains('"', literal=True)
        replaced = [pl.col(f"f{i}") for i in range(len(columns))]
    frame = frame.with_columns(_scrub_text_where(frame, frame.select(whole.fill_null(True)).to_series(), pseudonymise,
                                                 columns.index("cpr") if dfile.has_cpr else None))
    # kept only where the fields do not make it (sql/raw/_record.sql makes it from them elsewhere)
    joined = None if columns == list(dfile.columns) else pl.concat_str(replaced, separator=";")
    record = pl.when(whole).then(pl.col("_text")).otherwise(joined)
    frame = frame.with_columns(record.alias("_record_kept"))

    keep = [pl.col("_line"), pl.col("_record_kept"), pl.col("_malformed")]
    if dfile.has_cpr:
        keep += [pl.col("pseudonym"), pl.col("_cpr_status")]
    keep += [pl.col(position[c]).alias(c) for c in dfile.columns if c != "cpr"]
    extra = [c for c in columns if c not in dfile.columns]
    facts = {
        "encoding": encoding,
        "line_ending": "CRLF" if crlf else "LF",
        # a column name comes from the delivery: CPR-shaped tokens pseudonymised like any field
        "extra_columns": [detector.scrub(c, pseudonymise) for c in extra],
    }
    frame = frame.select(keep)
    if extract_date is not None:
        facts.update(_dates_after(frame, dfile, extract_date))
    return frame, facts


def _check_line_lengths(name: str, frame: pl.DataFrame) -> int:
    """Refuse a line beyond the limit (naming it); the longest line's length otherwise."""
    lengths = frame["_text"].str.len_chars()
    longest = lengths.max() or 0
    if longest > limits.MAX_LINE_CHARS:
        line = frame.filter(lengths > limits.MAX_LINE_CHARS)["_line"][0]
        raise DeliveryRefused(name, f"the line is longer than {limits.MAX_LINE_CHARS:,} characters "
                                    f"({longest:,} in the longest)", line=line)
    return longest


def _check_field_lengths(name: str, frame: pl.DataFrame, columns: list[str]) -> None:
    for i, column in enumerate(columns):
        lengths = frame[f"f{i}"].str.len_chars()
        if (lengths.max() or 0) > limits.MAX_FIELD_CHARS:
            line = frame.filter(lengths > limits.MAX_FIELD_CHARS)["_line"][0]
            raise DeliveryRefused(name, f"the field is longer than {limits.MAX_FIELD_CHARS:,} characters",
                                  line=line, column=column)
    malformed = frame.filter(pl.col("_malformed") & (pl.col("_text").str.len_chars() > limits.MAX_FIELD_CHARS))
    for line, text in zip(malformed["_line"], malformed["_text"]):  # fields of a malformed line: split it
        if any(len(part) > limits.MAX_FIELD_CHARS for part in text.split(";")):
            raise DeliveryRefused(name, f"a field is longer than {limits.MAX_FIELD_CHARS:,} characters", line=line)


def _first_date_column(dfile: DeliveryFile) -> str | None:
    return next((c for c in dfile.columns if c.endswith("_date")), None)


DATE_SAMPLE_ROWS = 50_000


def _dates_after(frame: pl.DataFrame, dfile: DeliveryFile, extract_date: date) -> dict[str, int]:
    """Rows with a readable date (dd-mm-yyyy or ISO) in the file's first date column, and how
    many of them lie after the extract date: the extract date's sanity check. A proportion is
    all it needs, so a large file is looked at in an even sample of about 50,000 rows."""
    column = _first_date_column(dfile)
    if column is None:
        return {"dated_rows": 0, "rows_after_extract_date": 0}
    if frame.height > DATE_SAMPLE_ROWS:
        frame = frame.select(column).gather_every(-(-frame.height // DATE_SAMPLE_ROWS))
    value = pl.col(column).str.strip_chars()
    day = pl.coalesce(value.str.to_date("%d-%m-%Y", strict=False), value.str.to_date("%Y-%m-%d", strict=False))
    dated, after = frame.select(day.is_not_null().sum().alias("dated"),
                                (day > extract_date).sum().alias("after")).row(0)
    return {"dated_rows": int(dated or 0), "rows_after_extract_date": int(after or 0)}


_CPR_WITH_HYPHEN = re.compile(r"\d{6}-\d{4}")
_CPR_DIGITS = re.compile(r"\d{10}")
_MISSING = tuple(v.lower() for v in MISSING_VALUES)  # the format's spellings of missing (NA, ., uoplyst)


def ascii_digits(value: str) -> str:
    """The same CPR typed in full-width (or any script's) digits hashes to the same pseudonym."""
    if value.isascii():
        return value
    return "".join(str(unicodedata.digit(c)) if c.isdecimal() else c for c in value)


def cpr_status(value: str) -> tuple[str, str]:
    """(normalised CPR, 'valid' | 'missing' | 'invalid'): 10 digits, hyphen removed, with a
    real date DDMMYY in 19YY or 20YY (the modulus-11 check is deliberately not applied).
    The rule for one value; ingest applies it vectorised (``cpr_statuses``), tested equal."""
    value = ascii_digits(value.strip())
    if _CPR_WITH_HYPHEN.fullmatch(value):
        value = value.replace("-", "")
    if value.lower() in _MISSING:
        return value, "missing"
    if not _CPR_DIGITS.fullmatch(value):
        return value, "invalid"
    return value, "valid" if value[:6] in detector.REAL_DDMMYY else "invalid"


def cpr_statuses(delivered: pl.Series) -> pl.DataFrame:
    """``cpr_status`` for many values at once: columns ``normalised`` and ``status``."""
    values = delivered.fill_null("").str.strip_chars()
    foreign = values.str.contains(r"[^\x00-\x7F]")
    if foreign.any():  # digits of another script: rare, done one by one
        values = pl.Series([ascii_digits(v) if f else v for v, f in zip(values.to_list(), foreign.to_list())],
                           dtype=pl.String)
    frame = pl.DataFrame({"v": values})
    normalised = (pl.when(pl.col("v").str.contains(r"^[0-9]{6}-[0-9]{4}$"))
                  .then(pl.col("v").str.replace("-", "", literal=True)).otherwise(pl.col("v")))
    ddmmyy = [pl.col("n").str.slice(4, 2), pl.col("n").str.slice(2, 2), pl.col("n").str.slice(0, 2)]
    real_date = pl.any_horizontal(
        pl.concat_str([pl.lit(century), *ddmmyy]).str.to_date("%Y%m%d", strict=False).is_not_null()
        for century in ("19", "20"))
    return frame.with_columns(normalised.alias("n")).select(
        pl.col("n").alias("normalised"),
        pl.when(pl.col("n").str.to_lowercase().is_in(_MISSING)).then(pl.lit("missing"))
        .when(pl.col("n").str.contains(r"^[0-9]{10}$") & real_date).then(pl.lit("valid"))
        .otherwise(pl.lit("invalid")).alias("status"))


# Per pseudonymiser (one per delivery), every cpr text delivered so far with its pseudonym and
# status: a patient's number is in up to eight files, and is checked and hashed once.
_CHECKED: weakref.WeakKeyDictionary[Pseudonymiser, pl.DataFrame] = weakref.WeakKeyDictionary()
_CHECKED_SCHEMA = {"_delivered": pl.String, "pseudonym": pl.String, "_status": pl.String}


def _checked(values: pl.Series, pseudonymise: Pseudonymiser) -> pl.DataFrame:
    """``_delivered``, ``pseudonym``, ``_status`` of distinct cpr texts not checked before."""
    checked = cpr_statuses(values)
    return pl.DataFrame({"_delivered": values, "pseudonym": pseudonymise.series(checked["normalised"]),
                         "_status": checked["status"]}, schema=_CHECKED_SCHEMA)


def _looked_up(cpr: pl.Series, checked: pl.DataFrame) -> pl.DataFrame:
    return cpr.alias("_delivered").to_frame().join(checked, on="_delivered", how="left", maintain_order="left")


def _pseudonymise(frame: pl.DataFrame, cpr_field: str, pseudonymise: Pseudonymiser) -> pl.DataFrame:
    """The spec's pseudonym for a valid CPR; for an invalid one the pseudonym of the string
    as delivered. Each distinct value is checked and hashed once per delivery: the file's
    values are looked up among those of the files before it, and only the new ones are checked."""
    cpr = frame[cpr_field].fill_null("")
    known = _CHECKED.get(pseudonymise, pl.DataFrame(schema=_CHECKED_SCHEMA))
    looked_up = _looked_up(cpr, known)
    unseen = looked_up["_status"].is_null()
    if unseen.any():
        added = _checked(cpr.filter(unseen).unique(), pseudonymise)
        _CHECKED[pseudonymise] = pl.concat([known, added], rechunk=True)
        if unseen.all():  # the first file with cpr
            looked_up = _looked_up(cpr, added)
        else:
            rows = unseen.arg_true()
            filled = _looked_up(cpr.gather(rows), added)
            looked_up = looked_up.with_columns(looked_up["pseudonym"].scatter(rows, filled["pseudonym"]),
                                               looked_up["_status"].scatter(rows, filled["_status"]))
    return frame.with_columns(
        looked_up["pseudonym"],
        pl.when(pl.col("_malformed")).then(pl.lit("invalid")).otherwise(looked_up["_status"]).alias("_cpr_status"),
        cpr.alias(cpr_field))


def _scrub_cpr_like(frame: pl.DataFrame, columns: list[str], pseudonymise: Pseudonymiser) -> pl.DataFrame:
    """A CPR typed into any field (a free-text regimen or name, a code, a date, an extra
    column, a shifted field of a malformed row) is replaced by the pseudonym of its ten
    digits before anything reaches DuckDB. Vectorised: a regular expression over each column
    finds the few candidate values; Python looks only at those."""
    replaced = []
    for column in detector.columns_with_candidates(frame, columns):
        values = frame[column]
        scrubbed = detector.scrub_series(values, pseudonymise)
        if scrubbed is not values:
            replaced.append(scrubbed.alias(column))
    return frame.with_columns(replaced) if replaced else frame


def _scrub_text_where(frame: pl.DataFrame, rows: pl.Series, pseudonymise: Pseudonymiser,
                      cpr_index: int | None) -> pl.Series:
    """``_text`` with the lines kept whole as records (malformed lines, and quoted lines of
    files without cpr) scrubbed: a malformed line still holds its clear CPR. Only those lines
    are looked at. The field in the cpr column's place (``cpr_index``), where the line has one
    and the detector found no CPR in it, becomes the pseudonym of the string as delivered, as an
    invalid cpr of a well-formed row does: a CPR the detector does not take for one (a digit
    missing, an impossible date) is not left clear either. Where it found one (a CPR touching
    the date after it), its pseudonym is the patient's, and the rest of the field stays."""
    text = frame["_text"]
    if not rows.any():
        return text
    where = rows.arg_true()
    delivered = text.gather(where)
    scrubbed = detector.scrub_series(delivered, pseudonymise)
    if cpr_index is not None:
        scrubbed = pl.Series([_cpr_field_replaced(line, original, cpr_index, pseudonymise)
                              for line, original in zip(scrubbed.to_list(), delivered.to_list())], dtype=pl.String)
    return text.clone().scatter(where, scrubbed)


def _cpr_field_replaced(line: str, delivered: str, cpr_index: int, pseudonymise: Pseudonymiser) -> str:
    """``line`` (``delivered`` scrubbed) with the field at ``cpr_index``, where the scrub left
    it as delivered, replaced by the pseudonym of that field."""
    fields, original = line.split(";"), delivered.split(";")
    if (cpr_index >= len(original) or len(fields) != len(original) or not original[cpr_index].strip()
            or fields[cpr_index] != original[cpr_index]):
        return line
    fields[cpr_index] = pseudonymise(cpr_status(original[cpr_index])[0])
    return ";".join(fields)
