"""7.13 The buddy's capacity and its board's willingness to continue.

Evidence: the partner trust gives its staff's time to A, is reimbursed, and may get a bonus if its help
produces results (CQC/Monitor 2014 guidance on special measures); a partner "with its eyes open" weighs
its own organisation's capacity (briefing); the buddy can withdraw.

Support load ``l`` is the joint-working encounters B's staff can expect, per member of B's staff per year:
``l = (cross ties) x (weekly chance a tie's pair meets, at the contact scale) x 52 / (B's staff in post)``
(0 once the partnership has failed). B's strain follows it, ``sigma += (l / buddy_capacity - sigma) /
strain_weeks`` (1 = at capacity). Above capacity, every B executive's commitment erodes,
``c *= 1 - strain_cost max(0, sigma - 1)``, and B's quality of care suffers (7.12); A's progress rewards it,
``c += success_bonus dQ_A`` with ``dQ_A`` this week's change in A's quality (a decline costs commitment).
B's board withdrawing (its commitment below the failure floor, 7.11) is the buddy withdrawing. No randomness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jit import kernel
from ..layout import Mechanism, derived, running_sum
from ..state import W
from ..types import Bools, Floats, Int8s, Ints
from .joint_working import scaled_prob, tie_meet_prob

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MECHANISM = Mechanism(
    "buddy_support",
    params={
        "tie_meet_prob": derived(lambda sc, w: tie_meet_prob(sc), "weekly chance a tie's pair meets"),
        "buddy_capacity": "partnership.buddy_capacity",
        "strain_weeks": "partnership.strain_weeks",
        "strain_cost": "partnership.strain_cost",
        "success_bonus": "partnership.success_bonus",
    },
    memory={"quality_a_before": "quality.quality_a"},
)
P, G = MECHANISM.P, MECHANISM.G


@kernel
def step(
    n_a: int,
    p: Floats,
    memory: Floats,
    org: Int8s,
    present: Bools,
    l_org: Int8s,
    l_commit: Floats,
    x_u: Ints,
    world: Floats,
) -> None:
    active = world[W.partnership_active] != 0.0
    head_b = 0.0
    for i in range(n_a, org.size):
        if present[i]:
            head_b += 1.0
    load = 0.0
    if active:
        load = x_u.size * scaled_prob(p[P.tie_meet_prob], world[W.contact_scale]) * 52.0 / head_b
    world[W.strain_b] = world[W.strain_b] + (load / p[P.buddy_capacity] - world[W.strain_b]) / p[P.strain_weeks]
    dq = world[W.quality_a] - memory[G.quality_a_before]
    memory[G.quality_a_before] = world[W.quality_a]
    if not active:
        return
    over = max(0.0, world[W.strain_b] - 1.0)
    for s in range(l_org.size // 2, l_org.size):
        c = l_commit[s] * (1.0 - p[P.strain_cost] * over) + p[P.success_bonus] * dq
        l_commit[s] = min(max(c, 0.0), 1.0)


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    active = m.world_value("partnership_active") != 0.0
    head_b = running_sum(1.0 for p in m.people if p.org == 1 and p.present)
    load = 0.0
    if active:
        meet = v.tie_meet_prob
        scale = m.world_value("contact_scale")
        meet = meet if scale == 1.0 else 1.0 - (1.0 - meet) ** scale
        load = len(m.ties) * meet * 52.0 / head_b
    strain = m.world_value("strain_b")
    strain = strain + (load / v.buddy_capacity - strain) / v.strain_weeks
    m.set_world("strain_b", strain)
    memory = m.memory[MECHANISM.name]
    dq = m.world_value("quality_a") - memory["quality_a_before"]
    memory["quality_a_before"] = m.world_value("quality_a")
    if not active:
        return
    over = max(0.0, strain - 1.0)
    for ld in m.leaders:
        if ld.org == 1:
            ld.commit = min(1.0, max(0.0, ld.commit * (1.0 - v.strain_cost * over) + v.success_bonus * dq))
