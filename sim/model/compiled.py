"""The compiled engine: the whole week (every submodel, its random draws and the metrics) as one numba call.

Same rules, same random streams, same results as the array engine (:mod:`sim.model.engine`) and the
one-agent-at-a-time reference (:mod:`sim.model.reference`); ``tests/test_compiled.py`` checks all three
agree. Why it exists: the array engine pays ~380 µs a week in interpreter and small-array numpy calls
whatever the size of the trusts (benchmarks/README.md), which dominates runs of a few thousand staff.
Here a week is a single call; numba's ``np.random.Generator`` support draws from the model's own
generator, in the same order and with the same algorithms as numpy, so the streams stay identical.

Needs ``numba`` (a dependency of the package). The first call in a fresh install compiles the kernels
(~20 s) and caches them next to this file (``__pycache__``); later processes load the cache (~0.3 s).
``engine="array"`` runs without numba's kernels.
Arithmetic is written in the same order as the array engine, and powers take float exponents (numba
computes ``x ** int`` by repeated multiplication, numpy and Python by ``pow``: a target headcount of
1322.5 once rounded differently). Sums are sequential where numpy may sum pairwise, so metrics can differ
from the array engine's in the last bits (tested to 1e-12).
"""

from __future__ import annotations

import math

import numpy as np

from .engine import COUNTERS, METRICS, ORG_METRICS
from .engine import measure as array_measure
from .mechanisms.adoption import readiness_constant
from .mechanisms.joint_working import context_logit
from .params import Derived
from .state import ROLE_MANAGERIAL

try:
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

#: Indices into the float parameter vector the kernel receives.
FLOATS = (
    "appoint_prob",
    "commitment_sd",
    "interim_commitment",
    "departure_shock",
    "ceo_multiplier",
    "message_alignment",
    "message_noise",
    "interim_visibility",
    "message_influence",
    "conflict_cost",
    "engage_prob",
    "engagement_authenticity",
    "union_amplification",
    "engagement_influence",
    "union_stance",
    "load",
    "fatigue_rate",
    "recovery_rate",
    "z0",
    "board_meet_prob",
    "w_trust",
    "w_distance",
    "w_fatigue",
    "trust_gain",
    "trust_loss",
    "tie_meet_prob",
    "tie_gain",
    "tie_decay",
    "tie_growth_prob",
    "tie_floor",
    "tie_initial",
    "loyalty_rate",
    "suspicion_rate",
    "confidence_bound",
    "convergence",
    "adopt_const",
    "adopt_w_culture",
    "adopt_w_trust",
    "adopt_w_fatigue",
    "adopt_w_resistance",
    "adoption_rate",
    "abandon_rate",
    "embedding_weeks",
    "leave_rate_week",
    "turnover_trust",
    "turnover_fatigue",
    "socialisation_rate",
    "socialisation_weeks",
    "union_density",
    "hire_culture_a",
    "hire_culture_b",
    "partner_trust_mean",
    "leader_trust_a",
    "leader_trust_b",
    "attitude_sd",
    "newcomer_loyalty",
    "growth_week",
    "leave_prob_a",
    "leave_prob_b",
    "visibility_a",
    "visibility_b",
    "commitment_a",
    "commitment_b",
    "threat_a",
    "threat_b",
    "loyalty_target_a",
    "loyalty_target_b",
    "resistance_0",
    "resistance_1",
    "resistance_2",
    "headcount0_a",
    "headcount0_b",
)
#: Switches and choices, in this order, in the integer vector.
FLAGS = (
    "leadership_turnover",
    "messaging",
    "engagement",
    "unions",
    "initiative_load",
    "joint_working",
    "competition",
    "peer_influence",
    "adoption",
    "embedding",
    "staff_turnover",
    "well_mixed",
    "scope",
    "growing",
)
SCOPES = {"wide": 0, "managers": 1, "leaders": 2}
EV_DEPARTURE, EV_APPOINTMENT, EV_BOARD_FAILED = 1, 2, 3


def kernel(f):
    """numba-compile ``f`` (cached on disk; numpy's rules for division by zero, as in the array engine)."""
    return numba.njit(cache=True, error_model="numpy")(f) if numba is not None else f


