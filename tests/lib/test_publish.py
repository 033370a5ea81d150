"""Atomic publishing, the list of published files, and the run lock, on plain folders."""

import os
import stat

import pytest

from pipelines.lib.errors import RunLocked
from pipelines.lib.publish import (FILE_LIST, OutputRefused, check_output_path, check_replaceable, incoming_dir,
                                   publish, publish_lock, remove_leftovers, work_dir)


def test_publish_swaps_the_whole_folder_and_lists_what_it_published(tmp_path):
    out = tmp_path / "out"
    first = incoming_dir(out)
    (first / "a.csv").write_text("1")
    publish(first, out)
    second = incoming_dir(out)
    (second / "b.csv").write_text("2")
    (second / "sub").mkdir()
    (second / "sub" / "c.csv").write_text("33")
    publish(second, out)
    assert sorted(p.name for p in out.iterdir()) == [FILE_LIST, "b.csv", "sub"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.myeloma-audit", "out"]
    assert sorted(p.name for p in work_dir(out).iterdir()) == []  # nothing left but what the lock leaves
    check_replaceable(out)  # exactly what was published: may be replaced


@pytest.mark.parametrize("change", ["add", "remove", "resize", "subfolder", "link"])
def test_a_published_folder_that_was_changed_is_never_replaced(tmp_path, change):
    out = tmp_path / "out"
    staging = incoming_dir(out)
    (staging / "a.csv").write_text("1")
    publish(staging, out)
    if change == "add":
        (out / "incoming").mkdir()            # the issue's `cp -a delivery out/incoming`
        (out / "incoming" / "labs.csv").write_text("cpr;…")
    elif change == "remove":
        (out / "a.csv").unlink()
    elif change == "resize":
        (out / "a.csv").write_text("changed")
    elif change == "subfolder":
        (out / "notes").mkdir()
    else:
        (out / "link").symlink_to(tmp_path)
    with pytest.raises(OutputRefused, match="not only what that run published"):
        check_replaceable(out)
    with pytest.raises(OutputRefused):
        with publish_lock(out):
            pass


def test_a_folder_without_the_list_is_not_replaced_even_with_a_run_json(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}")
    with pytest.raises(OutputRefused, match="not empty and holds no results of an earlier run"):
        check_replaceable(out)
    check_replaceable(tmp_path / "new")   # new and
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")  # empty folders are fine


def test_leftovers_of_a_killed_run_are_removed_and_a_half_swap_restored(tmp_path):
    out = tmp_path / "out"
    stale = incoming_dir(out)
    (stale / "half.csv").write_text("x")
    previous = work_dir(out) / "previous-abc"
    previous.mkdir()
    (previous / "a.csv").write_text("published")
    remove_leftovers(out)
    assert not stale.exists()
    assert (out / "a.csv").read_text() == "published"


def test_second_run_on_the_same_output_is_refused_while_the_first_holds_the_lock(tmp_path):
    out = tmp_path / "out"
    with publish_lock(out):
        with pytest.raises(RunLocked, match="another myeloma-audit run is publishing"):
            with publish_lock(out):
                pass
    with publish_lock(out):  # released again
        pass
    assert (work_dir(out) / "lock").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.myeloma-audit"]


def test_a_link_planted_at_the_lock_is_not_followed(tmp_path):
    out = tmp_path / "out"
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    work = work_dir(out)
    work.mkdir(mode=0o700)
    (work / "lock").symlink_to(target)
    with pytest.raises(OutputRefused, match="cannot open the lock"):
        with publish_lock(out):
            pass
    assert target.read_text() == "keep"


@pytest.mark.parametrize("planted", ["link", "file", "loose"])
def test_the_runs_own_folder_must_be_a_private_folder(tmp_path, planted):
    out = tmp_path / "out"
    work = work_dir(out)
    if planted == "link":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        work.symlink_to(elsewhere)
    elif planted == "file":
        work.write_text("x")
    else:
        work.mkdir()
        work.chmod(0o777)
    with pytest.raises(OutputRefused, match="not a folder of this run's own"):
        with publish_lock(out):
            pass


@pytest.mark.parametrize("out", ["/", "a\\b", "line\nbreak", "why?", "x/y?a=b"])
def test_output_paths_a_run_cannot_use_are_refused_before_anything_is_created(tmp_path, out):
    path = tmp_path / out if out != "/" else tmp_path.anchor
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputRefused):
        check_output_path(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_delivery_inside_the_output_folder_and_output_inside_the_delivery_are_refused(tmp_path):
    out = tmp_path / "out"
    (out / "incoming").mkdir(parents=True)
    with pytest.raises(OutputRefused, match="lies inside the output folder"):
        check_output_path(out, out / "incoming")
    with pytest.raises(OutputRefused, match="lies inside the output folder"):
        check_output_path(out, out)
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    with pytest.raises(OutputRefused, match="lies inside the delivery"):
        check_output_path(delivery / "results", delivery)
    link = tmp_path / "link-to-out"
    link.symlink_to(out)
    with pytest.raises(OutputRefused, match="lies inside the output folder"):
        check_output_path(link, out / "incoming")


def test_an_unwritable_parent_is_refused_with_a_message(tmp_path, monkeypatch):
    """As root the mode bits do not stop a write, so the check is exercised through os.access."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(tmp_path) else real_access(p, mode))
    with pytest.raises(OutputRefused, match="is not writable"):
        check_output_path(tmp_path / "out")


def test_published_and_staging_folders_are_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        staging = incoming_dir(tmp_path / "out")
        (staging / "a.csv").write_text("x")
        publish(staging, tmp_path / "out")
    finally:
        os.umask(old)
    for path in (tmp_path / "out", work_dir(tmp_path / "out")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
