"""Survival curves: Kaplan-Meier and the log-rank test against cases computed by hand and published examples,
censoring at the horizon, and the faces (run -r, compare, report)."""

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import run_replications
from sim.analysis import survival
from sim.analysis.stats import Z95, wilson_interval
from sim.run import outcome_event_kinds

ROOT = Path(__file__).resolve().parents[1]


# --- Kaplan-Meier against a case computed by hand ------------------------------------------------------------
def test_kaplan_meier_matches_a_small_case_computed_by_hand():
    """Six runs: events at weeks 2, 3, 3 and 6; censored at weeks 5 and 8 ("not by then").

    week  at risk  events  S(t)
      2      6       1     5/6                 = 0.8333
      3      5       2     5/6 * 3/5 = 1/2     = 0.5
      5      3       0     1/2 (a censoring: no step)
      6      2       1     1/2 * 1/2 = 1/4     = 0.25
      8      1       0     1/4
    Greenwood's sum at week 3: d/(n(n-d)) = 1/(6*5) + 2/(5*3) = 1/30 + 4/30 = 1/6; at week 6 add 1/(2*1): 2/3.
    The log(-log) band: v = sum / (log S)^2, S ** exp(+-1.96 sqrt(v)).
    Median: the first week with S <= 1/2 is week 3."""
    c = survival.kaplan_meier([2, 3, 3, 5, 6, 8], [1, 1, 1, 0, 1, 0], kind="bedded_in", horizon=8)
    expected = {0: Fraction(1), 2: Fraction(5, 6), 3: Fraction(1, 2), 5: Fraction(1, 2), 6: Fraction(1, 4)}
    for week, s in expected.items():
        assert c.survival_at(week)[0] == pytest.approx(float(s), abs=1e-12), week
    assert c.survival_at(7.9)[0] == pytest.approx(0.25)  # a step function: constant between changes

    for week, s, greenwood in ((3, 0.5, Fraction(1, 6)), (6, 0.25, Fraction(1, 6) + Fraction(1, 2))):
        v = float(greenwood) / math.log(s) ** 2
        lower = s ** math.exp(Z95 * math.sqrt(v))
        upper = s ** math.exp(-Z95 * math.sqrt(v))
        _, lo, hi = c.survival_at(week)
        assert (lo, hi) == (pytest.approx(lower, abs=1e-9), pytest.approx(upper, abs=1e-9)), week
    # by hand: at week 3, v = (1/6) / log(0.5)^2 = 0.34689, so the band is 0.5^3.1722 .. 0.5^0.3152 = 0.1109 .. 0.8037
    assert c.survival_at(3)[1:] == (pytest.approx(0.1109, abs=1e-4), pytest.approx(0.8037, abs=1e-4))

    assert c.median == 3 and c.events == 4 and c.n == 6
    share, lo, hi = c.share_by(6)
    assert share == pytest.approx(0.75) and lo == pytest.approx(1 - c.survival_at(6)[2])


def test_kaplan_meier_reproduces_the_published_remission_times():
    """Freireich et al. (1963), 6-MP arm (21 patients; + = censored), as tabulated by Kleinbaum & Klein (2012,
    Survival Analysis: A Self-Learning Text, 3rd ed., ch. 2): S = .8571, .8067, .7529, .6902, .6275, .5378, .4482
    at weeks 6, 7, 10, 13, 16, 22, 23; median 23 weeks."""
    events = [6, 6, 6, 7, 10, 13, 16, 22, 23]
    censored = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
    c = survival.kaplan_meier(events + censored, [1] * len(events) + [0] * len(censored), horizon=35)
    published = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}
    for week, s in published.items():
        assert c.survival_at(week)[0] == pytest.approx(s, abs=5e-5), week
    assert c.median == 23


def test_no_event_yet_gets_the_wilson_interval_not_a_band_of_zero_width():
    c = survival.kaplan_meier([156] * 40, [0] * 40, kind="failed", horizon=156)
    share, lo, hi = c.share_by(104)
    assert (share, lo) == (0.0, 0.0) and hi == pytest.approx(wilson_interval(0, 40)[1]) and hi > 0.08
    assert not math.isfinite(c.median) and "not reached" in c.describe_median()
    everyone = survival.kaplan_meier([3, 4, 5], [1, 1, 1], horizon=10)
    assert everyone.share_by(9)[:2] == (1.0, pytest.approx(1 - wilson_interval(0, 3)[1]))


