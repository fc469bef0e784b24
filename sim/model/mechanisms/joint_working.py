"""7.5 Joint working across the partnership: encounters, asymmetric trust, tie dynamics.

Evidence: "space and time to build relationships and trust between leadership teams and staff across both
organisations"; "a lack of relationships between organisations" as a barrier (briefing). Trust asymmetry:
trust is easier to destroy than to build (Slovic 1993). Width of bridges matters for complex contagion
(Centola & Macy 2007).

Staff level (every cross-organisation tie ``(u, v)``, u in A, v in B): the pair meets this week with
probability ``1 - exp(-meetings_per_year geographic_proximity / 52)``. A meeting succeeds with probability
``logistic(z)``, ``z = logit(base_success) + b_t (mean tp - 0.5) - b_d |c_u - c_v| - b_f (mean fatigue)
- b_c competition + b_r (regulatory_alignment - 0.5) - b_k takeover_A``. Each person with ``S`` successes
and ``F`` failures this week updates ``tp <- 1 - (1 - tp (1 - trust_loss)^F) (1 - trust_gain)^S`` (losses
first). A tie that met successfully strengthens ``w += tie_gain (1 - w)``; any other tie weakens
``w *= 1 - tie_decay``; ties below ``tie_floor`` are lost. A success introduces, with probability
``tie_growth_prob``, a random work colleague of one side (each side with chance 1/2) to the other person,
if that colleague may hold a bridge under ``bridge_scope`` and the tie is new.

Board level: the two boards meet with probability ``1 - exp(-board_meetings_per_year / 52)``; success as
above with the boards' mean commitments as trust, the organisations' mean cultures for distance and no
fatigue term; every seat's commitment is then updated like ``tp``.

Draws: per tie (slot = the pair ``u n + v``, so a tie keeps its numbers whatever happens to other ties)
``meet``, ``succeed``, ``grow``, ``pick``, ``side``; per board meeting (slot 0) ``board_meet``,
``board_succeed``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import streams
from ..jit import inline_kernel, kernel
from ..layout import Event, Mechanism, choice, derived, emit, running_sum
from ..params import ROLE_MANAGERIAL, SCOPES, logit, weekly_prob
from .competition import competition, takeover_a


def context_logit(sc) -> float:
    """The part of an encounter's success log-odds that is the same for every encounter."""
    return (
        logit(sc["partnership.base_success"])
        - sc["partnership.success_competition_weight"] * competition(sc)
        + sc["partnership.success_alignment_weight"] * (sc["system.regulatory_alignment"] - 0.5)
        - sc["partnership.success_takeover_weight"] * takeover_a(sc)
    )


MECHANISM = Mechanism(
    "joint_working",
    params={
        "context_logit": derived(lambda sc, w: context_logit(sc), "success log-odds common to every encounter"),
        "tie_meet_prob": derived(
            lambda sc, w: weekly_prob(sc["partnership.meetings_per_year"] * sc["system.geographic_proximity"])
        ),
        "board_meet_prob": derived(lambda sc, w: weekly_prob(sc["partnership.board_meetings_per_year"])),
        "success_trust_weight": "partnership.success_trust_weight",
        "success_distance_weight": "partnership.success_distance_weight",
        "success_fatigue_weight": "partnership.success_fatigue_weight",
        "trust_gain": "partnership.trust_gain",
        "trust_loss": "partnership.trust_loss",
        "tie_gain": "partnership.tie_gain",
        "tie_decay": "partnership.tie_decay",
        "tie_floor": "partnership.tie_floor",
        "tie_initial": "partnership.tie_initial",
        "tie_growth_prob": "partnership.tie_growth_prob",
        "bridge_scope": choice("partnership.bridge_scope", SCOPES),
    },
    draws=("meet", "succeed", "grow", "pick", "side", "board_meet", "board_succeed"),
    counters=("encounters", "successes", "ties_formed", "ties_lost"),
    events=(Event("board_meeting_failed"),),
    returns=("x_u", "x_v", "x_w"),
)
P, D, C, E = MECHANISM.P, MECHANISM.D, MECHANISM.C, MECHANISM.E


def may_bridge(scope, role):
    """Whether someone in ``role`` may hold a cross-organisation tie under ``bridge_scope`` (its code:
    0 wide, 1 managers, 2 leaders only). Works on numbers and on numpy arrays; compiled for the kernel."""
    return (scope == 0) | ((scope == 1) & (role == ROLE_MANAGERIAL))


may_bridge_kernel = inline_kernel(may_bridge)


@inline_kernel
def logistic(z):
    return 1.0 / (1.0 + math.exp(-z))


@inline_kernel
def trust_update(x, S, F, gain, loss):
    """Trust after ``F`` failures then ``S`` successes (asymmetric: a loss takes a share of trust, a gain a
    share of distrust)."""
    return 1.0 - (1.0 - x * (1.0 - loss) ** float(F)) * (1.0 - gain) ** float(S)


