"""Peak memory of one run, by size: the measurements behind the memory guard (sim/sweep/resources.py).

Each configuration runs in a fresh process: import the package, load the compiled kernel and make a tiny
run (so imports, the kernel and the first allocations are in the baseline), read the peak resident set
size (ru_maxrss), make the measured run, read the peak again. The difference is what the run needed.

    .venv/bin/python benchmarks/bench_memory.py            # every configuration (~2 minutes)
    .venv/bin/python benchmarks/bench_memory.py --quick    # smaller sizes

It prints one row per configuration and the fitted constants:
bytes per staff (at the default team degree), per extra team tie, per cross-organisation tie and per week.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys
from sim.model.compiled import warm_up
warm_up()
from sim import Scenario, run
changes = json.loads(sys.argv[1])
run(Scenario({"organisations.staff_a": 40, "organisations.staff_b": 60, "run.steps": 3}), 1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
r = run(Scenario(changes), 1)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "after": after, "weeks": len(r.series)}))
"""


def measure(changes: dict) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(changes)], capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    quick = "--quick" in sys.argv
    n = 100_000 if quick else 400_000
    a, b = int(n * 0.4), int(n * 0.6)
    base = {"organisations.staff_a": a, "organisations.staff_b": b, "run.steps": 10}
    configs = {
        "staff (default ties)": base,
        "staff x2": {**base, "organisations.staff_a": 2 * a, "organisations.staff_b": 2 * b},
        "team_degree 30": {**base, "organisations.team_degree": 30},
        "ties_per_100_staff 1000": {**base, "partnership.ties_per_100_staff": 1000.0},
        "weeks 2600 (10,000 staff)": {
            "organisations.staff_a": 4_000,
            "organisations.staff_b": 6_000,
            "run.steps": 2600,
        },
        "weeks 10 (10,000 staff)": {"organisations.staff_a": 4_000, "organisations.staff_b": 6_000, "run.steps": 10},
    }
    rows = {}
    print(f"load: {os.getloadavg()}")
    print(f"{'configuration':32s} {'peak above baseline MiB':>24s}")
    for name, changes in configs.items():
        m = measure(changes)
        rows[name] = m["after"] - m["before"]
        print(f"{name:32s} {rows[name] / 2**20:24.1f}")
    per_staff = (rows["staff x2"] - rows["staff (default ties)"]) / n
    per_team_tie = (rows["team_degree 30"] - rows["staff (default ties)"]) / (n * (30 - 6) / 2)
    # initial cross ties = ties_per_100 x min(staff)/100 x proximity (0.5 by default)
    cross = lambda t: t * a / 100 * 0.5  # noqa: E731
    per_cross_tie = (rows["ties_per_100_staff 1000"] - rows["staff (default ties)"]) / (cross(1000.0) - cross(4.0))
    per_week = (rows["weeks 2600 (10,000 staff)"] - rows["weeks 10 (10,000 staff)"]) / 2590
    print()
    print(f"bytes per staff (team degree 6, default ties): {per_staff:8.0f}")
    print(f"bytes per extra team tie:                      {per_team_tie:8.0f}")
    print(f"bytes per cross-organisation tie:              {per_cross_tie:8.0f}")
    print(f"bytes per week recorded:                       {per_week:8.0f}")


if __name__ == "__main__":
    main()
