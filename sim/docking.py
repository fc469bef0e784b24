"""Docking helpers: the peer-influence submodel set up as the Deffuant-Weisbuch model, and cluster counting.

Used by tests/test_docking.py and validation/docking.py, so the test and the published figure use one setup.
"""

from __future__ import annotations

import numpy as np

from .scenario import MECHANISMS, Scenario


def deffuant_scenario(d: float, mu: float = 0.5, n: int = 1000, steps: int = 300) -> Scenario:
    """Peer influence alone, well mixed, opinions uniform on [0, 1] (Beta(1, 1)), full cross-trust."""
    changes = {f"mechanisms.{m}": m == "peer_influence" for m in MECHANISMS}
    changes.update({"culture.mixing": "well_mixed", "culture.confidence_bound": d, "culture.convergence": mu,
                    "organisations.staff_a": n // 2, "organisations.staff_b": n - n // 2,
                    "organisations.culture_a": 0.5, "organisations.culture_b": 0.5,
                    "organisations.attitude_sd": (1 / 12) ** 0.5, "staff.partner_trust": 1.0,
                    "partnership.ties_per_100_staff": 0.0, "run.steps": steps})
    return Scenario(changes, name=f"deffuant d={d:g} mu={mu:g}")


def major_clusters(x: np.ndarray, share: float = 0.01, gap: float = 1e-3) -> list[np.ndarray]:
    """Groups of final opinions within ``gap`` of each other holding at least ``share`` of the agents."""
    x = np.sort(np.asarray(x))
    groups = np.split(x, np.flatnonzero(np.diff(x) > gap) + 1)
    return [g for g in groups if g.size >= share * x.size]
