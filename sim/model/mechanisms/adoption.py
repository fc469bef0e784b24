"""Adopting (and abandoning) the shared improvement method.

Evidence: the four barrier areas (briefing; Health Foundation 2015): the
method's difficulty, resistance, no trust in the process, no improvement
culture; and "alignment of improvement methodologies with regulatory
priorities".

Readiness ``z = adoption_bias + a_c (c - 0.5) + a_t (tl - 0.5) - a_f fatigue
- a_d method_difficulty - a_r rho + a_g (regulatory_alignment - 0.5)``,
``rho`` the person's resistance (role and union, see engagement). A non-user
adopts with probability ``adoption_rate * logistic(z)``; a user abandons with
probability ``abandon_rate * logistic(-z)``.
"""

from __future__ import annotations

import numpy as np

from . import engagement


def draw(rng: np.random.Generator, n: int):
    return rng.random(n)


def readiness_constant(P) -> float:
    return (
        P["initiative.adoption_bias"]
        - P["initiative.adoption_difficulty_weight"] * P["initiative.method_difficulty"]
        + P["initiative.adoption_alignment_weight"] * (P["system.regulatory_alignment"] - 0.5)
    )


def apply(st, P, ctx, draws) -> None:
    rho = engagement.resistance(st, P)
    z = (
        readiness_constant(P)
        + P["initiative.adoption_culture_weight"] * (st.culture - 0.5)
        + P["initiative.adoption_trust_weight"] * (st.tl - 0.5)
        - P["initiative.adoption_fatigue_weight"] * st.fatigue
        - P["initiative.adoption_resistance_weight"] * rho
    )
    p_adopt = P["initiative.adoption_rate"] / (1.0 + np.exp(-z))
    p_quit = P["initiative.abandon_rate"] / (1.0 + np.exp(z))
    a = st.adopted
    st.adopted = np.where(a, ~(draws < p_quit), draws < p_adopt)
