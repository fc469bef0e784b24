"""The NHS record's patterns as data, and how a batch of simulated runs is compared with each.

Pattern-oriented modelling (Grimm et al. 2005, Science 310:987; Railsback & Grimm 2019, ch. 18) judges a
model by how many of the record's patterns it reproduces *at once*. Here every pattern is one entry of
:data:`REGISTRY`: the record's value(s) with their source, the statistic computed from a batch of runs,
and the pattern's contribution to the calibration distance.

**One scale for every pattern: the deviance.** Each pattern's contribution is a deviance ``D``: minus twice
the log-likelihood ratio of the record under the model's statistic against the record's best possible fit
(Agresti 2013, *Categorical Data Analysis*, 4.5). For a count ("5 of 11 trusts") it is the binomial
deviance, which respects how little 11 trusts can say; for the grouped time-to-exit distribution it is the
multinomial deviance of the record's groups under the model's Kaplan-Meier curve (the likelihood of grouped,
censored survival data: Lindsey & Ryan 1998, Statistics in Medicine 17:219); for a measured quantity with a
range ("10-15% a year") it is the squared distance outside the range in units of the record's uncertainty
(a normal error model). The calibration distance is ``sqrt(sum(weight * D))``; a pattern is *reproduced*
when ``D`` stays below the chi-square quantile of its degrees of freedom at ``1 - alpha`` (the record is not
surprising under the model at level ``alpha``, 0.05 by default).

**What the model emits.** A pattern names the event kinds, metrics, parameters and horizon it needs
(:meth:`Pattern.requires`). When the model does not emit them, the pattern is *not computable* and says
why (:func:`check`): it is reported, never silently scored as zero. Event kinds are those the model declares
(``EVENT_KINDS`` in :mod:`sim.model.outcomes` or :mod:`sim.model.metrics`, when the model has one), else
those seen in probe runs (:func:`model_outputs`), plus the outcome events.

To add a pattern: write one entry of :data:`REGISTRY` with one of the pattern classes below (or a new
subclass with ``statistic`` and ``deviance``), or define it in a calibration file's ``[pattern.NAME]``
table with ``kind = "<class key>"`` (see docs/calibration.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np

WEEKS_PER_YEAR = 52.0
WEEKS_PER_MONTH = 52.0 / 12.0
#: A deviance is capped here so that a distance stays finite (about 100 standard deviations).
DEVIANCE_CAP = 1.0e4
#: Patterns used in the distance ("fit") or only reported ("check").
USES = ("fit", "check")


def weeks(months: float) -> float:
    return months * WEEKS_PER_MONTH


# --- run data -----------------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """What a pattern may read from one run (a light copy of :class:`sim.RunResult`).

    ``horizon`` is the last simulated week; ``events`` the run's event log (dicts with ``step`` and
    ``kind``); ``series`` maps metric name -> weekly values (week 0 first); ``params`` the scenario's values.
    """

    outcome: str
    outcome_step: int | None
    horizon: int
    events: list[dict] = field(default_factory=list)
    series: Mapping[str, Sequence[float]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_result(cls, r) -> RunRecord:
        s = r.series
        return cls(
            r.outcome,
            r.outcome_step,
            int(s["step"].iloc[-1]),
            list(r.events),
            {c: s[c].to_numpy() for c in s.columns if c != "step"},
            dict(r.scenario),
        )


class Batch:
    """The runs of one parameter set (or the pooled runs of many): what patterns compute statistics from."""

    def __init__(self, runs: Iterable):
        self.runs = [r if isinstance(r, RunRecord) else RunRecord.from_result(r) for r in runs]
        if not self.runs:
            raise ValueError("a batch needs at least one run")

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def horizon(self) -> int:
        """The shortest horizon of the batch (weeks): what every run has observed."""
        return min(r.horizon for r in self.runs)

    def event_times(
        self, kind: str, occurrence: int = 1, where: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per run: the week of the ``occurrence``-th event of ``kind`` (matching ``where``), and whether it
        happened. A run without it is censored at its horizon (time = horizon, observed = False)."""
        times = np.empty(len(self.runs))
        seen = np.zeros(len(self.runs), bool)
        for i, r in enumerate(self.runs):
            n = 0
            times[i] = r.horizon
            for e in r.events:
                if e["kind"] == kind and all(e.get(k) == v for k, v in (where or {}).items()):
                    n += 1
                    if n == occurrence:
                        times[i], seen[i] = e["step"], True
                        break
        return times, seen

    def event_counts(self, kind: str, where: Mapping[str, Any] | None = None) -> np.ndarray:
        return np.array(
            [
                sum(e["kind"] == kind and all(e.get(k) == v for k, v in (where or {}).items()) for e in r.events)
                for r in self.runs
            ]
        )

    def metric(self, name: str) -> list[np.ndarray]:
        return [np.asarray(r.series[name], float) for r in self.runs]

    def param(self, key: str) -> np.ndarray:
        return np.array([r.params[key] for r in self.runs])


