"""Docking the peer-influence submodel against the Deffuant-Weisbuch model (Deffuant et al. 2000)."""

import numpy as np
import pytest

from sim import BuddyingModel, Scenario
from sim.model.params import derive
from sim.model.state import build_initial_state
from sim.docking import deffuant_scenario, major_clusters


def dw_scenario(d, mu=0.5, n=1000, steps=300):
    return deffuant_scenario(d, mu, n, steps)


def textbook_dw(x, d, mu, pairs):
    """Deffuant et al. (2000), one encounter at a time."""
    x = x.copy()
    for i, j in pairs:
        if abs(x[i] - x[j]) < d:
            xi, xj = x[i], x[j]
            x[i] = xi + mu * (xj - xi)
            x[j] = xj + mu * (xi - xj)
    return x


def test_peer_influence_alone_well_mixed_is_exactly_deffuant_weisbuch():
    sc = dw_scenario(0.2, mu=0.3, n=200, steps=25)
    model = BuddyingModel(sc, 42, agent_views=False)
    # Replay the same random stream: initial state, then one random perfect matching per step.
    rng = np.random.default_rng(42)
    x = build_initial_state(derive(sc), rng).culture
    assert np.all(np.abs(x - 0.5) <= 0.5) and 0.25 < x.std() < 0.33          # uniform on [0, 1]
    for _ in range(25):
        model.step()
        perm = rng.permutation(x.size)
        x = textbook_dw(x, 0.2, 0.3, zip(perm[0::2], perm[1::2]))
        assert np.array_equal(model.state.culture, x)                         # bit for bit


@pytest.mark.parametrize("d, expected", [(0.5, {1}), (0.3, {1}), (0.2, {2}), (0.15, {3}), (0.1, {4, 5})])
def test_cluster_counts_match_deffuant_et_al(d, expected):
    """Deffuant et al. (2000): the number of major clusters is about the integer part of 1/(2d)."""
    counts = []
    for seed in range(3):
        model = BuddyingModel(dw_scenario(d), seed, agent_views=False)
        model.run_to_end()
        clusters = major_clusters(model.state.culture)
        counts.append(len(clusters))
        assert sum(c.size for c in clusters) >= 0.95 * model.state.n   # almost nobody is left between clusters
    assert set(counts) <= expected, counts
