"""Staff engagement (authentic or tokenistic), resistance, and trade unions.

Evidence: "authentic engagement with staff groups"; "resistance from clinicians
and managers", "a lack of trust in the process" (briefing); the open question
of the role of trade unions.

Each week a member of staff is reached by an engagement activity with
probability ``1 - exp(-engagement_per_year/52)``. If reached,
``tl += q_i (target_i - tl)`` where ``q_i = engagement_influence * (1 - rho_i)``.
``target`` is the authenticity ``e``; ``rho_i`` is the resistance of the
person's role. Unions (if switched on) amplify for their members, with
``u = union_amplification``: as partners, ``target = e + u(1-e)`` and
``rho = rho_role (1-u)``; excluded, ``target = e(1-u)`` and
``rho = rho_role + u(1-rho_role)``; neutral, no change.
"""

from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, n: int):
    return rng.random(n)


def person_terms(role: int, union: bool, P) -> tuple[float, float]:
    """(engagement target, resistance) for one person: the rule in scalar form."""
    e = P["partnership.engagement_authenticity"]
    rho = float(P.resistance_role[role])
    if union and P.on["unions"]:
        u = P["staff.union_amplification"]
        if P.union_stance > 0:
            e, rho = e + u * (1.0 - e), rho * (1.0 - u)
        elif P.union_stance < 0:
            e, rho = e * (1.0 - u), rho + u * (1.0 - rho)
    return e, rho


def terms(st, P) -> tuple[np.ndarray, np.ndarray]:
    """(engagement target, resistance) for everyone, vectorised."""
    e = np.full(st.n, P["partnership.engagement_authenticity"])
    rho = P.resistance_role[st.role]
    if P.on["unions"] and P.union_stance != 0:
        u = P["staff.union_amplification"]
        if P.union_stance > 0:
            e = np.where(st.union, e + u * (1.0 - e), e)
            rho = np.where(st.union, rho * (1.0 - u), rho)
        else:
            e = np.where(st.union, e * (1.0 - u), e)
            rho = np.where(st.union, rho + u * (1.0 - rho), rho)
    return e, rho


def apply(st, P, ctx, draws) -> None:
    reached = draws < P.engage_prob
    target, rho = terms(st, P)
    q = P["partnership.engagement_influence"] * (1.0 - rho)
    st.tl = np.where(reached, st.tl + q * (target - st.tl), st.tl)
