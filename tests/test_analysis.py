"""Analysis: statistics against known cases, Sobol on Ishigami, PRIM on a planted box, compare, reports."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import compare, load_samples, prim_boxes, sobol_indices
from sim.analysis.sensitivity import morris_indices
from sim.analysis.stats import bootstrap_diff, newcombe_interval, verdict, wilson_interval
from sim.sweep import experiment_from_toml, load_experiment, sweep

ROOT = Path(__file__).resolve().parents[1]


# --- statistics ------------------------------------------------------------------------------------------
def test_wilson_known_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson_interval(10, 10)[1] == 1.0


def test_newcombe_reproduces_the_published_example():
    """Newcombe (1998), example (a): 56/70 vs 48/80, hybrid score interval 0.0524 to 0.3339."""
    d, lo, hi = newcombe_interval(48, 80, 56, 70)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.0524, abs=1e-4) and hi == pytest.approx(0.3339, abs=1e-4)


def test_bootstrap_difference_and_verdicts():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, 400)
    d, lo, hi = bootstrap_diff(a, a + 0.5, paired=True)
    assert d == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    d, lo, hi = bootstrap_diff(a, rng.normal(0.0, 1.0, 400))
    assert lo < 0 < hi and verdict(lo, hi, "x") == "no detectable difference"
    assert verdict(0.1, 0.3, "baseline") == "higher than baseline"
    assert verdict(-0.3, -0.1, "baseline") == "lower than baseline"


# --- sensitivity --------------------------------------------------------------------------------------------
def unit_experiment(design, samples, extra=""):
    keys = ["system.competition", "system.regulatory_alignment", "system.place_identity"]
    vary = "".join(f'[vary."{k}"]\nlow = 0.0\nhigh = 1.0\n' for k in keys)
    return experiment_from_toml(f'[experiment]\ndesign = "{design}"\nsamples = {samples}\nseed = 11\n{extra}{vary}')


def test_sobol_indices_of_the_ishigami_function():
    """Through our own design and analysis path: known total indices 0.558, 0.442, 0.244; first order 0.314, 0.442, 0."""
    exp = unit_experiment("sobol", 2048)
    x = exp.points_table().to_numpy(dtype=float) * 2 * np.pi - np.pi
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    t = sobol_indices(exp, y)
    assert t["ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.03)
    assert t["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.03)
    assert (t["ST_conf"] > 0).all()


def test_morris_ranks_a_linear_function():
    exp = unit_experiment("morris", 40)
    u = exp.unit_samples()
    y = 3.0 * u[:, 0] + 1.0 * u[:, 1] + 0.0 * u[:, 2]
    t = morris_indices(exp, y)
    assert t["mu_star"].to_numpy() == pytest.approx([3.0, 1.0, 0.0], abs=1e-9)


# --- PRIM ---------------------------------------------------------------------------------------------------
def test_prim_finds_a_planted_box():
    # 2,000 points (12% in the box, 2% labels flipped): the assertions hold for each of seeds 0-19.
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((2000, 3)), columns=["a", "b", "c"])
    x["stance"] = rng.choice(["partner", "neutral", "excluded"], 2000)
    y = ((x["a"] > 0.6) & (x["b"] < 0.3)).to_numpy() ^ (rng.random(2000) < 0.02)
    d = prim_boxes(x, y, threshold=0.9, outcome="failed")
    box = d.boxes[0]
    assert set(box.restrictions) == {"a", "b"}, box.restrictions
    assert box.restrictions["a"][0] == pytest.approx(0.6, abs=0.05) and box.restrictions["a"][1] is None
    assert box.restrictions["b"][1] == pytest.approx(0.3, abs=0.05) and box.restrictions["b"][0] is None
    assert box.density >= 0.9 and box.coverage > 0.7
    assert "a >= 0.6" in d.to_text() or "a >= 0.5" in d.to_text() or "a >= 0.6" in box.describe()


def test_prim_finds_a_categorical_box():
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.random(3000), "stance": rng.choice(["partner", "neutral", "excluded"], 3000)})
    y = (x["stance"] == "excluded").to_numpy() & (x["a"] < 0.5)
    d = prim_boxes(x, y, threshold=0.9)
    assert d.boxes[0].restrictions["stance"] == ["excluded"]


def test_prim_with_no_cases_reports_no_box():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    d = prim_boxes(x, np.zeros(50, bool), outcome="bedded_in")
    assert d.boxes == [] and "no run has this outcome" in d.to_text()


# --- compare ----------------------------------------------------------------------------------------------
def small_scenario(tmp_path, name, extra=""):
    f = tmp_path / f"{name}.toml"
    f.write_text(f"# {name}?\n[organisations]\nstaff_a = 80\nstaff_b = 120\nteam_size = 10\n[run]\nsteps = 60\n{extra}")
    return f


def test_compare_scenarios_with_common_seeds(tmp_path):
    a = small_scenario(tmp_path, "base")
    b = small_scenario(tmp_path, "same")
    c = small_scenario(tmp_path, "rivals", "[system]\ncompetition = 1.0\nhistory = -1.0\n")
    comp = compare(load_samples([a, b, c], replications=12, seed=5))
    assert list(comp.table.index) == ["base", "same", "rivals"]
    same = comp.differences[comp.differences["scenario"] == "same"]
    assert (same["estimate"] == 0).all() and (same["verdict"] == "no detectable difference").all()
    rivals = comp.differences[
        (comp.differences["scenario"] == "rivals") & (comp.differences["measure"] == "mean trust_min")
    ]
    assert rivals["verdict"].iloc[0] == "lower than base" and rivals["method"].iloc[0] == "bootstrap, paired by seed"
    text = comp.to_text()
    assert "Wilson" in text and "Newcombe" in text and "Differences against base" in text
    written = comp.to_csv(tmp_path / "out")
    assert all(p.exists() for p in written)
    assert comp.figure(tmp_path / "out" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert len(comp.figure().axes) == 4
    assert "| rivals |" in comp.to_markdown()


def test_compare_run_folders_and_cli(tmp_path, cli):
    a = small_scenario(tmp_path, "base")
    for name in ("one", "two"):
        code, _, err = cli("run", a, "-r", 3, "--out", tmp_path / name, "--no-plots", "-q")
        assert code == 0, err
    code, out, err = cli("compare", tmp_path / "one", tmp_path / "two", "--out", tmp_path / "cmp")
    assert code == 0, err
    assert "no detectable difference" in out
    assert (tmp_path / "cmp" / "compare.md").exists() and (tmp_path / "cmp" / "compare.png").exists()
    assert (tmp_path / "cmp" / "compare_survival.png").exists() and "log-rank" in out
    code, _, err = cli("compare", a, tmp_path / "nothing.toml")
    assert code == 2 and "no such file" in err
    code, _, err = cli("compare", tmp_path / "one", tmp_path)
    assert code == 2 and "not a result folder of `buddysim run`" in err


# --- reports -------------------------------------------------------------------------------------------------
SECTION_IDS = (
    "overview",
    "shares-by-parameter",
    "phase-diagram",
    "trajectories",
    "outcome-times",
    "survival",
    "sensitivity",
    "discovery",
    "manifest",
    "methods",
)


def finished_sweep(tmp_path, design_block, name):
    design, vary = design_block.split("[vary", 1)
    f = tmp_path / f"{name}.toml"
    f.write_text(f"""# {name}
