"""Deffuant-Weisbuch alone: nanoseconds per encounter, the model against a tight numba loop (the floor).

    .venv/bin/python benchmarks/bench_peer_influence.py [--old /path/to/old/checkout] [--sizes 1000 10000 100000]
        [--weeks 200] [--rounds 5]

The model runs the docking scenario of docs/validation.md (only the peer-influence submodel on, well mixed:
each week a random perfect matching of all staff, N/2 encounters; extended contact off, as in the floor) as a
whole model would: state, kernel call, metrics and outcome every week. The floor is the same work written as one tight numba loop (a Fisher-Yates
shuffle with numba's generator, then the bounded-confidence update of each pair) with nothing else. Each
measurement runs in a fresh subprocess pinned to one core and is timed in CPU time of its thread (steadier than wall time on a shared machine); versions alternate within every round; min and
median over rounds; the ratio model/floor is taken per round.
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

MODEL = r"""
import json, os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import sim
from sim.scenario import MECHANISMS
n, weeks = int(sys.argv[1]), int(sys.argv[2])
only = {f"mechanisms.{m}": m == "peer_influence" for m in MECHANISMS}
sc = sim.Scenario({**only, "organisations.staff_a": n, "organisations.staff_b": 2, "culture.mixing": "well_mixed",
                   "culture.confidence_bound": 0.3, "culture.convergence": 0.3, "organisations.culture_a": 0.5,
                   "organisations.attitude_sd": 0.28, "run.steps": weeks,
                   # the floor's work: no extended contact (model v2's colleagues also share their trust)
                   **({"culture.extended_contact": 0.0} if "culture.extended_contact" in sim.scenario.PARAM_BY_KEY
                      else {})})
from sim.model.compiled import warm_up
warm_up()
make = (lambda: sim.Simulation(sc, 1)) if hasattr(sim, "Simulation") else (
    lambda: sim.BuddyingModel(sc, 1, agent_views=False, engine="compiled"))
m = make()
t0 = time.thread_time(); m.run_to_end(); t1 = time.thread_time()
print(json.dumps({"ns": (t1 - t0) / (weeks * ((n + 2) // 2)) * 1e9, "file": sim.__file__}))
"""

FLOOR = r"""
import json, os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import numba, numpy as np

@numba.njit
def weeks(rng, x, d, mu, n_weeks):
    n = x.size
    perm = np.arange(n)
    for _ in range(n_weeks):
        for i in range(n - 1, 0, -1):
            j = int(rng.random() * (i + 1))
            perm[i], perm[j] = perm[j], perm[i]
        for q in range(n // 2):
            a = perm[2 * q]
            b = perm[2 * q + 1]
            diff = x[b] - x[a]
            if abs(diff) < d:
                x[a] += mu * diff
                x[b] -= mu * diff

n, n_weeks = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
x = rng.random(n)
weeks(rng, x.copy(), 0.3, 0.3, 1)
t0 = time.thread_time(); weeks(rng, x, 0.3, 0.3, n_weeks); t1 = time.thread_time()
print(json.dumps({"ns": (t1 - t0) / (n_weeks * (n // 2)) * 1e9}))
"""


def child(code: str, checkout: Path, n: int, weeks: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(n), str(weeks)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["ns"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, help="an earlier checkout to compare as well")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--weeks", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    versions = [("new", ROOT)] + ([("old", args.old.resolve())] if args.old else [])
    print(f"{'staff':>8} {'what':>6} {'ns/encounter min':>17} {'median':>8} {'/ floor (median)':>17}")
    for n in args.sizes:
        res = {name: [] for name, _ in versions} | {"floor": []}
        for _ in range(args.rounds):
            res["floor"].append(child(FLOOR, ROOT, n, args.weeks))
            for name, checkout in versions:
                res[name].append(child(MODEL, checkout, n, args.weeks))
        for name in ["floor"] + [v for v, _ in versions]:
            ratio = statistics.median(a / f for a, f in zip(res[name], res["floor"]))
            print(f"{n:>8,} {name:>6} {min(res[name]):>17.1f} {statistics.median(res[name]):>8.1f} {ratio:>17.2f}")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
