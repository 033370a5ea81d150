"""Funnel-plot control limits for proportions (Spiegelhalter 2005, as in FunnelPlotR).

For a target proportion θ and a denominator n, the limit at probability q is the exact
binomial q-quantile with Spiegelhalter's interpolation between the integer steps:

    r = the smallest integer with F(r) ≥ q          (F: binomial(n, θ) distribution function)
    α = (F(r) − q) / (F(r) − F(r − 1))
    limit = (r − α) / n                              (clipped to 0–1)

With θ = 0,8 and n = 50 this gives 0,6729 / 0,8956 (95 %) and 0,6009 / 0,9452 (99,8 %),
the published values. Pure Python (log-gamma), no SciPy.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

LIMITS = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}


UNDERFLOW = -800.0  # exp() of anything below about −745 is exactly 0.0


def binomial_cdf(n: int, p: float) -> list[float]:
    """F(0), …, F(n) of binomial(n, p), each capped at 1.

    Summed from k = 0 upwards. The log-probabilities rise to the mode and fall after it, so
    only the k whose probability is not exactly 0.0 in floating point (log above
    ``UNDERFLOW``, found by bisection on each side of the mode) are computed, and past the
    mode only until a term no longer changes the sum (the later ones are smaller still):
    the sums are the same as adding every term, the zeros included."""
    if p <= 0.0:
        return [1.0] * (n + 1)
    if p >= 1.0:
        return [0.0] * n + [1.0]
    log_p, log_q = math.log(p), math.log1p(-p)
    log_factorial = _log_factorials(n)
    log_n = log_factorial[n]
    exp = math.exp

    def log_term(k: int) -> float:
        return log_n - log_factorial[k] - log_factorial[n - k] + k * log_p + (n - k) * log_q

    mode = min(n, int((n + 1) * p))
    first, last = _first_above(log_term, 0, mode), _last_above(log_term, mode, n)
    total, out = 0.0, [0.0] * first
    for k in range(first, last + 1):
        term = exp(log_term(k))
        if k > mode and total + term == total:
            last = k - 1
            break
        total += term
        out.append(min(total, 1.0))
    out.extend([min(total, 1.0)] * (n - last))
    out[-1] = 1.0
    return out


_LOG_FACTORIALS: list[float] = []


def _log_factorials(n: int) -> list[float]:
    """lgamma(k + 1) for k = 0 … n (at least), kept for the next call."""
    table = _LOG_FACTORIALS
    if len(table) <= n:
        table.extend(math.lgamma(k + 1) for k in range(len(table), n + 1))
    return table


def _first_above(log_term, low: int, high: int) -> int:
    """The least k in [low, high] with log_term(k) ≥ UNDERFLOW (log_term rising on the range)."""
    while low < high:
        middle = (low + high) // 2
        if log_term(middle) >= UNDERFLOW:
            high = middle
        else:
            low = middle + 1
    return low


def _last_above(log_term, low: int, high: int) -> int:
    """The greatest k in [low, high] with log_term(k) ≥ UNDERFLOW (log_term falling on the range)."""
    while low < high:
        middle = (low + high + 1) // 2
        if log_term(middle) >= UNDERFLOW:
            low = middle
        else:
            high = middle - 1
    return low


def binomial_quantile(q: float, n: int, p: float, cdf: list[float] | None = None) -> int:
    """The smallest r with F(r) ≥ q (by bisection: F never decreases)."""
    cdf = cdf if cdf is not None else binomial_cdf(n, p)
    return min(bisect_left(cdf, q - 1e-12), n)


def funnel_limit(theta: float, n: int, q: float, cdf: list[float] | None = None) -> float | None:
    """The interpolated exact binomial limit at probability ``q``; None without a denominator."""
    if n <= 0 or theta is None:
        return None
    if theta <= 0.0 or theta >= 1.0:
        return float(min(max(theta, 0.0), 1.0))
    cdf = cdf if cdf is not None else binomial_cdf(n, theta)
    r = binomial_quantile(q, n, theta, cdf)
    upper = cdf[r]
    lower = cdf[r - 1] if r > 0 else 0.0
    alpha = (upper - q) / (upper - lower) if upper > lower else 0.0
    return min(max((r - alpha) / n, 0.0), 1.0)


@dataclass(frozen=True)
class Limits:
    n: int
    low_998: float
    low_95: float
    high_95: float
    high_998: float


def limits(theta: float, n: int) -> Limits:
    """The 95 % and 99,8 % limits around ``theta`` at denominator ``n``."""
    cdf = binomial_cdf(n, theta) if 0.0 < theta < 1.0 else None
    low95, high95 = (funnel_limit(theta, n, q, cdf) for q in LIMITS["95"])
    low998, high998 = (funnel_limit(theta, n, q, cdf) for q in LIMITS["99.8"])
    return Limits(n, low998, low95, high95, high998)


def limit_curve(theta: float, max_n: int, points: int = 160) -> list[Limits]:
    """Limits at every n up to ``points`` values, then at evenly spread n up to ``max_n``.
    (Computed once per θ and n: the national report and every dashboard draw the same curves.)"""
    return list(_limit_curve(theta, max_n, points))


@lru_cache(maxsize=512)
def _limit_curve(theta: float, max_n: int, points: int) -> tuple[Limits, ...]:
    if max_n <= points:
        ns = list(range(1, max_n + 1))
    else:
        ns = sorted({max(1, round(1 + i * (max_n - 1) / (points - 1))) for i in range(points)} | set(range(1, 21)))
    return tuple(limits(theta, n) for n in ns)


@lru_cache(maxsize=65536)
def position(numerator: int, denominator: int, theta: float) -> str:
    """Where a unit falls: 'high_998', 'high_95', 'inside', 'low_95', 'low_998' (or 'none').

    Classified by exact binomial tail probabilities around ``theta`` (two-sided: a tail below
    0,025 is outside 95 %, below 0,001 outside 99,8 %). The plotted limits are the
    interpolated quantiles, which agree with this except on a discrete step: 5 of 5 when
    θ = 0,93 lies just above the interpolated upper limit, but has probability 0,7."""
    if not denominator or theta is None:
        return "none"
    cdf = binomial_cdf(denominator, theta)
    lower_tail = cdf[numerator]                                     # P(X ≤ k)
    upper_tail = 1.0 - (cdf[numerator - 1] if numerator > 0 else 0.0)  # P(X ≥ k)
    if lower_tail < LIMITS["99.8"][0]:
        return "low_998"
    if upper_tail < LIMITS["99.8"][0]:
        return "high_998"
    if lower_tail < LIMITS["95"][0]:
        return "low_95"
    if upper_tail < LIMITS["95"][0]:
        return "high_95"
    return "inside"


POSITION_TEXT = {
    "high_998": "over 99,8 %-grænsen",
    "high_95": "over 95 %-grænsen",
    "inside": "inden for grænserne",
    "low_95": "under 95 %-grænsen",
    "low_998": "under 99,8 %-grænsen",
    "none": "ingen nævner",
}
