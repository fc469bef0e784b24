"""How fast the CLI starts: each command as a fresh process, as a user runs it.

    .venv/bin/python benchmarks/bench_cli.py [--repeats 7] [--out results/bench_cli]

Commands (each run once untimed first, so numba's kernel cache and Python's bytecode caches exist):

    python -c pass                              the interpreter alone (the floor)
    buddysim --version                          the CLI's own start-up
    buddysim validate scenarios/baseline.toml   target <= 0.3 s
    buddysim params | head                      through a pipe that closes early
    buddysim run scenarios/baseline.toml --no-plots      a whole default run, data only
    buddysim run scenarios/baseline.toml                 a whole default run with its figure; target <= 1.0 s

Repeats are interleaved (every command once per round, the order rotated each round) and reported as min and
median of wall and CPU time (user + system of the child). Then, in fresh processes again, the phases of a run
in the order the CLI meets them (imports, loading the compiled kernel, the simulation, writing, figures), so
that each part's share of the budget is visible; and one `python -X importtime` breakdown per command, saved
under --out. The machine's load average is printed with the figures: on a shared 2-core machine they are
noisy, and ratios within one run are steadier than absolute times.

PYTHONDONTWRITEBYTECODE is removed from the children's environment (it is set on the development machines;
with it, Python recompiles buddysim's modules from source in every process, which a user's install does not).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGETS = {"validate": 0.3, "run": 1.0}

PHASES = r"""
import json, sys, time
from pathlib import Path
out = Path(sys.argv[1])
t = [("start", time.perf_counter())]
def mark(name):
    t.append((name, time.perf_counter()))
import sim.cli; mark("import sim.cli (schema, argparse)")
import numpy; mark("import numpy")
import numba; mark("import numba")
import pandas; mark("import pandas")
import mesa; mark("import mesa (what pandas did not bring)")
import sim.model; mark("import sim.model (the rest of the model)")
from sim import Scenario, load_scenario, run
run(Scenario({"organisations.staff_a": 10, "organisations.staff_b": 10, "run.steps": 1})); mark("load the compiled kernel (first run)")
sc = load_scenario("baseline")
r = run(sc); mark("the default run (2,500 staff x 156 weeks)")
from sim.analysis import runfolder; mark("import sim.analysis")
summary = runfolder.summarise([r], sc, sc["run.seed"])
runfolder.write(out / "data", [r], summary, figures=False); mark("write summary, series, events (pyarrow)")
from sim.analysis import plots; mark("import matplotlib (sim.analysis.plots)")
runfolder.write(out / "figures", [r], summary, figures=True); mark("write again, with the figure")
print(json.dumps([(name, b - a) for (_, a), (name, b) in zip(t, t[1:])]))
"""


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")}
    env["PYTHONWARNINGS"] = "ignore"
    return env


def commands(tmp: Path) -> dict[str, list[str] | str]:
    buddysim = str(BIN / "buddysim")
    baseline = str(ROOT / "scenarios" / "baseline.toml")
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "buddysim --version": [buddysim, "--version"],
        "validate": [buddysim, "validate", baseline],
        "params | head": f"{buddysim} params | head",
        "run --no-plots": [buddysim, "run", baseline, "--no-plots", "--out", str(tmp / "run-data")],
        "run": [buddysim, "run", baseline, "--out", str(tmp / "run-figures")],
    }


def timed(cmd: list[str] | str, env: dict, cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, shell=isinstance(cmd, str), env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0 or "Traceback" in p.stderr:
        raise SystemExit(f"{cmd} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def importtime_summary(text: str, top: int = 12) -> list[tuple[str, float]]:
    """The slowest first-level imports (cumulative ms) of one `-X importtime` log."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part for part in line.split(":", 1)[1].split("|"))
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", "-n", type=int, default=7, help="timed rounds (default 7)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_cli", help="where results are saved")
    ap.add_argument("--keep-env", action="store_true", help="keep PYTHONDONTWRITEBYTECODE as it is")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ) if args.keep_env else child_env()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cmds = commands(tmp)
        for cmd in cmds.values():  # warm: numba's cache, bytecode caches, the page cache
            timed(cmd, env, tmp)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        names = list(cmds)
        for r in range(args.repeats):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                samples[name].append(timed(cmds[name], env, tmp))
        phases: dict[str, list[float]] = {}
        for _ in range(max(3, args.repeats // 2)):
            p = subprocess.run(
                [sys.executable, "-c", PHASES, str(tmp / "phases")], env=env, cwd=tmp, capture_output=True, text=True
            )
            if p.returncode != 0:
                raise SystemExit(p.stderr[-2000:])
            for name, seconds in json.loads(p.stdout.splitlines()[-1]):
                phases.setdefault(name, []).append(seconds)
        imports = {}
        for name, cmd in cmds.items():
            if name == "python -c pass":
                continue
            p = subprocess.run(
                cmd,
                shell=isinstance(cmd, str),
                env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            slug = name.replace(" | ", "-").replace(" ", "-").replace("--", "")
            (args.out / f"importtime-{slug}.txt").write_text(p.stderr)
            imports[name] = importtime_summary(p.stderr)
    load_after = os.getloadavg()

    print(
        f"buddysim CLI cold start: {args.repeats} interleaved rounds, fresh processes; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} cores); "
        f"PYTHONDONTWRITEBYTECODE {'kept' if args.keep_env else 'unset'}"
    )
    print(f"{'command':22s} {'wall min':>9s} {'wall med':>9s} {'cpu min':>8s} {'cpu med':>8s}  target")
    rows = []
    for name, values in samples.items():
        wall = [w for w, _ in values]
        cpu = [c for _, c in values]
        target = next((t for key, t in TARGETS.items() if name == key), None)
        verdict = (
            "" if target is None else f"<= {target} s: {'met' if statistics.median(wall) <= target else 'NOT met'}"
        )
        print(
            f"{name:22s} {min(wall):9.3f} {statistics.median(wall):9.3f} {min(cpu):8.3f} {statistics.median(cpu):8.3f}"
            f"  {verdict}"
        )
        rows.append(
            {
                "command": name,
                "wall_min": min(wall),
                "wall_median": statistics.median(wall),
                "cpu_min": min(cpu),
                "cpu_median": statistics.median(cpu),
                "target": target,
            }
        )
    print("\nPhases of a run, in the order the CLI meets them (fresh processes; min and median, seconds):")
    total = 0.0
    for name, values in phases.items():
        total += statistics.median(values)
        print(f"  {name:48s} {min(values):7.3f} {statistics.median(values):7.3f}")
    print(f"  {'sum of medians (plus the interpreter itself)':48s} {'':7s} {total:7.3f}")
    print("\nSlowest imports per command (-X importtime, cumulative ms, one run each):")
    for name, top in imports.items():
        print(f"  {name}: " + ", ".join(f"{mod} {ms:.0f}" for mod, ms in top[:8]))
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "repeats": args.repeats,
        "commands": rows,
        "phases": {k: {"min": min(v), "median": statistics.median(v)} for k, v in phases.items()},
        "imports": imports,
    }
    (args.out / "bench_cli.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nSaved {args.out / 'bench_cli.json'} and the -X importtime logs beside it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
