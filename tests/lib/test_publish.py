"""Atomic publishing and the run lock, on plain folders."""

import pytest

from pipelines.lib.errors import RunLocked
from pipelines.lib.publish import incoming_dir, publish, publish_lock, remove_leftovers


def test_publish_swaps_the_whole_folder(tmp_path):
    out = tmp_path / "out"
    first = incoming_dir(out)
    (first / "a.csv").write_text("1")
    publish(first, out)
    second = incoming_dir(out)
    (second / "b.csv").write_text("2")
    publish(second, out)
    assert sorted(p.name for p in out.iterdir()) == ["b.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_leftovers_of_a_killed_run_are_removed_and_a_half_swap_restored(tmp_path):
    out = tmp_path / "out"
    stale = incoming_dir(out)
    (stale / "half.csv").write_text("x")
    previous = tmp_path / ".out.previous-abc"
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
