"""Staff turnover, replacement hiring and socialisation of newcomers.

Evidence: trust-level staff turnover ~10-15% a year; culture as the balance of
who is hired, who leaves and how newcomers are socialised (Harrison & Carroll
1991); leaving rises with low trust and high fatigue.

A member of staff leaves this week with probability ``1 - exp(-lambda_i)``,
``lambda_i = (turnover_per_year/52) exp(b_t (0.5 - tl) + b_f (fatigue - 0.5))``.
The post is filled at once (headcount is conserved) by a newcomer in the same
team and role: union member with probability ``union_density``, culture from
Beta(hire_culture_o), partner trust and leadership trust from the initial
distributions, loyalty ``newcomer_loyalty``, no fatigue, not using the method,
tenure 0, and none of the leaver's cross-organisation ties. Everyone who stays
is socialised toward their organisation's mean culture (computed before the
replacements), ``c += socialisation_rate exp(-tenure/socialisation_weeks)
(mean_o - c)``, and gains a week of tenure.
"""

from __future__ import annotations

import numpy as np

from ..state import beta_draw


def draw_leave(rng: np.random.Generator, n: int):
    return rng.random(n)


def draw_newcomers(rng: np.random.Generator, P, orgs: np.ndarray):
    k = orgs.size
    o = orgs.astype(np.int64)
    sc = P.sc
    sd = sc["organisations.attitude_sd"]
    union = rng.random(k) < sc["staff.union_density"]
    culture = beta_draw(rng, np.array([sc["staff.hire_culture_a"], sc["staff.hire_culture_b"]])[o], sd, k)
    tp = beta_draw(rng, P.partner_trust_mean, sd, k)
    tl = beta_draw(rng, np.array([sc["staff.leader_trust_a"], sc["staff.leader_trust_b"]])[o], sd, k)
    return union, culture, tp, tl


def leave_prob(tl, fatigue, P):
    lam = P.leave_rate_week * np.exp(P["staff.turnover_trust_sensitivity"] * (0.5 - tl)
                                     + P["staff.turnover_fatigue_sensitivity"] * (fatigue - 0.5))
    return 1.0 - np.exp(-lam)


def apply(st, P, ctx, rng) -> None:
    u = draw_leave(rng, st.n)
    leave = u < leave_prob(st.tl, st.fatigue, P)
    c = st.culture
    mean = np.array([c[st.org == o].mean() for o in (0, 1)])
    pull = P["staff.socialisation_rate"] * np.exp(-st.tenure / P["staff.socialisation_weeks"])
    c = c + pull * (mean[st.org] - c)
    tenure = st.tenure + 1
    idx = np.flatnonzero(leave)
    union, nc, ntp, ntl = draw_newcomers(rng, P, st.org[idx])
    c[idx] = nc
    tenure[idx] = 0
    st.culture, st.tenure = c, tenure
    st.union = st.union.copy()
    st.union[idx] = union
    for name, value in (("tp", ntp), ("tl", ntl)):
        arr = getattr(st, name).copy()
        arr[idx] = value
        setattr(st, name, arr)
    st.loyalty = np.where(leave, P["staff.newcomer_loyalty"], st.loyalty)
    st.fatigue = np.where(leave, 0.0, st.fatigue)
    st.adopted = st.adopted & ~leave
    if idx.size and st.x_u.size:
        keep = ~(leave[st.x_u] | leave[st.x_v])
        ctx.count("ties_lost", int((~keep).sum()))
        st.x_u, st.x_v, st.x_w = st.x_u[keep], st.x_v[keep], st.x_w[keep]
    ctx.count("leavers_a", int(leave[:P.n_a].sum()))
    ctx.count("leavers_b", int(leave[P.n_a:].sum()))