def kaplan_meier(times: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate: (event times, survival just after each). Ties: events before censorings."""
    times = np.asarray(times, float)
    observed = np.asarray(observed, bool)
    ev = np.unique(times[observed])
    surv = np.empty(ev.size)
    s = 1.0
    for i, t in enumerate(ev):
        at_risk = np.count_nonzero(times >= t)
        d = np.count_nonzero((times == t) & observed)
        s *= 1.0 - d / at_risk
        surv[i] = s
    return ev, surv


def survival_at(ev: np.ndarray, surv: np.ndarray, t: float) -> float:
    """S(t) = share without the event by time ``t`` inclusive (right-continuous step function)."""
    i = np.searchsorted(ev, t, side="right")
    return 1.0 if i == 0 else float(surv[i - 1])


# --- comparisons -----------------------------------------------------------------------------------------


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def binomial_deviance(k: int, n: int, p: float) -> float:
    """-2 log L(p)/L(k/n) for k successes of n: 0 when p = k/n."""
    p = min(max(p, 1e-12), 1 - 1e-12)
    d = 2.0 * (_xlogy(k, k / n) - _xlogy(k, p) + _xlogy(n - k, (n - k) / n) - _xlogy(n - k, 1 - p))
    return min(max(d, 0.0), DEVIANCE_CAP)


def multinomial_deviance(counts: Sequence[int], probs: Sequence[float]) -> float:
    """-2 log L(probs)/L(counts/N) over disjoint groups."""
    n = sum(counts)
    d = 0.0
    for c, p in zip(counts, probs):
        if c:
            d += 2.0 * c * (math.log(c / n) - math.log(max(p, 1e-12)))
    return min(max(d, 0.0), DEVIANCE_CAP)


def smoothed_share(count: int, runs: int) -> float:
    """A share estimated from ``runs`` simulated runs, kept off 0 and 1 (Jeffreys: add half a count each side)
    so that a handful of runs with no event does not make a record count impossible."""
    return (count + 0.5) / (runs + 1.0)


def range_deviance(value: float, low: float, high: float, sd: float) -> float:
    """Squared distance outside [low, high] in units of ``sd`` (0 inside): a normal error model."""
    if math.isnan(value):
        return DEVIANCE_CAP
    gap = low - value if value < low else value - high if value > high else 0.0
    return min((gap / sd) ** 2, DEVIANCE_CAP)


def chi2_limit(df: int, alpha: float) -> float:
    from scipy.stats import chi2

    return float(chi2.ppf(1.0 - alpha, df))


# --- patterns ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirements:
    events: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    weeks: float = 0.0


@dataclass(frozen=True)
class Outputs:
    """What a model emits: event kinds, per-week metrics and the horizon of its runs (weeks)."""

    event_kinds: frozenset
    metrics: frozenset
    horizon: int
    how: str = ""  # how the event kinds were found (for messages)


@dataclass(frozen=True)
class Pattern:
    """One pattern of the record. Subclasses add the record's values and compute the statistic."""

    name: str
    description: str
    source: str
    use: str = "fit"  # "fit": in the distance; "check": reported only
    weight: float = 1.0

    kind: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()  # fields a new pattern of this kind must give

    def requires(self) -> Requirements:
        return Requirements()

    def statistic(self, batch: Batch) -> dict[str, float]:
        """The model's raw statistic(s) from a batch of runs (natural units)."""
        raise NotImplementedError

    def deviance(self, stat: Mapping[str, float]) -> tuple[float, int]:
        """(deviance, degrees of freedom) of the record under the statistic."""
        raise NotImplementedError

    def value(self, stat: Mapping[str, float]) -> float:
        """The one number shown beside the record (a share, months, a rate)."""
        return float(next(iter(stat.values())))

    def record_value(self) -> float | tuple[float, float]:
        raise NotImplementedError

    def detail(self, stat: Mapping[str, float]) -> str:
        """More of the statistic than :meth:`value` shows (e.g. every group's share), or ''."""
        return ""

    def record_text(self) -> str:
        raise NotImplementedError

    unit: ClassVar[str] = ""


@dataclass(frozen=True)
class EventShare(Pattern):
    """``k`` of ``n`` trusts had (``within = true``) or had not yet had (``within = false``) the
    ``occurrence``-th ``event`` by ``by_months`` months; binomial deviance."""

    event: str = "exited_special_measures"
    by_months: float = 12.0
    k: int = 0
    n: int = 1
    within: bool = True
    occurrence: int = 1
    where: Mapping[str, Any] = field(default_factory=dict)

    required: ClassVar[tuple[str, ...]] = ("event", "by_months", "k", "n")
    kind: ClassVar[str] = "event_share"
    unit: ClassVar[str] = "share"

    def requires(self) -> Requirements:
        return Requirements(events=(self.event,), weeks=weeks(self.by_months))

    def statistic(self, batch: Batch) -> dict[str, float]:
        t, seen = batch.event_times(self.event, self.occurrence, self.where)
        hit = seen & (t <= weeks(self.by_months))
        count = int(hit.sum()) if self.within else int((~hit).sum())
        return {"share": count / len(batch), "count": count, "runs": len(batch)}

    def deviance(self, stat):
        return binomial_deviance(self.k, self.n, smoothed_share(int(stat["count"]), int(stat["runs"]))), 1

    def record_value(self):
        return self.k / self.n

    def record_text(self) -> str:
        return f"{self.k} of {self.n} ({self.k / self.n:.0%})"


@dataclass(frozen=True)
class EventTimeGroups(Pattern):
    """The record's time to ``event`` in disjoint groups of months: ``groups = [[from, to, count], ...]``
    (``to`` = -1: still without the event at ``from``, i.e. censored; the last group may be open).
    The model's probability of each group comes from its Kaplan-Meier curve; multinomial deviance."""

    event: str = "exited_special_measures"
    groups: tuple[tuple[float, float, int], ...] = ()
    occurrence: int = 1

    required: ClassVar[tuple[str, ...]] = ("event", "groups")
    kind: ClassVar[str] = "event_time_groups"
    unit: ClassVar[str] = "share in the first group"

    def __post_init__(self):
        g = tuple((float(a), float(b), int(c)) for a, b, c in self.groups)
        object.__setattr__(self, "groups", g)
        edges = [(a, math.inf if b < 0 else b) for a, b, _ in g]
        for (a1, b1), (a2, _b2) in itertools.pairwise(edges):
            if not (a1 < b1 <= a2):
                raise ValueError(f"groups: must be disjoint and in order (from < to <= next from), got {self.groups}")

    def requires(self) -> Requirements:
        finite = [b for _a, b, _c in self.groups if b >= 0]
        return Requirements(events=(self.event,), weeks=weeks(max(finite, default=0.0)))

    def statistic(self, batch: Batch) -> dict[str, float]:
        t, seen = batch.event_times(self.event, self.occurrence)
        ev, surv = kaplan_meier(t, seen)
        out = {}
        for a, b, _c in self.groups:
            # P(a < T <= b): a group includes its upper edge, as EventShare's "by b months" does (an exit at
            # the first re-inspection, week 52 = 12 months, is an exit within 12 months)
            s_a = 1.0 if a <= 0 else survival_at(ev, surv, weeks(a))
            s_b = 0.0 if b < 0 else survival_at(ev, surv, weeks(b))
            out[self._label(a, b)] = s_a - s_b
        out["runs"] = len(batch)
        return out

    @staticmethod
    def _label(a, b) -> str:
        return f"{a:g}+ months" if b < 0 else f"{a:g}-{b:g} months"

    def deviance(self, stat):
        runs = int(stat["runs"])
        g = len(self.groups)
        # each group's probability as if from `runs` runs, with half a count added to each (see smoothed_share)
        probs = [(stat[self._label(a, b)] * runs + 0.5) / (runs + 0.5 * g) for a, b, _c in self.groups]
        return multinomial_deviance([c for _a, _b, c in self.groups], probs), g - 1

    def value(self, stat) -> float:
        a, b, _c = self.groups[0]
        return float(stat[self._label(a, b)])

    def record_value(self):
        c = self.groups[0][2]
        return c / sum(x[2] for x in self.groups)

    def record_text(self) -> str:
        return ", ".join(f"{c} in {self._label(a, b)}" for a, b, c in self.groups)

    def detail(self, stat) -> str:
        return ", ".join(f"{stat[self._label(a, b)]:.0%} in {self._label(a, b)}" for a, b, _c in self.groups)


@dataclass(frozen=True)
class EventTimeMean(Pattern):
    """Mean months to ``event`` among runs that had it within ``within_months`` (as the record's mean among
    trusts that had exited by the time of the report); record range [low, high] with uncertainty ``sd``.
    A batch in which no run had the event scores as if the mean were ``within_months`` (the latest possible)."""

    event: str = "exited_special_measures"
    within_months: float = 48.0
    low: float = 0.0
    high: float = 0.0
    sd: float = 1.0

    required: ClassVar[tuple[str, ...]] = ("event", "low", "high", "sd")
    kind: ClassVar[str] = "event_time_mean"
    unit: ClassVar[str] = "months"

    def requires(self) -> Requirements:
        return Requirements(events=(self.event,), weeks=weeks(self.within_months))

    def statistic(self, batch: Batch) -> dict[str, float]:
        t, seen = batch.event_times(self.event)
        ok = seen & (t <= weeks(self.within_months))
        mean = float(np.mean(t[ok]) / WEEKS_PER_MONTH) if ok.any() else math.nan
        return {"mean_months": mean, "count": int(ok.sum()), "runs": len(batch)}

    def deviance(self, stat):
        m = stat["mean_months"]
        return range_deviance(self.within_months if math.isnan(m) else m, self.low, self.high, self.sd), 1

    def record_value(self):
        return (self.low, self.high)

    def record_text(self) -> str:
        return f"{self.low:g}-{self.high:g} months (sd {self.sd:g})"


@dataclass(frozen=True)
class EventBalance(Pattern):
    """Share of ``first`` among the runs that reached ``first`` or ``second`` (whichever came first) by the
    horizon; record ``value`` with uncertainty ``sd`` (normal). No decided run scores as the worse extreme."""

    first: str = "failed"
    second: str = "bedded_in"
    value_: float = 0.5
    sd: float = 0.15

    required: ClassVar[tuple[str, ...]] = ("first", "second", "value_", "sd")
    kind: ClassVar[str] = "event_balance"
    unit: ClassVar[str] = "share"

    def requires(self) -> Requirements:
        return Requirements(events=(self.first, self.second))

    def statistic(self, batch: Batch) -> dict[str, float]:
        t1, s1 = batch.event_times(self.first)
        t2, s2 = batch.event_times(self.second)
        first = s1 & (~s2 | (t1 <= t2))
        decided = s1 | s2
        share = float(first.sum() / decided.sum()) if decided.any() else math.nan
        return {"share": share, "decided": int(decided.sum()), "runs": len(batch)}

    def deviance(self, stat):
        s = stat["share"]
        if math.isnan(s):
            s = 0.0 if self.value_ >= 0.5 else 1.0
        return range_deviance(s, self.value_, self.value_, self.sd), 1

    def record_value(self):
        return self.value_

    def record_text(self) -> str:
        return f"{self.value_:.0%} (sd {self.sd:g})"


@dataclass(frozen=True)
class CounterRate(Pattern):
    """Per-year rate of the summed weekly counters ``metrics`` over the summed headcount parameters ``per``
    (e.g. leavers over staff); record range [low, high] with uncertainty ``sd``."""

    metrics: tuple[str, ...] = ()
    per: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0
    sd: float = 1.0

    required: ClassVar[tuple[str, ...]] = ("metrics", "per", "low", "high", "sd")
    kind: ClassVar[str] = "counter_rate"
    unit: ClassVar[str] = "per year"

    def __post_init__(self):
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "per", tuple(self.per))

    def requires(self) -> Requirements:
        return Requirements(metrics=self.metrics, params=self.per, weeks=1)

    def statistic(self, batch: Batch) -> dict[str, float]:
        total = sum(float(np.sum(x[1:])) for m in self.metrics for x in batch.metric(m))  # week 0 is the start
        exposure = sum(sum(float(r.params[p]) for p in self.per) * r.horizon / WEEKS_PER_YEAR for r in batch.runs)
        return {"rate": total / exposure}

    def deviance(self, stat):
        return range_deviance(stat["rate"], self.low, self.high, self.sd), 1

    def record_value(self):
        return (self.low, self.high)

    def record_text(self) -> str:
        return f"{self.low:g}-{self.high:g} (sd {self.sd:g})"


