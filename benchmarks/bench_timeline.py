"""The cost of the timeline machinery per simulated week, against the cost of a week of the model.

    .venv/bin/python benchmarks/bench_timeline.py [--repeats 7]

1. ``TimelineRuntime.due(week, metrics)`` over a 156-week run, with the metrics of a real run of the default
   scenario, for: no timeline (an engine skips the call), 3 entries (a week, a simple condition, a compound
   condition repeated with a gap) and 12 entries; µs per week.
2. A week of the compiled engine at the default size (2,500 staff), for scale, through ``sim.Simulation``
   (what ``run()``, sweeps and ``robust`` use).
3. A whole run with and without the same 3 entries, µs per week, so that the overhead includes applying the
   actions (the runs differ once an action fires, so this is the cost of the run the user asked for).

Timings are interleaved (each repeat measures every case once, in turn) and repeated; min and median are
printed, with the load average, since this machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from sim import Scenario, Simulation, scenario_from_toml
from sim.model.metrics import METRICS
from sim.timeline import TimelineRuntime

THREE = """
[[timeline]]
at = 26
action = "replace_chief_executive"
org = "A"

[[timeline]]
when = "partner_trust_a < 0.3"
action = "buddy_withdraws"

[[timeline]]
when = "week >= 52 and (trust_min < 0.45 or not board_min > 0.5)"
repeat = true
min_gap = 13
action = "set"
set = { "leadership.message_alignment" = 0.9 }
"""


def twelve() -> str:
    out = THREE * 3
    for k in range(3):
        out += f'\n[[timeline]]\nwhen = "0.2 < adoption_min < 0.{k + 5} and week > {10 * k}"\nrepeat = true\naction = "new_initiative"\n'
    return out


def time_due(entries, records) -> float:
    """µs per week of due() over one run's weeks (a fresh runtime each time, as each run gets one)."""
    rt = TimelineRuntime(entries)
    t0 = time.perf_counter()
    rt.due(0, None)
    for w in range(1, len(records)):
        rt.due(w, records[w - 1])
    return (time.perf_counter() - t0) / (len(records) - 1) * 1e6


def time_week(sc: Scenario, seed: int) -> float:
    model = Simulation(sc, seed)
    t0 = time.perf_counter()
    model.run_to_end()
    return (time.perf_counter() - t0) / sc["run.steps"] * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    base = Scenario()
    model = Simulation(base, 1)
    model.run_to_end()
    records = [{k: v for k, v in r.items() if k in METRICS} for r in model.records]
    cases = {
        "no timeline": (),
        "3 entries": scenario_from_toml(THREE, source="three").timeline,
        "12 entries": scenario_from_toml(twelve(), source="twelve").timeline,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    times["model week (compiled, 2,500 staff)"] = []
    with_three = base.with_timeline(cases["3 entries"])
    times["model week with 3 entries"] = []
    load_before = os.getloadavg()
    for r in range(args.repeats):
        for name, entries in cases.items():
            times[name].append(time_due(entries, records) if entries else 0.0)
        times["model week (compiled, 2,500 staff)"].append(time_week(base, 100 + r))
        times["model week with 3 entries"].append(time_week(with_three, 100 + r))
    load_after = os.getloadavg()
    week = statistics.median(times["model week (compiled, 2,500 staff)"])
    print(f"{'':40s} {'min µs/week':>12s} {'median':>10s} {'share of a model week':>22s}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:40s} {min(values):12.2f} {med:10.2f} {med / week:21.2%}")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\n{args.repeats} repeats, interleaved; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(uptime)


if __name__ == "__main__":
    main()
