"""Atomic publishing: a run writes into a fresh folder and swaps it into place only when
everything succeeded. A failed, refused, stopped or killed run leaves the previous outputs
byte-identical; a lock keeps two runs from publishing to one folder at once.

Nothing is deleted that a run did not write:

- every published folder holds the list of the files it was published with
  (``.myeloma-audit-files.json``: path and size of every file and folder); the previous
  results are replaced only when the folder holds exactly that (anything added, removed,
  changed in size, or a link, refuses the run and names it);
- ``--out`` and the delivery must not lie inside each other, ``--out`` must be a folder name
  (not ``/``), without a backslash, question mark (DuckDB misreads both) or control character;
- everything a run keeps beside the output lives in one folder it owns,
  ``.<out>.myeloma-audit/`` (mode 0700, checked to be a real folder of this user): the lock
  (opened with ``O_NOFOLLOW``), the run's fresh folder and leftovers of killed runs. The
  checks of the paths are made before anything is created; a run refused later (by the
  content of the delivery) leaves only that folder, with its lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import csv
import fcntl
import json
import os
import shutil
import stat
import uuid
from contextlib import contextmanager
from pathlib import Path

from pipelines.lib import signals
from pipelines.lib.errors import AuditError, QualityBlocked, RunLocked, shown


class OutputRefused(AuditError):
    """The output folder cannot safely be replaced by a run's results."""


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
WORK_SUFFIX = ".myeloma-audit"
LOCK = "lock"
FILE_LIST = ".myeloma-audit-files.json"
RUN_RECORD = "run.json"
_MAX_LISTED = 3


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    libc = _libc()
    if libc is None or not hasattr(libc, "renameat2"):
        return False
    rc = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


# --- paths --------------------------------------------------------------------------------------

def work_dir(out_dir: Path) -> Path:
    """The folder a run owns beside its output: lock, fresh folder, leftovers."""
    out_dir = Path(out_dir).absolute()
    return out_dir.parent / f".{out_dir.name}{WORK_SUFFIX}"


def _is_own_folder(st: os.stat_result) -> bool:
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _check_work_dir(work: Path) -> None:
    try:
        st = os.lstat(work)
    except FileNotFoundError:
        return
    if not _is_own_folder(st):
        raise OutputRefused(f"{shown(work, 300)} is not a folder of this run's own (a link, a file, another user's "
                            "or writable by others); remove it or choose another output folder")


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def check_output_path(out_dir: Path, extract: Path | None = None) -> None:
    """Refuse, before anything is created, an output folder a run must not use: the root, a
    path with a backslash or control character, one inside the delivery or holding it, a link
    or file, a folder that cannot be written, or a folder that is not an earlier result."""
    out_dir = Path(out_dir).absolute()
    text = str(out_dir)
    for char, why in (("\\", "DuckDB reads it as a folder separator"),
                      ("?", "DuckDB reads what follows as options of the database file")):
        if char in text:
            raise OutputRefused(f"the output folder {shown(text, 300)} holds a {'backslash' if char != '?' else 'question mark'}; "
                                f"{why}, so choose a name without one")
    if not text.isprintable():
        raise OutputRefused(f"the output folder {shown(text, 300)} holds a line break or another control "
                            "character; choose a plain name")
    if out_dir.name in ("", ".", "..") or out_dir == out_dir.parent:
        raise OutputRefused(f"{text} cannot be the output folder: it is replaced as a whole; choose a new folder")
    resolved = out_dir.resolve()
    if extract is not None:
        source = Path(extract).absolute().resolve()
        if source == resolved or source.is_relative_to(resolved):
            raise OutputRefused(f"the delivery {shown(extract, 300)} lies inside the output folder {shown(text, 300)}, "
                                "which a run replaces as a whole: move the delivery out or choose another --out")
        if resolved.is_relative_to(source):
            raise OutputRefused(f"the output folder {shown(text, 300)} lies inside the delivery "
                                f"{shown(extract, 300)}; choose an output folder outside it")
    existing = _nearest_existing(out_dir.parent)
    if not existing.is_dir():
        raise OutputRefused(f"cannot create the output folder {shown(text, 300)}: {shown(existing, 300)} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputRefused(f"cannot create the output folder {shown(text, 300)}: {shown(existing, 300)} is not "
                            "writable (permission denied or a read-only file system)")
    _check_work_dir(work_dir(out_dir))
    check_replaceable(out_dir)


