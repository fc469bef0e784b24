"""What common random numbers buy: paired comparisons with the same seed in both arms vs independent seeds.

    .venv/bin/python benchmarks/bench_crn.py [--pairs 200] [--scenario scenarios/baseline.toml] [--workers 2]

For each comparison (a parameter moved from one value to another in the bundled baseline), ``pairs`` seeds
are run in both arms (common random numbers: the same seed, so every submodel sees the same numbers
wherever the change does not reach), and the second arm is run once more with other seeds (independent
arms). Reported per comparison:

* the variance of the paired difference of a continuous end-of-run metric (A's staff partner trust,
  ``partner_trust_a``, and the lower board commitment, ``board_min``) under each design, and their ratio;
* the 95% interval of the difference in the share of runs that bed in (and that fail): Newcombe's paired
  interval (method 10) for common random numbers, his unpaired one for independent seeds; the widths and
  their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPARISONS = (
    ("leadership.message_alignment", 0.5, 0.9),
    ("system.competition", 0.2, 0.5),
    ("partnership.engagement_authenticity", 0.3, 0.9),
)
METRICS = ("partner_trust_a", "board_min")


def _run(args):
    from sim import load_scenario, run

    path, key, value, seed = args
    r = run(load_scenario(path).replace({key: value}), seed)
    final = r.series.iloc[-1]
    return {"outcome": r.outcome, **{m: float(final[m]) for m in METRICS}}


def _counts(x: list[bool], y: list[bool]) -> tuple[int, int, int, int]:
    both = sum(a and b for a, b in zip(x, y))
    only_x = sum(a and not b for a, b in zip(x, y))
    only_y = sum(b and not a for a, b in zip(x, y))
    return both, only_x, only_y, len(x) - both - only_x - only_y


def main() -> None:
    from sim.analysis.stats import newcombe_interval, newcombe_paired_interval
    from sim.run import replication_seed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2013)
    args = ap.parse_args()
    seeds = [replication_seed(args.seed, r) for r in range(args.pairs)]
    other = [replication_seed(args.seed + 1, r) for r in range(args.pairs)]
    print(f"{args.pairs} pairs per comparison, base {Path(args.scenario).name}; load {os.getloadavg()[0]:.1f}")
    with ProcessPoolExecutor(args.workers) as pool:
        for key, low, high in COMPARISONS:
            tasks = [(args.scenario, key, low, s) for s in seeds]
            tasks += [(args.scenario, key, high, s) for s in seeds]
            tasks += [(args.scenario, key, high, s) for s in other]
            res = list(pool.map(_run, tasks, chunksize=8))
            a, b, c = res[: args.pairs], res[args.pairs : 2 * args.pairs], res[2 * args.pairs :]
            print(f"\n{key}: {low} -> {high}")
            for m in METRICS:
                crn = statistics.variance([y[m] - x[m] for x, y in zip(a, b)])
                ind = statistics.variance([y[m] - x[m] for x, y in zip(a, c)])
                mean = statistics.mean(y[m] - x[m] for x, y in zip(a, b))
                print(
                    f"  {m:16s} mean diff {mean:+.4f}  var(diff) CRN {crn:.3e}  independent {ind:.3e}  "
                    f"ratio {ind / crn:6.1f}x"
                )
            for outcome in ("bedded_in", "failed"):
                xa = [r["outcome"] == outcome for r in a]
                xb = [r["outcome"] == outcome for r in b]
                xc = [r["outcome"] == outcome for r in c]
                d1, lo1, hi1 = newcombe_paired_interval(*_counts(xa, xb))
                d2, lo2, hi2 = newcombe_interval(sum(xa), len(xa), sum(xc), len(xc))
                w1, w2 = hi1 - lo1, hi2 - lo2
                print(
                    f"  share {outcome:9s} CRN {d1:+.3f} [{lo1:+.3f}, {hi1:+.3f}] width {w1:.3f} | independent "
                    f"{d2:+.3f} [{lo2:+.3f}, {hi2:+.3f}] width {w2:.3f} | width ratio {w2 / w1 if w1 else float('nan'):.2f}"
                )


if __name__ == "__main__":
    main()
