"""The compiled engine and the one-agent-at-a-time reference give the same trajectories.

Both engines take the same random numbers (by mechanism, site, week and slot) and add in the same order, so
they agree bit for bit: every comparison here is exact (the contract in the docs is 1e-12 on metrics; exact
equality is what the engines deliver, and checking it catches a drift the tolerance would hide).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import Scenario, Simulation, load_scenario, run
from sim.scenario import MECHANISMS

from .conftest import SMALL
from .test_model import scenarios

ROOT = Path(__file__).resolve().parents[1]


def assert_same(sc, seed):
    """The compiled engine gives the reference's trajectories, final state, events and outcome."""
    ref = Simulation(sc, seed, engine="reference")
    ref.run_to_end()
    fast = Simulation(sc, seed, engine="compiled")
    fast.run_to_end()
    a, b = pd.DataFrame(fast.records), pd.DataFrame(ref.records)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=False)
    sa, sb = fast.snapshot(), ref.snapshot()
    assert set(sa) == set(sb)
    for key in sb:
        assert sa[key].shape == sb[key].shape, key
        assert np.array_equal(sa[key].astype(float), sb[key].astype(float)), key
    assert fast.events == ref.events
    assert (fast.outcome, fast.outcome_step) == (ref.outcome, ref.outcome_step)
    return fast


@pytest.mark.parametrize(
    "name",
    [
        "baseline",
        "unstable_leadership",
        "mixed_messages",
        "large_buddy_imposes",
        "place_based_goodwill",
        "narrow_bridges",
        "unions_excluded",
        "unions_as_partners",
        "too_many_changes",
    ],
)
def test_bundled_scenarios_small(name):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    scale = {
        "organisations.staff_a": min(sc["organisations.staff_a"], 120),
        "organisations.staff_b": min(sc["organisations.staff_b"], 200),
        "run.steps": 60,
        "partnership.ties_per_100_staff": 25.0,
    }
    model = assert_same(sc.replace(scale), 17)
    assert model.records[-1]["step"] == 60


@pytest.mark.parametrize("mixing", ["network", "well_mixed"])
@pytest.mark.parametrize("scope", ["wide", "managers", "leaders"])
def test_mixing_and_bridge_scopes(mixing, scope):
    sc = Scenario(
        {
            **SMALL,
            "culture.mixing": mixing,
            "partnership.bridge_scope": scope,
            "partnership.tie_growth_prob": 0.5,
            "run.steps": 40,
        }
    )
    model = assert_same(sc, 3)
    if scope != "leaders":
        assert sum(r["ties_formed"] for r in model.records) > 0  # the growth rule was exercised


def test_immediate_appointments_and_heavy_turnover():
    sc = Scenario(
        {
            **SMALL,
            "leadership.interim_weeks": 0.0,
            "leadership.turnover_a": 30.0,
            "staff.turnover_per_year": 4.0,
            "run.steps": 40,
        }
    )
    model = assert_same(sc, 9)
    assert any(e["kind"] == "departure" and not e["interim"] for e in model.events)


@given(scenarios(), st.integers(0, 2**32))
def test_random_scenarios(sc, seed):
    """As many examples as the hypothesis profile asks for (HYPOTHESIS_PROFILE=thorough: 400)."""
    assert_same(sc, seed)


def test_run_api_engines_agree():
    sc = Scenario({**SMALL, "run.steps": 25})
    a, b = run(sc, 4), run(sc, 4, engine="reference")
    assert (a.engine, b.engine) == ("compiled", "reference")
    pd.testing.assert_frame_equal(a.series, b.series, check_exact=True, check_dtype=False)
    assert a.outcome == b.outcome and a.events == b.events
    for retired in ("array", "fast", "numba"):
        with pytest.raises(ValueError, match="'compiled', 'reference'"):
            run(sc, 4, engine=retired)


@pytest.mark.parametrize("growth", [0.6, -0.4])
def test_growth_and_decline(growth):
    """Headcounts that change (vacant posts, hiring up to a target) follow the same rules in both engines."""
    only = {f"mechanisms.{m}": m in ("staff_turnover", "leadership_turnover") for m in MECHANISMS}
    sc = Scenario({**SMALL, **only, "staff.growth_per_year": growth, "staff.turnover_per_year": 0.8, "run.steps": 80})
    model = assert_same(sc, 5)
    heads = pd.DataFrame(model.records)[["headcount_a", "headcount_b"]]
    start, end = heads.iloc[0], heads.iloc[-1]
    if growth > 0:
        assert (end > start).all() and (heads.diff().dropna() >= 0).all().all()
    else:
        assert (end < start).all()


def test_growth_targets_round_alike_in_both_engines():
    """1,000 x 1.15^(104/52) = 1322.5 at week 104: numba's x ** int (repeated multiplication) once rounded it
    to 1322 where numpy's pow gives 1323, and the compiled engine's trajectories drifted from the others."""
    only = {f"mechanisms.{m}": m == "staff_turnover" for m in MECHANISMS}
    sc = Scenario(
        {
            **only,
            "organisations.staff_a": 1000,
            "organisations.staff_b": 1000,
            "staff.growth_per_year": 0.15,
            "staff.turnover_per_year": 0.3,
            "run.steps": 106,
        }
    )
    a, b = run(sc, 1, engine="compiled"), run(sc, 1, engine="reference")
    assert a.series.loc[104, "headcount_a"] == b.series.loc[104, "headcount_a"] == 1323
    pd.testing.assert_frame_equal(a.series, b.series, check_exact=True, check_dtype=False)


@given(
    st.floats(-0.5, 1.0).filter(lambda g: abs(g) > 1e-3),
    st.floats(0.0, 3.0),
    st.integers(10, 300),
    st.integers(10, 300),
    st.booleans(),
    st.integers(0, 2**32),
)
def test_random_growth_and_decline(growth, turnover, n_a, n_b, leaders, seed):
    """Changing headcounts: both engines agree (targets, vacancies, hiring order, means over staff in post)."""
    only = {f"mechanisms.{m}": m == "staff_turnover" or (leaders and m == "leadership_turnover") for m in MECHANISMS}
    sc = Scenario(
        {
            **only,
            "organisations.staff_a": n_a,
            "organisations.staff_b": n_b,
            "organisations.team_size": 10,
            "staff.growth_per_year": growth,
            "staff.turnover_per_year": turnover,
            "run.steps": 60,
        }
    )
    assert_same(sc, seed)