def _own_work_dir(out_dir: Path) -> Path:
    """Create (0700) or check the run's own folder beside ``out_dir``; never follows a link."""
    work = work_dir(out_dir)
    work.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(work, 0o700)
    except FileExistsError:
        pass
    _check_work_dir(work)
    return work


# --- the list of published files ----------------------------------------------------------------

def file_list(folder: Path) -> dict[str, int]:
    """Every file (its size) and folder (-1) under ``folder``, by relative path; a link is -2
    (never published, so it never matches)."""
    entries: dict[str, int] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if rel == FILE_LIST:
                continue
            st = os.lstat(path)
            entries[rel] = -2 if stat.S_ISLNK(st.st_mode) else -1 if stat.S_ISDIR(st.st_mode) else st.st_size
    return entries


def write_file_list(folder: Path) -> None:
    (Path(folder) / FILE_LIST).write_text(json.dumps({"version": 1, "entries": file_list(folder)}, indent=0,
                                                     sort_keys=True), encoding="utf-8")


def _differences(out_dir: Path) -> list[str] | None:
    """None when ``out_dir`` holds exactly what was published into it, else what differs."""
    try:
        listed = json.loads((out_dir / FILE_LIST).read_text(encoding="utf-8"))["entries"]
        if not isinstance(listed, dict):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{FILE_LIST} is missing or unreadable"]
    found = file_list(out_dir)
    added = sorted(set(found) - set(listed))
    gone = sorted(set(listed) - set(found))
    changed = sorted(p for p in set(found) & set(listed) if found[p] != listed[p])
    differences = [f"{p} (added)" for p in added] + [f"{p} (removed)" for p in gone] + [f"{p} (changed)" for p in changed]
    return differences or None


def check_replaceable(out_dir: Path) -> None:
    """Publishing swaps the whole output folder and deletes the old one: refuse unless it is
    new, empty, or holds exactly what an earlier run published there."""
    out_dir = Path(out_dir)
    if not os.path.lexists(out_dir):
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise OutputRefused(f"{shown(out_dir, 300)} is not a folder; choose a new or empty folder for the results")
    try:
        empty = not any(out_dir.iterdir())
    except OSError as err:
        raise OutputRefused(f"{shown(out_dir, 300)} cannot be read ({err.strerror})") from None
    if empty:
        return
    if not (out_dir / FILE_LIST).is_file():
        raise OutputRefused(f"{shown(out_dir, 300)} is not empty and holds no results of an earlier run (no {FILE_LIST}); "
                            "it would be replaced as a whole, so choose a new or empty folder for the results")
    differences = _differences(out_dir)
    if differences:
        listed = ", ".join(shown(d, 120) for d in differences[:_MAX_LISTED])
        more = f" and {len(differences) - _MAX_LISTED} more" if len(differences) > _MAX_LISTED else ""
        raise OutputRefused(f"{shown(out_dir, 300)} holds results of an earlier run, but not only what that run published "
                            f"({listed}{more}); a run replaces the folder as a whole, so move those files out "
                            "or choose another output folder")


@contextmanager
def lock_file(path: Path):
    """A lock file's descriptor, created 0600 and never through a link (``O_NOFOLLOW``)."""
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise OutputRefused(f"cannot open the lock {shown(path, 300)} ({err.strerror}); a link or another "
                            "user's file is in the way: remove it") from None
    try:
        yield handle
    finally:
        os.close(handle)


# --- a run's folders ----------------------------------------------------------------------------

def incoming_dir(out_dir: Path) -> Path:
    """The run's fresh folder (0700: it becomes the output folder, owner only, whatever the
    caller's umask), inside the run's own folder."""
    path = _own_work_dir(out_dir) / f"incoming-{uuid.uuid4().hex[:12]}"
    path.mkdir(mode=0o700)
    return path


