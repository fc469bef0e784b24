"""Time to an outcome event as survival curves: Kaplan-Meier with confidence bands, and log-rank tests.

Every run gives, for each kind of outcome event (bedding in, failure, and any other the model reports, see
:func:`sim.run.outcome_event_kinds`), an *event time*: the week the event first happened, or, if it did not
happen by the run's horizon, a time *censored* at the horizon ("not by week 156"). A run whose outcome was
decided otherwise (a partnership that failed, for the curve of bedding in) is censored at the horizon too,
not at its failure: the model fixes a run's outcome at its first decision, so such a run is known not to
have the event before the horizon.

The Kaplan-Meier estimator (Kaplan & Meier 1958) gives S(t), the share of runs still without the event at
week t; the figures and tables show its complement, 1 - S(t), the share of partnerships that have had the
event by week t (with every run followed to the same horizon this is exactly the share of runs with the
event by then). Confidence bands are pointwise 95% intervals from Greenwood's variance on the log(-log)
scale (lifelines' default; Kalbfleisch & Prentice 2002), or, where no run has had the event yet (or all at
risk have), the Wilson interval for 0 of the runs at risk. The median time is the first week at which
S(t) <= 0.5 (at least half the runs have had the event), with the interval from the weeks at which the band's
limits reach 0.5 (Brookmeyer & Crowley 1982); "not reached" when
fewer than half the runs had the event. The log-rank test (Mantel 1966; Peto & Peto 1972) compares curves
between scenarios; it treats the scenarios' runs as independent samples, so with common random numbers
(the same seeds in each scenario) it is conservative.

lifelines (Davidson-Pilon 2019) does the estimation; it is imported only when a curve is computed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..run import RunResult, event_weeks, outcome_event_kinds
from .stats import wilson_interval

WEEKS_PER_YEAR = 52
ALPHA = 0.05
#: How an event kind reads in a sentence ("time to bedding in"); other kinds read as their name.
PHRASES = {"bedded_in": "bedding in", "failed": "failure"}
METHODS = (
    "time to each outcome event: Kaplan-Meier estimate, censored at the horizon (runs without the event by "
    "then, whatever their outcome), shown as the share of runs with the event by each week; 95% pointwise "
    "bands from Greenwood's variance on the log(-log) scale (Wilson's interval where no run has had the event "
    "yet); median time (first week with at least half the runs having had the event) with the Brookmeyer-Crowley "
    "interval; curves compared with the log-rank test (runs treated as independent samples: conservative "
    "when scenarios share seeds)"
)


def phrase(kind: str) -> str:
    return PHRASES.get(kind, kind.replace("_", " "))


def event_kinds() -> tuple[str, ...]:
    """The outcome events with a time, in the model's order."""
    return outcome_event_kinds()


# --- event tables ---------------------------------------------------------------------------------------
EVENT_COLUMNS = ["run", "kind", "week", "observed", "horizon"]


