"""Robust decisions: the metrics against a planted example and against the EMA Workbench, the robust design
(policies x futures, common random numbers), and `buddysim robust` end to end on a small model."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import robust
from sim.run import outcome_event_kinds
from sim.sweep import ExperimentError, experiment_from_toml, load_experiment, merge, sweep
from sim.sweep.design import design_size, make_plan

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


# --- the metrics on a planted table ----------------------------------------------------------------------------
def planted_table(n=200):
    """Three policies over n futures: 'steady' scores 0.6 everywhere; 'gamble' 0.9 in the first half of the futures
    and 0.1 in the second; 'timid' 0.5 everywhere. Best per future: 0.9 (first half), 0.6 (second half).

    regret, first half / second half:  steady 0.3 / 0.0   gamble 0.0 / 0.5   timid 0.4 / 0.1
    mean regret: steady 0.15, gamble 0.25, timid 0.25; max regret: steady 0.3, gamble 0.5, timid 0.4
    satisficing at a target of 0.55: steady 1.0, gamble 0.5, timid 0.0"""
    half = n // 2
    return pd.DataFrame(
        {
            "steady": np.full(n, 0.6),
            "gamble": np.r_[np.full(half, 0.9), np.full(n - half, 0.1)],
            "timid": np.full(n, 0.5),
        }
    )


def settings(**kw):
    base = dict(measure="bedded_in", kind="outcome", direction="max", target=0.55, rank_by="satisficing")
    return robust.Settings(**{**base, **kw})


def test_metrics_on_a_planted_table():
    t = robust.scores(planted_table(), settings()).set_index("policy")
    assert t.loc["steady", "mean_regret"] == pytest.approx(0.15)
    assert t.loc[["gamble", "timid"], "mean_regret"].to_numpy() == pytest.approx([0.25, 0.25])
    assert t["max_regret"].to_dict() == pytest.approx({"steady": 0.3, "gamble": 0.5, "timid": 0.4})
    assert t["satisficing"].to_dict() == pytest.approx({"steady": 1.0, "gamble": 0.5, "timid": 0.0})
    assert t["best_in"].to_dict() == pytest.approx({"steady": 0.5, "gamble": 0.5, "timid": 0.0})
    assert t["rank"].to_dict() == {"steady": 1, "gamble": 2, "timid": 3}
    by_max = robust.scores(planted_table(), settings(rank_by="max_regret")).set_index("policy")["rank"]
    assert by_max.to_dict() == {"steady": 1, "timid": 2, "gamble": 3}
    by_mean = robust.scores(planted_table(), settings(rank_by="mean")).set_index("policy")["rank"]
    # means 0.6, 0.5, 0.5 and mean regrets 0.15, 0.25, 0.25: the full tie keeps the file's order
    assert by_mean.to_dict() == {"steady": 1, "gamble": 2, "timid": 3}


def test_lower_is_better_reverses_regret_and_the_target():
    """The same table as failure chances (1 - x): the steady policy still wins; regrets are unchanged."""
    flipped = 1.0 - planted_table()
    s = settings(measure="failed", direction="min", target=0.45)
    t = robust.scores(flipped, s).set_index("policy")
    assert t["max_regret"].to_dict() == pytest.approx({"steady": 0.3, "gamble": 0.5, "timid": 0.4})
    assert t["satisficing"].to_dict() == pytest.approx({"steady": 1.0, "gamble": 0.5, "timid": 0.0})
    assert t.loc["steady", "rank"] == 1


def test_metrics_agree_with_the_ema_workbench():
    """The same table evaluated through the EMA Workbench: its experiment machinery (every policy in every
    scenario), and its robustness functions (ScalarOutcome with a function over a policy's outcomes across
    scenarios, as its robust optimisation applies them). The workbench has no regret function of its own: regret
    is computed from its experiments table as in its documentation, best per scenario minus the policy's."""
    from ema_workbench import (
        IntegerParameter,
        Model,
        Sample,
        ScalarOutcome,
        SequentialEvaluator,
        perform_experiments,
    )

    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.random((60, 5)), columns=[f"policy {i}" for i in range(5)])
    target = 0.5

    def lookup(future=0, option=0):
        return {"m": float(table.iat[int(future), int(option)])}

    model = Model("lookup", function=lookup)
    model.uncertainties = [IntegerParameter("future", 0, len(table) - 1)]
    model.levers = [IntegerParameter("option", 0, table.shape[1] - 1)]
    model.outcomes = [ScalarOutcome("m")]
    scenarios = [Sample(f"s{j}", future=j) for j in range(len(table))]
    policies = [Sample(name, option=i) for i, name in enumerate(table.columns)]
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios, policies, evaluator=evaluator)
    frame = experiments[["scenario", "policy"]].assign(m=outcomes["m"])
    best = frame.groupby("scenario", observed=True)["m"].transform("max")
    frame["regret"] = best - frame["m"]
    functions = {
        "satisficing": ScalarOutcome("satisficing", ScalarOutcome.MAXIMIZE, "m", lambda x: np.mean(x >= target)),
        "mean_regret": ScalarOutcome("mean_regret", ScalarOutcome.MINIMIZE, "regret", np.mean),
        "p90_regret": ScalarOutcome("p90_regret", ScalarOutcome.MINIMIZE, "regret", lambda x: np.quantile(x, 0.9)),
        "max_regret": ScalarOutcome("max_regret", ScalarOutcome.MINIMIZE, "regret", np.max),
    }
    ours = robust.scores(table, settings(target=target)).set_index("policy")
    for name in table.columns:
        rows = frame[frame["policy"] == name]
        assert len(rows) == len(table)
        for metric, rf in functions.items():
            values = rows[rf.variable_name[0]].to_numpy()
            assert ours.loc[name, metric] == pytest.approx(rf.process([values]), abs=1e-12), (name, metric)


