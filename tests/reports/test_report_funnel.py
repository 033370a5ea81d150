"""Funnel-plot limits: exact binomial quantiles with Spiegelhalter's interpolation."""

from __future__ import annotations

import random

import pytest

from pipelines.reports.funnel import binomial_cdf, binomial_quantile, funnel_limit, limit_curve, limits, position


def test_published_limits_for_theta_0_8_and_n_50():
    """Spiegelhalter (2005) / FunnelPlotR: θ = 0,8, n = 50."""
    lim = limits(0.8, 50)
    assert round(lim.low_95, 4) == 0.6729
    assert round(lim.high_95, 4) == 0.8956
    assert round(lim.low_998, 4) == 0.6009
    assert round(lim.high_998, 4) == 0.9452


def test_binomial_distribution_function_by_hand():
    cdf = binomial_cdf(3, 0.5)
    assert cdf == pytest.approx([0.125, 0.5, 0.875, 1.0])
    assert binomial_quantile(0.5, 3, 0.5) == 1
    assert binomial_quantile(0.51, 3, 0.5) == 2
    assert binomial_cdf(4, 0.0) == [1.0] * 5
    assert binomial_cdf(4, 1.0) == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_limits_agree_with_scipy_on_random_cases():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(5)
    for _ in range(300):
        theta, n = rng.uniform(0.02, 0.98), rng.randint(1, 1500)
        for q in (0.001, 0.025, 0.975, 0.999):
            r = stats.binom.ppf(q, n, theta)
            upper, lower = stats.binom.cdf(r, n, theta), stats.binom.cdf(r - 1, n, theta)
            expected = min(max((r - (upper - q) / (upper - lower)) / n, 0.0), 1.0)
            assert funnel_limit(theta, n, q) == pytest.approx(expected, abs=1e-9), (theta, n, q)


def test_limits_are_clipped_nested_and_narrow_with_n():
    curve = limit_curve(0.9, 400)
    for c in curve:
        assert 0.0 <= c.low_998 <= c.low_95 <= 0.9 <= c.high_95 <= c.high_998 <= 1.0
    widths = [c.high_95 - c.low_95 for c in curve if c.n >= 30]
    assert widths[0] > widths[-1]
    assert funnel_limit(0.9, 0, 0.975) is None
    assert funnel_limit(1.0, 10, 0.025) == 1.0


def test_position_uses_exact_tails():
    assert position(5, 5, 0.93) == "inside"      # all met in a small unit is not an outlier
    assert position(29, 29, 0.87) == "high_95"   # P(X ≥ 29) = 0,87^29 ≈ 0,018
    assert position(40, 50, 0.95) == "low_998"
    assert position(43, 50, 0.95) == "low_95"     # P(X ≤ 43) ≈ 0,012
    assert position(44, 50, 0.95) == "inside"     # P(X ≤ 44) ≈ 0,038
    assert position(47, 50, 0.95) == "inside"
    assert position(0, 0, 0.95) == "none"