@kernel
def step(
    t, n_a, p, keys, counts, ev, n_ev, org, role, culture, tp, fatigue, l_org, l_commit, inc_ptr, nbr, x_u, x_v, x_w
):
    n = org.size
    gain = p[P.trust_gain]
    loss = p[P.trust_loss]
    z0 = p[P.context_logit]
    # --- boards (from the state at the start of the submodel) ---------------------------------------------
    if streams.uniform(streams.week_key(keys[D.board_meet], t), 0) < p[P.board_meet_prob]:
        c_a = 0.0
        c_b = 0.0
        for i in range(n):
            if org[i] == 0:
                c_a += culture[i]
            else:
                c_b += culture[i]
        c_a /= n_a
        c_b /= n - n_a
        k_seats = l_org.size // 2
        s_a = 0.0
        s_b = 0.0
        for s in range(k_seats):
            s_a += l_commit[s]
        for s in range(k_seats, 2 * k_seats):
            s_b += l_commit[s]
        s_a /= k_seats
        s_b /= k_seats
        zb = z0 + p[P.success_trust_weight] * ((s_a + s_b) / 2.0 - 0.5) - p[P.success_distance_weight] * abs(c_a - c_b)
        ok = streams.uniform(streams.week_key(keys[D.board_succeed], t), 0) < logistic(zb)
        for s in range(l_org.size):
            l_commit[s] = trust_update(l_commit[s], 1 if ok else 0, 0 if ok else 1, gain, loss)
        if not ok:
            emit(ev, n_ev, E.board_meeting_failed, -1, 0.0, 0.0)
    # --- staff ties -----------------------------------------------------------------------------------------
    n_ties = x_u.size
    if n_ties == 0:
        return x_u, x_v, x_w
    h_meet = streams.week_key(keys[D.meet], t)
    h_succ = streams.week_key(keys[D.succeed], t)
    h_grow = streams.week_key(keys[D.grow], t)
    h_pick = streams.week_key(keys[D.pick], t)
    h_side = streams.week_key(keys[D.side], t)
    met_ok = np.zeros(n_ties, np.int8)  # 0 did not meet, 1 met and failed, 2 met and succeeded
    S = np.zeros(n, np.int32)
    F = np.zeros(n, np.int32)
    for q in range(n_ties):
        u = x_u[q]
        v = x_v[q]
        pair = u * n + v
        if streams.uniform(h_meet, pair) < p[P.tie_meet_prob]:
            z = (
                z0
                + p[P.success_trust_weight] * ((tp[u] + tp[v]) / 2.0 - 0.5)
                - p[P.success_distance_weight] * abs(culture[u] - culture[v])
                - p[P.success_fatigue_weight] * (fatigue[u] + fatigue[v]) / 2.0
            )
            counts[C.encounters] += 1
            if streams.uniform(h_succ, pair) < logistic(z):
                met_ok[q] = 2
                counts[C.successes] += 1
                S[u] += 1
                S[v] += 1
            else:
                met_ok[q] = 1
                F[u] += 1
                F[v] += 1
    for i in range(n):
        if S[i] + F[i] > 0:
            tp[i] = trust_update(tp[i], S[i], F[i], gain, loss)
    # tie strength, growth through colleagues, decay below the floor
    w_new = np.empty(n_ties)
    n_keep = 0
    for q in range(n_ties):
        w = x_w[q]
        w_new[q] = w + p[P.tie_gain] * (1.0 - w) if met_ok[q] == 2 else w * (1.0 - p[P.tie_decay])
        if w_new[q] >= p[P.tie_floor]:
            n_keep += 1
    counts[C.ties_lost] += n_ties - n_keep
    scope = p[P.bridge_scope]
    existing = {np.int64(-1)}
    for q in range(n_ties):
        if w_new[q] >= p[P.tie_floor]:
            existing.add(x_u[q] * n + x_v[q])
    fresh_u = np.empty(n_ties, np.int64)
    fresh_v = np.empty(n_ties, np.int64)
    n_fresh = 0
    for q in range(n_ties):
        if met_ok[q] != 2:
            continue
        u = x_u[q]
        v = x_v[q]
        pair = u * n + v
        if streams.uniform(h_grow, pair) >= p[P.tie_growth_prob]:
            continue
        from_a = streams.uniform(h_side, pair) < 0.5
        anchor = u if from_a else v
        deg = inc_ptr[anchor + 1] - inc_ptr[anchor]
        if deg == 0:
            continue
        colleague = nbr[inc_ptr[anchor] + np.int64(math.floor(streams.uniform(h_pick, pair) * deg))]
        nu = colleague if from_a else u
        nv = v if from_a else colleague
        if not (may_bridge_kernel(scope, role[nu]) and may_bridge_kernel(scope, role[nv])):
            continue
        key = nu * n + nv
        if key in existing:
            continue
        existing.add(key)
        fresh_u[n_fresh] = nu
        fresh_v[n_fresh] = nv
        n_fresh += 1
    counts[C.ties_formed] += n_fresh
    new_u = np.empty(n_keep + n_fresh, np.int64)
    new_v = np.empty(n_keep + n_fresh, np.int64)
    new_w = np.empty(n_keep + n_fresh)
    j = 0
    for q in range(n_ties):
        if w_new[q] >= p[P.tie_floor]:
            new_u[j] = x_u[q]
            new_v[j] = x_v[q]
            new_w[j] = w_new[q]
            j += 1
    for q in range(n_fresh):
        new_u[j] = fresh_u[q]
        new_v[j] = fresh_v[q]
        new_w[j] = p[P.tie_initial]
        j += 1
    return new_u, new_v, new_w


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _trust_update(x: float, S: int, F: int, gain: float, loss: float) -> float:
    return 1.0 - (1.0 - x * (1.0 - loss) ** float(F)) * (1.0 - gain) ** float(S)


