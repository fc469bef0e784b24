"""Figures of a calibration: posterior marginals, pairs, and the record vs the posterior predictive."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

COLOURS = ("#045a8d", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _prior_pdf(prior, x):
    from scipy import stats

    d = prior.distribution
    if d == "uniform":
        return stats.uniform(prior.low, prior.high - prior.low).pdf(x)
    if d == "loguniform":
        return stats.loguniform(prior.low, prior.high).pdf(x)
    if d == "beta":
        return stats.beta(prior.alpha, prior.beta, loc=prior.low, scale=prior.high - prior.low).pdf(x)
    a, b = (prior.low - prior.mean) / prior.sd, (prior.high - prior.mean) / prior.sd
    return stats.truncnorm(a, b, loc=prior.mean, scale=prior.sd).pdf(x)


def marginals_figure(particles: pd.DataFrame, priors: Mapping, path: Path) -> Path:
    """One panel per parameter: weighted histogram of the last population per alternative, prior density."""
    plt = _plt()
    keys = list(priors)
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), constrained_layout=True, squeeze=False)
    groups = list(particles.groupby("alternative", sort=False))
    for ax, k in zip(axes.flat, keys):
        pr = priors[k]
        bins = np.linspace(pr.low, pr.high, 21)
        x = np.linspace(pr.low, pr.high, 200)
        ax.plot(x, _prior_pdf(pr, x), color="#888888", lw=1.5, ls=":", label="prior")
        for i, (label, g) in enumerate(groups):
            share = g["weight"].sum()
            ax.hist(
                g[k],
                bins=bins,
                weights=g["weight"] / share,
                density=True,
                alpha=0.55,
                color=COLOURS[i % len(COLOURS)],
                label=f"{label} (p={share:.2f})" if len(groups) > 1 else "posterior",
            )
        ax.set_xlabel(k)
        ax.set_ylabel("density")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("ABC-SMC posterior (last generation, weighted)", fontsize=13)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pairs_figure(particles: pd.DataFrame, keys: list[str], path: Path) -> Path:
    """Weighted scatter of every pair of parameters (point area ~ weight), colour = alternative."""
    plt = _plt()
    n = len(keys)
    fig, axes = plt.subplots(n, n, figsize=(2.6 * n + 1, 2.6 * n + 1), constrained_layout=True, squeeze=False)
    labels = list(dict.fromkeys(particles["alternative"]))
    colour = {a: COLOURS[i % len(COLOURS)] for i, a in enumerate(labels)}
    size = 400 * particles["weight"] / particles["weight"].max()
    for i, ky in enumerate(keys):
        for j, kx in enumerate(keys):
            ax = axes[i, j]
            if i == j:
                ax.hist(particles[kx], bins=15, weights=particles["weight"], color="#045a8d", alpha=0.7)
            else:
                ax.scatter(
                    particles[kx],
                    particles[ky],
                    s=size.clip(lower=2),
                    c=[colour[a] for a in particles["alternative"]],
                    alpha=0.5,
                    linewidths=0,
                )
            if i == n - 1:
                ax.set_xlabel(kx, fontsize=8)
            if j == 0:
                ax.set_ylabel(ky, fontsize=8)
            ax.tick_params(labelsize=7)
    if len(labels) > 1:
        for a in labels:
            axes[0, -1].scatter([], [], c=colour[a], label=a)
        axes[0, -1].legend(fontsize=7)
    fig.suptitle("Posterior pairs (area = weight)", fontsize=12)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def patterns_figure(fit: pd.DataFrame, path: Path, alpha: float = 0.05) -> Path:
    """Each pattern's signed root deviance (0 = the record exactly; the band = within tolerance for one degree
    of freedom), with its 90% interval over posterior draws, per alternative; not computable ones listed."""
    from scipy.stats import norm

    plt = _plt()
    names = list(dict.fromkeys(fit["pattern"]))
    alts = list(dict.fromkeys(fit["alternative"]))
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) * max(1, len(alts)) + 1.8), constrained_layout=True)
    z = norm.ppf(1 - alpha / 2)
    ax.axvspan(-z, z, color="#dddddd", label=f"within tolerance (df 1, {1 - alpha:.0%})")
    ax.axvline(0, color="k", lw=0.8)
    ticks, labels = [], []
    y = 0
    for name in names:
        for i, alt in enumerate(alts):
            r = fit[(fit["pattern"] == name) & (fit["alternative"] == alt)]
            if r.empty:
                continue
            r = r.iloc[0]
            label = name + (f" [{alt}]" if len(alts) > 1 else "") + (" (check)" if r["use"] == "check" else "")
            if r["computable"]:
                c = COLOURS[i % len(COLOURS)]
                ax.plot([r["root_q05"], r["root_q95"]], [y, y], color=c, lw=3, alpha=0.6)
                ax.plot([r["signed_root"]], [y], "o", color=c)
            else:
                ax.text(0, y, "not computable", ha="center", va="center", fontsize=8, color="#a00")
            ticks.append(y)
            labels.append(label)
            y -= 1
    ax.set_yticks(ticks, labels, fontsize=8)
    ok = fit[fit["computable"].astype(bool)] if "computable" in fit else fit.iloc[:0]
    reach = float(np.nanmax(np.abs(ok[["root_q05", "root_q95", "signed_root"]].to_numpy(float)))) if len(ok) else z
    lim = min(max(2 * z, 1.1 * reach), 12.0)  # beyond 12 (deviance 144) the bars are clipped
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("signed root deviance (< 0: model below the record); bar: 90% of posterior draws")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
