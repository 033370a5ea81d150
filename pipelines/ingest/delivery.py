"""A delivery as handed over: a folder, or a ``.zip`` of one folder, plus its manifest.

Everything read here is bounded before it is held (``pipelines.lib.limits``): file sizes,
a zip's entries and the bytes its members actually produce (decompressed in chunks, never
trusting the sizes the zip declares), and the manifest's size, nesting and number lengths.
Names that come from the delivery (the extract id, the folder or zip name) are only ever
shown scrubbed of CPR-shaped tokens and bounded; the extract id must be a short safe token.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Callable

from pipelines.lib import cpr, limits
from pipelines.lib.errors import DeliveryRefused, shown
from pipelines.lib.extract_format import FILES

MANIFEST = "manifest.json"
ZIP_MAX_TOTAL_BYTES = limits.DEFAULT_MAX_DELIVERY_BYTES  # kept for callers; the limit is limits.max_delivery_bytes()
ZIP_MAX_RATIO = limits.ZIP_MAX_RATIO
EXTRACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_UNSAFE_IN_ID = re.compile(r"[^A-Za-z0-9._-]+")
# a date typed the way the spec writes it, or an ISO date-time (real calendar values only)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Replace = Callable[[str], str] | str


def checksum_of(data: bytes) -> str:
    """A file's SHA-256 as the manifest writes it (hex)."""
    return hashlib.sha256(data).hexdigest()


class DeliveryFiles(Mapping[str, bytes]):
    """A delivery's files by name, read again from the delivery each time one is asked for
    (bounded as when it was opened) and refused unless they are the bytes checked when it was
    opened: the reading step holds one file at a time, never the whole delivery (at 1,000,000
    patients almost a gigabyte)."""

    def __init__(self, read: Callable[[str], bytes | None], checksums: dict[str, str]):
        self._read, self._checksums = read, checksums

    def __getitem__(self, name: str) -> bytes:
        if name not in self._checksums:
            raise KeyError(name)
        data = self._read(name)
        if data is None or checksum_of(data) != self._checksums[name]:
            raise DeliveryRefused(name, "the file changed while the delivery was being read; nothing was "
                                        "published: deliver it again")
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self._checksums)

    def __len__(self) -> int:
        return len(self._checksums)


@dataclass
class Delivery:
    source: Path
    files: Mapping[str, bytes]              # file name → bytes as delivered
    manifest: dict | None = None
    checksums: dict[str, str] = field(default_factory=dict)
    pseudonymise: Callable[[str], str] | None = None   # for CPR-shaped tokens in names

    @property
    def extract_id(self) -> str:
        """The manifest's ``extract_id`` (a checked short token), else one made from the folder
        or zip name; CPR-shaped tokens pseudonymised either way."""
        return delivery_id(self.manifest, self.source.name, self.pseudonymise)

    @property
    def source_name(self) -> str:
        """The folder or zip name, fit to be stored and shown."""
        return safe_name(self.source.name, self.pseudonymise)

    def manifest_extract_date(self) -> date | None:
        if not self.manifest or self.manifest.get("extracted_at") in (None, ""):
            return None
        return parse_extracted_at(self.manifest["extracted_at"])


# --- names from the delivery --------------------------------------------------------------------

def _replacement(pseudonymise: Callable[[str], str] | None) -> Replace:
    """A CPR-shaped token in a name becomes its pseudonym when the key is known (names stay
    distinct), else ``cpr``."""
    return pseudonymise if pseudonymise is not None else "cpr"


def safe_name(name: str, pseudonymise: Callable[[str], str] | None = None, limit: int = 100) -> str:
    """A delivered name (folder, zip, file) as it may be stored and shown: CPR-shaped tokens
    replaced, control characters shown as ``?``, at most ``limit`` characters."""
    text = cpr.scrub(name, _replacement(pseudonymise))
    return shown(text, limit)


def check_extract_id(value: object) -> str:
    """The manifest's ``extract_id``: a text of letters, digits, ``.``, ``_``, ``-`` (starting
    with a letter or digit), at most ``EXTRACT_ID_MAX_CHARS`` long; else refused."""
    if not isinstance(value, str):
        raise DeliveryRefused(MANIFEST, f"extract_id must be a text, not {type(value).__name__}")
    if len(value) > limits.EXTRACT_ID_MAX_CHARS:
        raise DeliveryRefused(MANIFEST, f"extract_id is {len(value):,} characters long; at most "
                                        f"{limits.EXTRACT_ID_MAX_CHARS} are allowed")
    if not EXTRACT_ID.fullmatch(value) or ".." in value:
        raise DeliveryRefused(MANIFEST, "extract_id may hold only letters A-Z, digits, '.', '_' and '-' "
                                        f"and must start with a letter or digit (got {shown(value, 80)!r})")
    return value


