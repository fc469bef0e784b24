"""ABC-SMC calibration (pyabc): a toy with a known parameter and a known alternative, the same posterior on one
core, two processes and a Dask cluster, resuming, bad files, and posterior draws for run/compare/evidence."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import Scenario, ScenarioError, load_scenario
from sim.validation.calibrate import (
    CalibrationError,
    Prior,
    Settings,
    calibrate,
    load_calibration,
    particle_seed,
    run_abc,
    weighted_quantile,
)
from sim.validation.posterior import iter_posterior_replications, load_posterior, posterior_scenario
from sim.validation.toy import ToySimulator, toy_pattern

ROOT = Path(__file__).resolve().parents[1]
RATE = 0.7  # the toy's true exits per year
TOY_PRIOR = {"rate": Prior("rate", "uniform", 0.1, 3.0)}


def toy_run(tmp_path, name, sampler="single", generations=3, population=40, distance="fixed", **kw):
    return run_abc(
        ToySimulator(),
        TOY_PRIOR,
        kw.pop("alternatives", [{}]),
        kw.pop("patterns", [toy_pattern(RATE)]),
        Settings(
            population=population,
            generations=generations,
            replications=40,
            seed=kw.pop("seed", 11),
            distance=distance,
        ),
        tmp_path / name / "abc.db",
        sampler=sampler,
        log=lambda *a: None,
        **kw,
    )


@pytest.mark.parametrize("distance", ["fixed", "adaptive"])
def test_toy_parameter_is_recovered(tmp_path, distance):
    res = toy_run(tmp_path, "one", generations=4, population=60, distance=distance)
    p = res.particles
    med = weighted_quantile(p["rate"], p["weight"], 0.5)
    lo, hi = weighted_quantile(p["rate"], p["weight"], 0.05), weighted_quantile(p["rate"], p["weight"], 0.95)
    assert lo < RATE < hi
    assert abs(med - RATE) < 0.2 * RATE
    assert hi - lo < 0.3 * (3.0 - 0.1)  # far narrower than the prior
    assert list(res.populations["t"]) == [0, 1, 2, 3]
    if distance == "fixed":  # (an adaptive distance changes its scale between generations)
        assert (np.diff(res.populations["epsilon"]) < 0).all()  # the tolerance shrinks every generation
    assert p["weight"].sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_multicore_sampler_gives_the_single_core_posterior(tmp_path):
    one = toy_run(tmp_path, "single")
    two = toy_run(tmp_path, "multicore", sampler="multicore", workers=2)
    pd.testing.assert_frame_equal(one.particles, two.particles)
    assert one.populations["simulations"].tolist() == two.populations["simulations"].tolist()
    other_seed = toy_run(tmp_path, "seed", seed=12)
    assert not np.allclose(other_seed.particles["rate"], one.particles["rate"])


def test_dask_samplers_on_a_local_scheduler(tmp_path):
    from distributed import Client, LocalCluster

    one = toy_run(tmp_path, "single", generations=2, population=20)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            host="127.0.0.1",
            protocol="tcp://",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        ordered = toy_run(
            tmp_path, "dask", sampler="dask", scheduler=cluster.scheduler_address, generations=2, population=20
        )
        # pyabc's own DaskDistributedSampler (first come, first accepted; not reproducible): runs and narrows
        dynamic = toy_run(tmp_path, "dyn", sampler="dask", scheduler=client, dynamic=True, generations=2, population=20)
    pd.testing.assert_frame_equal(one.particles, ordered.particles)
    assert (
        len(dynamic.particles) == 20
        and dynamic.populations["epsilon"].iloc[-1] < dynamic.populations["epsilon"].iloc[0]
    )


def test_more_generations_continue_a_finished_database_as_one_run_would(tmp_path):
    short = toy_run(tmp_path, "grow", generations=2, population=20)
    longer = toy_run(tmp_path, "grow", generations=3, population=20)  # same database: one more generation
    fresh = toy_run(tmp_path, "fresh", generations=3, population=20)
    assert len(short.populations) == 2 and longer.resumed and len(longer.populations) == 3
    pd.testing.assert_frame_equal(longer.particles, fresh.particles)
    assert longer.populations["simulations"].tolist() == fresh.populations["simulations"].tolist()
    again = toy_run(tmp_path, "grow", generations=3, population=20)
    assert again.finished_before and again.simulations == longer.simulations
    with pytest.raises(CalibrationError, match="other ABC settings"):
        toy_run(tmp_path, "grow", generations=3, population=30)


def test_model_selection_finds_the_toys_alternative(tmp_path):
    alts = [{"shape": "immediate"}, {"shape": "delayed"}]
    res = toy_run(
        tmp_path, "ms", alternatives=alts, patterns=[toy_pattern(RATE, "delayed")], generations=4, population=60
    )
    probs = res.particles.groupby("alternative")["weight"].sum()
    assert probs.get("shape=delayed", 0) > 0.9
    assert res.model_probabilities.shape[1] == 2


@pytest.mark.parametrize(
    "prior, mean",
    [
        (Prior("x", "uniform", 0.2, 0.6), 0.4),
        (Prior("x", "loguniform", 0.5, 6.0), (6.0 - 0.5) / np.log(6.0 / 0.5)),
        (Prior("x", "beta", 0.2, 0.6, alpha=2.0, beta=6.0), 0.2 + 0.4 * 2 / 8),
        (Prior("x", "normal", 0.2, 0.6, mean=0.5, sd=0.05), None),
    ],
)
def test_priors_stay_in_their_bounds_with_the_stated_shape(prior, mean):
    import pyabc

    np.random.seed(1)  # noqa: NPY002 (pyabc samples from numpy's global generator)
    d = pyabc.Distribution(x=prior.rv())
    xs = np.array([d.rvs()["x"] for _ in range(4000)])
    assert xs.min() >= prior.low and xs.max() <= prior.high
    if mean is not None:
        assert xs.mean() == pytest.approx(mean, rel=0.03)
    else:  # normal(0.5, 0.05) cut at 0.6: the truncated mean is below 0.5, within its sd
        assert 0.47 < xs.mean() < 0.5 and 0.035 < xs.std() < 0.05
    assert d.pdf({"x": prior.low - 1e-6}) == 0


def test_particle_seed_depends_on_every_value():
    a = particle_seed(1, 0, {"x": 0.5, "y": 0.25})
    assert a == particle_seed(1, 0, {"y": 0.25, "x": 0.5})  # order does not matter
    assert (
        len(
            {
                a,
                particle_seed(1, 0, {"x": 0.5, "y": np.nextafter(0.25, 1)}),
                particle_seed(2, 0, {"x": 0.5, "y": 0.25}),
                particle_seed(1, 1, {"x": 0.5, "y": 0.25}),
            }
        )
        == 4
    )


# --- the real model -------------------------------------------------------------------------------------------


def calibration_file(tmp_path, extra="", name="cal.toml"):
    f = tmp_path / name
    f.write_text(f"""
