"""What the page shows of one run at one moment: an immutable snapshot, taken under the session's lock.

This is the one place the UI reads the model. It uses the public read-outs (``week``, ``records``,
``events``, ``outcome``, ``outcome_step``, ``tracker.reason``, ``P.steps``) and, for drawing, a few state
arrays: each staff member's organisation and attitudes, the executives' seats, the ties. Drawing code and
the page work only on :class:`RunView`, never on a live model, so a frame being drawn can never see a
model half-way through a week (the crash of the old page).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.outcomes import UNDECIDED

#: What the staff can be coloured by: label -> state array.
COLOUR_BY = {
    "Improvement culture": "culture",
    "Trust in the partner": "tp",
    "Loyalty to own trust": "loyalty",
    "Trust in own leaders": "tl",
}


@dataclass(frozen=True, eq=False)
class Structure:
    """What does not change during a run: organisation of each staff row, work ties, executive seats.

    Compared and hashed by identity: one per run, so drawing can cache what it derives from it.
    """

    org: np.ndarray
    e_u: np.ndarray
    e_v: np.ndarray
    l_org: np.ndarray

    @classmethod
    def of(cls, model) -> Structure:
        st = model.state
        empty = np.zeros(0, dtype=np.int64)
        return cls(
            org=np.array(st.org, dtype=np.int8),
            e_u=np.array(getattr(st, "e_u", empty)),
            e_v=np.array(getattr(st, "e_v", empty)),
            l_org=np.array(st.l_org, dtype=np.int8),
        )

    def key(self) -> tuple:
        """Identifies the structure (for the cached network layout)."""
        return (self.org.tobytes(), self.e_u.tobytes(), self.e_v.tobytes())


@dataclass
class Series:
    """Every numeric metric of every week so far, as growing lists (read from ``model.records`` once each)."""

    weeks: list = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def sync(self, records: list[dict]) -> None:
        for rec in records[len(self.weeks) :]:
            week = rec.get("step", len(self.weeks))
            self.weeks.append(week)
            for name, value in rec.items():
                if name == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                column = self.values.get(name)
                if column is None:
                    column = self.values[name] = [np.nan] * (len(self.weeks) - 1)
                column.append(float(value))
            for column in self.values.values():
                if len(column) < len(self.weeks):
                    column.append(np.nan)


@dataclass(frozen=True)
class RunView:
    """One run at one week, for drawing and text (arrays are copies)."""

    week: int
    horizon: int
    outcome: str
    outcome_step: int | None
    reason: str
    metrics: dict
    weeks: np.ndarray
    series: dict  # metric -> np.ndarray aligned with weeks
    staff: dict  # state array name -> copy (culture, tp, loyalty, tl)
    present: np.ndarray | None
    x_u: np.ndarray
    x_v: np.ndarray
    l_commit: np.ndarray
    l_vacant: np.ndarray
    events: tuple
    structure: Structure

    @property
    def decided(self) -> bool:
        return self.outcome != UNDECIDED

    @property
    def at_horizon(self) -> bool:
        return self.week >= self.horizon


def snapshot(model, series: Series, structure: Structure) -> RunView:
    """Copy what the page needs from ``model`` (call with the session's lock held)."""
    series.sync(model.records)
    st = model.state
    present = getattr(st, "present", None)
    tracker = getattr(model, "tracker", None)
    return RunView(
        week=int(model.week),
        horizon=int(model.P.steps),
        outcome=str(model.outcome),
        outcome_step=model.outcome_step,
        reason=str(getattr(tracker, "reason", "") or ""),
        metrics=dict(model.metrics),
        weeks=np.array(series.weeks, dtype=float),
        series={k: np.array(v, dtype=float) for k, v in series.values.items()},
        staff={attr: np.array(getattr(st, attr), dtype=float) for attr in COLOUR_BY.values() if hasattr(st, attr)},
        present=None if present is None else np.array(present, dtype=bool),
        x_u=np.array(st.x_u),
        x_v=np.array(st.x_v),
        l_commit=np.array(getattr(st, "l_commit", np.full(st.l_org.size, np.nan)), dtype=float),
        l_vacant=np.array(st.l_vacant, dtype=bool),
        events=tuple(model.events),
        structure=structure,
    )
