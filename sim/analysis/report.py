"""A self-contained HTML report of a finished sweep (figures embedded as PNG data)."""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import pandas as pd

from ..model.outcomes import OUTCOMES
from ..sweep.design import load_saved_experiment
from . import survival
from .stats import wilson_interval

SECTIONS = (
    "overview",
    "shares-by-parameter",
    "phase-diagram",
    "trajectories",
    "outcome-times",
    "survival",
    "sensitivity",
    "discovery",
    "manifest",
    "methods",
)

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 3px solid #1b9e77; padding-bottom: .3em; } h2 { margin-top: 2em; color: #045a8d; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; } th { background: #f0f4f8; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
.note { color: #666; font-style: italic; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .85em; }
nav a { margin-right: 1em; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    def cell(v):
        if isinstance(v, float):
            return "" if pd.isna(v) else floatfmt.format(v)
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def build_report(folder: str | Path, out: str | Path | None = None) -> Path:
    from . import plots  # matplotlib only when a report is drawn

    folder = Path(folder)
    out = Path(out) if out else folder / "report.html"
    exp = load_saved_experiment(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    runs = pd.read_parquet(folder / "runs.parquet")
    series = pd.read_parquet(folder / "series.parquet") if (folder / "series.parquet").exists() else None
    ok = runs[runs["status"] == "ok"]
    keys = [f.key for f in exp.factors]
    parts: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)

        # Overview
        n = len(ok)
        rows = []
        for kind in OUTCOMES:
            k = int((ok["outcome"] == kind).sum())
            lo, hi = wilson_interval(k, n)
            rows.append(
                {
                    "outcome": kind.replace("_", " "),
                    "runs": k,
                    "share": k / n if n else float("nan"),
                    "95% low": lo,
                    "95% high": hi,
                }
            )
        failed_runs = len(runs) - n
        parts["overview"] = (
            f"<p>{html.escape(exp.description or '')}</p>"
            f"<p><b>{len(runs)}</b> runs: a {exp.design} design over {len(keys)} parameter(s) "
            f"({html.escape(', '.join(keys) or 'none')}), {exp.replications} replication(s) per point, master seed "
            f"{exp.seed}. {failed_runs} run(s) failed (listed in runs.parquet with their errors).</p>"
            + _table(pd.DataFrame(rows))
        )

        # Outcome shares by parameter
        if keys:
            parts["shares-by-parameter"] = "".join(
                _img(plots.shares_by_parameter(ok, k, tmp / f"share_{i}.png"), f"outcome by {k}")
                for i, k in enumerate(keys[:8])
            )
        else:
            parts["shares-by-parameter"] = _note("Nothing was varied in this sweep.")

        # Phase diagram
        if len(keys) >= 2 and exp.design in ("grid", "table"):
            px, py = keys[0], keys[1]
            parts["phase-diagram"] = (
                _note(f"{px} across, {py} up; other parameters pooled." if len(keys) > 2 else "")
                + _img(plots.phase_diagram(ok, px, py, tmp / "phase_bed.png", "bedded_in"), "phase diagram, bedded in")
                + _img(plots.phase_diagram(ok, px, py, tmp / "phase_fail.png", "failed"), "phase diagram, failed")
            )
        else:
            parts["phase-diagram"] = _note(
                "A phase diagram needs two or more parameters varied on a grid or table; "
                f"this sweep varies {len(keys)} with a {exp.design} design."
            )

        # Trajectories
        if series is not None and len(series.columns) > 2:
            parts["trajectories"] = _img(
                plots.envelopes_by_outcome(ok, series, tmp / "envelopes.png"), "trajectories by outcome"
            )
        else:
            parts["trajectories"] = _note("No per-week series were recorded ([record] series = [...]).")

        # Outcome times
        parts["outcome-times"] = _img(
            plots.outcome_times(ok, tmp / "times.png", exp.base["run.steps"]), "time to outcome"
        )
        decided = ok[ok["outcome"] != "undecided"]
        if len(decided):
            stats = decided.groupby("outcome")["outcome_step"].describe(percentiles=[0.25, 0.5, 0.75])
            stats = stats.reset_index()[["outcome", "count", "25%", "50%", "75%", "min", "max"]]
            parts["outcome-times"] += _table(
                stats.rename(columns={"50%": "median week", "25%": "Q1", "75%": "Q3"}), "{:.0f}"
            )

        # Robust decisions
        if exp.design == "robust":
            from .robust import analyse_runs

            parts["robust"] = analyse_runs(exp, runs).to_html(tmp)

        # Survival curves
        parts["survival"] = _survival_section(ok, keys, exp, tmp)

        # Sensitivity
        if exp.design in ("sobol", "morris"):
            from .sensitivity import sensitivity

            try:
                method, table = sensitivity(folder)
                parts["sensitivity"] = _img(
                    plots.sensitivity_bars(table, tmp / "sens.png", method), "sensitivity"
                ) + _table(table)
            except Exception as exc:
                parts["sensitivity"] = _note(f"Sensitivity indices could not be computed: {exc}")
        else:
            parts["sensitivity"] = _note(
                f"Sobol or Morris indices need a sobol or morris design; this sweep is "
                f"{exp.design!r}. (PRIM below works on any design.)"
            )

        # Discovery
        if keys:
            from .discovery import discover

            html_parts = []
            for kind in ("failed", "bedded_in"):
                d = discover(folder, kind)
                html_parts.append(
                    f"<h3>Where partnerships {kind.replace('_', ' ').replace('bedded in', 'bed in')}"
                    f"</h3><pre>{html.escape(d.to_text())}</pre>"
                )
                if d.boxes:
                    b = d.boxes[0]
                    html_parts.append(
                        _img(
                            plots.prim_trajectory(
                                b.trajectory,
                                b.chosen,
                                tmp / f"prim_{kind}.png",
                                f"PRIM peeling trajectory: {kind.replace('_', ' ')}",
                            ),
                            f"PRIM trajectory {kind}",
                        )
                    )
                    html_parts.append(_table(d.table()))
            parts["discovery"] = "".join(html_parts)
        else:
            parts["discovery"] = _note("Nothing was varied: there is no parameter space to search.")

        parts["manifest"] = f"<pre>{html.escape(json.dumps(manifest, indent=2, default=str))}</pre>"
        parts["methods"] = (
            "<ul><li>Shares of runs: Wilson score 95% intervals.</li>"
            "<li>Phase diagrams: share of runs per grid cell; the black line is the 50% contour.</li>"
            "<li>Trajectories: median and 10th-90th percentile of each recorded series among runs with each outcome."
            "</li><li>Sensitivity: outcome averaged over the replications of each design point; Sobol first-order and "
            "total indices (Saltelli 2010) or Morris mu* (Campolongo et al. 2007) with SALib, 95% bootstrap intervals."
            "</li><li>Scenario discovery: PRIM (Friedman &amp; Fisher 1999) as implemented in the EMA Workbench; the "
            "box with the highest coverage at or above the density threshold.</li></ul>"
        )

        titles = {
            "overview": "Overview",
            "shares-by-parameter": "Outcome shares by parameter",
            "phase-diagram": "Phase diagram",
            "trajectories": "Trajectory envelopes by outcome",
            "outcome-times": "Time to outcome",
            "survival": "How soon partnerships reach each outcome (survival curves)",
            "sensitivity": "Sensitivity analysis",
            "discovery": "Scenario discovery (PRIM)",
            "manifest": "What was run (manifest)",
            "methods": "Methods",
        }
        titles["robust"] = "Robust decisions: which policy holds up across the futures"
        sections = [s for s in (SECTIONS[0], "robust", *SECTIONS[1:]) if s in parts]
        nav = "".join(f'<a href="#{s}">{titles[s]}</a>' for s in sections)
        body = "".join(f'<section id="{s}"><h2>{titles[s]}</h2>{parts[s]}</section>' for s in sections)
        doc = (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>buddysim report: "
            f"{html.escape(exp.name)}</title><style>{CSS}</style></head><body>"
            f"<h1>buddysim report: {html.escape(exp.name)}</h1><nav>{nav}</nav>{body}</body></html>"
        )
    out.write_text(doc, encoding="utf-8")
    return out


def _survival_groups(ok: pd.DataFrame, keys: list[str], max_levels: int = 6) -> tuple[str | None, dict]:
    """Runs split by the first varied parameter (its levels, or thirds of its range), or pooled."""
    for key in keys:
        values = ok[key].dropna()
        levels = sorted(values.unique(), key=lambda v: (isinstance(v, str), v))
        if 1 < len(levels) <= max_levels:
            return key, {f"{key} = {v}": ok[ok[key] == v] for v in levels}
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and len(levels) > max_levels:
            bins = pd.qcut(values.astype(float), q=3, duplicates="drop")
            groups = {}
            for name, (interval, sub) in zip(("low", "middle", "high"), ok.groupby(bins, observed=True)):
                groups[f"{key}: {name} third ({interval.left:.3g}-{interval.right:.3g})"] = sub
            return key, groups
    return None, {"all runs": ok}


def _survival_section(ok: pd.DataFrame, keys: list[str], exp, tmp: Path) -> str:
    from . import plots  # matplotlib only when a report is drawn

    if ok.empty:
        return _note("No run finished.")
    horizon = ok["run.steps"] if "run.steps" in ok.columns else exp.base["run.steps"]
    events = survival.event_table_from_runs(ok, horizon)
    if events.empty:
        return _note("These runs recorded no outcome events.")
    pooled = {"all runs": survival.curves(events, label="all runs")}
    out = _img(
        plots.survival_figure(pooled, tmp / "survival_all.png", title=f"All {len(ok)} runs of the sweep"),
        "time to each outcome, all runs",
    )
    if exp.design == "robust" and len(exp.policies) <= 8:
        policy, _ = exp.policy_and_future(ok["point"].to_numpy())
        key = "policy"
        groups = {p.name: ok[policy == i] for i, p in enumerate(exp.policies)}
    else:
        key, groups = _survival_groups(ok, keys)
    table_groups = pooled
    if key is not None:
        tables = {}
        for name, sub in groups.items():
            h = sub["run.steps"] if "run.steps" in sub.columns else exp.base["run.steps"]
            tables[name] = survival.event_table_from_runs(sub, h)
        by_group = {name: survival.curves(t, label=name) for name, t in tables.items()}
        tests = {kind: survival.logrank(tables, kind) for kind in survival.event_kinds() if kind in set(events["kind"])}
        out += _note(
            "One curve per policy, each across all the futures."
            if key == "policy"
            else f"Split by {key}, the first varied parameter"
            + (" with few levels" if len(groups) > 1 else "")
            + "; other parameters pooled within each curve."
        )
        out += _img(
            plots.survival_figure(by_group, tmp / "survival_groups.png", title=f"By {key}", tests=tests),
            f"time to each outcome by {key}",
        )
        table_groups = {**pooled, **by_group}
    return (
        out
        + _table(survival.display_table(table_groups))
        + _note(
            "Shares are of runs that have had the event by the end of each year, with 95% intervals; n.r. = the "
            "interval's bound is not reached by the end of the runs."
        )
    )
