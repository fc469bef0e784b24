"""Calibration to target patterns by rejection ABC (approximate Bayesian computation), on the sweep engine.

A calibration file (TOML, data only) names a base scenario, uniform priors on
chosen parameters, target patterns with a tolerance scale, and the ABC
settings::

    [calibration]
    scenario = "../scenarios/baseline.toml"
    samples = 400          # prior draws (Latin hypercube)
    replications = 10      # runs per draw
    seed = 2013
    accept = 0.1           # share of draws kept

    [prior."leadership.turnover_a"]
    low = 0.3
    high = 1.5

    [target.bedded_in_by_week_52]
    value = 0.455          # 5 of 11 trusts
    sd = 0.15              # how far off counts as one unit of distance
    source = "..."

Draws become an LHS experiment run by the sweep engine (so it runs locally,
on a Dask cluster or as SLURM shards, and resumes). For each draw the summary
statistics are computed over its replications; the distance to the targets
is ``sqrt(sum(((stat - value) / sd)^2))``; the ``accept`` share of draws
closest to the targets is the approximate posterior (Pritchard et al. 1999;
Beaumont 2010). Output: ``accepted.csv``, ``draws.csv``, ``posterior.png``,
``calibrated.toml`` (the base scenario with the posterior medians) and
``calibration.json``.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario import PARAM_BY_KEY, ScenarioError, did_you_mean
from ..sweep import experiment_from_toml, sweep
from ..sweep.design import ExperimentError

WEEKS_PER_YEAR = 52.0


def _share_bedded_in_by(runs: pd.DataFrame, week: int) -> float:
    return float(((runs["outcome"] == "bedded_in") & (runs["outcome_step"] <= week)).mean())


#: Summary statistics a target may name: f(runs of one draw, their series, base scenario) -> float.
STATISTICS = {
    "bedded_in_by_week_52": lambda runs, series, sc: _share_bedded_in_by(runs, 52),
    "bedded_in_by_week_104": lambda runs, series, sc: _share_bedded_in_by(runs, 104),
    "share_bedded_in": lambda runs, series, sc: float((runs["outcome"] == "bedded_in").mean()),
    "share_failed": lambda runs, series, sc: float((runs["outcome"] == "failed").mean()),
    "mean_week_bedded_in": lambda runs, series, sc: float(
        runs.loc[runs["outcome"] == "bedded_in", "outcome_step"].mean()
    ),
    "staff_turnover_per_year": lambda runs, series, sc: float(
        (series["leavers_a"] + series["leavers_b"]).sum()
        / (
            (sc["organisations.staff_a"] + sc["organisations.staff_b"])
            * len(runs)
            * (series["step"].max() / WEEKS_PER_YEAR)
        )
    ),
}


@dataclass
class Calibration:
    name: str
    text: str
    base_path: str | None
    samples: int
    replications: int
    seed: int
    accept: float
    priors: dict  # key -> (low, high)
    targets: dict  # name -> {"value", "sd", "source"}

    def experiment_text(self) -> str:
        lines = [
            f"# ABC draws for calibration {self.name}",
            "[experiment]",
            'design = "lhs"',
            f"samples = {self.samples}",
            f"replications = {self.replications}",
            f"seed = {self.seed}",
        ]
        if self.base_path:
            lines.append(f'scenario = "{self.base_path}"')
        for key, (lo, hi) in self.priors.items():
            lines += [f'[vary."{key}"]', f"low = {lo!r}", f"high = {hi!r}"]
        lines += ["[record]", 'series = ["leavers_a", "leavers_b"]', "every = 1"]
        return "\n".join(lines) + "\n"


def load_calibration(path: str | Path) -> Calibration:
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except FileNotFoundError:
        raise ScenarioError(source, None, "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
    cal = doc.get("calibration", {})
    allowed = {"scenario", "samples", "replications", "seed", "accept", "name"}
    for k in cal:
        if k not in allowed:
            raise ScenarioError(source, f"calibration.{k}", "unknown key" + did_you_mean(k, allowed))
    accept = cal.get("accept", 0.1)
    if isinstance(accept, bool) or not isinstance(accept, (int, float)) or not 0 < accept <= 1:
        raise ScenarioError(source, "calibration.accept", f"expected a share in (0, 1], got {accept!r}")
    priors = {}
    for key, spec in (doc.get("prior") or {}).items():
        if key not in PARAM_BY_KEY or PARAM_BY_KEY[key].kind not in (int, float):
            raise ScenarioError(source, f"prior.{key}", "not a numeric parameter" + did_you_mean(key, PARAM_BY_KEY))
        if not isinstance(spec, dict) or "low" not in spec or "high" not in spec:
            raise ScenarioError(source, f"prior.{key}", "expected low = ... and high = ...")
        priors[key] = (spec["low"], spec["high"])
    if not priors:
        raise ScenarioError(source, "prior", 'no [prior."section.name"] tables')
    targets = {}
    for name, spec in (doc.get("target") or {}).items():
        if name not in STATISTICS:
            raise ScenarioError(
                source,
                f"target.{name}",
                "unknown statistic" + did_you_mean(name, STATISTICS) + "; available: " + ", ".join(STATISTICS),
            )
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("value"), (int, float))
            or not isinstance(spec.get("sd"), (int, float))
            or not spec["sd"] > 0
        ):
            raise ScenarioError(source, f"target.{name}", "expected value = <number> and sd = <number > 0>")
        targets[name] = {"value": float(spec["value"]), "sd": float(spec["sd"]), "source": spec.get("source", "")}
    if not targets:
        raise ScenarioError(source, "target", "no [target.<statistic>] tables")
    base = cal.get("scenario")
    base_path = str((path.parent / base).resolve()) if base else None
    c = Calibration(
        cal.get("name", path.stem),
        text,
        base_path,
        cal.get("samples", 200),
        cal.get("replications", 10),
        cal.get("seed", 0),
        float(accept),
        priors,
        targets,
    )
    try:  # validates samples, replications, seed and every prior bound through the experiment schema
        experiment_from_toml(c.experiment_text(), source=source)
    except ExperimentError as exc:
        raise ScenarioError(source, exc.key, exc.message) from None
    return c


def statistics_by_draw(cal: Calibration, runs: pd.DataFrame, series: pd.DataFrame, base) -> pd.DataFrame:
    keys = list(cal.priors)
    rows = []
    for point, group in runs[runs["status"] == "ok"].groupby("point"):
        s = series[series["run_id"].isin(group["run_id"])]
        row = {"point": int(point), **{k: group[k].iloc[0] for k in keys}}
        for name in cal.targets:
            row[name] = STATISTICS[name](group, s, base)
        rows.append(row)
    stats = pd.DataFrame(rows)
    dist = np.zeros(len(stats))
    for name, t in cal.targets.items():
        z = ((stats[name] - t["value"]) / t["sd"]).to_numpy(dtype=float)
        dist += np.where(np.isnan(z), 1e6, z * z)  # a statistic that cannot be computed is far away
    stats["distance"] = np.sqrt(dist)
    return stats.sort_values("distance", kind="stable").reset_index(drop=True)


def calibrate(
    path: str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    log=print,
    progress=None,
) -> dict:
    cal = load_calibration(path)
    out = Path(out)
    exp = experiment_from_toml(cal.experiment_text(), source=str(path), name=f"{cal.name}-draws")
    sweep(exp, out / "draws", workers=workers, scheduler=scheduler, log=log, progress=progress)
    runs = pd.read_parquet(out / "draws" / "runs.parquet")
    series = pd.read_parquet(out / "draws" / "series.parquet")
    stats = statistics_by_draw(cal, runs, series, exp.base)
    n_keep = max(1, int(round(cal.accept * len(stats))))
    accepted = stats.iloc[:n_keep]
    stats.to_csv(out / "draws.csv", index=False)
    accepted.to_csv(out / "accepted.csv", index=False)
    posterior = {
        k: {
            "median": float(accepted[k].median()),
            "q05": float(accepted[k].quantile(0.05)),
            "q95": float(accepted[k].quantile(0.95)),
            "prior": list(cal.priors[k]),
        }
        for k in cal.priors
    }
    changes = {
        k: (int(round(v["median"])) if PARAM_BY_KEY[k].kind is int else round(v["median"], 4))
        for k, v in posterior.items()
    }
    calibrated = exp.base.replace(changes)
    calibrated.description = (
        f"Calibrated by rejection ABC ({cal.name}): the base scenario with the posterior "
        f"medians of {', '.join(cal.priors)}.\nTargets: "
        + "; ".join(f"{n} = {t['value']:g}" for n, t in cal.targets.items())
    )
    (out / "calibrated.toml").write_text(calibrated.to_toml())
    achieved = {
        n: {
            "target": t["value"],
            "accepted_mean": float(accepted[n].mean()),
            "all_draws_mean": float(stats[n].mean()),
            "source": t["source"],
        }
        for n, t in cal.targets.items()
    }
    summary = {
        "calibration": cal.name,
        "draws": len(stats),
        "accepted": n_keep,
        "tolerance_distance": float(accepted["distance"].max()),
        "posterior": posterior,
        "targets": achieved,
        "replications_per_draw": cal.replications,
    }
    (out / "calibration.json").write_text(json.dumps(summary, indent=2) + "\n")
    _posterior_figure(cal, stats, accepted, out / "posterior.png")
    return summary


def _posterior_figure(cal: Calibration, stats: pd.DataFrame, accepted: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(cal.priors)
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), constrained_layout=True, squeeze=False)
    for ax, k in zip(axes.flat, keys):
        lo, hi = cal.priors[k]
        bins = np.linspace(lo, hi, 16)
        ax.hist(stats[k], bins=bins, density=True, color="#bbbbbb", label="prior (all draws)")
        ax.hist(accepted[k], bins=bins, density=True, color="#045a8d", alpha=0.75, label="accepted (posterior)")
        ax.axvline(accepted[k].median(), color="k", ls="--", lw=1.5, label="posterior median")
        ax.set_xlabel(f"{k} ({PARAM_BY_KEY[k].unit})")
        ax.set_ylabel("density")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=9)
    fig.suptitle(f"Rejection ABC: {len(accepted)} of {len(stats)} draws accepted", fontsize=14)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def describe(summary: dict) -> str:
    lines = [
        f"calibration {summary['calibration']}: {summary['accepted']} of {summary['draws']} draws accepted "
        f"(distance <= {summary['tolerance_distance']:.2f})",
        "posterior (median [5%, 95%], prior range):",
    ]
    for k, v in summary["posterior"].items():
        lines.append(f"  {k:40s} {v['median']:.3g} [{v['q05']:.3g}, {v['q95']:.3g}]   prior {v['prior']}")
    lines.append("targets (target / accepted mean / mean over all draws):")
    for n, t in summary["targets"].items():
        lines.append(f"  {n:40s} {t['target']:.3g} / {t['accepted_mean']:.3g} / {t['all_draws_mean']:.3g}")
    return "\n".join(lines)