# Index constants for the kernel (numba freezes module globals at compile time).
(
    P_APPOINT_PROB,
    P_COMMITMENT_SD,
    P_INTERIM_COMMITMENT,
    P_DEPARTURE_SHOCK,
    P_CEO_MULTIPLIER,
    P_MESSAGE_ALIGNMENT,
    P_MESSAGE_NOISE,
    P_INTERIM_VISIBILITY,
    P_MESSAGE_INFLUENCE,
    P_CONFLICT_COST,
    P_ENGAGE_PROB,
    P_ENGAGEMENT_AUTHENTICITY,
    P_UNION_AMPLIFICATION,
    P_ENGAGEMENT_INFLUENCE,
    P_UNION_STANCE,
    P_LOAD,
    P_FATIGUE_RATE,
    P_RECOVERY_RATE,
    P_Z0,
    P_BOARD_MEET_PROB,
    P_W_TRUST,
    P_W_DISTANCE,
    P_W_FATIGUE,
    P_TRUST_GAIN,
    P_TRUST_LOSS,
    P_TIE_MEET_PROB,
    P_TIE_GAIN,
    P_TIE_DECAY,
    P_TIE_GROWTH_PROB,
    P_TIE_FLOOR,
    P_TIE_INITIAL,
    P_LOYALTY_RATE,
    P_SUSPICION_RATE,
    P_CONFIDENCE_BOUND,
    P_CONVERGENCE,
    P_ADOPT_CONST,
    P_ADOPT_W_CULTURE,
    P_ADOPT_W_TRUST,
    P_ADOPT_W_FATIGUE,
    P_ADOPT_W_RESISTANCE,
    P_ADOPTION_RATE,
    P_ABANDON_RATE,
    P_EMBEDDING_WEEKS,
    P_LEAVE_RATE_WEEK,
    P_TURNOVER_TRUST,
    P_TURNOVER_FATIGUE,
    P_SOCIALISATION_RATE,
    P_SOCIALISATION_WEEKS,
    P_UNION_DENSITY,
    P_HIRE_CULTURE_A,
    P_HIRE_CULTURE_B,
    P_PARTNER_TRUST_MEAN,
    P_LEADER_TRUST_A,
    P_LEADER_TRUST_B,
    P_ATTITUDE_SD,
    P_NEWCOMER_LOYALTY,
    P_GROWTH_WEEK,
    P_LEAVE_PROB_A,
    P_LEAVE_PROB_B,
    P_VISIBILITY_A,
    P_VISIBILITY_B,
    P_COMMITMENT_A,
    P_COMMITMENT_B,
    P_THREAT_A,
    P_THREAT_B,
    P_LOYALTY_TARGET_A,
    P_LOYALTY_TARGET_B,
    P_RESISTANCE_0,
    P_RESISTANCE_1,
    P_RESISTANCE_2,
    P_HEADCOUNT0_A,
    P_HEADCOUNT0_B,
) = range(len(FLOATS))
(
    ON_LEADERSHIP_TURNOVER,
    ON_MESSAGING,
    ON_ENGAGEMENT,
    ON_UNIONS,
    ON_INITIATIVE_LOAD,
    ON_JOINT_WORKING,
    ON_COMPETITION,
    ON_PEER_INFLUENCE,
    ON_ADOPTION,
    ON_EMBEDDING,
    ON_STAFF_TURNOVER,
    ON_WELL_MIXED,
    ON_SCOPE,
    ON_GROWING,
) = range(len(FLAGS))


def pack(P: Derived) -> tuple[np.ndarray, np.ndarray]:
    """The derived parameters as the kernel's float and integer vectors."""
    sc = P.sc
    v = {
        "appoint_prob": P.appoint_prob,
        "commitment_sd": sc["leadership.commitment_sd"],
        "interim_commitment": sc["leadership.interim_commitment"],
        "departure_shock": sc["leadership.departure_shock"],
        "ceo_multiplier": sc["leadership.ceo_multiplier"],
        "message_alignment": sc["leadership.message_alignment"],
        "message_noise": sc["leadership.message_noise"],
        "interim_visibility": sc["leadership.interim_visibility"],
        "message_influence": sc["leadership.message_influence"],
        "conflict_cost": sc["leadership.conflict_cost"],
        "engage_prob": P.engage_prob,
        "engagement_authenticity": sc["partnership.engagement_authenticity"],
        "union_amplification": sc["staff.union_amplification"],
        "engagement_influence": sc["partnership.engagement_influence"],
        "union_stance": P.union_stance,
        "load": P.load,
        "fatigue_rate": sc["initiative.fatigue_rate"],
        "recovery_rate": sc["initiative.recovery_rate"],
        "z0": context_logit(P),
        "board_meet_prob": P.board_meet_prob,
        "w_trust": sc["partnership.success_trust_weight"],
        "w_distance": sc["partnership.success_distance_weight"],
        "w_fatigue": sc["partnership.success_fatigue_weight"],
        "trust_gain": sc["partnership.trust_gain"],
        "trust_loss": sc["partnership.trust_loss"],
        "tie_meet_prob": P.tie_meet_prob,
        "tie_gain": sc["partnership.tie_gain"],
        "tie_decay": sc["partnership.tie_decay"],
        "tie_growth_prob": sc["partnership.tie_growth_prob"],
        "tie_floor": sc["partnership.tie_floor"],
        "tie_initial": sc["partnership.tie_initial"],
        "loyalty_rate": sc["system.loyalty_rate"],
        "suspicion_rate": sc["system.suspicion_rate"],
        "confidence_bound": sc["culture.confidence_bound"],
        "convergence": sc["culture.convergence"],
        "adopt_const": readiness_constant(P),
        "adopt_w_culture": sc["initiative.adoption_culture_weight"],
        "adopt_w_trust": sc["initiative.adoption_trust_weight"],
        "adopt_w_fatigue": sc["initiative.adoption_fatigue_weight"],
        "adopt_w_resistance": sc["initiative.adoption_resistance_weight"],
        "adoption_rate": sc["initiative.adoption_rate"],
        "abandon_rate": sc["initiative.abandon_rate"],
        "embedding_weeks": sc["culture.embedding_weeks"],
        "leave_rate_week": P.leave_rate_week,
        "turnover_trust": sc["staff.turnover_trust_sensitivity"],
        "turnover_fatigue": sc["staff.turnover_fatigue_sensitivity"],
        "socialisation_rate": sc["staff.socialisation_rate"],
        "socialisation_weeks": sc["staff.socialisation_weeks"],
        "union_density": sc["staff.union_density"],
        "hire_culture_a": sc["staff.hire_culture_a"],
        "hire_culture_b": sc["staff.hire_culture_b"],
        "partner_trust_mean": P.partner_trust_mean,
        "leader_trust_a": sc["staff.leader_trust_a"],
        "leader_trust_b": sc["staff.leader_trust_b"],
        "attitude_sd": sc["organisations.attitude_sd"],
        "newcomer_loyalty": sc["staff.newcomer_loyalty"],
        "growth_week": P.growth_week,
        "leave_prob_a": P.leave_prob[0],
        "leave_prob_b": P.leave_prob[1],
        "visibility_a": P.visibility[0],
        "visibility_b": P.visibility[1],
        "commitment_a": P.commitment_mean[0],
        "commitment_b": P.commitment_mean[1],
        "threat_a": P.threat[0],
        "threat_b": P.threat[1],
        "loyalty_target_a": P.loyalty_target[0],
        "loyalty_target_b": P.loyalty_target[1],
        "resistance_0": P.resistance_role[0],
        "resistance_1": P.resistance_role[1],
        "resistance_2": P.resistance_role[2],
        "headcount0_a": 0.0 if P.headcount0 is None else P.headcount0[0],
        "headcount0_b": 0.0 if P.headcount0 is None else P.headcount0[1],
    }
    floats = np.array([float(v[k]) for k in FLOATS])
    flags = [int(P.on[m]) for m in FLAGS[:11]]
    flags += [
        int(sc["culture.mixing"] == "well_mixed"),
        SCOPES[sc["partnership.bridge_scope"]],
        int(P.headcount0 is not None),
    ]
    return floats, np.array(flags, dtype=np.int64)


