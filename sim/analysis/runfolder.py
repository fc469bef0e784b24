"""The run folder: what ``buddysim run`` writes, and what ``buddysim compare`` (or a notebook) reads back.

This module is the one owner of the format; nothing else writes or parses these files::

    summary.json       scenario, seed, replications; outcome shares with Wilson 95% intervals; outcome timing;
                       one entry per run (RunResult.summary(): seed, outcome, week, reason, end-of-run metrics)
    series.parquet     one row per run and week: replication, seed, step, then every metric
    events.csv         the event log: replication, seed, step, kind, org, detail (the event's other fields, JSON)
    trajectories.png   the runs' trajectories (unless figures are switched off)
    outcomes.png       outcome shares, with two or more replications
    survival.png       Kaplan-Meier curves of the time to each outcome event, with two or more replications

It lives in ``sim.analysis`` because the summary carries interval statistics (``stats``) and the folder its
figures (``plots``); ``sim.run`` stays free of files and formats, as the model is. matplotlib is imported
only when figures are drawn.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..scenario import ScenarioError
from .stats import wilson_interval

if TYPE_CHECKING:
    import pandas as pd

    from ..run import RunResult
    from ..scenario import Scenario

SUMMARY = "summary.json"
SERIES = "series.parquet"
EVENTS = "events.csv"
TRAJECTORIES = "trajectories.png"
OUTCOME_SHARES = "outcomes.png"
SURVIVAL = "survival.png"
EVENT_COLUMNS = ("replication", "seed", "step", "kind", "org", "detail")


def summarise(results: Sequence[RunResult], scenario: Scenario, seed: int, interrupted: bool = False) -> dict:
    """The content of summary.json for ``results`` (replications of ``scenario`` from master ``seed``)."""
    from .. import __version__
    from ..model.outcomes import OUTCOMES

    n = len(results)
    shares = {}
    for kind in OUTCOMES:
        k = sum(r.outcome == kind for r in results)
        lo, hi = wilson_interval(k, n)
        shares[kind] = {"runs": k, "share": k / n if n else math.nan, "ci95": [lo, hi]}
    timing = {}
    for kind in OUTCOMES:
        steps = sorted(r.outcome_step for r in results if r.outcome == kind and r.outcome_step is not None)
        if steps:
            q = statistics.quantiles(steps, n=4, method="inclusive") if len(steps) > 1 else [steps[0]] * 3
            timing[kind] = {
                "median_week": statistics.median(steps),
                "iqr_weeks": [q[0], q[2]],
                "first_week": steps[0],
                "last_week": steps[-1],
            }
    survival = {}
    if n > 1:
        from . import survival as sv

        survival = {kind: c.summary() for kind, c in sv.curves(sv.event_table(results)).items()}
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
        "survival": survival,
        "interval_method": "Wilson score interval, 95%",
        "survival_method": "Kaplan-Meier, censored at the horizon; 95% Greenwood log(-log) bands" if survival else None,
        "runs": [r.summary() for r in results],
    }


def write(out: Path, results: Sequence[RunResult], summary: dict, *, figures: bool = True) -> list[Path]:
    """Write a run folder; returns the files written. An :class:`OSError` if ``out`` cannot be written."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / SUMMARY
    path.write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    written.append(path)
    frames = []
    for i, r in enumerate(results):
        f = r.series.copy()
        f.insert(0, "seed", r.seed)
        f.insert(0, "replication", i)
        frames.append(f)
    series = pd.concat(frames, ignore_index=True)
    path = out / SERIES
    series.to_parquet(path, index=False)
    written.append(path)
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
    path = out / EVENTS
    pd.DataFrame(rows, columns=list(EVENT_COLUMNS)).to_csv(path, index=False)
    written.append(path)
    if figures:
        from . import plots

        sc = results[0].scenario
        thresholds = {
            "bed_in_trust": sc["outcome.bed_in_trust"],
            "bed_in_adoption": sc["outcome.bed_in_adoption"],
            "fail_floor": sc["outcome.fail_floor"],
        }
        from ..timeline import firings, marks

        decided = [(r.outcome, r.outcome_step) for r in results if r.outcome_step is not None]
        timeline = marks(firings((i, e) for i, r in enumerate(results) for e in r.events))
        written.append(
            plots.trajectories(
                series,
                out / TRAJECTORIES,
                title=f"Scenario: {sc.name}",
                thresholds=thresholds,
                outcome_steps=decided,
                timeline=timeline,
            )
        )
        if len(results) > 1:
            from . import survival as sv

            written.append(plots.outcomes(summary, out / OUTCOME_SHARES, title=f"Scenario: {sc.name}"))
            written.append(
                plots.survival_figure(
                    {sc.name: sv.curves(sv.event_table(results))},
                    out / SURVIVAL,
                    title=f"Scenario: {sc.name} — how soon partnerships reach each outcome ({len(results)} runs)",
                )
            )
    return written


def is_run_folder(folder: str | Path) -> bool:
    return (Path(folder) / SUMMARY).is_file()


def read_summary(folder: str | Path) -> dict:
    """summary.json of a run folder; a :class:`ScenarioError` naming the folder if it is not one."""
    folder = Path(folder)
    if not is_run_folder(folder):
        raise ScenarioError(str(folder), None, f"not a result folder of `buddysim run` (no {SUMMARY})")
    try:
        summary: dict = json.loads((folder / SUMMARY).read_text())
    except (OSError, ValueError) as exc:
        raise ScenarioError(str(folder / SUMMARY), None, f"cannot read: {exc}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("runs"), list):
        raise ScenarioError(str(folder / SUMMARY), "runs", "missing: not a summary written by `buddysim run`")
    return summary


def read_series(folder: str | Path) -> pd.DataFrame | None:
    """series.parquet of a run folder (one row per run and week), or None if the folder has none."""
    path = Path(folder) / SERIES
    if not path.exists():
        return None
    import pandas as pd

    return pd.read_parquet(path)


def read_events(folder: str | Path) -> pd.DataFrame | None:
    """events.csv of a run folder, with ``detail`` decoded to dicts, or None if the folder has none."""
    path = Path(folder) / EVENTS
    if not path.exists():
        return None
    import pandas as pd

    events = pd.read_csv(path)
    events["detail"] = [json.loads(d) if isinstance(d, str) else {} for d in events["detail"]]
    return events


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(type(x).__name__)
