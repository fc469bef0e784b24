"""Model invariants: bounds, headcount, determinism, switches, networks, Mesa views, outcomes."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sim import PARAMS, BuddyingModel, Scenario, ScenarioError, run
from sim.model.outcomes import BEDDED_IN, FAILED, UNDECIDED, OutcomeTracker
from sim.scenario import MECHANISMS

from .conftest import SMALL

ATTITUDES = ("culture", "tp", "tl", "loyalty", "fatigue")
FREE = [
    p
    for p in PARAMS
    if p.section not in ("run", "mechanisms")
    and p.key
    not in (
        "organisations.staff_a",
        "organisations.staff_b",
        "organisations.team_size",
        "organisations.teams_per_department",
        "organisations.team_degree",
        "leadership.exec_team_size",
    )
]


@st.composite
def scenarios(draw):
    """A small scenario with a random subset of parameters and switches changed within their ranges."""
    changes = dict(SMALL)
    changes["run.steps"] = 15
    changes["organisations.staff_a"] = draw(st.integers(20, 80))
    changes["organisations.staff_b"] = draw(st.integers(20, 120))
    for p in draw(st.lists(st.sampled_from(FREE), max_size=12, unique_by=lambda p: p.key)):
        if p.choices:
            changes[p.key] = draw(st.sampled_from(p.choices))
        elif p.kind is int:
            changes[p.key] = draw(st.integers(int(p.low), min(int(p.high), 20)))
        else:
            changes[p.key] = draw(st.floats(p.low, p.high, allow_nan=False))
    for m in draw(st.lists(st.sampled_from(MECHANISMS), max_size=4, unique=True)):
        changes[f"mechanisms.{m}"] = False
    try:
        return Scenario(changes)
    except ScenarioError:
        assume(False)


def check_bounds(model):
    s, sc = model.state, model.config
    for name in ATTITUDES:
        arr = getattr(s, name)
        assert np.all((arr >= 0.0) & (arr <= 1.0)), name
    assert np.all((s.l_commit >= 0.0) & (s.l_commit <= 1.0))
    # a tie is either new this week (or from the start: tie_initial) or survived the floor; never above 1
    floor, initial = sc["partnership.tie_floor"], sc["partnership.tie_initial"]
    assert np.all(((s.x_w >= floor) | (s.x_w == initial)) & (s.x_w <= 1.0))


@given(scenarios(), st.integers(0, 2**32))
def test_state_stays_in_bounds_and_headcount_is_conserved(sc, seed):
    model = BuddyingModel(sc, seed, agent_views=False)
    n_a, n_b = sc["organisations.staff_a"], sc["organisations.staff_b"]
    net = (model.state.e_u.copy(), model.state.e_v.copy())
    for _ in range(sc["run.steps"]):
        model.step()
        check_bounds(model)
        s = model.state
        assert s.n == n_a + n_b and (s.org == 0).sum() == n_a
        assert s.l_org.size == 2 * sc["leadership.exec_team_size"]
        assert np.all(s.org[s.x_u] == 0) and np.all(s.org[s.x_v] == 1)
        assert np.unique(s.x_u * s.n + s.x_v).size == s.x_u.size, "duplicate cross-organisation tie"
        if sc["mechanisms.staff_turnover"]:  # every leaver was replaced by a newcomer in the same post
            rec = model.records[-1]
            assert (s.tenure == 0).sum() == rec["leavers_a"] + rec["leavers_b"]
    assert np.array_equal(net[0], model.state.e_u) and np.array_equal(net[1], model.state.e_v)


@given(scenarios(), st.integers(0, 2**32))
def test_same_seed_same_result_bit_for_bit(sc, seed):
    a, b = run(sc, seed), run(sc, seed)
    assert a.series.equals(b.series)
    assert a.events == b.events and a.outcome == b.outcome and a.outcome_step == b.outcome_step


def test_different_seeds_differ(small):
    a, b = run(small, 1), run(small, 2)
    assert not a.series.equals(b.series)


def test_agent_views_do_not_change_the_dynamics(small):
    with_views = BuddyingModel(small, 5)
    without = BuddyingModel(small, 5, agent_views=False)
    with_views.run_to_end()
    without.run_to_end()
    assert pd.DataFrame(with_views.records).equals(pd.DataFrame(without.records))


# --- switching mechanisms off ---------------------------------------------------------------------
STAFF = ("culture", "tp", "tl", "loyalty", "fatigue", "adopted", "union", "tenure")
LEADERS = ("l_commit", "l_vacant", "l_tenure", "l_rel")
TIES = ("x_u", "x_v", "x_w")
#: What each submodel alone may change (engagement needs nothing else; unions amplify engagement).
WRITES = {
    "leadership_turnover": {"tl", *LEADERS},
    "messaging": {"tl", "tp"},
    "engagement": {"tl"},
    "unions": set(),
    "initiative_load": {"fatigue"},
    "joint_working": {"tp", "l_commit", "l_rel", *TIES},
    "competition": {"loyalty", "tp"},
    "peer_influence": {"culture", "tp"},
    "adoption": {"adopted"},
    "embedding": {"culture"},
    "staff_turnover": set(STAFF) | set(TIES),
    "quality": {"world"},
    "buddy_support": {"world", "l_commit"},
    "regulator": {"world", "tl", *LEADERS},
}
#: The metric that reports each state array.
STATE_METRICS = {
    "culture": ("culture_a", "culture_b"),
    "tp": ("partner_trust_a", "partner_trust_b"),
    "tl": ("leader_trust_a", "leader_trust_b"),
    "loyalty": ("loyalty_a", "loyalty_b"),
    "fatigue": ("fatigue_a", "fatigue_b"),
    "adopted": ("adoption_a", "adoption_b"),
    "l_commit": ("board_commitment_a", "board_commitment_b"),
    "l_vacant": ("interim_seats_a", "interim_seats_b"),
    "x_u": ("cross_ties",),
    "l_rel": ("board_relationship",),
    "world": ("quality_a", "quality_b", "special_measures", "escalations", "strain_b", "partnership_active"),
}
#: Parameter changes that make each submodel's effect certain to show within the run.
LIVELY = {
    "leadership.turnover_a": 20.0,
    "leadership.turnover_b": 20.0,
    "staff.turnover_per_year": 3.0,
    "organisations.adoption_a": 0.5,
    "staff.union_stance": "excluded",
    "run.steps": 20,
    "partnership.tie_growth_prob": 0.5,
    # the regulator inspects (and, with no progress, escalates) within the run
    "regulator.first_inspection_weeks": 5.0,
    "regulator.reinspection_weeks": 4.0,
    "regulator.progress_quality": 0.5,
    "regulator.max_escalations": 3,
    # B is strained beyond its capacity
    "partnership.buddy_capacity": 0.05,
}


def test_every_switch_declares_what_it_may_write():
    """The tests below are parametrised over WRITES: a switch missing from it would be skipped silently, so a
    new mechanism must state the state it alone may change (CONTRIBUTING.md, "Adding a mechanism", step 4)."""
    assert set(WRITES) == set(MECHANISMS), (
        f"switches without an entry in WRITES: {sorted(set(MECHANISMS) - set(WRITES))}; "
        f"entries that are no switch: {sorted(set(WRITES) - set(MECHANISMS))}"
    )
    unknown = {m: w - set(STATE_METRICS) - set(STAFF) - set(TIES) - set(LEADERS) for m, w in WRITES.items()}
    assert not any(unknown.values()), f"WRITES names state that does not exist: {unknown}"


def only(mechanisms, **extra):
    changes = {**SMALL, **LIVELY, **{f"mechanisms.{m}": m in mechanisms for m in MECHANISMS}, **extra}
    return Scenario(changes)


def changed(sc, seed=11):
    model = BuddyingModel(sc, seed, agent_views=False)
    before = model.snapshot()
    model.run_to_end()
    after = model.snapshot()
    return {k for k in before if before[k].shape != after[k].shape or not np.array_equal(before[k], after[k])}


def test_with_every_mechanism_off_nothing_moves():
    assert changed(only(())) == set()


@pytest.mark.parametrize("mechanism", sorted(WRITES))
def test_each_mechanism_alone_changes_only_its_own_state(mechanism):
    diff = changed(only((mechanism,)))
    assert diff <= WRITES[mechanism], f"{mechanism} changed {diff - WRITES[mechanism]}"
    # ... and, with LIVELY parameters, all of it (fatigue is 0 with no load, so newcomers' reset shows nothing)
    expected = WRITES[mechanism] - ({"fatigue"} if mechanism == "staff_turnover" else set())
    assert diff == expected, f"{mechanism} did not change {expected - diff}"


def test_unions_switch_removes_union_amplification():
    base = ("engagement",)
    eng = only(base)
    with_unions = only((*base, "unions"))
    a = BuddyingModel(eng, 3, agent_views=False)
    b = BuddyingModel(with_unions, 3, agent_views=False)
    a.run_to_end()
    b.run_to_end()
    members = a.state.union
    assert np.array_equal(a.state.tl[~members], b.state.tl[~members])  # non-members: unions change nothing
    assert not np.allclose(a.state.tl[members], b.state.tl[members])  # members: excluded unions pull trust down
    assert b.state.tl[members].mean() < a.state.tl[members].mean()


def metrics_written(mechanism: str) -> tuple[set[str], set[str]]:
    """(the submodel's own counters and outputs, the metrics of the state it writes)."""
    from sim.model.mechanisms import declarations

    own = set()
    for decl in declarations():
        if decl.name == mechanism:
            own = set(decl.counters) | set(decl.outputs)
    written = WRITES[mechanism] or {"tl", "adopted"}  # unions act through engagement and adoption
    state = {m for var in written for m in STATE_METRICS.get(var, ())}
    return own, state


@pytest.mark.parametrize("mechanism", sorted(WRITES))
def test_switching_one_mechanism_off_changes_the_metrics_it_writes(mechanism):
    """With every other submodel on, switching one off changes what it writes, not merely which random numbers
    are used (each draws from its own streams, so the others' numbers do not move): each of its counters and
    outputs, and at least one metric of the state it writes. A switch no engine implements fails here."""
    full = run(only(MECHANISMS), 4).series
    without = run(only(tuple(m for m in MECHANISMS if m != mechanism)), 4).series
    own, state = metrics_written(mechanism)
    for metric in own:
        assert not full[metric].equals(without[metric]), f"{mechanism}: {metric} did not change"
    assert any(not full[m].equals(without[m]) for m in state), f"{mechanism}: none of {sorted(state)} changed"


# --- networks --------------------------------------------------------------------------------------
def test_work_network_is_a_clustered_small_world():
    sc = Scenario({"organisations.staff_a": 2000, "organisations.staff_b": 3000, "run.steps": 1})
    model = BuddyingModel(sc, 1, agent_views=False)
    g = model.network(include_cross=False)
    degrees = np.array([d for _, d in g.degree()])
    assert 5.0 < degrees.mean() <= 6.0
    assert nx.average_clustering(g) > 0.3  # teams are cliquish
    assert nx.number_connected_components(g) < 0.02 * g.number_of_nodes()
    random = nx.gnm_random_graph(g.number_of_nodes(), g.number_of_edges(), seed=1)
    assert nx.average_clustering(g) > 20 * nx.average_clustering(random)
    orgs = nx.get_node_attributes(g, "org")
    assert all(orgs[u] == orgs[v] for u, v in g.edges()), "work ties stay inside an organisation"


def test_cross_ties_follow_history_geography_and_scope():
    def ties(**kw):
        return BuddyingModel(Scenario({**SMALL, **kw}), 1, agent_views=False).state.x_u.size

    assert ties(**{"system.history": 0.8}) > ties() > ties(**{"system.history": -0.8}) >= 0
    assert ties(**{"system.geographic_proximity": 1.0}) > ties(**{"system.geographic_proximity": 0.2})
    assert ties(**{"partnership.bridge_scope": "leaders"}) == 0
    m = BuddyingModel(Scenario({**SMALL, "partnership.bridge_scope": "managers"}), 1, agent_views=False)
    assert np.all(m.state.role[m.state.x_u] == 1) and np.all(m.state.role[m.state.x_v] == 1)


def test_cross_ties_grow_with_success_and_decay_without_contact():
    grow = run(
        Scenario({**SMALL, "partnership.base_success": 0.99, "partnership.tie_growth_prob": 0.5, "run.steps": 40}), 2
    ).series
    assert grow["cross_ties"].iloc[-1] > grow["cross_ties"].iloc[0]
    fade = run(
        Scenario({**SMALL, "partnership.meetings_per_year": 0.0, "partnership.tie_decay": 0.2, "run.steps": 40}), 2
    ).series
    assert fade["cross_ties"].iloc[-1] == 0 < fade["cross_ties"].iloc[0]


# --- Mesa views --------------------------------------------------------------------------------------
def test_mesa_agents_are_views_onto_the_arrays(small):
    model = BuddyingModel(small, 3)
    staff = model.staff()
    assert len(staff) == small["organisations.staff_a"] + small["organisations.staff_b"]
    assert len(model.staff("A")) == small["organisations.staff_a"]
    assert len(model.leaders("B")) == small["leadership.exec_team_size"]
    model.step()
    agent = next(iter(model.staff("B")))
    assert agent.org == "B" and agent.role in ("clinical", "managerial", "support")
    assert agent.culture == model.state.culture[agent.index]
    agent.trust_partner = 0.123
    assert model.state.tp[agent.index] == 0.123
    ceo = next(ld for ld in model.leaders("A") if ld.seat == 0)
    assert 0.0 <= ceo.commitment <= 1.0 and 0.0 <= ceo.visibility <= 1.0
    assert np.mean(model.staff("A").get("culture")) == pytest.approx(model.metrics["culture_a"])


# --- outcomes -----------------------------------------------------------------------------------------
def metrics(trust, adoption, board, ta=None):
    return {
        "trust_min": trust,
        "adoption_min": adoption,
        "board_min": board,
        "partner_trust_a": trust if ta is None else ta,
        "partner_trust_b": 1.0,
        "board_commitment_a": board,
        "board_commitment_b": 1.0,
    }


def tracker():
    return OutcomeTracker(bed_trust=0.6, bed_adoption=0.5, bed_weeks=4, floor=0.3, fail_weeks=3, exodus_rate=0.3)


def test_bedding_in_needs_a_sustained_spell():
    t, ev = tracker(), []
    for week, (tr, ad) in enumerate([(0.5, 0.5)] + [(0.7, 0.6)] * 3 + [(0.5, 0.6)] + [(0.7, 0.6)] * 4):
        t.update(week, metrics(tr, ad, 0.8), ev)
    assert t.outcome == BEDDED_IN and t.step == 8
    assert any(e["kind"] == "crossed_trust_above_bed_in" for e in ev)


def test_failure_routes():
    # A's board: below the floor for fail_weeks in a row (a week above resets the spell)
    t, ev = tracker(), []
    for week, board in enumerate([0.8, 0.2, 0.2, 0.5, 0.2, 0.2, 0.2]):
        t.update(week, metrics(0.5, 0.1, board), ev)
    assert (t.outcome, t.step, t.route) == (FAILED, 6, "board_a") and "A's board withdrew" in t.reason
    assert ev[-1]["kind"] == "failed" and ev[-1]["route"] == "board_a"
    # the buddy's board
    t = tracker()
    for week in range(5):
        m = metrics(0.5, 0.1, 0.8)
        m["board_commitment_b"] = 0.1
        t.update(week, m, [])
    assert (t.outcome, t.step, t.route) == (FAILED, 3, "board_b") and "buddy" in t.reason
    # the staff
    t = tracker()
    for week in range(5):
        t.update(week, metrics(0.2, 0.9, 0.8), [])
    assert (t.outcome, t.step, t.route) == (FAILED, 3, "staff") and "staff partner trust" in t.reason
    # an exodus: A loses staff at 40%/yr over 26 weeks (26 x 8 of 1,000 staff, x 2 for a year)
    t = tracker()
    for week in range(30):
        m = metrics(0.5, 0.1, 0.8)
        m.update(leavers_a=8, headcount_a=1000)
        t.update(week, m, [])
    assert (t.outcome, t.step, t.route) == (FAILED, 26, "exodus") and "exodus" in t.reason
    calm = tracker()
    for week in range(30):
        m = metrics(0.5, 0.1, 0.8)
        m.update(leavers_a=2, headcount_a=1000)
        calm.update(week, m, [])
    assert calm.outcome == UNDECIDED
    # the regulator
    t = tracker()
    t.update(0, metrics(0.5, 0.1, 0.8), [])
    t.update(1, metrics(0.5, 0.1, 0.8), [{"step": 1, "kind": "partnership_ended_by_regulator", "escalations": 2}])
    assert (t.outcome, t.step, t.route) == (FAILED, 1, "regulator")


def test_exit_and_reentry_weeks_come_from_the_regulators_events():
    t = tracker()
    for week in range(10):
        ev = [{"step": week, "kind": k} for k, w in (("exited_special_measures", 4), ("reentered_special_measures", 8))
              if w == week]  # fmt: skip
        t.update(week, metrics(0.5, 0.1, 0.8), ev)
    assert (t.exit_step, t.reentry_step) == (4, 8)


def test_first_decision_stands():
    t = tracker()
    for week in range(10):
        t.update(week, metrics(0.2, 0.1, 0.2), [])
    for week in range(10, 30):
        t.update(week, metrics(0.9, 0.9, 0.9), [])
    assert t.outcome == FAILED and t.step == 3


def test_undecided_when_nothing_holds(small):
    t = tracker()
    for week in range(20):
        t.update(week, metrics(0.45, 0.45, 0.45), [])
    assert t.outcome == UNDECIDED and t.step is None


def test_run_reports_outcome_series_and_events(small):
    r = run(small, 7)
    assert r.outcome in (BEDDED_IN, FAILED, UNDECIDED)
    assert list(r.series["step"]) == list(range(small["run.steps"] + 1))
    for col in ("partner_trust_a", "culture_b", "loyalty_a", "adoption_b", "board_commitment_a", "cross_ties"):
        assert col in r.series
    assert all({"step", "kind", "org"} <= set(e) for e in r.events)
    assert (r.outcome_step is None) == (r.outcome == UNDECIDED)


def test_extreme_turnover_rates_stay_finite():
    """Found by hypothesis: a near-zero turnover rate once gave an overflowing initial tenure."""
    for rate in (1e-40, 10.0):
        sc = Scenario({**SMALL, "staff.turnover_per_year": rate, "leadership.turnover_a": 0.0})
        model = BuddyingModel(sc, 1, agent_views=False)
        model.run_to_end()
        check_bounds(model)
        assert np.all(np.isfinite(model.state.culture)) and model.state.tenure.max() <= 45 * 52 + 30


def test_agent_views_say_which_posts_are_filled_when_headcounts_change():
    from sim.scenario import MECHANISMS

    only = {f"mechanisms.{m}": m == "staff_turnover" for m in MECHANISMS}
    sc = Scenario(
        {
            "organisations.staff_a": 50,
            "organisations.staff_b": 60,
            "organisations.team_size": 10,
            "staff.growth_per_year": 0.5,
            "staff.turnover_per_year": 1.0,
            "run.steps": 52,
            **only,
        }
    )
    model = BuddyingModel(sc, 3)
    staff = [a for a in model.agents if hasattr(a, "in_post")]
    assert sum(a.in_post for a in staff) == 110 < len(staff)
    model.run_to_end()
    rec = model.records[-1]
    assert sum(a.in_post for a in staff) == rec["headcount_a"] + rec["headcount_b"] == 165
    assert all(
        a.in_post
        for a in BuddyingModel(Scenario({"organisations.staff_a": 20, "organisations.staff_b": 20}), 1).agents
        if hasattr(a, "in_post")
    )
