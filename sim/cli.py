"""buddysim: agent-based simulation of buddying arrangements between NHS trusts.

The terminal face: run and compare scenarios, sweep experiments, analyse and report, calibrate, and serve
the teaching UI.

Bad input (a scenario that does not fit the schema, an unusable output folder)
is reported in one message naming the file, the key and what is allowed, with
exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

from . import __version__
from .analysis.stats import wilson_interval
from .model.outcomes import OUTCOMES
from .run import RunResult, describe_event, iter_replications
from .scenario import PARAMS, SECTIONS, Scenario, ScenarioError, load_scenario

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input that is the user's to fix: printed without a traceback, exit 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63-1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buddysim",
        description=__doc__.splitlines()[0],
        epilog="Bad input is reported with the file and key at fault, exit status 2. "
        "Docs: README.md, docs/ODD.md, docs/sweeps.md, docs/analysis.md.",
    )
    parser.add_argument("--version", action="version", version=f"buddysim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario (with replications) and write summary, series and figures")
    p.add_argument(
        "scenario", nargs="?", help="scenario file (.toml); default: all defaults (= scenarios/baseline.toml)"
    )
    p.add_argument("--seed", type=_seed, help="seed (default: the scenario's run.seed)")
    p.add_argument("--replications", "-r", type=_positive_int, default=1, help="number of runs (default 1)")
    p.add_argument("--steps", type=_positive_int, help="weeks to simulate (default: the scenario's run.steps)")
    p.add_argument("--out", type=Path, help="output folder (default: results/<scenario name>)")
    p.add_argument(
        "--engine",
        choices=("compiled", "array", "reference", "fast"),
        default="compiled",
        help="compiled (default: a week as one numba call), array (numpy; 'fast' is its former "
        "name) or the one-agent-at-a-time reference: same rules, same result",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the one-line outcome")
    p.add_argument(
        "--force", action="store_true", help="run even if the memory estimate is above the limit (docs/sweeps.md)"
    )

    p = sub.add_parser("validate", help="check scenario and experiment files without running them")
    p.add_argument("files", nargs="+", help="scenario or experiment files (.toml); every one is checked")

    p = sub.add_parser("params", help="list every parameter with default, unit, range and description")
    p.add_argument("--section", choices=SECTIONS, help="only this section")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")

    p = sub.add_parser("sweep", help="run an experiment file: a design of runs, resumable, on cores or a cluster")
    p.add_argument("experiment", help="experiment file (.toml)")
    p.add_argument(
        "--workers",
        "-w",
        type=_positive_int,
        help="local worker processes (default: all cores, or serial for a design of a few "
        "seconds' work; 1 = serial in this process)",
    )
    p.add_argument(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786) or scheduler file (.json); "
        "default: $DASK_SCHEDULER_ADDRESS if set",
    )
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N (1-based; e.g. one SLURM array task)")
    p.add_argument("--out", type=Path, help="output folder (default: results/<experiment name>)")
    p.add_argument("--dry-run", action="store_true", help="check the file and print the design's size; run nothing")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument(
        "--force",
        action="store_true",
        help="run a design above the size or memory limits (docs/sweeps.md, 'Limits'), if you mean it",
    )

    p = sub.add_parser("merge", help="join the shards of a sweep into its final tables")
    p.add_argument("folder", type=Path, help="the sweep's output folder")

    p = sub.add_parser("compare", help="compare scenarios (or finished run folders) side by side, with intervals")
    p.add_argument(
        "inputs",
        nargs="+",
        help="two or more scenario files (.toml) or `buddysim run` result folders; the first is the reference",
    )
    p.add_argument(
        "--replications",
        "-r",
        type=_positive_int,
        default=50,
        help="runs per scenario file, the same seeds for each (default 50)",
    )
    p.add_argument("--seed", type=_seed, help="master seed (default: each scenario's run.seed)")
    p.add_argument("--steps", type=_positive_int, help="weeks to simulate")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results") / "compare",
        help="folder for compare_*.csv, compare.md and compare.png (default results/compare)",
    )

    p = sub.add_parser("report", help="write a self-contained HTML report of a finished sweep")
    p.add_argument("folder", type=Path, help="the sweep's output folder")
    p.add_argument("--out", type=Path, help="HTML file (default: FOLDER/report.html)")

    p = sub.add_parser("sensitivity", help="Sobol indices or Morris screening of a finished sobol/morris sweep")
    p.add_argument("folder", type=Path, help="the sweep's output folder")
    p.add_argument("--csv", type=Path, help="also write the table as CSV")

    p = sub.add_parser("discover", help="PRIM scenario discovery: where in parameter space an outcome concentrates")
    p.add_argument("folder", type=Path, help="the sweep's output folder")
    p.add_argument("--outcome", default="failed", choices=("failed", "bedded_in", "undecided"))
    p.add_argument("--threshold", type=float, help="density a box must reach (default 0.8)")
    p.add_argument("--boxes", type=_positive_int, default=3, help="at most this many boxes (default 3)")

    p = sub.add_parser("evidence", help="test the briefing's claims as directional hypotheses (paired experiments)")
    p.add_argument(
        "claims",
        nargs="?",
        type=Path,
        default=Path("validation") / "claims.toml",
        help="claims file (default validation/claims.toml)",
    )
    p.add_argument("--replications", "-r", type=_positive_int, default=200, help="runs per arm (default 200)")
    p.add_argument("--seed", type=_seed, default=2013, help="master seed (default 2013)")
    p.add_argument("--workers", "-w", type=_positive_int, default=1, help="local worker processes (default 1)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results") / "evidence",
        help="folder for evidence.csv and evidence.md (default results/evidence)",
    )

    p = sub.add_parser(
        "calibrate", help="calibrate parameters to target patterns by rejection ABC (on the sweep engine)"
    )
    p.add_argument("file", type=Path, help="calibration file (.toml)")
    p.add_argument("--workers", "-w", type=_positive_int, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address or file (default: $DASK_SCHEDULER_ADDRESS)")
    p.add_argument("--out", type=Path, help="output folder (default: results/<calibration name>)")

    p = sub.add_parser("ui", help="the teaching demo in the browser (Mesa SolaraViz), offline-capable")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--setup-only", action="store_true", help="install the browser assets for offline use, then exit")

    p = sub.add_parser("scenarios", help="list the bundled scenarios and the question each asks")
    p.add_argument("--dir", type=Path, default=Path("scenarios"), help="folder of scenarios (default: scenarios)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return {
            "run": cmd_run,
            "validate": cmd_validate,
            "params": cmd_params,
            "sweep": cmd_sweep,
            "merge": cmd_merge,
            "compare": cmd_compare,
            "report": cmd_report,
            "sensitivity": cmd_sensitivity,
            "discover": cmd_discover,
            "evidence": cmd_evidence,
            "calibrate": cmd_calibrate,
            "ui": cmd_ui,
            "scenarios": cmd_scenarios,
        }[args.command](args)
    except (ScenarioError, UsageError) as exc:
        print(f"buddysim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the machine's, not the model's: a full disk, a folder one cannot write to
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"buddysim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


# --- run -------------------------------------------------------------------------------
def summarise(results: list[RunResult], scenario: Scenario, seed: int, interrupted: bool = False) -> dict:
    n = len(results)
    runs = [r.summary() for r in results]
    shares = {}
    for kind in OUTCOMES:
        k = sum(r.outcome == kind for r in results)
        lo, hi = wilson_interval(k, n)
        shares[kind] = {"runs": k, "share": k / n if n else math.nan, "ci95": [lo, hi]}
    timing = {}
    for kind in ("bedded_in", "failed"):
        steps = sorted(r.outcome_step for r in results if r.outcome == kind)
        if steps:
            q = statistics.quantiles(steps, n=4, method="inclusive") if len(steps) > 1 else [steps[0]] * 3
            timing[kind] = {
                "median_week": statistics.median(steps),
                "iqr_weeks": [q[0], q[2]],
                "first_week": steps[0],
                "last_week": steps[-1],
            }
    return {
        "buddysim_version": __version__,
        "scenario": scenario.name,
        "scenario_file": scenario.source or None,
        "scenario_changes": scenario.changes,
        "seed": seed,
        "replications": n,
        "interrupted": interrupted,
        "steps": scenario["run.steps"],
        "shares": shares,
        "timing": timing,
        "interval_method": "Wilson score interval, 95%",
        "runs": runs,
    }


def write_outputs(out: Path, results: list[RunResult], summary: dict, plots: bool) -> list[Path]:
    import pandas as pd

    from .analysis import plots as figures

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    try:
        return _write_outputs(out, results, summary, plots, pd, figures)
    except OSError as exc:  # a full disk, a read-only folder: name the file; nothing half-written is left
        raise UsageError(f"{exc.filename or out}: cannot write ({exc.strerror or exc})") from None


def _replace_atomically(path: Path, write) -> Path:
    """``write(tmp)``, then rename to ``path``: a reader never sees half a file; a failed write leaves none."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_outputs(out: Path, results, summary, plots, pd, figures) -> list[Path]:
    written = []
    text = json.dumps(summary, indent=2, default=_json_default) + "\n"
    written.append(_replace_atomically(out / "summary.json", lambda t: t.write_text(text)))
    frames = []
    for i, r in enumerate(results):
        f = r.series.copy()
        f.insert(0, "seed", r.seed)
        f.insert(0, "replication", i)
        frames.append(f)
    series = pd.concat(frames, ignore_index=True)
    written.append(_replace_atomically(out / "series.parquet", lambda t: series.to_parquet(t, index=False)))
    rows = [
        {
            "replication": i,
            "seed": r.seed,
            "step": e["step"],
            "kind": e["kind"],
            "org": e["org"],
            "detail": json.dumps({k: v for k, v in e.items() if k not in ("step", "kind", "org")}),
        }
        for i, r in enumerate(results)
        for e in r.events
    ]
    events = pd.DataFrame(rows, columns=["replication", "seed", "step", "kind", "org", "detail"])
    written.append(_replace_atomically(out / "events.csv", lambda t: events.to_csv(t, index=False)))
    if plots:
        sc = results[0].scenario
        thresholds = {
            "bed_in_trust": sc["outcome.bed_in_trust"],
            "bed_in_adoption": sc["outcome.bed_in_adoption"],
            "fail_floor": sc["outcome.fail_floor"],
        }
        decided = [(r.outcome, r.outcome_step) for r in results if r.outcome_step is not None]
        written.append(
            figures.trajectories(
                series,
                out / "trajectories.png",
                title=f"Scenario: {sc.name}",
                thresholds=thresholds,
                outcome_steps=decided,
            )
        )
        if len(results) > 1:
            written.append(figures.outcomes(summary, out / "outcomes.png", title=f"Scenario: {sc.name}"))
    return written


