"""Regenerate docs/validation.md and its figures from the experiments in validation/.

    .venv/bin/python validation/build.py --workers 2        # ~15 min on 2 cores

Runs, in order: the three dockings (validation/docking.py, validation/demography.py); the ABC-SMC
calibration with model selection (validation/calibration.toml, as `buddysim calibrate`), which writes
scenarios/baseline.toml (the calibrated baseline every bundled scenario builds on), then 40 replications
of it with and without posterior draws; the briefing's claims on that baseline (validation/claims.toml, as
`buddysim evidence`); and whether the agents matter (validation/agents.toml). Then it fills
validation/validation.md.in with the tables and numbers and writes docs/validation.md. Results go to
results/validation/ (finished steps there are reused when their inputs and the model code are the same).

``--quick`` runs every step with a handful of replications and a coarse rate-equation grid (about a
minute): it checks the pipeline, not the model; its page says so at the top. Use it with ``--out`` and
``--figures`` so the published page and figures are left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import demography
import docking
import pandas as pd

from sim import load_scenario, run_replications
from sim.model.outcomes import OUTCOMES
from sim.sweep.design import load_experiment
from sim.validation.calibrate import (
    alternatives_markdown,
    calibrate,
    generations_markdown,
    load_calibration,
    parameter_markdown,
    patterns_markdown,
    posterior_table,
)
from sim.validation.evidence import check_claims, load_claims, to_markdown
from sim.validation.posterior import iter_posterior_replications, load_posterior

HERE = common.HERE
ROOT = common.ROOT
#: The calibrated baseline: written by the calibration step, read by every later step and bundled scenario.
BASELINE = ROOT / "sim" / "scenarios" / "baseline.toml"
#: Verdicts the commentary in validation.md.in was written for; a different verdict triggers a warning.
COMMENTARY_ASSUMES = {
    "consistent_messaging": "not shown",
    "time_to_build_relationships": "not shown",
    "similar_size": "not shown",
    "compatible_culture": "holds",
}


#: --quick: every size of the calibration file shrunk to a pipeline check.
QUICK_CALIBRATION = {
    "population": 6,
    "generations": 2,
    "replications": 2,
    "predictive_draws": 3,
    "predictive_replications": 2,
}
#: --quick: the bounded-confidence dockings run this many weeks at most (the demography needs its ten years).
QUICK_STEPS = {"deffuant": 200, "bounded_confidence": 200, "bounded_confidence_size": 200}


def _quick() -> None:
    """Shrink every docking experiment (same files, two replications, the bounded-confidence ones to 200
    weeks), the rate-equation grid and the bootstrap behind the threshold intervals (20 resamples instead
    of 300). The quick build checks the pipeline, not the model: its page says so."""

    def fewer(path):
        exp = load_experiment(path)
        exp.replications = min(exp.replications, 2)
        cap = QUICK_STEPS.get(Path(path).stem)
        if cap is not None and exp.base["run.steps"] > cap:
            exp.base = exp.base.replace({"run.steps": cap})
        return exp

    common.load_experiment = fewer
    docking.RATE.update(cells_per_bound=10, t_end=300.0, dt=0.25)
    docking.BOOTSTRAP = 20


def evidence(results: Path, replications: int, workers: int | None) -> dict:
    claims = load_claims(HERE / "claims.toml")
    t0 = time.perf_counter()
    # Reuse a finished run of the same claims file, model code and replications (the model is deterministic).
    out = results / "evidence"
    key = {
        "claims_sha256": hashlib.sha256((HERE / "claims.toml").read_bytes()).hexdigest(),
        "baseline_sha256": hashlib.sha256(BASELINE.read_bytes()).hexdigest(),
        "replications": replications,
        "seed": 2013,
    }
    if common.same_inputs(out, key) and (out / "evidence.csv").exists():
        table = pd.read_csv(out / "evidence.csv")
    else:
        table = check_claims(claims, replications, 2013, workers=workers or os.cpu_count() or 1)
        common.stamp_inputs(out, key)
        table.to_csv(out / "evidence.csv", index=False)
    counts = table["verdict"].value_counts()
    warnings = [
        f"claim {cid!r} is now {v!r} (the commentary discusses it as {COMMENTARY_ASSUMES[cid]!r}): "
        "re-read the commentary in validation/validation.md.in"
        for cid, v in zip(table["id"], table["verdict"])
        if cid in COMMENTARY_ASSUMES and COMMENTARY_ASSUMES[cid] != v
    ]
    return {
        "evidence_table": to_markdown(table).strip(),
        "evidence_runs": f"{replications}",
        "evidence_seconds": f"{time.perf_counter() - t0:.0f}",
        "evidence_counts": ", ".join(f"{counts.get(v, 0)} {v}" for v in ("holds", "not shown", "contradicted")),
        "_warnings": warnings,
    }


def calibration(results: Path, quick: bool, workers: int | None, figures: Path) -> dict:
    """ABC-SMC on validation/calibration.toml (as `buddysim calibrate`), then the shipped calibrated scenario run
    with and without posterior draws. ``--quick`` shrinks every size in the file (a pipeline check)."""
    path = HERE / "calibration.toml"
    if quick:
        text = path.read_text()
        for key, value in QUICK_CALIBRATION.items():
            text = re.sub(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
        text = re.sub(r"(?m)^scenario = \"\.\./", f'scenario = "{ROOT.as_posix()}/', text)
        path = results / "calibration_quick.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out = results / "calibration"
    key = {"calibration_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    if out.exists() and not common.same_inputs(out, key):
        shutil.rmtree(out)  # a finished ABC database is reused only for the same file and model code
    w = workers or os.cpu_count() or 1
    summary = calibrate(path, out, workers=w, log=lambda *a: None)
    common.stamp_inputs(out, key)
    cal = load_calibration(path)
    figures.mkdir(parents=True, exist_ok=True)
    for src, dst in (
        ("marginals.png", "abc_posterior.png"),
        ("pairs.png", "abc_pairs.png"),
        ("patterns.png", "abc_patterns.png"),
    ):
        (figures / dst).write_bytes((out / src).read_bytes())
    particles = pd.read_csv(out / "posterior.csv")
    table = posterior_table(particles, cal.priors)
    fit = pd.read_csv(out / "patterns.csv", keep_default_na=False, na_values=[""])
    counts = pd.read_csv(out / "alternatives.csv", keep_default_na=False, na_values=[""])
    pops = pd.read_csv(out / "generations.csv")
    probs = {k: float(v) for k, v in summary["model_probabilities"].items()}

    scenario_file = BASELINE
    if not quick:  # the shipped baseline is this calibration's output, with its caveats in the header
        body = (out / "calibrated.toml").read_text()
        body = "\n".join(line for line in body.splitlines() if not line.startswith("#")).lstrip("\n")
        header = (
            "# What does a typical buddying arrangement do?\n"
            "# The baseline, calibrated to the record of the trusts placed in special measures in 2013\n"
            "# (A: 1,000 staff, weak improvement culture, high executive churn;\n"
            "# B: a larger, stronger buddy of 1,500 staff; four years). Written by `python validation/build.py` from ABC-SMC on\n"
            f"# validation/calibration.toml ({summary['generations']} generations of {summary['population']} "
            f"particles x {summary['replications_per_particle']} runs): the schema's\n"
            "# defaults with the posterior medians of the most probable alternative submodels. docs/validation.md\n"
            "# says which patterns it reproduces and which it misses. Every other bundled scenario builds on it.\n"
        )
        scenario_file.write_text(header + "\n" + body)
    shipped = load_scenario(scenario_file)
    point = summary["point"]
    drift = {
        k: (shipped[k], v)
        for k, v in point.items()
        if (shipped[k] != v if isinstance(v, str) else abs(shipped[k] - v) > 1e-3 * max(1.0, abs(v)))
    }
    # Generated reading: patterns reproduced, posteriors pressing against the prior's edges, alternatives.
    best = max(probs, key=probs.get)
    mine = fit[fit["alternative"] == best]
    ok = mine[mine["computable"].astype(str) == "True"]
    met = ok[ok["reproduced"].astype(str) == "True"]["pattern"].tolist()
    short = ok[ok["reproduced"].astype(str) != "True"]["pattern"].tolist()
    missing = mine[mine["computable"].astype(str) != "True"]["pattern"].tolist()
    edges = []
    for k, pr in cal.priors.items():
        # An edge "presses" when its outer tenth of the prior holds over a quarter of the posterior weight (and
        # twice the other edge's: a posterior spread over the whole prior presses on neither).
        lo, hi = pr.low, pr.high
        w_ = particles["weight"]
        upper = w_[particles[k] > hi - 0.1 * (hi - lo)].sum()
        lower = w_[particles[k] < lo + 0.1 * (hi - lo)].sum()
        for side, share, other in (("upper", upper, lower), ("lower", lower, upper)):
            if share > 0.25 and share > 2 * other:
                edges.append(f"`{k}` ({share:.0%} of the posterior weight in the {side} tenth of the prior)")
    reading = ["Read honestly (this paragraph is generated from the numbers above): "]
    row = counts[counts["alternative"] == best].iloc[0]
    reading.append(
        f"the posterior predictive of the most probable alternative ({best}), pooled over its draws, reproduces "
        f"{len(met)} of {len(ok)} computable patterns"
        + (f" ({', '.join(met)})" if met else "")
        + (f" and misses {', '.join(short)}" if short else "")
        + f"; {float(row['draws_reproducing_all']):.0%} of its posterior draws reproduce all of them at once. "
    )
    if missing:
        reading.append(f"Not computable on today's model: {', '.join(missing)} (the model emits no such event). ")
    reading.append(
        (
            "The posterior presses against the prior's edge for "
            + ", ".join(edges)
            + ": the patterns would pull it beyond the range allowed here, so widen the prior or question the "
            "mechanism before relying on the calibrated scenario."
        )
        if edges
        else "No posterior presses against its prior's edges (none has more than a quarter of its weight in the "
        "outer tenth of its prior)."
    )
    reps = 4 if quick else 40
    plain = [r.outcome for r in run_replications(shipped, 2013, reps)]
    post = load_posterior(out)
    drawn = [r.outcome for r in iter_posterior_replications(shipped, post, 2013, reps)]

    def shares(outcomes):
        return ", ".join(f"{outcomes.count(k)} {k.replace('_', ' ')}" for k in OUTCOMES)

    return {
        "calibration_posterior": parameter_markdown(table).strip(),
        "calibration_generations": generations_markdown(pops).strip(),
        "calibration_alternatives": alternatives_markdown(counts, probs).strip(),
        "calibration_patterns": patterns_markdown(fit).strip(),
        "calibration_population": f"{summary['population']}",
        "calibration_weeks": f"{cal.base_for_runs()['run.steps']}",
        "calibration_generations_run": f"{summary['generations']}",
        "calibration_simulations": f"{summary['simulations']}",
        "calibration_replications": f"{summary['replications_per_particle']}",
        "calibration_minutes": f"{(summary['seconds_abc'] + summary['seconds_predictive']) / 60:.0f}",
        "calibration_predictive": f"{cal.settings.predictive_draws} draws x {cal.settings.predictive_replications} runs",
        "calibrated_reps": f"{reps}",
        "calibration_reading": "".join(reading),
        "calibrated_outcomes": shares(plain),
        "calibrated_outcomes_posterior": shares(drawn),
        "calibrated_horizon": f"{shipped['run.steps']} weeks",
        "calibrated_matches": (
            "is the base scenario with these posterior medians (and the most probable alternative)"
            if not drift
            else "differs from this calibration's point estimate ("
            + "; ".join(f"{k}: shipped {a}, now {b}" for k, (a, b) in drift.items())
            + f"): it is only rewritten by a full build, from {out / 'calibrated.toml'}"
        ),
    }


def agents(results: Path, workers: int | None) -> dict:
    """Do the agents matter? validation/agents.toml: the calibrated baseline against versions with the agent
    level flattened, the same seeds at every point; each row's difference from the first is paired."""
    from sim.analysis.stats import newcombe_paired_interval, wilson_interval

    path = HERE / "agents.toml"
    extra = {"baseline_sha256": hashlib.sha256(BASELINE.read_bytes()).hexdigest()}
    runs = common.runs_of("agents", results, workers, path=path, extra_key=extra)
    exp = common.load_experiment(path)  # (--quick shrinks it there)
    base = exp.base
    measures = [("bedded_in", "bedded in"), ("failed", "failed")]
    if "week_exited_special_measures" in runs:
        measures.append(("exited_special_measures", "left special measures"))

    def hit(frame, kind):
        if kind in ("bedded_in", "failed"):
            return (frame["outcome"] == kind).to_numpy()
        return frame[f"week_{kind}"].notna().to_numpy()

    first = runs[runs["point"] == 0].sort_values("replication")
    rows = []
    for point, frame in runs.groupby("point", sort=True):
        frame = frame.sort_values("replication")
        assert frame["replication"].tolist() == first["replication"].tolist(), "every point has the same seeds"
        changed = {k: v for k, v in exp.points[point].items() if base[k] != v} if point else {}
        label = ", ".join(f"`{k}` = {v}" for k, v in changed.items()) or "the calibrated baseline"
        row = [label, f"{len(frame)}"]
        for kind, _ in measures:
            x, y = hit(first, kind), hit(frame, kind)
            lo, hi = wilson_interval(int(y.sum()), len(y))
            cell = f"{y.mean():.0%} [{lo:.0%}, {hi:.0%}]"
            if point:
                d, dlo, dhi = newcombe_paired_interval(
                    int((x & y).sum()), int((x & ~y).sum()), int((~x & y).sum()), int((~x & ~y).sum())
                )
                sign = "**" if dlo > 0 or dhi < 0 else ""
                cell += f"; {sign}{d:+.0%} [{dlo:+.0%}, {dhi:+.0%}]{sign}"
            row.append(cell)
        rows.append(row)
    header = ["version of the model", "runs"] + [f"{label} (difference from the baseline)" for _, label in measures]
    return {
        "agents_table": common.markdown(rows, header, "lr" + "r" * len(measures)),
        "agents_runs": f"{exp.replications}",
        "agents_weeks": f"{base['run.steps']}",
    }


