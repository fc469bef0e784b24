"""The model's state as a struct of arrays, and its initialisation (ODD: Initialization).

Staff are rows ``0 .. n_a-1`` (organisation A) then ``n_a .. n_a+n_b-1``
(organisation B). Executive seats are rows of the ``l_*`` arrays, seat 0 of
each organisation being its chief executive. Every attitude lies in [0, 1].
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .networks import incidence, team_small_world
from .params import Derived

ROLE_CLINICAL, ROLE_MANAGERIAL, ROLE_SUPPORT = 0, 1, 2
MAX_TENURE = 45 * 52  # weeks: a working life


@dataclass
class State:
    # staff (length N)
    org: np.ndarray  # int8: 0 = A, 1 = B
    role: np.ndarray  # int8: 0 clinical, 1 managerial, 2 support
    union: np.ndarray  # bool: trade-union member
    tenure: np.ndarray  # int64: weeks in post
    culture: np.ndarray  # improvement culture
    tp: np.ndarray  # trust in the partner organisation
    tl: np.ndarray  # trust in own leadership and the partnership process
    loyalty: np.ndarray  # loyalty to own organisation
    fatigue: np.ndarray  # change fatigue
    adopted: np.ndarray  # bool: uses the shared improvement method
    # executive seats (length 2 * seats)
    l_org: np.ndarray  # int8
    l_seat: np.ndarray  # int64: 0 = chief executive
    l_commit: np.ndarray  # commitment to the partnership (board trust)
    l_vacant: np.ndarray  # bool: held by an interim
    l_tenure: np.ndarray  # int64 weeks
    # intra-organisation network (static: turnover replaces people in post)
    e_u: np.ndarray
    e_v: np.ndarray
    inc_ptr: np.ndarray
    inc_edge: np.ndarray
    nbr: np.ndarray
    # cross-organisation ties (dynamic): u in A, v in B
    x_u: np.ndarray
    x_v: np.ndarray
    x_w: np.ndarray
    # staff rows holding someone (only while headcounts change; None = every post filled)
    present: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.org.size

    def copy(self) -> State:
        return copy.deepcopy(self)


def org_means(values: np.ndarray, n_a: int) -> np.ndarray:
    """Mean of ``values`` over A (rows ``:n_a``) and over B (the rest), in one pass."""
    sums = np.add.reduceat(values, [0, n_a], dtype=np.float64)
    return sums / np.array([n_a, values.size - n_a])


def org_means_present(values: np.ndarray, n_a: int, present: np.ndarray | None) -> np.ndarray:
    """Mean of ``values`` over the staff in post in A and in B (all rows when ``present`` is None)."""
    if present is None:
        return org_means(values, n_a)
    sums = np.add.reduceat(values * present, [0, n_a], dtype=np.float64)
    return sums / np.add.reduceat(present, [0, n_a], dtype=np.float64)


def beta_draw(rng: np.random.Generator, mean, sd: float, size: int) -> np.ndarray:
    """Beta-distributed values in [0, 1] with the given mean(s) and standard deviation.

    ``mean`` may be a scalar or an array of length ``size``. A mean of exactly 0
    or 1, or ``sd == 0``, gives that constant (the scenario loader guarantees
    ``sd**2 < mean*(1-mean)`` otherwise). With ``sd > 0`` it consumes one Beta draw
    per value, so the random stream does not depend on the means.
    """
    m = np.broadcast_to(np.asarray(mean, dtype=float), (size,))
    if sd <= 0.0:
        return m.copy()
    interior = (m > 0.0) & (m < 1.0)
    mm = np.where(interior, m, 0.5)
    with np.errstate(divide="ignore", over="ignore"):  # a vanishing sd gives inf, clipped below
        kappa = mm * (1.0 - mm) / (sd * sd) - 1.0
    kappa = np.clip(kappa, 1e-6, 1e12)  # 1e12: a spread below ~1e-6 is no spread (and avoids inf)
    x = rng.beta(mm * kappa, (1.0 - mm) * kappa, size=size)
    return np.where(interior, x, m)


def build_initial_state(P: Derived, rng: np.random.Generator) -> State:
    """Initial networks and attitudes; the draw order here is part of the model."""
    sc = P.sc
    n_a, n_b = P.n_a, P.n_b
    n = n_a + n_b
    org = np.concatenate([np.zeros(n_a, np.int8), np.ones(n_b, np.int8)])
    o = org.astype(np.int64)

    # Networks, one organisation after the other.
    half = sc["organisations.team_degree"] // 2
    parts = [
        team_small_world(
            rng,
            size,
            offset,
            sc["organisations.team_size"],
            half,
            sc["organisations.teams_per_department"],
            sc["organisations.rewire_prob"],
        )
        for size, offset in ((n_a, 0), (n_b, n_a))
    ]
    e_u = np.concatenate([parts[0][0], parts[1][0]])
    e_v = np.concatenate([parts[0][1], parts[1][1]])
    inc_ptr, inc_edge, nbr = incidence(n, e_u, e_v)

    # Roles and union membership.
    r = rng.random(n)
    c1 = sc["organisations.share_clinical"]
    c2 = c1 + sc["organisations.share_managerial"]
    role = np.where(r < c1, ROLE_CLINICAL, np.where(r < c2, ROLE_MANAGERIAL, ROLE_SUPPORT)).astype(np.int8)
    union = rng.random(n) < sc["staff.union_density"]

    sd = sc["organisations.attitude_sd"]
    culture = beta_draw(rng, np.array([sc["organisations.culture_a"], sc["organisations.culture_b"]])[o], sd, n)
    tp = beta_draw(rng, P.partner_trust_mean, sd, n)
    tl = beta_draw(rng, np.array([sc["staff.leader_trust_a"], sc["staff.leader_trust_b"]])[o], sd, n)
    loyalty = beta_draw(rng, sc["staff.loyalty"], sd, n)
    fatigue = np.zeros(n)
    adopted = rng.random(n) < np.array([sc["organisations.adoption_a"], sc["organisations.adoption_b"]])[o]
    # Tenure: exponential with the turnover's mean, within a working life (at most 45 years).
    rate = sc["staff.turnover_per_year"]
    mean_tenure = min(52.0 / rate, MAX_TENURE) if rate > 0 else MAX_TENURE
    tenure = np.minimum(np.floor(rng.exponential(mean_tenure, n)), MAX_TENURE).astype(np.int64)

    # Executive teams.
    k = P.seats
    l_org = np.repeat(np.array([0, 1], np.int8), k)
    l_seat = np.tile(np.arange(k, dtype=np.int64), 2)
    lo = l_org.astype(np.int64)
    l_commit = np.clip(P.commitment_mean[lo] + sc["leadership.commitment_sd"] * rng.standard_normal(2 * k), 0.0, 1.0)
    turnover = np.array([sc["leadership.turnover_a"], sc["leadership.turnover_b"]])[lo]
    l_tenure = np.minimum(np.floor(rng.exponential(52.0 / np.maximum(turnover, 0.1))), MAX_TENURE).astype(np.int64)
    l_vacant = np.zeros(2 * k, bool)

    # Initial cross-organisation ties, set by history and geography.
    x_u, x_v = initial_cross_ties(rng, P, role)
    present = None
    if P.headcount0 is not None:
        present = (np.arange(n) - np.where(org == 0, 0, n_a)) < P.headcount0[o]
        keep = present[x_u] & present[x_v]
        x_u, x_v = x_u[keep], x_v[keep]
    x_w = np.full(x_u.size, sc["partnership.tie_initial"])

    return State(
        org=org,
        role=role,
        union=union,
        tenure=tenure,
        culture=culture,
        tp=tp,
        tl=tl,
        loyalty=loyalty,
        fatigue=fatigue,
        adopted=adopted,
        l_org=l_org,
        l_seat=l_seat,
        l_commit=l_commit,
        l_vacant=l_vacant,
        l_tenure=l_tenure,
        e_u=e_u,
        e_v=e_v,
        inc_ptr=inc_ptr,
        inc_edge=inc_edge,
        nbr=nbr,
        x_u=x_u,
        x_v=x_v,
        x_w=x_w,
        present=present,
    )


def eligible_for_bridges(P: Derived, role: np.ndarray) -> np.ndarray:
    """Which staff may hold a cross-organisation tie under the scenario's bridge scope."""
    scope = P.sc["partnership.bridge_scope"]
    if scope == "wide":
        return np.ones(role.size, bool)
    if scope == "managers":
        return role == ROLE_MANAGERIAL
    return np.zeros(role.size, bool)


def initial_cross_ties(rng: np.random.Generator, P: Derived, role: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    elig = eligible_for_bridges(P, role)
    cand_a = np.flatnonzero(elig[: P.n_a])
    cand_b = np.flatnonzero(elig[P.n_a :]) + P.n_a
    m = P.initial_ties
    if m == 0 or cand_a.size == 0 or cand_b.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    u = cand_a[np.floor(rng.random(m) * cand_a.size).astype(np.int64)]
    v = cand_b[np.floor(rng.random(m) * cand_b.size).astype(np.int64)]
    _, first = np.unique(u * (P.n_a + P.n_b) + v, return_index=True)
    first.sort()
    return u[first], v[first]
