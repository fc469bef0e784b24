"""7.7 Peer influence on improvement culture: bounded confidence (Deffuant et al. 2000).

Evidence: "a lack of culture of improvement" as a barrier; culture spreads through colleagues, but only
between people whose views are close enough (Deffuant, Neau, Amblard & Weisbuch 2000; Ben-Naim,
Krapivsky & Redner 2003).

Each week people are paired by a random matching. With ``mixing = "network"`` every work tie and every
cross-organisation tie gets a uniform random priority and a tie is chosen when its priority is the highest
among all ties of both its ends (a random matching computed locally). With ``mixing = "well_mixed"`` a
uniform random permutation of all staff is cut into consecutive pairs (a random perfect matching). For a
pair (i, j) with ``|c_j - c_i| < confidence_bound``: ``c_i += mu w_i (c_j - c_i)`` and
``c_j += mu w_j (c_i - c_j)``, ``mu = convergence``, ``w_i = 1`` within an organisation and ``w_i = tp_i``
(trust in the partner) across. Pairs are disjoint, so synchronous and sequential updating coincide; with
one organisation (or full trust) and nothing else switched on, this is exactly the Deffuant-Weisbuch model
with N/2 encounters per step.

Extended contact: a pair of colleagues of the same trust also close ``extended_contact`` of the difference in
their trust in the partner, ``tp_i += e (tp_j - tp_i)`` and ``tp_j += e (tp_i - tp_j)``, whether or not their
cultures are close: knowing a colleague who works with the other group changes one's view of it (Wright,
Aron, McLaughlin-Volpe & Ropp 1997; the extended-contact effect, reviewed by Vezzali et al. 2014). It lets
the experience of the few who meet the partner spread through the work networks.

Draws: ``priority`` (slot = work tie), ``priority_cross`` (slot = the cross tie's pair ``u n + v``),
``permutation`` (well mixed: one Fisher-Yates shuffle of all staff a week).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import streams
from ..jit import inline_kernel, kernel
from ..layout import Mechanism, choice
from ..types import Floats, Int8s, Ints, Keys

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MIXING = {"network": 0, "well_mixed": 1}
WELL_MIXED = MIXING["well_mixed"]

MECHANISM = Mechanism(
    "peer_influence",
    params={
        "confidence_bound": "culture.confidence_bound",
        "convergence": "culture.convergence",
        "extended_contact": "culture.extended_contact",
        "mixing": choice("culture.mixing", MIXING),
    },
    draws=("priority", "priority_cross", "permutation"),
    counters=("influence_pairs",),
)
P, D, C = MECHANISM.P, MECHANISM.D, MECHANISM.C


@kernel
def step(
    t: int,
    p: Floats,
    keys: Keys,
    counts: Ints,
    org: Int8s,
    culture: Floats,
    tp: Floats,
    e_u: Ints,
    e_v: Ints,
    x_u: Ints,
    x_v: Ints,
) -> None:
    n = org.size
    if p[P.mixing] == WELL_MIXED:
        pairs = np.arange(n)  # shuffled, then read as consecutive pairs
        streams.shuffle(streams.week_key(keys[D.permutation], t), pairs)
        n_pairs = n // 2
    else:
        pairs, n_pairs = _network_matching(t, keys, n, e_u, e_v, x_u, x_v)
    # The encounters, written once for both kinds of matching. (Not a kernel called per pair: numba counts the
    # references of every array passed to a call, which cost several times the rule itself;
    # benchmarks/bench_peer_influence.py.)
    bound = p[P.confidence_bound]
    mu = p[P.convergence]
    extended = p[P.extended_contact]
    close = 0
    for q in range(n_pairs):
        i = pairs[2 * q]
        j = pairs[2 * q + 1]
        if org[i] == org[j]:
            wi = 1.0
            wj = 1.0
            if extended != 0.0:
                ti = tp[i]
                tj = tp[j]
                tp[i] = ti + extended * (tj - ti)
                tp[j] = tj + extended * (ti - tj)
        else:
            wi = tp[i]
            wj = tp[j]
        ci = culture[i]
        cj = culture[j]
        diff = cj - ci
        if abs(diff) < bound:
            culture[i] = ci + mu * wi * diff
            culture[j] = cj - mu * wj * diff
            close += 1
    counts[C.influence_pairs] += close


@inline_kernel
def _network_matching(t: int, keys: Keys, n: int, e_u: Ints, e_v: Ints, x_u: Ints, x_v: Ints) -> tuple[Ints, int]:
    """The week's pairs, flat (i0, j0, i1, j1, ...), work ties first, then cross ties, each in order: every tie
    gets a random priority and is chosen when its priority is the highest among all ties of both its ends."""
    h = streams.week_key(keys[D.priority], t)
    hx = streams.week_key(keys[D.priority_cross], t)
    n_e = e_u.size
    n_x = x_u.size
    best = np.full(n, -1.0)  # the highest priority among each person's ties
    pr = np.empty(n_e)
    for e in range(n_e):
        x = streams.uniform(h, e)
        pr[e] = x
        if x > best[e_u[e]]:
            best[e_u[e]] = x
        if x > best[e_v[e]]:
            best[e_v[e]] = x
    prx = np.empty(n_x)
    for q in range(n_x):
        x = streams.uniform(hx, x_u[q] * n + x_v[q])
        prx[q] = x
        if x > best[x_u[q]]:
            best[x_u[q]] = x
        if x > best[x_v[q]]:
            best[x_v[q]] = x
    pairs = np.empty(n + 1, np.int64)  # a matching has at most n / 2 pairs
    k = 0
    for e in range(n_e):
        if pr[e] == best[e_u[e]] and pr[e] == best[e_v[e]]:
            pairs[k] = e_u[e]
            pairs[k + 1] = e_v[e]
            k += 2
    for q in range(n_x):
        if prx[q] == best[x_u[q]] and prx[q] == best[x_v[q]]:
            pairs[k] = x_u[q]
            pairs[k + 1] = x_v[q]
            k += 2
    return pairs, k // 2


def reference(m: ReferenceEngine, t: int) -> None:
    """Pairs by the same random matching, then the Deffuant-Weisbuch rule pair by pair."""
    v = m.values(MECHANISM)
    people = m.people
    n = len(people)
    if v.mixing == WELL_MIXED:
        perm = m.permutation(MECHANISM, "permutation", t, n)
        pairs = [(int(perm[2 * k]), int(perm[2 * k + 1])) for k in range(n // 2)]
    else:
        best = [-1.0] * n
        priority = [m.uniform(MECHANISM, "priority", t, e) for e in range(len(m.edges))]
        for (a, b), x in zip(m.edges, priority):
            best[a], best[b] = max(best[a], x), max(best[b], x)
        cross = [m.uniform(MECHANISM, "priority_cross", t, tie.u * n + tie.v) for tie in m.ties]
        for tie, x in zip(m.ties, cross):
            best[tie.u], best[tie.v] = max(best[tie.u], x), max(best[tie.v], x)
        pairs = [(a, b) for (a, b), x in zip(m.edges, priority) if x == best[a] and x == best[b]]
        pairs += [(tie.u, tie.v) for tie, x in zip(m.ties, cross) if x == best[tie.u] and x == best[tie.v]]
    close = 0
    for i, j in pairs:
        a, b = people[i], people[j]
        if a.org == b.org and v.extended_contact != 0.0:
            ti, tj = a.tp, b.tp
            a.tp = ti + v.extended_contact * (tj - ti)
            b.tp = tj + v.extended_contact * (ti - tj)
        diff = b.culture - a.culture
        if abs(diff) < v.confidence_bound:
            wi = 1.0 if a.org == b.org else a.tp
            wj = 1.0 if a.org == b.org else b.tp
            ci, cj = a.culture, b.culture
            a.culture = ci + v.convergence * wi * diff
            b.culture = cj - v.convergence * wj * diff
            close += 1
    m.count(MECHANISM, "influence_pairs", close)