def delivery_id(manifest: dict | None, name: str, pseudonymise: Callable[[str], str] | None = None) -> str:
    """How a delivery is known: its manifest ``extract_id``, else its folder/zip name made
    into such a token. CPR-shaped tokens are pseudonymised (or ``cpr`` without a key)."""
    replace = _replacement(pseudonymise)
    given = (manifest or {}).get("extract_id")
    if given not in (None, ""):
        return cpr.scrub(check_extract_id(given), replace)
    stem = name[:-4] if name.lower().endswith(".zip") else name
    # scrubbed again once made a token: a character replaced by '-' may make a CPR of what was none
    token = cpr.scrub(_UNSAFE_IN_ID.sub("-", cpr.scrub(stem, replace)), replace).strip("-.")[: limits.EXTRACT_ID_MAX_CHARS]
    return token.strip("-.") or "delivery"


# --- the extract date ---------------------------------------------------------------------------

def latest_today() -> date:
    """Today wherever on earth it is latest (UTC+14): an extract date after this is in the future."""
    return (datetime.now(timezone.utc) + timedelta(hours=14)).date()


def check_extract_date(day: date, source: str) -> date:
    if day > latest_today():
        raise DeliveryRefused(source, f"the extract date {day.isoformat()} is in the future")
    return day


def parse_extracted_at(value: object) -> date:
    """``extracted_at``: a real calendar date ``yyyy-mm-dd``, or an ISO date-time whose time is
    real too (``2026-11-01T06:00:00+01:00``), not in the future; anything else is refused."""
    if not isinstance(value, str):
        raise DeliveryRefused(MANIFEST, f"extracted_at must be a text yyyy-mm-dd, not {type(value).__name__}")
    text = value.strip()
    bad = f"extracted_at {shown(text, 60)!r} is not a real date yyyy-mm-dd (or an ISO date and time)"
    if not _ISO_DATE.match(text) or len(text) > 40:
        raise DeliveryRefused(MANIFEST, bad)
    try:
        day = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise DeliveryRefused(MANIFEST, bad) from None
    return check_extract_date(day, MANIFEST)


def check_extract_date_plausible(day: date, facts: dict[str, dict], source: str) -> None:
    """Refuse an extract date before most of the delivery's dated rows: then the date is wrong,
    not the rows (``0001-01-01`` would quarantine nearly every row and publish the rest).
    ``facts``: per file, ``dated_rows`` and ``rows_after_extract_date`` (``read_raw``)."""
    dated = sum(f.get("dated_rows", 0) for f in facts.values())
    after = sum(f.get("rows_after_extract_date", 0) for f in facts.values())
    if dated and after * 2 > dated:
        raise DeliveryRefused(source, f"the extract date {day.isoformat()} is before {after:,} of the {dated:,} dated "
                                      "rows looked at: the date is wrong, not the rows; correct the extract date")


# --- reading ------------------------------------------------------------------------------------

def check_source(path: Path) -> str:
    """'folder' or 'zip', or refused with a message saying what the path is instead."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DeliveryRefused(path.name or str(path), "no such folder or .zip file") from None
    except OSError as err:
        raise DeliveryRefused(path.name or str(path), f"cannot be read ({err.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        if not os.access(path, os.R_OK | os.X_OK):
            raise DeliveryRefused(path.name, "the folder cannot be read (permission denied)")
        return "folder"
    if not stat.S_ISREG(st.st_mode):
        raise DeliveryRefused(path.name, "neither a folder nor a .zip file")
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as err:
        raise DeliveryRefused(path.name, f"cannot be read ({err.strerror})") from None
    if not is_zip:
        raise DeliveryRefused(path.name, "neither a folder nor a readable .zip file (damaged, truncated, or not a zip)")
    return "zip"


def open_delivery(path: Path, pseudonymise: Callable[[str], str] | None = None) -> Delivery:
    """Read every file of the delivery and check it against its manifest; the files are then
    read again one at a time as they are asked for (``DeliveryFiles``).
    ``pseudonymise``: what CPR-shaped tokens in the delivery's names become (else ``cpr``)."""
    path = Path(path)
    kind = check_source(path)
    wanted = [f.filename for f in FILES] + [MANIFEST]
    if kind == "folder":
        files = _read_folder(path, wanted)
    else:
        with _damaged_zip_refused(path):
            files = _read_zip(path, wanted)

    missing = [f.filename for f in FILES if f.filename not in files]
    if missing:
        raise DeliveryRefused(missing[0], "required file is missing from the delivery"
                              + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""))
    manifest = _parse_manifest(files.pop(MANIFEST)) if MANIFEST in files else None
    with _hashing(files) as checksum:
        if manifest is not None:
            _check_manifest(manifest, files, checksum)
        delivery = Delivery(path, files, manifest, {name: checksum(name) for name in files}, pseudonymise)
    delivery.files = DeliveryFiles(lambda name: _read_again(path, kind, name), delivery.checksums)
    return delivery


