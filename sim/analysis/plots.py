"""Figures (matplotlib, no display needed): a run or replications, and the analyses.

For analysts and policy audiences: titled, labelled, units, one palette for the whole tool, slide-legible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..timeline import Mark
from ..timeline import marks as timeline_marks
from .stats import wilson_interval

#: One colour per organisation, used in every figure (and the UI).
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


#: Colour of the timeline's marks (a scenario's ``[[timeline]]`` actions) in every figure and the UI.
TIMELINE_COLOUR = "#444444"
TIMELINE_DASHES = (0, (6, 2, 1, 2))  # dash-dot: not the dashed thresholds


def draw_timeline(axes, marks: Sequence[Mark], n_runs: int, *, colour: str = TIMELINE_COLOUR, label_axis=None) -> None:
    """Dash-dot vertical lines at the weeks timeline actions fired on every axis in ``axes``, more opaque the
    more runs they fired in; each label written once, at its most common week, on ``label_axis`` (whose legend
    gains a "timeline action" entry)."""
    if not marks:
        return
    for ax in axes:
        for j, m in enumerate(marks):
            alpha = 0.25 + 0.65 * (m.runs / max(n_runs, 1))
            legend = "timeline action" if ax is label_axis and j == 0 and colour == TIMELINE_COLOUR else None
            ax.axvline(m.week, color=colour, ls=TIMELINE_DASHES, lw=1.3, alpha=alpha, zorder=1, label=legend)
    if label_axis is None:
        return
    best: dict[str, Mark] = {}
    for m in marks:
        if m.label not in best or m.runs > best[m.label].runs:
            best[m.label] = m
    for i, m in enumerate(sorted(best.values(), key=lambda m: m.week)):
        share = "" if m.runs >= n_runs else f" ({m.runs}/{n_runs} runs)"
        label_axis.annotate(
            _wrap(m.label + share, 28),
            xy=(m.week, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -4 - 22 * (i % 3)),
            textcoords="offset points",
            fontsize=8,
            color=colour,
            va="top",
        )


def trajectories(
    series: pd.DataFrame,
    path: Path,
    *,
    title: str,
    thresholds: dict,
    outcome_steps: list[tuple[str, int]] | None = None,
    timeline: Sequence[Mark] = (),
) -> Path:
    """Mean trajectory per organisation with a 10-90% band across replications, the weeks the runs were
    decided and the weeks the scenario's timeline acted (dashed grey, labelled in the first panel)."""
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), sharex=True)
    # A fixed grid of fixed panels: set margins directly rather than by constrained layout, which takes
    # about 40% of the figure's time (every `buddysim run` draws this one; benchmarks/bench_cli.py).
    fig.subplots_adjust(left=0.045, right=0.99, bottom=0.075, top=0.9, wspace=0.24, hspace=0.3)
    reps = series["replication"].nunique() if "replication" in series else 1
    for ax, (metric, label) in zip(axes.flat, PANELS):
        for o in "ab":
            col = f"{metric}_{o}"
            g = series.groupby("step")[col]
            mean = g.mean()
            ax.plot(mean.index, mean.values, color=ORG_COLOURS[o], lw=2, label=ORG_LABELS[o])
            if reps > 1:
                ax.fill_between(
                    mean.index, g.quantile(0.1).values, g.quantile(0.9).values, color=ORG_COLOURS[o], alpha=0.2, lw=0
                )
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
        ax.fill_between(
            g.mean().index, g.quantile(0.1).values, g.quantile(0.9).values, color="#7570b3", alpha=0.2, lw=0
        )
    ax.set_title("Cross-organisation ties", fontsize=12)
    ax.set_ylabel("ties")
    ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("week")
    for kind, step in outcome_steps or []:
        for ax in axes.flat:
            ax.axvline(step, color=OUTCOME_COLOURS[kind], alpha=0.25 if reps > 1 else 0.8, lw=1)
    draw_timeline(list(axes.flat), timeline, reps, label_axis=axes.flat[0])
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
            ax2.hist(
                steps,
                bins=np.arange(0, summary["steps"] + 9, 8),
                alpha=0.6,
                color=OUTCOME_COLOURS[k],
                label=k.replace("_", " "),
            )
    ax2.set_xlabel("week the outcome was reached")
    ax2.set_ylabel("runs")
    ax2.set_title("When runs bedded in or failed")
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend()
    else:
        ax2.text(0.5, 0.5, "no run bedded in or failed", transform=ax2.transAxes, ha="center", color="#878787")
    ax2.grid(alpha=0.3)
    fig.suptitle(title, fontsize=14)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


