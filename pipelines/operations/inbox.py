"""Finding complete, new deliveries in an inbox folder.

A delivery is a folder or a ``.zip`` dropped into the inbox. It is *complete* when

- it has a ``manifest.json`` and every file it lists is there with the listed row count and
  sha256 (checked by the same code the run uses, ``ingest.delivery.open_delivery``), or
- it has no manifest, holds every file of the extract format, and nothing about it (names,
  sizes, modification times) changed for ``settle_seconds`` of observation.

Anything else is *waiting* (still being copied) and reported with its reason. A delivery
that stays incomplete and unchanged for ``give_up_seconds`` is handed over anyway, so the
run refuses it with a clear message once and it is never left waiting silently.

The observations live in a small JSON-able ``state`` (the sensor's cursor, or a file beside
the results for the ``inbox`` command), so a restart continues where it left off.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.ingest.delivery import (delivery_id, latest_today, manifest_bytes, open_delivery, parse_extracted_at,
                                       peek_manifest, safe_name)
from pipelines.lib.errors import DeliveryRefused, shown
from pipelines.lib.pseudonym import Pseudonymiser, key_from_env
from pipelines.operations.settings import DEFAULT_GIVE_UP_SECONDS, DEFAULT_SETTLE_SECONDS

MANIFEST = "manifest.json"
# names copy tools give files and folders that are not finished yet
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".download", ".copying")
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")

READY, WAITING = "ready", "waiting"


def _names_pseudonymiser():
    """CPR-shaped tokens in delivery names become their pseudonyms under the installation's key
    (so names stay distinct), or ``cpr`` without one: a name may be shown, stored in
    history.json, in the sensor's cursor and in run configuration, never in clear."""
    key = key_from_env(required=False)
    return Pseudonymiser(key) if key else None


def shown_name(path: Path, pseudonymise=None) -> str:
    """A delivery's folder or zip name as it may be shown and stored (``safe_name``)."""
    return safe_name(Path(path).name, pseudonymise if pseudonymise is not None else _names_pseudonymiser())


def reference(path: Path) -> str:
    """How a delivery is named in run configuration: its folder and its shown name."""
    path = Path(path)
    return str(path.parent / shown_name(path))


def resolve(ref: str | Path) -> Path:
    """The delivery a ``reference`` names: the path itself when it exists, else the one
    candidate of its folder whose shown name it is."""
    ref = Path(ref)
    if ref.exists():
        return ref
    pseudonymise = _names_pseudonymiser()
    found = [p for p in candidates(ref.parent) if shown_name(p, pseudonymise) == ref.name]
    return found[0] if len(found) == 1 else ref


@dataclass
class InboxEntry:
    """One thing in the inbox and what the scan made of it."""

    path: Path
    state: str                       # READY or WAITING
    reason: str = ""                 # why it is waiting (or how it was handed over)
    delivery_id: str = ""            # manifest extract_id, else the folder/zip name
    extract_date: date | None = None  # manifest extracted_at, else a yyyy-mm-dd in the name
    version: int = 1                 # manifest "version" (optional), for corrected re-deliveries
    key: str = ""                    # identity of this exact delivery: "<id>@<digest>"
    complete: bool = False           # False when handed over after give_up_seconds
    shown: str = ""                  # the name as it may be shown and stored

    @property
    def name(self) -> str:
        """The folder or zip name as it may be shown and stored (CPR-shaped tokens replaced)."""
        return self.shown or shown_name(self.path)

    @property
    def reference(self) -> str:
        """The delivery as named in run configuration and history.json (``resolve`` finds it)."""
        return str(self.path.parent / self.name)

    @property
    def period(self) -> str:
        return period_of(self.extract_date) if self.extract_date else ""


def period_of(day: date) -> str:
    """The audit period a delivery belongs to: the month of its extract date."""
    return f"{day.year:04d}-{day.month:02d}"


def date_in_name(name: str) -> date | None:
    for match in _DATE_IN_NAME.finditer(name):
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        if day <= latest_today():
            return day
    return None


