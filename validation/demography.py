"""Docking the staff-demography submodel against Harrison & Carroll (1991).

    .venv/bin/python validation/demography.py [--workers N]     # ~1 min on 2 cores

Runs validation/docking/demography.toml with the sweep engine (results in results/validation/demography),
writes validation/figures/hc_demography.png and prints the Markdown tables that validation/build.py puts
into docs/validation.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FIGURES, ROOT, markdown, runs_of, series_of

from sim.analysis.stats import bootstrap_ci, bootstrap_diff

G, R = "staff.growth_per_year", "staff.turnover_per_year"
POOL = 0.4  # the recruits' mean culture in demography.toml
WEEKS = {"1 year": 52, "3 years": 156, "10 years": 520}


def _trust_level(runs: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """One row per trust and run (A and B are independent replicates here) and recorded week."""
    s = series.merge(runs[["run_id", G, R]], on="run_id")
    parts = []
    for o in "ab":
        parts.append(
            s[["run_id", "step", G, R, f"culture_{o}", f"headcount_{o}"]]
            .rename(columns={f"culture_{o}": "culture", f"headcount_{o}": "headcount"})
            .assign(trust=o)
        )
    return pd.concat(parts, ignore_index=True)


def demography(results: Path, workers: int | None) -> dict:
    runs = runs_of("demography", results, workers)
    t = _trust_level(runs, series_of("demography", results))
    growths = sorted(t[G].unique())
    rates = sorted(t[R].unique())
    last = int(t["step"].max())

    rows = []
    for r in rates:
        for g in growths:
            sub = t[(t[R] == r) & (t[G] == g)]
            cells = []
            for w in WEEKS.values():
                v = sub[sub["step"] == min(w, last)]["culture"].to_numpy()
                cells.append(f"{v.mean():.3f}")
            end = sub[sub["step"] == last].set_index(["run_id", "trust"])["culture"]
            year_before = sub[sub["step"] == last - 52].set_index(["run_id", "trust"])["culture"]
            drift = (end - year_before).mean()
            heads = sub[sub["step"] == last]["headcount"].mean()
            sd = runs[(runs[R] == r) & (runs[G] == g)][["culture_sd_a", "culture_sd_b"]].to_numpy().mean()
            tenure = runs[(runs[R] == r) & (runs[G] == g)][["tenure_a", "tenure_b"]].to_numpy().mean() / 52
            rows.append([f"{r:g}", f"{g:+g}", f"{heads:,.0f}", *cells, f"{drift:+.4f}", f"{sd:.3f}", f"{tenure:.1f}"])
    table = markdown(
        rows,
        [
            "leaving rate /yr",
            "growth /yr",
            "staff after 10 years",
            *[f"culture at {k}" for k in WEEKS],
            "change in the 10th year",
            "sd of culture at 10 years",
            "mean tenure at 10 years (yr)",
        ],
    )

    # Verdicts: decline against growth at the same leaving rate (difference of mean culture, bootstrap CI).
    vrows = []
    for r in rates:
        for label, w in (("3 years", 156), ("10 years", 520)):
            at = t[(t[R] == r) & (t["step"] == w)]
            down = at[at[G] == min(growths)]["culture"].to_numpy()
            up = at[at[G] == max(growths)]["culture"].to_numpy()
            diff, lo, hi = bootstrap_diff(up, down)  # decline minus growth
            verdict = "**holds**" if lo > 0 else ("**contradicted**" if hi < 0 else "not shown")
            vrows.append(
                [
                    f"{r:g}",
                    label,
                    f"{down.mean():.3f}",
                    f"{up.mean():.3f}",
                    f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}]",
                    verdict,
                ]
            )
    verdicts = markdown(
        vrows,
        [
            "leaving rate /yr",
            "after",
            f"culture, decline {min(growths):+g}/yr",
            f"culture, growth {max(growths):+g}/yr",
            "difference [95% CI]",
            "stronger in decline",
        ],
    )

    # Equilibrium under the highest turnover and fastest growth.
    fast = t[(t[R] == max(rates)) & (t[G] == max(growths))]
    end = fast[fast["step"] == last]["culture"].to_numpy()
    before = fast[fast["step"] == last - 52]["culture"].to_numpy()
    drift, dlo, dhi = bootstrap_ci(end - before)
    gap0 = fast[fast["step"] == 0]["culture"].mean() - POOL
    # How fast the gap to the recruits' culture closes in the tenth year, by leaving rate (no growth).
    erows = []
    for r in rates:
        for g in (0.0, max(growths)):
            sub = t[(t[R] == r) & (t[G] == g)]
            gap_end = sub[sub["step"] == last]["culture"].mean() - POOL
            gap_before = sub[sub["step"] == last - 52]["culture"].mean() - POOL
            gap_start = sub[sub["step"] == 0]["culture"].mean() - POOL
            erows.append(
                [
                    f"{r:g}",
                    f"{g:+g}",
                    f"{gap_start:.3f}",
                    f"{gap_end:.3f}",
                    f"{gap_end / gap_before:.2f}",
                    f"{1 - gap_end / gap_start:.0%}",
                ]
            )
    equilibrium = markdown(
        erows,
        [
            "leaving rate /yr",
            "growth /yr",
            "gap to recruits' culture at start",
            "gap after 10 years",
            "gap kept over the 10th year",
            "gap closed in 10 years",
        ],
    )

    # Figure: mean culture over ten years, one panel per leaving rate, one line per growth rate.
    fig, axes = plt.subplots(1, len(rates), figsize=(4.2 * len(rates), 4.4), sharey=True, constrained_layout=True)
    cmap = plt.get_cmap("coolwarm")
    for ax, r in zip(np.atleast_1d(axes), rates):
        for i, g in enumerate(growths):
            sub = t[(t[R] == r) & (t[G] == g)].groupby("step")["culture"]
            m, lo, hi = sub.mean(), sub.quantile(0.05), sub.quantile(0.95)
            colour = cmap(i / max(1, len(growths) - 1))
            ax.plot(m.index / 52, m.values, color=colour, label=f"growth {g:+.0%}/yr")
            ax.fill_between(m.index / 52, lo.values, hi.values, color=colour, alpha=0.15, lw=0)
        ax.axhline(POOL, color="k", ls=":", lw=1, label="recruits' mean culture")
        ax.set_title(f"leaving rate {r:g}/yr")
        ax.set_xlabel("years")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("mean culture of staff in post (5-95% of trusts)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("Docking 3: culture under turnover, growth and decline (Harrison & Carroll 1991)")
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURES / "hc_demography.png", dpi=100)
    plt.close(fig)

    return {
        "demography_table": table,
        "demography_verdicts": verdicts,
        "demography_equilibrium": equilibrium,
        "hc_fast_drift": f"{drift:+.4f} [{dlo:+.4f}, {dhi:+.4f}]",
        "hc_fast_end": f"{end.mean():.3f}",
        "hc_fast_gap0": f"{gap0:.2f}",
        "hc_fast_rate": f"{max(rates):g}",
        "hc_fast_growth": f"{max(growths):+g}",
        "runs_hc": f"{len(runs):,}",
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", "-w", type=int, default=None)
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "validation")
    args = ap.parse_args(argv)
    blocks = demography(args.results, args.workers)
    for name, text in blocks.items():
        print(f"\n## {name}\n\n{text}")
    return blocks


if __name__ == "__main__":
    main()
