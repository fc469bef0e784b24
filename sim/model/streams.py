"""Random streams: one per mechanism and draw site, keyed by week and slot (common random numbers).

ODD "Stochasticity". Every random number of a run is a pure function of

    (run seed, mechanism, site, week, slot [, k])

where *site* names one kind of draw inside a mechanism ("leave", "meet", ...), *slot* is the agent's row
(a post, so a newcomer hired to a post draws from that post's slot), an executive seat, a tie's pair of
rows, or 0 for an organisation-level draw, and *k* counts the numbers one slot needs (Box-Muller, a
Beta draw's rejection loop). Nothing is drawn "from the next position of a shared generator", so
switching a mechanism off, or changing a parameter that does not change who exists, leaves every other
draw of the run as it was: two scenarios run with the same seed are compared on common random numbers.
The same idea is Starsim's (since 3.5: a splitmix64 hash per agent slot) and OpenM++'s local streams.

How a number is made:

* ``site_key(seed, mechanism, site)``: 64 bits from ``numpy.random.SeedSequence(seed, spawn_key=(crc32
  (mechanism), crc32(site)))`` (computed once per run, in Python).
* ``week_key(key, t) = mix(key ^ (t+1) * W)``: the site's key for week ``t`` (once per site and week).
* ``uniform(h, slot) = (mix(h + (slot+1) * G) >> 11) / 2**53``: the ``slot``-th output of a splitmix64
  sequence started at ``h``, as a double in [0, 1).
* More numbers for one slot (``k = 1, 2, ...``) continue a splitmix64 sequence started at that slot's
  first output.

``mix`` is the splitmix64 finaliser (Steele, Lea & Flood 2014), whose sequence passes BigCrush; the
tests check uniformity, independence across neighbouring slots/weeks and that the functions called from
Python and from the compiled kernel give the same bits. Distributions: normal by Box-Muller, exponential
by inversion, gamma by Marsaglia & Tsang (2000) and Beta as a ratio of gammas.

These functions are the one implementation of the streams: the compiled kernel inlines them, the
initial state and the reference engine call the same compiled functions from Python.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from .jit import cached_kernel, inline_kernel
from .types import Floats, Ints, Key

M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment
WEEK = np.uint64(0xD1B54A32D192ED03)  # an odd constant spreading weeks apart
S11, S27, S30, S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
ONE = np.uint64(1)
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
TWO_PI = 2.0 * math.pi


def site_key(seed: int, mechanism: str, site: str) -> Key:
    """The 64-bit key of one draw site of one mechanism, for a run seeded ``seed``."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(mechanism.encode()), zlib.crc32(site.encode())))
    return np.uint64(ss.generate_state(1, np.uint64)[0])  # already a uint64 (kept: the kernels key on it)


def spawn_generator(seed: int, *names: str) -> np.random.Generator:
    """A numpy Generator of its own for a one-off vectorised construction (e.g. one trust's network)."""
    return np.random.default_rng(
        np.random.SeedSequence(int(seed), spawn_key=tuple(zlib.crc32(n.encode()) for n in names))
    )


@inline_kernel
def mix(z: Key) -> Key:
    """splitmix64's finaliser: a bijection of 64-bit words that scrambles every bit."""
    z = (z ^ (z >> S30)) * M1
    z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


@inline_kernel
def week_key(key: Key, t: int) -> Key:
    """The key of a site in week ``t`` (computed once per site and week)."""
    return mix(key ^ (np.uint64(t + 1) * WEEK))


@inline_kernel
def slot_state(h: Key, slot: int) -> Key:
    """The first 64-bit output for ``slot`` under week key ``h`` (the start of that slot's own sequence)."""
    return mix(h + (np.uint64(slot) + ONE) * GOLDEN)


@inline_kernel
def to_unit(x: Key) -> float:
    """A 64-bit word as a double in [0, 1) (its top 53 bits)."""
    return np.int64(x >> S11) * TO_UNIT


@inline_kernel
def uniform(h: Key, slot: int) -> float:
    """The uniform number in [0, 1) of ``slot`` under week key ``h``."""
    return to_unit(slot_state(h, slot))


@inline_kernel
def next_state(s: Key, k: int) -> Key:
    """The ``k``-th further 64-bit output (k >= 1) of the sequence that starts at ``s``."""
    return mix(s + np.uint64(k) * GOLDEN)


