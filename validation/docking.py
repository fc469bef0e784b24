"""Docking the peer-influence submodel: Deffuant et al. (2000) and Ben-Naim, Krapivsky & Redner (2003).

    .venv/bin/python validation/docking.py [--workers N]     # ~3 min on 2 cores

Runs the experiment files validation/docking/deffuant.toml, bounded_confidence.toml and
bounded_confidence_size.toml with the sweep engine (results in results/validation/), integrates the
rate equation of Ben-Naim et al. (sim/docking.py) for the same bounds, writes the figures
validation/figures/dw_clusters.png and bc_bifurcation.png and prints the Markdown tables that
validation/build.py puts into docs/validation.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FIGURES, ROOT, markdown, runs_of

from sim.analysis.stats import wilson_interval
from sim.validation.docking import consensus_threshold, rate_equation

D, MU = "culture.confidence_bound", "culture.convergence"
COLOURS = {0.5: "#045a8d", 0.3: "#74a9cf", 0.1: "#d95f02", 200: "#fdae6b", 1000: "#045a8d", 4000: "#023858"}
#: Rate-equation settings for every prediction below (and the resolution check).
RATE = dict(cells_per_bound=40, t_end=2000.0, dt=0.2)
#: Bootstrap resamples behind each threshold's interval (build.py --quick lowers it: a pipeline check).
BOOTSTRAP = 300


# --- 1. Deffuant et al.: major clusters against d --------------------------------------------------------
def deffuant(results: Path, workers: int | None) -> dict:
    runs = runs_of("deffuant", results, workers)
    ds = sorted(runs[D].unique())
    fig, ax = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    rows = []
    table = runs.groupby([D, MU])["culture_clusters"]
    for mu in (0.5, 0.1):
        sub = runs[runs[MU] == mu]
        ax.scatter(sub[D], sub["culture_clusters"], color=COLOURS[mu], alpha=0.2, s=15)
        means = [table.get_group((d, mu)).mean() for d in ds]
        ax.plot(ds, means, "o-", color=COLOURS[mu], label=f"buddysim peer influence, mu = {mu} (mean of runs)")
    grid = np.linspace(min(ds), max(ds), 200)
    ax.plot(grid, np.floor(1 / (2 * grid)), "k--", lw=1, label="floor(1 / 2d) (Deffuant et al. 2000)")
    ax.set_xlabel("confidence bound d")
    ax.set_ylabel("major culture clusters")
    ax.set_title("Docking 1: bounded confidence, well mixed, N = 1,000")
    ax.legend()
    ax.grid(alpha=0.3)
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURES / "dw_clusters.png", dpi=110)
    plt.close(fig)
    for d in ds:
        cells = []
        for mu in (0.5, 0.1):
            c = table.get_group((d, mu))
            cells.append(f"{c.mean():.1f} ({int(c.min())}-{int(c.max())})" if c.min() != c.max() else f"{c.mean():.1f}")
        rows.append([f"{d:g}", int(1 / (2 * d)), *cells])
    n = int(table.size().iloc[0])
    return {
        "deffuant_table": markdown(
            rows,
            [
                "d",
                "floor(1/2d)",
                f"clusters, mu = 0.5: mean (min-max), {n} runs",
                f"clusters, mu = 0.1: mean (min-max), {n} runs",
            ],
        )
    }


# --- 2. Ben-Naim et al.: the bifurcation from consensus to two parties ------------------------------------
def logistic_d50(
    d: np.ndarray, y: np.ndarray, n_boot: int | None = None, seed: int = 0
) -> tuple[float, float, float, float]:
    """Maximum-likelihood logistic fit of consensus (0/1) on d: (d50, 95% bootstrap interval, 10-90% width)."""

    def fit(d, y):
        def nll(theta):
            z = (d - theta[0]) / math.exp(theta[1])
            return float(np.sum(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)))

        return minimize(
            nll, [0.27, math.log(0.01)], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000}
        ).x

    a, log_s = fit(d, y)
    n_boot = BOOTSTRAP if n_boot is None else n_boot
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(d == v) for v in np.unique(d)]
    boots = []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(g, g.size) for g in groups])  # resample runs within each d
        boots.append(fit(d[idx], y[idx])[0])
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(a), float(lo), float(hi), float(2 * math.log(9) * math.exp(log_s))


def _consensus_share(runs: pd.DataFrame, by: str) -> pd.DataFrame:
    g = runs.assign(consensus=runs["culture_clusters"] == 1).groupby([by, D])["consensus"]
    out = g.agg(["sum", "count"]).reset_index()
    ci = [wilson_interval(int(k), int(n)) for k, n in zip(out["sum"], out["count"])]
    out["share"] = out["sum"] / out["count"]
    out["low"], out["high"] = [c[0] for c in ci], [c[1] for c in ci]
    return out


def bifurcation(results: Path, workers: int | None, log=print) -> dict:
    runs = runs_of("bounded_confidence", results, workers)
    size = runs_of("bounded_confidence_size", results, workers)
    size = size.assign(N=100 + size["organisations.staff_b"])
    ds = sorted(runs[D].unique())
    mus = sorted(runs[MU].unique(), reverse=True)

    log("rate equation: consensus thresholds (bisection) ...")
    thresholds = {mu: consensus_threshold(mu, **RATE) for mu in mus}
    coarse = consensus_threshold(0.5, cells_per_bound=20, t_end=RATE["t_end"], dt=RATE["dt"])
    log("rate equation: final densities ...")
    dens = {d: rate_equation(d, 0.5, **RATE) for d in ds}

    # Table: the bifurcation at mu = 0.5, N = 1,000, against the rate equation.
    rows = []
    half = runs[runs[MU] == 0.5]
    for d in ds:
        major = dens[d].major()
        outer = (major[-1][0] - major[0][0]) / 2
        r = half[half[D] == d]
        k = r["culture_clusters"].value_counts().sort_index()
        two = r[r["culture_clusters"] == 2]["culture_outer_distance"]
        lo, hi = wilson_interval(int((r["culture_clusters"] == 1).sum()), len(r))
        rows.append(
            [
                f"{d:g}",
                f"{1 / (2 * d):.3f}",
                len(major),
                f"{outer:.3f}",
                " / ".join(f"{int(c)}: {n}" for c, n in k.items()),
                f"{(r['culture_clusters'] == 1).mean():.2f} [{lo:.2f}, {hi:.2f}]",
                f"{two.mean():.3f} ± {two.std():.3f}" if len(two) > 1 else "-",
                f"{r['culture_unclustered_share'].mean():.4f}",
            ]
        )
    table = markdown(
        rows,
        [
            "d",
            "Delta = 1/2d",
            "rate eq.: major clusters",
            "rate eq.: outer half-distance",
            "model: runs by clusters (k: runs)",
            "model: share consensus [95% CI]",
            "model: outer half-distance, 2-cluster runs (mean ± sd)",
            "model: share unclustered",
        ],
    )

    # Table: the threshold, by convergence rate and by population.
    trows = []
    for mu in mus:
        r = runs[runs[MU] == mu]
        a, lo, hi, width = logistic_d50(r[D].to_numpy(), (r["culture_clusters"] == 1).to_numpy(float))
        t_lo, t_hi = thresholds[mu]
        trows.append(
            [
                f"mu = {mu:g}, N = 1,000",
                f"{a:.4f} [{lo:.4f}, {hi:.4f}]",
                f"{width:.3f}",
                f"{t_lo:.4f}-{t_hi:.4f}",
                f"{1 / (2 * t_hi):.3f}-{1 / (2 * t_lo):.3f}",
            ]
        )
    for n in sorted(size["N"].unique()):
        r = size[size["N"] == n]
        a, lo, hi, width = logistic_d50(r[D].to_numpy(), (r["culture_clusters"] == 1).to_numpy(float))
        t_lo, t_hi = thresholds[0.5]
        trows.append(
            [
                f"mu = 0.5, N = {n:,}",
                f"{a:.4f} [{lo:.4f}, {hi:.4f}]",
                f"{width:.3f}",
                f"{t_lo:.4f}-{t_hi:.4f}",
                f"{1 / (2 * t_hi):.3f}-{1 / (2 * t_lo):.3f}",
            ]
        )
    threshold_table = markdown(
        trows,
        [
            "runs",
            "model: d where half the runs reach consensus [95% CI]",
            "model: width of the transition (10% to 90%)",
            "rate equation: threshold d (N = infinity)",
            "same, as Delta",
        ],
    )

    # Figure: (a) outer half-distance against d, (b) consensus share by N, (c) by mu.
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2), constrained_layout=True)
    ax = axes[0]
    ax.scatter(
        half[D],
        half["culture_outer_distance"],
        s=14,
        alpha=0.25,
        color=COLOURS[0.5],
        label="model runs, N = 1,000, mu = 0.5",
    )
    fine = np.linspace(min(ds), max(ds), 60)
    pred = []
    for d in fine:
        major = rate_equation(d, 0.5, **{**RATE, "cells_per_bound": min(20, RATE["cells_per_bound"])}).major()
        pred.append((major[-1][0] - major[0][0]) / 2)
    ax.plot(fine, pred, "k-", lw=1.5, label="rate equation (Ben-Naim et al. 2003)")
    ax.set_xlabel("confidence bound d")
    ax.set_ylabel("half-distance between outer major clusters")
    ax.set_title("(a) Bifurcation: consensus (0) to two parties")
    ax.legend(fontsize=9)
    for ax, frame, by, title in (
        (axes[1], size, "N", "(b) Larger populations approach the rate equation"),
        (axes[2], runs, MU, "(c) The convergence rate barely matters"),
    ):
        share = _consensus_share(frame, by)
        for key, g in share.groupby(by):
            label = f"N = {key:,}" if by == "N" else f"mu = {key:g}"
            colour = COLOURS.get(key, "grey")
            ax.errorbar(
                g[D],
                g["share"],
                yerr=[g["share"] - g["low"], g["high"] - g["share"]],
                fmt="o-",
                capsize=2,
                color=colour,
                label=label,
                ms=4,
            )
        for mu in (0.5,) if by == "N" else mus:
            lo, hi = thresholds[mu]
            ax.axvspan(lo, hi + 0.0005, color=COLOURS.get(mu, "grey"), alpha=0.35)
        ax.axvline(thresholds[0.5][1], color="k", ls=":", lw=1, label="rate-equation threshold")
        ax.set_xlabel("confidence bound d")
        ax.set_ylabel("share of runs reaching consensus (95% CI)")
        ax.set_title(title)
        ax.legend(fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.savefig(FIGURES / "bc_bifurcation.png", dpi=100)
    plt.close(fig)

    # The second bifurcation: a central party between the two (rate equation) at the largest d that has one.
    second = max((d for d in ds if len(dens[d].major()) == 3), default=None)
    if second is not None:
        central = [m for c, m in dens[second].major() if abs(c - 0.5) < 0.01]
        by_n = size[size[D] == second].groupby("N")["culture_clusters"]
        second_runs = ", ".join(f"{int((g == 3).sum())} of {len(g)} runs at {n:,} staff" for n, g in by_n)
    return {
        "second_d": f"{second:g}" if second is not None else "-",
        "second_mass": f"{central[0]:.0%}" if second is not None and central else "-",
        "second_runs": second_runs if second is not None else "-",
        "bifurcation_table": table,
        "threshold_table": threshold_table,
        "rate_threshold": f"{thresholds[0.5][0]:.4f}-{thresholds[0.5][1]:.4f}",
        "rate_threshold_delta": f"{1 / (2 * thresholds[0.5][1]):.3f}-{1 / (2 * thresholds[0.5][0]):.3f}",
        "rate_threshold_coarse": f"{coarse[0]:.4f}-{coarse[1]:.4f}",
        "runs_bc": f"{len(runs):,}",
        "runs_bc_size": f"{len(size):,}",
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", "-w", type=int, default=None)
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "validation")
    args = ap.parse_args(argv)
    blocks = {**deffuant(args.results, args.workers), **bifurcation(args.results, args.workers)}
    for name, text in blocks.items():
        print(f"\n## {name}\n\n{text}")
    return blocks


if __name__ == "__main__":
    main()
