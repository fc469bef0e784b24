"""Joint working across the partnership: encounters, asymmetric trust, tie dynamics.

Evidence: "space and time to build relationships and trust between leadership
teams and staff across both organisations"; "a lack of relationships between
organisations" as a barrier (briefing). Trust asymmetry: trust is easier to
destroy than to build (Slovic 1993). Width of bridges matters for complex
contagion (Centola & Macy 2007).

Staff level (every cross-organisation tie ``(u, v)``, u in A, v in B): the
pair meets this week with probability
``1 - exp(-meetings_per_year * geographic_proximity / 52)``. A meeting
succeeds with probability ``logistic(z)``,
``z = logit(base_success) + b_t (mean tp - 0.5) - b_d |c_u - c_v|
- b_f (mean fatigue) - b_c competition + b_r (regulatory_alignment - 0.5)
- b_k takeover_A``.
Each person with ``S`` successes and ``F`` failures this week updates
``tp <- 1 - (1 - tp (1 - trust_loss)^F) (1 - trust_gain)^S`` (losses first).
A tie that met successfully strengthens ``w += tie_gain (1 - w)``; any other
tie weakens ``w *= 1 - tie_decay``; ties below ``tie_floor`` are lost.
A success introduces, with probability ``tie_growth_prob``, a random work
colleague of one side (each side with chance 1/2) to the other person, if that
colleague may hold a bridge under ``bridge_scope`` and the tie is new.

Board level: the two boards meet with probability
``1 - exp(-board_meetings_per_year / 52)``; success as above with the boards'
mean commitments as trust, the organisations' mean cultures for distance and
no fatigue term; every seat's commitment is then updated like ``tp``.
"""

from __future__ import annotations

import numpy as np

from ..state import eligible_for_bridges, org_means


def draw(rng: np.random.Generator, n_ties: int):
    staff = rng.random((5, n_ties))  # meet, succeed, grow, pick, side
    board = rng.random(2)  # meet, succeed
    return staff, board


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def context_logit(P) -> float:
    """The part of the success log-odds that is the same for every encounter."""
    comp = P["system.competition"] if P.on["competition"] else 0.0
    return (
        P.base_logit
        - P["partnership.success_competition_weight"] * comp
        + P["partnership.success_alignment_weight"] * (P["system.regulatory_alignment"] - 0.5)
        - P["partnership.success_takeover_weight"] * P.takeover[0]
    )


def trust_update(x, S, F, gain, loss):
    return 1.0 - (1.0 - x * (1.0 - loss) ** F) * (1.0 - gain) ** S


def apply(st, P, ctx, draws) -> None:
    staff, board = draws
    gain, loss = P["partnership.trust_gain"], P["partnership.trust_loss"]
    z0 = context_logit(P)
    # --- boards (use the state at the start of the submodel) -------------------
    board_met = board[0] < P.board_meet_prob
    if board_met:
        c_mean = org_means(st.culture, P.n_a)
        stance = st.l_commit.reshape(2, -1).mean(axis=1)
        zb = (
            z0
            + P["partnership.success_trust_weight"] * ((stance[0] + stance[1]) / 2.0 - 0.5)
            - P["partnership.success_distance_weight"] * abs(c_mean[0] - c_mean[1])
        )
        ok = board[1] < logistic(zb)
        st.l_commit = trust_update(st.l_commit, int(ok), int(not ok), gain, loss)
        if not ok:
            ctx.event("board_meeting_failed", None)
    # --- staff ties -------------------------------------------------------------
    if st.x_u.size == 0:
        return
    meet, succ, grow, pick, side = staff
    u, v = st.x_u, st.x_v
    met = meet < P.tie_meet_prob
    z = (
        z0
        + P["partnership.success_trust_weight"] * ((st.tp[u] + st.tp[v]) / 2.0 - 0.5)
        - P["partnership.success_distance_weight"] * np.abs(st.culture[u] - st.culture[v])
        - P["partnership.success_fatigue_weight"] * (st.fatigue[u] + st.fatigue[v]) / 2.0
    )
    ok = met & (succ < logistic(z))
    bad = met & ~ok
    n = st.n
    # Tally successes and failures per person over the people who met at all.
    people, where = np.unique(np.concatenate([u[met], v[met]]), return_inverse=True)
    won = np.concatenate([ok[met], ok[met]])
    S = np.bincount(where[won], minlength=people.size)
    F = np.bincount(where[~won], minlength=people.size)
    st.tp[people] = trust_update(st.tp[people], S, F, gain, loss)
    ctx.count("encounters", int(met.sum()))
    ctx.count("successes", int(ok.sum()))

    w = np.where(ok, st.x_w + P["partnership.tie_gain"] * (1.0 - st.x_w), st.x_w * (1.0 - P["partnership.tie_decay"]))
    # Growth: a success introduces a colleague of one side to the other person.
    g = np.flatnonzero(ok & (grow < P["partnership.tie_growth_prob"]))
    from_a = side[g] < 0.5
    anchor = np.where(from_a, u[g], v[g])
    deg = st.inc_ptr[anchor + 1] - st.inc_ptr[anchor]
    has = deg > 0
    g, from_a, anchor, deg = g[has], from_a[has], anchor[has], deg[has]
    colleague = st.nbr[st.inc_ptr[anchor] + np.floor(pick[g] * deg).astype(np.int64)]
    nu = np.where(from_a, colleague, u[g])
    nv = np.where(from_a, v[g], colleague)
    keep_old = w >= P["partnership.tie_floor"]
    ctx.count("ties_lost", int((~keep_old).sum()))
    u, v, w = u[keep_old], v[keep_old], w[keep_old]
    if nu.size and P["partnership.bridge_scope"] != "wide":
        elig = eligible_for_bridges(P, st.role)
        cand = elig[nu] & elig[nv]
        nu, nv = nu[cand], nv[cand]
    if nu.size:
        key_new = nu * n + nv
        _, first = np.unique(key_new, return_index=True)
        first.sort()
        nu, nv, key_new = nu[first], nv[first], key_new[first]
        fresh = ~np.isin(key_new, u * n + v)
        nu, nv = nu[fresh], nv[fresh]
        ctx.count("ties_formed", int(nu.size))
        u = np.concatenate([u, nu])
        v = np.concatenate([v, nv])
        w = np.concatenate([w, np.full(nu.size, P["partnership.tie_initial"])])
    st.x_u, st.x_v, st.x_w = u, v, w
