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

Growth and decline (``staff.growth_per_year`` = g, not 0; docs/ODD.md 7.10):
trust o aims at ``round(H_o (1+g)^(t/52))`` staff in post after week t (at
least 1). Leavers leave as above; their posts fall vacant; then vacant posts,
lowest row first, are filled by newcomers until the target is met. A
shrinking trust therefore declines by not replacing leavers (no
redundancies), and a trust cannot shrink faster than its staff leave. Means
are taken over the staff in post.
"""

from __future__ import annotations

import numpy as np

from ..params import target_headcount
from ..state import beta_draw, org_means_present


def draw_leave(rng: np.random.Generator, n: int):
    return rng.random(n)


def draw_newcomers(rng: np.random.Generator, P, orgs: np.ndarray):
    """Union membership, culture, partner trust and leadership trust of ``orgs.size`` newcomers."""
    k = orgs.size
    o = orgs.astype(np.int64)
    sc = P.sc
    union = rng.random(k) < sc["staff.union_density"]
    means = np.concatenate(
        [
            np.array([sc["staff.hire_culture_a"], sc["staff.hire_culture_b"]])[o],
            np.full(k, P.partner_trust_mean),
            np.array([sc["staff.leader_trust_a"], sc["staff.leader_trust_b"]])[o],
        ]
    )
    x = beta_draw(rng, means, sc["organisations.attitude_sd"], 3 * k)
    return union, x[:k], x[k : 2 * k], x[2 * k :]


def leave_prob(tl, fatigue, P):
    lam = P.leave_rate_week * np.exp(
        P["staff.turnover_trust_sensitivity"] * (0.5 - tl) + P["staff.turnover_fatigue_sensitivity"] * (fatigue - 0.5)
    )
    return 1.0 - np.exp(-lam)


def vacancies_to_fill(present: np.ndarray, n_a: int, target: np.ndarray) -> np.ndarray:
    """Rows of the vacant posts filled this week: the lowest vacant rows of each trust, up to its target."""
    rows = []
    for lo, hi, want in ((0, n_a, target[0]), (n_a, present.size, target[1])):
        free = np.flatnonzero(~present[lo:hi])
        short = int(want) - (hi - lo - free.size)
        rows.append(free[: max(short, 0)] + lo)
    return np.concatenate(rows)


def apply(st, P, ctx, rng) -> None:
    u = draw_leave(rng, st.n)
    leave = u < leave_prob(st.tl, st.fatigue, P)
    n_a = P.n_a
    present = st.present
    if present is not None:
        leave &= present
    # Socialisation of everyone toward their organisation's mean (leavers are overwritten below).
    mean = org_means_present(st.culture, n_a, present)
    target = np.empty(st.n)
    target[:n_a], target[n_a:] = mean[0], mean[1]
    pull = P["staff.socialisation_rate"] * np.exp(-st.tenure / P["staff.socialisation_weeks"])
    c = st.culture
    st.culture = c + pull * (target - c)
    st.tenure += 1
    if present is None:
        idx = np.flatnonzero(leave)  # newcomers take the leavers' posts
    else:
        present &= ~leave  # leavers' posts fall vacant; some are filled
        idx = vacancies_to_fill(present, n_a, target_headcount(P.headcount0, P.growth_week, ctx.t))
        present[idx] = True
    union, culture, tp, tl = draw_newcomers(rng, P, st.org[idx])
    st.culture[idx] = culture
    st.tenure[idx] = 0
    st.union[idx] = union
    st.tp[idx] = tp
    st.tl[idx] = tl
    st.loyalty[idx] = P["staff.newcomer_loyalty"]
    st.fatigue[idx] = 0.0
    st.adopted[idx] = False
    if st.x_u.size and leave.any():
        keep = ~(leave[st.x_u] | leave[st.x_v])
        ctx.count("ties_lost", int(keep.size - np.count_nonzero(keep)))
        st.x_u, st.x_v, st.x_w = st.x_u[keep], st.x_v[keep], st.x_w[keep]
    n_left = int(np.count_nonzero(leave))
    n_left_a = int(np.count_nonzero(leave[:n_a]))
    ctx.count("leavers_a", n_left_a)
    ctx.count("leavers_b", n_left - n_left_a)