@given(st.lists(st.integers(1, 156) | st.none(), min_size=1, max_size=60))
def test_censored_only_at_the_horizon_the_curve_is_the_share_of_runs_with_the_event(weeks):
    """With every run followed to the same horizon, 1 - KM at week t is exactly the share of runs with the event by t."""
    horizon = 156
    observed = np.array([w is not None for w in weeks])
    times = np.array([horizon if w is None else w for w in weeks])
    c = survival.kaplan_meier(times, observed, horizon=horizon)
    for t in (1, 26, 52, 104, 155, 156):
        assert c.share_by(t)[0] == pytest.approx(float(np.mean(observed & (times <= t))), abs=1e-12)
        _, lo, hi = c.share_by(t)
        assert 0.0 <= lo <= c.share_by(t)[0] <= hi <= 1.0


# --- log-rank ---------------------------------------------------------------------------------------------
def test_logrank_matches_a_case_computed_by_hand():
    """Group A: events at weeks 1, 2, 3. Group B: censored at 2, events at 4 and 5.

    week  n_A n_B  d  E_A = n_A d / n      V = n_A n_B d (n - d) / (n^2 (n - 1))
      1    3   3   1   3/6                 3*3*1*5 / (36*5)  = 1/4
      2    2   3   1   2/5                 2*3*1*4 / (25*4)  = 6/25   (B's censoring at 2 is still at risk)
      3    1   2   1   1/3                 1*2*1*2 / (9*2)   = 2/9
      4    0   2   1   0                   0
      5    0   1   1   0                   0
    O_A - E_A = 3 - (1/2 + 2/5 + 1/3) = 53/30; chi2 = (53/30)^2 / (1/4 + 6/25 + 2/9) = 4.3822 on 1 df."""
    e_a = Fraction(1, 2) + Fraction(2, 5) + Fraction(1, 3)
    var = Fraction(1, 4) + Fraction(6, 25) + Fraction(2, 9)
    chi2 = float((3 - e_a) ** 2 / var)
    a = pd.DataFrame({"kind": "failed", "week": [1, 2, 3], "observed": [True, True, True]})
    b = pd.DataFrame({"kind": "failed", "week": [2, 4, 5], "observed": [False, True, True]})
    test = survival.logrank({"A": a, "B": b}, "failed")
    assert test.statistic == pytest.approx(chi2, abs=1e-9) and chi2 == pytest.approx(4.3822, abs=1e-4)
    assert test.df == 1 and test.p == pytest.approx(0.0363, abs=1e-4)
    assert test.pairwise["statistic"].iloc[0] == pytest.approx(chi2, abs=1e-9)
    assert "the curves differ" in test.verdict()


def test_logrank_reproduces_the_published_remission_example():
    """Freireich et al. (1963), 6-MP against placebo: log-rank chi-square 16.79, p < 0.0001 (Kleinbaum & Klein 2012,
    ch. 2)."""
    mp = pd.DataFrame(
        {
            "kind": "remission_ended",
            "week": [6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35],
            "observed": [True] * 9 + [False] * 12,
        }
    )
    placebo = pd.DataFrame(
        {
            "kind": "remission_ended",
            "week": [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23],
            "observed": [True] * 21,
        }
    )
    test = survival.logrank({"6-MP": mp, "placebo": placebo}, "remission_ended")
    assert test.statistic == pytest.approx(16.79, abs=0.005) and test.p < 1e-4


def test_logrank_without_events_says_so():
    a = pd.DataFrame({"kind": "failed", "week": [10, 10], "observed": [False, False]})
    test = survival.logrank({"A": a, "B": a}, "failed")
    assert math.isnan(test.p) and "no test" in test.verdict()