@dataclass(frozen=True)
class MetricLevel(Pattern):
    """A per-week metric's mean over the run (``at = "mean"``) or its final value (``at = "final"``),
    averaged over runs; record range [low, high] with uncertainty ``sd``."""

    metric: str = ""
    at: str = "mean"
    low: float = 0.0
    high: float = 0.0
    sd: float = 1.0

    required: ClassVar[tuple[str, ...]] = ("metric", "low", "high", "sd")
    kind: ClassVar[str] = "metric_level"

    def requires(self) -> Requirements:
        return Requirements(metrics=(self.metric,))

    def statistic(self, batch: Batch) -> dict[str, float]:
        xs = batch.metric(self.metric)
        vals = [x[-1] if self.at == "final" else np.nanmean(x[1:] if len(x) > 1 else x) for x in xs]
        return {"level": float(np.mean(vals))}

    def deviance(self, stat):
        return range_deviance(stat["level"], self.low, self.high, self.sd), 1

    def record_value(self):
        return (self.low, self.high)

    def record_text(self) -> str:
        return f"{self.low:g}-{self.high:g} (sd {self.sd:g})"


@dataclass(frozen=True)
class EventTenure(Pattern):
    """Median time between events of ``event`` matching ``where`` (e.g. a chief executive's departures),
    in months, from the exponential rate (events / exposure): ``ln 2 / rate``; record ``months`` +- ``sd``."""

    event: str = "departure"
    where: Mapping[str, Any] = field(default_factory=dict)
    months: float = 0.0
    sd: float = 1.0

    required: ClassVar[tuple[str, ...]] = ("event", "months", "sd")
    kind: ClassVar[str] = "event_tenure"
    unit: ClassVar[str] = "months"

    def requires(self) -> Requirements:
        return Requirements(events=(self.event,))

    def statistic(self, batch: Batch) -> dict[str, float]:
        count = int(batch.event_counts(self.event, self.where).sum())
        exposure_months = sum(r.horizon for r in batch.runs) / WEEKS_PER_MONTH
        return {"median_months": math.log(2) * exposure_months / count if count else math.inf, "count": count}

    def deviance(self, stat):
        m = stat["median_months"]
        return range_deviance(m if math.isfinite(m) else 1e9, self.months, self.months, self.sd), 1

    def record_value(self):
        return self.months

    def record_text(self) -> str:
        return f"{self.months:g} months (sd {self.sd:g})"


