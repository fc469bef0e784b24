"""Where a week's time goes: wall time per submodel (and for the metrics), array engine; and the compiled total.

    .venv/bin/python benchmarks/profile_step.py [--staff 15000] [--steps 156] [--scenario scenarios/baseline.toml]

Runs the array engine's own pipeline (``sim.model.engine.PIPELINE``) with a timer
around each submodel, so the split is of exactly the code that engine executes. The
compiled engine runs the whole week as one call, so it can only be timed as a whole:
its total for the same run is printed last.
For a function-level view: ``python -m cProfile -s tottime benchmarks/profile_step.py``.
"""

from __future__ import annotations

import argparse
import time

from sim import BuddyingModel, load_scenario
from sim.model import engine
from sim.model.compiled import warm_up


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--staff", type=int, default=15_000)
    ap.add_argument("--steps", type=int, default=156)
    ap.add_argument("--scenario", default="scenarios/baseline.toml")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sc = load_scenario(args.scenario).replace(
        {
            "organisations.staff_a": int(args.staff * 0.4),
            "organisations.staff_b": args.staff - int(args.staff * 0.4),
            "run.steps": args.steps,
        }
    )
    spent = {name: 0.0 for name, _ in engine.PIPELINE}

    def timed(name, update):
        def run(st, P, rng, ctx):
            t0 = time.perf_counter()
            update(st, P, rng, ctx)
            spent[name] += time.perf_counter() - t0

        return run

    t0 = time.perf_counter()
    model = BuddyingModel(
        sc,
        args.seed,
        agent_views=False,
        engine="array",
        engine_step=lambda st, P, rng, ctx: [timed(n, u)(st, P, rng, ctx) for n, u in engine.PIPELINE if P.on[n]],
    )
    build = time.perf_counter() - t0
    measure = 0.0
    t_run = time.perf_counter()
    for _ in range(args.steps):
        model.week += 1
        model.ctx.reset(model.week)
        model._engine_step(model.state, model.P, model.rng, model.ctx)
        t1 = time.perf_counter()
        model._record()
        measure += time.perf_counter() - t1
    total = time.perf_counter() - t_run
    print(
        f"{args.staff} staff x {args.steps} weeks ({sc.name}); build {build:.3f} s, steps {total:.3f} s, "
        f"{total / (args.staff * args.steps) * 1e6:.3f} us/agent-step"
    )
    rows = sorted(spent.items(), key=lambda kv: -kv[1]) + [("metrics + outcome", measure)]
    print(f"{'submodel':22s} {'seconds':>8s} {'share':>7s} {'us/step':>9s}")
    for name, s in rows:
        print(f"{name:22s} {s:8.3f} {s / total:7.1%} {s / args.steps * 1e6:9.1f}")
    other = total - sum(s for _, s in rows)
    print(f"{'(loop overhead)':22s} {other:8.3f} {other / total:7.1%}")
    warm_up()
    best = float("inf")
    for _ in range(3):
        model = BuddyingModel(sc, args.seed, agent_views=False, engine="compiled")
        t0 = time.perf_counter()
        model.run_to_end()
        best = min(best, time.perf_counter() - t0)
    print(
        f"compiled engine, same run: steps {best:.3f} s (best of 3), "
        f"{best / (args.staff * args.steps) * 1e6:.3f} us/agent-step; array / compiled {total / best:.2f}x"
    )


if __name__ == "__main__":
    main()