# --- the robust design --------------------------------------------------------------------------------------
SMALL = """# Which policy holds up? (a test)
[experiment]
scenario = "{root}/scenarios/baseline.toml"
design = "robust"
samples = {futures}
replications = {reps}
seed = 9
{extra_experiment}
[set]
"organisations.staff_a" = 60
"organisations.staff_b" = 90
"organisations.team_size" = 10
"partnership.ties_per_100_staff" = 40.0
"run.steps" = 40

[levers."partnership.engagement_authenticity"]
values = [0.2, 0.9]

[levers."staff.union_stance"]
values = ["excluded", "partner"]

[uncertain."system.competition"]
low = 0.0
high = 1.0

[uncertain."system.history"]
low = -0.5
high = 0.5

[robust]
measure = "{measure}"
{extra_robust}
"""


def small_text(futures=6, reps=2, measure="bedded_in", extra_experiment="", extra_robust=""):
    return SMALL.format(
        root=ROOT,
        futures=futures,
        reps=reps,
        measure=measure,
        extra_experiment=extra_experiment,
        extra_robust=extra_robust,
    )


def test_every_policy_sees_the_same_futures_and_seeds():
    exp = experiment_from_toml(small_text(futures=5, reps=3), source="r.toml")
    assert len(exp.policies) == 4
    assert [p.values for p in exp.policies] == [
        {"partnership.engagement_authenticity": a, "staff.union_stance": u}
        for a in (0.2, 0.9)
        for u in ("excluded", "partner")
    ]
    t = exp.design_table()
    assert len(t) == 4 * 5 * 3
    # counted before anything is built (the CLI's plan line, the size limit, memory): the same numbers; it
    # was samples x (factors + 1) before, as for a Morris design (printed "360 runs" for 320)
    assert design_size(exp) == (4 * 5, 4 * 5 * 3) == (make_plan(exp).points, make_plan(exp).n_runs)
    policy, future = exp.policy_and_future(t["point"].to_numpy())
    t = t.assign(policy=policy, future=future)
    for _, g in t.groupby(["future", "replication"]):
        assert g["seed"].nunique() == 1 and g["policy"].nunique() == 4  # common random numbers across policies
        assert g["system.competition"].nunique() == 1 and g["system.history"].nunique() == 1
    assert t.groupby("policy")["seed"].nunique().eq(5 * 3).all()  # futures and replications: independent seeds
    for _, g in t.groupby("policy"):  # the same futures for every policy
        assert sorted(g["system.competition"].unique()) == sorted(t["system.competition"].unique())
    # Latin hypercube: one future in each fifth of each uncertain range
    comp = np.sort(t.drop_duplicates("future")["system.competition"].to_numpy())
    assert (np.floor(comp * 5) == np.arange(5)).all()


