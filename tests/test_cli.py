"""The terminal face. Most checks call ``sim.cli.main`` in this process (the same code a user runs, without
paying for a new interpreter); a fresh process is used only where the process itself is under test: the
installed entry point run from another folder, byte-identical output across hash seeds, what importing
the CLI loads, and a reader that closes the pipe."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import PARAMS, __version__, bundled_scenarios, load_scenario
from sim.scenario import GROWTH_MECHANISMS, MECHANISMS

ROOT = Path(__file__).resolve().parents[1]


def buddysim(*args, cwd=ROOT, env=None):
    """The CLI as a user runs it: a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_run_by_name_from_any_folder_writes_summary_series_events_and_figure(tmp_path):
    """The bundled scenario is found by name from a folder that has no scenarios/ in it."""
    p = buddysim("run", "baseline", "--steps", 40, "--seed", 3, "--out", "out", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Outcome:" in p.stdout and "trust in partner" in p.stdout
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"][0]["outcome"] in ("bedded_in", "failed", "undecided")
    assert summary["runs"][0]["seed"] == 3 and summary["buddysim_version"] == __version__
    assert summary["scenario_file"] == str(bundled_scenarios()["baseline"])
    series = pd.read_parquet(out / "series.parquet")
    assert len(series) == 41 and {"replication", "seed", "step", "partner_trust_a"} <= set(series.columns)
    assert (out / "events.csv").exists()
    assert (out / "trajectories.png").read_bytes()[:4] == b"\x89PNG"


def test_replications_give_shares_with_intervals_and_reproduce_alone(tmp_path, cli):
    code, out, err = cli("run", "mixed_messages", "-r", 4, "--steps", 30, "--out", tmp_path)
    assert code == 0, err
    assert "Wilson" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["replications"] == 4 and len({r["seed"] for r in summary["runs"]}) == 4
    lo, hi = summary["shares"]["undecided"]["ci95"]
    assert 0 <= lo <= summary["shares"]["undecided"]["share"] <= hi <= 1
    assert (tmp_path / "outcomes.png").exists()
    # Any replication can be rerun alone from its recorded seed, with the same result.
    third = summary["runs"][2]
    alone = tmp_path / "alone"
    code, _, err = cli("run", "mixed_messages", "--seed", third["seed"], "--steps", 30, "--out", alone, "--no-plots")
    assert code == 0, err
    assert not (alone / "trajectories.png").exists()
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
        (["run", "baselin"], "no bundled scenario of that name (did you mean 'baseline'?)"),
        (["run", "--seed", "abc"], "expected a whole number"),
        (["run", "-r", "0"], "expected a whole number >= 1"),
        (["scenarios", "--dir", "{empty}"], "no .toml scenario files here"),
        (["run", "--engine", "array"], "the 'array' engine was retired"),
        (["run", "--engine", "numpy"], "'numpy' is not an engine: use 'compiled' (the default) or 'reference'"),
    ],
)
def test_bad_input_exit_2_with_a_message_and_no_traceback(tmp_path, cli, args, fragment):
    """In process: an exception escaping main() (a traceback for a user) fails the test."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[leadership]\nturnover_a = "often"\n')
    (tmp_path / "empty").mkdir()
    args = [a.format(bad=bad, missing=tmp_path / "missing.toml", empty=tmp_path / "empty") for a in args]
    code, _, err = cli(*args)
    assert code == 2
    assert fragment in err, err
    assert not (tmp_path / "results").exists()


def test_bad_output_folder_is_reported(tmp_path, cli):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = cli("run", "--steps", 5, "--out", blocker)
    assert code == 2 and "not a folder" in err
    code, _, err = cli("run", "--steps", 5, "--out", blocker / "below")
    assert code == 2 and "cannot create the output folder" in err


def test_validate_every_bundled_scenario_by_path_and_by_name(cli):
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    assert [f.name for f in files] == [f.name for f in bundled_scenarios().values()]
    code, out, err = cli("validate", *files, *bundled_scenarios())
    assert code == 0, err
    assert out.count("ok: ") == 2 * len(files)


def test_params_lists_every_parameter(cli):
    code, out, _ = cli("params")
    assert code == 0
    for param in PARAMS:
        assert f"\n  {param.name} " in out, param.key
    code, md, _ = cli("params", "--markdown", "--section", "leadership")
    assert code == 0
    assert md.count("| `leadership.") == sum(p.section == "leadership" for p in PARAMS)


def test_scenarios_lists_every_bundled_scenario_with_its_question(cli):
    code, out, _ = cli("scenarios")
    assert code == 0
    lines = out.splitlines()
    for name, path in bundled_scenarios().items():
        (line,) = [line for line in lines if line.split()[:1] == [name]]
        question = load_scenario(path).description.splitlines()[0]
        assert "?" in question and line.endswith(question), line


def test_version_is_the_package_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"buddysim {__version__}"


def test_growth_with_submodels_that_need_filled_posts_is_refused(tmp_path, cli):
    """Growth/decline is written down for the demography submodels only: anything else is a clear error."""
    bad = tmp_path / "grow.toml"
    bad.write_text("[staff]\ngrowth_per_year = 0.1\n\n[mechanisms]\npeer_influence = false\n")
    code, _, err = cli("run", bad)
    assert code == 2
    assert "staff.growth_per_year" in err and "messaging" in err and "peer_influence" not in err
    ok = tmp_path / "grow_ok.toml"
    ok.write_text(
        "[staff]\ngrowth_per_year = 0.1\n\n[mechanisms]\n"
        + "".join(f"{m} = false\n" for m in MECHANISMS if m not in GROWTH_MECHANISMS)
    )
    code, _, err = cli("run", ok, "--steps", 20, "--out", tmp_path / "out", "--no-plots")
    assert code == 0, err


HEAVY = ("numpy", "pandas", "pyarrow", "matplotlib", "mesa", "numba", "scipy", "networkx", "SALib", "ema_workbench")


def test_commands_that_do_not_simulate_import_nothing_heavy(tmp_path):
    """`validate`, `params` and `scenarios` answer at once: they load the schema, not numpy, pandas, the model,
    Mesa, numba or matplotlib (a fresh interpreter, since this one has loaded everything)."""
    code = f"""
import sys
from sim.cli import main
for argv in (["validate", "baseline", {str(ROOT / "scenarios" / "mixed_messages.toml")!r}], ["params"], ["scenarios"]):
    assert main(argv) == 0, argv
print("LOADED", sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r})))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == "LOADED []"


@pytest.mark.parametrize("args", [["params"], ["scenarios"], ["params", "--markdown"], ["validate", "baseline"]])
def test_a_reader_that_closes_the_pipe_gets_no_traceback(args):
    """`buddysim params | head`: the reader is gone before the first write, so every write fails (EPIPE)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    proc.stdout.close()  # no reader is left: the child's first write to stdout fails
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, err
    assert err == ""


def test_compare_takes_bundled_scenarios_by_name(cli, tmp_path):
    """As each bundled timeline scenario suggests in its comment: `buddysim compare baseline <name>`."""
    code, out, err = cli(
        "compare", "baseline", "new_chief_executive_at_six_months", "-r", "2", "--steps", "30", "--out", tmp_path
    )
    assert code == 0, err
    assert "new_chief_executive_at_six_months" in out and (tmp_path / "compare_scenarios.csv").exists()
    code, _, err = cli("compare", "baseline", "new_chief_executive_at_six_month", "--out", tmp_path)
    assert code == 2 and "no bundled scenario of that name (did you mean 'new_chief_executive_at_six_months'?)" in err
