"""The attacker's linear programme (``pipelines/reports/programme.py``) on tables small enough
to work out by hand."""

from __future__ import annotations

import math

import numpy as np

from pipelines.reports.programme import Programme


def test_two_counts_below_five_beside_a_published_eight_are_recovered():
    truth = np.array([4.0, 4.0, 8.0])  # cells 0 and 1 shown as <5, cell 2 = their sum, published
    lp = Programme([([(2, 1), (0, -1), (1, -1)], 0.0, 0.0)], truth,
                   np.array([0.0, 0.0, 8.0]), np.array([4.0, 4.0, 8.0]))
    assert lp.recovered(0) and lp.recovered(1)
    assert lp.shown_safe([0, 1]) == set()


def test_a_count_below_five_beside_an_unbounded_cell_is_not_recovered():
    truth = np.array([3.0, 9.0, 12.0])
    lp = Programme([([(2, 1), (0, -1), (1, -1)], 0.0, 0.0)], truth,
                   np.array([0.0, 5.0, 12.0]), np.array([4.0, math.inf, 12.0]))
    assert not lp.recovered(0)
    assert lp.shown_safe([0, 1]) == {0, 1}


def test_a_fractional_range_with_one_whole_number_is_recovered():
    """x + y = 7 and 0.5 ≤ x − y ≤ 1.5: x lies between 3.75 and 4.25, so it is 4."""
    truth = np.array([4.0, 3.0])
    lp = Programme([([(0, 1), (1, 1)], 7.0, 7.0), ([(0, 1), (1, -1)], 0.5, 1.5)], truth,
                   np.array([0.0, 0.0]), np.array([4.0, 4.0]))
    assert lp.recovered(0)


def test_binding_names_the_published_cell_that_holds_the_count():
    """x + y = 8 with y published: hiding y is what frees x."""
    truth = np.array([3.0, 5.0, 8.0])
    lp = Programme([([(2, 1), (0, -1), (1, -1)], 0.0, 0.0)], truth,
                   np.array([0.0, 5.0, 8.0]), np.array([4.0, 5.0, 8.0]))
    binding: list[int] = []
    assert lp.recovered(0, binding)
    assert 1 in binding or 2 in binding
    lp.bound(1, 5.0, math.inf)
    assert not lp.recovered(0)
    lp.bound(1, 5.0, 5.0)
    assert lp.recovered(0)


def test_a_range_relation_bounds_one_side_only():
    """Cell 1's patients are among cell 0's: 0 ≤ cell0 − cell1. Cell 0 hidden (<5), cell 1
    published as 4: cell 0 is 4 (the reviewer's MM05-within-MM01 pin)."""
    truth = np.array([4.0, 4.0])
    lp = Programme([([(0, 1), (1, -1)], 0.0, math.inf)], truth, np.array([0.0, 4.0]), np.array([4.0, 4.0]))
    assert lp.recovered(0)
    lp.bound(1, 0.0, 4.0)
    assert not lp.recovered(0)
