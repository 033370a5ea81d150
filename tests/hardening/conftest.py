"""One whole CLI run on the hostile deck, shared by the personal-data, spreadsheet and path
tests (a whole run costs ~15 s; they all inspect the same published outputs).

The run is the real command in a subprocess (its own umask, stdout and stderr), with the
Dagster instance replaced by a persistent ``DagsterInstance.local_temp`` in a temporary
DAGSTER_HOME, so every event of the run can be read back and scanned afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.delivery_builder import write_delivery
from tests.hardening.hardening_deck import DELIVERY_NAME, HOSTILE, HOSTILE_REPLACE, MANIFEST

REPO = Path(__file__).resolve().parents[2]
KEY = "hardening-secret-key-Zq7!-of-32-bytes-at-least"

DRIVER = """
import sys
import dagster as dg
instance = dg.DagsterInstance.local_temp(sys.argv[1])
dg.DagsterInstance.ephemeral = staticmethod(lambda *a, **k: instance)  # run_audit's instance
from pipelines import cli
sys.exit(cli.main(sys.argv[2:]))
"""


@dataclass
class WholeRun:
    root: Path
    delivery: Path
    out: Path
    dagster_home: Path
    returncode: int
    stdout: str
    stderr: str
    key: str = KEY


def whole_run(root: Path, delivery: Path, out: Path, key: str = KEY) -> WholeRun:
    """The real command in a subprocess, its Dagster run recorded in ``root/dagster_home``."""
    home = root / "dagster_home"
    home.mkdir()
    env = dict(os.environ, MYELOMA_AUDIT_KEY=key, DAGSTER_HOME=str(home))
    env.pop("MYELOMA_AUDIT_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(home), "run", "--extract", str(delivery), "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    return WholeRun(root, delivery, out, home, proc.returncode, proc.stdout, proc.stderr, key)


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> WholeRun:
    root = tmp_path_factory.mktemp("hostile")
    delivery = write_delivery(root / DELIVERY_NAME, HOSTILE, replace=HOSTILE_REPLACE, manifest=MANIFEST)
    return whole_run(root, delivery, root / "o'brien results" / "out")   # a quote in the output path, too