def remove_leftovers(out_dir: Path) -> None:
    """Folders of runs that were killed before publishing (only inside the run's own folder,
    so never another output's); a swap killed half-way is put back."""
    out_dir = Path(out_dir).absolute()
    work = work_dir(out_dir)
    if not work.is_dir() or work.is_symlink():
        return
    for stale in work.glob("incoming-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in work.glob("previous-*"):
        if os.path.lexists(out_dir):
            shutil.rmtree(old, ignore_errors=True)
        else:  # killed between the two renames of the fallback: put the old results back
            old.rename(out_dir)


def publish(new: Path, out_dir: Path, *, results: bool = True) -> None:
    """Swap ``new`` (a folder in the run's own folder) into place as ``out_dir`` with the list
    of its files. A stop signal waits for the swap to finish (``results``: the run's results,
    so a stop after the swap says so)."""
    new, out_dir = Path(new), Path(out_dir)
    write_file_list(new)
    with signals.critical():
        if not os.path.lexists(out_dir):
            new.rename(out_dir)
        elif _exchange(new, out_dir):
            pass  # ``new`` now holds the previous results
        else:
            previous = new.parent / f"previous-{uuid.uuid4().hex[:12]}"
            out_dir.rename(previous)
            new.rename(out_dir)
            new = previous
        if results:
            signals.mark_published()
    if new.exists():
        shutil.rmtree(new)


@contextmanager
def publish_lock(out_dir: Path, extract: Path | None = None):
    """Hold the output folder's lock (refusing a second run at once), clean up after killed
    runs, and check the output folder may be replaced."""
    out_dir = Path(out_dir).absolute()
    check_output_path(out_dir, extract)
    work = _own_work_dir(out_dir)
    try:
        folder = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            handle = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
        finally:
            os.close(folder)
    except OSError as err:
        raise OutputRefused(f"cannot open the lock {shown(work / LOCK, 300)} ({err.strerror}); a link or another "
                            "user's file is in the way: remove it") from None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise OutputRefused(f"the lock {shown(work / LOCK, 300)} is not a plain file; remove it")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another myeloma-audit run is publishing to {shown(out_dir, 300)}; "
                            "wait for it to finish and start this one again") from None
        try:
            remove_leftovers(out_dir)
            check_replaceable(out_dir)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def blocking_tables(failing_rows: Path) -> list[str]:
    """The tables with a failing row of an ``error`` expectation, from the quality report's
    ``failing_rows/<table>.csv`` (every table has one; most hold only warnings or nothing)."""
    failed = []
    for path in sorted(failing_rows.glob("*.csv")) if failing_rows.is_dir() else []:
        with path.open(newline="", encoding="utf-8") as f:
            if any(row.get("severity") == "error" for row in csv.DictReader(f)):
                failed.append(path.stem)
    return failed


def keep_quality_report(run_folder: Path, out_dir: Path) -> QualityBlocked:
    """A run stopped by blocking data-quality checks keeps its quality report (not its results)
    where the user can read it: ``<out>.blocked-quality`` (replaced only when it holds an
    earlier blocked report and nothing else; otherwise inside the run's own folder). Returns
    the error that says so."""
    report = Path(out_dir).parent / f"{Path(out_dir).name}.blocked-quality"
    failed = []
    if (Path(run_folder) / "quality").is_dir():
        new = incoming_dir(out_dir)
        shutil.copytree(Path(run_folder) / "quality", new, dirs_exist_ok=True)
        new.chmod(0o700)  # failing rows are personal data, whatever the caller's umask
        try:
            check_replaceable(report)
        except OutputRefused:
            report = work_dir(out_dir) / "blocked-quality"
            shutil.rmtree(report, ignore_errors=True)
        publish(new, report, results=False)
        failed = blocking_tables(report / "failing_rows")
    return QualityBlocked(
        "blocking data-quality checks failed" + (f" on {', '.join(failed)}" if failed else "")
        + f"; nothing was published. See {shown(report / 'index.html', 300)}"
    )
