"""Wall time of a robust-decision run: every policy across the same sampled futures, serially and in parallel.

    .venv/bin/python benchmarks/bench_robust.py [--experiment experiments/robust_policies.toml] [--workers 1 2]
                                                [--futures N]

Runs ``buddysim robust EXPERIMENT`` as a user would (a fresh process each time, into a fresh temporary
folder, HTML report included) once per worker count, and reports the wall time of the whole command, of
its sweep and of its analysis, runs per second, and the load average (1 minute) before and after each run:
this machine is shared, so a figure taken under load says so beside it. ``--futures`` shrinks the design
(a copy of the file with fewer futures) for a quick check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "robust_policies.toml")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--futures", type=int, help="use this many futures instead of the file's")
    args = ap.parse_args()
    experiment = args.experiment.resolve()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.futures:
            text = experiment.read_text()
            text = re.sub(r"(?m)^samples = \d+", f"samples = {args.futures}", text)
            text = text.replace('scenario = "../', f'scenario = "{experiment.parent.parent}/')
            experiment = Path(tmp) / experiment.name
            experiment.write_text(text)
        for w in args.workers:
            out = Path(tmp) / f"w{w}"
            load_before = os.getloadavg()[0]
            t0 = time.perf_counter()
            p = subprocess.run(
                [sys.executable, "-m", "sim", "robust", str(experiment), "--out", str(out), "-w", str(w), "-q"],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            wall = time.perf_counter() - t0
            load_after = os.getloadavg()[0]
            if p.returncode != 0:
                sys.exit(p.stderr)
            sweep_s = float(re.search(r"complete in ([\d.]+) s: (\d+) runs", p.stdout).group(1))
            runs = int(re.search(r"complete in [\d.]+ s: (\d+) runs", p.stdout).group(1))
            analysis_s = float(re.search(r"Analysis ([\d.]+) s", p.stdout).group(1))
            head = re.search(r"Robust decisions: (\d+) policies x (\d+) futures x (\d+)", p.stdout)
            rows.append(
                {
                    "workers": w,
                    "policies": int(head.group(1)),
                    "futures": int(head.group(2)),
                    "replications": int(head.group(3)),
                    "runs": runs,
                    "wall_s": round(wall, 1),
                    "sweep_s": sweep_s,
                    "analysis_and_report_s": analysis_s,
                    "runs_per_s": round(runs / sweep_s, 2),
                    "load_1min_before": round(load_before, 2),
                    "load_1min_after": round(load_after, 2),
                    "cpus": os.cpu_count(),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    serial = next((r for r in rows if r["workers"] == 1), None)
    print()
    print(
        f"{'workers':>7s} {'runs':>6s} {'wall s':>8s} {'sweep s':>8s} {'analysis s':>10s} {'runs/s':>7s} {'speed-up':>8s}  load before/after"
    )
    for r in rows:
        speed = f"{serial['sweep_s'] / r['sweep_s']:.2f}x" if serial else "-"
        print(
            f"{r['workers']:>7d} {r['runs']:>6d} {r['wall_s']:>8.1f} {r['sweep_s']:>8.1f} "
            f"{r['analysis_and_report_s']:>10.1f} {r['runs_per_s']:>7.2f} {speed:>8s}  "
            f"{r['load_1min_before']:.2f} / {r['load_1min_after']:.2f}"
        )
    print(f"\n{os.cpu_count()} CPUs; {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
