"""The fast engine: one week of the model over arrays, in the fixed submodel order.

ODD "Process overview and scheduling": each week the submodels run in the
order of :data:`PIPELINE`; within a submodel every update is
computed from the state at the start of that submodel (synchronous); a
switched-off submodel neither changes the state nor draws random numbers.
"""

from __future__ import annotations

import numpy as np

from .mechanisms import (
    adoption,
    competition,
    embedding,
    engagement,
    initiative,
    joint_working,
    leadership,
    messaging,
    peer_influence,
    staff_turnover,
)
from .params import Derived
from .state import State, org_means_present

COUNTERS = ("encounters", "successes", "ties_formed", "ties_lost", "leavers_a", "leavers_b", "influence_pairs")


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


def _leadership(st, P, rng, ctx):
    leadership.apply(st, P, ctx, leadership.draw(rng, st.l_org.size))


def _messaging(st, P, rng, ctx):
    messaging.apply(st, P, ctx, messaging.draw(rng, st.n))


def _engagement(st, P, rng, ctx):
    engagement.apply(st, P, ctx, engagement.draw(rng, st.n))


def _initiative(st, P, rng, ctx):
    initiative.apply(st, P, ctx, None)


def _joint_working(st, P, rng, ctx):
    joint_working.apply(st, P, ctx, joint_working.draw(rng, st.x_u.size))


def _competition(st, P, rng, ctx):
    competition.apply(st, P, ctx, None)


def _peer_influence(st, P, rng, ctx):
    peer_influence.apply(st, P, ctx, peer_influence.draw(rng, P, st.n, st.e_u.size, st.x_u.size))


def _adoption(st, P, rng, ctx):
    adoption.apply(st, P, ctx, adoption.draw(rng, st.n))


def _embedding(st, P, rng, ctx):
    embedding.apply(st, P, ctx, None)


def _staff_turnover(st, P, rng, ctx):
    staff_turnover.apply(st, P, ctx, rng)


#: (switch in ``[mechanisms]``, weekly update) in the fixed order of docs/ODD.md section 3.
PIPELINE = (
    ("leadership_turnover", _leadership),
    ("messaging", _messaging),
    ("engagement", _engagement),
    ("initiative_load", _initiative),
    ("joint_working", _joint_working),
    ("competition", _competition),
    ("peer_influence", _peer_influence),
    ("adoption", _adoption),
    ("embedding", _embedding),
    ("staff_turnover", _staff_turnover),
)


def step(st: State, P: Derived, rng: np.random.Generator, ctx: StepContext) -> None:
    """Advance the state by one week (fast engine)."""
    on = P.on
    for switch, update in PIPELINE:
        if on[switch]:
            update(st, P, rng, ctx)


# --- per-step metrics ------------------------------------------------------------
ORG_METRICS = {
    "culture": "culture",
    "partner_trust": "tp",
    "leader_trust": "tl",
    "loyalty": "loyalty",
    "fatigue": "fatigue",
    "adoption": "adopted",
}
METRICS = (
    [f"{m}_{o}" for m in ORG_METRICS for o in "ab"]
    + [
        "board_commitment_a",
        "board_commitment_b",
        "interim_seats_a",
        "interim_seats_b",
        "headcount_a",
        "headcount_b",
        "cross_ties",
        "message_gap",
        "message_conflict",
    ]
    + list(COUNTERS)
    + ["trust_min", "adoption_min", "board_min"]
)


def measure(st: State, P: Derived, ctx: StepContext) -> dict:
    out = {}
    present = st.present
    for name, attr in ORG_METRICS.items():
        a, b = org_means_present(getattr(st, attr), P.n_a, present).tolist()
        out[f"{name}_a"], out[f"{name}_b"] = a, b
    board = st.l_commit.reshape(2, -1).mean(axis=1).tolist()
    interim = st.l_vacant.reshape(2, -1).sum(axis=1).tolist()
    out["board_commitment_a"], out["board_commitment_b"] = board
    out["interim_seats_a"], out["interim_seats_b"] = interim
    if present is None:
        out["headcount_a"], out["headcount_b"] = P.n_a, P.n_b
    else:
        a = int(np.count_nonzero(present[: P.n_a]))
        out["headcount_a"], out["headcount_b"] = a, int(np.count_nonzero(present)) - a
    out["cross_ties"] = int(st.x_u.size)
    out["message_gap"] = ctx.gap
    out["message_conflict"] = int(ctx.conflict)
    out.update(ctx.counts)
    out["trust_min"] = min(out["partner_trust_a"], out["partner_trust_b"])
    out["adoption_min"] = min(out["adoption_a"], out["adoption_b"])
    out["board_min"] = min(out["board_commitment_a"], out["board_commitment_b"])
    return out
