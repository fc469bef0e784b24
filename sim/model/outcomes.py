"""Outcome: did the partnership bed in, fail, or is it undecided? And why.

*Bedded in*: the lower of the two trusts' mean staff partner trust is at least
``bed_in_trust`` **and** the lower of the two trusts' adoption of the shared
method is at least ``bed_in_adoption``, for ``bed_in_weeks`` consecutive
weeks. *Failed*: the lower staff partner trust, or the lower board
commitment, is below ``fail_floor`` for ``fail_weeks`` consecutive weeks (the
partnership is dissolved). The first of the two to happen is the outcome;
otherwise the run is *undecided* at the horizon. The simulation carries on to
the horizon after a decision so that trajectories stay comparable; the
outcome and its step are those of the first decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BEDDED_IN, FAILED, UNDECIDED = "bedded_in", "failed", "undecided"
OUTCOMES = (BEDDED_IN, FAILED, UNDECIDED)


@dataclass
class OutcomeTracker:
    bed_trust: float
    bed_adoption: float
    bed_weeks: int
    floor: float
    fail_weeks: int
    outcome: str = UNDECIDED
    step: int | None = None
    reason: str = ""
    good_run: int = 0
    bad_run: int = 0
    _prev: dict = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, sc) -> OutcomeTracker:
        return cls(
            sc["outcome.bed_in_trust"],
            sc["outcome.bed_in_adoption"],
            sc["outcome.bed_in_weeks"],
            sc["outcome.fail_floor"],
            sc["outcome.fail_weeks"],
        )

    def update(self, t: int, m: dict, events: list) -> None:
        """Feed the metrics of week ``t``; appends threshold-crossing events."""
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
                    events.append(
                        {
                            "step": t,
                            "kind": ("crossed_" if now else "left_") + name,
                            "org": None,
                            "value": round(
                                m[
                                    "board_min"
                                    if name.startswith("board")
                                    else "adoption_min"
                                    if name.startswith("adoption")
                                    else "trust_min"
                                ],
                                4,
                            ),
                        }
                    )
        self._prev = flags
        if t == 0:  # the initial state is not a simulated week: spells count from week 1
            return
        good = flags["trust_above_bed_in"] and flags["adoption_above_bed_in"]
        bad = flags["staff_trust_below_floor"] or flags["board_below_floor"]
        self.good_run = self.good_run + 1 if good else 0
        self.bad_run = self.bad_run + 1 if bad else 0
        if self.outcome != UNDECIDED:
            return
        if self.bad_run >= self.fail_weeks:
            self.outcome, self.step = FAILED, t
            who = []
            if flags["staff_trust_below_floor"]:
                org = "A" if m["partner_trust_a"] <= m["partner_trust_b"] else "B"
                who.append(f"staff partner trust in {org} ({m['trust_min']:.2f})")
            if flags["board_below_floor"]:
                org = "A" if m["board_commitment_a"] <= m["board_commitment_b"] else "B"
                who.append(f"board commitment in {org} ({m['board_min']:.2f})")
            self.reason = " and ".join(who) + f" below {self.floor:g} for {self.fail_weeks} weeks"
            events.append({"step": t, "kind": "failed", "org": None, "reason": self.reason})
        elif self.good_run >= self.bed_weeks:
            self.outcome, self.step = BEDDED_IN, t
            self.reason = (
                f"partner trust >= {self.bed_trust:g} (lowest {m['trust_min']:.2f}) and adoption >= "
                f"{self.bed_adoption:g} (lowest {m['adoption_min']:.2f}) in both trusts for "
                f"{self.bed_weeks} weeks"
            )
            events.append({"step": t, "kind": "bedded_in", "org": None, "reason": self.reason})
