"""7.5 Joint working across the partnership: encounters, trust, relationships, tie dynamics.

Evidence: "space and time to build relationships and trust between leadership teams and staff across both
organisations"; "a lack of relationships between organisations" as a barrier (briefing). Trust asymmetry:
trust is easier to destroy than to build (Slovic 1993). Intergroup contact reduces prejudice, the more so
under Allport's (1954) conditions of equal status, common goals, cooperation and authority support
(Pettigrew & Tropp 2006, a meta-analysis of 515 studies: mean r = -.21, larger where the conditions hold).
Procedural justice: people who trust the process cooperate with the group that runs it (Tyler & Blader
2003). Width of bridges matters for complex contagion (Centola & Macy 2007).

Staff level (every cross-organisation tie ``(u, v)``, u in A, v in B): the pair meets this week with
probability ``1 - exp(-meetings_per_year geographic_proximity s / 52)``, ``s`` the contact scale (1 in
special measures, ``post_exit_contact`` after A exits: the buddy steps back; no contact at all once the
partnership has failed). A meeting succeeds with probability ``logistic(z)``; how ``z`` is formed is the
*contact rule* (a scenario choice; the data choose, docs/validation.md):

* ``asymmetric``: ``z = logit(base_success) + b_t (mean tp - 0.5) - b_d |c_u - c_v| - b_f (mean fatigue)
  + b_p (mean tl - 0.5) - b_c competition + b_r (regulatory_alignment - 0.5) - b_k takeover_A``: success
  feeds on the trust it builds.
* ``allport``: ``z = logit(base_success) + b_K (K - 0.5) - b_d |c_u - c_v| - b_f (mean fatigue)
  + b_p (mean tl - 0.5)`` with the contact conditions ``K`` the mean of equal status ``1 - takeover_A``,
  common goals ``message_alignment``, cooperation ``1 - competition`` and authority support (the mean
  board commitment of both trusts): the institution, not the pair's prior trust, decides how contact goes.

Each person with ``S`` successes and ``F`` failures this week updates
``tp <- 1 - (1 - tp (1 - trust_loss)^F) (1 - trust_gain)^S`` (losses first). A tie that met successfully strengthens ``w += tie_gain (1 - w)``; any other tie weakens
``w *= 1 - tie_decay``; ties below ``tie_floor`` are lost. A success introduces, with probability
``tie_growth_prob``, a random work colleague of one side (each side with chance 1/2) to the other person,
if that colleague may hold a bridge under ``bridge_scope`` and the tie is new.

Board level: the two boards meet with probability ``1 - exp(-board_meetings_per_year s / 52)``; success as
above with the boards' mean commitments as trust (asymmetric) or the same conditions (allport), the
organisations' mean cultures for distance, no fatigue or process term, and the executives' personal
relationships ``+ b_R (R - 0.5)``, ``R`` the mean of every executive's ``l_rel``. Every seat's commitment
is then updated like ``tp``, and its relationship grows ``l_rel += relationship_gain (1 - l_rel)`` after a
success or shrinks ``l_rel *= 1 - relationship_loss`` after a failure (a newcomer starts at 0, 7.1).

Draws: per tie (slot = the pair ``u n + v``, so a tie keeps its numbers whatever happens to other ties)
``meet``, ``succeed``, ``grow``, ``pick``, ``side``; per board meeting (slot 0) ``board_meet``,
``board_succeed``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, overload

import numpy as np

from ...scenario import Scenario
from .. import streams
from ..jit import inline_kernel, kernel
from ..layout import Event, Mechanism, choice, derived, emit, lane_sum, org_sum, running_sum
from ..params import ROLE_MANAGERIAL, SCOPES, logit, weekly_prob
from ..state import W
from ..types import Bools, Floats, Int8s, Ints, Keys
from .competition import competition, takeover_a

if TYPE_CHECKING:
    from ..reference import ReferenceEngine


def context_logit(sc: Scenario) -> float:
    """The part of an encounter's success log-odds that is the same for every encounter."""
    return float(
        logit(sc["partnership.base_success"])
        - sc["partnership.success_competition_weight"] * competition(sc)
        + sc["partnership.success_alignment_weight"] * (sc["system.regulatory_alignment"] - 0.5)
        - sc["partnership.success_takeover_weight"] * takeover_a(sc)
    )


def tie_meet_prob(sc: Scenario) -> float:
    """Weekly chance that the pair of a cross-organisation tie meets (in special measures)."""
    return weekly_prob(sc["partnership.meetings_per_year"] * sc["system.geographic_proximity"])


CONTACT_RULES = {"asymmetric": 0, "allport": 1}
ALLPORT = CONTACT_RULES["allport"]


def allport_base(sc: Scenario) -> float:
    """The part of the allport rule's log-odds common to every encounter."""
    return logit(sc["partnership.base_success"])


