"""Lessons: prepared demonstrations whose seeds are chosen by running the model, never typed in by hand.

    python -m sim.ui.lessons [--runs 200] [--min-share 0.3] [--spec sim/ui/lessons_spec.toml]
                             [--out sim/ui/lessons.json]

For each lesson of the spec (scenario, optional levers, what to point at), run the demo's settings on
seeds 1..runs exactly as the page runs them (classroom size, the same model calls), then:

1. the outcome to show is the spec's ``shows`` or else the most common *clear* outcome (anything but
   undecided) among the runs;
2. its share of runs is recorded with every outcome's share, and the median and quartiles of its week;
3. the seed shown is the *most typical* run with that outcome: the smallest sum of its distance from the
   median outcome week (in interquartile ranges) and its trajectories' distance from the pointwise median
   trajectories of those runs (relative to the median such distance);
4. a lesson whose outcome is rarer than ``min_share`` is left out, with the reason printed.

Writes the lessons the page offers (``lessons.json``, next to this file) with the model's results stamp.
Re-run it whenever the model's results change (the test suite checks that each recorded seed still gives
its recorded outcome and week). Exit status 2 if fewer than three lessons qualify.
"""

from __future__ import annotations

import argparse
import json
import logging
import string
import sys
import time
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..model.outcomes import OUTCOMES, UNDECIDED
from .draw import DEFAULT_PANELS, paired_metrics
from .settings import DemoSettings, SettingError, check_scenario

HERE = Path(__file__).resolve().parent
SPEC = HERE / "lessons_spec.toml"
LESSONS = HERE / "lessons.json"
MIN_LESSONS, MAX_LESSONS = 3, 5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    scenario: str
    seed: int
    watch: str
    outcome: str
    outcome_week: int
    reason: str
    share: float
    runs: int
    shares: dict = field(default_factory=dict)
    median_week: float | None = None
    quartile_weeks: tuple = ()
    levers: dict = field(default_factory=dict)

    def settings(self) -> DemoSettings:
        s = DemoSettings.of(self.scenario, self.seed)
        for key, value in self.levers.items():
            s = s.with_lever(key, value)
        return s

    def summary(self) -> str:
        """One line for the page: how typical this run is."""
        pct = round(100 * self.share)
        others = ", ".join(
            f"{round(100 * v)}% {k.replace('_', ' ')}"
            for k, v in sorted(self.shares.items())
            if k != self.outcome and v
        )
        median = f" (median week {self.median_week:g})" if self.median_week is not None else ""
        return (
            f"This seed: {self.outcome.replace('_', ' ')} at week {self.outcome_week}. Of {self.runs} runs of these "
            f"settings, {pct}% end the same way{median}" + (f"; the others: {others}." if others else ".")
        )


def load_lessons(path: Path = LESSONS) -> list[Lesson]:
    """The lessons the page offers: an empty list, not an error, if the file is missing or unreadable; a lesson
    that cannot be used (its scenario gone, a field missing) is left out and logged, the others stay."""
    try:
        doc = json.loads(path.read_text())
        items = doc.get("lessons", [])
        if not isinstance(items, list):
            raise ValueError("'lessons' is not a list")
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("no lessons: %s: %s", path, exc)
        return []
    out = []
    for item in items:
        try:
            item = dict(item)
            item["quartile_weeks"] = tuple(item.get("quartile_weeks", ()))
            lesson = Lesson(**item)
            check_scenario(lesson.scenario)
        except (ValueError, TypeError, SettingError) as exc:
            log.warning("lesson left out: %s: %s", item.get("id", "?") if isinstance(item, dict) else "?", exc)
            continue
        out.append(lesson)
    return out


# --- choosing the seeds ---------------------------------------------------------------------------
@dataclass
class Trial:
    seed: int
    outcome: str
    week: int | None
    reason: str
    trajectory: np.ndarray  # weeks x metrics


def run_trial(settings: DemoSettings, metrics: list[str] | None = None) -> Trial:
    """One run to the horizon exactly as the page runs it."""
    from .session import Run

    run = Run.build(settings)
    while run.step():
        pass
    view = run.view()
    names = metrics if metrics is not None else _trajectory_metrics(view.series)
    traj = np.column_stack([view.series[n] for n in names]) if names else np.zeros((len(view.weeks), 0))
    return Trial(settings.seed, view.outcome, view.outcome_step, view.reason, traj)


def _trajectory_metrics(series: dict) -> list[str]:
    pairs = [m for m in DEFAULT_PANELS if m in set(paired_metrics(series))]
    return [f"{m}_{o}" for m in pairs for o in "ab"]