@kernel
def _leadership(rng, p, org, tl, l_org, l_seat, l_commit, l_vacant, l_tenure):
    """7.1 Leadership turnover and interim periods; returns the week's (kind, seat, interim) events."""
    n = org.size
    ns = l_org.size
    u_leave = rng.random(ns)
    u_appoint = rng.random(ns)
    z = rng.standard_normal(ns)
    immediate = p[P_APPOINT_PROB] >= 1.0
    factor = np.ones(2)
    any_left = False
    ev = np.zeros((ns, 3), np.int64)
    n_ev = 0
    for s in range(ns):
        o = l_org[s]
        vacant0 = l_vacant[s]
        appoint = vacant0 and u_appoint[s] < p[P_APPOINT_PROB]
        leave = (not vacant0) and u_leave[s] < p[P_LEAVE_PROB_A + o]
        new_commit = min(max(p[P_COMMITMENT_A + o] + p[P_COMMITMENT_SD] * z[s], 0.0), 1.0)
        if appoint or (leave and immediate):
            l_commit[s] = new_commit
        if not immediate:
            if leave:
                l_commit[s] = p[P_INTERIM_COMMITMENT]
            l_vacant[s] = (vacant0 and not appoint) or leave
        if appoint or leave:
            l_tenure[s] = 0
            if leave:
                w = p[P_CEO_MULTIPLIER] if l_seat[s] == 0 else 1.0
                factor[o] *= 1.0 - p[P_DEPARTURE_SHOCK] * w
                ev[n_ev, 0] = EV_DEPARTURE
                any_left = True
                ev[n_ev, 2] = 0 if immediate else 1
            else:
                ev[n_ev, 0] = EV_APPOINTMENT
            ev[n_ev, 1] = s
            n_ev += 1
        else:
            l_tenure[s] += 1
    events = ev[:n_ev]
    if any_left:
        for i in range(n):
            tl[i] = tl[i] * factor[org[i]]
    return events


@kernel
def _messaging(rng, p, org, tl, tp, l_commit, l_vacant):
    """7.2 Messaging and its alignment across the partners; returns the gap between the messages."""
    n = org.size
    k_seats = l_commit.size // 2
    eps = rng.standard_normal(2)
    hear = rng.random(n)
    c = np.zeros(2)
    vis = np.zeros(2)
    for o in range(2):
        sc_ = 0.0
        sv = 0.0
        for s in range(o * k_seats, (o + 1) * k_seats):
            sc_ += l_commit[s]
            sv += p[P_INTERIM_VISIBILITY] if l_vacant[s] else 1.0
        c[o] = sc_ / k_seats
        vis[o] = p[P_VISIBILITY_A + o] * (sv / k_seats)
    a = p[P_MESSAGE_ALIGNMENT]
    m = np.zeros(2)
    for o in range(2):
        m[o] = min(max(a * (c[0] + c[1]) / 2.0 + (1.0 - a) * (c[o] + p[P_MESSAGE_NOISE] * eps[o]), 0.0), 1.0)
    gap = abs(m[0] - m[1])
    r = p[P_MESSAGE_INFLUENCE] * (1.0 - gap)
    kc = p[P_CONFLICT_COST] * gap
    for i in range(n):
        o = org[i]
        if hear[i] < vis[o]:
            x = tl[i]
            tl[i] = x + r * (m[o] - x) - kc * x
            y = tp[i]
            tp[i] = y + r * (m[o] - y)
    return gap