@contextmanager
def _hashing(files: dict[str, bytes]) -> Iterator[Callable[[str], str]]:
    """Each file's SHA-256 (``checksum_of``), computed by a second thread while this one counts
    the rows for the manifest (hashlib lets go of the interpreter while it hashes a large
    buffer; at 1,000,000 patients ≈ 0.6 s of hashing beside ≈ 1.4 s of counting). Yields the
    function that waits for one."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checksums")
    try:
        hashed = {name: pool.submit(checksum_of, data) for name, data in files.items()}
        yield lambda name: hashed[name].result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_again(path: Path, kind: str, name: str) -> bytes | None:
    if kind == "folder":
        return _read_folder(path, [name]).get(name)
    with _damaged_zip_refused(path):
        return _read_zip(path, [name]).get(name)


def _read_folder(path: Path, wanted: list[str]) -> dict[str, bytes]:
    files, total = {}, 0
    max_file, max_total = limits.max_file_bytes(), limits.max_delivery_bytes()
    for name in wanted:
        file = path / name
        try:
            if not file.is_file():
                continue
            size = file.stat().st_size
            cap = limits.MANIFEST_MAX_BYTES if name == MANIFEST else max_file
            if size > cap:
                setting = "" if name == MANIFEST else " (MYELOMA_AUDIT_MAX_FILE_BYTES)"
                raise DeliveryRefused(name, f"the file is {limits.size(size)}; at most {limits.size(cap)} are "
                                            f"allowed{setting}")
            total += size
            if total > max_total:
                raise DeliveryRefused(path.name, f"the delivery's files add up to more than {limits.size(max_total)} "
                                                 "(MYELOMA_AUDIT_MAX_DELIVERY_BYTES)")
            files[name] = file.read_bytes()
        except OSError as err:
            raise DeliveryRefused(name, f"cannot be read ({err.strerror})") from None
    return files


@contextmanager
def _damaged_zip_refused(path: Path):
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError, RuntimeError) as err:
        raise DeliveryRefused(path.name, f"the zip file is damaged and cannot be read ({type(err).__name__})") from None


def _declared_entries(path: Path) -> int | None:
    """The number of entries the zip's end record declares, read before the central directory
    (which ``zipfile`` loads whole)."""
    try:
        with open(path, "rb") as handle:
            end = zipfile._EndRecData(handle)  # noqa: SLF001 (stable for years; only a pre-check)
        return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else None  # noqa: SLF001
    except Exception:  # the real open below reports damage
        return None


def _check_entry(path: Path, info: zipfile.ZipInfo) -> None:
    name = PurePosixPath(info.filename)
    entry = shown(info.filename, 80)
    if name.is_absolute() or ".." in name.parts or "\\" in info.filename or ":" in info.filename:
        raise DeliveryRefused(path.name, f"zip entry '{entry}' points outside its folder")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DeliveryRefused(path.name, f"zip entry '{entry}' is a symbolic link")
    if info.flag_bits & 0x1:
        raise DeliveryRefused(path.name, f"zip entry '{entry}' is encrypted; a delivery's zip must not be "
                                         "password-protected (protect the transfer instead)")


def _check_entries(path: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Every entry of the zip's directory checked (names, links, encryption, declared sizes),
    nothing decompressed."""
    infos = zf.infolist()
    if len(infos) > limits.ZIP_MAX_ENTRIES:
        raise DeliveryRefused(path.name, f"the zip has {len(infos):,} entries; at most "
                                         f"{limits.ZIP_MAX_ENTRIES:,} are allowed")
    total, max_total = 0, limits.max_delivery_bytes()
    for info in infos:
        _check_entry(path, info)
        total += info.file_size
        if (info.compress_size and info.file_size / max(info.compress_size, 1) > limits.ZIP_MAX_RATIO
                and info.file_size > limits.ZIP_RATIO_FLOOR):
            raise DeliveryRefused(path.name, f"zip entry {shown(info.filename, 80)!r} expands suspiciously "
                                             f"(declares {limits.size(info.file_size)} from "
                                             f"{limits.size(info.compress_size)})")
    if total > max_total:
        raise DeliveryRefused(path.name, f"zip expands to {limits.size(total)}, more than the "
                                         f"{limits.size(max_total)} allowed (MYELOMA_AUDIT_MAX_DELIVERY_BYTES)")
    return infos