plt.rcParams.update({"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10})
SCENARIO_COLOURS = ["#1f78b4", "#ff7f00", "#6a3d9a", "#b15928", "#e7298a", "#666666", "#a6761d", "#17becf"]
LABELS = {
    "trust_min": "Partner trust (lower trust)",
    "adoption_min": "Adoption (lower trust)",
    "board_min": "Board commitment (lower board)",
}


def comparison_figure(comp, path: Path | None = None):
    """Trajectories (mean, 10-90% band) of the outcome measures per scenario, and outcome shares with intervals.

    Saved to ``path`` (returned) if given; otherwise the matplotlib Figure is returned, for notebooks."""
    fig, axes = plt.subplots(1, 4, figsize=(20, 5), constrained_layout=True)
    for i, s in enumerate(comp.samples):
        colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
        if s.series is None:
            continue
        for ax, m in zip(axes[:3], LABELS):
            g = s.series.groupby("step")[m]
            mean = g.mean()
            ax.plot(mean.index, mean.values, color=colour, lw=2, label=s.name)
            ax.fill_between(mean.index, g.quantile(0.1).values, g.quantile(0.9).values, color=colour, alpha=0.15, lw=0)
        marks = timeline_marks(s.timeline)
        draw_timeline(axes[:3], marks, s.n, colour=colour, label_axis=axes[0])
    for ax, m in zip(axes[:3], LABELS):
        ax.set_title(LABELS[m])
        ax.set_xlabel("week")
        ax.set_ylabel("score (0-1)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower left")
    ax = axes[3]
    names = [s.name for s in comp.samples]
    x = np.arange(len(names))
    width = 0.38
    for j, kind in enumerate(("bedded_in", "failed")):
        t = comp.table
        share = t[kind].to_numpy()
        err = [share - t[kind + "_lo"].to_numpy(), t[kind + "_hi"].to_numpy() - share]
        ax.bar(
            x + (j - 0.5) * width,
            share,
            width,
            color=OUTCOME_COLOURS[kind],
            label=kind.replace("_", " "),
            yerr=err,
            capsize=4,
        )
    ax.set_xticks(x, [n[:18] for n in names], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of runs (95% Wilson interval)")
    ax.set_title("Outcomes")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Scenario comparison: mean with 10-90% band across runs", fontsize=15)
    if path is None:
        return fig
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def shares_by_parameter(runs: pd.DataFrame, param: str, path: Path) -> Path:
    """Share of runs bedding in / failing against one parameter (marginal over the others), Wilson intervals."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    levels = sorted(runs[param].dropna().unique(), key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in levels)
    if numeric and len(levels) > 12:  # continuous designs: bin into deciles
        bins = pd.qcut(runs[param], q=10, duplicates="drop")
        groups = runs.groupby(bins, observed=True)
        xs = np.array([iv.mid for iv in groups.groups])
    else:
        groups = runs.groupby(param, observed=True)
        xs = np.array(levels if numeric else range(len(levels)), dtype=float)
    for kind in ("bedded_in", "failed"):
        k = groups["outcome"].apply(lambda s, kind=kind: int((s == kind).sum())).to_numpy()
        n = groups["outcome"].size().to_numpy()
        p = k / n
        ci = np.array([wilson_interval(int(a), int(b)) for a, b in zip(k, n)])
        ax.errorbar(
            xs,
            p,
            yerr=[p - ci[:, 0], ci[:, 1] - p],
            marker="o",
            capsize=4,
            lw=2,
            color=OUTCOME_COLOURS[kind],
            label=kind.replace("_", " "),
        )
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in levels])
    ax.set_xlabel(param)
    ax.set_ylabel("share of runs (95% Wilson interval)")
    ax.set_ylim(0, 1)
    ax.set_title(f"Outcome by {param}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def phase_diagram(runs: pd.DataFrame, px: str, py: str, path: Path, kind: str = "bedded_in") -> Path:
    """Heatmap of the share of runs reaching ``kind`` over two parameters, the 50% boundary marked."""
    share = runs.assign(hit=(runs["outcome"] == kind).astype(float)).pivot_table(
        index=py, columns=px, values="hit", aggfunc="mean", observed=True
    )
    share = share.sort_index().sort_index(axis=1)
    fig, ax = plt.subplots(figsize=(8, 6), constrained_layout=True)
    im = ax.imshow(
        share.to_numpy(),
        origin="lower",
        aspect="auto",
        cmap="RdYlGn" if kind == "bedded_in" else "RdYlGn_r",
        vmin=0,
        vmax=1,
    )
    ax.set_xticks(range(share.shape[1]), [_fmt(v) for v in share.columns], rotation=45, ha="right")
    ax.set_yticks(range(share.shape[0]), [_fmt(v) for v in share.index])
    ax.set_xlabel(px)
    ax.set_ylabel(py)
    if min(share.shape) >= 2 and np.nanmin(share.to_numpy()) < 0.5 < np.nanmax(share.to_numpy()):
        cs = ax.contour(share.to_numpy(), levels=[0.5], colors="k", linewidths=2)
        ax.clabel(cs, fmt={0.5: "50%"})
    for (i, j), v in np.ndenumerate(share.to_numpy()):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=9)
    fig.colorbar(im, ax=ax, label=f"share of runs {kind.replace('_', ' ')}")
    ax.set_title(f"Phase diagram: share {kind.replace('_', ' ')} (black line: 50%)")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def envelopes_by_outcome(runs: pd.DataFrame, series: pd.DataFrame, path: Path) -> Path:
    """Median and 10-90% envelope of each recorded series, by outcome."""
    metrics = [c for c in series.columns if c not in ("run_id", "step")][:4]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.5), constrained_layout=True, squeeze=False)
    joined = series.merge(runs[["run_id", "outcome"]], on="run_id")
    for ax, m in zip(axes[0], metrics):
        for kind in ("bedded_in", "failed", "undecided"):
            sub = joined[joined["outcome"] == kind]
            if sub.empty:
                continue
            g = sub.groupby("step")[m]
            med = g.median()
            ax.plot(
                med.index,
                med.values,
                color=OUTCOME_COLOURS[kind],
                lw=2,
                label=f"{kind.replace('_', ' ')} ({sub['run_id'].nunique()} runs)",
            )
            ax.fill_between(
                med.index, g.quantile(0.1).values, g.quantile(0.9).values, color=OUTCOME_COLOURS[kind], alpha=0.15, lw=0
            )
        ax.set_title(LABELS.get(m, m))
        ax.set_xlabel("week")
        ax.set_ylabel("score (0-1)")
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle("Trajectories by outcome: median and 10-90% envelope", fontsize=14)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def outcome_times(runs: pd.DataFrame, path: Path, horizon: int) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    bins = np.arange(0, horizon + 9, 8)
    for kind in ("bedded_in", "failed"):
        steps = runs.loc[runs["outcome"] == kind, "outcome_step"].dropna()
        if len(steps):
            ax.hist(
                steps,
                bins=bins,
                alpha=0.6,
                color=OUTCOME_COLOURS[kind],
                label=f"{kind.replace('_', ' ')} (median week {steps.median():.0f})",
            )
    ax.set_xlabel("week the outcome was reached")
    ax.set_ylabel("runs")
    ax.set_title("When partnerships bedded in or failed")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no run bedded in or failed", transform=ax.transAxes, ha="center", color="#666")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sensitivity_bars(table: pd.DataFrame, path: Path, method: str) -> Path:
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = plt.subplots(
        1,
        len(outcomes),
        figsize=(6 * len(outcomes), 0.45 * table["parameter"].nunique() + 2.2),
        constrained_layout=True,
        squeeze=False,
    )
    for ax, out in zip(axes[0], outcomes):
        t = table[table["outcome"] == out].fillna(
            {c: 0.0 for c in table.columns if c not in ("outcome", "parameter", "note")}
        )
        y = np.arange(len(t))
        if method == "sobol":
            ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], color="#74a9cf", label="first order S1", capsize=3)
            ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], color="#045a8d", label="total ST", capsize=3)
            ax.set_xlabel("Sobol index (share of variance, 95% CI)")
        else:
            ax.barh(y, t["mu_star"], 0.6, xerr=t["mu_star_conf"], color="#045a8d", label="mu*", capsize=3)
            ax.set_xlabel("Morris mu* (effect of a full-range change, 95% CI)")
        ax.set_yticks(y, t["parameter"])
        ax.set_title(out)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(f"Sensitivity ({'Sobol' if method == 'sobol' else 'Morris'})", fontsize=14)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def prim_trajectory(trajectory: pd.DataFrame, chosen: int, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    sc = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["res_dim"], cmap="viridis", s=30)
    ax.plot(trajectory["coverage"], trajectory["density"], color="grey", lw=0.8, alpha=0.6)
    ax.scatter(
        [trajectory["coverage"].iloc[chosen]],
        [trajectory["density"].iloc[chosen]],
        s=200,
        facecolors="none",
        edgecolors="r",
        lw=2,
        label="chosen box",
    )
    fig.colorbar(sc, ax=ax, label="parameters restricted")
    ax.set_xlabel("coverage (share of cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's runs that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v)


# --- survival curves ---------------------------------------------------------------------------------------
EVENT_FALLBACK_COLOURS = ["#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


def _time_ticks(ax, horizon: int) -> None:
    """Ticks every six months (26 weeks), labelled in months and years for a reader who does not count weeks."""
    step = 26 if horizon <= 260 else 52 if horizon <= 520 else 52 * max(1, round(horizon / 52 / 10))
    ticks = list(range(0, horizon + 1, step))
    labels = []
    for w in ticks:
        if w == 0:
            labels.append("start")
        elif w % 52 == 0:
            labels.append(f"{w // 52} yr" + ("s" if w > 52 else ""))
        else:
            labels.append(f"{w // 52 * 12 + 6} mo" if w < 52 else f"{w / 52:g} yrs")
    ax.set_xticks(ticks, labels)
    ax.set_xlim(0, horizon)


def survival_figure(groups, path: Path | None = None, *, title: str, tests=None):
    """Kaplan-Meier curves, one panel per event kind: the share of partnerships that have had the event by
    each time, with 95% bands; one curve per group (scenario).

    ``groups``: {group label: {kind: Curve}}; ``tests``: {kind: LogRank} (shown under each panel's title).
    Saved to ``path`` (returned) if given, otherwise the Figure is returned."""
    from .survival import WEEKS_PER_YEAR, phrase

    kinds = list(dict.fromkeys(k for by_kind in groups.values() for k in by_kind))
    height = 5.2 + 0.28 * len(groups)  # room for the legend under each panel
    fig, axes = plt.subplots(
        1, max(1, len(kinds)), figsize=(7 * max(1, len(kinds)), height), squeeze=False, layout="constrained"
    )
    axes = axes[0]
    single = len(groups) == 1
    horizon = max((c.horizon for by_kind in groups.values() for c in by_kind.values()), default=52)
    for j, (ax, kind) in enumerate(zip(axes, kinds)):
        for i, (label, by_kind) in enumerate(groups.items()):
            c = by_kind.get(kind)
            if c is None:
                continue
            if single:
                colour = OUTCOME_COLOURS.get(kind, EVENT_FALLBACK_COLOURS[j % len(EVENT_FALLBACK_COLOURS)])
            else:
                colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
            t = c.table
            x = np.append(t["week"].to_numpy(), c.horizon)
            share = np.append(1 - t["survival"].to_numpy(), 1 - t["survival"].iloc[-1])
            lo = np.append(1 - t["upper"].to_numpy(), 1 - t["upper"].iloc[-1])
            hi = np.append(1 - t["lower"].to_numpy(), 1 - t["lower"].iloc[-1])
            med = (
                f"median {c.median / WEEKS_PER_YEAR * 12:.0f} months"
                if np.isfinite(c.median)
                else f"median not reached ({c.share_by(c.horizon)[0]:.0%} by week {c.horizon})"
            )
            name = f"{label}: {med}" if not single else f"{c.events} of {c.n} runs; {med}"
            ax.step(x, share * 100, where="post", color=colour, lw=2.2, label=name)
            ax.fill_between(x, lo * 100, hi * 100, step="post", color=colour, alpha=0.18, lw=0)
            if single:
                for y in range(1, c.horizon // WEEKS_PER_YEAR + 1):
                    s, _, _ = c.share_by(y * WEEKS_PER_YEAR)
                    ax.plot([y * WEEKS_PER_YEAR], [s * 100], "o", color=colour, ms=6)
                    ax.annotate(
                        f"{s:.0%} by year {y}",
                        (y * WEEKS_PER_YEAR, s * 100),
                        textcoords="offset points",
                        xytext=(-6, 8),
                        ha="right",
                        fontsize=10,
                        color="#333",
                    )
        ax.axhline(50, color="#999", ls="--", lw=1)
        ax.text(2, 51.5, "half of partnerships", color="#777", fontsize=9)
        heading = f"Time to {phrase(kind)}"
        if tests and kind in tests:
            heading += "\n" + tests[kind].verdict()
        ax.set_title(heading)
        ax.set_ylabel(f"% of partnerships that have {kind.replace('_', ' ')}")
        ax.set_xlabel("time since the partnership began")
        ax.set_ylim(-1.5, 100)  # a curve that stays at 0% stays visible above the axis
        _time_ticks(ax, horizon)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize=10, frameon=False)
    fig.suptitle(title, fontsize=14)
    fig.supxlabel(
        "Kaplan-Meier estimate; shaded: 95% confidence band. Runs without the event are followed to the end "
        f"of the run (week {horizon}) and counted as not having it by then.",
        fontsize=9,
        color="#555",
        x=0.01,
        ha="left",
    )
    if path is None:
        return fig
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- robust decisions --------------------------------------------------------------------------------------
def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def robust_overview(result, path: Path) -> Path:
    """Per policy (best first): how often it meets the target, its regret across futures, its outcome shares."""
    from .survival import phrase

    s = result.settings
    pol = result.policies
    n = len(pol)
    labels = [f"{int(r['rank'])}. {_wrap(r['policy'])}" for _, r in pol.iterrows()]
    y = np.arange(n)[::-1]  # rank 1 at the top
    fig, axes = plt.subplots(
        1,
        3,
        figsize=(19, 1.2 + 0.62 * n * max(1, max(lab.count("\n") + 1 for lab in labels) * 0.8)),
        sharey=True,
        layout="constrained",
    )
    ax = axes[0]
    share = pol["satisficing"].to_numpy() * 100
    err = [share - pol["satisficing_lo"].to_numpy() * 100, pol["satisficing_hi"].to_numpy() * 100 - share]
    ax.barh(y, share, color="#1b9e77", xerr=err, capsize=4, height=0.6)
    for yi, v in zip(y, share):
        ax.text(1.5, yi, f"{v:.0f}%", va="center", fontsize=11, color="white" if v > 8 else "#222", weight="bold")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of futures meeting the target (95% CI)")
    ax.set_title(f"Meets the target ({s.target_text()})\nin how many futures?", fontsize=12)
    ax.grid(axis="x", alpha=0.3)

    ax = axes[1]
    scale = 100 if s.kind != "metric" else 1
    per_policy = [result.long.loc[result.long["policy"] == p, "regret"].to_numpy() * scale for p in pol["policy"]]
    ax.boxplot(
        per_policy,
        positions=y,
        vert=False,
        widths=0.55,
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        manage_ticks=False,
        boxprops={"facecolor": "#d9d9d9"},
        medianprops={"color": "k"},
    )
    ax.plot(pol["mean_regret"].to_numpy() * scale, y, "D", color="#d95f02", ms=7, label="mean")
    ax.plot(pol["max_regret"].to_numpy() * scale, y, "x", color="#d73027", ms=8, mew=2, label="worst future")
    unit = "points of chance" if s.kind != "metric" else s.measure
    ax.set_xlabel(f"regret ({unit}); box: middle half of futures, whiskers 5-95%")
    ax.set_title("Regret: how far short of the best policy\nin the same future (0 = it was the best)", fontsize=12)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize=9)

    ax = axes[2]
    kinds = result._kinds()
    width = 0.8 / max(1, len(kinds))
    for i, kind in enumerate(kinds):
        v = pol[kind].to_numpy() * 100
        e = [v - pol[kind + "_lo"].to_numpy() * 100, pol[kind + "_hi"].to_numpy() * 100 - v]
        colour = OUTCOME_COLOURS.get(kind, EVENT_FALLBACK_COLOURS[i % len(EVENT_FALLBACK_COLOURS)])
        ax.barh(
            y + (len(kinds) - 1) / 2 * width - i * width,
            v,
            width,
            xerr=e,
            capsize=3,
            color=colour,
            label=f"{phrase(kind)}",
        )
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of all the policy's runs, across futures (95% CI)")
    ax.set_title("Outcomes across all futures", fontsize=12)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    axes[0].set_yticks(y, labels, fontsize=10)
    axes[0].set_ylim(-0.6, n - 0.4)
    fig.suptitle(
        f"Which policy holds up? {n} policies, each run in the same {len(result.futures)} sampled futures "
        f"(best first, ranked by {s.rank_by.replace('_', ' ')})",
        fontsize=14,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def robust_vulnerabilities(result, discovery, path: Path) -> Path:
    """The futures in which the most robust policy misses its target, over the two uncertain parameters PRIM
    restricts most (or the first two), with PRIM's first box drawn."""
    fut = result.futures.reset_index(drop=True)
    top = result.top
    meets = result.long[result.long["policy"] == top].set_index("future").loc[result.futures.index, "meets_target"]
    miss = ~meets.to_numpy(dtype=bool)
    keys = list(fut.columns)
    box = discovery.boxes[0] if discovery.boxes else None
    if box is not None:
        keys = [k for k in box.restrictions if k in keys] + [k for k in keys if k not in box.restrictions]
    numeric = [k for k in keys if pd.api.types.is_numeric_dtype(fut[k])]
    fig, ax = plt.subplots(figsize=(8.5, 6.5), layout="constrained")
    if len(numeric) >= 2:
        kx, ky = numeric[0], numeric[1]
        xs, ys = fut[kx].to_numpy(float), fut[ky].to_numpy(float)
    else:
        kx, ky = (numeric[0] if numeric else keys[0]), None
        xs = fut[kx].to_numpy(float) if numeric else pd.Categorical(fut[kx]).codes.astype(float)
        ys = np.random.default_rng(0).uniform(-1, 1, len(fut))  # jitter, to see every future
    ax.scatter(
        xs[~miss],
        ys[~miss],
        s=18,
        color=OUTCOME_COLOURS["bedded_in"],
        alpha=0.6,
        label=f"meets the target ({(~miss).sum()} futures)",
    )
    ax.scatter(
        xs[miss],
        ys[miss],
        s=22,
        color=OUTCOME_COLOURS["failed"],
        alpha=0.8,
        marker="x",
        label=f"misses it ({miss.sum()} futures)",
    )
    if box is not None:
        from matplotlib.patches import Rectangle

        inside = np.ones(len(fut), dtype=bool)
        for k, r in box.restrictions.items():
            col = fut[k]
            if isinstance(r, list):
                inside &= col.astype(str).isin([str(v) for v in r]).to_numpy()
            else:
                v = col.to_numpy(float)
                if r[0] is not None:
                    inside &= v >= r[0]
                if r[1] is not None:
                    inside &= v <= r[1]
        ax.scatter(
            xs[inside],
            ys[inside],
            s=70,
            facecolors="none",
            edgecolors="k",
            lw=0.8,
            label=f"inside PRIM box 1 ({inside.sum()} futures, {box.density:.0%} of them miss)",
        )

        def lim(k, vals):
            r = box.restrictions.get(k)
            if r is None or isinstance(r, list):
                return float(np.min(vals)), float(np.max(vals))
            return (r[0] if r[0] is not None else float(np.min(vals))), (
                r[1] if r[1] is not None else float(np.max(vals))
            )

        x0, x1 = lim(kx, xs)
        y0, y1 = lim(ky, ys) if ky is not None else (-1.05, 1.05)
        shown = {kx, ky}
        others = [k for k in box.restrictions if k not in shown]
        ax.add_patch(
            Rectangle(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                fill=False,
                ec="k",
                lw=2,
                ls="--",
                label=_wrap(
                    "the box's limits on these two parameters"
                    + (f" (it also limits {', '.join(others)})" if others else ""),
                    70,
                ),
            )
        )
    ax.set_xlabel(kx)
    if ky is not None:
        ax.set_ylabel(ky)
    else:
        ax.set_yticks([])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=10, frameon=False)
    ax.set_title(f"Where the most robust policy still misses its target\n({_wrap(top, 70)})", fontsize=12)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
