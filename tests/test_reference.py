"""The fast engine and the one-agent-at-a-time reference give the same trajectories."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import BuddyingModel, ReferenceModel, Scenario, load_scenario, run
from sim.scenario import MECHANISMS

from .conftest import SMALL
from .test_model import scenarios

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-12


def assert_same(sc, seed):
    """The compiled and the array engine each give the reference's trajectories, state, events and outcome."""
    ref = ReferenceModel(sc, seed)
    ref.run_to_end()
    b, sb = pd.DataFrame(ref.records), ref.snapshot()
    for engine in ("compiled", "array"):
        fast = BuddyingModel(sc, seed, agent_views=False, engine=engine)
        fast.run_to_end()
        a = pd.DataFrame(fast.records)
        assert list(a.columns) == list(b.columns)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=TOL, check_dtype=False, obj=engine)
        sa = fast.snapshot()
        for key in sb:
            assert sa[key].shape == sb[key].shape, (engine, key)
            np.testing.assert_allclose(
                sa[key].astype(float), sb[key].astype(float), rtol=0, atol=TOL, err_msg=f"{engine}: {key}"
            )
        assert fast.events == ref.events, engine
        assert (fast.outcome, fast.outcome_step) == (ref.outcome, ref.outcome_step), engine
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
    assert_same(sc, 3)


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


@settings(max_examples=10)
@given(scenarios(), st.integers(0, 2**32))
def test_random_scenarios(sc, seed):
    assert_same(sc, seed)


def test_run_api_engines_agree():
    sc = Scenario({**SMALL, "run.steps": 25})
    a, b, c = run(sc, 4), run(sc, 4, engine="reference"), run(sc, 4, engine="array")
    assert a.engine == "compiled"
    for other in (b, c):
        pd.testing.assert_frame_equal(a.series, other.series, check_exact=False, rtol=0, atol=TOL, check_dtype=False)
        assert a.outcome == other.outcome
    assert run(sc, 4, engine="fast").series.equals(c.series)  # the array engine's former name
    with pytest.raises(ValueError, match="compiled"):
        run(sc, 4, engine="numba")


def test_compiled_engine_matches_the_array_engine_at_full_size():
    """Every bundled default-size scenario, three years: same events and outcome; metrics to 1e-12."""
    for name in ("baseline", "high_competition", "place_based_goodwill"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        a, b = run(sc, 11, engine="compiled"), run(sc, 11, engine="array")
        pd.testing.assert_frame_equal(a.series, b.series, check_exact=False, rtol=0, atol=TOL, check_dtype=False)
        assert a.events == b.events and (a.outcome, a.outcome_step) == (b.outcome, b.outcome_step)


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


def test_growth_targets_round_alike_in_every_engine():
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
    a, b = run(sc, 1, engine="compiled"), run(sc, 1, engine="array")
    assert a.series.loc[104, "headcount_a"] == b.series.loc[104, "headcount_a"] == 1323
    pd.testing.assert_frame_equal(a.series, b.series, check_exact=False, rtol=0, atol=TOL, check_dtype=False)


@settings(max_examples=15)
@given(
    st.floats(-0.5, 1.0).filter(lambda g: abs(g) > 1e-3),
    st.floats(0.0, 3.0),
    st.integers(10, 300),
    st.integers(10, 300),
    st.booleans(),
    st.integers(0, 2**32),
)
def test_random_growth_and_decline(growth, turnover, n_a, n_b, leaders, seed):
    """Changing headcounts: the three engines agree (targets, vacancies, hiring order, means over staff in post)."""
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