def choose(trials: list[Trial], shows: str | None = None) -> tuple[Trial | None, dict]:
    """The most typical trial of the outcome to show, and the statistics of all trials."""
    counts = Counter(t.outcome for t in trials)
    n = len(trials)
    clear = [(c, o) for o, c in counts.items() if o != UNDECIDED]
    target = shows or (max(clear)[1] if clear else UNDECIDED)
    shares = {o: counts.get(o, 0) / n for o in dict.fromkeys([*OUTCOMES, *counts])}
    stats = {"target": target, "shares": shares, "share": shares.get(target, 0.0), "runs": n}
    chosen = [t for t in trials if t.outcome == target and t.week is not None]
    if target == UNDECIDED or not chosen:
        return None, stats
    weeks = np.array([t.week for t in chosen], dtype=float)
    q1, med, q3 = np.percentile(weeks, [25, 50, 75])
    stats.update(median_week=float(med), quartile_weeks=(float(q1), float(q3)))
    week_dist = np.abs(weeks - med) / max(q3 - q1, 1.0)
    trajs = np.stack([t.trajectory for t in chosen])  # runs x weeks x metrics
    if trajs.shape[2]:
        centre = np.median(trajs, axis=0)
        traj_dist = np.sqrt(np.nanmean((trajs - centre) ** 2, axis=(1, 2)))
        traj_dist = traj_dist / max(float(np.median(traj_dist)), 1e-12)
    else:
        traj_dist = np.zeros(len(chosen))
    score = week_dist + traj_dist
    best = int(np.argmin(score))  # ties: the lowest seed (trials are in seed order)
    return chosen[best], stats


def fill(text: str, scenario) -> str:
    """Fill ``{name}`` with the value of the scenario key ending in ``.name``."""
    values = {}
    for key in scenario:
        values.setdefault(key.split(".", 1)[1], scenario[key])
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    missing = names - set(values)
    if missing:
        raise SettingError(f"lesson text names unknown scenario values: {', '.join(sorted(missing))}")
    return " ".join(text.format(**values).split())


def build_lessons(spec: dict, runs: int, min_share: float, log=print) -> list[Lesson]:
    out = []
    for item in spec.get("lesson", []):
        base = DemoSettings.of(item["scenario"], 1)
        for key, value in item.get("levers", {}).items():
            base = base.with_lever(key, value)
        t0 = time.perf_counter()
        metrics = _trajectory_metrics(_series_names(base))
        trials = [run_trial(base.with_seed(s), metrics) for s in range(1, runs + 1)]
        best, stats = choose(trials, item.get("shows"))
        took = time.perf_counter() - t0
        shares = ", ".join(f"{k} {v:.0%}" for k, v in stats["shares"].items() if v)
        if best is None:
            log(f"- {item['id']}: left out: no clear outcome to show ({shares}; {took:.0f} s)")
            continue
        if stats["share"] < min_share:
            log(
                f"- {item['id']}: left out: {stats['target']} in only {stats['share']:.0%} of runs "
                f"(< {min_share:.0%}; {shares}; {took:.0f} s)"
            )
            continue
        lesson = Lesson(
            id=item["id"],
            title=item["title"],
            scenario=item["scenario"],
            seed=best.seed,
            watch=fill(item["watch"], base.build()),
            outcome=best.outcome,
            outcome_week=int(best.week),
            reason=best.reason,
            share=round(stats["share"], 4),
            runs=runs,
            shares={k: round(v, 4) for k, v in stats["shares"].items()},
            median_week=stats.get("median_week"),
            quartile_weeks=tuple(stats.get("quartile_weeks", ())),
            levers=dict(item.get("levers", {})),
        )
        log(
            f"- {item['id']}: seed {best.seed}, {lesson.outcome} at week {lesson.outcome_week}; {shares} ({took:.0f} s)"
        )
        out.append(lesson)
    return out


def _series_names(settings: DemoSettings) -> dict:
    from .session import Run

    return Run.build(settings).view().series


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sim.ui.lessons", description="choose the teaching page's lessons' seeds by running the model"
    )
    ap.add_argument("--spec", type=Path, default=SPEC)
    ap.add_argument("--out", type=Path, default=LESSONS)
    ap.add_argument("--runs", type=int, help="seeds per lesson (default: the spec's `runs`)")
    ap.add_argument("--min-share", type=float, help="smallest share of runs a lesson's outcome needs")
    args = ap.parse_args(argv)
    try:
        spec = tomllib.loads(args.spec.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        print(f"{args.spec}: cannot read the lessons' spec: {exc}", file=sys.stderr)
        return 2
    runs = args.runs or int(spec.get("runs", 200))
    min_share = args.min_share if args.min_share is not None else float(spec.get("min_share", 0.3))
    if runs < 10 or not 0 <= min_share <= 1:
        print("--runs must be at least 10 and --min-share between 0 and 1", file=sys.stderr)
        return 2
    print(f"choosing seeds from {runs} runs per lesson (clear outcome in at least {min_share:.0%} of runs)")
    try:
        lessons = build_lessons(spec, runs, min_share)
    except (SettingError, KeyError) as exc:
        print(f"{args.spec}: {exc}", file=sys.stderr)
        return 2
    for extra in lessons[MAX_LESSONS:]:
        print(f"- {extra.id}: left out: the page offers at most {MAX_LESSONS} lessons (the spec's first ones)")
    lessons = lessons[:MAX_LESSONS]
    doc = {
        "written_by": "python -m sim.ui.lessons (do not edit by hand; edit lessons_spec.toml and re-run)",
        "runs": runs,
        "min_share": min_share,
        "written": time.strftime("%Y-%m-%d"),
        "lessons": [asdict(lesson) for lesson in lessons],
    }
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {len(lessons)} lessons to {args.out}")
    if len(lessons) < MIN_LESSONS:
        print(f"only {len(lessons)} lessons qualify; the page needs at least {MIN_LESSONS}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
