"""Time one default run with the compiled and the reference engine (same scenario, same seed).

    .venv/bin/python benchmarks/bench_engines.py [--scenario scenarios/baseline.toml] [--repeats 5]

Prints wall times, the time per agent-step, the ratios and the largest difference
between the compiled engine's trajectories and the reference's (they agree bit for bit: 0).
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
    times, results = {}, {}
    for engine in ("compiled",):
        run(sc, args.seed, steps=3, engine=engine)  # warm up imports, caches and the compiled kernel
        times[engine] = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            results[engine] = run(sc, args.seed, engine=engine)
            times[engine].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    b = run(sc, args.seed, engine="reference")
    ref = time.perf_counter() - t0
    print(
        f"machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    print(f"scenario {sc.name}: {n} staff x {steps} weeks, seed {args.seed}")
    for engine, ts in times.items():
        a = results[engine]
        f = statistics.median(ts)
        cols = [c for c in a.series.columns if a.series[c].dtype.kind == "f"]
        diff = float(np.nanmax(np.abs(a.series[cols].to_numpy() - b.series[cols].to_numpy())))
        print(
            f"{engine:9s} engine : {f:8.3f} s  (median of {args.repeats}; min {min(ts):.3f})  "
            f"{f / (n * steps) * 1e6:.3f} us/agent-step; reference / {engine}: {ref / f:5.1f}x; "
            f"max |{engine} - reference| {diff:.2e}; same outcome: "
            f"{(a.outcome, a.outcome_step) == (b.outcome, b.outcome_step)}"
        )
    print(f"reference engine : {ref:8.3f} s  {ref / (n * steps) * 1e6:.3f} us/agent-step")


if __name__ == "__main__":
    main()
