"""Interval statistics: Wilson, Newcombe, bootstrap; and plain-language verdicts (small and dependency-light)."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927); (nan, nan) for n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Rounding can put a bound a hair past the estimate at p = 0 or 1; the interval always contains p.
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


__all__ = ["Z95", "bootstrap_ci", "bootstrap_diff", "newcombe_interval", "quartiles", "verdict", "wilson_interval"]


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """Difference of two proportions ``p2 - p1`` with Newcombe's (1998, method 10) hybrid score interval."""
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p2 - p1
    lower = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    upper = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, lower, upper


def bootstrap_ci(values, stat=np.mean, n_boot: int = 2000, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap interval of ``stat(values)``: (estimate, low, high)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    boots = stat(x[idx], axis=1)
    a = (1 - level) / 2
    return float(stat(x)), float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))


def bootstrap_diff(a, b, stat=np.mean, paired: bool = False, n_boot: int = 2000, seed: int = 0, level: float = 0.95):
    """Difference ``stat(b) - stat(a)`` with a percentile bootstrap interval (paired resampling if asked)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    if paired:
        ok = ~(np.isnan(a) | np.isnan(b))
        a, b = a[ok], b[ok]
        if a.size == 0:
            return (math.nan, math.nan, math.nan)
        idx = rng.integers(0, a.size, size=(n_boot, a.size))
        boots = stat(b[idx], axis=1) - stat(a[idx], axis=1)
    else:
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if a.size == 0 or b.size == 0:
            return (math.nan, math.nan, math.nan)
        boots = stat(b[rng.integers(0, b.size, size=(n_boot, b.size))], axis=1) - stat(
            a[rng.integers(0, a.size, size=(n_boot, a.size))], axis=1
        )
    q = (1 - level) / 2
    return float(stat(b) - stat(a)), float(np.quantile(boots, q)), float(np.quantile(boots, 1 - q))


def verdict(low: float, high: float, than: str) -> str:
    if math.isnan(low) or math.isnan(high):
        return "not enough data"
    if low <= 0.0 <= high:
        return "no detectable difference"
    return f"higher than {than}" if low > 0 else f"lower than {than}"


def quartiles(values) -> tuple[float, float, float]:
    x = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return float(med), float(q1), float(q3)


def newcombe_paired_interval(both: int, only_first: int, only_second: int, neither: int, z: float = Z95):
    """Difference ``p2 - p1`` of two proportions measured on the same units (paired: e.g. two scenarios run
    with the same seeds), with Newcombe's (1998b, method 10) interval: Wilson intervals for each proportion
    combined with the correlation of the pairs. ``only_first``: units counted in the first arm only.

    Returns (difference, lower, upper); (nan, nan, nan) for no pairs."""
    n = both + only_first + only_second + neither
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p1 = (both + only_first) / n
    p2 = (both + only_second) / n
    l1, u1 = wilson_interval(both + only_first, n, z)
    l2, u2 = wilson_interval(both + only_second, n, z)
    denom = (both + only_first) * (only_second + neither) * (both + only_second) * (only_first + neither)
    phi = 0.0 if denom == 0 else (both * neither - only_first * only_second) / math.sqrt(denom)
    d = p2 - p1
    # for p1 - p2: L = (p1 - p2) - delta, U = (p1 - p2) + epsilon; negate for p2 - p1
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    epsilon = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return d, d - epsilon, d + delta