[experiment]
scenario = "{ROOT / "scenarios" / "baseline.toml"}"
{design}
seed = 4
[vary{vary}
[set]
"organisations.staff_a" = 80
"organisations.staff_b" = 120
"organisations.team_size" = 10
"run.steps" = 60
"system.history" = 0.6
[record]
series = ["trust_min", "adoption_min", "board_min"]
every = 5
""")
    sweep(load_experiment(f), tmp_path / name, workers=1, log=lambda *a: None)
    return tmp_path / name


def check_report(cli, folder, out=None):
    code, _, err = cli("report", folder, *(["--out", out] if out else []))
    assert code == 0, err
    html = Path(out or folder / "report.html").read_text()
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in html, sid
    assert html.count("data:image/png;base64,") >= 4
    assert "http://" not in html and "https://" not in html, "the report must be self-contained"
    return html


def section(html, sid):
    return re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S).group(1)


def test_report_of_a_grid_sweep(tmp_path, cli):
    folder = finished_sweep(
        tmp_path,
        'design = "grid"\nreplications = 3\n'
        '[vary."system.competition"]\nvalues = [0.1, 0.5, 0.9]\n'
        '[vary."staff.union_stance"]\nvalues = ["excluded", "partner"]\n',
        "grid",
    )
    html = check_report(cli, folder)
    # Two parameters on a grid: the phase diagram is drawn, for bedding in and for failing (its title is
    # inside the PNG, so the images themselves are what is checked).
    phase = section(html, "phase-diagram")
    assert phase.count("data:image/png;base64,") == 2
    assert 'alt="phase diagram, bedded in"' in phase and 'alt="phase diagram, failed"' in phase
    assert section(html, "shares-by-parameter").count("data:image/png;base64,") == 2
    assert "need a sobol or morris design" in section(html, "sensitivity")
    code, out, err = cli("discover", folder, "--outcome", "bedded_in")
    assert code == 0 and "PRIM scenario discovery for 'bedded_in'" in out, err
    code, _, err = cli("sensitivity", folder)
    assert code == 2 and "sobol or morris" in err


def test_report_of_a_sobol_sweep_has_indices(tmp_path, cli):
    folder = finished_sweep(
        tmp_path,
        'design = "sobol"\nsamples = 8\nreplications = 1\n'
        '[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\n'
        '[vary."leadership.turnover_a"]\nlow = 0.1\nhigh = 3.0\n',
        "sobol",
    )
    html = check_report(cli, folder, folder / "r.html")
    sens = section(html, "sensitivity")
    assert "data:image/png;base64," in sens and "ST_conf" in sens
    assert "A phase diagram needs two or more parameters varied on a grid" in section(html, "phase-diagram")
    code, _, err = cli("sensitivity", folder, "--csv", folder / "s.csv")
    assert code == 0, err
    table = pd.read_csv(folder / "s.csv")
    assert set(table["parameter"]) == {"system.competition", "leadership.turnover_a"}
    assert not math.isnan(table.loc[table["outcome"] == "partner trust (end)", "ST"].iloc[0])


def test_analysis_commands_reject_a_folder_that_is_not_a_sweep(tmp_path, cli):
    for cmd in ("report", "discover", "sensitivity"):
        code, _, err = cli(cmd, tmp_path)
        assert code == 2 and "runs.parquet" in err, cmd