@kernel
def _engagement(rng, p, unions_on, role, union, tl):
    """7.3 Engagement, resistance and trade unions."""
    n = role.size
    stance = p[P_UNION_STANCE]
    unions_act = unions_on and stance != 0.0
    ua = p[P_UNION_AMPLIFICATION]
    draws = rng.random(n)
    e = p[P_ENGAGEMENT_AUTHENTICITY]
    for i in range(n):
        if draws[i] < p[P_ENGAGE_PROB]:
            target = e
            rho = p[P_RESISTANCE_0 + role[i]]
            if unions_act and union[i]:
                if stance > 0:
                    target = e + ua * (1.0 - e)
                    rho = rho * (1.0 - ua)
                else:
                    target = e * (1.0 - ua)
                    rho = rho + ua * (1.0 - rho)
            q = p[P_ENGAGEMENT_INFLUENCE] * (1.0 - rho)
            x = tl[i]
            tl[i] = x + q * (target - x)


@kernel
def _initiative(p, fatigue):
    """7.4 The initiative itself: load and change fatigue."""
    n = fatigue.size
    L = p[P_LOAD]
    for i in range(n):
        f = fatigue[i]
        fatigue[i] = f + p[P_FATIGUE_RATE] * L * (1.0 - f) - p[P_RECOVERY_RATE] * (1.0 - L) * f


@kernel
def _joint_working(
    rng, p, scope, n_a, org, role, culture, tp, fatigue, l_org, l_commit, inc_ptr, nbr, x_u, x_v, x_w, counts
):
    """7.5 Joint working: board meeting, encounters on the cross ties, tie growth and decay.

    Returns the new cross ties and whether a board meeting failed.
    """
    n = org.size
    ns = l_org.size
    k_seats = ns // 2
    board_failed = False
    n_ties = x_u.size
    staff = rng.random(5 * n_ties)  # rows: meet, succeed, grow, pick, side (C order, as in numpy)
    board = rng.random(2)
    gain = p[P_TRUST_GAIN]
    loss = p[P_TRUST_LOSS]
    z0 = p[P_Z0]
    if board[0] < p[P_BOARD_MEET_PROB]:
        cs = np.zeros(2)
        for i in range(n):
            cs[org[i]] += culture[i]
        c0 = cs[0] / n_a
        c1 = cs[1] / (n - n_a)
        st_ = np.zeros(2)
        for s in range(ns):
            st_[l_org[s]] += l_commit[s]
        s0 = st_[0] / k_seats
        s1 = st_[1] / k_seats
        zb = z0 + p[P_W_TRUST] * ((s0 + s1) / 2.0 - 0.5) - p[P_W_DISTANCE] * abs(c0 - c1)
        ok = board[1] < 1.0 / (1.0 + math.exp(-zb))
        S = 1 if ok else 0
        Fl = 0 if ok else 1
        for s in range(ns):
            l_commit[s] = 1.0 - (1.0 - l_commit[s] * (1.0 - loss) ** float(Fl)) * (1.0 - gain) ** float(S)
        board_failed = not ok
    if n_ties > 0:
        okv = np.zeros(n_ties, np.bool_)
        Sn = np.zeros(n, np.int32)
        Fn = np.zeros(n, np.int32)
        n_met = 0
        n_ok = 0
        for q in range(n_ties):
            if staff[q] < p[P_TIE_MEET_PROB]:
                u = x_u[q]
                v = x_v[q]
                zz = (
                    z0
                    + p[P_W_TRUST] * ((tp[u] + tp[v]) / 2.0 - 0.5)
                    - p[P_W_DISTANCE] * abs(culture[u] - culture[v])
                    - p[P_W_FATIGUE] * (fatigue[u] + fatigue[v]) / 2.0
                )
                good = staff[n_ties + q] < 1.0 / (1.0 + math.exp(-zz))
                okv[q] = good
                n_met += 1
                if good:
                    n_ok += 1
                    Sn[u] += 1
                    Sn[v] += 1
                else:
                    Fn[u] += 1
                    Fn[v] += 1
        for i in range(n):
            if Sn[i] + Fn[i] > 0:
                tp[i] = 1.0 - (1.0 - tp[i] * (1.0 - loss) ** float(Fn[i])) * (1.0 - gain) ** float(Sn[i])
        counts[0] += n_met
        counts[1] += n_ok
        # tie strength, growth through colleagues, decay below the floor
        w_new = np.empty(n_ties)
        for q in range(n_ties):
            if okv[q]:
                w_new[q] = x_w[q] + p[P_TIE_GAIN] * (1.0 - x_w[q])
            else:
                w_new[q] = x_w[q] * (1.0 - p[P_TIE_DECAY])
        nu = np.empty(n_ties, np.int64)
        nv = np.empty(n_ties, np.int64)
        n_new = 0
        for q in range(n_ties):
            if okv[q] and staff[2 * n_ties + q] < p[P_TIE_GROWTH_PROB]:
                from_a = staff[4 * n_ties + q] < 0.5
                anchor = x_u[q] if from_a else x_v[q]
                deg = inc_ptr[anchor + 1] - inc_ptr[anchor]
                if deg > 0:
                    colleague = nbr[inc_ptr[anchor] + np.int64(math.floor(staff[3 * n_ties + q] * deg))]
                    nu[n_new] = colleague if from_a else x_u[q]
                    nv[n_new] = x_v[q] if from_a else colleague
                    n_new += 1
        n_keep = 0
        for q in range(n_ties):
            if w_new[q] >= p[P_TIE_FLOOR]:
                n_keep += 1
        counts[3] += n_ties - n_keep
        if n_new > 0 and scope != 0:
            m_ = 0
            for q in range(n_new):
                if scope == 1 and role[nu[q]] == ROLE_MANAGERIAL and role[nv[q]] == ROLE_MANAGERIAL:
                    nu[m_] = nu[q]
                    nv[m_] = nv[q]
                    m_ += 1
            n_new = m_
        seen = {np.int64(-1)}
        for q in range(n_ties):
            if w_new[q] >= p[P_TIE_FLOOR]:
                seen.add(x_u[q] * n + x_v[q])
        fresh_u = np.empty(n_new, np.int64)
        fresh_v = np.empty(n_new, np.int64)
        n_fresh = 0
        taken = {np.int64(-1)}
        for q in range(n_new):
            key = nu[q] * n + nv[q]
            if key in taken:
                continue
            taken.add(key)
            if key in seen:
                continue
            fresh_u[n_fresh] = nu[q]
            fresh_v[n_fresh] = nv[q]
            n_fresh += 1
        counts[2] += n_fresh
        new_u = np.empty(n_keep + n_fresh, np.int64)
        new_v = np.empty(n_keep + n_fresh, np.int64)
        new_w = np.empty(n_keep + n_fresh)
        j = 0
        for q in range(n_ties):
            if w_new[q] >= p[P_TIE_FLOOR]:
                new_u[j] = x_u[q]
                new_v[j] = x_v[q]
                new_w[j] = w_new[q]
                j += 1
        for q in range(n_fresh):
            new_u[j] = fresh_u[q]
            new_v[j] = fresh_v[q]
            new_w[j] = p[P_TIE_INITIAL]
            j += 1
        x_u, x_v, x_w = new_u, new_v, new_w
    return x_u, x_v, x_w, board_failed


