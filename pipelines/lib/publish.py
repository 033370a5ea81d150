"""Atomic publishing: a run writes into a fresh folder beside the output folder and swaps
it into place only when everything succeeded. A failed or killed run leaves the previous
outputs byte-identical; a lock keeps two runs from publishing to one folder at once."""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import glob
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from pipelines.lib.errors import AuditError, RunLocked


class OutputRefused(AuditError):
    """The output folder cannot safely be replaced by a run's results."""


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


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


def incoming_dir(out_dir: Path) -> Path:
    path = out_dir.parent / f".{out_dir.name}.incoming-{uuid.uuid4().hex[:12]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700)  # becomes the output folder: owner only, whatever the caller's umask
    return path


def remove_leftovers(out_dir: Path) -> None:
    """Folders of runs that were killed before publishing; never the published one (nor
    another output folder's: the name is escaped, ``out[1]`` must not match ``.out1.*``)."""
    name = glob.escape(out_dir.name)
    for stale in out_dir.parent.glob(f".{name}.incoming-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in out_dir.parent.glob(f".{name}.previous-*"):
        if out_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:  # killed between the two renames of the fallback: put the old results back
            old.rename(out_dir)


def publish(new: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        new.rename(out_dir)
        return
    if _exchange(new, out_dir):
        shutil.rmtree(new)  # now holds the previous results
        return
    previous = out_dir.parent / f".{out_dir.name}.previous-{uuid.uuid4().hex[:12]}"
    out_dir.rename(previous)
    new.rename(out_dir)
    shutil.rmtree(previous)


# A folder holding this file was published by an earlier run and may be replaced as a whole.
RUN_RECORD = "run.json"


def check_replaceable(out_dir: Path) -> None:
    """Publishing swaps the whole output folder and deletes the old one: refuse a folder that
    is not empty and was not published by an earlier run (``--out .``, ``--out ~``, the
    delivery folder itself, or a folder above it would otherwise be deleted)."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise OutputRefused(f"{out_dir} is not a folder; choose a new or empty folder for the results")
    if any(out_dir.iterdir()) and not (out_dir / RUN_RECORD).is_file():
        raise OutputRefused(f"{out_dir} is not empty and holds no results of an earlier run ({RUN_RECORD}); "
                            "it would be replaced as a whole, so choose a new or empty folder for the results")


@contextmanager
def publish_lock(out_dir: Path):
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another myeloma-audit run is publishing to {out_dir}; "
                            "wait for it to finish and start this one again") from None
        try:
            remove_leftovers(out_dir)
            check_replaceable(out_dir)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
