"""Leadership turnover, interim periods and what a departure does to staff trust.

Evidence: "stable and visible leadership across both organisations" (briefing);
chief executives' median tenure ~11 months in inadequate-rated trusts against
> 7 years in outstanding ones (HSJ 2017); 7 of 24 trusts in special measures in
2013 had interim chief executives.

Each permanent executive leaves in a week with probability
``1 - exp(-turnover/52)``. A vacated seat is held by an interim (commitment
``interim_commitment``, visibility scaled by ``interim_visibility``) until a
permanent appointment, which happens with weekly probability
``1/interim_weeks`` (immediately if ``interim_weeks`` is 0). A new permanent
leader's commitment is ``clip(commitment_o + commitment_sd * z)``. Each
departure multiplies the trust of the organisation's staff in their leadership
by ``1 - departure_shock * w`` (``w = ceo_multiplier`` for seat 0, else 1).
"""

from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, seats: int):
    return rng.random(seats), rng.random(seats), rng.standard_normal(seats)


def shock_weight(P, seat: int) -> float:
    return P["leadership.ceo_multiplier"] if seat == 0 else 1.0


def apply(st, P, ctx, draws) -> None:
    u_leave, u_appoint, z = draws
    lo = st.l_org.astype(np.int64)
    vacant0 = st.l_vacant.copy()
    appoint = vacant0 & (u_appoint < P.appoint_prob)
    leave = ~vacant0 & (u_leave < P.leave_prob[lo])
    immediate = P.appoint_prob >= 1.0
    new_commit = np.clip(P.commitment_mean[lo] + P["leadership.commitment_sd"] * z, 0.0, 1.0)

    fresh = appoint | (leave & immediate)
    st.l_commit = np.where(fresh, new_commit, st.l_commit)
    if not immediate:
        st.l_commit = np.where(leave, P["leadership.interim_commitment"], st.l_commit)
        st.l_vacant = (vacant0 & ~appoint) | leave
    st.l_tenure = np.where(appoint | leave, 0, st.l_tenure + 1)

    shock = P["leadership.departure_shock"]
    for s in np.flatnonzero(appoint | leave):
        org = int(st.l_org[s])
        if leave[s]:
            ctx.factor[org] *= 1.0 - shock * shock_weight(P, int(st.l_seat[s]))
            ctx.event("departure", org, seat=int(st.l_seat[s]), interim=not immediate)
        else:
            ctx.event("appointment", org, seat=int(st.l_seat[s]))
    if leave.any():
        st.tl = st.tl * ctx.factor[st.org]