@kernel
def _competition(p, org, loyalty, tp):
    """7.6 Competition, takeover threat, loyalty and out-group suspicion."""
    n = org.size
    for i in range(n):
        o = org[i]
        loy0 = loyalty[i]
        loyalty[i] = loy0 + p[P_LOYALTY_RATE] * (p[P_LOYALTY_TARGET_A + o] - loy0)
        tp[i] = tp[i] * (1.0 - p[P_SUSPICION_RATE] * loy0 * p[P_THREAT_A + o])


@kernel
def _peer_influence(rng, p, well_mixed, org, culture, tp, e_u, e_v, inc_ptr, inc_edge, x_u, x_v, counts):
    """7.7 Peer influence on improvement culture (bounded confidence over a random matching)."""
    n = org.size
    n_x = x_u.size
    if well_mixed:
        perm = rng.permutation(n)
        n_pairs = n // 2
        pi = np.empty(n_pairs, np.int64)
        pj = np.empty(n_pairs, np.int64)
        for q in range(n_pairs):
            pi[q] = perm[2 * q]
            pj[q] = perm[2 * q + 1]
    else:
        n_e = e_u.size
        pr = rng.random(n_e + n_x)
        node_max = np.full(n, -1.0)
        for i in range(n):
            for k_ in range(inc_ptr[i], inc_ptr[i + 1]):
                val = pr[inc_edge[k_]]
                if val > node_max[i]:
                    node_max[i] = val
        for q in range(n_x):
            val = pr[n_e + q]
            if val > node_max[x_u[q]]:
                node_max[x_u[q]] = val
            if val > node_max[x_v[q]]:
                node_max[x_v[q]] = val
        pi = np.empty(n // 2 + 1, np.int64)  # a matching has at most n/2 pairs
        pj = np.empty(n // 2 + 1, np.int64)
        n_pairs = 0
        for q in range(n_e):
            val = pr[q]
            if val == node_max[e_u[q]] and val == node_max[e_v[q]]:
                pi[n_pairs] = e_u[q]
                pj[n_pairs] = e_v[q]
                n_pairs += 1
        for q in range(n_x):
            val = pr[n_e + q]
            if val == node_max[x_u[q]] and val == node_max[x_v[q]]:
                pi[n_pairs] = x_u[q]
                pj[n_pairs] = x_v[q]
                n_pairs += 1
    mu = p[P_CONVERGENCE]
    bound = p[P_CONFIDENCE_BOUND]
    n_close = 0
    for q in range(n_pairs):
        i = pi[q]
        j = pj[q]
        ci = culture[i]
        cj = culture[j]
        diff = cj - ci
        if abs(diff) < bound:
            same = org[i] == org[j]
            wi = 1.0 if same else tp[i]
            wj = 1.0 if same else tp[j]
            culture[i] = ci + mu * wi * diff
            culture[j] = cj - mu * wj * diff
            n_close += 1
    counts[6] += n_close


@kernel
def _adoption(rng, p, unions_on, role, union, culture, tl, fatigue, adopted):
    """7.8 Adoption (and abandonment) of the shared method."""
    n = role.size
    stance = p[P_UNION_STANCE]
    unions_act = unions_on and stance != 0.0
    ua = p[P_UNION_AMPLIFICATION]
    draws = rng.random(n)
    for i in range(n):
        rho = p[P_RESISTANCE_0 + role[i]]
        if unions_act and union[i]:
            rho = rho * (1.0 - ua) if stance > 0 else rho + ua * (1.0 - rho)
        zi = (
            p[P_ADOPT_CONST]
            + p[P_ADOPT_W_CULTURE] * (culture[i] - 0.5)
            + p[P_ADOPT_W_TRUST] * (tl[i] - 0.5)
            - p[P_ADOPT_W_FATIGUE] * fatigue[i]
            - p[P_ADOPT_W_RESISTANCE] * rho
        )
        if adopted[i]:
            adopted[i] = not (draws[i] < p[P_ABANDON_RATE] / (1.0 + math.exp(zi)))
        else:
            adopted[i] = draws[i] < p[P_ADOPTION_RATE] / (1.0 + math.exp(-zi))


@kernel
def _embedding(p, culture, adopted):
    """7.9 Time to embed."""
    n = culture.size
    for i in range(n):
        culture[i] = culture[i] + (1.0 if adopted[i] else 0.0) * (1.0 - culture[i]) / p[P_EMBEDDING_WEEKS]


@kernel
def _staff_turnover(
    rng,
    p,
    growing,
    t,
    n_a,
    org,
    union,
    tenure,
    culture,
    tp,
    tl,
    loyalty,
    fatigue,
    adopted,
    present,
    x_u,
    x_v,
    x_w,
    counts,
):
    """7.10 Staff turnover, hiring (up to the target headcount) and socialisation; returns the cross ties."""
    n = org.size
    u_ = rng.random(n)
    leave = np.zeros(n, np.bool_)
    cs = np.zeros(2)
    cn = np.zeros(2)
    for i in range(n):
        if present[i]:
            cs[org[i]] += culture[i]
            cn[org[i]] += 1.0
    mean0 = cs[0] / cn[0]
    mean1 = cs[1] / cn[1]
    for i in range(n):
        lam = p[P_LEAVE_RATE_WEEK] * math.exp(
            p[P_TURNOVER_TRUST] * (0.5 - tl[i]) + p[P_TURNOVER_FATIGUE] * (fatigue[i] - 0.5)
        )
        leave[i] = present[i] and u_[i] < 1.0 - math.exp(-lam)
        pull = p[P_SOCIALISATION_RATE] * math.exp(-tenure[i] / p[P_SOCIALISATION_WEEKS])
        target = mean0 if org[i] == 0 else mean1
        culture[i] = culture[i] + pull * (target - culture[i])
        tenure[i] += 1
    n_left = 0
    n_left_a = 0
    for i in range(n):
        if leave[i]:
            n_left += 1
            if i < n_a:
                n_left_a += 1
    if growing:
        for i in range(n):
            if leave[i]:
                present[i] = False
        hired = np.empty(n, np.int64)
        n_hired = 0
        for o in range(2):
            lo = 0 if o == 0 else n_a
            hi = n_a if o == 0 else n
            want = max(np.rint(p[P_HEADCOUNT0_A + o] * p[P_GROWTH_WEEK] ** float(t)), 1.0)
            have = 0
            for i in range(lo, hi):
                if present[i]:
                    have += 1
            short = int(want) - have
            for i in range(lo, hi):
                if short <= 0:
                    break
                if not present[i]:
                    hired[n_hired] = i
                    n_hired += 1
                    short -= 1
        idx = hired[:n_hired]
        for i in idx:
            present[i] = True
    else:
        idx = np.flatnonzero(leave)
    k = idx.size
    # newcomers: union membership, then culture, partner trust and leadership trust (one Beta each)
    un = rng.random(k)
    means = np.empty(3 * k)
    for q in range(k):
        o = org[idx[q]]
        means[q] = p[P_HIRE_CULTURE_A + o]
        means[k + q] = p[P_PARTNER_TRUST_MEAN]
        means[2 * k + q] = p[P_LEADER_TRUST_A + o]
    sd = p[P_ATTITUDE_SD]
    vals = means.copy()
    if sd > 0.0:
        for q in range(3 * k):
            mq = means[q]
            interior = mq > 0.0 and mq < 1.0
            mm = mq if interior else 0.5
            kappa = mm * (1.0 - mm) / (sd * sd) - 1.0
            kappa = min(max(kappa, 1e-6), 1e12)
            x = rng.beta(mm * kappa, (1.0 - mm) * kappa)
            vals[q] = x if interior else mq
    for q in range(k):
        i = idx[q]
        culture[i] = vals[q]
        tenure[i] = 0
        union[i] = un[q] < p[P_UNION_DENSITY]
        tp[i] = vals[k + q]
        tl[i] = vals[2 * k + q]
        loyalty[i] = p[P_NEWCOMER_LOYALTY]
        fatigue[i] = 0.0
        adopted[i] = False
    if x_u.size > 0 and n_left > 0:
        n_keep = 0
        for q in range(x_u.size):
            if not (leave[x_u[q]] or leave[x_v[q]]):
                n_keep += 1
        counts[3] += x_u.size - n_keep
        new_u = np.empty(n_keep, np.int64)
        new_v = np.empty(n_keep, np.int64)
        new_w = np.empty(n_keep)
        j = 0
        for q in range(x_u.size):
            if not (leave[x_u[q]] or leave[x_v[q]]):
                new_u[j] = x_u[q]
                new_v[j] = x_v[q]
                new_w[j] = x_w[q]
                j += 1
        x_u, x_v, x_w = new_u, new_v, new_w
    counts[4] += n_left_a
    counts[5] += n_left - n_left_a
    return x_u, x_v, x_w


@kernel
def _metrics(org, culture, tp, tl, loyalty, fatigue, adopted, present, l_org, l_commit, l_vacant):
    """Org means over the staff in post, board means, interim seats and headcounts (see _ORG)."""
    n = org.size
    ns = l_org.size
    k_seats = ns // 2
    sums = np.zeros((6, 2))
    heads = np.zeros(2)
    for i in range(n):
        if present[i]:
            o = org[i]
            heads[o] += 1.0
            sums[0, o] += culture[i]
            sums[1, o] += tp[i]
            sums[2, o] += tl[i]
            sums[3, o] += loyalty[i]
            sums[4, o] += fatigue[i]
            sums[5, o] += 1.0 if adopted[i] else 0.0
    out = np.empty(18)
    for r_ in range(6):
        out[2 * r_] = sums[r_, 0] / heads[0]
        out[2 * r_ + 1] = sums[r_, 1] / heads[1]
    board_ = np.zeros(2)
    interim = np.zeros(2)
    for s in range(ns):
        board_[l_org[s]] += l_commit[s]
        interim[l_org[s]] += 1.0 if l_vacant[s] else 0.0
    out[12] = board_[0] / k_seats
    out[13] = board_[1] / k_seats
    out[14] = interim[0]
    out[15] = interim[1]
    out[16] = heads[0]
    out[17] = heads[1]
    return out


@kernel
def week_kernel(
    rng,
    t,
    p,
    on,
    n_a,
    org,
    role,
    union,
    tenure,
    culture,
    tp,
    tl,
    loyalty,
    fatigue,
    adopted,
    present,
    l_org,
    l_seat,
    l_commit,
    l_vacant,
    l_tenure,
    e_u,
    inc_ptr,
    inc_edge,
    nbr,
    e_v,
    x_u,
    x_v,
    x_w,
):
    """One week in the order of docs/ODD.md section 3; returns the new cross ties, metrics and events."""
    counts = np.zeros(7, np.int64)  # COUNTERS, in order
    events = np.zeros((0, 3), np.int64)
    gap = np.nan
    if on[ON_LEADERSHIP_TURNOVER]:
        events = _leadership(rng, p, org, tl, l_org, l_seat, l_commit, l_vacant, l_tenure)
    if on[ON_MESSAGING]:
        gap = _messaging(rng, p, org, tl, tp, l_commit, l_vacant)
    if on[ON_ENGAGEMENT]:
        _engagement(rng, p, on[ON_UNIONS] == 1, role, union, tl)
    if on[ON_INITIATIVE_LOAD]:
        _initiative(p, fatigue)
    if on[ON_JOINT_WORKING]:
        x_u, x_v, x_w, failed = _joint_working(
            rng,
            p,
            on[ON_SCOPE],
            n_a,
            org,
            role,
            culture,
            tp,
            fatigue,
            l_org,
            l_commit,
            inc_ptr,
            nbr,
            x_u,
            x_v,
            x_w,
            counts,
        )
        if failed:
            ev2 = np.zeros((events.shape[0] + 1, 3), np.int64)
            ev2[: events.shape[0]] = events
            ev2[events.shape[0], 0] = EV_BOARD_FAILED
            events = ev2
    if on[ON_COMPETITION]:
        _competition(p, org, loyalty, tp)
    if on[ON_PEER_INFLUENCE]:
        _peer_influence(rng, p, on[ON_WELL_MIXED] == 1, org, culture, tp, e_u, e_v, inc_ptr, inc_edge, x_u, x_v, counts)
    if on[ON_ADOPTION]:
        _adoption(rng, p, on[ON_UNIONS] == 1, role, union, culture, tl, fatigue, adopted)
    if on[ON_EMBEDDING]:
        _embedding(p, culture, adopted)
    if on[ON_STAFF_TURNOVER]:
        x_u, x_v, x_w = _staff_turnover(
            rng,
            p,
            on[ON_GROWING] == 1,
            t,
            n_a,
            org,
            union,
            tenure,
            culture,
            tp,
            tl,
            loyalty,
            fatigue,
            adopted,
            present,
            x_u,
            x_v,
            x_w,
            counts,
        )
    out = _metrics(org, culture, tp, tl, loyalty, fatigue, adopted, present, l_org, l_commit, l_vacant)
    return x_u, x_v, x_w, out, counts, events, gap


_ORG = [f"{m}_{o}" for m in ORG_METRICS for o in "ab"]


def warm_up() -> None:
    """Compile the kernels (first time after installing, ~20 s) or load them from numba's cache (~0.3 s).

    Call it before starting processes that will run the model (a server, test workers, a benchmark's timer),
    so that they load the cache instead of compiling side by side or inside a timed region.
    """
    from ..scenario import Scenario
    from .model import BuddyingModel

    BuddyingModel(
        Scenario({"organisations.staff_a": 10, "organisations.staff_b": 10, "run.steps": 1}),
        1,
        agent_views=False,
        engine="compiled",
    ).run_to_end()


#: The metric vector's layout, checked against METRICS once (measure() relies on it).
_LAYOUT = _ORG + [
    "board_commitment_a",
    "board_commitment_b",
    "interim_seats_a",
    "interim_seats_b",
    "headcount_a",
    "headcount_b",
    "cross_ties",
    "message_gap",
    "message_conflict",
    *COUNTERS,
    "trust_min",
    "adoption_min",
    "board_min",
]
assert list(METRICS) == _LAYOUT, "sim.model.compiled: the metrics' order changed; update measure()"


class CompiledStep:
    """A ``BuddyingModel`` engine step (and its metrics) backed by :func:`week_kernel`."""

    def __init__(self):
        if numba is None:
            raise RuntimeError('the compiled engine needs numba (pip install numba), or use engine="array"')
        self._P = None
        self._metrics = None
        self._counts = None
        self._all_present = np.ones(0, dtype=np.bool_)

    def _prepare(self, P) -> None:
        self._P = P
        self._floats, self._flags = pack(P)
        self._messaging = bool(P.on["messaging"])
        self._threshold = P["leadership.conflict_threshold"]

    def __call__(self, st, P, rng, ctx) -> None:
        if P is not self._P:
            self._prepare(P)
        present = st.present
        if present is None:
            if self._all_present.size != st.n:
                self._all_present = np.ones(st.n, dtype=np.bool_)
            present = self._all_present
        x_u, x_v, x_w, out, counts, events, gap = week_kernel(
            rng,
            ctx.t,
            self._floats,
            self._flags,
            P.n_a,
            st.org,
            st.role,
            st.union,
            st.tenure,
            st.culture,
            st.tp,
            st.tl,
            st.loyalty,
            st.fatigue,
            st.adopted,
            present,
            st.l_org,
            st.l_seat,
            st.l_commit,
            st.l_vacant,
            st.l_tenure,
            st.e_u,
            st.inc_ptr,
            st.inc_edge,
            st.nbr,
            st.e_v,
            st.x_u,
            st.x_v,
            st.x_w,
        )
        st.x_u, st.x_v, st.x_w = x_u, x_v, x_w
        # Events in the order the submodels emit them: leadership, the message conflict, the board meeting.
        board_failed = False
        if events.shape[0]:
            for kind, s, interim in events.tolist():
                if kind == EV_DEPARTURE:
                    ctx.event("departure", int(st.l_org[s]), seat=int(st.l_seat[s]), interim=bool(interim))
                elif kind == EV_APPOINTMENT:
                    ctx.event("appointment", int(st.l_org[s]), seat=int(st.l_seat[s]))
                else:
                    board_failed = True
        if self._messaging:
            ctx.note_gap(gap, self._threshold)
        if board_failed:
            ctx.event("board_meeting_failed", None)
        self._counts = counts.tolist()
        ctx.counts.update(zip(COUNTERS, self._counts))  # the kernel counts the whole week
        self._metrics = out

    def measure(self, st, P, ctx) -> dict:
        """The week's metrics from the kernel (the initial state, before any week, from the array engine)."""
        if self._metrics is None:
            return array_measure(st, P, ctx)
        v = self._metrics.tolist()
        values = (
            v[:14]
            + [int(v[14]), int(v[15]), int(v[16]), int(v[17]), int(st.x_u.size), ctx.gap, int(ctx.conflict)]
            + self._counts
            + [min(v[2], v[3]), min(v[10], v[11]), min(v[12], v[13])]
        )
        return dict(zip(METRICS, values))