MECHANISM = Mechanism(
    "joint_working",
    params={
        "context_logit": derived(
            lambda sc, w: context_logit(sc), "asymmetric rule: log-odds common to every encounter"
        ),
        "allport_logit": derived(lambda sc, w: allport_base(sc), "allport rule: log-odds common to every encounter"),
        "tie_meet_prob": derived(lambda sc, w: tie_meet_prob(sc), "weekly chance a tie's pair meets"),
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
        "contact_rule": choice("partnership.contact_rule", CONTACT_RULES),
        "conditions_weight": "partnership.conditions_weight",
        "success_process_weight": "partnership.success_process_weight",
        "equal_status": derived(lambda sc, w: 1.0 - takeover_a(sc), "Allport: 1 - perceived takeover of A"),
        "common_goals": "leadership.message_alignment",
        "cooperation": derived(lambda sc, w: 1.0 - competition(sc), "Allport: 1 - competition incentives"),
        "relationship_gain": "leadership.relationship_gain",
        "relationship_loss": "leadership.relationship_loss",
        "relationship_weight": "leadership.relationship_weight",
    },
    draws=("meet", "succeed", "grow", "pick", "side", "board_meet", "board_succeed"),
    counters=("encounters", "successes", "ties_formed", "ties_lost"),
    events=(Event("board_meeting_failed"),),
    returns=("x_u", "x_v", "x_w"),
)
P, D, C, E = MECHANISM.P, MECHANISM.D, MECHANISM.C, MECHANISM.E


@overload
def may_bridge(scope: float, role: int) -> bool: ...
@overload
def may_bridge(scope: float, role: Int8s) -> Bools: ...
def may_bridge(scope: float, role: int | Int8s) -> bool | Bools:
    """Whether someone in ``role`` may hold a cross-organisation tie under ``bridge_scope`` (its code:
    0 wide, 1 managers, 2 leaders only). Works on numbers and on numpy arrays; compiled for the kernel."""
    return (scope == 0) | ((scope == 1) & (role == ROLE_MANAGERIAL))


may_bridge_kernel = inline_kernel(may_bridge)


@inline_kernel
def logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@inline_kernel
def trust_update(x: float, S: int, F: int, gain: float, loss: float) -> float:
    """Trust after ``F`` failures then ``S`` successes (asymmetric: a loss takes a share of trust, a gain a
    share of distrust)."""
    trust: float = 1.0 - (1.0 - x * (1.0 - loss) ** float(F)) * (1.0 - gain) ** float(S)  # (** is Any to mypy)
    return trust


@inline_kernel
def scaled_prob(p_week: float, scale: float) -> float:
    """The weekly chance of an event whose yearly rate is scaled by ``scale`` (``p = 1 - exp(-rate/52)``)."""
    if scale == 1.0:
        return p_week
    prob: float = 1.0 - (1.0 - p_week) ** scale
    return prob


@kernel
def step(
    t: int,
    n_a: int,
    p: Floats,
    keys: Keys,
    counts: Ints,
    ev: Floats,
    n_ev: Ints,
    org: Int8s,
    role: Int8s,
    culture: Floats,
    tp: Floats,
    tl: Floats,
    fatigue: Floats,
    present: Bools,
    l_org: Int8s,
    l_commit: Floats,
    l_rel: Floats,
    inc_ptr: Ints,
    nbr: Ints,
    x_u: Ints,
    x_v: Ints,
    x_w: Floats,
    world: Floats,
) -> tuple[Ints, Ints, Floats]:
    n = org.size
    gain = p[P.trust_gain]
    loss = p[P.trust_loss]
    active = world[W.partnership_active] != 0.0
    scale = world[W.contact_scale] if active else 0.0
    allport = p[P.contact_rule] == ALLPORT
    k_seats = l_org.size // 2
    s_a = 0.0
    s_b = 0.0
    for s in range(k_seats):
        s_a += l_commit[s]
    for s in range(k_seats, 2 * k_seats):
        s_b += l_commit[s]
    s_a /= k_seats
    s_b /= k_seats
    if allport:
        conditions = (p[P.equal_status] + p[P.common_goals] + p[P.cooperation] + (s_a + s_b) / 2.0) / 4.0
        z0 = p[P.allport_logit] + p[P.conditions_weight] * (conditions - 0.5)
    else:
        z0 = p[P.context_logit]
    # --- boards (from the state at the start of the submodel) ---------------------------------------------
    if active and streams.uniform(streams.week_key(keys[D.board_meet], t), 0) < scaled_prob(
        p[P.board_meet_prob], scale
    ):
        c_a = org_sum(culture, present, 0, n_a) / n_a
        c_b = org_sum(culture, present, n_a, n) / (n - n_a)
        rel = 0.0
        for s in range(l_org.size):
            rel += l_rel[s]
        rel /= l_org.size
        zb = z0 - p[P.success_distance_weight] * abs(c_a - c_b) + p[P.relationship_weight] * (rel - 0.5)
        if not allport:
            zb += p[P.success_trust_weight] * ((s_a + s_b) / 2.0 - 0.5)
        ok = streams.uniform(streams.week_key(keys[D.board_succeed], t), 0) < logistic(zb)
        for s in range(l_org.size):
            l_commit[s] = trust_update(l_commit[s], 1 if ok else 0, 0 if ok else 1, gain, loss)
            if ok:
                l_rel[s] = l_rel[s] + p[P.relationship_gain] * (1.0 - l_rel[s])
            else:
                l_rel[s] = l_rel[s] * (1.0 - p[P.relationship_loss])
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
    p_meet = scaled_prob(p[P.tie_meet_prob], scale)
    met_ok = np.zeros(n_ties, np.int8)  # 0 did not meet, 1 met and failed, 2 met and succeeded
    S = np.zeros(n, np.int32)
    F = np.zeros(n, np.int32)
    for q in range(n_ties):
        u = x_u[q]
        v = x_v[q]
        pair = u * n + v
        if streams.uniform(h_meet, pair) < p_meet:
            z = (
                z0
                - p[P.success_distance_weight] * abs(culture[u] - culture[v])
                - p[P.success_fatigue_weight] * (fatigue[u] + fatigue[v]) / 2.0
                + p[P.success_process_weight] * ((tl[u] + tl[v]) / 2.0 - 0.5)
            )
            if not allport:
                z += p[P.success_trust_weight] * ((tp[u] + tp[v]) / 2.0 - 0.5)
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
    trust: float = 1.0 - (1.0 - x * (1.0 - loss) ** float(F)) * (1.0 - gain) ** float(S)
    return trust


