"""Time one default run with the fast engine and with the reference engine (same scenario, same seed).

    .venv/bin/python benchmarks/bench_engines.py [--scenario scenarios/baseline.toml] [--repeats 5]

Prints wall times, the time per agent-step, the fast/reference ratio and the
largest difference between the two engines' trajectories (must be <= 1e-12).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from sim import load_scenario, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/baseline.toml")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    n = sc["organisations.staff_a"] + sc["organisations.staff_b"]
    steps = sc["run.steps"]
    run(sc, args.seed, steps=3)  # warm up imports and caches
    fast = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        a = run(sc, args.seed)
        fast.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    b = run(sc, args.seed, engine="reference")
    ref = time.perf_counter() - t0
    cols = [c for c in a.series.columns if a.series[c].dtype.kind == "f"]
    diff = float(np.nanmax(np.abs(a.series[cols].to_numpy() - b.series[cols].to_numpy())))
    f = statistics.median(fast)
    print(f"machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"scenario {sc.name}: {n} staff x {steps} weeks, seed {args.seed}, outcome {a.outcome} (both engines: "
          f"{a.outcome == b.outcome and a.outcome_step == b.outcome_step})")
    print(f"fast engine      : {f:8.3f} s  (median of {args.repeats}; min {min(fast):.3f})  "
          f"{f / (n * steps) * 1e6:.3f} us/agent-step")
    print(f"reference engine : {ref:8.3f} s  {ref / (n * steps) * 1e6:.3f} us/agent-step")
    print(f"reference / fast : {ref / f:8.1f}x")
    print(f"max |fast - reference| over all metrics and weeks: {diff:.2e}")


if __name__ == "__main__":
    main()