def _json_default(x):
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(type(x).__name__)


def _describe_single(r: RunResult) -> list[str]:
    f = r.final
    lines = []
    if r.outcome == "undecided":
        lines.append(f"Outcome: UNDECIDED after {r.series['step'].iloc[-1]} weeks (neither bedded in nor failed)")
    else:
        lines.append(
            f"Outcome: {r.outcome.replace('_', ' ').upper()} at week {r.outcome_step} "
            f"(~{r.outcome_step / 52 * 12:.0f} months): {r.reason}"
        )
    lines.append("")
    lines.append(f"{'':34s}{'A start':>9s}{'A end':>9s}{'B start':>9s}{'B end':>9s}")
    first = r.series.iloc[0]
    for metric, label in (
        ("partner_trust", "trust in partner"),
        ("leader_trust", "trust in own leadership"),
        ("culture", "improvement culture"),
        ("adoption", "adoption of shared method"),
        ("loyalty", "loyalty to own organisation"),
        ("fatigue", "change fatigue"),
        ("board_commitment", "board commitment"),
    ):
        lines.append(
            f"  {label:32s}{first[metric + '_a']:9.2f}{f[metric + '_a']:9.2f}"
            f"{first[metric + '_b']:9.2f}{f[metric + '_b']:9.2f}"
        )
    s = r.series
    enc, succ = int(s["encounters"].sum()), int(s["successes"].sum())
    rate = f"{succ / enc:.0%} succeeded" if enc else "none"
    lines.append("")
    lines.append(
        f"  joint-working encounters: {enc} ({rate}); cross-organisation ties "
        f"{int(first['cross_ties'])} -> {int(f['cross_ties'])}"
    )
    lines.append(
        f"  staff who left: A {int(s['leavers_a'].sum())}, B {int(s['leavers_b'].sum())}; "
        f"weeks with conflicting messages: {int(s['message_conflict'].sum())}"
    )
    lines.append("")
    lines.append("Why: the event log (first 12 events; every event is in events.csv):")
    notable = [e for e in r.events if e["kind"] != "board_meeting_failed"]
    for e in notable[:12]:
        lines.append("  " + describe_event(e))
    if len(notable) > 12:
        lines.append(f"  ... {len(notable) - 12} more in events.csv")
    return lines


