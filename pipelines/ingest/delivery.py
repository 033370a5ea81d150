"""A delivery as handed over: a folder, or a ``.zip`` of one folder, plus its manifest."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from pipelines.lib.errors import DeliveryRefused
from pipelines.lib.extract_format import FILES

MANIFEST = "manifest.json"
ZIP_MAX_TOTAL_BYTES = 20 * 1024**3
ZIP_MAX_RATIO = 200


@dataclass
class Delivery:
    source: Path
    files: dict[str, bytes]                 # file name → bytes as delivered
    manifest: dict | None = None
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def extract_id(self) -> str:
        if self.manifest and self.manifest.get("extract_id"):
            return str(self.manifest["extract_id"])
        return self.source.name.removesuffix(".zip")

    def manifest_extract_date(self) -> date | None:
        if not self.manifest or not self.manifest.get("extracted_at"):
            return None
        try:
            return date.fromisoformat(str(self.manifest["extracted_at"])[:10])
        except ValueError:
            raise DeliveryRefused(MANIFEST, f"extracted_at {self.manifest['extracted_at']!r} is not a yyyy-mm-dd date")


def open_delivery(path: Path) -> Delivery:
    """Read every file of the delivery into memory and check it against its manifest."""
    path = Path(path)
    if not path.exists():
        raise DeliveryRefused(str(path), "no such folder or .zip file")
    wanted = [f.filename for f in FILES] + [MANIFEST]
    if path.is_dir():
        files = {name: (path / name).read_bytes() for name in wanted if (path / name).is_file()}
    elif zipfile.is_zipfile(path):
        with _damaged_zip_refused(path):
            files = _read_zip(path, wanted)
    else:
        raise DeliveryRefused(path.name, "neither a folder nor a readable .zip file")

    missing = [f.filename for f in FILES if f.filename not in files]
    if missing:
        raise DeliveryRefused(missing[0], "required file is missing from the delivery"
                              + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""))
    manifest = _parse_manifest(files.pop(MANIFEST)) if MANIFEST in files else None
    delivery = Delivery(path, files, manifest, {n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    if manifest is not None:
        _check_manifest(delivery)
    return delivery


@contextmanager
def _damaged_zip_refused(path: Path):
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError) as err:
        raise DeliveryRefused(path.name, f"the zip file is damaged and cannot be read ({type(err).__name__})") from None


def _read_zip(path: Path, wanted: list[str]) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        total = 0
        for info in infos:
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename or ":" in info.filename:
                raise DeliveryRefused(path.name, f"zip entry {info.filename!r} points outside its folder")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DeliveryRefused(path.name, f"zip entry {info.filename!r} is a symbolic link")
            total += info.file_size
            if info.compress_size and info.file_size / max(info.compress_size, 1) > ZIP_MAX_RATIO and info.file_size > 10**8:
                raise DeliveryRefused(path.name, f"zip entry {info.filename!r} expands suspiciously ({info.file_size} bytes)")
        if total > ZIP_MAX_TOTAL_BYTES:
            raise DeliveryRefused(path.name, f"zip expands to {total} bytes, more than the {ZIP_MAX_TOTAL_BYTES} allowed")
        by_base: dict[str, list[zipfile.ZipInfo]] = {}
        for info in infos:
            if not info.is_dir():
                by_base.setdefault(PurePosixPath(info.filename).name, []).append(info)
        files = {}
        for name in wanted:
            found = by_base.get(name, [])
            if len(found) > 1:
                raise DeliveryRefused(path.name, f"{name} occurs {len(found)} times in the zip; a delivery is one folder")
            if found:
                files[name] = zf.read(found[0])
        return files


def _parse_manifest(raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise DeliveryRefused(MANIFEST, f"not valid JSON ({err.__class__.__name__})", line=line)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise DeliveryRefused(MANIFEST, "expected an object with a 'files' object")
    return manifest


def count_data_rows(raw: bytes) -> int:
    """Non-blank lines after the header, as the manifest counts them."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")[1:]
    return sum(1 for line in lines if line.strip())


def _check_manifest(delivery: Delivery) -> None:
    for name, expected in delivery.manifest.get("files", {}).items():
        if name not in delivery.files:
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
        if sha and sha.lower() != delivery.checksums[name]:
            raise DeliveryRefused(name, "sha256 does not match manifest.json (file changed or truncated in transfer)")
        if rows is not None:
            actual = count_data_rows(delivery.files[name])
            if int(rows) != actual:
                raise DeliveryRefused(name, f"manifest.json says {rows} rows, the file has {actual}")


def peek_manifest(path: Path) -> dict | None:
    """The manifest alone (cheap), to settle the extract date before the run starts."""
    path = Path(path)
    if path.is_dir():
        return _parse_manifest((path / MANIFEST).read_bytes()) if (path / MANIFEST).is_file() else None
    if path.is_file() and zipfile.is_zipfile(path):
        with _damaged_zip_refused(path), zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if PurePosixPath(n).name == MANIFEST]
            return _parse_manifest(zf.read(names[0])) if len(names) == 1 else None
    return None


def resolve_extract_date(path: Path, given: date | None) -> date:
    """The manifest's ``extracted_at``, else the date given on the command line."""
    manifest = peek_manifest(path)
    from_manifest = Delivery(Path(path), {}, manifest).manifest_extract_date()
    if from_manifest and given and given != from_manifest:
        raise DeliveryRefused(MANIFEST, f"extracted_at is {from_manifest.isoformat()} but --extract-date "
                              f"{given.isoformat()} was given; leave the option out or correct the manifest")
    if from_manifest:
        return from_manifest
    if given:
        return given
    raise DeliveryRefused(Path(path).name, "the delivery has no manifest.json with extracted_at; "
                          "give the extract date with --extract-date YYYY-MM-DD")