def test_named_policies_fill_the_levers_they_leave_alone():
    text = small_text().replace(
        '[levers."partnership.engagement_authenticity"]\nvalues = [0.2, 0.9]\n\n'
        '[levers."staff.union_stance"]\nvalues = ["excluded", "partner"]\n',
        '[[policy]]\nname = "status quo"\n\n[[policy]]\nname = "engage"\n'
        '"partnership.engagement_authenticity" = 0.9\n\n[[policy]]\nname = "engage with unions"\n'
        '"partnership.engagement_authenticity" = 0.9\n"staff.union_stance" = "partner"\n',
    )
    exp = experiment_from_toml(text, source="r.toml")
    base = exp.base
    assert [p.name for p in exp.policies] == ["status quo", "engage", "engage with unions"]
    assert exp.policies[0].values == {
        "partnership.engagement_authenticity": base["partnership.engagement_authenticity"],
        "staff.union_stance": base["staff.union_stance"],
    }
    assert exp.policies[2].values["staff.union_stance"] == "partner"
    assert design_size(exp) == (3 * 6, 3 * 6 * 2) == (make_plan(exp).points, make_plan(exp).n_runs)


@pytest.mark.parametrize(
    "change, key, fragment",
    [
        (("[robust]\n", "[robust]\nmeasure_ = 1\n"), "robust.measure_", "did you mean 'measure'"),
        (('measure = "bedded_in"', 'measure = "trust_mni"'), "robust.measure", "did you mean 'trust_min'"),
        (('measure = "bedded_in"', 'measure = "trust_min"'), "robust.direction", '"max" or "min"'),
        (('measure = "bedded_in"', 'measure = "bedded_in"\ntarget = 1.5'), "robust.target", "from 0 to 1"),
        (('measure = "bedded_in"', 'measure = "bedded_in"\nrank_by = "regret"'), "robust.rank_by", "max_regret"),
        (("[uncertain.", "[vary."), "vary", "rename [vary] to [uncertain]"),
        (
            ("values = [0.2, 0.9]", "values = [0.2, 1.9]"),
            "levers.partnership.engagement_authenticity.values",
            "out of range",
        ),
        (("values = [0.2, 0.9]", "values = [0.2, 0.2]"), "levers.partnership.engagement_authenticity.values", "twice"),
        (
            ("values = [0.2, 0.9]", "low = 0.2\nhigh = 0.9"),
            "levers.partnership.engagement_authenticity.low",
            "values = [...]",
        ),
        (
            (
                '[uncertain."system.history"]\nlow = -0.5',
                '[uncertain."partnership.engagement_authenticity"]\nlow = 0.0',
            ),
            "uncertain.partnership.engagement_authenticity",
            "also a lever",
        ),
        (("samples = 6\n", ""), "experiment.samples", "number of futures"),
        (("seed = 9\n", 'seed = 9\nposterior = "x.csv"\n'), "experiment.posterior", "not available yet"),
    ],
)
def test_bad_robust_files_are_named(tmp_path, change, key, fragment):
    text = small_text().replace(*change, 1)
    assert text != small_text()
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ExperimentError) as err:
        robust.settings(load_experiment(f))
    msg = str(err.value)
    assert str(f) in msg and key in msg and fragment in msg, msg


def test_robust_only_tables_are_refused_in_other_designs():
    text = '[experiment]\ndesign = "grid"\n[vary."system.competition"]\nvalues = [0.1]\n[levers."system.history"]\nvalues = [0.1]\n'
    with pytest.raises(ExperimentError, match=r"levers: \[levers\] is only used with design = \"robust\""):
        experiment_from_toml(text, source="g.toml")