def _describe_many(summary: dict) -> list[str]:
    n = summary["replications"]
    lines = [f"Outcomes of {n} runs (95% Wilson intervals):"]
    for kind in OUTCOMES:
        s = summary["shares"][kind]
        lines.append(
            f"  {kind.replace('_', ' '):10s} {s['runs']:5d}  {s['share']:6.1%}  "
            f"[{s['ci95'][0]:.1%}, {s['ci95'][1]:.1%}]"
        )
    for kind, t in summary["timing"].items():
        lines.append(
            f"  {kind.replace('_', ' ')} at week: median {t['median_week']:g}, "
            f"IQR {t['iqr_weeks'][0]:g}-{t['iqr_weeks'][1]:g}, range {t['first_week']}-{t['last_week']}"
        )
    return lines


def cmd_run(args) -> int:
    scenario = load_scenario(args.scenario) if args.scenario else Scenario(name="baseline")
    if args.steps:
        scenario = scenario.replace({"run.steps": args.steps})
    seed = scenario["run.seed"] if args.seed is None else args.seed
    out = args.out or Path("results") / scenario.name
    _check_run_out(out)
    from .sweep.resources import check_run_memory

    check_run_memory(scenario, force=args.force, source=args.scenario or "")
    progress = None
    if args.replications > 1 and not args.quiet:
        from tqdm import tqdm

        def progress(it):
            return tqdm(it, desc=f"{scenario.name}", unit="run", file=sys.stderr, disable=None)

    t0 = time.perf_counter()
    results: list[RunResult] = []
    interrupted = False
    try:
        for result in iter_replications(scenario, seed, args.replications, engine=args.engine, progress=progress):
            results.append(result)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted: keeping the {len(results)} finished run(s)", file=sys.stderr)
        if not results:
            return 130
    elapsed = time.perf_counter() - t0
    summary = summarise(results, scenario, seed, interrupted)
    written = write_outputs(out, results, summary, plots=not args.no_plots)
    if args.quiet:
        if len(results) == 1:
            r = results[0]
            print(f"{r.outcome} {r.outcome_step if r.outcome_step is not None else '-'}")
        else:
            print(" ".join(f"{k}={v['runs']}" for k, v in summary["shares"].items()))
        return 130 if interrupted else 0
    print(
        f"buddysim {__version__} | scenario {scenario.name} | seed {seed} | {len(results)} run(s) "
        f"x {scenario['run.steps']} weeks | {scenario['organisations.staff_a']} + "
        f"{scenario['organisations.staff_b']} staff | {elapsed:.2f} s ({args.engine} engine)"
    )
    if scenario.description:
        print("Question: " + scenario.description.splitlines()[0])
    print()
    lines = _describe_single(results[0]) if len(results) == 1 else _describe_many(summary)
    print("\n".join(lines))
    print()
    print("Wrote: " + ", ".join(str(p) for p in written))
    return 130 if interrupted else 0


