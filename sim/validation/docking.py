"""Docking helpers (docs/validation.md section 1).

* the peer-influence submodel set up as the Deffuant-Weisbuch model, and cluster counting;
* the rate equation of Ben-Naim, Krapivsky & Redner (2003), integrated numerically, as the
  infinite-population prediction the agent-based runs are docked against.

Used by tests/test_docking.py and the scripts in validation/, so the tests and the published figures
use one setup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.statistics import major_clusters  # noqa: F401  (re-exported: the docking's cluster definition)
from ..scenario import MECHANISMS, Scenario


def deffuant_scenario(d: float, mu: float = 0.5, n: int = 1000, steps: int = 300) -> Scenario:
    """Peer influence alone, well mixed, opinions uniform on [0, 1] (Beta(1, 1)), full cross-trust."""
    changes = {f"mechanisms.{m}": m == "peer_influence" for m in MECHANISMS}
    changes.update(
        {
            "culture.mixing": "well_mixed",
            "culture.confidence_bound": d,
            "culture.convergence": mu,
            "organisations.staff_a": n // 2,
            "organisations.staff_b": n - n // 2,
            "organisations.culture_a": 0.5,
            "organisations.culture_b": 0.5,
            "organisations.attitude_sd": (1 / 12) ** 0.5,
            "staff.partner_trust": 1.0,
            "partnership.ties_per_100_staff": 0.0,
            "run.steps": steps,
        }
    )
    return Scenario(changes, name=f"deffuant d={d:g} mu={mu:g}")


@dataclass
class Density:
    """Opinion density on a grid of cells over [0, 1] at time ``t``: ``mass[i]`` in cell ``i``."""

    x: np.ndarray
    mass: np.ndarray
    t: float

    def clusters(self, eps: float = 1e-6) -> list[tuple[float, float]]:
        """(centre, mass) of every run of cells holding more than ``eps`` x the largest cell, left to right."""
        on = np.concatenate([[False], self.mass > eps * self.mass.max(), [False]])
        edges = np.flatnonzero(np.diff(on.astype(np.int8)))
        out = []
        for a, b in zip(edges[0::2], edges[1::2]):
            m = self.mass[a:b]
            out.append((float((self.x[a:b] * m).sum() / m.sum()), float(m.sum())))
        return out

    def major(self, share: float = 0.01) -> list[tuple[float, float]]:
        return [c for c in self.clusters() if c[1] >= share]


def rate_equation(
    d: float, mu: float = 0.5, *, cells_per_bound: int = 40, t_end: float = 400.0, dt: float = 0.1
) -> Density:
    """Integrate the compromise rate equation from a uniform density on [0, 1] (forward Euler).

    Ben-Naim, Krapivsky & Redner (2003), eq. (1), in the units of this model (opinions on [0, 1],
    confidence bound ``d``; their Delta = 1 / (2d)), generalised from the midpoint rule (mu = 1/2) to
    a convergence rate ``mu``::

        dP(x)/dt = sum over pairs |x1 - x2| < d of P(x1) P(x2) [delta(x - x1 - mu (x2 - x1)) - delta(x - x1)]

    Time is in encounters per person, the unit of one model week of well-mixed peer influence. The grid
    has ``cells_per_bound`` cells per ``d``; a compromise landing between two cells is shared between
    them in proportion (so mass is conserved exactly and clusters are at most two cells wide).
    """
    n = int(round(cells_per_bound / d))
    reach = int(np.ceil(d * n - 1e-9)) - 1  # cells i, j interact when |i - j| <= reach
    i = np.repeat(np.arange(n), 2 * reach + 1)
    j = i + np.tile(np.arange(-reach, reach + 1), n)
    ok = (j >= 0) & (j < n)
    i, j = i[ok], j[ok]
    dest = i + mu * (j - i)
    lo = np.floor(dest).astype(np.int64)
    w_hi = dest - lo
    hi = np.minimum(lo + 1, n - 1)
    P = np.full(n, 1.0 / n)
    steps = int(round(t_end / dt))
    for _ in range(steps):
        flow = P[i] * P[j]
        P = P + dt * (
            np.bincount(lo, flow * (1.0 - w_hi), n) + np.bincount(hi, flow * w_hi, n) - np.bincount(i, flow, n)
        )
    return Density(x=(np.arange(n) + 0.5) / n, mass=P, t=steps * dt)


def consensus_threshold(
    mu: float = 0.5,
    *,
    low: float = 0.2,
    high: float = 0.35,
    tol: float = 1e-3,
    cells_per_bound: int = 20,
    t_end: float = 2000.0,
    dt: float = 0.2,
) -> tuple[float, float]:
    """Bracket (d_two_parties, d_consensus) of the rate equation's first bifurcation, by bisection on d.

    Consensus = one major cluster holding more than half the mass. Close to the bifurcation the dynamics
    slow down, hence the long ``t_end``.
    """

    def consensus(d: float) -> bool:
        major = rate_equation(d, mu, cells_per_bound=cells_per_bound, t_end=t_end, dt=dt).major()
        return len(major) == 1 and major[0][1] > 0.5

    if consensus(low) or not consensus(high):
        raise ValueError(f"no consensus threshold between d = {low} and {high} for mu = {mu}")
    while high - low > tol:
        mid = (low + high) / 2
        low, high = (low, mid) if consensus(mid) else (mid, high)
    return low, high