def _open_zip(path: Path) -> zipfile.ZipFile:
    declared = _declared_entries(path)
    if declared is not None and declared > limits.ZIP_MAX_ENTRIES:
        raise DeliveryRefused(path.name, f"the zip declares {declared:,} entries; at most "
                                         f"{limits.ZIP_MAX_ENTRIES:,} are allowed")
    return zipfile.ZipFile(path)


def check_container(path: Path) -> None:
    """The cheap checks of a delivery, made before a run creates anything: the path is a
    folder or a readable zip, and a zip's directory passes every check (nothing is read)."""
    if check_source(path) == "zip":
        with _damaged_zip_refused(path), _open_zip(path) as zf:
            _check_entries(path, zf)


def _read_zip(path: Path, wanted: list[str]) -> dict[str, bytes]:
    max_file, max_total = limits.max_file_bytes(), limits.max_delivery_bytes()
    with _open_zip(path) as zf:
        infos = _check_entries(path, zf)
        by_base: dict[str, list[zipfile.ZipInfo]] = {}
        for info in infos:
            if not info.is_dir():
                by_base.setdefault(PurePosixPath(info.filename).name, []).append(info)
        files, produced = {}, 0
        for name in wanted:
            found = by_base.get(name, [])
            if len(found) > 1:
                raise DeliveryRefused(path.name, f"{name} occurs {len(found)} times in the zip; a delivery is one folder")
            if found:
                cap = limits.MANIFEST_MAX_BYTES if name == MANIFEST else max_file
                files[name] = _read_member(path, zf, found[0], min(cap, max_total - produced))
                produced += len(files[name])
        return files


