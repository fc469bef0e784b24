"""Peer influence on improvement culture: bounded confidence (Deffuant et al. 2000).

Evidence: "a lack of culture of improvement" as a barrier; culture spreads
through colleagues, but only between people whose views are close enough
(Deffuant, Neau, Amblard & Weisbuch 2000; Ben-Naim, Krapivsky & Redner 2003).

Each week people are paired by a random matching. With ``mixing = "network"``
every work tie and every cross-organisation tie gets a uniform random
priority and a tie is chosen when its priority is the highest among all ties
of both its ends (a random matching computed locally). With
``mixing = "well_mixed"`` a uniform random permutation of all staff is cut into
consecutive pairs (a random perfect matching). For a pair (i, j) with
``|c_j - c_i| < confidence_bound``:
``c_i += mu w_i (c_j - c_i)`` and ``c_j += mu w_j (c_i - c_j)``,
``mu = convergence``, ``w_i = 1`` within an organisation and ``w_i = tp_i``
(trust in the partner) across. Pairs are disjoint, so synchronous and
sequential updating coincide; with one organisation (or full trust) and
nothing else switched on, this is exactly the Deffuant-Weisbuch model with
N/2 encounters per step.
"""

from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, P, n: int, n_edges: int, n_ties: int):
    if P["culture.mixing"] == "well_mixed":
        return rng.permutation(n)
    return rng.random(n_edges + n_ties)


def pairs(st, P, draws) -> tuple[np.ndarray, np.ndarray]:
    if P["culture.mixing"] == "well_mixed":
        perm = draws
        m = perm.size // 2
        return perm[0 : 2 * m : 2], perm[1 : 2 * m : 2]
    E = st.e_u.size
    pr_e, pr_x = draws[:E], draws[E:]
    node_max = np.full(st.n, -1.0)
    has = st.inc_ptr[1:] > st.inc_ptr[:-1]
    if E:
        node_max[has] = np.maximum.reduceat(pr_e[st.inc_edge], st.inc_ptr[:-1][has])
    if pr_x.size:
        np.maximum.at(node_max, st.x_u, pr_x)
        np.maximum.at(node_max, st.x_v, pr_x)
    se = (pr_e == node_max[st.e_u]) & (pr_e == node_max[st.e_v])
    sx = (pr_x == node_max[st.x_u]) & (pr_x == node_max[st.x_v])
    return np.concatenate([st.e_u[se], st.x_u[sx]]), np.concatenate([st.e_v[se], st.x_v[sx]])


def apply(st, P, ctx, draws) -> None:
    i, j = pairs(st, P, draws)
    c = st.culture
    ci, cj = c[i], c[j]
    diff = cj - ci
    close = np.abs(diff) < P["culture.confidence_bound"]
    same = st.org[i] == st.org[j]
    wi = np.where(same, 1.0, st.tp[i])
    wj = np.where(same, 1.0, st.tp[j])
    mu = P["culture.convergence"]
    c = c.copy()
    c[i] = np.where(close, ci + mu * wi * diff, ci)
    c[j] = np.where(close, cj - mu * wj * diff, cj)
    st.culture = c
    ctx.count("influence_pairs", int(close.sum()))