#: Pattern classes by the ``kind`` a calibration file names.
KINDS: dict[str, type[Pattern]] = {
    c.kind: c for c in (EventShare, EventTimeGroups, EventTimeMean, EventBalance, CounterRate, MetricLevel, EventTenure)
}

# --- the record -------------------------------------------------------------------------------------------

_CQC_2014 = "CQC, 'Special measures: one year on' (July 2014)"
_HSJ_2017 = "HSJ analysis (2017) of the 27 trusts placed in quality special measures since 2013"
_NHSP_2017 = "NHS Providers (2017)"

#: The record's patterns (/work/shared/FACTS.md, 'The record's patterns over time'; issue 12). Names are
#: what a calibration file's ``[pattern.NAME]`` tables refer to. Exit, re-entry and the regulator's judgement
#: are keyed to the event kinds the regulator submodel is to emit (issue 12, point 1).
REGISTRY: dict[str, Pattern] = {
    p.name: p
    for p in (
        EventTimeGroups(
            "time_to_exit_2013",
            "Time to exit of the 11 trusts placed in special measures on 16 July 2013",
            f"{_CQC_2014}: 5 of 11 exited (recommended) at about 12 months; {_NHSP_2017}: all of the first 11 "
            "have left (about 4 years after entry)",
            groups=((0, 12, 5), (12, 48, 6), (48, -1, 0)),
        ),
        EventShare(
            "exit_12m_2013",
            "Of the 11 trusts of July 2013, 5 had exited about 12 months later",
            f"{_CQC_2014}; {_HSJ_2017}: only 5 exited within 12 months, all 5 from the original 11",
            use="check",  # the first group of time_to_exit_2013: counted once in the distance
            by_months=12,
            k=5,
            n=11,
        ),
        EventShare(
            "exit_12m_later_cohorts",
            "None of the 21 trusts placed after the first 11 was out within 12 months",
            f"{_NHSP_2017}: of the 21 placed later, 13 still in and 8 exited, none in under 12 months. A check, not a "
            "target: the model is calibrated to the 2013 cohort (buddied from the start), and 0 of 21 against its 5 of "
            "11 says the later cohorts differed in ways the model does not represent",
            use="check",
            by_months=12,
            k=0,
            n=21,
        ),
        EventShare(
            "two_years_or_more",
            "10 of the 27 trusts had spent two years or more in special measures",
            f"{_HSJ_2017}: 10 trusts had spent two years or more; the longest then 3.5 years",
            by_months=24,
            k=10,
            n=27,
            within=False,
        ),
        EventTimeMean(
            "mean_time_in_regime",
            "Mean time in special measures of the trusts that had exited: 20.5-24 months",
            f"{_HSJ_2017}: the 20 that had exited averaged 20.5 months; {_NHSP_2017}: the 17 that went through "
            "averaged 24 months. sd 2.5 months: the sources differ by 3.5; times of 5-42 months among ~20 trusts "
            "give a standard error of about 2.2",
            within_months=48,
            low=20.5,
            high=24.0,
            sd=2.5,
        ),
        EventShare(
            "no_progress_12m_2013",
            "1 of the 11 trusts of July 2013 made no significant overall progress at its one-year re-inspection",
            f"{_CQC_2014}: Medway made no significant overall progress",
            event="no_significant_progress",
            by_months=13,
            k=1,
            n=11,
        ),
        EventShare(
            "reentry_2013",
            "2 of the 11 trusts of July 2013 were placed back in special measures after exiting",
            f"{_HSJ_2017}; {_NHSP_2017}: United Lincolnshire, North Lincolnshire and Goole re-entered",
            event="reentered_special_measures",
            by_months=48,
            k=2,
            n=11,
        ),
        EventBalance(
            "failure_as_common_as_success",
            "For every successful buddying partnership there has equally been failure",
            "The briefing (/work/shared/briefing.md). A qualitative statement: read as a share of failures among "
            "decided partnerships of 0.5, sd 0.15 (a judgement). The briefing's claims are tests, not targets, "
            "so it is a check: the calibration does not pull the model towards it",
            use="check",
            first="failed",
            second="bedded_in",
            value_=0.5,
            sd=0.15,
        ),
        CounterRate(
            "staff_turnover",
            "Staff turnover of a trust: 10-15% a year",
            "NHS workforce statistics: staff leave the NHS at ~9-11% a year; trust-level turnover is higher "
            "(10-15%). sd 0.01 (a judgement: the range is the uncertainty)",
            metrics=("leavers_a", "leavers_b"),
            per=("organisations.staff_a", "organisations.staff_b"),
            low=0.10,
            high=0.15,
            sd=0.01,
        ),
        EventTenure(
            "chief_executive_tenure",
            "Median tenure of chief executives of inadequate-rated trusts: ~11 months (an input)",
            "HSJ (2017): median tenure ~11 months in inadequate-rated trusts. It sets leadership.turnover_a, so it "
            "is a check, not a target",
            use="check",
            event="departure",
            where={"org": "A", "seat": 0},
            months=11.0,
            sd=3.0,
        ),
    )
}