def candidates(inbox: Path) -> list[Path]:
    """Folders and ``.zip`` files in the inbox, except hidden and half-named ones."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        return []
    found = []
    for path in sorted(inbox.iterdir()):
        name = path.name
        if name.startswith((".", "~")) or name.lower().endswith(PARTIAL_SUFFIXES):
            continue
        if path.is_dir() or (path.is_file() and name.lower().endswith(".zip")):
            found.append(path)
    return found


def signature(path: Path) -> str:
    """Cheap fingerprint of what is on disk now: every file's name, size and mtime."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        try:
            st = file.stat()
        except FileNotFoundError:  # removed while we looked: it is still changing
            h.update(f"{file}:gone".encode())
            continue
        h.update(f"{file.relative_to(path) if file != path else file.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _describe(path: Path, manifest: dict | None, pseudonymise=None) -> tuple[str, date | None, int]:
    """(id, extract date, version) as the run will see them: the manifest's checked
    ``extract_id`` (else the name made a token), CPR-shaped tokens pseudonymised; a manifest
    value the run would refuse counts as absent here (the run refuses it with its reason)."""
    pseudonymise = pseudonymise if pseudonymise is not None else _names_pseudonymiser()
    try:
        delivery = delivery_id(manifest, path.name, pseudonymise)
    except DeliveryRefused:
        delivery = delivery_id(None, path.name, pseudonymise)
    day = None
    if manifest and manifest.get("extracted_at"):
        try:
            day = parse_extracted_at(manifest["extracted_at"])
        except DeliveryRefused:
            day = None
    if day is None and not manifest:
        day = date_in_name(path.name)
    version = (manifest or {}).get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        version = 1
    return delivery, day, version


def check(path: Path) -> tuple[bool, str, dict | None, bytes | None]:
    """(complete?, reason when not, manifest, manifest bytes) — reads the whole delivery."""
    try:
        delivery = open_delivery(path)
    except DeliveryRefused as err:
        return False, str(err).removeprefix("delivery refused: "), _safe_manifest(path, peek_manifest), None
    except Exception as err:  # a zip still being written, a file vanishing mid-read, …
        return False, f"not readable yet ({type(err).__name__}: {shown(err, 300)})", None, None
    raw = _manifest_bytes(path) if delivery.manifest is not None else None
    return True, "", delivery.manifest, raw


def _safe_manifest(path: Path, peek) -> dict | None:
    try:
        return peek(path)
    except Exception:
        return None


def _manifest_bytes(path: Path) -> bytes | None:
    return manifest_bytes(path)


@dataclass
class ScanResult:
    entries: list[InboxEntry] = field(default_factory=list)
    state: dict = field(default_factory=dict)

    @property
    def ready(self) -> list[InboxEntry]:
        return [e for e in self.entries if e.state == READY]

    @property
    def waiting(self) -> list[InboxEntry]:
        return [e for e in self.entries if e.state == WAITING]


def scan(inbox: Path, state: dict | None, now: float, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
         give_up_seconds: float = DEFAULT_GIVE_UP_SECONDS) -> ScanResult:
    """Look at every candidate once. ``state`` maps names to what was seen before:
    ``{"sig": signature, "since": first time seen unchanged, "checked": signature last read,
    "ok": bool, "reason": str, "key": str, ...}``; the returned state replaces it.
    A delivery's files are only read again when its signature changed."""
    old = dict(state or {})
    new: dict[str, dict] = {}
    result = ScanResult(state=new)
    pseudonymise = _names_pseudonymiser()
    for path in candidates(inbox):
        name = shown_name(path, pseudonymise)  # the state is stored (sensor cursor): never a clear CPR
        sig = signature(path)
        seen = dict(old.get(name) or {})
        if seen.get("sig") != sig:
            seen = {"sig": sig, "since": now}
        if seen.get("checked") != sig:
            ok, reason, manifest, raw = check(path)
            delivery_id, day, version = _describe(path, manifest, pseudonymise)
            digest = hashlib.sha256(raw).hexdigest() if (ok and raw is not None) else sig
            seen.update(checked=sig, ok=ok, reason=reason, has_manifest=manifest is not None, id=delivery_id,
                        date=day.isoformat() if day else "", version=version, key=f"{delivery_id}@{digest[:16]}")
        new[name] = seen
        entry = InboxEntry(path=path, state=WAITING, delivery_id=seen["id"],
                           extract_date=date.fromisoformat(seen["date"]) if seen["date"] else None,
                           version=seen["version"], key=seen["key"], shown=name)
        unchanged_for = now - seen["since"]
        if seen["ok"] and seen["has_manifest"]:
            entry.state, entry.complete = READY, True
        elif seen["ok"]:
            if unchanged_for >= settle_seconds:
                entry.state, entry.complete = READY, True
            else:
                entry.reason = (f"no manifest.json: waiting until nothing has changed for {settle_seconds:g} s "
                                f"(unchanged for {max(unchanged_for, 0):.0f} s so far)")
        elif unchanged_for >= give_up_seconds:
            entry.state = READY
            entry.reason = (f"incomplete and unchanged for {unchanged_for / 3600:.1f} h ({seen['reason']}); "
                            "handed over once so the run refuses it with this reason")
        else:
            entry.reason = f"incomplete: {seen['reason']}"
        result.entries.append(entry)
    return result


def describe(path: Path, now: float, settle_seconds: float = DEFAULT_SETTLE_SECONDS) -> InboxEntry:
    """One delivery looked at once, without earlier observations: a delivery without a
    manifest counts as settled when its newest file is ``settle_seconds`` old."""
    path = Path(path)
    pseudonymise = _names_pseudonymiser()
    ok, reason, manifest, raw = check(path)
    delivery_id, day, version = _describe(path, manifest, pseudonymise)
    sig = signature(path)
    digest = hashlib.sha256(raw).hexdigest() if (ok and raw is not None) else sig
    entry = InboxEntry(path=path, state=WAITING, delivery_id=delivery_id, extract_date=day, version=version,
                       key=f"{delivery_id}@{digest[:16]}", shown=shown_name(path, pseudonymise))
    if ok and manifest is not None:
        entry.state, entry.complete = READY, True
    elif ok:
        age = now - newest_mtime(path)
        if age >= settle_seconds:
            entry.state, entry.complete = READY, True
        else:
            entry.reason = f"no manifest.json and changed {age:.0f} s ago (settle time {settle_seconds:g} s)"
    else:
        entry.reason = f"incomplete: {reason}"
    return entry


def newest_mtime(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] or [path]
    return max(p.stat().st_mtime for p in files)


def peek_period(path: Path) -> str:
    """The period from the manifest or the name alone (cheap; '' when unknown)."""
    try:
        manifest = peek_manifest(path)
    except Exception:
        manifest = None
    _, day, _ = _describe(path, manifest)
    return period_of(day) if day else ""
