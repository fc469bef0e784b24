"""Sweep throughput, parallel efficiency, per-run overhead of the machinery, and memory against sweep size.

    .venv/bin/python benchmarks/bench_sweep.py [--quick]

1. Throughput (runs/s) of experiments/smoke.toml, of a default-size design
   (the baseline scenario, 2,500 staff x 156 weeks, ~0.15 s a run) and of
   runs of about a second (30,000 staff), serially and with 2 local worker
   processes; parallel efficiency = speed-up / 2. Wall time includes starting
   the worker processes (spawn: each imports the package, ~1-2 s).
2. Per-run overhead: a sweep of trivial runs (4 staff, 1 week) against the
   same runs made directly with ``sim.run`` in a loop; the difference per run
   is what the machinery costs (design, chunking, Parquet parts, manifest).
3. Peak memory (max RSS of the sweeping process) for 1,000 and 10,000 trivial
   runs, serially: it must not grow with the number of runs.

Every sweep runs in a fresh subprocess into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_SIZE = """# default-size runs for the benchmark
[experiment]
scenario = "{root}/scenarios/baseline.toml"
design = "grid"
replications = {reps}
seed = 3
[vary."system.competition"]
values = [0.2, 0.5, 0.8]
[vary."leadership.turnover_a"]
values = [0.3, 1.0]
[record]
series = ["trust_min"]
every = 4
"""

LONG = """# runs of about a second: 30,000 staff x 156 weeks
[experiment]
scenario = "{root}/scenarios/baseline.toml"
design = "grid"
replications = {reps}
seed = 9
chunk = 1
[set]
"organisations.staff_a" = 12000
"organisations.staff_b" = 18000
[vary."system.competition"]
values = [0.3, 0.7]
"""

TRIVIAL = """# trivial runs: the machinery's own cost
[experiment]
design = "grid"
replications = {reps}
seed = 5
chunk = 100
[set]
"organisations.staff_a" = 2
"organisations.staff_b" = 2
"organisations.team_size" = 2
"run.steps" = 1
[vary."system.competition"]
values = [0.1, 0.9]
"""

CHILD = """
import json, resource, sys, time
from pathlib import Path
from sim.sweep import load_experiment, sweep
exp = load_experiment(sys.argv[1]); workers = int(sys.argv[3])
t0 = time.perf_counter()
m = sweep(exp, Path(sys.argv[2]), workers=workers, log=lambda *a: None)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "runs": m["counts"]["done"],
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DIRECT = """
import json, sys, time
from sim import Scenario, run
sc = Scenario({"organisations.staff_a": 2, "organisations.staff_b": 2, "organisations.team_size": 2, "run.steps": 1})
n = int(sys.argv[1]); run(sc, 0)
t0 = time.perf_counter()
for k in range(n):
    run(sc.replace({"system.competition": 0.1 if k % 2 else 0.9}), k)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def child(code: str, *args) -> dict:
    p = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def sweep_once(text: str, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "exp.toml"
        exp.write_text(text)
        return child(CHILD, exp, Path(tmp) / "out", workers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller designs (for a fast look)")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; python {sys.version.split()[0]}")
    smoke = (
        (ROOT / "experiments" / "smoke.toml")
        .read_text()
        .replace('"../scenarios/baseline.toml"', f'"{ROOT}/scenarios/baseline.toml"')
    )
    default = DEFAULT_SIZE.format(root=ROOT, reps=4 if args.quick else 16)
    print("\n1. throughput (wall time of the whole sweep, process start-up included)")
    long = LONG.format(root=ROOT, reps=4 if args.quick else 20)
    for name, text in (("smoke", smoke), ("default-size", default), ("1-second runs", long)):
        s1 = sweep_once(text, 1)
        s2 = sweep_once(text, 2)
        r1, r2 = s1["runs"] / s1["seconds"], s2["runs"] / s2["seconds"]
        print(
            f"  {name:13s} {s1['runs']:5d} runs: serial {r1:7.1f} runs/s, 2 workers {r2:7.1f} runs/s, "
            f"speed-up {r2 / r1:.2f}, efficiency {r2 / r1 / 2:.0%}"
        )
    print("\n2. per-run overhead of the sweep machinery (trivial runs, serial)")
    n = 1000 if args.quick else 4000
    s = sweep_once(TRIVIAL.format(reps=n // 2), 1)
    d = child(DIRECT, n)
    print(
        f"  {n} runs: sweep {s['seconds']:.2f} s, direct run() loop {d['seconds']:.2f} s -> "
        f"overhead {(s['seconds'] - d['seconds']) / n * 1e3:.2f} ms per run"
    )
    print("\n3. peak memory of the sweeping process (trivial runs, serial)")
    for n in (500, 5000) if args.quick else (1000, 10_000):
        s = sweep_once(TRIVIAL.format(reps=n // 2), 1)
        print(f"  {n:6d} runs: peak RSS {s['peak_mib']:.0f} MiB ({s['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