# --- building patterns from a calibration file ---------------------------------------------------------


def pattern_from_table(name: str, table: Mapping[str, Any], source: str = "") -> Pattern:
    """A pattern from a ``[pattern.NAME]`` table: a registry entry with fields overridden, or (with
    ``kind``) a new one. Raises ``ValueError`` with a message naming the key."""
    table = dict(table)
    if "kind" in table:
        kind = table.pop("kind")
        if kind not in KINDS:
            raise ValueError(f"kind: unknown pattern kind {kind!r}; kinds: {', '.join(KINDS)}")
        cls = KINDS[kind]
        base = None
    elif name in REGISTRY:
        base = REGISTRY[name]
        cls = type(base)
    else:
        from ..scenario import did_you_mean

        raise ValueError(
            f"not a pattern of the registry{did_you_mean(name, REGISTRY)}; give kind = one of "
            f"{', '.join(KINDS)} to define a new one (registry: {', '.join(REGISTRY)})"
        )
    names = {f.name: f for f in fields(cls)}
    alias = {"value": "value_"}
    alias_back = {"value_": "value"}
    values: dict[str, Any] = {}
    for key, v in table.items():
        k = alias.get(key, key) if alias.get(key, key) in names else key
        if k not in names or k == "name":
            allowed = sorted(n if n != "value_" else "value" for n in names if n != "name")
            raise ValueError(f"{key}: not a field of a {cls.kind} pattern; fields: {', '.join(allowed)}")
        default = getattr(base, k) if base is not None else names[k].default
        values[k] = _convert(key, v, default)
    if "use" in values and values["use"] not in USES:
        raise ValueError(f"use: expected one of {', '.join(USES)}, got {values['use']!r}")
    if "weight" in values and not values["weight"] >= 0:
        raise ValueError(f"weight: expected a number >= 0, got {values['weight']!r}")
    if base is None:
        missing = [alias_back.get(f, f) for f in cls.required if f not in values]
        if missing:
            raise ValueError(
                f"{missing[0]}: required for a {cls.kind} pattern (needs {', '.join(alias_back.get(f, f) for f in cls.required)})"
            )
        for req in ("description", "source"):
            values.setdefault(req, "")
        p = cls(name=name, **values)
    else:
        p = replace(base, **values)
    _check_pattern(p)
    return p


