"""The record's patterns: statistics on synthetic run data with hand-computed answers (censoring included),
deviances, 'not computable' for outputs the model lacks, and the registry's file form."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.validation import patterns as pt
from sim.validation.patterns import (
    Batch,
    CounterRate,
    EventBalance,
    EventShare,
    EventTenure,
    EventTimeGroups,
    EventTimeMean,
    Outputs,
    RunRecord,
    evaluate,
    kaplan_meier,
    pattern_from_table,
)

M = pt.WEEKS_PER_MONTH


def run(horizon=209, **events):
    """A run with events given as kind=[weeks...]."""
    evs = sorted(({"step": w, "kind": k, "org": None} for k, ws in events.items() for w in ws), key=lambda e: e["step"])
    return RunRecord("undecided", None, horizon, evs)


def test_kaplan_meier_by_hand_with_censoring():
    # times 2, 3+, 3, 5, 8+ (+ = censored): S(2) = 4/5; at 3, 4 at risk, 1 event: 0.8 * 3/4; at 5, 2 at risk: 0.6 / 2
    ev, s = kaplan_meier(np.array([2, 3, 3, 5, 8]), np.array([1, 0, 1, 1, 0], bool))
    assert ev.tolist() == [2, 3, 5]
    assert s == pytest.approx([0.8, 0.6, 0.3])
    assert pt.survival_at(ev, s, 1.9) == 1.0 and pt.survival_at(ev, s, 4) == pytest.approx(0.6)
    assert pt.survival_at(ev, s, 100) == pytest.approx(0.3)  # beyond the last event: the last value


def test_event_times_take_the_nth_occurrence_and_censor_at_the_horizon():
    b = Batch(
        [
            run(exited=[40], reentered=[90]),
            run(horizon=150),
            run(exited=[20, 120]),
        ]
    )
    t, seen = b.event_times("exited")
    assert t.tolist() == [40, 150, 20] and seen.tolist() == [True, False, True]
    t, seen = b.event_times("exited", occurrence=2)
    assert t.tolist() == [209, 150, 120] and seen.tolist() == [False, False, True]
    assert b.horizon == 150
    dep = Batch(
        [
            RunRecord(
                "undecided",
                None,
                52,
                [
                    {"step": 3, "kind": "departure", "org": "A", "seat": 0},
                    {"step": 9, "kind": "departure", "org": "B", "seat": 0},
                    {"step": 11, "kind": "departure", "org": "A", "seat": 2},
                ],
            )
        ]
    )
    assert dep.event_counts("departure", {"org": "A", "seat": 0}).tolist() == [1]
    assert dep.event_counts("departure").tolist() == [3]


def test_event_share_binomial_deviance_by_hand():
    # 3 of 8 runs exit by 12 months (52 weeks); record 5 of 11
    runs = [run(exited=[w]) for w in (10, 30, 52)] + [run(exited=[53]), run(exited=[150])] + [run() for _ in range(3)]
    p = EventShare("x", "", "", event="exited", by_months=12, k=5, n=11)
    ev = evaluate(p, Batch(runs))
    assert ev.statistic["count"] == 3 and ev.statistic["share"] == pytest.approx(3 / 8)
    q = (3 + 0.5) / (8 + 1)  # half a count each side
    by_hand = 2 * (5 * math.log((5 / 11) / q) + 6 * math.log((6 / 11) / (1 - q)))
    assert ev.deviance == pytest.approx(by_hand)
    assert ev.df == 1 and ev.reproduced == (by_hand <= 3.841458820694124)
    assert ev.signed_root == pytest.approx(-math.sqrt(by_hand))  # the model is below the record
    # within = false counts the runs *without* the event by then (exits after 52 weeks and censored runs)
    later = evaluate(EventShare("y", "", "", event="exited", by_months=12, k=10, n=27, within=False), Batch(runs))
    assert later.statistic["count"] == 5


def test_time_groups_from_kaplan_meier_by_hand():
    # 4 runs over 209 weeks: exits at 10 and 60 weeks, two censored -> groups [0,12), [12,24), 24+ = 1/4, 1/4, 1/2
    b = Batch([run(exited=[10]), run(exited=[60]), run(), run()])
    p = EventTimeGroups("g", "", "", event="exited", groups=((0, 12, 5), (12, 24, 6), (24, -1, 0)))
    ev = evaluate(p, b)
    assert [ev.statistic[k] for k in ("0-12 months", "12-24 months", "24+ months")] == pytest.approx([0.25, 0.25, 0.5])
    probs = [(0.25 * 4 + 0.5) / (4 + 1.5), (0.25 * 4 + 0.5) / (4 + 1.5)]
    by_hand = 2 * (5 * math.log((5 / 11) / probs[0]) + 6 * math.log((6 / 11) / probs[1]))
    assert ev.deviance == pytest.approx(by_hand) and ev.df == 2


def test_time_groups_use_the_censored_remainder():
    # one run censored early (horizon 60 of a pooled batch): KM, not the raw share, gives the later groups
    runs = [run(exited=[10]), run(horizon=60), run(exited=[70]), run(exited=[200])]
    _ev, s = kaplan_meier(*Batch(runs).event_times("exited"))
    # at 10: 4 at risk -> 3/4; at 70: 2 at risk (70, 200) -> 3/8; at 200: 1 at risk -> 0
    assert s == pytest.approx([0.75, 0.375, 0.0])
    p = EventTimeGroups("g", "", "", event="exited", groups=((0, 12, 1), (12, 24, 1), (24, -1, 1)))
    stat = p.statistic(Batch(runs))
    assert stat["0-12 months"] == pytest.approx(0.25)
    assert stat["12-24 months"] == pytest.approx(0.75 - 0.375)  # S(12 months) - S(24 months)
    assert stat["24+ months"] == pytest.approx(0.375)


def test_mean_time_counts_only_events_within_the_window_and_imputes_none():
    p = EventTimeMean("m", "", "", event="exited", within_months=48, low=20.5, high=24, sd=2.5)
    b = Batch([run(exited=[M * 10]), run(exited=[M * 30]), run(exited=[M * 49 + 1]), run()])
    ev = evaluate(p, b)
    assert ev.statistic["mean_months"] == pytest.approx(20.0) and ev.statistic["count"] == 2
    assert ev.deviance == pytest.approx((0.5 / 2.5) ** 2)
    none = evaluate(p, Batch([run(), run()]))  # nobody exits: scored as the latest possible mean (48 months)
    assert math.isnan(none.statistic["mean_months"]) and none.deviance == pytest.approx(((48 - 24) / 2.5) ** 2)


def test_balance_rate_and_tenure_by_hand():
    b = Batch([run(failed=[30]), run(bedded_in=[40], failed=[60]), run(bedded_in=[20]), run()])
    ev = evaluate(EventBalance("b", "", "", first="failed", second="bedded_in", value_=0.5, sd=0.15), b)
    assert ev.statistic["share"] == pytest.approx(1 / 3) and ev.statistic["decided"] == 3  # failure first in 1 of 3
    assert ev.deviance == pytest.approx(((0.5 - 1 / 3) / 0.15) ** 2)
    rr = [
        RunRecord(
            "undecided",
            None,
            104,
            [],
            {"leavers_a": [0, 1] * 52 + [1], "leavers_b": [0] * 105},
            {"organisations.staff_a": 100, "organisations.staff_b": 300},
        )
    ]
    rate = evaluate(
        CounterRate(
            "r",
            "",
            "",
            metrics=("leavers_a", "leavers_b"),
            per=("organisations.staff_a", "organisations.staff_b"),
            low=0.1,
            high=0.15,
            sd=0.01,
        ),
        Batch(rr),
    )
    assert rate.statistic["rate"] == pytest.approx(53 / (400 * 2))  # week 0 is the start: not counted
    assert rate.deviance == pytest.approx(((0.1 - 53 / 800) / 0.01) ** 2)
    ten = EventTenure("t", "", "", event="departure", where={"org": "A", "seat": 0}, months=11, sd=3)
    dep = [{"step": w, "kind": "departure", "org": "A", "seat": 0} for w in (30, 90, 150)]
    stat = ten.statistic(Batch([RunRecord("undecided", None, 156, dep)]))
    assert stat["median_months"] == pytest.approx(math.log(2) * (156 / M) / 3)


def test_not_computable_names_what_the_model_lacks():
    outputs = Outputs(frozenset({"bedded_in", "failed"}), frozenset({"leavers_a"}), 156, "declared by sim.model")
    exit_p = pt.REGISTRY["exit_12m_2013"]
    ev = evaluate(exit_p, Batch([run()]), outputs)
    assert not ev.computable and ev.deviance != ev.deviance and ev.reproduced is None
    assert "emits no `exited_special_measures` event" in ev.reason
    assert ev.signed_root == 0.0
    assert "reports no metric `leavers_b`" in pt.check(pt.REGISTRY["staff_turnover"], outputs)
    # a horizon too short for the pattern is named too
    long = pt.REGISTRY["time_to_exit_2013"]
    short = Outputs(frozenset({"exited_special_measures"}), frozenset(), 156)
    assert "needs 208 weeks" in pt.check(long, short)
    # the distance counts computable fit patterns only, and no 'silent zero' is reported as reproduced
    fine = evaluate(EventShare("s", "", "", event="bedded_in", by_months=1, k=0, n=3), Batch([run()]), outputs)
    assert pt.distance([ev, fine]) == pytest.approx(math.sqrt(fine.deviance))


def test_the_model_declares_the_regulators_events_and_short_runs_say_what_they_lack():
    from sim import Scenario, run_replications

    declared = pt.declared_event_kinds()
    assert {"exited_special_measures", "reentered_special_measures", "no_significant_progress"} <= declared
    assert {"bedded_in", "failed", "departure"} <= declared
    sc = Scenario().replace({"run.steps": 60, "organisations.staff_a": 200, "organisations.staff_b": 200})
    res = run_replications(sc, 3, 2)
    out = pt.model_outputs(sc, results=res)
    assert out.event_kinds == declared
    short = evaluate(pt.REGISTRY["reentry_2013"], Batch(res), out)
    assert not short.computable and "needs 208 weeks" in short.reason and "stop at week 60" in short.reason
    assert evaluate(pt.REGISTRY["no_progress_12m_2013"], Batch(res), out).computable  # 13 months < 60 weeks
    missing = pattern_from_table("mine", {"kind": "event_share", "event": "merger", "by_months": 6, "k": 1, "n": 9})
    ev = evaluate(missing, Batch(res), out)
    assert not ev.computable and "emits no `merger` event" in ev.reason
    assert evaluate(pt.REGISTRY["staff_turnover"], Batch(res), out).computable


def test_registry_entries_have_sources_and_file_overrides_are_checked():
    for p in pt.REGISTRY.values():
        assert p.source and p.description and p.use in pt.USES
        p.record_text()
    q = pattern_from_table("time_to_exit_2013", {"event": "bedded_in", "weight": 2.0})
    assert q.event == "bedded_in" and q.weight == 2.0 and q.groups == pt.REGISTRY["time_to_exit_2013"].groups
    new = pattern_from_table("mine", {"kind": "event_share", "event": "x", "by_months": 6, "k": 2, "n": 9})
    assert isinstance(new, EventShare) and new.n == 9
    for table, fragment in [
        ({"colour": 1}, "colour: not a field"),
        ({"use": "maybe"}, "use: expected one of fit, check"),
        ({"weight": -1.0}, "weight: expected a number >= 0"),
        ({"groups": [[0, 12]]}, "groups: expected"),
        ({"groups": [[0, 12, 1], [6, -1, 1]]}, "groups: must be disjoint"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            pattern_from_table("time_to_exit_2013", table)
    with pytest.raises(ValueError, match="did you mean 'exit_12m_2013'"):
        pattern_from_table("exit_12m_2031", {})
    with pytest.raises(ValueError, match="n: required"):
        pattern_from_table("mine", {"kind": "event_share", "event": "x", "by_months": 6, "k": 2})


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.data())
def test_binomial_deviance_is_zero_only_at_the_records_share(n, data):
    k = data.draw(st.integers(0, n))
    p = data.draw(st.floats(0.001, 0.999))
    d = pt.binomial_deviance(k, n, p)
    assert d >= 0
    assert pt.binomial_deviance(k, n, k / n) == pytest.approx(0, abs=1e-9)
    if abs(p - k / n) > 1e-3:
        assert d > 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.booleans()), min_size=1, max_size=40))
def test_kaplan_meier_without_censoring_before_the_last_event_is_the_empirical_survival(pairs):
    times = np.array([t for t, _ in pairs], float)
    seen = np.array([s for _, s in pairs])
    ev, s = kaplan_meier(times, seen)
    assert np.all(np.diff(s) <= 1e-12) and np.all((s >= 0) & (s <= 1))
    if seen.all():
        for t, sv in zip(ev, s):
            assert sv == pytest.approx(np.mean(times > t))
