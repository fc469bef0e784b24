"""7.8 Adopting (and abandoning) the shared improvement method.

Evidence: the four barrier areas (briefing; Health Foundation 2015): the method's difficulty, resistance,
no trust in the process, no improvement culture; and "alignment of improvement methodologies with
regulatory priorities".

Readiness ``z = adoption_bias + a_c (c - 0.5) + a_t (tl - 0.5) - a_f fatigue - a_d method_difficulty
- a_r rho + a_g (regulatory_alignment - 0.5)``, ``rho`` the person's resistance (role and union, the rule
of 7.3). A non-user adopts with probability ``adoption_rate logistic(z)``; a user abandons with
probability ``abandon_rate logistic(-z)``.

Draws: ``decide`` (slot = staff row).
"""

from __future__ import annotations

import math

from .. import streams
from ..jit import kernel
from ..layout import Mechanism, derived
from .engagement import RESISTANCE_PARAMS, union_terms, union_terms_reference


def readiness_constant(sc, world=None) -> float:
    """The part of the readiness to adopt that is the same for everyone."""
    return (
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
        **RESISTANCE_PARAMS,
    },
    draws=("decide",),
)
P, D = MECHANISM.P, MECHANISM.D


@kernel
def step(t, p, keys, role, union, culture, tl, fatigue, adopted):
    h = streams.week_key(keys[D.decide], t)
    for i in range(role.size):
        _, rho = union_terms(
            0.0, p[P.resistance + role[i]], union[i], p[P.union_stance], p[P.union_amplification], p[P.unions_on]
        )
        z = (
            p[P.readiness_constant]
            + p[P.adoption_culture_weight] * (culture[i] - 0.5)
            + p[P.adoption_trust_weight] * (tl[i] - 0.5)
            - p[P.adoption_fatigue_weight] * fatigue[i]
            - p[P.adoption_resistance_weight] * rho
        )
        u = streams.uniform(h, i)
        if adopted[i]:
            adopted[i] = not (u < p[P.abandon_rate] / (1.0 + math.exp(z)))
        else:
            adopted[i] = u < p[P.adoption_rate] / (1.0 + math.exp(-z))


def reference(m, t) -> None:
    v = m.values(MECHANISM)
    for person in m.people:
        _, rho = union_terms_reference(0.0, v.resistance[person.role], person.union, v)
        z = (
            v.readiness_constant
            + v.adoption_culture_weight * (person.culture - 0.5)
            + v.adoption_trust_weight * (person.tl - 0.5)
            - v.adoption_fatigue_weight * person.fatigue
            - v.adoption_resistance_weight * rho
        )
        u = m.uniform(MECHANISM, "decide", t, person.index)
        if person.adopted:
            person.adopted = not (u < v.abandon_rate / (1.0 + math.exp(z)))
        else:
            person.adopted = bool(u < v.adoption_rate / (1.0 + math.exp(-z)))