# --- the analysis on a planted sweep (no model: outcomes planted by rule) -------------------------------------
def test_analysis_recovers_a_planted_rule():
    """'engage' policies bed in when competition < 0.7, the others when competition < 0.3. So the engaging
    policies are best everywhere, meet the target in ~70% of futures, and miss it exactly where competition
    >= 0.7: PRIM must find that box."""
    exp = experiment_from_toml(small_text(futures=300, reps=1), source="r.toml")
    t = exp.design_table()
    policy, _ = exp.policy_and_future(t["point"].to_numpy())
    engage = t["partnership.engagement_authenticity"].to_numpy() == 0.9
    limit = np.where(engage, 0.7, 0.3)
    bedded = t["system.competition"].to_numpy() < limit
    runs = t.assign(
        status="ok",
        outcome=np.where(bedded, "bedded_in", "undecided"),
        outcome_step=np.where(bedded, 30.0, np.nan),
        **{f"week_{k}": np.where(bedded, 30.0, np.nan) if k == "bedded_in" else np.nan for k in outcome_event_kinds()},
    )
    result = robust.analyse_runs(exp, runs)
    pol = result.policies.set_index("policy")
    share_low = float((result.futures["system.competition"] < 0.7).mean())
    for p in exp.policies:
        expected = (
            share_low
            if p.values["partnership.engagement_authenticity"] == 0.9
            else float((result.futures["system.competition"] < 0.3).mean())
        )
        assert pol.loc[p.name, "satisficing"] == pytest.approx(expected)
        assert pol.loc[p.name, "bedded_in"] == pytest.approx(expected)
    assert exp.policies[policy[0]].values["partnership.engagement_authenticity"] in (0.2, 0.9)
    assert "engagement_authenticity=0.9" in result.top
    assert pol.loc[result.top, "max_regret"] == 0.0
    box = result.discoveries["top"].boxes[0]
    assert set(box.restrictions) == {"system.competition"}
    assert box.restrictions["system.competition"][0] == pytest.approx(0.7, abs=0.02)
    assert box.density >= 0.95 and box.coverage >= 0.95
    text = result.to_text()
    assert "system.competition >= 0.7" in text or "system.competition >= 0.69" in text


# --- end to end -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_robust_command_end_to_end_and_resume_and_shards_agree(tmp_path):
    f = tmp_path / "small.toml"
    f.write_text(small_text(futures=6, reps=2, extra_robust="target = 0.3"))
    p = subprocess.run(
        [PY, "-m", "sim", "robust", f, "--out", tmp_path / "out", "-w", "1", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    assert "Robust decisions: 4 policies x 6 futures x 2 replication(s)" in p.stdout
    assert "engagement_authenticity" in p.stdout and "meets target" in p.stdout
    out = tmp_path / "out"
    for name in ("robust_policies.csv", "robust_futures.csv", "robust_boxes.csv", "robust.md", "robust.png"):
        assert (out / name).exists(), name
    pol = pd.read_csv(out / "robust_policies.csv")
    assert len(pol) == 4 and sorted(pol["rank"]) == [1, 2, 3, 4]
    futures = pd.read_csv(out / "robust_futures.csv")
    assert len(futures) == 24 and (futures["regret"] >= 0).all()
    html = (out / "report.html").read_text()
    assert '<section id="robust">' in html and "Robust decisions" in html

    # the same design as shards, merged: the same runs table
    exp = load_experiment(f)
    for i in (1, 2):
        sweep(exp, tmp_path / "sharded", workers=1, shard=(i, 2), log=lambda *a: None)
    merge(tmp_path / "sharded", log=lambda *a: None)
    a = pd.read_parquet(out / "runs.parquet").drop(columns="seconds")
    b = pd.read_parquet(tmp_path / "sharded" / "runs.parquet").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)
    again = robust.analyse(tmp_path / "sharded")
    pd.testing.assert_frame_equal(again.policies, robust.analyse(out).policies)

    p = subprocess.run(
        [PY, "-m", "sim", "robust", ROOT / "experiments" / "smoke.toml"], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 2 and 'needs design = "robust"' in p.stderr and "Traceback" not in p.stderr


def test_bundled_robust_experiment_loads():
    exp = load_experiment(ROOT / "experiments" / "robust_policies.toml")
    s = robust.settings(exp)
    assert len(exp.policies) >= 8 and exp.samples >= 500 and s.measure in ("bedded_in", "failed")
