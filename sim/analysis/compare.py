"""Compare scenarios (or finished run folders) side by side, with intervals and plain-language verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..model.outcomes import BEDDED_IN, FAILED, OUTCOMES
from ..run import run_replications
from ..scenario import ScenarioError, load_scenario
from ..timeline import check_for
from ..timeline import firings as timeline_firings
from . import runfolder, survival
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
SURVIVAL_METHODS = survival.METHODS
WEEKS_PER_YEAR = survival.WEEKS_PER_YEAR
phrase = survival.phrase
METHODS = (
    "shares: Wilson score 95% intervals; differences of shares: Newcombe (1998) hybrid score 95% "
    "intervals; week if bedded in / failed: median and interquartile range among the runs with that outcome; end-of-run metrics: mean with a 95% "
    "percentile bootstrap interval (2,000 resamples; paired by seed when the runs share seeds)"
)


@dataclass
class Sample:
    """The runs of one scenario: one row per run, and (optionally) their weekly series."""

    name: str
    runs: pd.DataFrame
    series: pd.DataFrame | None
    source: str
    #: (replication, week, label) of every timeline action that fired (sim.timeline.firings)
    timeline: list[tuple[int, int, str]] = field(default_factory=list)

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
                "horizon": int(r.series["step"].iloc[-1]),
                **{f"week_{k}": w for k, w in r.event_weeks().items()},
                **{m: float(r.final[m]) for m in END_METRICS},
            }
        )
        f = r.series.copy()
        f.insert(0, "replication", i)
        frames.append(f)
    timeline = timeline_firings((i, e) for i, r in enumerate(results) for e in r.events)
    return Sample(name, pd.DataFrame(rows), pd.concat(frames, ignore_index=True), source, timeline)


def sample_from_folder(folder: Path) -> Sample:
    summary = runfolder.read_summary(folder)
    rows = [
        {
            "replication": i,
            "seed": r["seed"],
            "outcome": r["outcome"],
            "outcome_step": r["outcome_step"],
            "horizon": r.get("steps", summary.get("steps")),
            **{f"week_{k}": w for k, w in (r.get("event_weeks") or {}).items()},
            **{m: r["final"].get(m, math.nan) for m in END_METRICS},
        }
        for i, r in enumerate(summary["runs"])
    ]
    series = runfolder.read_series(folder)
    events = runfolder.read_events(folder)
    timeline = (
        []
        if events is None
        else timeline_firings(
            (int(r.replication), {"kind": r.kind, "step": int(r.step), **r.detail})
            for r in events.itertuples()
            if r.kind == "timeline"
        )
    )
    return Sample(summary.get("scenario") or folder.name, pd.DataFrame(rows), series, str(folder), timeline)


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
        if steps:
            check_for(sc.replace({"run.steps": steps}), f"with {steps} steps")
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
    #: Kaplan-Meier curves {scenario: {event kind: Curve}}, their table, and a log-rank test per event kind
    curves: dict = field(default_factory=dict)
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)
    logrank: dict = field(default_factory=dict)

    # --- outputs -------------------------------------------------------------------------------
    def to_text(self) -> str:
        t = self.table
        first = self.samples[0].name
        lines = [
            f"{'scenario':34s} {'runs':>5s}  {'bedded in [95% CI]':>22s}  {'failed [95% CI]':>22s}  "
            f"{'week if bed in':>15s}  {'week if failed':>15s}"
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
        if self.curves:
            lines.append("")
            lines.append(
                f"{'time to each outcome (Kaplan-Meier)':34s} {'events':>7s}  {'median week [95% CI]':>22s}  "
                + "  ".join(f"{'by year ' + str(y):>18s}" for y in self._years())
            )
            for kind in self._kinds():
                test = self.logrank.get(kind)
                lines.append(f"  {phrase(kind)}: " + (test.verdict() if test is not None else ""))
                for name, by_kind in self.curves.items():
                    c = by_kind.get(kind)
                    if c is None:
                        continue
                    cells = []
                    for y in self._years():
                        if y * WEEKS_PER_YEAR > c.horizon:
                            cells.append(f"{'-':>18s}")
                            continue
                        share, lo, hi = c.share_by(y * WEEKS_PER_YEAR)
                        cells.append(f"{f'{share:.0%} [{lo:.0%}-{hi:.0%}]':>18s}")
                    lines.append(
                        f"    {name[:30]:30s} {c.events:4d}/{c.n:<4d} {survival.median_text(c):>22s}  "
                        + "  ".join(cells)
                    )
                if test is not None and len(test.pairwise):
                    for _, row in test.pairwise.iterrows():
                        p = "no test" if math.isnan(row["p"]) else survival.format_p(row["p"])
                        lines.append(f"    log-rank, {row['group'][:30]} against {first[:30]}: {p}")
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
        lines.append("Methods: " + METHODS + "; " + SURVIVAL_METHODS + ".")
        return "\n".join(lines)

    def _kinds(self) -> list[str]:
        return list(dict.fromkeys(k for by_kind in self.curves.values() for k in by_kind))

    def _years(self) -> list[int]:
        horizon = max((c.horizon for by_kind in self.curves.values() for c in by_kind.values()), default=0)
        return list(range(1, horizon // WEEKS_PER_YEAR + 1))

    def to_markdown(self) -> str:
        t = self.table
        out = [
            "| scenario | runs | bedded in (95% CI) | failed (95% CI) | week, if bedded in: median (IQR) | "
            "week, if failed: median (IQR) | trust_min | adoption_min | board_min |",
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
        if self.curves:
            years = self._years()
            out += [
                "",
                "Time to each outcome (Kaplan-Meier, censored at the horizon):",
                "",
                "| outcome event | scenario | events / runs | median week (95% CI) | "
                + " | ".join(f"by year {y}" for y in years)
                + " |",
                "|---|---|---|---|" + "---|" * len(years),
            ]
            for kind in self._kinds():
                for name, by_kind in self.curves.items():
                    c = by_kind.get(kind)
                    if c is None:
                        continue
                    cells = []
                    for y in years:
                        share, lo, hi = c.share_by(y * WEEKS_PER_YEAR)
                        cells.append("-" if y * WEEKS_PER_YEAR > c.horizon else f"{share:.0%} [{lo:.0%}-{hi:.0%}]")
                    out.append(
                        f"| {phrase(kind)} | {name} | {c.events} / {c.n} | {survival.median_text(c)} | "
                        + " | ".join(cells)
                        + " |"
                    )
            out += ["", "Log-rank tests:", ""]
            for kind, test in self.logrank.items():
                out.append(f"- time to {phrase(kind)}: {test.verdict()}")
        out += ["", "Methods: " + METHODS + "; " + SURVIVAL_METHODS + "."]
        return "\n".join(out) + "\n"

    def to_csv(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        a, b = folder / "compare_scenarios.csv", folder / "compare_differences.csv"
        self.table.to_csv(a, index_label="scenario")
        self.differences.to_csv(b, index=False)
        written = [a, b]
        if self.curves:
            c, d = folder / "compare_survival.csv", folder / "compare_logrank.csv"
            self.survival.rename(columns={"group": "scenario"}).to_csv(c, index=False)
            self.logrank_table().to_csv(d, index=False)
            written += [c, d]
        return written

    def logrank_table(self) -> pd.DataFrame:
        """One row per event kind and test: all scenarios at once, then each against the first."""
        rows = []
        for kind, t in self.logrank.items():
            rows.append(
                {
                    "event": kind,
                    "test": "all scenarios",
                    "chi2": t.statistic,
                    "df": t.df,
                    "p": t.p,
                    "verdict": t.verdict(),
                }
            )
            for _, r in t.pairwise.iterrows():
                rows.append(
                    {
                        "event": kind,
                        "test": f"{r['group']} vs {t.groups[0]}",
                        "chi2": r["statistic"],
                        "df": 1,
                        "p": r["p"],
                        "verdict": "",
                    }
                )
        return pd.DataFrame(rows, columns=["event", "test", "chi2", "df", "p", "verdict"])

    def figure(self, path: Path | None = None):
        """Save the comparison figure to ``path`` (returns the path), or return the matplotlib Figure."""
        from .plots import comparison_figure

        return comparison_figure(self, path)

    def survival_figure(self, path: Path | None = None):
        """Kaplan-Meier curves per scenario, a panel per outcome event, the log-rank verdict in each title."""
        from .plots import survival_figure

        n = ", ".join(str(s.n) for s in self.samples)
        return survival_figure(
            self.curves,
            path,
            title=f"How soon partnerships reach each outcome, by scenario ({n} runs)",
            tests=self.logrank,
        )


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

    events = {s.name: survival.event_table_from_runs(s.runs, _horizons(s)) for s in samples}
    curves = {name: survival.curves(e, label=name) for name, e in events.items()}
    kinds = list(dict.fromkeys(k for e in events.values() for k in e["kind"]))
    tests = {kind: survival.logrank(events, kind) for kind in kinds} if len(samples) > 1 else {}
    return Comparison(
        samples, table, differences, curves=curves, survival=survival.survival_table(curves), logrank=tests
    )


def _horizons(s: Sample):
    if "horizon" in s.runs.columns and s.runs["horizon"].notna().all():
        return s.runs["horizon"].to_numpy(dtype="int64")
    if s.series is not None and "step" in s.series.columns:
        return int(s.series["step"].max())
    raise ScenarioError(s.source, None, "cannot tell the runs' horizon (no steps in summary.json, no series)")
