"""7.2 Each board's weekly message about the partnership, and its alignment across the two.

Evidence: "clear and consistent messaging across partner organisations"; "lack of strong leadership and
shared vision" as a barrier (briefing).

Board stance ``C_o`` is the mean commitment over the organisation's seats. Message
``m_o = clip(a (C_A + C_B)/2 + (1 - a)(C_o + message_noise eps_o), 0, 1)`` with ``a = message_alignment``.
The gap ``g = |m_A - m_B|``; a gap above ``conflict_threshold`` is a message conflict (logged when a spell
starts). A member of staff hears their own board's message with probability
``V_o = visibility_o * mean over seats (1, or interim_visibility for an interim)``, and then
``tl += r (1-g)(m_o - tl) - k g tl`` and ``tp += r (1-g)(m_o - tp)`` (``r = message_influence``,
``k = conflict_cost``): consistent messages pull trust toward the boards' stance, inconsistent ones cost
trust in the process.

Draws: ``noise`` (standard normal, slot = organisation), ``hear`` (slot = staff row).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .. import streams
from ..jit import kernel
from ..layout import FLOAT, INT, Event, Mechanism, emit, per_org, running_sum
from ..types import Bools, Floats, Int8s, Ints, Keys

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MECHANISM = Mechanism(
    "messaging",
    params={
        "message_alignment": "leadership.message_alignment",
        "message_noise": "leadership.message_noise",
        "conflict_threshold": "leadership.conflict_threshold",
        "message_influence": "leadership.message_influence",
        "conflict_cost": "leadership.conflict_cost",
        "visibility": per_org("leadership.visibility_a", "leadership.visibility_b"),
        "interim_visibility": "leadership.interim_visibility",
    },
    draws=("noise", "hear"),
    outputs={"message_gap": (FLOAT, math.nan), "message_conflict": (INT, 0)},
    memory={"in_conflict": 0.0},
    events=(Event("message_conflict", (("gap", FLOAT),)),),
)
P, D, OUT, G, E = MECHANISM.P, MECHANISM.D, MECHANISM.OUT, MECHANISM.G, MECHANISM.E


@kernel
def step(
    t: int,
    p: Floats,
    keys: Keys,
    out: Floats,
    memory: Floats,
    ev: Floats,
    n_ev: Ints,
    org: Int8s,
    tl: Floats,
    tp: Floats,
    l_org: Int8s,
    l_commit: Floats,
    l_vacant: Bools,
) -> None:
    k_seats = l_org.size // 2
    stance_a = 0.0
    stance_b = 0.0
    seen_a = 0.0
    seen_b = 0.0
    for s in range(k_seats):
        stance_a += l_commit[s]
        seen_a += p[P.interim_visibility] if l_vacant[s] else 1.0
    for s in range(k_seats, 2 * k_seats):
        stance_b += l_commit[s]
        seen_b += p[P.interim_visibility] if l_vacant[s] else 1.0
    stance_a /= k_seats
    stance_b /= k_seats
    vis_a = p[P.visibility] * (seen_a / k_seats)
    vis_b = p[P.visibility + 1] * (seen_b / k_seats)
    h_noise = streams.week_key(keys[D.noise], t)
    a = p[P.message_alignment]
    joint = a * (stance_a + stance_b) / 2.0
    m_a = min(max(joint + (1.0 - a) * (stance_a + p[P.message_noise] * streams.normal(h_noise, 0)), 0.0), 1.0)
    m_b = min(max(joint + (1.0 - a) * (stance_b + p[P.message_noise] * streams.normal(h_noise, 1)), 0.0), 1.0)
    gap = abs(m_a - m_b)
    conflict = gap > p[P.conflict_threshold]
    if conflict and memory[G.in_conflict] == 0.0:
        emit(ev, n_ev, E.message_conflict, -1, gap, 0.0)
    memory[G.in_conflict] = 1.0 if conflict else 0.0
    out[OUT.message_gap] = gap
    out[OUT.message_conflict] = 1.0 if conflict else 0.0
    r = p[P.message_influence] * (1.0 - gap)
    k = p[P.conflict_cost] * gap
    h_hear = streams.week_key(keys[D.hear], t)
    for i in range(org.size):
        if org[i] == 0:
            heard, mo = streams.uniform(h_hear, i) < vis_a, m_a
        else:
            heard, mo = streams.uniform(h_hear, i) < vis_b, m_b
        if heard:
            x = tl[i]
            tl[i] = x + r * (mo - x) - k * x
            y = tp[i]
            tp[i] = y + r * (mo - y)


def reference(m: ReferenceEngine, t: int) -> None:
    """The two boards' messages, then each member of staff who hears theirs."""
    v = m.values(MECHANISM)
    stance, vis = [], []
    for o in (0, 1):
        seats = [ld for ld in m.leaders if ld.org == o]
        stance.append(running_sum(ld.commit for ld in seats) / len(seats))
        seen = running_sum(v.interim_visibility if ld.vacant else 1.0 for ld in seats)
        vis.append(v.visibility[o] * (seen / len(seats)))
    a = v.message_alignment
    msg = [
        min(
            1.0,
            max(
                0.0,
                a * (stance[0] + stance[1]) / 2.0
                + (1.0 - a) * (stance[o] + v.message_noise * m.normal(MECHANISM, "noise", t, o)),
            ),
        )
        for o in (0, 1)
    ]
    gap = abs(msg[0] - msg[1])
    conflict = gap > v.conflict_threshold
    memory = m.memory[MECHANISM.name]
    if conflict and not memory["in_conflict"]:
        m.event(MECHANISM, "message_conflict", None, gap=gap)
    memory["in_conflict"] = 1.0 if conflict else 0.0
    m.output(MECHANISM, "message_gap", gap)
    m.output(MECHANISM, "message_conflict", int(conflict))
    r = v.message_influence * (1.0 - gap)
    k = v.conflict_cost * gap
    for person in m.people:
        if m.uniform(MECHANISM, "hear", t, person.index) < vis[person.org]:
            mo = msg[person.org]
            person.tl = person.tl + r * (mo - person.tl) - k * person.tl
            person.tp = person.tp + r * (mo - person.tp)
