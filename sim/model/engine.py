"""The fast engine: one week of the model over arrays, in the fixed submodel order.

ODD "Process overview and scheduling": each week the submodels run in the
order of :data:`sim.model.mechanisms.ORDER`; within a submodel every update is
computed from the state at the start of that submodel (synchronous); a
switched-off submodel neither changes the state nor draws random numbers.
"""

from __future__ import annotations

import numpy as np

from .mechanisms import (adoption, competition, embedding, engagement, initiative, joint_working,
                         leadership, messaging, peer_influence, staff_turnover)
from .params import Derived
from .state import State, org_means

COUNTERS = ("encounters", "successes", "ties_formed", "ties_lost", "leavers_a", "leavers_b",
            "influence_pairs")


class StepContext:
    """What one week's submodels report besides the state: events and counters."""

    def __init__(self):
        self.t = 0
        self.events: list[dict] = []
        self.in_conflict = False
        self.reset(0)

    def reset(self, t: int) -> None:
        self.t = t
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.factor = np.ones(2)
        self.gap = float("nan")
        self.conflict = False

    def event(self, kind: str, org, **detail) -> None:
        self.events.append({"step": self.t, "kind": kind, "org": None if org is None else "AB"[org], **detail})

    def count(self, name: str, k: int) -> None:
        self.counts[name] += k

    def note_gap(self, gap: float, threshold: float) -> None:
        self.gap = gap
        self.conflict = gap > threshold
        if self.conflict and not self.in_conflict:
            self.event("message_conflict", None, gap=round(gap, 4))
        self.in_conflict = self.conflict


def step(st: State, P: Derived, rng: np.random.Generator, ctx: StepContext) -> None:
    """Advance the state by one week (fast engine)."""
    on = P.on
    n = st.n
    if on["leadership_turnover"]:
        leadership.apply(st, P, ctx, leadership.draw(rng, st.l_org.size))
    if on["messaging"]:
        messaging.apply(st, P, ctx, messaging.draw(rng, n))
    if on["engagement"]:
        engagement.apply(st, P, ctx, engagement.draw(rng, n))
    if on["initiative_load"]:
        initiative.apply(st, P, ctx, None)
    if on["joint_working"]:
        joint_working.apply(st, P, ctx, joint_working.draw(rng, st.x_u.size))
    if on["competition"]:
        competition.apply(st, P, ctx, None)
    if on["peer_influence"]:
        peer_influence.apply(st, P, ctx, peer_influence.draw(rng, P, n, st.e_u.size, st.x_u.size))
    if on["adoption"]:
        adoption.apply(st, P, ctx, adoption.draw(rng, n))
    if on["embedding"]:
        embedding.apply(st, P, ctx, None)
    if on["staff_turnover"]:
        staff_turnover.apply(st, P, ctx, rng)


# --- per-step metrics ------------------------------------------------------------
ORG_METRICS = {
    "culture": "culture", "partner_trust": "tp", "leader_trust": "tl",
    "loyalty": "loyalty", "fatigue": "fatigue", "adoption": "adopted",
}
METRICS = (
    [f"{m}_{o}" for m in ORG_METRICS for o in "ab"]
    + ["board_commitment_a", "board_commitment_b", "interim_seats_a", "interim_seats_b",
       "cross_ties", "message_gap", "message_conflict"]
    + list(COUNTERS)
    + ["trust_min", "adoption_min", "board_min"]
)


def measure(st: State, P: Derived, ctx: StepContext) -> dict:
    out = {}
    for name, attr in ORG_METRICS.items():
        a, b = org_means(getattr(st, attr), P.n_a).tolist()
        out[f"{name}_a"], out[f"{name}_b"] = a, b
    board = st.l_commit.reshape(2, -1).mean(axis=1).tolist()
    interim = st.l_vacant.reshape(2, -1).sum(axis=1).tolist()
    out["board_commitment_a"], out["board_commitment_b"] = board
    out["interim_seats_a"], out["interim_seats_b"] = interim
    out["cross_ties"] = int(st.x_u.size)
    out["message_gap"] = ctx.gap
    out["message_conflict"] = int(ctx.conflict)
    out.update(ctx.counts)
    out["trust_min"] = min(out["partner_trust_a"], out["partner_trust_b"])
    out["adoption_min"] = min(out["adoption_a"], out["adoption_b"])
    out["board_min"] = min(out["board_commitment_a"], out["board_commitment_b"])
    return out