@inline_kernel
def normal(h: Key, slot: int) -> float:
    """A standard normal number for ``slot`` (Box-Muller on the slot's first two numbers)."""
    s = slot_state(h, slot)
    u1 = 1.0 - to_unit(s)  # in (0, 1]
    u2 = to_unit(next_state(s, 1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)


@inline_kernel
def exponential(h: Key, slot: int, mean: float) -> float:
    """An exponential number with the given mean for ``slot`` (by inversion)."""
    return -mean * math.log(1.0 - uniform(h, slot))


@inline_kernel
def _gamma_from(s: Key, k0: int, shape: float) -> tuple[float, int]:
    """Marsaglia & Tsang (2000) gamma(shape >= 1) from the sequence at ``s``, its numbers from ``k0`` on.

    Returns (value, next k)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    k = k0
    while True:
        while True:
            u1 = 1.0 - to_unit(next_state(s, k))
            u2 = to_unit(next_state(s, k + 1))
            k += 2
            x = math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)
            v = 1.0 + c * x
            if v > 0.0:
                break
        v = v * v * v
        u = to_unit(next_state(s, k))
        k += 1
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return d * v, k
        if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v, k


@inline_kernel
def _gamma(s: Key, k0: int, shape: float) -> tuple[float, int]:
    """gamma(shape > 0): for shape < 1, gamma(shape + 1) * U^(1/shape) (Marsaglia & Tsang's boost)."""
    if shape >= 1.0:
        return _gamma_from(s, k0, shape)
    g, k = _gamma_from(s, k0, shape + 1.0)
    u = to_unit(next_state(s, k))
    return g * (1.0 - u) ** (1.0 / shape), k + 1


@inline_kernel
def beta_mean_sd(h: Key, slot: int, mean: float, sd: float) -> float:
    """A Beta number with the given mean and standard deviation for ``slot``.

    A mean of exactly 0 or 1, or ``sd <= 0``, gives the mean itself (no spread). Otherwise the Beta's
    concentration is ``kappa = mean (1 - mean) / sd**2 - 1``, kept within [1e-6, 1e12] (a spread below
    ~1e-6 is no spread); the scenario loader guarantees ``sd**2 < mean (1 - mean)``.
    """
    if sd <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return mean
    kappa = mean * (1.0 - mean) / (sd * sd) - 1.0
    kappa = min(max(kappa, 1e-6), 1e12)
    s = slot_state(h, slot)
    x, k = _gamma(s, 1, mean * kappa)
    y, _ = _gamma(s, k, (1.0 - mean) * kappa)
    if x + y <= 0.0:  # both underflowed (tiny shapes): the Beta is then all but a coin flip between 0 and 1
        return 1.0 if to_unit(s) < mean else 0.0
    return x / (x + y)


# --- whole arrays, for the initial state and the reference engine (compiled once and cached) -------------
@cached_kernel
def uniforms(key: Key, t: int, n: int) -> Floats:
    """``uniform`` for slots 0..n-1 of week ``t``."""
    h = week_key(key, t)
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(h, i)
    return out


@cached_kernel
def normals(key: Key, t: int, n: int) -> Floats:
    """``normal`` for slots 0..n-1 of week ``t``."""
    h = week_key(key, t)
    out = np.empty(n)
    for i in range(n):
        out[i] = normal(h, i)
    return out


@cached_kernel
def exponentials(key: Key, t: int, n: int, mean: float) -> Floats:
    """``exponential`` (one mean) for slots 0..n-1 of week ``t``."""
    h = week_key(key, t)
    out = np.empty(n)
    for i in range(n):
        out[i] = exponential(h, i, mean)
    return out


@cached_kernel
def betas(key: Key, t: int, means: Floats, sd: float) -> Floats:
    """``beta_mean_sd`` for slots 0..len(means)-1 of week ``t``, slot i with mean ``means[i]``."""
    h = week_key(key, t)
    out = np.empty(means.size)
    for i in range(means.size):
        out[i] = beta_mean_sd(h, i, means[i], sd)
    return out


@cached_kernel
def uniform_at(key: Key, t: int, slot: int) -> float:
    """One ``uniform`` (scalar; for the reference engine)."""
    return uniform(week_key(key, t), slot)


@cached_kernel
def normal_at(key: Key, t: int, slot: int) -> float:
    """One ``normal`` (scalar; for the reference engine)."""
    return normal(week_key(key, t), slot)


@cached_kernel
def beta_at(key: Key, t: int, slot: int, mean: float, sd: float) -> float:
    """One ``beta_mean_sd`` (scalar; for the reference engine)."""
    return beta_mean_sd(week_key(key, t), slot, mean, sd)


@inline_kernel
def shuffle(h: Key, perm: Ints) -> None:
    """Fisher-Yates shuffle of ``perm`` in place, on the slot-0 sequence of week key ``h``."""
    n = perm.size
    s = slot_state(h, 0)
    for i in range(n - 1, 0, -1):
        j = np.int64(to_unit(next_state(s, n - i)) * (i + 1))
        perm[i], perm[j] = perm[j], perm[i]


@cached_kernel
def permutation(key: Key, t: int, n: int) -> Ints:
    """A uniform random permutation of 0..n-1 for week ``t`` (for the reference engine)."""
    perm = np.arange(n)
    shuffle(week_key(key, t), perm)
    return perm
