"""End-of-run statistics of the final state, for experiments that need more than the per-week metrics.

An experiment asks for them with ``[record] final = ["culture_clusters", ...]``
and gets one column each in its runs table; ``run(..., statistics=[...])``
returns them in ``RunResult.statistics``. They are computed once, from the
state after the last week, so they cost nothing during the run.

Culture clusters (used by the bounded-confidence docking, docs/validation.md):
the final culture values of all staff in post, sorted, split wherever two
neighbours differ by more than ``CLUSTER_GAP``; a *major* cluster holds at
least ``MAJOR_SHARE`` of the staff (Deffuant et al. 2000 likewise set aside the
small clusters left at the extremes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .params import World
from .state import State
from .types import Bools, Floats

#: A statistic: a number computed from the final state and the run's sizes (``World``).
type Statistic = Callable[[State, World], float]

CLUSTER_GAP = 1e-3
MAJOR_SHARE = 0.01


def culture_groups(x: np.ndarray, gap: float = CLUSTER_GAP) -> list[np.ndarray]:
    """All groups of values within ``gap`` of their neighbours, in increasing order."""
    x = np.sort(np.asarray(x, dtype=float))
    if x.size == 0:
        return []
    return np.split(x, np.flatnonzero(np.diff(x) > gap) + 1)


def major_clusters(x: np.ndarray, share: float = MAJOR_SHARE, gap: float = CLUSTER_GAP) -> list[np.ndarray]:
    """Groups of values within ``gap`` of each other holding at least ``share`` of all values."""
    x = np.asarray(x)
    return [g for g in culture_groups(x, gap) if g.size >= share * x.size]


def _present(st: State, P: World) -> Bools:
    return st.present if st.present is not None else np.ones(st.n, dtype=bool)


def _culture(st: State, P: World) -> Floats:
    return st.culture[_present(st, P)]


def _org(values_of: Callable[[State, Bools], float], org: int) -> Statistic:
    def stat(st: State, P: World) -> float:
        here = _present(st, P).copy()
        here[: P.n_a] &= org == 0
        here[P.n_a :] &= org == 1
        return values_of(st, here)

    return stat


def _clusters(st: State, P: World) -> float:
    return float(len(major_clusters(_culture(st, P))))


def _largest(st: State, P: World) -> float:
    x = _culture(st, P)
    groups = culture_groups(x)
    return max(g.size for g in groups) / x.size if groups else float("nan")


def _outer(st: State, P: World) -> float:
    centres = [g.mean() for g in major_clusters(_culture(st, P))]
    return (max(centres) - min(centres)) / 2 if centres else float("nan")


def _unclustered(st: State, P: World) -> float:
    x = _culture(st, P)
    return 1.0 - sum(g.size for g in major_clusters(x)) / x.size if x.size else float("nan")


#: name -> (what it is, function of (state, derived parameters))
STATISTICS: dict[str, tuple[str, Statistic]] = {
    "culture_clusters": (
        "number of major culture clusters among all staff (groups within 0.001 holding >= 1%)",
        _clusters,
    ),
    "culture_largest_share": ("share of staff in the largest culture cluster", _largest),
    "culture_outer_distance": (
        "half the distance between the outermost major culture clusters (0 = consensus)",
        _outer,
    ),
    "culture_unclustered_share": ("share of staff outside every major culture cluster", _unclustered),
    "culture_sd_a": (
        "standard deviation of culture among A's staff",
        _org(lambda st, m: float(st.culture[m].std()) if m.any() else float("nan"), 0),
    ),
    "culture_sd_b": (
        "standard deviation of culture among B's staff",
        _org(lambda st, m: float(st.culture[m].std()) if m.any() else float("nan"), 1),
    ),
    "tenure_a": (
        "mean tenure of A's staff, weeks",
        _org(lambda st, m: float(st.tenure[m].mean()) if m.any() else float("nan"), 0),
    ),
    "tenure_b": (
        "mean tenure of B's staff, weeks",
        _org(lambda st, m: float(st.tenure[m].mean()) if m.any() else float("nan"), 1),
    ),
}


def compute(names: Iterable[str], st: State, P: World) -> dict[str, float]:
    """The named statistics of a final state."""
    return {name: float(STATISTICS[name][1](st, P)) for name in names}