# --- event times from runs ----------------------------------------------------------------------------------
def test_event_times_come_from_the_event_log_and_are_censored_at_the_horizon(small):
    sc = small.replace({"run.steps": 80, "system.competition": 0.9, "system.history": -0.5})
    results = run_replications(sc, 3, 12)
    table = survival.event_table(results)
    assert set(table["kind"]) == set(outcome_event_kinds())
    for i, r in enumerate(results):
        for kind in outcome_event_kinds():
            row = table[(table["run"] == i) & (table["kind"] == kind)].iloc[0]
            first = next((e["step"] for e in r.events if e["kind"] == kind), None)
            if first is not None:  # the first such event in the log
                assert row["observed"] and row["week"] == first
                if kind in ("bedded_in", "failed"):
                    assert r.outcome == kind and first == r.outcome_step
            else:  # none by the horizon: censored at week 80
                assert not row["observed"] and row["week"] == 80
    # the same table from a runs table (how sweeps and run folders store it) and without the week_* columns
    runs = pd.DataFrame(
        [
            {
                "outcome": r.outcome,
                "outcome_step": r.outcome_step,
                **{f"week_{k}": w for k, w in r.event_weeks().items()},
            }
            for r in results
        ]
    )
    for frame, kinds in ((runs, None), (runs[["outcome", "outcome_step"]], ("bedded_in", "failed"))):
        # without week_* columns only the partnership's outcomes can be recovered (from outcome, outcome_step)
        again = survival.event_table_from_runs(frame, 80, kinds)
        expected = table if kinds is None else table[table["kind"].isin(kinds)]
        pd.testing.assert_frame_equal(
            again.sort_values(["kind", "run"]).reset_index(drop=True),
            expected.sort_values(["kind", "run"]).reset_index(drop=True),
            check_dtype=False,
        )
    assert table["observed"].any(), "this scenario should decide some runs within 80 weeks"


def test_survival_figure_is_written_for_one_and_several_groups(tmp_path):
    from sim.analysis.plots import survival_figure

    a = survival.curves(
        pd.DataFrame({"kind": "bedded_in", "week": [30, 60, 156], "observed": [1, 1, 0], "horizon": 156}), "a"
    )
    b = survival.curves(
        pd.DataFrame({"kind": "bedded_in", "week": [20, 156, 156], "observed": [1, 0, 0], "horizon": 156}), "b"
    )
    assert survival_figure({"a": a}, tmp_path / "one.png", title="t").read_bytes()[:4] == b"\x89PNG"
    fig = survival_figure({"a": a, "b": b}, title="t")
    assert len(fig.axes) == 1 and "Time to bedding in" in fig.axes[0].get_title()


# --- the faces ------------------------------------------------------------------------------------------------
def test_run_with_replications_reports_survival(tmp_path):
    scen = tmp_path / "rivals.toml"
    scen.write_text(
        "# rivals?\n[organisations]\nstaff_a = 80\nstaff_b = 120\nteam_size = 10\n[run]\nsteps = 110\n"
        "[system]\ncompetition = 0.9\nhistory = -0.5\n"
    )
    p = subprocess.run(
        [sys.executable, "-m", "sim", "run", scen, "-r", "8", "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    assert "Kaplan-Meier" in p.stdout and "by year 2" in p.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["survival"]) == set(outcome_event_kinds())
    for kind, s in summary["survival"].items():
        assert s["runs"] == 8 and set(s["by_year"]) == {"1", "2"}  # 110 weeks: two whole years
        k = sum(r["event_weeks"][kind] is not None for r in summary["runs"])
        assert s["events"] == k and s["by_year"]["2"]["share"] == pytest.approx(
            sum(r["event_weeks"][kind] is not None and r["event_weeks"][kind] <= 104 for r in summary["runs"]) / 8
        )
    assert (tmp_path / "out" / "survival.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_has_curves_and_logrank_per_event(tmp_path):
    from sim.analysis import compare, load_samples

    files = []
    for name, extra in (
        ("friendly", "[system]\nhistory = 0.8\ncompetition = 0.1\n"),
        ("rivals", "[system]\nhistory = -0.8\ncompetition = 0.9\n"),
    ):
        f = tmp_path / f"{name}.toml"
        f.write_text(
            f"# {name}?\n[organisations]\nstaff_a = 80\nstaff_b = 120\nteam_size = 10\n[run]\nsteps = 80\n{extra}"
        )
        files.append(f)
    comp = compare(load_samples(files, replications=10, seed=2))
    assert set(comp.logrank) == set(outcome_event_kinds())
    assert set(comp.curves) == {"friendly", "rivals"}
    text = comp.to_text()
    assert "Kaplan-Meier" in text and "log-rank" in text
    lr = comp.logrank_table()
    assert set(lr["event"]) == set(outcome_event_kinds()) and (lr["p"].dropna().between(0, 1)).all()
    written = comp.to_csv(tmp_path / "out")
    assert (tmp_path / "out" / "compare_logrank.csv") in written
    assert comp.survival_figure(tmp_path / "out" / "s.png").exists()
    assert "Log-rank tests" in comp.to_markdown()
