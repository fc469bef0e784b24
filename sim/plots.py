"""Figures for a run or a set of replications (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: One colour per organisation, used in every figure.
ORG_COLOURS = {"a": "#d95f02", "b": "#1b9e77"}
ORG_LABELS = {"a": "A (trust in difficulty)", "b": "B (buddy)"}
OUTCOME_COLOURS = {"bedded_in": "#1a9850", "failed": "#d73027", "undecided": "#878787"}

PANELS = (
    ("partner_trust", "Trust in the partner"),
    ("leader_trust", "Trust in own leadership / process"),
    ("culture", "Improvement culture"),
    ("adoption", "Adoption of the shared method"),
    ("loyalty", "Loyalty to own organisation"),
    ("fatigue", "Change fatigue"),
    ("board_commitment", "Board commitment (board trust)"),
)


def trajectories(series: pd.DataFrame, path: Path, *, title: str, thresholds: dict,
                 outcome_steps: list[tuple[str, int]] | None = None) -> Path:
    """Mean trajectory per organisation with a 10-90% band across replications."""
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), sharex=True, constrained_layout=True)
    reps = series["replication"].nunique() if "replication" in series else 1
    for ax, (metric, label) in zip(axes.flat, PANELS):
        for o in "ab":
            col = f"{metric}_{o}"
            g = series.groupby("step")[col]
            mean = g.mean()
            ax.plot(mean.index, mean.values, color=ORG_COLOURS[o], lw=2, label=ORG_LABELS[o])
            if reps > 1:
                ax.fill_between(mean.index, g.quantile(0.1).values, g.quantile(0.9).values,
                                color=ORG_COLOURS[o], alpha=0.2, lw=0)
        if metric == "partner_trust":
            ax.axhline(thresholds["bed_in_trust"], color="k", ls="--", lw=1, label="bed-in threshold")
            ax.axhline(thresholds["fail_floor"], color=OUTCOME_COLOURS["failed"], ls=":", lw=1.2, label="failure floor")
        if metric == "adoption":
            ax.axhline(thresholds["bed_in_adoption"], color="k", ls="--", lw=1)
        if metric == "board_commitment":
            ax.axhline(thresholds["fail_floor"], color=OUTCOME_COLOURS["failed"], ls=":", lw=1.2)
        ax.set_title(label, fontsize=12)
        ax.set_ylim(0, 1)
        ax.set_ylabel("mean score (0-1)")
        ax.grid(alpha=0.3)
    ax = axes.flat[-1]
    g = series.groupby("step")["cross_ties"]
    ax.plot(g.mean().index, g.mean().values, color="#7570b3", lw=2)
    if reps > 1:
        ax.fill_between(g.mean().index, g.quantile(0.1).values, g.quantile(0.9).values, color="#7570b3", alpha=0.2, lw=0)
    ax.set_title("Cross-organisation ties", fontsize=12)
    ax.set_ylabel("ties")
    ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("week")
    for kind, step in outcome_steps or []:
        for ax in axes.flat:
            ax.axvline(step, color=OUTCOME_COLOURS[kind], alpha=0.25 if reps > 1 else 0.8, lw=1)
    axes.flat[0].legend(loc="lower left", fontsize=9)
    band = f" — mean of {reps} runs, band 10-90%" if reps > 1 else ""
    fig.suptitle(title + band, fontsize=14)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def outcomes(summary: dict, path: Path, *, title: str) -> Path:
    """Outcome shares with 95% Wilson intervals, and when decided runs were decided."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    kinds = ["bedded_in", "failed", "undecided"]
    shares = [summary["shares"][k]["share"] for k in kinds]
    lo = [summary["shares"][k]["ci95"][0] for k in kinds]
    hi = [summary["shares"][k]["ci95"][1] for k in kinds]
    x = np.arange(3)
    ax1.bar(x, shares, color=[OUTCOME_COLOURS[k] for k in kinds])
    ax1.errorbar(x, shares, yerr=[np.subtract(shares, lo), np.subtract(hi, shares)], fmt="none", ecolor="k", capsize=6)
    ax1.set_xticks(x, ["bedded in", "failed", "undecided"])
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share of runs (95% Wilson interval)")
    ax1.set_title(f"Outcomes of {summary['replications']} runs")
    ax1.grid(axis="y", alpha=0.3)
    for k in ("bedded_in", "failed"):
        steps = [r["outcome_step"] for r in summary["runs"] if r["outcome"] == k]
        if steps:
            ax2.hist(steps, bins=np.arange(0, summary["steps"] + 9, 8), alpha=0.6, color=OUTCOME_COLOURS[k],
                     label=k.replace("_", " "))
    ax2.set_xlabel("week the outcome was reached")
    ax2.set_ylabel("runs")
    ax2.set_title("When runs bedded in or failed")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.suptitle(title, fontsize=14)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
