"""Rejection ABC on the sweep engine: a parameter with a known effect is pulled toward its target."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sim import ScenarioError, load_scenario
from sim.validation.calibrate import calibrate, load_calibration

ROOT = Path(__file__).resolve().parents[1]


def calibration_file(tmp_path, extra=""):
    f = tmp_path / "cal.toml"
    f.write_text(f"""
[calibration]
scenario = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"
samples = 24
replications = 1
seed = 5
accept = 0.25
[prior."staff.turnover_per_year"]
low = 0.02
high = 0.4
[target.staff_turnover_per_year]
value = 0.12
sd = 0.01
{extra}""")
    return f


def test_abc_concentrates_the_posterior_near_the_target(tmp_path):
    f = calibration_file(tmp_path)
    summary = calibrate(f, tmp_path / "out", workers=1, log=lambda *a: None)
    draws = pd.read_csv(tmp_path / "out" / "draws.csv")
    accepted = pd.read_csv(tmp_path / "out" / "accepted.csv")
    assert len(draws) == 24 and len(accepted) == 6
    assert accepted["distance"].max() <= draws["distance"].sort_values().iloc[5]  # the 6 closest draws
    # the accepted draws reproduce the target far better than the prior as a whole
    assert abs(accepted["staff_turnover_per_year"].mean() - 0.12) < 0.02
    assert accepted["staff.turnover_per_year"].std() < 0.5 * draws["staff.turnover_per_year"].std()
    cal = load_scenario(tmp_path / "out" / "calibrated.toml")
    assert cal["staff.turnover_per_year"] == pytest.approx(
        summary["posterior"]["staff.turnover_per_year"]["median"], abs=1e-4
    )
    saved = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert saved["accepted"] == 6 and (tmp_path / "out" / "posterior.png").exists()


def test_bundled_calibration_file_loads():
    cal = load_calibration(ROOT / "validation" / "calibration.toml")
    assert {"bedded_in_by_week_52", "mean_week_bedded_in", "staff_turnover_per_year"} <= set(cal.targets)
    assert all(t["source"] for t in cal.targets.values())


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ("[target.bedded_in_by_week_5]\nvalue = 0.4\nsd = 0.1\n", "did you mean 'bedded_in_by_week_52'"),
        ("[target.share_failed]\nvalue = 0.4\nsd = 0\n", "sd = <number > 0>"),
    ],
)
def test_bad_calibration_files_are_named(tmp_path, cli, extra, fragment):
    f = calibration_file(tmp_path, extra)
    with pytest.raises(ScenarioError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        load_calibration(f)
    code, _, err = cli("calibrate", f, "--out", tmp_path / "out")
    assert code == 2 and fragment in err
