"""Docking the peer-influence submodel against the Deffuant-Weisbuch model (Deffuant et al. 2000)."""

import numpy as np
import pytest

from sim import Simulation
from sim.model import streams
from sim.validation.docking import deffuant_scenario, major_clusters


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
    model = Simulation(sc, 42)
    # Replay the same random stream: the initial cultures, then one random perfect matching per week from the
    # peer-influence submodel's own stream.
    x = model.state.culture.copy()
    assert np.all(np.abs(x - 0.5) <= 0.5) and 0.25 < x.std() < 0.33  # uniform on [0, 1]
    key = streams.site_key(42, "peer_influence", "permutation")
    for week in range(1, 26):
        model.step()
        perm = streams.permutation(key, week, x.size)
        x = textbook_dw(x, 0.2, 0.3, zip(perm[0::2], perm[1::2]))
        assert np.array_equal(model.state.culture, x)  # bit for bit


@pytest.mark.parametrize("d, expected", [(0.5, {1}), (0.3, {1}), (0.2, {2}), (0.15, {3}), (0.1, {4, 5})])
def test_cluster_counts_match_deffuant_et_al(d, expected):
    """Deffuant et al. (2000): the number of major clusters is about the integer part of 1/(2d). Near a
    bifurcation a small central cluster sometimes survives (docs/validation.md), so: the usual count over
    eight seeds, and at least six of them."""
    counts = []
    for seed in range(8):
        model = Simulation(dw_scenario(d), seed)
        model.run_to_end()
        clusters = major_clusters(model.state.culture)
        counts.append(len(clusters))
        assert sum(c.size for c in clusters) >= 0.95 * model.state.n  # almost nobody is left between clusters
    assert max(set(counts), key=counts.count) in expected, counts
    assert sum(c in expected for c in counts) >= 6, counts


# --- Ben-Naim, Krapivsky & Redner (2003): the rate equation and the bifurcation -------------------------
from pathlib import Path  # noqa: E402

from sim import run  # noqa: E402
from sim.sweep.design import load_experiment  # noqa: E402
from sim.validation.docking import rate_equation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("d, mu", [(0.35, 0.5), (0.22, 0.5), (0.22, 0.1)])
def test_rate_equation_conserves_mass_and_stays_symmetric(d, mu):
    dens = rate_equation(d, mu, cells_per_bound=20, t_end=100, dt=0.2)
    assert dens.mass.sum() == pytest.approx(1.0, abs=1e-12)
    assert (dens.mass >= 0).all()
    np.testing.assert_allclose(dens.mass, dens.mass[::-1], atol=1e-12)


def test_rate_equation_bifurcation_from_consensus_to_two_parties():
    """Consensus at d >= 0.28 (Delta <= 1.79), two major parties at d <= 0.27 (Delta >= 1.85), mu = 1/2."""
    for d in (0.35, 0.28):
        assert [round(c, 3) for c, _ in rate_equation(d, cells_per_bound=20, t_end=300, dt=0.2).major()] == [0.5]
    for d in (0.27, 0.22):
        major = rate_equation(d, cells_per_bound=20, t_end=300, dt=0.2).major()
        assert len(major) == 2 and all(m == pytest.approx(0.5, abs=0.01) for _, m in major)
        assert major[0][0] + major[1][0] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("d, n_major", [(0.35, 1), (0.22, 2)])
def test_agent_based_runs_dock_with_the_rate_equation(d, n_major):
    """Away from the bifurcation, every run has the rate equation's major clusters at its positions."""
    predicted = rate_equation(d, cells_per_bound=20, t_end=300, dt=0.2).major()
    outer = (predicted[-1][0] - predicted[0][0]) / 2
    stats = ["culture_clusters", "culture_outer_distance", "culture_unclustered_share"]
    for seed in range(4):
        s = run(deffuant_scenario(d, 0.5, 1000, 300), seed, statistics=stats).statistics
        assert s["culture_clusters"] == n_major
        assert s["culture_outer_distance"] == pytest.approx(outer, abs=0.04)
        assert s["culture_unclustered_share"] < 0.02


def test_docking_experiment_files_are_the_docking_setup():
    """The experiment files anyone reruns describe exactly the setup the tests and figures use."""
    exp = load_experiment(ROOT / "validation" / "docking" / "bounded_confidence.toml")
    point = {"culture.confidence_bound": 0.25, "culture.convergence": 0.3}
    assert dict(exp.scenario_for(point)) == dict(deffuant_scenario(0.25, 0.3, 1000, 1000))
    size = load_experiment(ROOT / "validation" / "docking" / "bounded_confidence_size.toml")
    sc = size.scenario_for({"culture.confidence_bound": 0.25, "organisations.staff_b": 900})
    ref = deffuant_scenario(0.25, 0.5, 1000, 500).replace({"organisations.staff_a": 100, "organisations.staff_b": 900})
    assert dict(sc) == dict(ref)
    assert exp.final and size.final


# --- Harrison & Carroll (1991): culture under turnover, growth and decline -----------------------------
def demography(growth: float, turnover: float, steps: int = 156, n: int = 400):
    exp = load_experiment(ROOT / "validation" / "docking" / "demography.toml")
    sc = exp.scenario_for({"staff.growth_per_year": growth, "staff.turnover_per_year": turnover})
    return sc.replace({"run.steps": steps, "organisations.staff_a": n, "organisations.staff_b": n})


def test_culture_is_stronger_in_decline_than_in_growth():
    """Harrison & Carroll: with recruits less enculturated than incumbents, decline keeps culture strong."""
    finals = {}
    for g in (-0.2, 0.0, 0.2):
        runs = [run(demography(g, 0.3), seed).series for seed in range(3)]
        finals[g] = np.mean([s[["culture_a", "culture_b"]].iloc[-1].mean() for s in runs])
        heads = runs[0]["headcount_a"]
        assert (heads.iloc[-1] > heads.iloc[0]) if g > 0 else (heads.iloc[-1] <= heads.iloc[0])
    assert finals[-0.2] > finals[0.0] + 0.02 > finals[0.2] + 0.04


def test_culture_settles_even_under_high_turnover():
    """Harrison & Carroll: an equilibrium even with high turnover and growth; here it is the recruits' culture."""
    s = run(demography(0.3, 1.5, steps=520, n=300), 0).series
    last_year = s["culture_a"].iloc[-53:]
    assert last_year.max() - last_year.min() < 0.02
    assert s["culture_a"].iloc[-1] == pytest.approx(0.4, abs=0.03)