def reference(m, t) -> None:
    """Boards, then every tie in turn (tallying each person's successes and failures), then the ties."""
    v = m.values(MECHANISM)
    people = m.people
    n = len(people)
    if m.uniform(MECHANISM, "board_meet", t, 0) < v.board_meet_prob:
        culture = [running_sum(p.culture for p in people if p.org == o) for o in (0, 1)]
        culture = [culture[0] / m.world.n_a, culture[1] / (n - m.world.n_a)]
        stance = []
        for o in (0, 1):
            seats = [ld for ld in m.leaders if ld.org == o]
            stance.append(running_sum(ld.commit for ld in seats) / len(seats))
        zb = (
            v.context_logit
            + v.success_trust_weight * ((stance[0] + stance[1]) / 2.0 - 0.5)
            - v.success_distance_weight * abs(culture[0] - culture[1])
        )
        ok = m.uniform(MECHANISM, "board_succeed", t, 0) < _logistic(zb)
        for ld in m.leaders:
            ld.commit = _trust_update(ld.commit, int(ok), int(not ok), v.trust_gain, v.trust_loss)
        if not ok:
            m.event(MECHANISM, "board_meeting_failed", None)
    if not m.ties:
        return
    S: dict[int, int] = {}
    F: dict[int, int] = {}
    succeeded = []
    for tie in m.ties:
        a, b = people[tie.u], people[tie.v]
        pair = tie.u * n + tie.v
        ok = False
        if m.uniform(MECHANISM, "meet", t, pair) < v.tie_meet_prob:
            z = (
                v.context_logit
                + v.success_trust_weight * ((a.tp + b.tp) / 2.0 - 0.5)
                - v.success_distance_weight * abs(a.culture - b.culture)
                - v.success_fatigue_weight * (a.fatigue + b.fatigue) / 2.0
            )
            m.count(MECHANISM, "encounters", 1)
            ok = m.uniform(MECHANISM, "succeed", t, pair) < _logistic(z)
            tally = S if ok else F
            tally[tie.u] = tally.get(tie.u, 0) + 1
            tally[tie.v] = tally.get(tie.v, 0) + 1
            m.count(MECHANISM, "successes", int(ok))
        succeeded.append(ok)
    for i in sorted(set(S) | set(F)):
        person = people[i]
        person.tp = _trust_update(person.tp, S.get(i, 0), F.get(i, 0), v.trust_gain, v.trust_loss)
    for tie, ok in zip(m.ties, succeeded):
        tie.w = tie.w + v.tie_gain * (1.0 - tie.w) if ok else tie.w * (1.0 - v.tie_decay)
    kept = [tie for tie in m.ties if tie.w >= v.tie_floor]
    m.count(MECHANISM, "ties_lost", len(m.ties) - len(kept))
    existing = {(tie.u, tie.v) for tie in kept}
    formed = 0
    for tie, ok in zip(m.ties, succeeded):
        pair = tie.u * n + tie.v
        if not ok or m.uniform(MECHANISM, "grow", t, pair) >= v.tie_growth_prob:
            continue
        from_a = m.uniform(MECHANISM, "side", t, pair) < 0.5
        anchor = people[tie.u if from_a else tie.v]
        if not anchor.colleagues:
            continue
        colleague = anchor.colleagues[int(math.floor(m.uniform(MECHANISM, "pick", t, pair) * len(anchor.colleagues)))]
        u, w = (colleague, tie.v) if from_a else (tie.u, colleague)
        if (
            may_bridge(v.bridge_scope, people[u].role)
            and may_bridge(v.bridge_scope, people[w].role)
            and (u, w) not in existing
        ):
            existing.add((u, w))
            kept.append(m.Tie(u, w, v.tie_initial))
            formed += 1
    m.count(MECHANISM, "ties_formed", formed)
    m.ties = kept