def _convert(key: str, v: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(v, bool):
            raise ValueError(f"{key}: expected true or false, got {v!r}")
        return v
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{key}: expected an integer, got {v!r}")
        return v
    if isinstance(default, float):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{key}: expected a number, got {v!r}")
        return float(v)
    if isinstance(default, str):
        if not isinstance(v, str):
            raise ValueError(f"{key}: expected a string, got {v!r}")
        return v
    if isinstance(default, tuple):
        if not isinstance(v, list):
            raise ValueError(f"{key}: expected an array, got {v!r}")
        if key == "groups" and not all(
            isinstance(g, list)
            and len(g) == 3
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in g)
            and isinstance(g[2], int)
            and g[2] >= 0
            for g in v
        ):
            raise ValueError(f"groups: expected [[from_months, to_months (-1 = open), count >= 0], ...], got {v!r}")
        return tuple(tuple(x) if isinstance(x, list) else x for x in v)
    if isinstance(default, Mapping):
        if not isinstance(v, dict):
            raise ValueError(f"{key}: expected a table, got {v!r}")
        return dict(v)
    return v


def _check_pattern(p: Pattern) -> None:
    if isinstance(p, EventShare) and not (0 <= p.k <= p.n and p.n >= 1):
        raise ValueError(f"k, n: expected 0 <= k <= n and n >= 1, got k = {p.k}, n = {p.n}")
    if getattr(p, "occurrence", 1) < 1:
        raise ValueError("occurrence: expected an integer >= 1")
    if isinstance(p, EventTimeGroups) and (
        not p.groups or any(len(g) != 3 for g in p.groups) or sum(g[2] for g in p.groups) < 1
    ):
        raise ValueError("groups: expected [[from_months, to_months (-1 = open), count], ...] with counts")
    for attr in ("sd",):
        if hasattr(p, attr) and not getattr(p, attr) > 0:
            raise ValueError(f"{attr}: expected a number > 0, got {getattr(p, attr)!r}")
    if hasattr(p, "low") and hasattr(p, "high") and not p.low <= p.high:
        raise ValueError(f"low, high: expected low <= high, got {p.low!r} > {p.high!r}")
    if isinstance(p, MetricLevel) and p.at not in ("mean", "final"):
        raise ValueError(f'at: expected "mean" or "final", got {p.at!r}')


