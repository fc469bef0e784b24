"""Docking the peer-influence submodel against Deffuant et al. (2000): major clusters against the bound d.

    .venv/bin/python validation/docking.py      # writes validation/figures/dw_clusters.png and prints the table

Peer influence alone, well mixed, opinions uniform on [0, 1], 1,000 agents, 400 steps (200,000 pair
encounters), 10 seeds per (d, mu). A major cluster is a group of final opinions within 1e-3 holding at
least 1% of agents (Deffuant et al. discount the small clusters at the extremes).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim import BuddyingModel  # noqa: E402
from sim.docking import deffuant_scenario, major_clusters  # noqa: E402

HERE = Path(__file__).resolve().parent


def dw(d: float, mu: float, seed: int, n: int = 1000, steps: int = 400) -> int:
    model = BuddyingModel(deffuant_scenario(d, mu, n, steps), seed, agent_views=False)
    model.run_to_end()
    return len(major_clusters(model.state.culture))


def main() -> None:
    ds = [0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]
    seeds = range(10)
    fig, ax = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    print(f"{'d':>6} {'mu':>4} {'floor(1/2d)':>11} {'clusters: mean':>15} {'min':>4} {'max':>4}")
    for mu, colour in ((0.5, "#045a8d"), (0.1, "#d95f02")):
        means = []
        for d in ds:
            counts = [dw(d, mu, s) for s in seeds]
            means.append(np.mean(counts))
            print(f"{d:6.3f} {mu:4.1f} {int(1 / (2 * d)):11d} {np.mean(counts):15.2f} {min(counts):4d} {max(counts):4d}")
            ax.scatter([d] * len(counts), counts, color=colour, alpha=0.25, s=15)
        ax.plot(ds, means, "o-", color=colour, label=f"buddysim peer influence, mu = {mu} (mean of 10)")
    grid = np.linspace(0.05, 0.5, 200)
    ax.plot(grid, np.floor(1 / (2 * grid)), "k--", lw=1, label="floor(1 / 2d) (Deffuant et al. 2000)")
    ax.set_xlabel("confidence bound d")
    ax.set_ylabel("major opinion clusters")
    ax.set_title("Docking: bounded confidence, well mixed, N = 1,000")
    ax.legend()
    ax.grid(alpha=0.3)
    (HERE / "figures").mkdir(exist_ok=True)
    fig.savefig(HERE / "figures" / "dw_clusters.png", dpi=110)
    print(f"wrote {HERE / 'figures' / 'dw_clusters.png'}")


if __name__ == "__main__":
    main()
