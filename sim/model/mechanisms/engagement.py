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


def resistance(st, P, idx=None) -> np.ndarray:
    """Resistance of everyone (or of rows ``idx``), vectorised."""
    role = st.role if idx is None else st.role[idx]
    rho = P.resistance_role[role]
    if P.on["unions"] and P.union_stance != 0:
        union = st.union if idx is None else st.union[idx]
        u = P["staff.union_amplification"]
        rho = np.where(union, rho * (1.0 - u) if P.union_stance > 0 else rho + u * (1.0 - rho), rho)
    return rho


def apply(st, P, ctx, draws) -> None:
    idx = np.flatnonzero(draws < P.engage_prob)
    e = P["partnership.engagement_authenticity"]
    target = np.full(idx.size, e)
    if P.on["unions"] and P.union_stance != 0:
        u = P["staff.union_amplification"]
        target = np.where(st.union[idx], e + u * (1.0 - e) if P.union_stance > 0 else e * (1.0 - u), target)
    q = P["partnership.engagement_influence"] * (1.0 - resistance(st, P, idx))
    tl = st.tl[idx]
    st.tl[idx] = tl + q * (target - tl)
