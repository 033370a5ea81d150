"""File-system safety (issue 8): department codes and names, the extract id and the delivery's
name never steer a path outside the output folder; the output folder itself is never a folder
the run must not delete."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.reports.files import WINDOWS_RESERVED, child_dir, safe_names
from tests.hardening.hardening_deck import DELIVERY_NAME, HOSTILE_CODES

SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


@pytest.fixture(scope="module")
def run(hostile_run):
    assert hostile_run.returncode == 0, hostile_run.stderr[-3000:]
    return hostile_run


def test_run_writes_only_inside_its_output_folder(run):
    beside = sorted(p.name for p in run.out.parent.iterdir())
    assert beside == [".out.myeloma-audit", "out"]   # the run's own folder: only its lock is left
    assert [p.name for p in (run.out.parent / ".out.myeloma-audit").iterdir()] == ["lock"]
    top = sorted(p.name for p in run.root.iterdir())
    assert top == [DELIVERY_NAME, "dagster_home", "o'brien results"]
    for path in run.out.rglob("*"):
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(run.out.resolve()), path


def test_every_hostile_department_gets_one_safe_folder_of_its_own(run):
    folders = sorted(p.name for p in (run.out / "departments").iterdir())
    assert all(SAFE.fullmatch(name) for name in folders), folders
    assert len({f.lower() for f in folders}) == len(folders)
    expected = safe_names(HOSTILE_CODES + ["4202010"])
    assert sorted(expected.values()) == folders
    for folder in folders:
        assert {"afvigelser.csv", "afvigelser.xlsx", "afvigelser.html", "dashboard.html"} <= {
            p.name for p in (run.out / "departments" / folder).iterdir()}


def test_extract_id_and_delivery_name_are_only_text_with_their_cpr_pseudonymised(run):
    """Issue 13, 3: a CPR in the manifest's extract_id and in the delivery folder's name is
    stored as its pseudonym (run.json, DuckDB) — the extract id must be a short safe token,
    so a path-like or HTML id is refused (test_issue13_attacks)."""
    import json

    from pipelines.lib.pseudonym import pseudonym

    key = run.key.encode()
    record = json.loads((run.out / "run.json").read_text())
    assert record["extract_id"] == "DMDB-" + pseudonym(key, "1505702223")
    assert record["delivery"] == f"DMDB-{pseudonym(key, '0807580128')}-hostile"


codes = st.lists(st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE_CODES + ["", ".", "..", "CON", "con.txt",
                                                                                  "LPT1", "a/../../b", "/", "\\"])),
                 max_size=12)


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(codes)
def test_safe_names_are_safe_distinct_and_deterministic(values):
    names = safe_names(values)
    assert set(names) == set(values)
    assert all(SAFE.fullmatch(n) and len(n) <= 100 for n in names.values())
    assert len({n.lower() for n in names.values()}) == len(names)  # also on case-insensitive systems
    assert all(n.split(".")[0].upper() not in WINDOWS_RESERVED for n in names.values())
    assert safe_names(list(reversed(values))) == names


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(codes)
def test_child_dir_stays_inside_its_parent(tmp_path_factory, values):
    parent = tmp_path_factory.mktemp("parent")
    for name in safe_names(values).values():
        assert child_dir(parent, name).parent == parent


@pytest.mark.parametrize("name", ["..", ".", "", "../x", "/abs", "a/b", "a\\b", "-rf", ".hidden"])
def test_child_dir_refuses_a_name_that_is_not_a_plain_folder_name(tmp_path, name):
    with pytest.raises(ValueError):
        child_dir(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_leftover_cleanup_never_touches_another_output_folder(tmp_path):
    """Fixed in pipelines/lib/publish.py: the leftover glob used the output folder's name
    unescaped, so for ``--out 'res[1]'`` it deleted ``.res1.incoming-*`` (the staging folder of
    a run publishing to ``res1``, mid-run) and kept its own leftovers. Since issue 13 a run's
    leftovers live in its own folder (``.res[1].myeloma-audit/``), the only place it cleans."""
    from pipelines.lib.publish import incoming_dir, remove_leftovers

    other = incoming_dir(tmp_path / "res1")
    beside = tmp_path / ".res[1].incoming-0123456789ab"   # not the run's: never touched
    beside.mkdir()
    mine = incoming_dir(tmp_path / "res[1]")
    remove_leftovers(tmp_path / "res[1]")
    assert other.is_dir() and beside.is_dir() and not mine.exists()


def test_output_folder_is_owner_only_whatever_the_umask(tmp_path):
    """Fixed in pipelines/lib/publish.py: only the command sets umask 077; a run through the
    Python API (``run_audit``, ``dagster dev``) under umask 022 published a world-readable
    folder. The run's folder (renamed into place as the output) is now created 0700."""
    import os
    import stat

    from pipelines.lib.publish import incoming_dir, publish

    old = os.umask(0o022)
    try:
        staging = incoming_dir(tmp_path / "out")
        (staging / "patient_results.csv").write_text("x")
        publish(staging, tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700


def test_blocked_runs_quality_report_is_owner_only_whatever_the_umask(tmp_path):
    """Finding (pipelines/audit.py, _blocked; now lib/publish.py, keep_quality_report): a blocked
    run copies its quality report (failing
    rows: pseudonyms, delivered course ids and department codes) to ``<out>.blocked-quality``
    with ``copytree``, which copies the modes of a folder made under the caller's umask: under
    the Python API with umask 022 it is world-readable. Proposed: ``report.chmod(0o700)``."""
    import os
    import stat

    from pipelines.lib.publish import keep_quality_report

    old = os.umask(0o022)
    try:
        staging = tmp_path / ".out.incoming-x"
        (staging / "quality" / "failing_rows").mkdir(parents=True)
        (staging / "quality" / "failing_rows" / "stg_drugs.csv").write_text("table,expectation,severity,line,id\n")
        (staging / "quality" / "index.html").write_text("<html></html>")
        keep_quality_report(staging, tmp_path / "out")
    finally:
        os.umask(old)
    report = tmp_path / "out.blocked-quality"
    assert stat.S_IMODE(report.stat().st_mode) & 0o077 == 0
    assert (report / "index.html").is_file()


def test_blocked_report_never_replaces_a_folder_it_did_not_write(tmp_path):
    """Issue 13, 4 (nothing deleted that the run did not write): ``<out>.blocked-quality`` was
    removed with rmtree whatever it held. Now it is replaced only when it holds an earlier
    blocked report and nothing else; otherwise the report goes to the run's own folder."""
    from pipelines.lib.publish import keep_quality_report

    precious = tmp_path / "out.blocked-quality"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    staging = tmp_path / "staging"
    (staging / "quality").mkdir(parents=True)
    (staging / "quality" / "index.html").write_text("<html></html>")
    message = str(keep_quality_report(staging, tmp_path / "out"))
    assert (precious / "notes.txt").read_text() == "mine"
    assert (tmp_path / ".out.myeloma-audit" / "blocked-quality" / "index.html").is_file()
    assert ".out.myeloma-audit/blocked-quality/index.html" in message