def event_table(results: Sequence[RunResult], kinds: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per run and event kind: ``week`` of the first event (or the horizon), ``observed`` (bool)."""
    kinds = event_kinds() if kinds is None else tuple(kinds)
    rows = []
    for i, r in enumerate(results):
        horizon = int(r.series["step"].iloc[-1])
        for kind, week in event_weeks(r.events, kinds).items():
            rows.append(
                {
                    "run": i,
                    "kind": kind,
                    "week": horizon if week is None else week,
                    "observed": week is not None,
                    "horizon": horizon,
                }
            )
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def event_table_from_runs(
    runs: pd.DataFrame, horizon: int | pd.Series | np.ndarray, kinds: Iterable[str] | None = None
) -> pd.DataFrame:
    """The same table from a table of runs (a sweep's runs.parquet, or `buddysim run`'s summary).

    Uses the columns ``week_<kind>`` where present (written by sweeps since the survival curves came in);
    otherwise, for kinds that are outcomes, ``outcome`` and ``outcome_step``. ``horizon`` is the runs' number
    of weeks (one number, or one per run)."""
    kinds = event_kinds() if kinds is None else tuple(kinds)
    n = len(runs)
    h = np.broadcast_to(np.asarray(horizon, dtype=np.int64), (n,))
    frames = []
    for kind in kinds:
        col = f"week_{kind}"
        if col in runs.columns:
            week = pd.to_numeric(runs[col], errors="coerce").to_numpy(dtype=float)
        elif "outcome" in runs.columns and "outcome_step" in runs.columns:
            hit = (runs["outcome"] == kind).to_numpy()
            week = np.where(hit, pd.to_numeric(runs["outcome_step"], errors="coerce").to_numpy(dtype=float), np.nan)
        else:
            continue
        observed = ~np.isnan(week)
        frames.append(
            pd.DataFrame(
                {
                    "run": np.arange(n),
                    "kind": kind,
                    "week": np.where(observed, week, h).astype(np.int64),
                    "observed": observed,
                    "horizon": h,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


# --- Kaplan-Meier ------------------------------------------------------------------------------------------
@dataclass
class Curve:
    """A Kaplan-Meier curve of one event kind in one group of runs.

    ``table`` has one row per distinct time (from week 0): ``week``, ``survival`` (share without the event),
    ``lower`` and ``upper`` (its 95% band), ``at_risk`` and ``events``."""

    kind: str
    label: str
    n: int
    events: int
    horizon: int
    table: pd.DataFrame
    median: float  # week; inf when not reached
    median_low: float  # nan when the band does not cross 0.5
    median_high: float

    def survival_at(self, week: float) -> tuple[float, float, float]:
        """S(week) with its 95% band (a step function: the value after the last change at or before ``week``)."""
        t = self.table
        i = int(np.searchsorted(t["week"].to_numpy(), week, side="right")) - 1
        if i < 0:
            return (1.0, 1.0, 1.0)
        row = t.iloc[i]
        return float(row["survival"]), float(row["lower"]), float(row["upper"])

    def share_by(self, week: float) -> tuple[float, float, float]:
        """Share of runs with the event by ``week`` (1 - S) and its 95% interval."""
        s, lo, hi = self.survival_at(week)
        return 1.0 - s, 1.0 - hi, 1.0 - lo

    def summary(self) -> dict:
        """JSON-ready: runs, events, median week with its interval, and share with the event by each year."""
        by_year = {}
        for year in range(1, self.horizon // WEEKS_PER_YEAR + 1):
            share, lo, hi = self.share_by(year * WEEKS_PER_YEAR)
            by_year[str(year)] = {"week": year * WEEKS_PER_YEAR, "share": share, "ci95": [lo, hi]}
        return {
            "runs": self.n,
            "events": self.events,
            "censored": self.n - self.events,
            "horizon_weeks": self.horizon,
            "median_week": _finite(self.median),
            "median_ci95": [_finite(self.median_low), _finite(self.median_high)],
            "by_year": by_year,
        }

    def describe_median(self) -> str:
        if not math.isfinite(self.median):
            return f"median not reached by week {self.horizon} (fewer than half the runs)"
        lo, hi = _show_week(self.median_low), _show_week(self.median_high)
        return f"median week {self.median:.0f} [95% CI {lo}-{hi}] (~{self.median / WEEKS_PER_YEAR * 12:.0f} months)"


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _show_week(x: float) -> str:
    return f"{x:.0f}" if math.isfinite(x) else "not reached"


def kaplan_meier(
    weeks, observed, *, kind: str = "event", label: str = "", horizon: int | None = None, alpha: float = ALPHA
) -> Curve:
    """Kaplan-Meier estimate of the time to ``kind`` from event weeks and whether each was observed."""
    from lifelines import KaplanMeierFitter

    weeks = np.asarray(weeks, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    if weeks.size == 0:
        raise ValueError("a Kaplan-Meier curve needs at least one run")
    km = KaplanMeierFitter(alpha=alpha)
    km.fit(weeks, event_observed=observed, label=label or kind)
    sf = km.survival_function_.iloc[:, 0]
    ci = km.confidence_interval_survival_function_
    events = km.event_table
    table = pd.DataFrame(
        {
            "week": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(dtype=float),
            "lower": ci.iloc[:, 0].to_numpy(dtype=float),
            "upper": ci.iloc[:, 1].to_numpy(dtype=float),
            "at_risk": events["at_risk"].reindex(sf.index).to_numpy(dtype=float),
            "events": events["observed"].reindex(sf.index).to_numpy(dtype=float),
        }
    )
    # Greenwood's variance is 0 where no run has had the event yet (S = 1) or every run has (S = 0), which would
    # give a band of zero width ("0% [0%-0%]" from 40 runs). There the band is the Wilson interval for a share of
    # 0 of the runs at risk (Wilson 1927), as for any share of 0 of n.
    at_risk = np.maximum(table["at_risk"].to_numpy(), 1).astype(int)
    none_yet = table["survival"].to_numpy() >= 1.0
    table.loc[none_yet, "lower"] = [1.0 - wilson_interval(0, int(n))[1] for n in at_risk[none_yet]]
    table.loc[none_yet, "upper"] = 1.0
    all_had = table["survival"].to_numpy() <= 0.0
    table.loc[all_had, "lower"] = 0.0
    table.loc[all_had, "upper"] = wilson_interval(0, int(at_risk[0]))[1]
    med, lo, hi = (_first_at_or_below(table["week"], table[col], 0.5) for col in ("survival", "lower", "upper"))
    return Curve(
        kind=kind,
        label=label or kind,
        n=int(weeks.size),
        events=int(observed.sum()),
        horizon=int(horizon if horizon is not None else weeks.max()),
        table=table,
        median=med,
        median_low=lo,
        median_high=hi,
    )


def _first_at_or_below(weeks: pd.Series, values: pd.Series, level: float) -> float:
    """The first week at which ``values`` (a step function) is at or below ``level``; inf if never."""
    hit = np.flatnonzero(values.to_numpy() <= level + 1e-12)
    return float(weeks.iloc[hit[0]]) if hit.size else math.inf


def curves(events: pd.DataFrame, label: str = "", kinds: Iterable[str] | None = None) -> dict[str, Curve]:
    """A curve per event kind of one group of runs (an :func:`event_table`)."""
    kinds = list(dict.fromkeys(events["kind"])) if kinds is None else list(kinds)
    out = {}
    for kind in kinds:
        sub = events[events["kind"] == kind]
        if len(sub):
            out[kind] = kaplan_meier(
                sub["week"], sub["observed"], kind=kind, label=label, horizon=int(sub["horizon"].max())
            )
    return out


# --- log-rank ------------------------------------------------------------------------------------------
@dataclass
class LogRank:
    """A log-rank test of one event kind across groups: all at once, and each against the first."""

    kind: str
    groups: list[str]
    statistic: float  # chi-square, groups - 1 degrees of freedom
    df: int
    p: float
    pairwise: pd.DataFrame  # group, statistic, p (against the first group)

    def verdict(self) -> str:
        if math.isnan(self.p):
            return "no test (no event in any group)"
        return (
            f"the curves differ (log-rank {format_p(self.p)})"
            if self.p < ALPHA
            else f"no detectable difference (log-rank {format_p(self.p)})"
        )


def format_p(p: float) -> str:
    """A p-value as read aloud: 'p < 0.001' or 'p = 0.034'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def logrank(groups: Mapping[str, pd.DataFrame], kind: str) -> LogRank:
    """Log-rank test of the time to ``kind`` between groups (each an :func:`event_table`)."""
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    names = list(groups)
    subs = {g: groups[g][groups[g]["kind"] == kind] for g in names}
    if sum(int(s["observed"].sum()) for s in subs.values()) == 0:
        empty = pd.DataFrame({"group": names[1:], "statistic": math.nan, "p": math.nan})
        return LogRank(kind, names, math.nan, len(names) - 1, math.nan, empty)
    weeks = np.concatenate([subs[g]["week"].to_numpy(dtype=float) for g in names])
    observed = np.concatenate([subs[g]["observed"].to_numpy(dtype=bool) for g in names])
    labels = np.concatenate([[i] * len(subs[g]) for i, g in enumerate(names)])
    overall = multivariate_logrank_test(weeks, labels, observed)
    rows = []
    first = subs[names[0]]
    for g in names[1:]:
        s = subs[g]
        if int(first["observed"].sum()) + int(s["observed"].sum()) == 0:
            rows.append({"group": g, "statistic": math.nan, "p": math.nan})
            continue
        r = logrank_test(first["week"], s["week"], first["observed"], s["observed"])
        rows.append({"group": g, "statistic": float(r.test_statistic), "p": float(r.p_value)})
    return LogRank(
        kind,
        names,
        float(overall.test_statistic),
        int(overall.degrees_of_freedom),
        float(overall.p_value),
        pd.DataFrame(rows, columns=["group", "statistic", "p"]),
    )


# --- summaries for the faces -------------------------------------------------------------------------------
def summary_lines(curves_by_kind: Mapping[str, Curve]) -> list[str]:
    """Plain-language lines for the terminal: median time and share by each year, per event kind."""
    lines = []
    for kind, c in curves_by_kind.items():
        years = ", ".join(
            f"{c.share_by(y * WEEKS_PER_YEAR)[0]:.0%} by year {y} "
            f"[{c.share_by(y * WEEKS_PER_YEAR)[1]:.0%}-{c.share_by(y * WEEKS_PER_YEAR)[2]:.0%}]"
            for y in range(1, c.horizon // WEEKS_PER_YEAR + 1)
        )
        lines.append(f"  time to {phrase(kind)}: {c.describe_median()}")
        if years:
            lines.append(f"    {years}")
    return lines


def survival_table(curves_by_group: Mapping[str, Mapping[str, Curve]]) -> pd.DataFrame:
    """One row per group and event kind: runs, events, median week and interval, share by each year."""
    rows = []
    for group, by_kind in curves_by_group.items():
        for kind, c in by_kind.items():
            row = {
                "group": group,
                "event": kind,
                "runs": c.n,
                "events": c.events,
                "median_week": c.median,
                "median_low": c.median_low,
                "median_high": c.median_high,
            }
            for y in range(1, c.horizon // WEEKS_PER_YEAR + 1):
                share, lo, hi = c.share_by(y * WEEKS_PER_YEAR)
                row[f"by_year_{y}"], row[f"by_year_{y}_lo"], row[f"by_year_{y}_hi"] = share, lo, hi
            rows.append(row)
    return pd.DataFrame(rows)


def display_table(curves_by_group: Mapping[str, Mapping[str, Curve]]) -> pd.DataFrame:
    """The same as :func:`survival_table`, as text a reader takes in at a glance (for reports)."""
    horizon = max((c.horizon for by_kind in curves_by_group.values() for c in by_kind.values()), default=0)
    years = range(1, horizon // WEEKS_PER_YEAR + 1)
    rows = []
    for group, by_kind in curves_by_group.items():
        for kind, c in by_kind.items():
            row = {
                "runs": group,
                "time to": phrase(kind),
                "events / runs": f"{c.events} / {c.n}",
                "median week (95% CI)": median_text(c),
            }
            for y in years:
                if y * WEEKS_PER_YEAR > c.horizon:
                    row[f"by year {y}"] = "-"
                else:
                    share, lo, hi = c.share_by(y * WEEKS_PER_YEAR)
                    row[f"by year {y}"] = f"{share:.0%} [{lo:.0%}-{hi:.0%}]"
            rows.append(row)
    return pd.DataFrame(rows)


def median_text(c: Curve) -> str:
    """'67 [49-119]', with 'n.r.' for a bound not reached, or 'not reached'."""
    if not math.isfinite(c.median):
        return "not reached"
    lo = f"{c.median_low:.0f}" if math.isfinite(c.median_low) else "n.r."
    hi = f"{c.median_high:.0f}" if math.isfinite(c.median_high) else "n.r."
    return f"{c.median:.0f} [{lo}-{hi}]"
