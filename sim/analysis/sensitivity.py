"""Global sensitivity of the outcomes to the varied parameters: Sobol indices or Morris screening (SALib).

For a finished sweep with ``design = "sobol"`` (or ``"morris"``), each outcome
measure is averaged over the replications of each design point (so
stochastic noise is averaged before the decomposition), then SALib computes
first-order and total Sobol indices (Saltelli 2010 estimators) with bootstrap
95% confidence intervals, or Morris mu*, mu and sigma (Campolongo et al. 2007)
with a bootstrap interval for mu*. Morris effects are per full-range change of
a parameter (the design lives in the unit cube).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..sweep.design import Experiment, ExperimentError, load_saved_experiment

MEASURES = {
    "share bedded in": lambda runs: (runs["outcome"] == "bedded_in").astype(float),
    "share failed": lambda runs: (runs["outcome"] == "failed").astype(float),
    "partner trust (end)": lambda runs: runs["trust_min"],
    "adoption (end)": lambda runs: runs["adoption_min"],
}


def point_means(exp: Experiment, runs: pd.DataFrame, measure) -> np.ndarray:
    """One value per design point, in design order: the mean over its replications."""
    n_points = len(exp.points_table())
    ok = runs[runs["status"] == "ok"]
    if len(ok) < len(runs):
        raise ExperimentError(
            str(exp.path or exp.name),
            None,
            f"{len(runs) - len(ok)} run(s) failed; a variance decomposition needs every point",
        )
    y = measure(ok).groupby(ok["point"]).mean()
    if len(y) != n_points:
        raise ExperimentError(str(exp.path or exp.name), None, f"{n_points - len(y)} design point(s) have no runs")
    return y.sort_index().to_numpy(dtype=float)


def sobol_indices(exp: Experiment, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    from SALib.analyze import sobol

    res = sobol.analyze(exp.salib_problem(unit=True), y, calc_second_order=exp.second_order, conf_level=0.95, seed=seed)
    return pd.DataFrame(
        {
            "parameter": [f.key for f in exp.factors],
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )


def morris_indices(exp: Experiment, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    from SALib.analyze import morris

    res = morris.analyze(
        exp.salib_problem(unit=True), exp.unit_samples(), y, conf_level=0.95, num_levels=exp.levels, seed=seed
    )
    return pd.DataFrame(
        {
            "parameter": [f.key for f in exp.factors],
            "mu_star": res["mu_star"],
            "mu_star_conf": res["mu_star_conf"],
            "mu": res["mu"],
            "sigma": res["sigma"],
        }
    )


def sensitivity(folder: str | Path, measures: dict | None = None) -> tuple[str, pd.DataFrame]:
    """(method, table) for a finished Sobol or Morris sweep; one block of rows per outcome measure."""
    folder = Path(folder)
    exp = load_saved_experiment(folder)
    if exp.design not in ("sobol", "morris"):
        raise ExperimentError(
            str(folder),
            "experiment.design",
            f"sensitivity indices need a sobol or morris design, this sweep is {exp.design!r}",
        )
    runs = pd.read_parquet(folder / "runs.parquet")
    frames = []
    for name, measure in (measures or MEASURES).items():
        y = point_means(exp, runs, measure)
        if np.ptp(y) == 0:  # nothing to decompose: say so rather than divide by zero
            cols = (
                ["S1", "S1_conf", "ST", "ST_conf"]
                if exp.design == "sobol"
                else ["mu_star", "mu_star_conf", "mu", "sigma"]
            )
            table = pd.DataFrame({"parameter": [f.key for f in exp.factors], **dict.fromkeys(cols, np.nan)})
            table["note"] = f"constant ({y[0]:g}) across the design: indices undefined"
        else:
            with warnings.catch_warnings(record=True) as caught:  # SALib's warnings go into the table
                warnings.simplefilter("always")
                table = sobol_indices(exp, y) if exp.design == "sobol" else morris_indices(exp, y)
            table["note"] = "; ".join(sorted({str(w.message).split(",")[0] for w in caught}))
        table.insert(0, "outcome", name)
        frames.append(table)
    return exp.design, pd.concat(frames, ignore_index=True)
