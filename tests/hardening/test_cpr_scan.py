"""The CPR scan of issue 13 (finding 1: clear CPRs from the default synthetic delivery, no
attacker needed): ``synth`` deliveries of several seeds, with their deliberately dirty rows,
each run once through the real command (a subprocess, its Dagster run recorded), then every
place the run wrote or printed is searched for every CPR number of the delivery:

every output file (HTML, CSV, JSON; XLSX and other zips unpacked), every Parquet column, every
column of every DuckDB table, the run's own folder beside the output, stdout and stderr, every
Dagster event and the Dagster home.

The needles are every CPR-shaped token of the delivery (the one detector over every byte of
every file: the cpr columns, and CPR numbers the dirty rows shifted, glued or malformed); the
search looks for them in any written form (plain, hyphenated or otherwise separated, in any
script's digits, inside longer runs), without the date test, so nothing is missed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.lib import cpr
from tests.hardening.conftest import REPO, WholeRun, whole_run
from tests.hardening.hardening_deck import run_haystacks

SEEDS = [3, 11]
PATIENTS = 300


def delivery_cprs(folder: Path) -> set[str]:
    found = set()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        found |= {f.digits for f in cpr.find(text)}
    return found


def clear_cprs(haystacks: dict[str, str], needles: set[str]) -> list[tuple[str, str]]:
    return sorted({(where, f.digits) for where, text in haystacks.items()
                   for f in cpr.find(text, dated=False) if f.digits in needles})


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def seeded_run(request, tmp_path_factory) -> tuple[WholeRun, set[str]]:
    root = tmp_path_factory.mktemp(f"synth{request.param}")
    delivery = root / "delivery"
    subprocess.run([sys.executable, "-m", "pipelines.cli", "synth", "--patients", str(PATIENTS), "--seed",
                    str(request.param), "--out", str(delivery)], check=True, cwd=REPO, capture_output=True)
    run = whole_run(root, delivery, root / "results" / "out")
    return run, delivery_cprs(delivery)


def test_synthetic_delivery_with_dirty_rows_leaves_no_clear_cpr_anywhere(seeded_run):
    run, needles = seeded_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(needles) >= PATIENTS  # the scan searches for every patient's number, and the dirty ones
    haystacks = run_haystacks(run)
    assert any(k.startswith("parquet:") for k in haystacks) and any(k.startswith("duckdb:") for k in haystacks)
    assert any(k.startswith("dagster events") for k in haystacks)
    assert any("afvigelser.xlsx" in k for k in haystacks)
    assert clear_cprs(haystacks, needles) == []


def test_the_scan_finds_what_it_looks_for(seeded_run, tmp_path):
    """The oracle itself: a clear CPR of the delivery planted in an output, in any written
    form, is found."""
    run, needles = seeded_run
    number = sorted(needles)[0]
    for written in (number, f"{number[:6]}-{number[6:]}", f"x{number}y",
                    "".join(chr(0xFF10 + int(d)) for d in number), f"{number[:6]} \u2013 {number[6:]}"):
        assert clear_cprs({"planted": f"a {written} b"}, needles) == [("planted", number)]