def _check_run_out(out: Path) -> None:
    """``run --out`` must be a folder that does not hold a sweep (a run would replace a sweep's series.parquet)."""
    from .sweep.store import is_sweep_folder

    if "\x00" in str(out):
        raise UsageError(f"{str(out)!r}: the path contains a NUL byte; no folder can have that name")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder (--out needs a folder)")
    if is_sweep_folder(out):
        raise UsageError(
            f"{out}: holds a sweep's results (experiment.toml, manifest.json); `run` would overwrite its "
            "series.parquet: choose another --out"
        )


# --- sweep / merge ----------------------------------------------------------------------
def cmd_sweep(args) -> int:
    import math
    import os

    from .sweep import load_experiment, parse_shard, sweep
    from .sweep.design import chunk_size, design_size
    from .sweep.resources import plan_memory
    from .sweep.store import check_sweep_out

    exp = load_experiment(args.experiment, force=args.force)
    shard = parse_shard(args.shard)
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler and args.workers:
        raise UsageError("--workers is for local processes; with a Dask scheduler the cluster's workers are used")
    out = args.out or Path("results") / exp.name
    check_sweep_out(out)
    points, n_runs = design_size(exp)  # counted, not built: a design too large is refused before any table exists
    size = chunk_size(exp, n_runs)
    where = (
        f"Dask scheduler {scheduler}"
        if scheduler
        else (f"{args.workers} local worker(s)" if args.workers else f"up to {os.cpu_count()} local workers")
    )
    print(
        f"experiment {exp.name}: {exp.design} design over {len(exp.factors)} parameter(s), "
        f"{points} point(s) x {exp.replications} replication(s) = {n_runs} runs "
        f"in {math.ceil(n_runs / size)} chunks of {size}; {where}; -> {out}"
    )
    if args.dry_run:  # the sweep itself makes these checks before building anything
        from .sweep.resources import describe, run_memory, worst_point

        workers = plan_memory(
            exp,
            n_runs,
            workers=args.workers or (None if scheduler else os.cpu_count()),
            workers_given=bool(args.workers),
            local=not scheduler,
            force=args.force,
        )
        print(
            f"memory: the largest run needs {describe(run_memory(worst_point(exp)))}"
            + (f"; {workers} worker(s)" if workers else "")
        )
        return 0
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        def progress(total, initial):
            return tqdm(total=total, initial=initial, unit="run", file=sys.stderr, disable=None, smoothing=0.1)

    import signal

    def _stop(signum, frame):  # SIGTERM (SLURM pre-emption, `kill`) stops like Ctrl-C: state is kept
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop)
    t0 = time.perf_counter()
    try:
        manifest = sweep(
            exp,
            out,
            workers=args.workers,
            scheduler=scheduler,
            shard=shard,
            progress=progress,
            force=args.force,
            log=lambda m: print(m, file=sys.stderr) if m.startswith("warning") else print(m),
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished chunks are saved in {out}; run the same command again to resume", file=sys.stderr
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    c = manifest.get("counts", {})
    print(
        f"{manifest['status']} in {time.perf_counter() - t0:.1f} s: {c.get('done', '-')} runs done, "
        f"{c.get('failed', '-')} failed -> {out}"
    )
    return 0


def cmd_merge(args) -> int:
    from .sweep import merge

    manifest = merge(args.folder)
    c = manifest["counts"]
    print(f"merged: {c.get('done')} runs done, {c.get('failed')} failed -> {args.folder}")
    return 0


# --- analysis ------------------------------------------------------------------------------
def _need_sweep(folder: Path) -> None:
    from .sweep import read_status

    if not (folder / "runs.parquet").exists():
        raise UsageError(f"{folder}: no runs.parquet here; is the sweep finished (or merged)?")
    manifest = read_status(folder)
    if manifest is None or manifest.get("status") != "complete":
        status = manifest.get("status") if manifest else "no readable manifest.json"
        raise UsageError(f"{folder}: the sweep is not complete ({status}); run it again (or merge) to finish it")


def cmd_compare(args) -> int:
    from .analysis import compare, load_samples

    if len(args.inputs) < 2:
        raise UsageError("compare needs two or more scenarios or result folders")
    for item in args.inputs:
        if not Path(item).exists():
            raise UsageError(f"{item}: no such file or folder")
    progress = None
    if args.replications > 1:
        from tqdm import tqdm

        def progress(it):
            return tqdm(it, unit="run", file=sys.stderr, disable=None, leave=False)

    comp = compare(load_samples(args.inputs, args.replications, args.seed, args.steps, progress=progress))
    print(comp.to_text())
    try:
        written = comp.to_csv(args.out)
        md = args.out / "compare.md"
        md.write_text(comp.to_markdown())
        written += [md, comp.figure(args.out / "compare.png")]
    except OSError as exc:
        raise UsageError(f"{args.out}: cannot write ({exc.strerror})") from None
    print("\nWrote: " + ", ".join(str(p) for p in written))
    return 0


def cmd_report(args) -> int:
    from .analysis import build_report

    _need_sweep(args.folder)
    out = build_report(args.folder, args.out)
    print(f"Wrote {out}")
    return 0


def cmd_sensitivity(args) -> int:
    import pandas as pd

    from .analysis import sensitivity

    _need_sweep(args.folder)
    method, table = sensitivity(args.folder)
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(
            f"{'Sobol indices (S1 first order, ST total; *_conf = 95% CI half-width)' if method == 'sobol' else 'Morris screening (mu* with 95% CI half-width, mu, sigma)'}"
        )
        print(table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"Wrote {args.csv}")
    return 0


def cmd_discover(args) -> int:
    from .analysis import discover

    _need_sweep(args.folder)
    d = discover(args.folder, args.outcome, threshold=args.threshold, max_boxes=args.boxes)
    print(d.to_text())
    return 0


def cmd_evidence(args) -> int:
    from .validation.evidence import check_claims, load_claims, to_markdown

    claims = load_claims(args.claims)
    t0 = time.perf_counter()
    table = check_claims(claims, args.replications, args.seed, workers=args.workers)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "evidence.csv", index=False)
        header = (
            f"Claims from {args.claims}, {args.replications} runs per arm, seed {args.seed}; effect = share "
            f"with minus share without, Newcombe 95% interval; {time.perf_counter() - t0:.0f} s.\n\n"
        )
        (args.out / "evidence.md").write_text(header + to_markdown(table))
    except OSError as exc:
        raise UsageError(f"{args.out}: cannot write ({exc.strerror})") from None
    for r in table.to_dict("records"):
        print(
            f"{r['verdict']:>13s}  {r['effect'] * 100:+6.1f} pts [{r['low'] * 100:+6.1f}, {r['high'] * 100:+6.1f}]"
            f"  {r['claim']}"
        )
    print(f"\nWrote {args.out / 'evidence.csv'} and {args.out / 'evidence.md'}")
    return 0


