"""What the result store's safety costs: a sweep of trivial runs with this store against another checkout's,
and the cost of verifying committed chunks on a resume.

    .venv/bin/python benchmarks/bench_store.py [--compare /path/to/other/checkout] [--runs 4000] [--repeat 3]

1. Per-run overhead of the sweep machinery: N trivial runs (4 staff, 1 week; chunks of 100) as a serial sweep
   in a fresh process, minus the same runs made with ``sim.run`` in a loop; for this checkout and, with
   ``--compare``, another (e.g. the commit before issue 13: ``git archive 08ae6f5 | tar -x -C /tmp/old``).
   The checkouts alternate, ``--repeat`` times; min and median are printed.
2. Verification on resume: the same design run as shard 1/1 (every chunk committed, no final tables), then
   run again: the second session verifies every committed chunk (record, sizes, SHA-256) and finds nothing
   to compute; its time per chunk is the price of trusting nothing on a resume.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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

SWEEP = """
import json, sys, time
from pathlib import Path
from sim.model.compiled import warm_up
warm_up()
from sim.sweep import load_experiment, sweep
exp = load_experiment(sys.argv[1])
shard = None if sys.argv[3] == "-" else tuple(int(x) for x in sys.argv[3].split("/"))
t0, c0 = time.perf_counter(), time.process_time()
kw = {} if shard is None else {"shard": shard}
sweep(exp, Path(sys.argv[2]), workers=1, log=lambda *a: None, **kw)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
"""

DIRECT = """
import json, sys, time
from sim.model.compiled import warm_up
warm_up()
from sim import Scenario, run
sc = Scenario({"organisations.staff_a": 2, "organisations.staff_b": 2, "organisations.team_size": 2, "run.steps": 1})
n = int(sys.argv[1]); run(sc, 0)
t0, c0 = time.perf_counter(), time.process_time()
for k in range(n):
    run(sc.replace({"system.competition": 0.1 if k % 2 else 0.9}), k)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
"""


def child(root: Path, code: str, *args) -> dict:
    p = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", type=Path, help="another checkout to measure alongside this one")
    ap.add_argument("--runs", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    roots = {"this store": ROOT}
    if args.compare:
        roots["compared"] = args.compare.resolve()
    print(f"load average {os.getloadavg()}; {os.cpu_count()} cores; python {sys.version.split()[0]}")
    times: dict[str, list[dict]] = {name: [] for name in roots}
    direct: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        exp = tmp / "trivial.toml"
        exp.write_text(TRIVIAL.format(reps=args.runs // 2))
        for r in range(args.repeat):
            for name, root in roots.items():
                times[name].append(child(root, SWEEP, exp, tmp / f"{name}-{r}".replace(" ", "-"), "-"))
            direct.append(child(ROOT, DIRECT, args.runs))
        print(f"\n1. {args.runs} trivial runs, serial, chunks of 100 ({args.repeat} repeats, interleaved)")
        for clock in ("seconds", "cpu"):
            base = [d[clock] for d in direct]
            print(f"  {'wall' if clock == 'seconds' else 'CPU'} time; direct run() loop: min {min(base):.2f} s")
            for name, ts in times.items():
                t = [x[clock] for x in ts]
                print(
                    f"    {name:10s}: sweep min {min(t):.2f} s, median {statistics.median(t):.2f} s -> overhead "
                    f"{(min(t) - min(base)) / args.runs * 1e3:.3f} ms per run (min - min)"
                )
        print("\n2. verifying committed chunks on a resume (shard 1/1 twice: the second only verifies)")
        verify = []
        for r in range(args.repeat):
            out = tmp / f"verify-{r}"
            child(ROOT, SWEEP, exp, out, "1/1")
            verify.append(child(ROOT, SWEEP, exp, out, "1/1")["seconds"])
        n_chunks = -(-args.runs // 100)
        print(
            f"  {n_chunks} chunks: min {min(verify):.3f} s, median {statistics.median(verify):.3f} s -> "
            f"{min(verify) / n_chunks * 1e3:.2f} ms per chunk (min; the session's own start included)"
        )


if __name__ == "__main__":
    main()
