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
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .run import describe_event, iter_replications
from .scenario import PARAMS, SECTIONS, ScenarioError, bundled_scenarios, load_scenario
from .timeline import check_for

if TYPE_CHECKING:
    from .run import RunResult

# Start-up time matters here (`buddysim validate` and `params` answer in a fraction of a second): numpy,
# pandas, the model (Mesa, numba), matplotlib and the analysis libraries are imported inside the commands
# that use them, never at the top of this module. tests/test_cli.py checks this.

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


def _engine(text: str) -> str:
    if text in ("compiled", "reference"):
        return text
    if text in ("array", "fast"):
        raise argparse.ArgumentTypeError(
            f"the {text!r} engine was retired (CHANGELOG.md): use 'compiled' (the default) or 'reference'"
        )
    raise argparse.ArgumentTypeError(f"{text!r} is not an engine: use 'compiled' (the default) or 'reference'")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63-1, got {value}")
    return value


def _add_design_options(p: argparse.ArgumentParser, shard: str) -> None:
    """The options of every command that runs a design through the sweep engine (sweep, robust)."""
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
    p.add_argument("--shard", metavar="I/N", help=shard)
    p.add_argument("--out", type=Path, help="output folder (default: results/<experiment name>)")
    p.add_argument("--dry-run", action="store_true", help="check the file and print the design's size; run nothing")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument(
        "--force",
        action="store_true",
        help="run a design above the size or memory limits (docs/sweeps.md, 'Limits'), if you mean it",
    )


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
        "scenario",
        nargs="?",
        help="scenario file (.toml) or the name of a bundled scenario (`buddysim scenarios` lists them); "
        "default: the calibrated baseline",
    )
    p.add_argument("--seed", type=_seed, help="seed (default: the scenario's run.seed)")
    p.add_argument("--replications", "-r", type=_positive_int, default=1, help="number of runs (default 1)")
    p.add_argument("--steps", type=_positive_int, help="weeks to simulate (default: the scenario's run.steps)")
    p.add_argument("--out", type=Path, help="output folder (default: results/<scenario name>)")
    p.add_argument(
        "--engine",
        type=_engine,
        default="compiled",
        help="compiled (default: a week as one numba call) or reference (one agent at a time, the readable "
        "oracle): same rules, same random numbers, same result",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the one-line outcome")
    p.add_argument(
        "--posterior",
        type=Path,
        metavar="FILE",
        help="a calibration's posterior.json (or its folder): each replication draws its parameters from the "
        "weighted posterior (reproducibly from the seed), so intervals include parameter uncertainty",
    )
    p.add_argument(
        "--force", action="store_true", help="run even if the memory estimate is above the limit (docs/sweeps.md)"
    )

    p = sub.add_parser("validate", help="check scenario and experiment files without running them")
    p.add_argument(
        "files", nargs="+", help="scenario or experiment files (.toml), or bundled scenario names; every one is checked"
    )

    p = sub.add_parser("params", help="list every parameter with default, unit, range and description")
    p.add_argument("--section", choices=SECTIONS, help="only this section")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")

    p = sub.add_parser("sweep", help="run an experiment file: a design of runs, resumable, on cores or a cluster")
    p.add_argument("experiment", help="experiment file (.toml)")
    _add_design_options(p, shard="run only shard I of N (1-based; e.g. one SLURM array task)")

    p = sub.add_parser(
        "robust",
        help="robust decisions: every policy across the same sampled futures; regret, satisficing, vulnerabilities",
    )
    p.add_argument("experiment", help='experiment file (.toml) with design = "robust"')
    _add_design_options(p, shard="run only shard I of N; `buddysim merge` then `robust` again")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report (tables, CSV and figures only)")

    p = sub.add_parser("merge", help="join the shards of a sweep into its final tables")
    p.add_argument("folder", type=Path, help="the sweep's output folder")

    p = sub.add_parser("compare", help="compare scenarios (or finished run folders) side by side, with intervals")
    p.add_argument(
        "inputs",
        nargs="+",
        help="two or more scenarios (files, or names of bundled scenarios) or `buddysim run` result folders; "
        "the first is the reference",
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
    p.add_argument(
        "--posterior",
        type=Path,
        metavar="FILE",
        help="a calibration's posterior.json (or its folder): replication r of every scenario draws its parameters from the "
        "weighted posterior (reproducibly from the seed), so intervals include parameter uncertainty",
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
    p.add_argument(
        "--posterior",
        type=Path,
        metavar="FILE",
        help="a calibration's posterior.json (or its folder): replication r of both arms of every claim draws its parameters from the "
        "weighted posterior (reproducibly from the seed), so intervals include parameter uncertainty",
    )

    p = sub.add_parser(
        "calibrate",
        help="calibrate parameters (and choose between alternative submodels) to the record's patterns by ABC-SMC",
    )
    p.add_argument("file", type=Path, help="calibration file (.toml); docs/calibration.md")
    p.add_argument(
        "--workers", "-w", type=_positive_int, help="local worker processes (default: all cores; 1 = single core)"
    )
    p.add_argument("--scheduler", help="Dask scheduler address or file (default: $DASK_SCHEDULER_ADDRESS)")
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="pyabc's own parallel samplers (first come, first accepted): faster when run times vary, but the "
        "posterior then differs from run to run; by default any number of workers gives the single-core result",
    )
    p.add_argument(
        "--out", type=Path, help="output folder (default: results/<calibration name>); the same file resumes there"
    )

    p = sub.add_parser("ui", help="the teaching demo in the browser (Mesa SolaraViz), offline-capable")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--setup-only", action="store_true", help="install the browser assets for offline use, then exit")
    p.add_argument(
        "--session-timeout",
        type=float,
        default=60.0,
        help="seconds a closed page's session is kept before its model is freed (default 60)",
    )
    p.add_argument(
        "--idle-minutes",
        type=float,
        default=20.0,
        help="minutes before an untouched page's model is put away (default 20)",
    )

    p = sub.add_parser("scenarios", help="list the bundled scenarios and the question each asks")
    p.add_argument("--dir", type=Path, help="list the .toml scenarios of this folder instead of the bundled ones")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return status
    except BrokenPipeError:
        # The reader went away (`buddysim params | head`): not an error. Point stdout at /dev/null so that
        # the interpreter's final flush does not raise again, and exit as a program killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return {
            "run": cmd_run,
            "validate": cmd_validate,
            "params": cmd_params,
            "sweep": cmd_sweep,
            "robust": cmd_robust,
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
    except BrokenPipeError:
        raise  # the reader went away: main() handles it, it is not the machine's fault
    except OSError as exc:  # the machine's, not the model's: a full disk, a folder one cannot write to
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"buddysim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


# --- run -------------------------------------------------------------------------------
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
    from .model.outcomes import OUTCOMES

    n = summary["replications"]
    lines = [f"Outcomes of {n} runs (95% Wilson intervals):"]
    for kind in OUTCOMES:
        s = summary["shares"][kind]
        lines.append(
            f"  {kind.replace('_', ' '):10s} {s['runs']:5d}  {s['share']:6.1%}  "
            f"[{s['ci95'][0]:.1%}, {s['ci95'][1]:.1%}]"
        )
    if summary.get("survival"):
        lines.append("")
        lines.append(
            f"Time to each outcome (Kaplan-Meier over all {n} runs, censored at week {summary['steps']}; 95% intervals):"
        )
        from .analysis.survival import phrase

        width = max(len(phrase(kind)) for kind in summary["survival"])
        for kind, s in summary["survival"].items():
            lines.append("  " + _describe_survival(kind, s, width))
    return lines


def _describe_survival(kind: str, s: dict, width: int = 14) -> str:
    from .analysis.survival import phrase

    if s["median_week"] is None:
        median = "median not reached"
    else:
        lo, hi = (f"{w:.0f}" if w is not None else "not reached" for w in s["median_ci95"])
        median = f"median week {s['median_week']:.0f} [{lo}-{hi}]"
    years = "; ".join(
        f"{v['share']:.0%} by year {y} [{v['ci95'][0]:.0%}-{v['ci95'][1]:.0%}]" for y, v in s["by_year"].items()
    )
    return f"{phrase(kind):{width}s} {s['events']:4d} of {s['runs']} runs; {median}" + (f"; {years}" if years else "")


def cmd_run(args) -> int:
    scenario = load_scenario(args.scenario or "baseline")  # the calibrated baseline unless a scenario is named
    if args.steps:
        scenario = scenario.replace({"run.steps": args.steps})
        check_for(scenario, f"with --steps {args.steps}")
    seed = scenario["run.seed"] if args.seed is None else args.seed
    out = args.out or Path("results") / scenario.name
    _check_run_out(out)
    from .sweep.resources import check_run_memory

    check_run_memory(scenario, force=args.force, source=args.scenario or "")
    try:  # before the runs, so that nothing computed is lost to an unusable folder
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
    progress = None
    if args.replications > 1 and not args.quiet:
        from tqdm import tqdm

        def progress(it):
            return tqdm(it, desc=f"{scenario.name}", unit="run", file=sys.stderr, disable=None)

    t0 = time.perf_counter()
    results: list[RunResult] = []
    interrupted = False
    runs = iter_replications(scenario, seed, args.replications, engine=args.engine, progress=progress)
    posterior_note = None
    if args.posterior:
        from .validation.posterior import describe_use, iter_posterior_replications, load_posterior

        post = load_posterior(args.posterior)
        posterior_note = describe_use(post, scenario)
        runs = iter_posterior_replications(
            scenario, post, seed, args.replications, engine=args.engine, progress=progress
        )
    try:
        for result in runs:
            results.append(result)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted: keeping the {len(results)} finished run(s)", file=sys.stderr)
        if not results:
            return 130
    elapsed = time.perf_counter() - t0
    from .analysis import runfolder

    summary = runfolder.summarise(results, scenario, seed, interrupted)
    if posterior_note:
        summary["posterior"] = {"file": str(args.posterior), "note": posterior_note}
    try:
        written = runfolder.write(out, results, summary, figures=not args.no_plots)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the results ({exc.strerror or exc})") from None
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
    if posterior_note:
        print("Posterior: " + posterior_note)
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
    from .sweep import load_experiment

    exp = load_experiment(args.experiment, force=args.force)
    manifest = _execute_sweep(exp, args)
    return 0 if manifest is not None or args.dry_run else 130


def _execute_sweep(exp, args) -> dict | None:
    """Plan, print and run (or resume) a sweep as the command line asked (`sweep`, `robust`); the manifest, or
    None if interrupted or a dry run. The design's size and memory are checked before any table is built."""
    import math
    import os

    from .sweep import parse_shard, sweep
    from .sweep.design import chunk_size, design_size
    from .sweep.resources import plan_memory
    from .sweep.store import check_sweep_out

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
    if exp.design == "robust":
        what = (
            f"{len(exp.policies)} policies x {exp.samples} futures (Latin hypercube over {len(exp.uncertain)} "
            f"uncertain parameter(s)) x {exp.replications} replication(s) = {n_runs} runs"
        )
    else:
        what = (
            f"{exp.design} design over {len(exp.factors)} parameter(s), {points} point(s) x "
            f"{exp.replications} replication(s) = {n_runs} runs"
        )
    print(f"experiment {exp.name}: {what} in {math.ceil(n_runs / size)} chunks of {size}; {where}; -> {out}")
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
        return None
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
        return None
    finally:
        signal.signal(signal.SIGTERM, previous)
    c = manifest.get("counts", {})
    print(
        f"{manifest['status']} in {time.perf_counter() - t0:.1f} s: {c.get('done', '-')} runs done, "
        f"{c.get('failed', '-')} failed -> {out}"
    )
    return manifest


def cmd_robust(args) -> int:
    from .analysis import robust
    from .sweep import load_experiment

    exp = load_experiment(args.experiment, force=args.force)
    if exp.design != "robust":
        raise UsageError(
            f'{args.experiment}: experiment.design is {exp.design!r}; `buddysim robust` needs design = "robust" '
            "(levers, uncertainties, [robust]); docs/analysis.md shows one"
        )
    robust.settings(exp)  # the analysis settings are checked before anything runs
    manifest = _execute_sweep(exp, args)
    if manifest is None:
        return 0 if args.dry_run else 130
    out = args.out or Path("results") / exp.name
    if manifest.get("status") != "complete":
        print(f"this shard is done; when every shard is: buddysim merge {out}, then this command again to analyse")
        return 0
    t0 = time.perf_counter()
    result = robust.analyse(out)
    print()
    print(result.to_text())
    try:
        written = result.to_csv(out)
        md = out / "robust.md"
        md.write_text(f"# Robust decisions: {exp.name}\n\n" + result.to_markdown())
        written += [md, *result.figures(out)]
        if not args.no_report:
            from .analysis import build_report

            written.append(build_report(out))
    except OSError as exc:
        raise UsageError(f"{out}: cannot write ({exc.strerror})") from None
    print(f"\nAnalysis {time.perf_counter() - t0:.1f} s. Wrote: " + ", ".join(str(p) for p in written))
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
    bundled = bundled_scenarios()
    for item in args.inputs:
        if not Path(item).exists() and item not in bundled:
            from .scenario import did_you_mean

            raise UsageError(
                f"{item}: no such file or folder, and no bundled scenario of that name{did_you_mean(item, bundled)}"
            )
    progress = None
    if args.replications > 1:
        from tqdm import tqdm

        def progress(it):
            return tqdm(it, unit="run", file=sys.stderr, disable=None, leave=False)

    if args.posterior:
        samples = _posterior_samples(args, progress)
    else:
        samples = load_samples(args.inputs, args.replications, args.seed, args.steps, progress=progress)
    comp = compare(samples)
    print(comp.to_text())
    try:
        written = comp.to_csv(args.out)
        md = args.out / "compare.md"
        md.write_text(comp.to_markdown())
        written += [md, comp.figure(args.out / "compare.png"), comp.survival_figure(args.out / "compare_survival.png")]
    except OSError as exc:
        raise UsageError(f"{args.out}: cannot write ({exc.strerror})") from None
    print("\nWrote: " + ", ".join(str(p) for p in written))
    return 0


def _posterior_samples(args, progress) -> list:
    """compare --posterior: every scenario file runs replication r on posterior draw r (the same draws and seeds
    for each scenario, so the comparison stays paired); result folders are read as they are."""
    from .analysis import load_samples
    from .analysis.compare import sample_from_results
    from .validation.posterior import describe_use, iter_posterior_replications, load_posterior

    post = load_posterior(args.posterior)
    samples = []
    for item in args.inputs:
        if Path(item).is_dir():
            samples += load_samples([item])
            continue
        sc = load_scenario(item)
        if args.steps:
            check_for(sc.replace({"run.steps": args.steps}), f"with --steps {args.steps}")
        print(f"{sc.name}: {describe_use(post, sc)}", file=sys.stderr)
        seed = sc["run.seed"] if args.seed is None else args.seed
        runs = iter_posterior_replications(sc, post, seed, args.replications, steps=args.steps, progress=progress)
        samples.append(sample_from_results(list(runs), sc.name, str(item)))
    names = [s.name for s in samples]
    for i, s in enumerate(samples):
        if names.count(s.name) > 1:
            s.name = f"{s.name} ({i + 1})"
    return samples


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
    posterior = None
    if args.posterior:
        from .validation.posterior import load_posterior

        posterior = load_posterior(args.posterior)
    t0 = time.perf_counter()
    table = check_claims(claims, args.replications, args.seed, workers=args.workers, posterior=posterior)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "evidence.csv", index=False)
        header = (
            f"Claims from {args.claims}, {args.replications} runs per arm, seed {args.seed}; effect = share "
            f"with minus share without, Newcombe 95% interval; {time.perf_counter() - t0:.0f} s."
            + (
                f" Parameters drawn from the posterior {args.posterior} (draw r for replication r of both arms)."
                if posterior
                else ""
            )
            + "\n\n"
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
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    workers = args.workers or os.cpu_count() or 1
    try:
        summary = calibrate(
            args.file,
            out,
            workers=workers,
            scheduler=scheduler,
            dynamic=args.dynamic,
            log=lambda *a: print(*a, file=sys.stderr),
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: the finished generations are in {out}/abc.db; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except OSError as exc:
        if getattr(exc, "strerror", None) and getattr(exc, "filename", None):
            raise UsageError(f"{exc.filename}: {exc.strerror}") from None
        raise
    print(describe(summary))
    print(
        f"\nWrote {out}/posterior.json (for --posterior), posterior.csv, summary.md, patterns.csv, "
        "calibration.json, calibrated.toml, marginals.png, pairs.png, patterns.png"
    )
    return 0


# --- ui ---------------------------------------------------------------------------------------
def cmd_ui(args) -> int:
    import os
    import subprocess

    from . import ui_assets

    if not 0 < args.port < 65536:
        raise UsageError(f"--port: expected 1-65535, got {args.port}")
    if not args.session_timeout > 0 or not args.idle_minutes > 0:
        raise UsageError("--session-timeout and --idle-minutes must be positive")
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
    cmd = [  # the server module warns about a --host that is not loopback (sim/ui/server.py)
        sys.executable,
        "-m",
        "sim.ui.server",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--session-timeout",
        str(args.session_timeout),
        "--idle-minutes",
        str(args.idle_minutes),
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
    """Check every file given (scenario or experiment files, told apart by their tables; a bundled scenario by
    name); exit 2 if any fails, after reporting each."""
    from .scenario import parse_toml, read_text_file, scenario_path

    bad = 0
    for f in args.files:
        try:
            path = scenario_path(f) if "\x00" not in str(f) else Path(f)
            text = read_text_file(path, "scenario or experiment file", 50 * 2**20)
            doc = parse_toml(text, str(f))
            if {"experiment", "vary", "points", "record", "set", "levers", "policy", "uncertain", "robust"} & set(doc):
                from .sweep import load_experiment
                from .sweep.design import design_size

                exp = load_experiment(path)
                points, runs = design_size(exp)
                print(f"ok: {f} (experiment: {exp.design} design, {points} point(s), {runs} runs)")
                continue
            sc = load_scenario(path)
            extra = (
                f"; {len(sc.timeline)} timeline entr{'y' if len(sc.timeline) == 1 else 'ies'}" if sc.timeline else ""
            )
            print(f"ok: {f} ({len(sc.changes)} parameter(s) differ from the defaults{extra})")
            if sc.timeline:
                from .timeline import describe

                for line in describe(sc.timeline):
                    print("    " + line)
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
    if args.dir is None:
        files = bundled_scenarios()
        where = "bundled"
    else:
        files = {f.stem: f for f in sorted(Path(args.dir).glob("*.toml"))}
        where = str(args.dir)
    if not files:
        raise UsageError(f"{where}: no .toml scenario files here")
    width = max(len(name) for name in files) + 2
    bad = 0
    for name, f in files.items():
        if args.dir is None:  # bundled: checked by the test suite; listed from their text, without the model
            question = _question(f.read_text(encoding="utf-8"))
        else:  # someone's folder: every file checked, an error listed in its place
            try:
                sc = load_scenario(f)
            except ScenarioError as exc:
                print(f"{name:{width}s}(not usable) {exc}", file=sys.stderr)
                bad += 1
                continue
            question = sc.description.splitlines()[0] if sc.description else ""
        print(f"{name:{width}s}{question}")
    if args.dir is None:
        print(f"\nRun one with `buddysim run NAME`; the files are in {next(iter(files.values())).parent}")
    if bad:
        print(f"{bad} of {len(files)} files have errors", file=sys.stderr)
        return 2
    return 0


def _question(text: str) -> str:
    """A scenario file's question: its first comment line (what a Scenario's description starts with)."""
    return next((line[1:].strip() for line in text.splitlines()[:12] if line.startswith("#")), "")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