[calibration]
scenario = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"
population = 6
generations = 2
replications = 2
seed = 5
predictive_draws = 3
predictive_replications = 2
patterns = ["staff_turnover", "exit_12m_2013", "failure_as_common_as_success", "reentry_2013"]
[calibration.changes]
"run.steps" = 60
"organisations.staff_a" = 200
"organisations.staff_b" = 300
[prior."staff.turnover_per_year"]
distribution = "uniform"
low = 0.05
high = 0.3
[alternatives]
"culture.mixing" = ["network", "well_mixed"]
[pattern.exit_12m_2013]
event = "bedded_in"
{extra}""")
    return f


def test_calibration_of_the_model_with_model_selection(tmp_path):
    f = calibration_file(tmp_path)
    out = tmp_path / "out"
    log = []
    summary = calibrate(f, out, log=log.append)
    for name in (
        "posterior.json",
        "posterior.csv",
        "summary.md",
        "patterns.csv",
        "alternatives.csv",
        "calibration.json",
        "calibrated.toml",
        "marginals.png",
        "pairs.png",
        "patterns.png",
        "abc.db",
    ):
        assert (out / name).exists(), name
    assert sum(summary["model_probabilities"].values()) == pytest.approx(1.0)
    alts = pd.read_csv(out / "alternatives.csv")
    assert alts["alternative"].tolist() == ["culture.mixing=network", "culture.mixing=well_mixed"]
    fit = pd.read_csv(out / "patterns.csv")
    reentry = fit[fit["pattern"] == "reentry_2013"]
    assert len(reentry) >= 1 and not reentry["computable"].any()
    assert reentry["reason"].str.contains("needs 208 weeks of simulation").all()  # these runs are short
    assert any("reentry_2013: not computable" in line for line in log)
    turnover = fit[fit["pattern"] == "staff_turnover"].iloc[0]
    assert 0.0 < turnover["model_median"] < 0.4 and turnover["model_q05"] <= turnover["model_q95"]
    post = load_posterior(out)
    assert post.keys == ["staff.turnover_per_year", "culture.mixing"]
    assert post.weights.sum() == pytest.approx(1.0)
    cal = load_scenario(out / "calibrated.toml")
    assert cal["staff.turnover_per_year"] == pytest.approx(summary["point"]["staff.turnover_per_year"])
    # the same file again: the finished database is read, nothing is simulated, the posterior is the same
    again = calibrate(f, out, log=log.append)
    assert again["resumed"] and again["simulations"] == summary["simulations"]
    assert again["posterior"] == summary["posterior"]
    # its sampling time is the database's (start to last generation), not this session's ~0 s
    assert again["seconds_abc"] >= 0.5 * summary["seconds_abc"] > 0
    # another file into the same folder is refused, naming the folder's database
    g = calibration_file(tmp_path, name="other.toml", extra="[pattern.staff_turnover]\nsd = 0.02\n")
    with pytest.raises(CalibrationError, match="holds the ABC database of a calibration with other patterns"):
        calibrate(g, out, log=log.append)


def test_bundled_calibration_file_loads():
    cal = load_calibration(ROOT / "validation" / "calibration.toml")
    names = [p.name for p in cal.patterns]
    assert {"time_to_exit_2013", "mean_time_in_regime", "staff_turnover", "failure_as_common_as_success"} <= set(names)
    assert all(p.source for p in cal.patterns)
    # the briefing's claims are tests, never targets: a pattern taken from it is reported, not fitted
    from_briefing = [p for p in cal.patterns if "briefing" in p.source.lower()]
    assert from_briefing and all(p.use == "check" for p in from_briefing)
    # every combination of the succession and contact rules is one model of the model selection
    assert len(cal.alternatives) == 3 * 2 and cal.settings.population >= 20
    assert {"leadership.succession", "partnership.contact_rule"} == {k for a in cal.alternatives for k in a}


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ("[calibraton]\nx = 1\n", "unknown section (did you mean 'calibration'?)"),
        ('[prior."organisations.staff_a"]\nlow = 10\nhigh = 20\n', "integer parameter; ABC-SMC priors"),
        ('[prior."partnership.base_succes"]\nlow = 0.1\nhigh = 0.2\n', "did you mean 'partnership.base_success'"),
        ('[prior."partnership.base_success"]\nlow = 0.5\nhigh = 0.4\n', "expected low < high"),
        ('[prior."partnership.base_success"]\nlow = 0.5\nhigh = 1.4\n', "out of range"),
        ('[prior."initiative.adoption_bias"]\ndistribution = "loguniform"\nlow = -1.0\nhigh = 4.0\n', "needs low > 0"),
        (
            '[prior."partnership.base_success"]\ndistribution = "normal"\nmean = 0.8\nlow = 0.5\nhigh = 0.9\n',
            "sd: required for a normal prior",
        ),
        (
            '[prior."partnership.base_success"]\ndistribution = "gamma"\nlow = 0.5\nhigh = 0.9\n',
            "expected one of uniform, loguniform, beta, normal",
        ),
        (
            '[prior."partnership.base_success"]\nlow = 0.5\nhigh = 0.9\nmode = 0.7\n',
            "not a parameter of a uniform prior",
        ),
        ("[pattern.staff_turnover]\nsd = -1.0\n", "sd: expected a number > 0"),
        ('[pattern.exit_12m_2031]\nevent = "x"\n', "did you mean 'exit_12m_2013'"),
    ],
)
def test_bad_calibration_files_are_named(tmp_path, extra, fragment):
    f = calibration_file(tmp_path, extra)
    with pytest.raises(CalibrationError) as err:
        load_calibration(f)
    assert fragment in str(err.value) and str(f) in str(err.value)


def test_bad_values_in_the_calibration_table(tmp_path):
    f = calibration_file(tmp_path)
    text = f.read_text()
    for old, new, fragment in [
        ("population = 6", "population = 1", "calibration.population: expected an integer >= 2"),
        ("seed = 5", 'seed = "five"', "calibration.seed: expected an integer"),
        ("population = 6", "population = 6\ndistanse = 1", "did you mean 'distance'"),
        ('"run.steps" = 60', '"run.stepz" = 60', "calibration.changes"),
        (
            '"culture.mixing" = ["network", "well_mixed"]',
            '"culture.mixing" = ["network", "wel_mixed"]',
            "did you mean 'well_mixed'",
        ),
        ('"culture.mixing" = ["network", "well_mixed"]', '"staff.loyalty" = [0.1, 0.2]', "not a choice parameter"),
        (
            '"culture.mixing" = ["network", "well_mixed"]',
            '"culture.mixing" = ["network", "network"]',
            "expected a list of distinct values",
        ),
    ]:
        f.write_text(text.replace(old, new))
        with pytest.raises(CalibrationError, match=re.escape(fragment)):
            load_calibration(f)


def test_cli_reports_a_bad_file_without_traceback(tmp_path):
    f = calibration_file(tmp_path, '[prior."organisations.staff_a"]\nlow = 10\nhigh = 20\n')
    p = subprocess.run([sys.executable, "-m", "sim", "calibrate", f], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "Traceback" not in p.stderr and 'prior."organisations.staff_a"' in p.stderr


# --- posterior draws -------------------------------------------------------------------------------------------


def posterior_file(tmp_path, weights=(0.8, 0.2)):
    doc = {
        "format": "buddysim-posterior/1",
        "calibration": "hand-made",
        "parameters": ["staff.turnover_per_year"],
        "choices": ["culture.mixing"],
        "base": {"staff.turnover_per_year": 0.12, "culture.mixing": "network"},
        "point": {"staff.turnover_per_year": 0.2, "culture.mixing": "network"},
        "alternatives": [
            {"model": 0, "label": "culture.mixing=network", "values": {"culture.mixing": "network"}},
            {"model": 1, "label": "culture.mixing=well_mixed", "values": {"culture.mixing": "well_mixed"}},
        ],
        "particles": [
            {"model": 0, "weight": weights[0], "values": {"staff.turnover_per_year": 0.2, "culture.mixing": "network"}},
            {
                "model": 1,
                "weight": weights[1],
                "values": {"staff.turnover_per_year": 0.05, "culture.mixing": "well_mixed"},
            },
        ],
    }
    f = tmp_path / "posterior.json"
    f.write_text(json.dumps(doc))
    return f


def test_posterior_draws_follow_the_weights_and_are_reproducible(tmp_path):
    post = load_posterior(posterior_file(tmp_path))
    base = Scenario()
    draws = [posterior_scenario(post, base, k, seed=3)["staff.turnover_per_year"] for k in range(2000)]
    assert np.mean(np.isclose(draws, 0.2)) == pytest.approx(0.8, abs=0.04)
    again = [posterior_scenario(post, base, k, seed=3)["staff.turnover_per_year"] for k in range(50)]
    assert again == draws[:50]
    assert [posterior_scenario(post, base, k, seed=4)["staff.turnover_per_year"] for k in range(50)] != draws[:50]
    d = posterior_scenario(post, base, 7, seed=3)
    assert (d["culture.mixing"] == "well_mixed") == (d["staff.turnover_per_year"] == 0.05)  # a particle stays whole
    # a scenario that sets a calibrated key itself keeps it (an intervention on a calibrated parameter)
    own = base.replace({"staff.turnover_per_year": 0.3})
    assert post.own_keys(own) == ["staff.turnover_per_year"]
    assert {posterior_scenario(post, own, k, 3)["staff.turnover_per_year"] for k in range(30)} == {0.3}
    # ... but the calibrated scenario itself (the point estimate) takes the draws
    calibrated = base.replace({"staff.turnover_per_year": 0.2})
    assert post.own_keys(calibrated) == []
    assert {posterior_scenario(post, calibrated, k, 3)["staff.turnover_per_year"] for k in range(30)} == {0.2, 0.05}
    # runs: replication r on draw r, with the seeds of ordinary replications
    small = base.replace({"run.steps": 5, "organisations.staff_a": 60, "organisations.staff_b": 60})
    runs = list(iter_posterior_replications(small, post, 3, 4))
    assert [r.scenario["staff.turnover_per_year"] for r in runs] == [
        posterior_scenario(post, small, k, 3)["staff.turnover_per_year"] for k in range(4)
    ]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{", "not a posterior file (JSON)"),
        ('{"format": "x"}', "format: not a posterior file"),
        (
            '{"format": "buddysim-posterior/1", "parameters": ["staff.turnover_per_year"], "particles": '
            '[{"weight": 1, "values": {"staff.turnover_per_year": -1}}]}',
            "out of range",
        ),
    ],
)
def test_bad_posterior_files_are_named(tmp_path, content, fragment):
    f = tmp_path / "p.json"
    f.write_text(content)
    with pytest.raises(ScenarioError, match=re.escape(fragment)) as err:
        load_posterior(f)
    assert str(f) in str(err.value)


@pytest.mark.slow
def test_cli_run_compare_and_evidence_take_a_posterior(tmp_path):
    post = posterior_file(tmp_path)
    sc = tmp_path / "small.toml"
    sc.write_text("[run]\nsteps = 8\n[organisations]\nstaff_a = 80\nstaff_b = 80\n")
    other = tmp_path / "other.toml"
    other.write_text(sc.read_text() + "[partnership]\nbase_success = 0.95\n")
    claims = tmp_path / "claims.toml"
    claims.write_text(f"""[[claim]]