# --- computability ------------------------------------------------------------------------------------------


def declared_event_kinds() -> frozenset | None:
    """Event kinds the model declares (``EVENT_KINDS`` in sim.model.outcomes or sim.model.metrics), or None."""
    from ..model import metrics, outcomes

    for mod in (outcomes, metrics):
        kinds = getattr(mod, "EVENT_KINDS", None)
        if kinds is not None:
            return frozenset(kinds)
    return None


def outcome_event_kinds() -> frozenset:
    """The decided outcomes, which every engine logs as events of the same name."""
    from ..model.outcomes import OUTCOMES, UNDECIDED

    return frozenset(o for o in OUTCOMES if o != UNDECIDED)


def model_outputs(scenario, seed: int = 0, probe_runs: int = 4, results: Sequence | None = None) -> Outputs:
    """What the model emits for ``scenario``: event kinds (declared, else seen in ``probe_runs`` runs, plus the
    outcome events), metric names (sim.model.metrics.METRICS) and the horizon."""
    from ..model.metrics import METRICS

    declared = declared_event_kinds()
    if declared is not None:
        kinds, how = declared | outcome_event_kinds(), "declared by sim.model"
    else:
        if results is None:
            from ..run import run_replications

            results = run_replications(scenario, seed, probe_runs)
        seen = {e["kind"] for r in results for e in r.events}
        kinds = frozenset(seen) | outcome_event_kinds()
        how = f"none in {len(results)} probe runs of {scenario.name}, and sim.model declares no EVENT_KINDS"
    return Outputs(kinds, frozenset(METRICS), int(scenario["run.steps"]), how)


