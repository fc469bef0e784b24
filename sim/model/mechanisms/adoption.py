"""7.8 Adopting (and abandoning) the shared improvement method.

Evidence: the four barrier areas (briefing; Health Foundation 2015): the method's difficulty, resistance,
no trust in the process, no improvement culture; and "alignment of improvement methodologies with
regulatory priorities".

Practices spread from person to person: the more of one's contacts use an innovation, the readier one is to
adopt it (Rogers 2003; in health services, Greenhalgh et al. 2004), and ties across organisations carry it
(Centola & Macy 2007: wide bridges). A method that comes through a partner is accepted as far as the
partner is trusted. The regime's support (an improvement director, resources, scrutiny) helps while it
lasts; whether improvement survives its end is "time for improvement to embed" (briefing).

Readiness ``z = adoption_bias + a_c (c - 0.5) + a_t (tl - 0.5) - a_f fatigue - a_d method_difficulty
- a_r rho + a_g (regulatory_alignment - 0.5) + a_e (exposure - 0.5) + a_p (tp - 0.5) + a_s SM``, ``rho``
the person's resistance (role and union, the rule of 7.3), ``exposure`` the share of the person's contacts
using the method at the start of the week (work colleagues, and partners across the partnership while it is
active; 0.5 for someone with no contacts), ``SM`` 1 for A's staff while A is in special measures. A
non-user adopts with probability ``adoption_rate logistic(z)``; a user abandons with probability
``abandon_rate logistic(-z)``.

Draws: ``decide`` (slot = staff row).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ...scenario import Scenario
from .. import streams
from ..jit import kernel
from ..layout import Mechanism, derived
from ..params import World
from ..state import W
from ..types import Bools, Floats, Int8s, Ints, Keys
from .engagement import RESISTANCE_PARAMS, union_terms, union_terms_reference

if TYPE_CHECKING:
    from ..reference import ReferenceEngine


def readiness_constant(sc: Scenario, world: World | None = None) -> float:
    """The part of the readiness to adopt that is the same for everyone."""
    return float(
        sc["initiative.adoption_bias"]
        - sc["initiative.adoption_difficulty_weight"] * sc["initiative.method_difficulty"]
        + sc["initiative.adoption_alignment_weight"] * (sc["system.regulatory_alignment"] - 0.5)
    )


MECHANISM = Mechanism(
    "adoption",
    params={
        "readiness_constant": derived(readiness_constant, "readiness common to everyone"),
        "adoption_culture_weight": "initiative.adoption_culture_weight",
        "adoption_trust_weight": "initiative.adoption_trust_weight",
        "adoption_fatigue_weight": "initiative.adoption_fatigue_weight",
        "adoption_resistance_weight": "initiative.adoption_resistance_weight",
        "adoption_rate": "initiative.adoption_rate",
        "abandon_rate": "initiative.abandon_rate",
        "adoption_peer_weight": "initiative.adoption_peer_weight",
        "adoption_partner_weight": "initiative.adoption_partner_weight",
        "adoption_support_weight": "initiative.adoption_support_weight",
        **RESISTANCE_PARAMS,
    },
    draws=("decide",),
)
P, D = MECHANISM.P, MECHANISM.D


@kernel
def step(
    t: int,
    n_a: int,
    p: Floats,
    keys: Keys,
    role: Int8s,
    union: Bools,
    culture: Floats,
    tl: Floats,
    tp: Floats,
    fatigue: Floats,
    adopted: Bools,
    inc_ptr: Ints,
    nbr: Ints,
    x_u: Ints,
    x_v: Ints,
    world: Floats,
) -> None:
    n = role.size
    # exposure: the share of each person's contacts who use the method, at the start of the week
    users = np.zeros(n)
    contacts = np.zeros(n)
    for i in range(n):
        for k in range(inc_ptr[i], inc_ptr[i + 1]):
            contacts[i] += 1.0
            if adopted[nbr[k]]:
                users[i] += 1.0
    if world[W.partnership_active] != 0.0:
        for q in range(x_u.size):
            u = x_u[q]
            v = x_v[q]
            contacts[u] += 1.0
            contacts[v] += 1.0
            if adopted[v]:
                users[u] += 1.0
            if adopted[u]:
                users[v] += 1.0
    support = p[P.adoption_support_weight] if world[W.special_measures] != 0.0 else 0.0
    h = streams.week_key(keys[D.decide], t)
    for i in range(n):
        _, rho = union_terms(
            0.0, p[P.resistance + role[i]], union[i], p[P.union_stance], p[P.union_amplification], p[P.unions_on]
        )
        exposure = users[i] / contacts[i] if contacts[i] > 0.0 else 0.5
        z = (
            p[P.readiness_constant]
            + p[P.adoption_culture_weight] * (culture[i] - 0.5)
            + p[P.adoption_trust_weight] * (tl[i] - 0.5)
            - p[P.adoption_fatigue_weight] * fatigue[i]
            - p[P.adoption_resistance_weight] * rho
            + p[P.adoption_peer_weight] * (exposure - 0.5)
            + p[P.adoption_partner_weight] * (tp[i] - 0.5)
        )
        if i < n_a:
            z += support
        u = streams.uniform(h, i)
        if adopted[i]:
            adopted[i] = not (u < p[P.abandon_rate] / (1.0 + math.exp(z)))
        else:
            adopted[i] = u < p[P.adoption_rate] / (1.0 + math.exp(-z))


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    people = m.people
    users = [0.0] * len(people)
    contacts = [0.0] * len(people)
    for p in people:
        for j in p.colleagues:
            contacts[p.index] += 1.0
            if people[j].adopted:
                users[p.index] += 1.0
    if m.world_value("partnership_active") != 0.0:
        for tie in m.ties:
            contacts[tie.u] += 1.0
            contacts[tie.v] += 1.0
            if people[tie.v].adopted:
                users[tie.u] += 1.0
            if people[tie.u].adopted:
                users[tie.v] += 1.0
    support = v.adoption_support_weight if m.world_value("special_measures") != 0.0 else 0.0
    decisions = []
    for person in people:
        _, rho = union_terms_reference(0.0, v.resistance[person.role], person.union, v)
        exposure = users[person.index] / contacts[person.index] if contacts[person.index] > 0.0 else 0.5
        z = (
            v.readiness_constant
            + v.adoption_culture_weight * (person.culture - 0.5)
            + v.adoption_trust_weight * (person.tl - 0.5)
            - v.adoption_fatigue_weight * person.fatigue
            - v.adoption_resistance_weight * rho
            + v.adoption_peer_weight * (exposure - 0.5)
            + v.adoption_partner_weight * (person.tp - 0.5)
        )
        if person.org == 0:
            z += support
        u = m.uniform(MECHANISM, "decide", t, person.index)
        if person.adopted:
            decisions.append(not (u < v.abandon_rate / (1.0 + math.exp(z))))
        else:
            decisions.append(bool(u < v.adoption_rate / (1.0 + math.exp(-z))))
    for person, adopted in zip(people, decisions):  # synchronous: exposure is from the start of the week
        person.adopted = adopted