id = "c"
claim = "x"
briefing = "y"
scenario = "{sc.as_posix()}"
measure = "failed"
direction = "lower"
[claim.without]
"partnership.base_success" = 0.5
[claim.with]
"partnership.base_success" = 0.95
""")
    cmds = [
        ["run", sc, "-r", "3", "--posterior", post, "--out", tmp_path / "run", "--no-plots"],
        ["compare", sc, other, "-r", "2", "--posterior", tmp_path, "--out", tmp_path / "cmp"],
        ["evidence", claims, "-r", "2", "--posterior", post, "--out", tmp_path / "ev"],
        ["run", sc, "--posterior", tmp_path / "missing.json"],
    ]
    procs = [
        subprocess.run([sys.executable, "-m", "sim", *map(str, c)], capture_output=True, text=True, cwd=ROOT)
        for c in cmds
    ]
    for p in procs[:3]:
        assert p.returncode == 0, p.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "posterior of hand-made" in summary["posterior"]["note"]
    assert "Posterior:" in procs[0].stdout
    assert "posterior of hand-made" in procs[1].stderr
    assert "posterior" in (tmp_path / "ev" / "evidence.md").read_text()
    assert procs[3].returncode == 2 and "missing.json: no such file" in procs[3].stderr
    assert "Traceback" not in procs[3].stderr