def fill(template: str, values: dict) -> str:
    missing = sorted(set(re.findall(r"\{\{(\w+)\}\}", template)) - set(values))
    if missing:
        raise KeyError(f"validation.md.in uses values nobody computed: {', '.join(missing)}")
    return re.sub(r"\{\{(\w+)\}\}", lambda m: str(values[m.group(1)]), template)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", "-w", type=int, default=None, help="local worker processes (default: all cores)")
    ap.add_argument("--quick", action="store_true", help="a pipeline check with a handful of runs (not results)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "validation.md")
    ap.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results folder (default: results/validation, or results/validation-quick)",
    )
    ap.add_argument("--figures", type=Path, default=HERE / "figures")
    args = ap.parse_args(argv)
    if args.results is None:
        args.results = ROOT / "results" / ("validation-quick" if args.quick else "validation")
    if args.quick:
        _quick()
    common.FIGURES = docking.FIGURES = demography.FIGURES = args.figures
    # The code and inputs this page is built from (checked before the build writes its own outputs).
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "sim", "validation", "scenarios"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    t0 = time.perf_counter()
    values, timings = {}, {}
    steps = [
        ("docking: Deffuant et al.", lambda: docking.deffuant(args.results, args.workers)),
        ("docking: Ben-Naim et al.", lambda: docking.bifurcation(args.results, args.workers)),
        ("docking: Harrison & Carroll", lambda: demography.demography(args.results, args.workers)),
        ("calibration", lambda: calibration(args.results, args.quick, args.workers, args.figures)),
        ("evidence", lambda: evidence(args.results, 4 if args.quick else 200, args.workers)),
        ("agents", lambda: agents(args.results, args.workers)),
    ]
    warnings = []
    for name, step in steps:
        s0 = time.perf_counter()
        print(f"[{time.perf_counter() - t0:6.0f} s] {name} ...", flush=True)
        out = step()
        warnings += out.pop("_warnings", [])
        values.update(out)
        timings[name] = round(time.perf_counter() - s0, 1)
    figures = Path(os.path.relpath(args.figures, args.out.parent)).as_posix()
    values.update(
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        commit=(commit.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else ""),
        total_minutes=f"{(time.perf_counter() - t0) / 60:.1f}",
        figures=figures,
        quick_banner=(
            "\n> **Quick pipeline check (`--quick`): two replications per point, shorter bounded-confidence "
            "runs, a coarse rate-equation grid. These numbers are not results.**\n"
            if args.quick
            else ""
        ),
    )
    page = fill((HERE / "validation.md.in").read_text(), values)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page)
    (args.results / "build.json").write_text(
        json.dumps({"timings_s": timings, "warnings": warnings, "quick": args.quick}, indent=2) + "\n"
    )
    for w in warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    print(f"wrote {args.out} in {(time.perf_counter() - t0) / 60:.1f} min; timings {timings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
