"""Compare scenarios (or finished run folders) side by side, with intervals and plain-language verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..model.outcomes import BEDDED_IN, FAILED, OUTCOMES
from ..run import run_replications
from ..scenario import load_scenario
from . import runfolder
from .stats import bootstrap_ci, bootstrap_diff, newcombe_interval, quartiles, verdict, wilson_interval

END_METRICS = (
    "trust_min",
    "adoption_min",
    "board_min",
    "partner_trust_a",
    "partner_trust_b",
    "culture_a",
    "culture_b",
    "leader_trust_a",
    "leader_trust_b",
    "loyalty_a",
    "loyalty_b",
)
METHODS = (
    "shares: Wilson score 95% intervals; differences of shares: Newcombe (1998) hybrid score 95% "
    "intervals; outcome weeks: median and interquartile range; end-of-run metrics: mean with a 95% "
    "percentile bootstrap interval (2,000 resamples; paired by seed when the runs share seeds)"
)


@dataclass
class Sample:
    """The runs of one scenario: one row per run, and (optionally) their weekly series."""

    name: str
    runs: pd.DataFrame
    series: pd.DataFrame | None
    source: str

    @property
    def n(self) -> int:
        return len(self.runs)

    def count(self, outcome: str) -> int:
        return int((self.runs["outcome"] == outcome).sum())


def sample_from_results(results, name: str, source: str) -> Sample:
    rows, frames = [], []
    for i, r in enumerate(results):
        rows.append(
            {
                "replication": i,
                "seed": r.seed,
                "outcome": r.outcome,
                "outcome_step": r.outcome_step,
                **{m: float(r.final[m]) for m in END_METRICS},
            }
        )
        f = r.series.copy()
        f.insert(0, "replication", i)
        frames.append(f)
    return Sample(name, pd.DataFrame(rows), pd.concat(frames, ignore_index=True), source)


def sample_from_folder(folder: Path) -> Sample:
    summary = runfolder.read_summary(folder)
    rows = [
        {
            "replication": i,
            "seed": r["seed"],
            "outcome": r["outcome"],
            "outcome_step": r["outcome_step"],
            **{m: r["final"].get(m, math.nan) for m in END_METRICS},
        }
        for i, r in enumerate(summary["runs"])
    ]
    series = runfolder.read_series(folder)
    return Sample(summary.get("scenario") or folder.name, pd.DataFrame(rows), series, str(folder))


def load_samples(
    inputs, replications: int = 20, seed: int | None = None, steps: int | None = None, progress=None
) -> list[Sample]:
    """Each input is a scenario file (run ``replications`` times with the same seeds) or a run folder."""
    samples = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            samples.append(sample_from_folder(path))
            continue
        sc = load_scenario(path)
        s = sc["run.seed"] if seed is None else seed
        results = run_replications(sc, s, replications, steps=steps, progress=progress)
        samples.append(sample_from_results(results, sc.name, str(path)))
    names = [s.name for s in samples]
    for i, s in enumerate(samples):  # keep names unique for tables and legends
        if names.count(s.name) > 1:
            s.name = f"{s.name} ({i + 1})"
    return samples


@dataclass
class Comparison:
    samples: list[Sample]
    table: pd.DataFrame
    differences: pd.DataFrame

    # --- outputs -------------------------------------------------------------------------------
    def to_text(self) -> str:
        t = self.table
        first = self.samples[0].name
        lines = [
            f"{'scenario':34s} {'runs':>5s}  {'bedded in [95% CI]':>22s}  {'failed [95% CI]':>22s}  "
            f"{'week bedded in':>15s}  {'week failed':>15s}"
        ]
        for name, r in t.iterrows():
            lines.append(
                f"{name[:34]:34s} {int(r['runs']):5d}  {_share(r, 'bedded_in'):>22s}  "
                f"{_share(r, 'failed'):>22s}  {_weeks(r, 'bedded_in'):>15s}  {_weeks(r, 'failed'):>15s}"
            )
        lines.append("")
        lines.append(f"{'end of run (mean)':34s} " + " ".join(f"{n[:14]:>14s}" for n in t.index))
        for m in ("trust_min", "adoption_min", "board_min", "culture_a", "leader_trust_a", "loyalty_a"):
            lines.append(f"  {m:32s} " + " ".join(f"{t.loc[n, m]:14.3f}" for n in t.index))
        if len(self.samples) > 1:
            lines.append("")
            lines.append(f"Differences against {first} (95% intervals):")
            for _, d in self.differences.iterrows():
                unit = " pts" if d["measure"].startswith("share") else ""
                scale = 100 if unit else 1
                lines.append(
                    f"  {d['scenario'][:28]:28s} {d['measure']:22s} {d['estimate'] * scale:+8.2f}{unit} "
                    f"[{d['low'] * scale:+.2f}, {d['high'] * scale:+.2f}]  {d['verdict']}"
                )
        lines.append("")
        lines.append("Methods: " + METHODS + ".")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        t = self.table
        out = [
            "| scenario | runs | bedded in (95% CI) | failed (95% CI) | week bedded in, median (IQR) | "
            "week failed, median (IQR) | trust_min | adoption_min | board_min |",
            "|---|---:|---|---|---|---|---:|---:|---:|",
        ]
        for name, r in t.iterrows():
            out.append(
                f"| {name} | {int(r['runs'])} | {_share(r, 'bedded_in')} | {_share(r, 'failed')} | "
                f"{_weeks(r, 'bedded_in')} | {_weeks(r, 'failed')} | {r['trust_min']:.3f} | "
                f"{r['adoption_min']:.3f} | {r['board_min']:.3f} |"
            )
        if len(self.samples) > 1:
            out += [
                "",
                f"Differences against **{self.samples[0].name}**:",
                "",
                "| scenario | measure | difference | 95% interval | verdict |",
                "|---|---|---:|---|---|",
            ]
            for _, d in self.differences.iterrows():
                out.append(
                    f"| {d['scenario']} | {d['measure']} | {d['estimate']:+.3f} | "
                    f"[{d['low']:+.3f}, {d['high']:+.3f}] | {d['verdict']} |"
                )
        out += ["", "Methods: " + METHODS + "."]
        return "\n".join(out) + "\n"

    def to_csv(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        a, b = folder / "compare_scenarios.csv", folder / "compare_differences.csv"
        self.table.to_csv(a, index_label="scenario")
        self.differences.to_csv(b, index=False)
        return [a, b]

    def figure(self, path: Path | None = None):
        """Save the comparison figure to ``path`` (returns the path), or return the matplotlib Figure."""
        from .plots import comparison_figure

        return comparison_figure(self, path)


def _share(r, kind) -> str:
    return f"{r[kind]:6.1%} [{r[kind + '_lo']:.1%}, {r[kind + '_hi']:.1%}]"


def _weeks(r, kind) -> str:
    med = r[f"week_{kind}_median"]
    if math.isnan(med):
        return "-"
    return f"{med:.0f} ({r[f'week_{kind}_q1']:.0f}-{r[f'week_{kind}_q3']:.0f})"


def compare(samples: list[Sample]) -> Comparison:
    rows = {}
    for s in samples:
        row = {"runs": s.n}
        for kind in OUTCOMES:
            k = s.count(kind)
            lo, hi = wilson_interval(k, s.n)
            row[kind], row[kind + "_lo"], row[kind + "_hi"] = k / s.n, lo, hi
        for kind in (BEDDED_IN, FAILED):
            med, q1, q3 = quartiles(s.runs.loc[s.runs["outcome"] == kind, "outcome_step"].tolist())
            row[f"week_{kind}_median"], row[f"week_{kind}_q1"], row[f"week_{kind}_q3"] = med, q1, q3
        for m in END_METRICS:
            est, lo, hi = bootstrap_ci(s.runs[m].to_numpy())
            row[m], row[m + "_lo"], row[m + "_hi"] = est, lo, hi
        rows[s.name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")

    first = samples[0]
    diffs = []
    for s in samples[1:]:
        paired = s.n == first.n and list(s.runs["seed"]) == list(first.runs["seed"])
        for kind in (BEDDED_IN, FAILED):
            d, lo, hi = newcombe_interval(first.count(kind), first.n, s.count(kind), s.n)
            diffs.append(
                {
                    "scenario": s.name,
                    "measure": f"share {kind.replace('_', ' ')}",
                    "estimate": d,
                    "low": lo,
                    "high": hi,
                    "method": "Newcombe hybrid score",
                    "verdict": verdict(lo, hi, first.name),
                }
            )
        for m in ("trust_min", "adoption_min", "board_min"):
            d, lo, hi = bootstrap_diff(first.runs[m], s.runs[m], paired=paired)
            diffs.append(
                {
                    "scenario": s.name,
                    "measure": f"mean {m}",
                    "estimate": d,
                    "low": lo,
                    "high": hi,
                    "method": "bootstrap, " + ("paired by seed" if paired else "unpaired"),
                    "verdict": verdict(lo, hi, first.name),
                }
            )
    differences = pd.DataFrame(diffs, columns=["scenario", "measure", "estimate", "low", "high", "method", "verdict"])
    return Comparison(samples, table, differences)