def check(pattern: Pattern, outputs: Outputs, params: Iterable[str] = ()) -> str | None:
    """None when the pattern can be computed from the model's outputs; else the reason it cannot."""
    req = pattern.requires()
    missing = [e for e in req.events if e not in outputs.event_kinds]
    if missing:
        return "the model emits no " + ", ".join(f"`{e}`" for e in missing) + f" event ({outputs.how})"
    missing = [m for m in req.metrics if m not in outputs.metrics]
    if missing:
        return "the model reports no metric " + ", ".join(f"`{m}`" for m in missing)
    params = set(params)
    missing = [p for p in req.params if params and p not in params]
    if missing:
        return "the scenario has no parameter " + ", ".join(f"`{p}`" for p in missing)
    if req.weeks > outputs.horizon + 1e-9:
        return (
            f"needs {math.ceil(req.weeks)} weeks of simulation; the runs stop at week {outputs.horizon} (set run.steps)"
        )
    return None


@dataclass
class Evaluation:
    """A pattern against one batch: the statistic, its deviance and whether it is reproduced."""

    pattern: Pattern
    statistic: dict | None
    deviance: float
    df: int
    reproduced: bool | None
    reason: str | None = None  # why not computable

    @property
    def computable(self) -> bool:
        return self.reason is None

    @property
    def signed_root(self) -> float:
        """sqrt(D) signed by whether the model's value lies above the record's (0 when not computable)."""
        if not self.computable:
            return 0.0
        root = math.sqrt(self.deviance)
        rec = self.pattern.record_value()
        v = self.pattern.value(self.statistic)
        mid = sum(rec) / 2 if isinstance(rec, tuple) else rec
        return -root if (not math.isnan(v) and v < mid) else root


def evaluate(pattern: Pattern, batch: Batch, outputs: Outputs | None = None, alpha: float = 0.05) -> Evaluation:
    """The pattern's statistic and deviance on ``batch``; 'not computable' (with the reason) when the model's
    outputs do not have what it needs."""
    reason = check(pattern, outputs) if outputs is not None else None
    if reason is None and pattern.requires().weeks > batch.horizon + 1e-9:
        reason = (
            f"needs {math.ceil(pattern.requires().weeks)} weeks of simulation; the runs stop at week {batch.horizon}"
        )
    if reason is not None:
        return Evaluation(pattern, None, math.nan, 0, None, reason)
    stat = pattern.statistic(batch)
    d, df = pattern.deviance(stat)
    return Evaluation(pattern, stat, d, df, d <= chi2_limit(df, alpha))


def distance(evaluations: Iterable[Evaluation]) -> float:
    """sqrt(sum(weight * D)) over the computable "fit" patterns."""
    return math.sqrt(sum(e.pattern.weight * e.deviance for e in evaluations if e.computable and e.pattern.use == "fit"))


def describe(ev: Evaluation) -> str:
    p = ev.pattern
    if not ev.computable:
        return f"{p.name}: not computable: {ev.reason}"
    v = p.value(ev.statistic)
    return f"{p.name}: record {p.record_text()}; model {v:.3g}; deviance {ev.deviance:.2f} (df {ev.df}) -> " + (
        "reproduced" if ev.reproduced else "not reproduced"
    )