def reference(m: ReferenceEngine, t: int) -> None:
    """Boards, then every tie in turn (tallying each person's successes and failures), then the ties."""
    v = m.values(MECHANISM)
    people = m.people
    n = len(people)
    active = m.world_value("partnership_active") != 0.0
    scale = m.world_value("contact_scale") if active else 0.0
    allport = v.contact_rule == ALLPORT
    seats = len(m.leaders) // 2
    stance = [running_sum(ld.commit for ld in m.leaders if ld.org == o) / seats for o in (0, 1)]
    if allport:
        conditions = (v.equal_status + v.common_goals + v.cooperation + (stance[0] + stance[1]) / 2.0) / 4.0
        z0 = v.allport_logit + v.conditions_weight * (conditions - 0.5)
    else:
        z0 = v.context_logit
    if active and m.uniform(MECHANISM, "board_meet", t, 0) < _scaled_prob(v.board_meet_prob, scale):
        culture = [lane_sum(((p.index, p.culture) for p in people if p.org == o and p.present), lo)
                   for o, lo in ((0, 0), (1, m.world.n_a))]  # fmt: skip
        culture = [culture[0] / m.world.n_a, culture[1] / (n - m.world.n_a)]
        rel = running_sum(ld.rel for ld in m.leaders) / len(m.leaders)
        zb = z0 - v.success_distance_weight * abs(culture[0] - culture[1]) + v.relationship_weight * (rel - 0.5)
        if not allport:
            zb += v.success_trust_weight * ((stance[0] + stance[1]) / 2.0 - 0.5)
        ok = m.uniform(MECHANISM, "board_succeed", t, 0) < _logistic(zb)
        for ld in m.leaders:
            ld.commit = _trust_update(ld.commit, int(ok), int(not ok), v.trust_gain, v.trust_loss)
            ld.rel = ld.rel + v.relationship_gain * (1.0 - ld.rel) if ok else ld.rel * (1.0 - v.relationship_loss)
        if not ok:
            m.event(MECHANISM, "board_meeting_failed", None)
    if not m.ties:
        return
    p_meet = _scaled_prob(v.tie_meet_prob, scale)
    S: dict[int, int] = {}
    F: dict[int, int] = {}
    succeeded = []
    for tie in m.ties:
        a, b = people[tie.u], people[tie.v]
        pair = tie.u * n + tie.v
        ok = False
        if m.uniform(MECHANISM, "meet", t, pair) < p_meet:
            z = (
                z0
                - v.success_distance_weight * abs(a.culture - b.culture)
                - v.success_fatigue_weight * (a.fatigue + b.fatigue) / 2.0
                + v.success_process_weight * ((a.tl + b.tl) / 2.0 - 0.5)
            )
            if not allport:
                z += v.success_trust_weight * ((a.tp + b.tp) / 2.0 - 0.5)
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


def _scaled_prob(p_week: float, scale: float) -> float:
    return p_week if scale == 1.0 else 1.0 - (1.0 - p_week) ** scale