def cmd_calibrate(args) -> int:
    import os

    from .validation.calibrate import calibrate, describe, load_calibration

    cal = load_calibration(args.file)
    out = args.out or Path("results") / cal.name
    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        def progress(total, initial):
            return tqdm(total=total, initial=initial, unit="run", file=sys.stderr)

    try:
        summary = calibrate(
            args.file,
            out,
            workers=args.workers,
            scheduler=args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"),
            progress=progress,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished draws are saved in {out}/draws; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print(describe(summary))
    print(f"\nWrote {out}/calibrated.toml, accepted.csv, draws.csv, posterior.png, calibration.json")
    return 0


# --- ui ---------------------------------------------------------------------------------------
def cmd_ui(args) -> int:
    import os
    import subprocess

    from . import ui_assets

    if not 0 < args.port < 65536:
        raise UsageError(f"--port: expected 1-65535, got {args.port}")
    if ui_assets.missing():
        try:
            ui_assets.install(log=lambda m: print(m, file=sys.stderr))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(
                f"warning: could not install the browser assets for offline use ({exc}); the page will fetch "
                f"them from the internet",
                file=sys.stderr,
            )
    # Compile or load the model's engine now, so that the first page does not wait for it.
    from .model.compiled import warm_up

    warm_up()
    if args.setup_only:
        print(f"browser assets in {ui_assets.cdn_dir()}; model engine compiled")
        return 0
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    print(f"buddysim UI on http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.app",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--no-open",
        "--production",
    ]
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 130


# --- validate / params / scenarios ------------------------------------------------------
def cmd_validate(args) -> int:
    """Check every file given (scenario or experiment files, told apart by their tables); exit 2 if any fails."""
    from .scenario import parse_toml, read_text_file

    bad = 0
    for f in args.files:
        try:
            text = read_text_file(f, "scenario or experiment file", 50 * 2**20)
            doc = parse_toml(text, str(f))
            if {"experiment", "vary", "points", "record", "set"} & set(doc):
                from .sweep import load_experiment
                from .sweep.design import design_size

                exp = load_experiment(f)
                points, runs = design_size(exp)
                print(f"ok: {f} (experiment: {exp.design} design, {points} point(s), {runs} runs)")
            else:
                sc = load_scenario(f)
                print(f"ok: {f} ({len(sc.changes)} parameter(s) differ from the defaults)")
        except ScenarioError as exc:
            print(f"buddysim: error: {exc}", file=sys.stderr)
            bad += 1
    if bad and len(args.files) > 1:
        print(f"{bad} of {len(args.files)} files have errors", file=sys.stderr)
    return EXIT_USAGE if bad else 0


def cmd_params(args) -> int:
    rows = [p for p in PARAMS if args.section in (None, p.section)]
    if args.markdown:
        print("| key | default | unit | allowed | description |")
        print("|---|---|---|---|---|")
        for p in rows:
            print(f"| `{p.key}` | `{p.default!r}` | {p.unit} | {p.allowed()} | {p.doc} |")
        return 0
    section = None
    for p in rows:
        if p.section != section:
            section = p.section
            print(f"\n[{section}]")
        default = json.dumps(p.default)
        print(f"  {p.name:30s} = {default:10s} {p.unit:20s} {p.allowed()}")
        print(f"  {'':30s}   {p.doc}")
    return 0


def cmd_scenarios(args) -> int:
    files = sorted(Path(args.dir).glob("*.toml"))
    if not files:
        raise UsageError(f"{args.dir}: no .toml scenario files here")
    for f in files:
        sc = load_scenario(f)
        question = sc.description.splitlines()[0] if sc.description else ""
        print(f"{f!s:45s} {question}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
