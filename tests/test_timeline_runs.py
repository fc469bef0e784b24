"""Timelines run in both engines: a week-0 change equals the same change in the file, every action does what it
says, the two engines agree with timelines, and every parameter a timeline may change is read during the run."""

import numpy as np
import pandas as pd
import pytest

from sim import Scenario, Simulation, run, scenario_from_toml
from sim.model.mechanisms import declarations
from sim.scenario import PARAMS
from sim.timeline import fixed_reason

from .conftest import SMALL
from .test_reference import assert_same

BASE = "[organisations]\nstaff_a = 60\nstaff_b = 90\nteam_size = 10\n[partnership]\nties_per_100_staff = 40.0\n[run]\nsteps = 40\n"


def sc_with(timeline: str) -> Scenario:
    return scenario_from_toml(BASE + timeline, source="t.toml")


def test_a_set_at_week_0_equals_the_same_change_in_the_file():
    timed = sc_with('[[timeline]]\nat = 0\naction = "set"\nset = {"system.competition" = 0.9}\n')
    written = scenario_from_toml(BASE + "[system]\ncompetition = 0.9\n", source="f.toml")
    for engine in ("compiled", "reference"):
        a, b = run(timed, 5, engine=engine), run(written, 5, engine=engine)
        cols = [c for c in a.series.columns if c != "timeline_actions"]
        pd.testing.assert_frame_equal(a.series[cols], b.series[cols], check_exact=True)
        assert [e for e in a.events if e["kind"] != "timeline"] == b.events
        assert a.series["timeline_actions"].iloc[0] == 1 and a.series["timeline_actions"].iloc[1:].sum() == 0


def test_actions_do_what_they_say():
    # set: no joint-working contact from week 10 on
    r = run(sc_with('[[timeline]]\nat = 10\naction = "set"\nset = {"partnership.meetings_per_year" = 0.0}\n'), 3)
    assert r.series.loc[1:9, "encounters"].sum() > 0 and r.series.loc[10:, "encounters"].sum() == 0
    # replace the chief executive of A at week 12 with an interim: the seat is vacant and new that week
    sim = Simulation(
        sc_with('[[timeline]]\nat = 12\naction = "replace_chief_executive"\norg = "A"\ninterim = true\n'), 3
    )
    for _ in range(12):
        sim.step()
    # replaced at the start of week 12, before the week's submodels: a week in post since (unless appointed at once)
    appointed = any(e["kind"] == "appointment" and e["step"] == 12 and e["seat"] == 0 for e in sim.events)
    assert (sim.state.l_vacant[0] or appointed) and sim.state.l_tenure[0] <= 1
    assert any(e["kind"] == "timeline" and e["step"] == 12 and e["org"] == "A" for e in sim.events)
    # the buddy withdraws at week 8: the partnership fails then, by the buddy's route, and joint working stops
    r = run(sc_with('[[timeline]]\nat = 8\naction = "buddy_withdraws"\n'), 3)
    assert (r.outcome, r.outcome_step) == ("failed", 8) and "buddy" in r.reason
    assert r.series.loc[9:, "encounters"].sum() == 0 and r.series.loc[9:, "partnership_active"].max() == 0
    # a new initiative at week 5 raises the load: fatigue climbs faster than without it
    with_new = run(sc_with('[[timeline]]\nat = 5\naction = "new_initiative"\ncount = 4\n'), 3).series
    without = run(sc_with(""), 3).series
    assert (with_new.loc[:4, "fatigue_a"] == without.loc[:4, "fatigue_a"]).all()  # it acts from week 5 on
    assert with_new["fatigue_a"].iloc[-1] > without["fatigue_a"].iloc[-1]
    # a condition fires the week after the metrics meet it, and repeats with its gap
    r = run(sc_with('[[timeline]]\nwhen = "week >= 3"\nrepeat = true\nmin_gap = 10\naction = "new_initiative"\n'), 3)
    assert [e["step"] for e in r.events if e["kind"] == "timeline"] == [3, 13, 23, 33]


@pytest.mark.parametrize(
    "timeline",
    [
        '[[timeline]]\nat = 6\naction = "replace_board_member"\norg = "B"\nseat = 2\n',
        '[[timeline]]\nat = 4\naction = "union_stance"\nstance = "excluded"\n'
        '[[timeline]]\nwhen = "partner_trust_a < 0.6"\naction = "set"\nset = {"leadership.message_alignment" = 0.9}\n',
        '[[timeline]]\nat = 15\naction = "buddy_withdraws"\n[[timeline]]\nat = 3\naction = "replace_chief_executive"\norg = "A"\n',
    ],
)
def test_both_engines_agree_with_timelines(timeline):
    assert_same(sc_with(timeline), 7)


