"""7.11 Outcome: did the partnership bed in or fail, and when and why; and A's path through special measures.

*Bedded in*: the lower of the two trusts' mean staff partner trust is at least ``bed_in_trust`` **and** the
lower of the two trusts' adoption of the shared method is at least ``bed_in_adoption``, for ``bed_in_weeks``
consecutive weeks.

*Failed*, by the first of five routes to happen:

* ``board_a``: A's board withdraws: its mean commitment below ``fail_floor`` for ``fail_weeks`` weeks;
* ``board_b``: the buddy withdraws: B's board commitment below the floor for ``fail_weeks`` weeks (strain
  and a lack of results erode it, 7.13);
* ``staff``: the staff reject it: the lower of the two trusts' mean partner trust below the floor for
  ``fail_weeks`` weeks;
* ``exodus``: A's staff leave at more than ``exodus_rate`` a year over the last 26 weeks;
* ``regulator``: the regulator ends it after ``max_escalations`` escalations (7.14).

The first decision stands; a failed partnership ends (no more joint working or board meetings, 7.5, 7.13)
while the run goes on to the horizon, so trajectories stay comparable and A's path through special measures
continues. Otherwise the run is *undecided* at the horizon.

A's path through the regime is read from the regulator's events: the week A first exits special measures
(``exit_step``) and the week it first re-enters (``reentry_step``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..scenario import Scenario
from .types import LoggedEvent, Metrics

BEDDED_IN, FAILED, UNDECIDED = "bedded_in", "failed", "undecided"
OUTCOMES = (BEDDED_IN, FAILED, UNDECIDED)
#: Routes to failure, in the order they are checked within a week.
ROUTES = ("regulator", "board_a", "board_b", "staff", "exodus")
EXODUS_WEEKS = 26
_FLAGS = ("trust_above_bed_in", "adoption_above_bed_in", "staff_trust_below_floor", "board_below_floor")
#: The events the tracker itself logs (the submodels declare theirs: sim.model.metrics.event_kinds()).
TRACKER_EVENTS = frozenset({"bedded_in", "failed"} | {p + f for p in ("crossed_", "left_") for f in _FLAGS})
#: Events that mark a run's course (their first week is a run's time to that event; sim.analysis.survival).
OUTCOME_EVENTS = ("bedded_in", "failed", "exited_special_measures", "reentered_special_measures")


@dataclass
class OutcomeTracker:
    bed_trust: float
    bed_adoption: float
    bed_weeks: int
    floor: float
    fail_weeks: int
    exodus_rate: float = 1e9
    outcome: str = UNDECIDED
    step: int | None = None
    reason: str = ""
    route: str | None = None
    exit_step: int | None = None
    reentry_step: int | None = None
    good_run: int = 0
    spells: dict[str, int] = field(default_factory=lambda: {"board_a": 0, "board_b": 0, "staff": 0})
    _leavers: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=EXODUS_WEEKS))
    _prev: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, sc: Scenario) -> OutcomeTracker:
        return cls(
            sc["outcome.bed_in_trust"],
            sc["outcome.bed_in_adoption"],
            sc["outcome.bed_in_weeks"],
            sc["outcome.fail_floor"],
            sc["outcome.fail_weeks"],
            sc["outcome.exodus_rate"],
        )

    def update(self, t: int, m: Metrics, events: list[LoggedEvent]) -> None:
        """Feed the metrics of week ``t`` (and the event log, to which it appends); week 0 is the start."""
        flags = {
            "trust_above_bed_in": m["trust_min"] >= self.bed_trust,
            "adoption_above_bed_in": m["adoption_min"] >= self.bed_adoption,
            "staff_trust_below_floor": m["trust_min"] < self.floor,
            "board_below_floor": m["board_min"] < self.floor,
        }
        if t > 0:
            for name, now in flags.items():
                before = self._prev.get(name)
                if before is not None and now != before:
                    value = m["board_min" if name.startswith("board") else
                              "adoption_min" if name.startswith("adoption") else "trust_min"]  # fmt: skip
                    events.append({"step": t, "kind": ("crossed_" if now else "left_") + name, "org": None,
                                   "value": round(value, 4)})  # fmt: skip
        self._prev = flags
        if t == 0:  # the initial state is not a simulated week: spells count from week 1
            return
        this_week = [e for e in events if e["step"] == t]
        for e in this_week:
            if e["kind"] == "exited_special_measures" and self.exit_step is None:
                self.exit_step = t
            if e["kind"] == "reentered_special_measures" and self.reentry_step is None:
                self.reentry_step = t
        good = flags["trust_above_bed_in"] and flags["adoption_above_bed_in"]
        self.good_run = self.good_run + 1 if good else 0
        below = {
            "board_a": m["board_commitment_a"] < self.floor,
            "board_b": m["board_commitment_b"] < self.floor,
            "staff": flags["staff_trust_below_floor"],
        }
        for route, now in below.items():
            self.spells[route] = self.spells[route] + 1 if now else 0
        if "leavers_a" in m and "headcount_a" in m:
            self._leavers.append((m["leavers_a"], m["headcount_a"]))
        if self.outcome != UNDECIDED:
            return
        failed = self._failure(t, m, this_week)
        if failed:
            self.outcome, self.step, (self.route, self.reason) = FAILED, t, failed
            events.append({"step": t, "kind": "failed", "org": None, "route": self.route, "reason": self.reason})
        elif self.good_run >= self.bed_weeks:
            self.outcome, self.step = BEDDED_IN, t
            self.reason = (
                f"partner trust >= {self.bed_trust:g} (lowest {m['trust_min']:.2f}) and adoption >= "
                f"{self.bed_adoption:g} (lowest {m['adoption_min']:.2f}) in both trusts for {self.bed_weeks} weeks"
            )
            events.append({"step": t, "kind": "bedded_in", "org": None, "reason": self.reason})

    def end(self, t: int, route: str, reason: str, events: list[LoggedEvent]) -> None:
        """The partnership ends now for a reason decided outside the tracker (a timeline action), if undecided."""
        if self.outcome != UNDECIDED:
            return
        self.outcome, self.step, self.route, self.reason = FAILED, t, route, reason
        events.append({"step": t, "kind": "failed", "org": None, "route": route, "reason": reason})

    def _failure(self, t: int, m: Metrics, this_week: list[LoggedEvent]) -> tuple[str, str] | None:
        """(route, reason) if the partnership fails this week."""
        for e in this_week:
            if e["kind"] == "partnership_ended_by_regulator":
                return (
                    "regulator",
                    f"the regulator ended it after {e['escalations']} escalations (no significant progress)",
                )
        weeks = self.fail_weeks
        if self.spells["board_a"] >= weeks:
            return (
                "board_a",
                f"A's board withdrew: commitment {m['board_commitment_a']:.2f} below {self.floor:g} for {weeks} weeks",
            )
        if self.spells["board_b"] >= weeks:
            return (
                "board_b",
                f"the buddy (B) withdrew: board commitment {m['board_commitment_b']:.2f} below {self.floor:g} for {weeks} weeks",
            )
        if self.spells["staff"] >= weeks:
            org = "A" if m["partner_trust_a"] <= m["partner_trust_b"] else "B"
            return (
                "staff",
                f"staff partner trust in {org} ({m['trust_min']:.2f}) below {self.floor:g} for {weeks} weeks",
            )
        if len(self._leavers) == EXODUS_WEEKS:
            left = sum(n for n, _ in self._leavers)
            head = sum(h for _, h in self._leavers) / EXODUS_WEEKS
            rate = left / head * (52.0 / EXODUS_WEEKS) if head else 0.0
            if rate > self.exodus_rate:
                return (
                    "exodus",
                    f"staff exodus: A lost staff at {rate:.0%} a year over {EXODUS_WEEKS} weeks (limit {self.exodus_rate:.0%})",
                )
        return None
