"""Time a small ABC-SMC calibration of the bundled file on 1 and 2 workers (and check they agree).

    .venv/bin/python benchmarks/bench_calibration.py [--population 12] [--generations 2] [--replications 4]

The bundled validation/calibration.toml is shrunk (population, generations, replications, predictive draws),
run into a fresh temporary folder per sampler, interleaved and repeated; prints wall seconds (min and
median), particles simulated, seconds per particle-run and the load average before and after each run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def small_file(folder: Path, population: int, generations: int, replications: int) -> Path:
    text = (ROOT / "validation" / "calibration.toml").read_text()
    for key, value in {
        "population": population,
        "generations": generations,
        "replications": replications,
        "predictive_draws": 4,
        "predictive_replications": replications,
    }.items():
        text = re.sub(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
    text = re.sub(r'(?m)^scenario = "\.\./', f'scenario = "{ROOT.as_posix()}/', text)
    path = folder / "bench.toml"
    path.write_text(text)
    return path


def main() -> None:
    from sim.validation.calibrate import calibrate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=12)
    ap.add_argument("--generations", type=int, default=2)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_calibration_"))
    path = small_file(tmp, args.population, args.generations, args.replications)
    times: dict[int, list[float]] = {1: [], 2: []}
    posteriors = {}
    for rep in range(args.repeats):
        for workers in (1, 2):
            out = tmp / f"w{workers}_{rep}"
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            s = calibrate(path, out, workers=workers, log=lambda *a: None)
            dt = time.perf_counter() - t0
            times[workers].append(dt)
            posteriors[workers] = pd.read_csv(out / "posterior.csv")
            runs = s["simulations"] * args.replications
            print(
                f"workers {workers} repeat {rep}: {dt:6.1f} s wall (ABC {s['seconds_abc']:.1f} s, predictive "
                f"{s['seconds_predictive']:.1f} s); {s['simulations']} particles x {args.replications} runs = "
                f"{runs} runs, {s['seconds_abc'] / runs:.3f} s per run; load {load0:.2f} -> {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    for w, ts in times.items():
        print(f"workers {w}: min {min(ts):.1f} s, median {statistics.median(ts):.1f} s")
    same = posteriors[1].equals(posteriors[2])
    print(f"1 and 2 workers give the same posterior: {same}")


if __name__ == "__main__":
    main()
