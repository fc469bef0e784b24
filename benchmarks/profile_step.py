"""Where a week's time goes: the compiled engine at 15,000 staff, each submodel's share by switching it off.

    .venv/bin/python benchmarks/profile_step.py [--staff 15000] [--weeks 156] [--rounds 5]

The week is one numba call, so a submodel's cost is measured as the difference between the full model and the
model with that submodel switched off (every other submodel's random numbers stay the same, so the rest of
the run does the same work up to what the switched-off submodel changes). Each variant runs in this process
after a warm-up; variants alternate within every round; min and median over rounds. Also the Python side of a
week (metrics dict, events, outcome) against the kernel call.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim import Simulation, load_scenario
from sim.model.compiled import warm_up
from sim.model.mechanisms import declarations


def seconds(sc, seed: int = 1) -> float:
    m = Simulation(sc, seed)
    t0 = time.perf_counter()
    m.run_to_end()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--staff", type=int, default=15000)
    ap.add_argument("--weeks", type=int, default=156)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    warm_up()
    n = args.staff
    sc = load_scenario("scenarios/baseline.toml").replace(
        {"organisations.staff_a": int(n * 0.4), "organisations.staff_b": n - int(n * 0.4), "run.steps": args.weeks}
    )
    variants = {"all on": sc} | {
        f"without {d.name}": sc.replace({f"mechanisms.{d.name}": False}) for d in declarations()
    }
    times = {k: [] for k in variants}
    for _ in range(args.rounds):
        for k, v in variants.items():
            times[k].append(seconds(v))
    full = statistics.median(times["all on"])
    print(f"{n:,} staff x {args.weeks} weeks, compiled engine; median of {args.rounds} rounds")
    print(f"{'variant':32s} {'min s':>8} {'median s':>9} {'share of the week':>18}")
    for k, ts in times.items():
        share = "" if k == "all on" else f"{(full - statistics.median(ts)) / full:17.1%}"
        print(f"{k:32s} {min(ts):8.3f} {statistics.median(ts):9.3f} {share}")
    # the kernel call alone against a whole step (the Python side: metrics dict, events, outcome tracker)
    engine = Simulation(sc, 1).engine
    t0 = time.perf_counter()
    for t in range(1, args.weeks + 1):
        engine.kernel_step(t)
    kernel = time.perf_counter() - t0
    print(
        f"kernel calls alone {kernel:.3f} s against the whole run {full:.3f} s: Python side ~{(full - kernel) / args.weeks * 1e6:.0f} us a week"
    )


if __name__ == "__main__":
    main()