def _read_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, decompressed in chunks and counted as they are produced: refused as
    soon as they pass ``cap`` or the expansion ratio, whatever the zip declares."""
    entry = shown(info.filename, 80)
    if info.file_size > cap:
        raise DeliveryRefused(path.name, f"zip entry '{entry}' declares {limits.size(info.file_size)}; at most "
                                         f"{limits.size(cap)} are allowed")
    chunks, produced = [], 0
    with zf.open(info) as member:
        while chunk := member.read(limits.ZIP_CHUNK_BYTES):
            produced += len(chunk)
            if produced > cap:
                raise DeliveryRefused(path.name, f"zip entry '{entry}' expands beyond {limits.size(cap)}")
            if produced > limits.ZIP_RATIO_FLOOR and produced > limits.ZIP_MAX_RATIO * max(info.compress_size, 1):
                raise DeliveryRefused(path.name, f"zip entry '{entry}' expands suspiciously (more than "
                                                 f"{limits.ZIP_MAX_RATIO} times its compressed size)")
            chunks.append(chunk)
    return b"".join(chunks)


# --- manifest.json ------------------------------------------------------------------------------

class _Refused(Exception):
    pass


def _manifest_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, strings left out (checked before parsing)."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _number(text: str, kind: type):
    digits = sum(c.isdigit() for c in text)
    if digits > limits.MANIFEST_MAX_DIGITS:
        raise _Refused(f"a number has {digits:,} digits; at most {limits.MANIFEST_MAX_DIGITS} are allowed")
    return kind(text)


def _constant(text: str):
    raise _Refused(f"{text} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key {shown(key, 60)!r} appears twice in one object")
        seen[key] = value
    return seen


def _parse_manifest(raw: bytes) -> dict:
    if len(raw) > limits.MANIFEST_MAX_BYTES:
        raise DeliveryRefused(MANIFEST, f"the manifest is {limits.size(len(raw))}; at most "
                                        f"{limits.size(limits.MANIFEST_MAX_BYTES)} are allowed")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DeliveryRefused(MANIFEST, "not valid JSON (not UTF-8)") from None
    if (depth := _manifest_depth(text)) > limits.MANIFEST_MAX_DEPTH:
        raise DeliveryRefused(MANIFEST, f"nested {depth:,} levels deep; at most {limits.MANIFEST_MAX_DEPTH} are allowed")
    try:
        manifest = json.loads(text, parse_int=lambda t: _number(t, int), parse_float=lambda t: _number(t, float),
                              parse_constant=_constant, object_pairs_hook=_unique_keys)
    except _Refused as err:
        raise DeliveryRefused(MANIFEST, str(err)) from None
    except json.JSONDecodeError as err:
        raise DeliveryRefused(MANIFEST, f"not valid JSON ({err.msg})", line=err.lineno) from None
    except (ValueError, RecursionError) as err:
        raise DeliveryRefused(MANIFEST, f"not valid JSON ({type(err).__name__})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise DeliveryRefused(MANIFEST, "expected an object with a 'files' object")
    if manifest.get("extract_id") not in (None, ""):
        check_extract_id(manifest["extract_id"])
    if manifest.get("extracted_at") not in (None, ""):
        parse_extracted_at(manifest["extracted_at"])
    if "version" in manifest:
        version = manifest["version"]
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= limits.MANIFEST_MAX_VERSION:
            raise DeliveryRefused(MANIFEST, f"version must be a whole number from 1 to {limits.MANIFEST_MAX_VERSION:,}")
    return manifest


_BLANK_INSIDE = re.compile(rb"\n[ \t\r\x0b\x0c]*\n")  # a line of ASCII white space between two others


def count_data_rows(raw: bytes) -> int:
    """Non-blank lines after the header, as the manifest counts them (blank: only ASCII white
    space). A file without blank lines, the usual delivery, is counted without splitting it."""
    start = raw.find(b"\n") + 1  # the first data line (positions, not copies: a file may be 200 MB)
    if not start:
        return 0
    first_end = raw.find(b"\n", start)
    if first_end > start and raw[start:first_end].strip() and _BLANK_INSIDE.search(raw, start) is None:
        last = raw[raw.rfind(b"\n") + 1:]
        return raw.count(b"\n", start) + (1 if last.strip() else 0)
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")[1:]
    return sum(1 for line in lines if line.strip())


def _check_manifest(manifest: dict, files: Mapping[str, bytes], checksum: Callable[[str], str]) -> None:
    for name, expected in manifest.get("files", {}).items():
        if name not in files:
            if name.endswith(".csv") and name in {f.filename for f in FILES}:
                raise DeliveryRefused(name, "listed in manifest.json but missing")
            continue
        if not isinstance(expected, dict):
            raise DeliveryRefused(MANIFEST, f"entry for {name} is not an object")
        sha, rows = expected.get("sha256"), expected.get("rows")
        if sha is not None and not isinstance(sha, str):
            raise DeliveryRefused(MANIFEST, f"sha256 of {name} is not a text")
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int)):
            raise DeliveryRefused(MANIFEST, f"rows of {name} is not a whole number")
        actual = count_data_rows(files[name]) if rows is not None else None  # while the file is hashed
        if sha and sha.lower() != checksum(name):
            raise DeliveryRefused(name, "sha256 does not match manifest.json (file changed or truncated in transfer)")
        if rows is not None and int(rows) != actual:
            raise DeliveryRefused(name, f"manifest.json says {rows:,} rows, the file has {actual:,}")


def manifest_bytes(path: Path) -> bytes | None:
    """The manifest's bytes alone (bounded), or None when the delivery has none."""
    path = Path(path)
    if check_source(path) == "folder":
        return _read_folder(path, [MANIFEST]).get(MANIFEST)
    with _damaged_zip_refused(path), _open_zip(path) as zf:
        infos = [i for i in zf.infolist() if PurePosixPath(i.filename).name == MANIFEST and not i.is_dir()]
        if len(infos) != 1:
            return None
        _check_entry(path, infos[0])
        return _read_member(path, zf, infos[0], limits.MANIFEST_MAX_BYTES)


def peek_manifest(path: Path) -> dict | None:
    """The manifest alone (cheap), to settle the extract date before the run starts."""
    raw = manifest_bytes(path)
    return _parse_manifest(raw) if raw is not None else None


def resolve_extract_date(path: Path, given: date | None) -> date:
    """The manifest's ``extracted_at``, else the date given on the command line. A path that
    does not exist has no manifest: with a given date that is the date (the delivery itself is
    refused where it is opened), without one the refusal says the path does not exist."""
    if given is not None and not os.path.lexists(path):
        return check_extract_date(given, "--extract-date")
    manifest = peek_manifest(path)
    from_manifest = Delivery(Path(path), {}, manifest).manifest_extract_date()
    if given:
        check_extract_date(given, "--extract-date")
    if from_manifest and given and given != from_manifest:
        raise DeliveryRefused(MANIFEST, f"extracted_at is {from_manifest.isoformat()} but --extract-date "
                              f"{given.isoformat()} was given; leave the option out or correct the manifest")
    if from_manifest:
        return from_manifest
    if given:
        return given
    raise DeliveryRefused(Path(path).name, "the delivery has no manifest.json with extracted_at; "
                          "give the extract date with --extract-date YYYY-MM-DD")
