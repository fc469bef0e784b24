"""The compiled engine of this checkout against an earlier commit, side by side: µs per agent-week.

    .venv/bin/python benchmarks/bench_versions.py --old /path/to/old/checkout [--sizes 1000 15000 1000000]
        [--rounds 5] [--steps 156]

Each measurement runs in a fresh subprocess pinned to one core, with ``PYTHONPATH`` pointing at one of the
two checkouts (so the same interpreter and libraries run both versions of ``sim``). Old and new alternate
within every round (interleaved), the kernel is loaded from numba's cache before timing (as a sweep worker
does once), and each size reports the minimum and median over the rounds of the time to step a run of the
bundled baseline scenario (staff split 40/60 between A and B), divided by staff x weeks; the build of the
initial state is timed separately. The ratio new/old is taken per round, then summarised.

Make the old checkout with ``git worktree add --detach /tmp/old <commit>``; its first use compiles its kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import sim
n, steps = int(sys.argv[1]), int(sys.argv[2])
sc = sim.load_scenario("scenarios/baseline.toml").replace({"organisations.staff_a": int(n * 0.4),
        "organisations.staff_b": n - int(n * 0.4), "run.steps": steps})
from sim.model.compiled import warm_up
warm_up()
if hasattr(sim, "Simulation"):
    make = lambda: sim.Simulation(sc, 1)
else:  # before the Simulation shell (commit 08ae6f5 and earlier)
    make = lambda: sim.BuddyingModel(sc, 1, agent_views=False, engine="compiled")
t0 = time.perf_counter(); m = make(); t1 = time.perf_counter(); m.run_to_end(); t2 = time.perf_counter()
print(json.dumps({"build_s": t1 - t0, "step_s": t2 - t1, "file": sim.__file__}))
"""


def measure(checkout: Path, n: int, steps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(steps)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["file"].startswith(str(checkout)):
        raise RuntimeError(f"{checkout}: imported sim from {result['file']}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="checkout of the earlier commit")
    ap.add_argument("--new", type=Path, default=ROOT, help="checkout to compare (default: this one)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 15000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=156)
    args = ap.parse_args()
    for checkout in (args.old, args.new):  # compile or load each kernel once, outside the timed rounds
        measure(checkout.resolve(), 1000, 2)
    print(f"{'staff':>9} {'version':>7} {'us/agent-week min':>18} {'median':>8} {'build s med':>11}")
    for n in args.sizes:
        rounds = 2 if n >= 500_000 and args.rounds > 2 else args.rounds
        per = {"old": [], "new": []}
        builds = {"old": [], "new": []}
        for _ in range(rounds):
            for name, checkout in (("old", args.old), ("new", args.new)):
                r = measure(checkout.resolve(), n, args.steps)
                per[name].append(r["step_s"] / (n * args.steps) * 1e6)
                builds[name].append(r["build_s"])
        for name in ("old", "new"):
            print(
                f"{n:>9,} {name:>7} {min(per[name]):>18.4f} {statistics.median(per[name]):>8.4f} "
                f"{statistics.median(builds[name]):>11.3f}"
            )
        ratios = [b / a for a, b in zip(per["old"], per["new"])]
        print(f"{n:>9,} new/old  min {min(ratios):.2f}  median {statistics.median(ratios):.2f}  (per round)")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
