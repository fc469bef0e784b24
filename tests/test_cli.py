"""The terminal face, run as a user would (a real subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import PARAMS
from sim.scenario import GROWTH_MECHANISMS, MECHANISMS

ROOT = Path(__file__).resolve().parents[1]


def buddysim(*args, cwd=ROOT, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_run_one_scenario_writes_summary_series_events_and_figure(tmp_path):
    p = buddysim("run", "scenarios/baseline.toml", "--steps", 40, "--seed", 3, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Outcome:" in p.stdout and "trust in partner" in p.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["runs"][0]["outcome"] in ("bedded_in", "failed", "undecided")
    assert summary["runs"][0]["seed"] == 3
    series = pd.read_parquet(tmp_path / "series.parquet")
    assert len(series) == 41 and {"replication", "seed", "step", "partner_trust_a"} <= set(series.columns)
    assert (tmp_path / "events.csv").exists()
    assert (tmp_path / "trajectories.png").read_bytes()[:4] == b"\x89PNG"


def test_replications_give_shares_with_intervals_and_reproduce_alone(tmp_path):
    p = buddysim("run", "scenarios/mixed_messages.toml", "-r", 4, "--steps", 30, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Wilson" in p.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["replications"] == 4 and len({r["seed"] for r in summary["runs"]}) == 4
    lo, hi = summary["shares"]["undecided"]["ci95"]
    assert 0 <= lo <= summary["shares"]["undecided"]["share"] <= hi <= 1
    assert (tmp_path / "outcomes.png").exists()
    # Any replication can be rerun alone from its recorded seed, with the same result.
    third = summary["runs"][2]
    alone = tmp_path / "alone"
    p = buddysim(
        "run", "scenarios/mixed_messages.toml", "--seed", third["seed"], "--steps", 30, "--out", alone, "--no-plots"
    )
    assert p.returncode == 0, p.stderr
    again = json.loads((alone / "summary.json").read_text())["runs"][0]
    assert again["outcome"] == third["outcome"] and again["final"] == third["final"]
    both = pd.read_parquet(tmp_path / "series.parquet")
    one = pd.read_parquet(alone / "series.parquet")
    rep = both[both.replication == 2].drop(columns="replication").reset_index(drop=True)
    pd.testing.assert_frame_equal(rep, one.drop(columns="replication"))


def test_same_seed_same_bytes_across_processes(tmp_path):
    outs = []
    for k, hashseed in enumerate(("1", "2")):
        out = tmp_path / str(k)
        p = buddysim(
            "run",
            "scenarios/unstable_leadership.toml",
            "--steps",
            30,
            "--out",
            out,
            "--no-plots",
            env={"PYTHONHASHSEED": hashseed},
        )
        assert p.returncode == 0, p.stderr
        outs.append(pd.read_parquet(out / "series.parquet"))
    pd.testing.assert_frame_equal(outs[0], outs[1], check_exact=True)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "{bad}"], "leadership.turnover_a: expected a number from 0 to 52"),
        (["validate", "{bad}"], "leadership.turnover_a"),
        (["run", "{missing}"], "no such file"),
        (["run", "--seed", "abc"], "expected a whole number"),
        (["run", "-r", "0"], "expected a whole number >= 1"),
    ],
)
def test_bad_input_exit_2_with_a_message_and_no_traceback(tmp_path, args, fragment):
    bad = tmp_path / "bad.toml"
    bad.write_text('[leadership]\nturnover_a = "often"\n')
    args = [a.format(bad=bad, missing=tmp_path / "missing.toml") for a in args]
    p = buddysim(*args)
    assert p.returncode == 2
    assert fragment in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_bad_output_folder_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = buddysim("run", "--steps", 5, "--out", blocker)
    assert p.returncode == 2 and "not a folder" in p.stderr and "Traceback" not in p.stderr


def test_validate_every_bundled_scenario():
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    p = buddysim("validate", *files)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("ok: ") == len(files)


def test_params_lists_every_parameter():
    p = buddysim("params")
    assert p.returncode == 0
    for param in PARAMS:
        assert param.name in p.stdout
    md = buddysim("params", "--markdown", "--section", "leadership")
    assert md.stdout.count("| `leadership.") == sum(p.section == "leadership" for p in PARAMS)


def test_scenarios_lists_questions():
    p = buddysim("scenarios")
    assert p.returncode == 0 and "baseline.toml" in p.stdout and "?" in p.stdout


def test_growth_with_submodels_that_need_filled_posts_is_refused(tmp_path):
    """Growth/decline is written down for the demography submodels only: anything else is a clear error."""
    bad = tmp_path / "grow.toml"
    bad.write_text("[staff]\ngrowth_per_year = 0.1\n\n[mechanisms]\npeer_influence = false\n")
    p = buddysim("run", bad)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "staff.growth_per_year" in p.stderr and "messaging" in p.stderr and "peer_influence" not in p.stderr
    ok = tmp_path / "grow_ok.toml"
    ok.write_text(
        "[staff]\ngrowth_per_year = 0.1\n\n[mechanisms]\n"
        + "".join(f"{m} = false\n" for m in MECHANISMS if m not in GROWTH_MECHANISMS)
    )
    p = buddysim("run", ok, "--steps", 20, "--out", tmp_path / "out", "--no-plots")
    assert p.returncode == 0, p.stderr