def test_every_parameter_a_timeline_may_change_is_read_during_the_run():
    """A parameter that a timeline may set must reach the kernels' parameters or the newcomers' rules when it
    changes mid-run; otherwise the change would silently do nothing (it belongs in FIXED_DURING_RUN)."""
    # off-centre values where a weight multiplies (value - 0.5) or history: at the centre it would read as unread
    sim = Simulation(Scenario({**SMALL, "system.regulatory_alignment": 0.7, "system.history": 0.3}), 1)
    engine = sim.engine
    p0, spec0 = engine.p.copy(), engine.newcomer_spec.copy()
    unread = []
    for param in PARAMS:
        if fixed_reason(param.key) or param.kind is bool:
            continue
        if param.choices:
            other = next(c for c in param.choices if c != param.default)
        elif param.kind is int:
            other = param.default + 1 if param.high is None or param.default < param.high else param.default - 1
        else:
            lo, hi = param.low if param.low is not None else 0.0, param.high if param.high is not None else 1.0
            other = param.default + 0.1 * (hi - lo) if param.default + 0.1 * (hi - lo) <= hi else lo
        try:
            changed = sim.config.replace({param.key: other})
        except Exception:  # a value the cross-checks refuse (a Beta too wide): try a smaller step
            continue
        engine.set_scenario(changed)
        if np.array_equal(engine.p, p0) and np.array_equal(engine.newcomer_spec, spec0):
            unread.append(param.key)
        engine.set_scenario(sim.config)
    assert unread == [], f"read only when the run starts, yet allowed in a timeline: {unread}"
    assert declarations()  # the submodels were loaded


# --- what a timeline did, on the figures and the page ---------------------------------------------------------
def test_marks_count_the_runs_each_firing_happened_in():
    from hypothesis import given
    from hypothesis import strategies as st

    from sim.timeline import firings, marks

    @given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 60), st.sampled_from(["x", "y"])), max_size=40))
    def check(fired):
        got = marks(fired)
        assert [(m.week, m.label) for m in got] == sorted({(w, label) for _, w, label in fired})
        for m in got:
            assert m.runs == len({r for r, w, label in fired if (w, label) == (m.week, m.label)})

    check()
    events = [
        (0, {"step": 26, "kind": "timeline", "action": "replace_leader", "entry": 0, "label": "new CEO"}),
        (0, {"step": 30, "kind": "departure", "org": "A"}),
        (1, {"step": 26, "kind": "timeline", "action": "replace_leader", "entry": 0, "label": None}),
    ]
    assert firings(events) == [(0, 26, "new CEO"), (1, 26, "replace_leader (entry 0)")]


def test_a_timeline_scenario_shows_its_actions_in_the_run_folder_the_comparison_and_the_page(tmp_path, cli):
    from sim.analysis.compare import sample_from_folder
    from sim.ui.draw import chart_geometry, charts_overlay
    from sim.ui.view import Series, Structure, snapshot

    code, _out, err = cli("run", "new_chief_executive_at_six_months", "-r", "3", "--steps", "40", "--out", tmp_path)
    assert code == 0, err
    events = pd.read_csv(tmp_path / "events.csv")
    fired = events[events["kind"] == "timeline"]
    assert sorted(fired["replication"]) == [0, 1, 2] and set(fired["step"]) == {26}
    sample = sample_from_folder(tmp_path)
    assert sample.timeline == [(r, 26, "A's chief executive replaced") for r in range(3)]
    assert (tmp_path / "trajectories.png").stat().st_size > 0

    from sim import load_scenario
    from sim.model.model import BuddyingModel

    model = BuddyingModel(load_scenario("new_chief_executive_at_six_months").replace({"run.steps": 40}), seed=1)
    for _ in range(30):
        model.step()
    view = snapshot(model, Series(), Structure.of(model))
    geo = chart_geometry(800, 400, 14, ["partner_trust", "adoption"], view.horizon, [view], model.scenario)
    svg = charts_overlay([view], geo)
    assert svg.count('class="timeline-mark"') == 2 and "week 26: A&#x27;s chief executive replaced" in svg
